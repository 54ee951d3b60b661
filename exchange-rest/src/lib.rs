//! The MEXC spot REST adapter of quiesce: a signed REST client and the exchange rate limiter,
//! both [`AsyncResource`](lifecycle_core::AsyncResource)s.
//!
//! - [`limiter`]: [`RateLimiter`], weighted sliding-window buckets per scope, atomic
//!   multi-bucket draws, FIFO-fair bounded waiting, `Retry-After` pauses, prompt `Closed` on
//!   stop. [`mexc_spot_limits`] is MEXC's published configuration.
//! - [`MexcRestClient`]: reqwest + rustls, MEXC signing over the exact bytes sent, the venue's
//!   clock kept in sync, typed [`request`]s and [`model`] responses for every endpoint, typed
//!   [`RestError`]s (order calls with unknown outcome are never "not placed"), a secret that
//!   never shows ([`ApiSecret`]), and a stop that bounds calls in flight.
//!
//! Shutdown order (DESIGN section 3): stop the client and the limiter last
//! (`ShutdownPriority::Cleanup`), after orders were cancelled through them; stop the client
//! before the limiter.

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
