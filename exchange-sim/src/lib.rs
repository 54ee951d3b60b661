//! `exchange-sim`: an embedded MEXC-compatible spot venue on 127.0.0.1.
//!
//! It serves MEXC's spot v3 REST API (signed with HMAC-SHA256 exactly as MEXC verifies it)
//! and its protobuf websocket (`/ws`, `/ws?listenKey=...`) over real HTTP, backed by a
//! price-time-priority matching engine with balances, fees and a seeded synthetic market.
//! Tests inject faults through [`Faults`] (or the `/_sim/...` operator endpoints); benchmarks
//! time a push's way to a client and its order's way back with the [`Probe`].
//!
//! # Demo account
//! Every default configuration has the account
//! - API key: `mx0vglDEMOKEYquiesce0001` ([`DEMO_API_KEY`])
//! - API secret: `5f2b8e1c9d3a47b6a0e4c7d21f9b3e68` ([`DEMO_API_SECRET`])
//!
//! with 100,000 USDT, 1,000,000 HIFI and 10 BTC. Default symbols: `HIFIUSDT` (around 0.1
//! USDT, price tick 0.00001, quantity step 0.01, minimum notional 1 USDT) and `BTCUSDT`.
//!
//! # An independent oracle
//! The venue shares with the stack it tests only the protobuf messages (`mexc-proto`) and
//! lifecycle-core's `WallClock` (the simulation's seam for the time of day). It keeps its own order types (side, type, status), its own parsing of MEXC's parameters and
//! its own task set (not lifecycle-core's `TaskManager`, whose tasks count in the
//! process-wide metrics that prove the stack left nothing running) on purpose: a type or a
//! reading shared with the adapter would let one misunderstanding of MEXC pass on both
//! sides unnoticed.
//!
//! # Embedded
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use exchange_sim::{SimConfig, SimVenue};
//! let sim = SimVenue::start(SimConfig::default()).await?;
//! let rest = sim.rest_url(); // http://127.0.0.1:PORT
//! let ws = sim.ws_url(); // ws://127.0.0.1:PORT/ws
//! # let _ = (rest, ws);
//! sim.faults().delay_rest(std::time::Duration::from_millis(50));
//! sim.stop_within(std::time::Duration::from_secs(1)).await;
//! # Ok(())
//! # }
//! ```
//!
//! # Standalone
//! `cargo run -p exchange-sim -- --listen 127.0.0.1:0` prints `listening on http://IP:PORT`
//! first, then serves until SIGINT/SIGTERM.
//!
//! # Operator endpoints (not MEXC)
//! Under `/_sim/`, never rate limited nor affected by faults:
//! - `POST /_sim/ws/drop` drops every websocket (no close frame);
//! - `POST /_sim/ws/close` closes every websocket with a close frame (1001);
//! - `POST /_sim/ws/refuse` `{"refuse":true|false}` refuses new websockets (HTTP 503);
//! - `GET /_sim/ws/connections` counts open websockets;
//! - `POST /_sim/ws/malformed` pushes a malformed binary frame to every websocket;
//! - `POST /_sim/stall` `{"stalled":true|false}` stalls every connection (TCP stays open,
//!   nothing is read or sent; REST calls wait);
//! - `POST /_sim/rest/delay` `{"millis":N}` delays every REST answer;
//! - `POST /_sim/rest/fail` `{"count":N,"status":503,"path":"/api/v3/order"}` fails the next N
//!   REST calls (optionally only to `path`) with a 5xx or 429;
//! - `POST /_sim/listenKey/expire` `{"listenKey":"..."}` expires a key and closes its sockets;
//! - `POST /_sim/faults/clear`, `POST /_sim/market/pause`, `POST /_sim/market/resume`;
//! - `GET /_sim/accounts/{apiKey}/balances` and `GET /_sim/accounts/{apiKey}/openOrders`.
//!
//! # Aggregated channels
//! The `aggre` channels (depth, book ticker, deals at `100ms` and `10ms`) push at most one
//! frame per channel and window, showing the state at the end of the window; a depth frame's
//! `fromVersion..toVersion` spans every change of its window, and consecutive frames are
//! contiguous. No channel shows an intermediate state of one engine operation (such as an
//! empty side while the synthetic market replaces its quotes).
//!
//! # Where it differs from MEXC
//! Fees are charged in the received asset (no MX deduction). Error codes MEXC does not
//! document for a case are chosen close to MEXC's (see [`error::ApiError`]); the code for a
//! LIMIT_MAKER that would take is Binance's `-2010`, unverified against MEXC.

#![doc(test(attr(deny(warnings))))]

pub mod accounts;
mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod events;
pub mod faults;
pub mod format;
mod handle;
mod history;
pub mod listen_keys;
mod market;
pub mod matching;
pub mod params;
pub mod probe;
pub mod rate_limit;
mod rest;
mod server;
pub mod shutdown;
#[cfg(feature = "simulation")]
mod turmoil_listener;
pub mod ws;

pub use accounts::{AccountId, Balance};
pub use app::SimState;
pub use config::{
    AccountConfig, DEMO_API_KEY, DEMO_API_SECRET, HttpConfig, ListenKeyConfig, MarketConfig,
    RateLimitConfig, SimConfig, SymbolConfig, WsConfig,
};
pub use error::{ApiError, BodyStyle, SimError};
pub use faults::Faults;
pub use handle::{DEFAULT_STOP_DEADLINE, DepthSnapshot, SimVenue};
pub use matching::{NewOrder, Order, OrderRef, OrderStatus, OrderType, Side};
pub use probe::Probe;
pub use shutdown::VenueStopReport;
#[cfg(feature = "simulation")]
pub use turmoil_listener::TurmoilListener;
