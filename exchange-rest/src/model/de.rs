//! Lenient decoding of MEXC values: decimals as strings or numbers (never through `f64`
//! arithmetic), empty strings and `null` as "absent", ids as strings or integers.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, de::Error as _};

/// A JSON scalar as MEXC may send it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Self::Str(s) => s,
            Self::Num(n) => n.to_string(),
            Self::Bool(b) => b.to_string(),
        }
    }
}

fn parse<E: serde::de::Error>(text: &str) -> Result<Decimal, E> {
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| E::custom(format!("invalid decimal {text:?}")))
}

/// A decimal from a string or a number.
pub(crate) fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    parse(Scalar::deserialize(d)?.text().trim())
}

/// An optional decimal: `null`, `""` and a missing field (with `#[serde(default)]`) are `None`.
pub(crate) fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    match Option::<Scalar>::deserialize(d)? {
        None => Ok(None),
        Some(scalar) => {
            let text = scalar.text();
            let text = text.trim();
            if text.is_empty() {
                Ok(None)
            } else {
                parse(text).map(Some)
            }
        }
    }
}

/// An id from a string or an integer.
pub(crate) fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Scalar::deserialize(d)? {
        Scalar::Bool(_) => Err(D::Error::custom("an id cannot be a boolean")),
        other => Ok(other.text()),
    }
}

/// An optional string from a string, a number, or `null`.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Scalar>::deserialize(d)?
        .map(Scalar::text)
        .filter(|s| !s.is_empty()))
}

/// An optional integer from a number, a numeric string, or `null`.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Scalar>::deserialize(d)? {
        None => Ok(None),
        Some(scalar) => {
            let text = scalar.text();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse::<i64>()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("invalid integer {text:?}")))
        }
    }
}

/// A `bool` that may be `null` (as `false`).
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(matches!(
        Option::<Scalar>::deserialize(d)?,
        Some(Scalar::Bool(true))
    ))
}

/// A decimal that decodes from a string or a number (for use inside arrays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LenientDecimal(pub(crate) Decimal);

impl<'de> Deserialize<'de> for LenientDecimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        decimal(d).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "super::decimal")]
        a: Decimal,
        #[serde(default, deserialize_with = "super::opt_decimal")]
        b: Option<Decimal>,
        #[serde(deserialize_with = "super::id")]
        id: String,
    }

    #[test]
    fn strings_numbers_and_blanks() {
        let p: Probe = serde_json::from_str(r#"{"a":"0.10000","b":"","id":123}"#).unwrap();
        assert_eq!(p.a.to_string(), "0.10000");
        assert_eq!(p.b, None);
        assert_eq!(p.id, "123");
        let p: Probe = serde_json::from_str(r#"{"a":0.1,"b":null,"id":"C02__1"}"#).unwrap();
        assert_eq!(p.a, Decimal::new(1, 1));
        assert_eq!(p.b, None);
        let p: Probe = serde_json::from_str(r#"{"a":"1e-3","id":"x"}"#).unwrap();
        assert_eq!(p.a, Decimal::new(1, 3));
        assert!(serde_json::from_str::<Probe>(r#"{"a":"abc","id":"x"}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"a":true,"id":"x"}"#).is_err());
    }
}
