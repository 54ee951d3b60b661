//! [`SymbolRules`]: a market's trading rules, and exact rounding of prices and quantities to
//! them.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::domain::side::Side;
use crate::error::DomainError;

/// Precision and minimums of one market, from the venue's exchange information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolRules {
    /// Decimal places of a price.
    pub price_precision: u32,
    /// Decimal places of a quantity.
    pub quantity_precision: u32,
    /// The smallest quantity accepted.
    pub min_quantity: Decimal,
    /// The smallest order value (price x quantity) accepted.
    pub min_notional: Decimal,
}

impl SymbolRules {
    /// Rounds a price to the market's precision, towards the passive side: down for a buy,
    /// up for a sell, so a rounded quote never crosses further than asked.
    ///
    /// ```
    /// use rust_decimal::Decimal;
    /// use exchange_composite::{Side, SymbolRules};
    ///
    /// let rules = SymbolRules {
    ///     price_precision: 4,
    ///     quantity_precision: 2,
    ///     min_quantity: Decimal::new(1, 2),
    ///     min_notional: Decimal::ONE,
    /// };
    /// let price: Decimal = "0.099987".parse().unwrap();
    /// assert_eq!(rules.round_price(price, Side::Buy).to_string(), "0.0999");
    /// assert_eq!(rules.round_price(price, Side::Sell).to_string(), "0.1000");
    /// ```
    pub fn round_price(&self, price: Decimal, side: Side) -> Decimal {
        let strategy = match side {
            Side::Buy => RoundingStrategy::ToNegativeInfinity,
            Side::Sell => RoundingStrategy::ToPositiveInfinity,
        };
        let mut rounded = price.round_dp_with_strategy(self.price_precision, strategy);
        rounded.rescale(self.price_precision);
        rounded
    }

    /// Rounds a quantity down to the market's precision (never more than asked).
    pub fn round_quantity(&self, quantity: Decimal) -> Decimal {
        let mut rounded =
            quantity.round_dp_with_strategy(self.quantity_precision, RoundingStrategy::ToZero);
        rounded.rescale(self.quantity_precision);
        rounded
    }

    /// The quantity worth about `quote_amount` at `price`, rounded **up** to the precision so
    /// the order value is at least `quote_amount` (a "2.1 USDT" order is worth 2.1 USDT or a
    /// little more, never less), then checked
    /// against the minimums.
    pub fn quantity_for_notional(
        &self,
        quote_amount: Decimal,
        price: Decimal,
    ) -> Result<Decimal, DomainError> {
        if price <= Decimal::ZERO {
            return Err(DomainError::InvalidPrice(price));
        }
        let raw = quote_amount
            .checked_div(price)
            .ok_or(DomainError::InvalidPrice(price))?;
        let mut quantity =
            raw.round_dp_with_strategy(self.quantity_precision, RoundingStrategy::AwayFromZero);
        quantity.rescale(self.quantity_precision);
        self.check(quantity, price)?;
        Ok(quantity)
    }

    /// Checks an order's quantity and value against the minimums.
    pub fn check(&self, quantity: Decimal, price: Decimal) -> Result<(), DomainError> {
        if quantity < self.min_quantity || quantity <= Decimal::ZERO {
            return Err(DomainError::BelowMinimumQuantity {
                quantity,
                minimum: self.min_quantity,
            });
        }
        let notional = quantity
            .checked_mul(price)
            .ok_or(DomainError::InvalidPrice(price))?;
        if notional < self.min_notional {
            return Err(DomainError::BelowMinimumNotional {
                notional,
                minimum: self.min_notional,
            });
        }
        Ok(())
    }
}
