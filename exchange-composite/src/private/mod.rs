//! The private side: orders, balances, the listen key and private streams.

mod exchange;
mod handler;
mod listen_key;
pub(crate) mod order_guard;
mod order_request;
mod resend;
mod socket;
mod sweep;

pub(crate) use exchange::PrivateParts;
pub use exchange::{
    BALANCE_UPDATES_STREAM, BALANCES_STREAM, FILLS_STREAM, ORDERS_STREAM, PrivateCompositeExchange,
};
pub use handler::Balances;
pub use listen_key::ListenKey;
pub use order_request::OrderRequest;
pub use sweep::Sweep;
