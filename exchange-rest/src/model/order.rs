//! Orders: sides, types, statuses, the new-order request, and the venue's order objects.

use std::fmt;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::de;

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    /// `BUY`.
    Buy,
    /// `SELL`.
    Sell,
}

impl Side {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Order types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderType {
    /// Quantity at a price, rests on the book.
    Limit,
    /// Executes at the best prices (quantity or quote amount).
    Market,
    /// Post-only: rejected if it would take.
    LimitMaker,
    /// Fills what it can at once, the rest is cancelled.
    ImmediateOrCancel,
    /// Fills entirely at once or not at all.
    FillOrKill,
    /// A type this client does not know.
    #[serde(other)]
    Unknown,
}

impl OrderType {
    /// The wire name (`UNKNOWN` for [`OrderType::Unknown`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Limit => "LIMIT",
            Self::Market => "MARKET",
            Self::LimitMaker => "LIMIT_MAKER",
            Self::ImmediateOrCancel => "IMMEDIATE_OR_CANCEL",
            Self::FillOrKill => "FILL_OR_KILL",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// Order statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Open, nothing filled.
    New,
    /// Open, partly filled.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled, nothing filled.
    Canceled,
    /// Cancelled after a partial fill.
    PartiallyCanceled,
    /// A status this client does not know.
    #[serde(other)]
    Unknown,
}

impl OrderStatus {
    /// Whether the order is still open on the book.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::PartiallyFilled)
    }
}

/// Names an existing order: by the venue's id or by our client order id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderRef {
    /// The venue's `orderId` (an opaque string).
    OrderId(String),
    /// Our `newClientOrderId` (`origClientOrderId` in queries).
    ClientOrderId(String),
}

/// A new order (`POST /api/v3/order`, or `/order/test` to validate only).
///
/// ```
/// use exchange_rest::{NewOrderRequest, Side};
/// use rust_decimal::Decimal;
///
/// let order = NewOrderRequest::limit_maker("HIFIUSDT", Side::Buy, Decimal::new(99, 3), Decimal::new(212, 1))
///     .client_order_id("mm-b-1");
/// assert_eq!(order.client_order_id.as_deref(), Some("mm-b-1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrderRequest {
    /// The market.
    pub symbol: String,
    /// Buy or sell.
    pub side: Side,
    /// The type.
    pub order_type: OrderType,
    /// Base quantity.
    pub quantity: Option<Decimal>,
    /// Quote amount (market orders).
    pub quote_order_qty: Option<Decimal>,
    /// Limit price.
    pub price: Option<Decimal>,
    /// Our id for the order (`newClientOrderId`): lets a restart recognise its orders.
    pub client_order_id: Option<String>,
}

impl NewOrderRequest {
    /// A limit order.
    pub fn limit(symbol: impl Into<String>, side: Side, price: Decimal, quantity: Decimal) -> Self {
        Self::priced(symbol, side, OrderType::Limit, price, quantity)
    }

    /// A post-only limit order (rejected if it would take).
    pub fn limit_maker(
        symbol: impl Into<String>,
        side: Side,
        price: Decimal,
        quantity: Decimal,
    ) -> Self {
        Self::priced(symbol, side, OrderType::LimitMaker, price, quantity)
    }

    /// A market order for a base quantity.
    pub fn market(symbol: impl Into<String>, side: Side, quantity: Decimal) -> Self {
        Self {
            symbol: symbol.into(),
            side,
            order_type: OrderType::Market,
            quantity: Some(quantity),
            quote_order_qty: None,
            price: None,
            client_order_id: None,
        }
    }

    /// A market order for a quote amount.
    pub fn market_quote(symbol: impl Into<String>, side: Side, quote_amount: Decimal) -> Self {
        Self {
            quantity: None,
            quote_order_qty: Some(quote_amount),
            ..Self::market(symbol, side, Decimal::ZERO)
        }
    }

    /// A priced order of any type (limit, limit maker, IOC, FOK).
    pub fn priced(
        symbol: impl Into<String>,
        side: Side,
        order_type: OrderType,
        price: Decimal,
        quantity: Decimal,
    ) -> Self {
        Self {
            symbol: symbol.into(),
            side,
            order_type,
            quantity: Some(quantity),
            quote_order_qty: None,
            price: Some(price),
            client_order_id: None,
        }
    }

