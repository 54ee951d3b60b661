//! [`VenueEvent`]: a decoded push, in domain terms: the same events for every venue.

use crate::domain::depth::DepthDiff;
use crate::domain::market::{BookTicker, Trade};
use crate::domain::updates::{BalanceUpdate, Fill, OrderUpdate};

/// One decoded push, whatever the venue: what a [`PushDecoder`](crate::PushDecoder) turns a
/// frame into. Public pushes name their market by the venue's code of it
/// ([`Venue::symbol_code`](crate::Venue::symbol_code)).
///
/// Market data borrows the [`PushBuffers`](crate::PushBuffers) the frame was decoded into
/// (their vectors are reused frame after frame); our own orders, fills and balances are owned,
/// to be published as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VenueEvent<'a> {
    /// Best bid and ask.
    BookTicker {
        /// The symbol code.
        symbol_code: &'a str,
        /// The touch.
        ticker: BookTicker,
    },
    /// Aggregated depth diff.
    DepthDiff {
        /// The symbol code.
        symbol_code: &'a str,
        /// The diff.
        diff: &'a DepthDiff,
    },
    /// Public trades.
    Trades {
        /// The symbol code.
        symbol_code: &'a str,
        /// The trades, in order.
        trades: &'a [Trade],
    },
    /// One of our orders changed.
    Order(OrderUpdate),
    /// One of our orders filled.
    Fill(Fill),
    /// One of our balances changed.
    Balance(BalanceUpdate),
}
