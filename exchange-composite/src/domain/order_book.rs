//! [`OrderBook`]: price levels of both sides, kept sorted.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::domain::market::{BookTicker, PriceLevel};
use crate::domain::side::Side;

/// A price-level order book. Quantities are absolute; a zero quantity removes the level.
///
/// ```
/// use exchange_composite::{OrderBook, PriceLevel, Side};
///
/// let level = |p: &str, q: &str| PriceLevel { price: p.parse().unwrap(), quantity: q.parse().unwrap() };
/// let mut book = OrderBook::default();
/// book.apply(Side::Buy, level("0.0999", "500"));
/// book.apply(Side::Sell, level("0.1001", "400"));
/// assert_eq!(book.best_bid().unwrap().price.to_string(), "0.0999");
/// book.apply(Side::Buy, level("0.0999", "0"));
/// assert!(book.best_bid().is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderBook {
    bids: BTreeMap<Decimal, Decimal>,
    asks: BTreeMap<Decimal, Decimal>,
}

impl OrderBook {
    /// Replaces the whole book.
    pub fn reset(&mut self, bids: &[PriceLevel], asks: &[PriceLevel]) {
        self.bids.clear();
        self.asks.clear();
        for level in bids {
            self.apply(Side::Buy, *level);
        }
        for level in asks {
            self.apply(Side::Sell, *level);
        }
    }

    /// Sets (or with zero quantity removes) one level.
    pub fn apply(&mut self, side: Side, level: PriceLevel) {
        let levels = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        if level.quantity.is_zero() {
            levels.remove(&level.price);
        } else {
            levels.insert(level.price, level.quantity);
        }
    }

    /// The highest bid.
    pub fn best_bid(&self) -> Option<PriceLevel> {
        self.bids.last_key_value().map(|(p, q)| PriceLevel {
            price: *p,
            quantity: *q,
        })
    }

    /// The lowest ask.
    pub fn best_ask(&self) -> Option<PriceLevel> {
        self.asks.first_key_value().map(|(p, q)| PriceLevel {
            price: *p,
            quantity: *q,
        })
    }

    /// The touch as a book ticker, if both sides have a level.
    pub fn ticker(&self, time_ms: i64) -> Option<BookTicker> {
        let (bid, ask) = (self.best_bid()?, self.best_ask()?);
        Some(BookTicker {
            bid_price: bid.price,
            bid_quantity: bid.quantity,
            ask_price: ask.price,
            ask_quantity: ask.quantity,
            time_ms,
        })
    }

    /// The best `depth` levels of a side, best first.
    pub fn levels(&self, side: Side, depth: usize) -> Vec<PriceLevel> {
        let mut levels = Vec::new();
        self.levels_into(side, depth, &mut levels);
        levels
    }

    /// Replaces the contents of `out` with the best `depth` levels of a side, best first,
    /// reusing its capacity (no allocation once it is large enough).
    pub fn levels_into(&self, side: Side, depth: usize, out: &mut Vec<PriceLevel>) {
        let level = |(p, q): (&Decimal, &Decimal)| PriceLevel {
            price: *p,
            quantity: *q,
        };
        out.clear();
        match side {
            Side::Buy => out.extend(self.bids.iter().rev().take(depth).map(level)),
            Side::Sell => out.extend(self.asks.iter().take(depth).map(level)),
        }
    }

    /// Number of levels on each side (bids, asks).
    pub fn depth(&self) -> (usize, usize) {
        (self.bids.len(), self.asks.len())
    }

    /// `true` if the best bid is at or above the best ask: an inconsistent local book.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.price >= a.price)
    }
}
