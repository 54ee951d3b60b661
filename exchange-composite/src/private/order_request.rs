//! [`OrderRequest`]: a new order in domain terms, rounded to the market's rules when placed.

use rust_decimal::Decimal;

use crate::domain::order::OrderType;
use crate::domain::side::Side;
use crate::domain::symbol::Symbol;

/// A new order, in domain terms: the exchange rounds the price (towards the passive side)
/// and the quantity to the market's precision, checks the minimums, and gives it a client
/// order id with our prefix.
///
/// ```
/// use rust_decimal::Decimal;
/// use exchange_composite::{AssetName, OrderRequest, OrderType, Side, Symbol};
///
/// let hifi = Symbol::spot(AssetName::new("HIFI").unwrap(), AssetName::new("USDT").unwrap());
/// let bid = OrderRequest::limit_maker(hifi, Side::Buy, Decimal::new(995, 4), Decimal::new(212, 1));
/// assert_eq!(bid.order_type, OrderType::LimitMaker);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    /// The market.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// How it executes.
    pub order_type: OrderType,
    /// Limit price (ignored for market orders).
    pub price: Decimal,
    /// Base quantity.
    pub quantity: Decimal,
}

impl OrderRequest {
    /// A post-only limit order: rejected if it would take liquidity.
    pub fn limit_maker(symbol: Symbol, side: Side, price: Decimal, quantity: Decimal) -> Self {
        Self {
            symbol,
            side,
            order_type: OrderType::LimitMaker,
            price,
            quantity,
        }
    }

    /// A limit order.
    pub fn limit(symbol: Symbol, side: Side, price: Decimal, quantity: Decimal) -> Self {
        Self {
            order_type: OrderType::Limit,
            ..Self::limit_maker(symbol, side, price, quantity)
        }
    }

    /// A market order for a base quantity.
    pub fn market(symbol: Symbol, side: Side, quantity: Decimal) -> Self {
        Self {
            order_type: OrderType::Market,
            ..Self::limit_maker(symbol, side, Decimal::ZERO, quantity)
        }
    }
}
