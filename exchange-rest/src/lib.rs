//! The MEXC spot REST adapter of quiesce: a signed REST client and the exchange rate limiter,
//! both [`AsyncResource`](lifecycle_core::AsyncResource)s.
//!
//! - [`limiter`]: [`RateLimiter`], weighted sliding-window buckets per scope, atomic
//!   multi-bucket draws, FIFO-fair bounded waiting, `Retry-After` pauses, prompt `Closed` on
//!   stop.

pub mod limiter;

pub use limiter::RateLimiter;
pub mod secret;
pub mod signing;

pub use secret::{ApiSecret, Credentials};
pub use signing::{Signature, Signer};