    /// Sets our client order id.
    #[must_use]
    pub fn client_order_id(mut self, id: impl Into<String>) -> Self {
        self.client_order_id = Some(id.into());
        self
    }
}

/// The answer to a new order (no status: MEXC does not send one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOrderAck {
    /// The market.
    pub symbol: String,
    /// The venue's order id.
    #[serde(deserialize_with = "de::id")]
    pub order_id: String,
    /// Our client order id, if the venue echoes it.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub client_order_id: Option<String>,
    /// Limit price.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub price: Option<Decimal>,
    /// Quantity ordered.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub orig_qty: Option<Decimal>,
    /// The type.
    #[serde(default, rename = "type")]
    pub order_type: Option<OrderType>,
    /// The side.
    #[serde(default)]
    pub side: Option<Side>,
    /// When the venue accepted it, ms since the Unix epoch.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub transact_time: Option<i64>,
}

/// An order as the venue reports it (query, open orders, all orders, cancel).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The market.
    pub symbol: String,
    /// The venue's order id.
    #[serde(deserialize_with = "de::id")]
    pub order_id: String,
    /// Our client order id.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub client_order_id: Option<String>,
    /// Limit price.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub price: Option<Decimal>,
    /// Quantity ordered.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub orig_qty: Option<Decimal>,
    /// Quantity filled.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub executed_qty: Option<Decimal>,
    /// Quote amount filled (MEXC spells it `cummulativeQuoteQty`).
    #[serde(
        default,
        rename = "cummulativeQuoteQty",
        deserialize_with = "de::opt_decimal"
    )]
    pub cumulative_quote_qty: Option<Decimal>,
    /// Status.
    pub status: OrderStatus,
    /// Time in force, as sent.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub time_in_force: Option<String>,
    /// The type.
    #[serde(rename = "type")]
    pub order_type: OrderType,
    /// The side.
    pub side: Side,
    /// Stop price (empty on MEXC spot).
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub stop_price: Option<Decimal>,
    /// Created, ms since the Unix epoch.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub time: Option<i64>,
    /// Last changed, ms since the Unix epoch.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub update_time: Option<i64>,
    /// Whether it is on the book.
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub is_working: bool,
    /// Quote amount ordered (market orders).
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub orig_quote_order_qty: Option<Decimal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_object_as_mexc_sends_it() {
        let order: Order = serde_json::from_str(
            r#"{"symbol":"HIFIUSDT","orderId":"C02__1","orderListId":-1,"clientOrderId":"mm-b-1","price":"0.099","origQty":"21.2","executedQty":"0","cummulativeQuoteQty":"0","status":"NEW","timeInForce":"GTC","type":"LIMIT_MAKER","side":"BUY","stopPrice":"","icebergQty":"","time":1736417034259,"updateTime":null,"isWorking":true,"origQuoteOrderQty":"2.0988"}"#,
        )
        .unwrap();
        assert_eq!(order.order_id, "C02__1");
        assert_eq!(order.order_type, OrderType::LimitMaker);
        assert!(order.status.is_open());
        assert_eq!(order.stop_price, None);
        assert_eq!(order.cumulative_quote_qty, Some(Decimal::ZERO));
        let odd: Order = serde_json::from_str(
            r#"{"symbol":"X","orderId":123,"status":"SOMETHING_NEW","type":"STOP_LOSS","side":"SELL"}"#,
        )
        .unwrap();
        assert_eq!(odd.order_id, "123");
        assert_eq!(odd.status, OrderStatus::Unknown);
        assert_eq!(odd.order_type, OrderType::Unknown);
    }

    #[test]
    fn new_order_ack() {
        let ack: NewOrderAck = serde_json::from_str(
            r#"{"symbol":"HIFIUSDT","orderId":"C02__2","orderListId":-1,"price":"0.1","origQty":"10","type":"LIMIT","side":"SELL","transactTime":1}"#,
        )
        .unwrap();
        assert_eq!(ack.order_id, "C02__2");
        assert_eq!(ack.side, Some(Side::Sell));
        assert_eq!(
            NewOrderRequest::market_quote("A", Side::Buy, Decimal::ONE).quantity,
            None
        );
    }
}
