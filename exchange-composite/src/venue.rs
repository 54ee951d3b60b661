//! [`Venue`]: the seam between the composite exchanges and one venue's protocol.
//!
//! The composites (order guard, private socket, market-data pipeline, public and private
//! exchanges) speak only this trait and the domain types; everything venue-specific (REST
//! endpoints and models, channel names, push decoding, listen keys) sits behind it.
//! [`MexcSpot`](crate::MexcSpot) is the first venue.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::BoxFuture;
use tokio::time::Instant;

use crate::domain::balance::Balance;
use crate::domain::client_order_id::ClientOrderId;
use crate::domain::depth::DepthSnapshot;
use crate::domain::depth_sequencing::DepthSequencing;
use crate::domain::order::Order;
use crate::domain::push_interval::PushInterval;
use crate::domain::rules::SymbolRules;
use crate::domain::symbol::Symbol;
use crate::error::ExchangeError;
use crate::private::OrderRequest;
use crate::push_decoder::PushDecoder;

/// Names an existing order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderKey {
    /// The venue's order id.
    OrderId(String),
    /// Our client order id.
    ClientOrderId(ClientOrderId),
}

impl fmt::Display for OrderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OrderId(id) => write!(f, "order {id}"),
            Self::ClientOrderId(id) => write!(f, "client order {id}"),
        }
    }
}

/// The venue's acknowledgement of a new order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOrder {
    /// The venue's order id.
    pub order_id: String,
    /// When the venue accepted it, ms since the Unix epoch (0 if not given).
    pub time_ms: i64,
}

/// One venue's protocol, as the composite exchanges use it. Object safe: the composites hold
/// an `Arc<dyn Venue>`.
///
/// Calls that take a `deadline` must return by it (with an error if the venue has not
/// answered): shutdown paths pass theirs. Errors are [`ExchangeError`]s; an order call whose
/// outcome is unknown must say so ([`ExchangeError::is_outcome_unknown`]) and never claim the
/// order was not placed, and a cancel of an order the venue no longer has must be recognisable
/// ([`ExchangeError::is_unknown_order`]).
pub trait Venue: Send + Sync + fmt::Debug + 'static {
    /// Short name for logs and reports (`mexc.spot`).
    fn name(&self) -> &str;

    /// The venue's code of a market (`HIFIUSDT`).
    fn symbol_code(&self, symbol: &Symbol) -> String;

    /// How long after a placement was sent the venue may still accept it, when its answer
    /// never came back (the call timed out, or was dropped in flight): until then a listing
    /// that does not show the order does not prove it will not appear, and the stop's sweep
    /// keeps looking for it. The default, 6 s, is MEXC's default `recvWindow` (5 s) plus the
    /// second a signed timestamp may run ahead of the venue's clock.
    fn placement_window(&self) -> Duration {
        Duration::from_secs(6)
    }

    /// Trading rules of the markets `codes`; a market the venue does not list is an error.
    fn market_rules<'a>(
        &'a self,
        codes: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<(String, SymbolRules)>, ExchangeError>>;

    /// A depth snapshot of a market for the local order book.
    fn depth_snapshot<'a>(
        &'a self,
        code: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<DepthSnapshot, ExchangeError>>;

    /// Sends a new order (already rounded and checked) with our client order id.
    fn place_order<'a>(
        &'a self,
        code: &'a str,
        order: &'a OrderRequest,
        id: &'a ClientOrderId,
    ) -> BoxFuture<'a, Result<PlacedOrder, ExchangeError>>;

    /// Cancels an order; returns it in its final state.
    fn cancel_order<'a>(
        &'a self,
        symbol: &'a Symbol,
        code: &'a str,
        key: OrderKey,
        deadline: Option<Instant>,
    ) -> BoxFuture<'a, Result<Order, ExchangeError>>;

    /// The open orders of a market (ours and others).
    fn open_orders<'a>(
        &'a self,
        symbol: &'a Symbol,
        code: &'a str,
        deadline: Option<Instant>,
    ) -> BoxFuture<'a, Result<Vec<Order>, ExchangeError>>;

    /// One order as the venue knows it now.
    fn query_order<'a>(
        &'a self,
        symbol: &'a Symbol,
        code: &'a str,
        key: OrderKey,
    ) -> BoxFuture<'a, Result<Order, ExchangeError>>;

    /// The account's balances.
    fn balances(&self) -> BoxFuture<'_, Result<Vec<Balance>, ExchangeError>>;

    /// Opens a private-stream session (MEXC: creates a listen key); returns its token.
    fn open_private_session(&self) -> BoxFuture<'_, Result<String, ExchangeError>>;

    /// Keeps a private-stream session alive.
    fn keep_private_session_alive<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ExchangeError>>;

    /// Closes a private-stream session, by `deadline`.
    fn close_private_session<'a>(
        &'a self,
        token: &'a str,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<(), ExchangeError>>;

    /// The account's open private-stream sessions (MEXC: its live listen keys), by
    /// `deadline`. Every session of the account is listed, whichever process opened it.
    fn private_sessions(
        &self,
        deadline: Instant,
    ) -> BoxFuture<'_, Result<Vec<String>, ExchangeError>>;

    /// The private socket's URL for a session token.
    fn private_socket_url(&self, ws_url: &str, token: &str) -> String;

    /// The public channels of `codes`: depth diffs, book tickers, trades.
    fn public_channels(&self, codes: &[&str], interval: PushInterval) -> Vec<String>;

    /// The private channels: order updates, fills, balances.
    fn private_channels(&self) -> Vec<String>;

    /// A decoder of the venue's push frames for one connection of a socket: asked for once
    /// per connection, never per frame (see [`PushDecoder`]).
    fn push_decoder(&self) -> Box<dyn PushDecoder>;

    /// The version rule of the venue's depth diffs, which the local order book of each of
    /// its markets follows (see [`DepthSequencing`]).
    fn depth_sequencing(&self) -> Arc<dyn DepthSequencing>;
}
