//! Request parameters from the raw query string and the raw body (form or JSON), decoded
//! strictly: malformed input is a MEXC error, never a panic.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::error::ApiError;

/// Decoded request parameters, in the order received (query first, then body).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parse the raw query and body. A body starting with `{` is JSON, anything else
    /// form-urlencoded.
    pub fn parse(raw_query: &str, raw_body: &[u8]) -> Result<Self, ApiError> {
        let mut pairs = parse_form(raw_query)?;
        let body = std::str::from_utf8(raw_body).map_err(|_| {
            ApiError::bad_request(700008, "Illegal characters found in the request body")
        })?;
        let trimmed = body.trim();
        if trimmed.starts_with('{') {
            let value: serde_json::Value = serde_json::from_str(trimmed).map_err(|_| {
                ApiError::bad_request(700008, "Illegal characters found in the request body")
            })?;
            let serde_json::Value::Object(map) = value else {
                return Err(ApiError::bad_request(
                    700008,
                    "Illegal characters found in the request body",
                ));
            };
            for (key, value) in map {
                let text = match value {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    serde_json::Value::Null => continue,
                    _ => return Err(ApiError::illegal_param(&key)),
                };
                pairs.push((key, text));
            }
        } else if !trimmed.is_empty() {
            pairs.extend(parse_form(trimmed)?);
        }
        Ok(Self { pairs })
    }

    /// Parameters from already decoded pairs (one order of a batch).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// The first value of a parameter (empty values count as absent).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// A mandatory parameter.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::missing_param(name))
    }

    /// An optional decimal parameter (plain notation only).
    pub fn decimal(&self, name: &str) -> Result<Option<Decimal>, ApiError> {
        self.get(name)
            .map(|v| {
                let plain = v
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
                if !plain {
                    return Err(ApiError::illegal_param(name));
                }
                Decimal::from_str(v).map_err(|_| ApiError::illegal_param(name))
            })
            .transpose()
    }

    /// An optional integer parameter.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| v.parse::<i64>().map_err(|_| ApiError::illegal_param(name)))
            .transpose()
    }

    /// The mandatory, uppercase `symbol` parameter.
    pub fn symbol(&self) -> Result<String, ApiError> {
        let symbol = self.required("symbol")?;
        if symbol.len() > 30 || !symbol.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApiError::bad_symbol());
        }
        Ok(symbol.to_ascii_uppercase())
    }
}

/// Splits a form (`a=1&b=2`) into decoded pairs, as `application/x-www-form-urlencoded`
/// defines it: parts split at `&` (empty ones skipped), each at its first `=` (none: an empty
/// value).
fn parse_form(raw: &str) -> Result<Vec<(String, String)>, ApiError> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let key = form_decode(key).ok_or_else(|| {
                ApiError::bad_request(700008, "Illegal characters found in a parameter name")
            })?;
            let value = form_decode(value).ok_or_else(|| ApiError::illegal_param(&key))?;
            Ok((key, value))
        })
        .collect()
}

/// Decodes one form component strictly: `+` is a space, `%XX` an escaped byte; `None` for a
/// malformed escape, invalid UTF-8 or a control character.
///
/// `percent-encoding` decodes; it is what `form_urlencoded` decodes with, but that crate's
/// parser is lenient where the venue is strict (it keeps a malformed escape as typed and
/// replaces invalid UTF-8 with U+FFFD), so the escapes are checked here first and the UTF-8
/// is decoded without replacement.
fn form_decode(component: &str) -> Option<String> {
    let bytes = component.as_bytes();
    let escapes_well_formed = bytes.iter().enumerate().all(|(i, byte)| {
        *byte != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_well_formed {
        return None;
    }
    // A literal `+` is a space; an escaped one (`%2B`) stays a plus.
    let spaced = component.replace('+', " ");
    let text = percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()?;
    if text.chars().any(char::is_control) {
        return None;
    }
    Some(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_form_body() {
        let p = Params::parse("symbol=BTCUSDT&side=BUY", b"quantity=1&price=11").unwrap();
        assert_eq!(p.get("symbol"), Some("BTCUSDT"));
        assert_eq!(p.get("price"), Some("11"));
        assert_eq!(p.decimal("quantity").unwrap(), Some(Decimal::ONE));
        assert_eq!(p.get("missing"), None);
    }

    #[test]
    fn json_body() {
        let p = Params::parse("", br#"{"symbol":"BTCUSDT","quantity":1.5,"x":null}"#).unwrap();
        assert_eq!(p.get("quantity"), Some("1.5"));
        assert_eq!(p.get("x"), None);
        assert_eq!(Params::parse("", br#"{"a":[1]}"#).unwrap_err().code, 700008);
        assert_eq!(Params::parse("", b"{oops").unwrap_err().code, 700008);
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(Params::parse("a=%zz", b"").unwrap_err().code, 700008);
        assert_eq!(Params::parse("a=%0a", b"").unwrap_err().code, 700008);
        assert_eq!(Params::parse("a=%", b"").unwrap_err().code, 700008);
        assert_eq!(Params::parse("", &[0xff, 0xfe]).unwrap_err().code, 700008);
        let p = Params::parse("q=1e5&n=abc&s=bad%20sym", b"").unwrap();
        assert_eq!(p.decimal("q").unwrap_err().code, 700008);
        assert_eq!(p.int("n").unwrap_err().code, 700008);
        assert_eq!(
            Params::parse("symbol=bad%20sym", b"")
                .unwrap()
                .symbol()
                .unwrap_err()
                .code,
            10007
        );
        assert_eq!(
            Params::parse("", b"").unwrap().symbol().unwrap_err().code,
            -1102
        );
    }

    #[test]
    fn form_decoding_edge_cases() {
        let p = Params::parse("a=x+y&b=x%2By&c=%C3%A9&d=%2b&e=1=2&&f&g=%25", b"").unwrap();
        assert_eq!(p.get("a"), Some("x y"));
        assert_eq!(p.get("b"), Some("x+y"));
        assert_eq!(p.get("c"), Some("\u{e9}"));
        assert_eq!(p.get("d"), Some("+"));
        assert_eq!(p.get("e"), Some("1=2"));
        assert_eq!(p.get("f"), None);
        assert_eq!(p.get("g"), Some("%"));
        let body = Params::parse("", b"my+key=v%41lue").unwrap();
        assert_eq!(body.get("my key"), Some("vAlue"));
        // Invalid UTF-8, a truncated multi-byte sequence, a control character, escapes that
        // are not two hex digits (`%+1` too, which a lenient hex parser reads as 0x01).
        for bad in [
            "a=%ff", "a=%C3", "a=%00", "a=%1", "a=%+1", "a=%%41", "a=%g0",
        ] {
            let error = Params::parse(bad, b"").unwrap_err();
            assert_eq!(error.code, 700008, "{bad}");
        }
        // A bad name and a bad value are told apart.
        let name = Params::parse("%zz=1", b"").unwrap_err();
        assert!(name.msg.contains("parameter name"), "{}", name.msg);
        let value = Params::parse("side=%zz", b"").unwrap_err();
        assert!(value.msg.contains("side"), "{}", value.msg);
    }
}
