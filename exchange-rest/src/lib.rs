//! The MEXC spot REST adapter of quiesce: a signed REST client and the exchange rate limiter,
//! both [`AsyncResource`](lifecycle_core::AsyncResource)s.
//!
//! - [`limiter`]: [`RateLimiter`], weighted sliding-window buckets per scope, atomic
//!   multi-bucket draws, FIFO-fair bounded waiting, `Retry-After` pauses, prompt `Closed` on
//!   stop. [`mexc_spot_limits`] is MEXC's published configuration.
//! - [`MexcRestClient`]: hyper + rustls, MEXC signing over the exact bytes sent, the venue's
//!   clock kept in sync, typed [`request`]s and [`model`] responses for every endpoint, typed
//!   [`RestError`]s (order calls with unknown outcome are never "not placed"), a secret that
//!   never shows ([`ApiSecret`]), and a stop that bounds calls in flight.
//!
//! # Example
//!
//! The limiter and the client on the embedded venue (`exchange-sim`, 127.0.0.1 on an
//! ephemeral port): a signed order placed and cancelled, then both stopped, the client first.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use exchange_rest::{
//!     Credentials, MexcRestClient, MexcRestConfig, NewOrderRequest, OrderRef, RateLimiter, Side,
//!     mexc_spot_limits,
//! };
//! use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
//! use lifecycle_core::AsyncResource;
//! use rust_decimal::Decimal;
//!
//! let venue = SimVenue::start(SimConfig::paused()).await?;
//! let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("rate_limiter.mexc")));
//! let config = MexcRestConfig::new(venue.rest_url())
//!     .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET));
//! let client = MexcRestClient::new(config, limiter.clone())?;
//! limiter.start().await?;
//! client.start().await?;
//!
//! // 40 HIFI at 0.05 USDT: far below the market, so it rests.
//! let bid = NewOrderRequest::limit_maker("HIFIUSDT", Side::Buy, Decimal::new(5, 2), Decimal::from(40));
//! let placed = client.place_order(&bid).await?;
//! let cancelled = client
//!     .cancel_order("HIFIUSDT", OrderRef::OrderId(placed.order_id.clone()))
//!     .await?;
//! assert_eq!(cancelled.order_id, placed.order_id);
//!
//! let client_report = client.stop_within(Duration::from_secs(1)).await;
//! let limiter_report = limiter.stop_within(Duration::from_secs(1)).await;
//! assert!(client_report.is_clean() && limiter_report.is_clean(), "{client_report}");
//! venue.stop_within(Duration::from_secs(1)).await;
//! # Ok(())
//! # }
//! ```
//!
//! # Shutdown order
//!
//! Register both with `ShutdownPriority::Cleanup`, the last phase: whatever cancels orders
//! (`ShutdownPriority::CriticalFirst`) still needs them to reach the venue. Stop the client
//! before the limiter (the client uses the limiter): calls in flight end by the deadline,
//! then the limiter answers every waiting call with a prompt `Closed`.

#![doc(test(attr(deny(warnings))))]

mod client;
mod endpoint;
mod error;
pub mod limiter;
mod mexc_limits;
pub mod model;
mod params;
pub mod request;
mod secret;
mod server_clock;
mod signing;
pub mod telemetry;
mod transport;

pub use client::{
    ClientBuildError, ClientStats, MEXC_FUTURES_URL, MEXC_SPOT_URL, MexcRestClient, MexcRestConfig,
};
pub use endpoint::{Endpoint, Host, Method};
pub use error::{RateLimitSource, RestError, UnknownCause, VenueError};
pub use limiter::RateLimiter;
pub use mexc_limits::{
    ACCOUNT_PER_SECOND_BUCKET, EndpointDraws, MEXC_ACCOUNT_PER_SECOND, MEXC_ENDPOINT_LIMIT,
    MEXC_ENDPOINT_WINDOW, mexc_spot_limits,
};
pub use model::{NewOrderRequest, OrderRef, Side};
pub use params::Params;
pub use secret::{ApiSecret, Credentials};
pub use server_clock::ServerClock;
pub use signing::{Signature, Signer};
pub use transport::RestTransport;
