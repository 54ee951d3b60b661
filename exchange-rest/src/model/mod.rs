//! Typed responses (and the new-order request) of the MEXC spot REST API. Decoding is
//! defensive: unknown fields are ignored, decimals come as strings or numbers (never `f64`
//! arithmetic), empty strings and `null` are "absent".

mod account;
pub(crate) mod de;
mod market;
mod order;
mod ticker;

pub use account::{AccountInfo, Balance, CoinConfig, CoinNetwork, ListenKey, ListenKeys};
pub use market::{
    BookTicker, ContractDetail, ContractDetailResponse, ContractList, ExchangeInfo,
    OrderBookSnapshot, PriceLevel, ServerTime, SymbolInfo,
};
pub use order::{NewOrderAck, NewOrderRequest, Order, OrderRef, OrderStatus, OrderType, Side};
pub use ticker::{PriceTicker, Ticker24h};

/// The empty object `{}` some endpoints answer (ping, test order). Any object is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
pub struct Empty {}
