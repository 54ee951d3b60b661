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

fn parse_form(raw: &str) -> Result<Vec<(String, String)>, ApiError> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let key = percent_decode(key).ok_or_else(|| {
                ApiError::bad_request(700008, "Illegal characters found in a parameter name")
            })?;
            let value = percent_decode(value).ok_or_else(|| ApiError::illegal_param(&key))?;
            Ok((key, value))
        })
        .collect()
}

/// Decode `%XX` escapes and `+`; `None` for malformed escapes, invalid UTF-8 or control
/// characters.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    let text = String::from_utf8(out).ok()?;
    if text.chars().any(char::is_control) {
        return None;
    }
    Some(text)
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
}
