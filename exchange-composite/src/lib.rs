//! Public and private composite exchanges on the quiesce lifecycle (work in progress: this
//! first part holds the venue-neutral domain types and the MEXC spot mapping).
//!
//! - Domain types: [`Symbol`], [`AssetName`], [`Side`], [`OrderType`], [`OrderStatus`],
//!   [`Order`], [`BookTicker`], [`OrderBook`], [`Trade`], [`Balance`], private updates, and
//!   [`SymbolRules`] for exact rounding to a market's precision. Money is `Decimal`, never
//!   `f64`.
//! - [`ClientOrderIdGenerator`]: our orders carry a recognisable prefix, so orders a killed
//!   run left behind can be found and cancelled at the next start.
//! - [`mexc`]: channel names, push-frame decoding into domain events (a frame that fails is
//!   counted and logged, never a panic), and the [`mexc::LocalOrderBook`] with MEXC's version
//!   rules and resync on a gap.

mod domain;
mod error;
pub mod mexc;
pub mod public;

pub use domain::asset::AssetName;
pub use domain::balance::Balance;
pub use domain::client_order_id::{ClientOrderId, ClientOrderIdGenerator};
pub use domain::market::{BookTicker, PriceLevel, Trade};
pub use domain::order::{Order, OrderStatus, OrderType};
pub use domain::order_book::OrderBook;
pub use domain::rules::SymbolRules;
pub use domain::side::Side;
pub use domain::symbol::Symbol;
pub use domain::updates::{BalanceUpdate, Fill, OrderUpdate};
pub use error::DomainError;
