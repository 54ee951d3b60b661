//! One symbol's order book: price levels with FIFO queues of order sequence numbers.

use std::collections::{BTreeMap, VecDeque};

use rust_decimal::Decimal;

use super::order::Side;

/// `(price, quantity)` of one aggregated level.
pub type PriceLevel = (Decimal, Decimal);
/// Aggregated levels, best first.
pub type Levels = Vec<PriceLevel>;
/// Best bid and best ask.
pub type TopOfBook = (Option<PriceLevel>, Option<PriceLevel>);

/// A price level: orders in arrival order and their total remaining quantity.
#[derive(Debug, Default, Clone)]
pub struct Level {
    /// Order sequence numbers, oldest first.
    pub queue: VecDeque<u64>,
    /// Sum of the remaining quantities of the queued orders.
    pub total: Decimal,
}

/// Bids and asks of one symbol.
#[derive(Debug, Default, Clone)]
pub struct Book {
    /// Bids by price (best = highest = last).
    pub bids: BTreeMap<Decimal, Level>,
    /// Asks by price (best = lowest = first).
    pub asks: BTreeMap<Decimal, Level>,
}

impl Book {
    /// The levels of one side.
    pub fn side(&self, side: Side) -> &BTreeMap<Decimal, Level> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<Decimal, Level> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Best bid `(price, total quantity)`.
    pub fn best_bid(&self) -> Option<(Decimal, Decimal)> {
        self.bids.iter().next_back().map(|(p, l)| (*p, l.total))
    }

    /// Best ask `(price, total quantity)`.
    pub fn best_ask(&self) -> Option<(Decimal, Decimal)> {
        self.asks.iter().next().map(|(p, l)| (*p, l.total))
    }

    /// Best level of the side a taker of `taker_side` trades against.
    pub fn best_opposite(&self, taker_side: Side) -> Option<(Decimal, &Level)> {
        match taker_side {
            Side::Buy => self.asks.iter().next().map(|(p, l)| (*p, l)),
            Side::Sell => self.bids.iter().next_back().map(|(p, l)| (*p, l)),
        }
    }

    /// Levels a taker of `taker_side` would meet, best first.
    pub fn opposite_levels(
        &self,
        taker_side: Side,
    ) -> Box<dyn Iterator<Item = (&Decimal, &Level)> + '_> {
        match taker_side {
            Side::Buy => Box::new(self.asks.iter()),
            Side::Sell => Box::new(self.bids.iter().rev()),
        }
    }

    /// Queue an order at the back of its level.
    pub fn insert(&mut self, side: Side, price: Decimal, seq: u64, quantity: Decimal) {
        let level = self.side_mut(side).entry(price).or_default();
        level.queue.push_back(seq);
        level.total += quantity;
    }

    /// Remove an order with `remaining` quantity from its level.
    pub fn remove(&mut self, side: Side, price: Decimal, seq: u64, remaining: Decimal) {
        let levels = self.side_mut(side);
        if let Some(level) = levels.get_mut(&price) {
            if let Some(pos) = level.queue.iter().position(|s| *s == seq) {
                level.queue.remove(pos);
                level.total -= remaining;
            }
            if level.queue.is_empty() {
                levels.remove(&price);
            }
        }
    }

    /// Reduce the total of a level after a fill of its front order; drop the front order if
    /// it is exhausted and the level if it is empty.
    pub fn fill_front(&mut self, side: Side, price: Decimal, quantity: Decimal, front_done: bool) {
        let levels = self.side_mut(side);
        if let Some(level) = levels.get_mut(&price) {
            level.total -= quantity;
            if front_done {
                level.queue.pop_front();
            }
            if level.queue.is_empty() {
                levels.remove(&price);
            }
        }
    }

    /// Total quantity at a price (zero if no level).
    pub fn level_total(&self, side: Side, price: Decimal) -> Decimal {
        self.side(side)
            .get(&price)
            .map(|l| l.total)
            .unwrap_or_default()
    }

    /// Up to `limit` levels per side, best first: `(bids, asks)`.
    pub fn depth(&self, limit: usize) -> (Levels, Levels) {
        let bids = self
            .bids
            .iter()
            .rev()
            .take(limit)
            .map(|(p, l)| (*p, l.total))
            .collect();
        let asks = self
            .asks
            .iter()
            .take(limit)
            .map(|(p, l)| (*p, l.total))
            .collect();
        (bids, asks)
    }

    /// Whether the best bid is at or above the best ask (must never hold after matching).
    pub fn is_crossed(&self) -> bool {
        match (self.best_bid(), self.best_ask()) {
            (Some((bid, _)), Some((ask, _))) => bid >= ask,
            _ => false,
        }
    }
}
