//! [`MexcRestConfig`]: where and how the client talks to the venue.

use std::time::Duration;

use lifecycle_core::WallClock;

use crate::secret::Credentials;
use crate::transport::RestTransport;

/// MEXC's spot REST base URL.
pub const MEXC_SPOT_URL: &str = "https://api.mexc.com";
/// MEXC's futures REST base URL (`/api/v1/contract/...`).
pub const MEXC_FUTURES_URL: &str = "https://contract.mexc.com";

/// Configuration of a [`MexcRestClient`](crate::MexcRestClient).
///
/// ```
/// use std::time::Duration;
/// use exchange_rest::{Credentials, MexcRestConfig};
///
/// let config = MexcRestConfig::new("http://127.0.0.1:8080")
///     .credentials(Credentials::new("key", "secret"))
///     .request_timeout(Duration::from_secs(5));
/// assert_eq!(config.futures_base_url, "http://127.0.0.1:8080");
/// assert!(!format!("{config:?}").contains("secret\""));
/// ```
#[derive(Debug, Clone)]
pub struct MexcRestConfig {
    /// Component name (logs, reports).
    pub name: String,
    /// Spot API base URL.
    pub base_url: String,
    /// Futures API base URL.
    pub futures_base_url: String,
    /// API credentials (needed by signed endpoints only).
    pub credentials: Option<Credentials>,
    /// `recvWindow` sent with signed requests (MEXC: at most 60 s).
    pub recv_window: Duration,
    /// Whole-request timeout (connect, send, answer, body).
    pub request_timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// How long to wait for the rate limiter when the caller gives no deadline.
    pub max_rate_limit_wait: Duration,
    /// Idle keep-alive connections are closed after this long.
    pub pool_idle_timeout: Duration,
    /// Idle keep-alive connections kept per host.
    pub pool_max_idle_per_host: usize,
    /// How often the venue's clock is re-read (`None`: never; signed requests then use the
    /// local clock unless [`MexcRestClient::sync_clock`](crate::MexcRestClient::sync_clock) is
    /// called).
    pub clock_sync_interval: Option<Duration>,
    /// How long `start` waits for the first clock sync (a failure is logged, not fatal: the
    /// background sync retries).
    pub start_sync_timeout: Duration,
    /// On stop, in-flight calls may finish for up to this long (never past the stop's
    /// deadline); then they are cancelled and fail with `Closed` (or `OutcomeUnknown` for
    /// order calls that were sent).
    pub stop_drain: Duration,
    /// The HTTP transport (default [`RestTransport::Tcp`]; a simulation passes its own).
    pub transport: RestTransport,
    /// The local wall clock signed requests' `timestamp` starts from (default the system's; a
    /// simulation passes its own).
    pub clock: WallClock,
}

impl MexcRestConfig {
    /// Defaults for a venue at `base_url` (spot and futures on the same base).
    pub fn new(base_url: impl Into<String>) -> Self {
        let base_url = base_url.into();
        Self {
            name: "rest.mexc".to_owned(),
            futures_base_url: base_url.clone(),
            base_url,
            credentials: None,
            recv_window: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_rate_limit_wait: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(60),
            pool_max_idle_per_host: 8,
            clock_sync_interval: Some(Duration::from_secs(300)),
            start_sync_timeout: Duration::from_secs(3),
            stop_drain: Duration::from_secs(1),
            transport: RestTransport::Tcp,
            clock: WallClock::system(),
        }
    }

    /// Real MEXC (`https://api.mexc.com`, futures at `https://contract.mexc.com`).
    pub fn mexc() -> Self {
        let mut config = Self::new(MEXC_SPOT_URL);
        config.futures_base_url = MEXC_FUTURES_URL.to_owned();
        config
    }

    /// Sets the credentials.
    #[must_use]
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sets the whole-request timeout.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the component name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}
