//! The matching engine: price-time priority books per symbol, balances, fees.

mod book;
mod engine;
mod order;
mod validate;

pub use book::{Book, Level, Levels, PriceLevel, TopOfBook};
pub use engine::{Engine, EngineLimits, Market};
pub use order::{
    NewOrder, ORDER_ID_PREFIX, Order, OrderRef, OrderStatus, OrderType, Side, parse_order_id,
};
pub use validate::{MAX_PRICE, MAX_QUANTITY, decimals, validate};
