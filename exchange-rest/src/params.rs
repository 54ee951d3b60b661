//! [`Params`]: a request's query parameters, in the order they are sent (and signed).

use std::borrow::Cow;

use rust_decimal::Decimal;

/// Query parameters in sending order. Values are form-urlencoded when the URL is built; the
/// signature covers the encoded bytes exactly as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(&'static str, Cow<'static, str>)>,
}

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key=value`.
    pub fn push(&mut self, key: &'static str, value: impl Into<Cow<'static, str>>) -> &mut Self {
        self.pairs.push((key, value.into()));
        self
    }

    /// Appends `key=value` if `value` is `Some`.
    pub fn push_opt(
        &mut self,
        key: &'static str,
        value: Option<impl Into<Cow<'static, str>>>,
    ) -> &mut Self {
        if let Some(value) = value {
            self.push(key, value);
        }
        self
    }

    /// Appends a decimal in plain notation without trailing zeros (`0.10000` -> `0.1`).
    pub fn push_decimal(&mut self, key: &'static str, value: Decimal) -> &mut Self {
        self.push(key, value.normalize().to_string())
    }

    /// Appends a decimal if `Some`.
    pub fn push_opt_decimal(&mut self, key: &'static str, value: Option<Decimal>) -> &mut Self {
        if let Some(value) = value {
            self.push_decimal(key, value);
        }
        self
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.pairs.iter().map(|(k, v)| (*k, v.as_ref()))
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
            .push_opt_decimal("quantity", Some(Decimal::new(2120, 2)));
        let pairs: Vec<_> = p.iter().collect();
        assert_eq!(
            pairs,
            vec![
                ("symbol", "HIFIUSDT"),
                ("price", "0.1"),
                ("quantity", "21.2")
            ]
        );
    }
}
