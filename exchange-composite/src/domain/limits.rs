//! The range of prices and quantities a venue may send: what the boundary (push decoding, REST
//! mapping) accepts, so that no arithmetic on accepted values can overflow a `Decimal`.
//!
//! A `Decimal` holds about 7.9e28. Any accepted price times any accepted quantity stays below
//! 1e28, and the sum of two accepted prices (a mid) stays far below the limit; a value outside
//! the range is a typed error at the boundary, never an overflow later.

use rust_decimal::Decimal;

/// The largest price accepted from a venue: 10^12 (no market trades near it; BTC in the
/// weakest quote currencies is priced around 10^9).
pub const MAX_PRICE: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// The largest quantity (or amount: balances, fees, volumes) accepted from a venue: 10^16.
pub const MAX_QUANTITY: Decimal = Decimal::from_parts(0x6FC1_0000, 0x0023_86F2, 0, false, 0);

/// What a value from a venue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueValue {
    /// A price: at least zero, at most [`MAX_PRICE`].
    Price,
    /// A quantity or amount: at least zero, at most [`MAX_QUANTITY`].
    Quantity,
}

impl VenueValue {
    /// The largest value of this kind accepted.
    pub fn max(self) -> Decimal {
        match self {
            Self::Price => MAX_PRICE,
            Self::Quantity => MAX_QUANTITY,
        }
    }

    /// `Ok(value)` if a venue may send it as this kind of value; otherwise a description of
    /// what is wrong.
    ///
    /// ```
    /// use rust_decimal::Decimal;
    /// use exchange_composite::VenueValue;
    ///
    /// assert!(VenueValue::Price.check(Decimal::new(1, 1)).is_ok());
    /// assert!(VenueValue::Price.check(Decimal::from(-1)).is_err());
    /// let huge: Decimal = "70000000000000000000000000000".parse().unwrap();
    /// assert!(VenueValue::Price.check(huge).is_err());
    /// ```
    pub fn check(self, value: Decimal) -> Result<Decimal, String> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(format!("{value} is negative"));
        }
        if value > self.max() {
            return Err(format!(
                "{value} is above the largest accepted {}",
                self.max()
            ));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_what_they_say() {
        assert_eq!(MAX_PRICE, Decimal::from(1_000_000_000_000_i64));
        assert_eq!(MAX_QUANTITY, Decimal::from(10_000_000_000_000_000_i64));
        // The product of the largest price and quantity fits, and so does a sum of prices.
        assert!(MAX_PRICE.checked_mul(MAX_QUANTITY).is_some());
        assert!(MAX_PRICE.checked_add(MAX_PRICE).is_some());
    }

    #[test]
    fn the_range_is_inclusive_and_rejects_the_rest() {
        for kind in [VenueValue::Price, VenueValue::Quantity] {
            assert_eq!(kind.check(Decimal::ZERO), Ok(Decimal::ZERO));
            assert!(kind.check(kind.max()).is_ok());
            assert!(kind.check(kind.max() + Decimal::new(1, 8)).is_err());
            assert!(kind.check(Decimal::new(-1, 8)).is_err());
            assert!(kind.check(Decimal::MAX).is_err());
            assert!(kind.check(Decimal::MIN).is_err());
        }
        // Negative zero is zero.
        assert!(VenueValue::Price.check(-Decimal::ZERO).is_ok());
    }
}
