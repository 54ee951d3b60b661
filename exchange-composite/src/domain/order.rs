//! Orders: [`OrderType`], [`OrderStatus`], [`Order`] and its updates.

use std::fmt;

use rust_decimal::Decimal;

use crate::domain::client_order_id::ClientOrderId;
use crate::domain::side::Side;
use crate::domain::symbol::Symbol;

/// How an order executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Rests at its price until filled or cancelled.
    Limit,
    /// Post-only: rejected if it would take liquidity (a leftover order never crosses).
    LimitMaker,
    /// Fills at the best prices available.
    Market,
    /// Fills what it can at once, cancels the rest.
    ImmediateOrCancel,
    /// Fills completely at once or not at all.
    FillOrKill,
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Accepted, nothing filled.
    New,
    /// Partly filled, still working.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled with nothing filled.
    Canceled,
    /// Cancelled after a partial fill.
    PartiallyCanceled,
}

impl OrderStatus {
    /// `true` while the order can still trade.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::PartiallyFilled)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::New => "new",
            Self::PartiallyFilled => "partially filled",
            Self::Filled => "filled",
            Self::Canceled => "canceled",
            Self::PartiallyCanceled => "partially canceled",
        })
    }
}

/// An order as last known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The market.
    pub symbol: Symbol,
    /// The venue's id (an opaque string on MEXC).
    pub order_id: String,
    /// Our id, if we placed it.
    pub client_order_id: Option<ClientOrderId>,
    /// Buy or sell.
    pub side: Side,
    /// How it executes.
    pub order_type: OrderType,
    /// Limit price (zero for market orders).
    pub price: Decimal,
    /// Quantity ordered.
    pub quantity: Decimal,
    /// Quantity filled so far.
    pub filled_quantity: Decimal,
    /// Quote value filled so far.
    pub filled_quote: Decimal,
    /// Status.
    pub status: OrderStatus,
    /// Last update, ms since the Unix epoch.
    pub updated_ms: i64,
}

impl Order {
    /// The quantity still open.
    pub fn remaining_quantity(&self) -> Decimal {
        (self.quantity - self.filled_quantity).max(Decimal::ZERO)
    }
}
