//! [`MarketMakerContext`]: what a market-making cycle works with.

use std::sync::Arc;
use std::time::Duration;

use exchange_composite::{PrivateCompositeExchange, PublicCompositeExchange, Symbol};
use rust_decimal::Decimal;

/// What a market-making cycle works with: the market, the order size, the exchanges, and the
/// logger (a `tracing` span every cycle logs under).
#[derive(Debug, Clone)]
pub(crate) struct MarketMakerContext {
    /// The market quoted.
    pub(crate) symbol: Symbol,
    /// Value of each order, in the quote currency.
    pub(crate) quantity_usdt: Decimal,
    /// How long to wait for fills.
    pub(crate) fill_timeout: Duration,
    /// How long venue failures that pass are ridden out (and quoting may stay halted) before
    /// the run gives up.
    pub(crate) max_outage: Duration,
    /// Market data.
    pub(crate) public_exchange: Arc<PublicCompositeExchange>,
    /// Orders.
    pub(crate) private_exchange: Arc<PrivateCompositeExchange>,
    /// The logger: every line of the market maker is logged within it.
    pub(crate) logger: tracing::Span,
}
