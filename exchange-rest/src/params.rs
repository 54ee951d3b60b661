//! [`Params`]: a request's query parameters, in the order they are sent (and signed).

use std::borrow::Cow;
use std::fmt::Write as _;

use rust_decimal::Decimal;
use url::form_urlencoded;

/// Bytes reserved at the first parameter: an order's whole query fits.
const FIRST_CAPACITY: usize = 128;

/// Query parameters in sending order, kept form-urlencoded as they go on the wire: the
/// signature covers these bytes exactly as sent.
///
/// Each value is encoded once, as it is pushed, into one buffer (no string per pair).
///
/// ```
/// use exchange_rest::Params;
/// use rust_decimal::Decimal;
///
/// let mut params = Params::new();
/// params
///     .push("symbol", "HIFIUSDT")
///     .push_decimal("price", Decimal::new(10000, 5))
///     .push("newClientOrderId", "a b&c");
/// assert_eq!(params.as_query(), "symbol=HIFIUSDT&price=0.1&newClientOrderId=a+b%26c");
/// let pairs: Vec<_> = params.iter().collect();
/// assert_eq!(pairs[2], ("newClientOrderId".into(), "a b&c".into()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    query: String,
}

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key=value` (both form-urlencoded).
    pub fn push(&mut self, key: &str, value: impl AsRef<str>) -> &mut Self {
        self.key(key);
        self.query
            .extend(form_urlencoded::byte_serialize(value.as_ref().as_bytes()));
        self
    }

    /// Appends `key=value` if `value` is `Some`.
    pub fn push_opt(&mut self, key: &str, value: Option<impl AsRef<str>>) -> &mut Self {
        if let Some(value) = value {
            self.push(key, value);
        }
        self
    }

    /// Appends a decimal in plain notation without trailing zeros (`0.10000` -> `0.1`).
    pub fn push_decimal(&mut self, key: &str, value: Decimal) -> &mut Self {
        self.key(key);
        // Digits, `-` and `.` only: nothing to encode, written in place.
        let _ = write!(self.query, "{}", value.normalize());
        self
    }

    /// Appends a decimal if `Some`.
    pub fn push_opt_decimal(&mut self, key: &str, value: Option<Decimal>) -> &mut Self {
        if let Some(value) = value {
            self.push_decimal(key, value);
        }
        self
    }

    /// Appends an integer (`limit=100`).
    pub fn push_u64(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        let _ = write!(self.query, "{value}");
        self
    }

    /// Appends an integer if `Some`.
    pub fn push_opt_u64(&mut self, key: &str, value: Option<u64>) -> &mut Self {
        if let Some(value) = value {
            self.push_u64(key, value);
        }
        self
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.query.is_empty()
    }

    /// The encoded query, as sent (`symbol=HIFIUSDT&side=BUY`), without the `?`.
    pub fn as_query(&self) -> &str {
        &self.query
    }

    /// The pairs, in order, decoded.
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        form_urlencoded::parse(self.query.as_bytes())
    }

    /// `&` if needed, the encoded key and `=`.
    fn key(&mut self, key: &str) {
        if self.query.is_empty() {
            // One allocation for the usual query, none for a request without parameters.
            self.query.reserve(FIRST_CAPACITY);
        } else {
            self.query.push('&');
        }
        self.query
            .extend(form_urlencoded::byte_serialize(key.as_bytes()));
        self.query.push('=');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_decimals() {
        let mut p = Params::new();
        p.push("symbol", "HIFIUSDT")
            .push_decimal("price", Decimal::new(10000, 5))
            .push_opt("newClientOrderId", None::<String>)
            .push_opt_decimal("quantity", Some(Decimal::new(2120, 2)))
            .push_opt_decimal("quoteOrderQty", None)
            .push_u64("limit", u64::MAX)
            .push_decimal("negative", Decimal::new(-5, 1));
        assert_eq!(
            p.as_query(),
            "symbol=HIFIUSDT&price=0.1&quantity=21.2&limit=18446744073709551615&negative=-0.5"
        );
        let pairs: Vec<_> = p.iter().collect();
        assert_eq!(pairs.len(), 5);
        assert_eq!(pairs[1], ("price".into(), "0.1".into()));
    }

    #[test]
    fn values_and_keys_are_encoded_once_and_decode_back() {
        let mut p = Params::new();
        p.push("symbols", "A,B").push("odd key", "x=y&z %é+");
        assert_eq!(p.as_query(), "symbols=A%2CB&odd+key=x%3Dy%26z+%25%C3%A9%2B");
        let pairs: Vec<_> = p.iter().collect();
        assert_eq!(
            pairs,
            vec![
                (Cow::from("symbols"), Cow::from("A,B")),
                (Cow::from("odd key"), Cow::from("x=y&z %é+")),
            ]
        );
    }

    proptest::proptest! {
        /// Any key and value, however odd (a client order id is the caller's text): the
        /// query decodes back to exactly the pairs pushed, and it is a valid URI query as it
        /// is, so the bytes signed are the bytes sent.
        #[test]
        fn any_pairs_round_trip_and_form_a_valid_uri(
            pairs in proptest::collection::vec((".{0,12}", ".{0,24}"), 0..6),
        ) {
            let mut p = Params::new();
            for (key, value) in &pairs {
                p.push(key, value);
            }
            let decoded: Vec<(String, String)> =
                p.iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            proptest::prop_assert_eq!(&decoded, &pairs);
            let uri: hyper::Uri = format!("http://127.0.0.1/api/v3/order?{}", p.as_query())
                .parse()
                .map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}")))?;
            proptest::prop_assert_eq!(uri.query().unwrap_or_default(), p.as_query());
        }
    }

    #[test]
    fn an_empty_value_is_still_a_pair() {
        let mut p = Params::new();
        assert!(p.is_empty());
        p.push("listenKey", "");
        assert!(!p.is_empty());
        assert_eq!(p.as_query(), "listenKey=");
    }
}
