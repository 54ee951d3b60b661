//! Private stream events: [`OrderUpdate`], [`Fill`], [`BalanceUpdate`].

use rust_decimal::Decimal;

use crate::domain::asset::AssetName;
use crate::domain::client_order_id::ClientOrderId;
use crate::domain::order::{OrderStatus, OrderType};
use crate::domain::side::Side;

/// A change of one of our orders, pushed by the venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderUpdate {
    /// The venue's symbol code (`HIFIUSDT`).
    pub symbol_code: String,
    /// The venue's order id.
    pub order_id: String,
    /// Our id, if the order carries one.
    pub client_order_id: Option<ClientOrderId>,
    /// Buy or sell.
    pub side: Side,
    /// Order type.
    pub order_type: OrderType,
    /// Limit price.
    pub price: Decimal,
    /// Quantity ordered.
    pub quantity: Decimal,
    /// Quantity filled so far.
    pub filled_quantity: Decimal,
    /// Average fill price (zero before any fill).
    pub average_price: Decimal,
    /// Status after this change.
    pub status: OrderStatus,
    /// Time, ms since the Unix epoch.
    pub time_ms: i64,
}

/// One fill of one of our orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// The venue's symbol code.
    pub symbol_code: String,
    /// The venue's order id.
    pub order_id: String,
    /// Our id, if the order carries one.
    pub client_order_id: Option<ClientOrderId>,
    /// Our side.
    pub side: Side,
    /// Fill price.
    pub price: Decimal,
    /// Fill quantity.
    pub quantity: Decimal,
    /// Whether we provided liquidity.
    pub is_maker: bool,
    /// Fee charged.
    pub fee: Decimal,
    /// Asset the fee was charged in (if given).
    pub fee_asset: Option<AssetName>,
    /// The venue's trade id.
    pub trade_id: String,
    /// Time, ms since the Unix epoch.
    pub time_ms: i64,
}

/// A new balance of one asset, pushed by the venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceUpdate {
    /// The asset.
    pub asset: AssetName,
    /// Free amount after the change.
    pub free: Decimal,
    /// Locked amount after the change.
    pub locked: Decimal,
    /// Time, ms since the Unix epoch.
    pub time_ms: i64,
}
