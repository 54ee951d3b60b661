//! Market data: [`BookTicker`], [`Trade`], [`PriceLevel`].

use rust_decimal::Decimal;

use crate::domain::side::Side;

/// The best bid and ask of a market, with their quantities (a book ticker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookTicker {
    /// Best bid price.
    pub bid_price: Decimal,
    /// Quantity at the best bid.
    pub bid_quantity: Decimal,
    /// Best ask price.
    pub ask_price: Decimal,
    /// Quantity at the best ask.
    pub ask_quantity: Decimal,
    /// Venue time of the update, ms since the Unix epoch (0 if unknown).
    pub time_ms: i64,
}

impl BookTicker {
    /// The mid price; `None` if it does not fit in a `Decimal` (prices a venue may send,
    /// [`VenueValue::Price`](crate::VenueValue), always fit).
    pub fn mid(&self) -> Option<Decimal> {
        self.bid_price
            .checked_add(self.ask_price)
            .and_then(|sum| sum.checked_div(Decimal::TWO))
    }

    /// `true` if the bid is below the ask (a sane, uncrossed touch).
    pub fn is_sane(&self) -> bool {
        self.bid_price > Decimal::ZERO && self.bid_price < self.ask_price
    }
}

/// One public trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub quantity: Decimal,
    /// The taker's side.
    pub taker_side: Side,
    /// Time, ms since the Unix epoch.
    pub time_ms: i64,
}

/// A price level of a book: price and the total quantity resting there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceLevel {
    /// Price.
    pub price: Decimal,
    /// Quantity (absolute; zero removes the level in a diff).
    pub quantity: Decimal,
}
