//! [`MexcRestClient`]: the signed MEXC REST client, an [`AsyncResource`].

mod api;
mod call;
mod config;
mod in_flight;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hyper::header::HeaderValue;
use lifecycle_core::{
    AsyncResource, BoxFuture, Lifecycle, ShutdownSignal, StartError, StopDetails, StopReport,
};
use tokio::sync::Notify;
use tokio::time::Instant;
use url::Url;

pub use config::{MEXC_FUTURES_URL, MEXC_SPOT_URL, MexcRestConfig};

use crate::endpoint::{Endpoint, Host};
use crate::limiter::{LimiterConfigError, RateLimiter};
use crate::mexc_limits::EndpointDraws;
use crate::server_clock::ServerClock;
use crate::signing::Signer;
use crate::transport::{HttpTransport, TransportSettings};
use in_flight::InFlight;

/// Why a client could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientBuildError {
    /// A base URL does not parse.
    #[error("invalid base URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The API key cannot be sent as a header.
    #[error("the API key contains characters not allowed in a header")]
    InvalidApiKey,
    /// The rate limiter lacks a bucket for an endpoint.
    #[error("rate limiter: {0}")]
    Limiter(#[from] LimiterConfigError),
    /// The HTTP client could not be built (TLS set-up).
    #[error("HTTP client: {0}")]
    Http(String),
}

/// Counters of a client, readable from code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Calls sent to the venue.
    pub sent: u64,
    /// Calls that ended in an error (of any kind, sent or not).
    pub failed: u64,
    /// Order calls whose outcome is unknown.
    pub outcome_unknown: u64,
    /// Calls the venue answered with 429 or 418.
    pub rate_limited_by_venue: u64,
    /// Calls cancelled in flight by stop.
    pub cancelled_by_stop: u64,
    /// Calls in flight right now.
    pub in_flight: usize,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    outcome_unknown: AtomicU64,
    rate_limited_by_venue: AtomicU64,
    cancelled_by_stop: AtomicU64,
}

/// The signed MEXC spot REST client, an [`AsyncResource`].
///
/// - hyper-util over rustls (or another [`RestTransport`](crate::RestTransport)), one pooled
///   keep-alive connection set, per-request timeouts.
/// - Every call draws its endpoint's weight from the shared [`RateLimiter`] first (start the
///   limiter before the client, stop it after); a 429/418 `Retry-After` pauses the scope.
/// - Signed calls: parameters in the query string, then `recvWindow`, `timestamp` (the
///   venue's clock, kept in sync by a background task) and `signature` last, computed over the
///   exact bytes sent.
/// - Typed requests ([`crate::request`]) and responses ([`crate::model`]); typed errors
///   ([`RestError`](crate::RestError)); order calls that fail with 5xx, a timeout or a broken
///   connection are [`RestError::OutcomeUnknown`](crate::RestError::OutcomeUnknown), never
///   "not placed".
/// - Stays fully usable until its own stop. Stop refuses new calls at once, lets calls in
///   flight finish for at most [`MexcRestConfig::stop_drain`] (and never past the deadline),
///   then cancels them (`Closed`, or `OutcomeUnknown` for order calls already sent) and closes
///   the connections.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use exchange_rest::{Credentials, MexcRestClient, MexcRestConfig, RateLimiter, mexc_spot_limits};
/// use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
/// use lifecycle_core::AsyncResource;
///
/// let venue = SimVenue::start(SimConfig::paused()).await?;
/// let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("rate_limiter.mexc")));
/// let config = MexcRestConfig::new(venue.rest_url())
///     .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET));
/// let client = MexcRestClient::new(config, limiter.clone())?;
/// limiter.start().await?;
/// client.start().await?;
///
/// let account = client.account().await?;
/// assert!(account.balance("USDT").is_some());
///
/// let client_report = client.stop_within(Duration::from_secs(1)).await;
/// let limiter_report = limiter.stop_within(Duration::from_secs(1)).await;
/// assert!(client_report.is_clean() && limiter_report.is_clean(), "{client_report}");
/// venue.stop_within(Duration::from_secs(1)).await;
/// # Ok(())
/// # }
/// ```
pub struct MexcRestClient {
    lifecycle: Lifecycle,
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    config: MexcRestConfig,
    http: Mutex<Option<HttpTransport>>,
    urls: Vec<Url>,
    signer: Option<Signer>,
    api_key: Option<HeaderValue>,
    recv_window: String,
    limiter: Arc<RateLimiter>,
    draws: EndpointDraws,
    clock: ServerClock,
    resync: Notify,
    in_flight: InFlight,
    /// Cancels calls still in flight at the end of the stop's drain period.
    abort: ShutdownSignal,
    counters: Counters,
    /// The calls as `metrics`, registered once for the client.
    metrics: crate::telemetry::RestMetrics,
}

impl fmt::Debug for MexcRestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MexcRestClient")
            .field("name", &self.lifecycle.name())
            .field("state", &self.lifecycle.state())
            .field("base_url", &self.inner.config.base_url)
            .field("signed", &self.inner.signer.is_some())
            .field("stats", &self.stats())
            .finish()
    }
}

fn parse_base(url: &str) -> Result<Url, ClientBuildError> {
    let invalid = |reason: String| ClientBuildError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    if parsed.cannot_be_a_base() || !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("not an http(s) base URL".to_owned()));
    }
    Ok(parsed)
}

impl MexcRestClient {
    /// A client for the venue in `config`, drawing on `limiter` (which must have a bucket
    /// named after every [`Endpoint`], as [`mexc_spot_limits`](crate::mexc_spot_limits)
    /// makes). Not started.
    ///
    /// # Errors
    /// An invalid base URL or API key, a limiter without the endpoint buckets, or a TLS set-up
    /// failure.
    pub fn new(
        config: MexcRestConfig,
        limiter: Arc<RateLimiter>,
    ) -> Result<Self, ClientBuildError> {
        let spot = parse_base(&config.base_url)?;
        let futures = parse_base(&config.futures_base_url)?;
        let urls = Endpoint::ALL
            .iter()
            .map(|endpoint| {
                let base = match endpoint.host() {
                    Host::Spot => &spot,
                    Host::Futures => &futures,
                };
                base.join(endpoint.path())
                    .map_err(|e| ClientBuildError::InvalidUrl {
                        url: base.to_string(),
                        reason: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let draws = EndpointDraws::resolve(&limiter)?;
        let api_key = match &config.credentials {
            Some(c) => Some(
                HeaderValue::from_str(c.api_key()).map_err(|_| ClientBuildError::InvalidApiKey)?,
            ),
            None => None,
        };
        let signer = config.credentials.as_ref().map(|c| Signer::new(c.secret()));
        let http = HttpTransport::build(
            config.transport,
            TransportSettings {
                connect_timeout: config.connect_timeout,
                pool_idle_timeout: config.pool_idle_timeout,
                pool_max_idle_per_host: config.pool_max_idle_per_host,
            },
        )
        .map_err(ClientBuildError::Http)?;
        let recv_window = config.recv_window.as_millis().to_string();
        let name = config.name.clone();
        let inner = Arc::new(Inner {
            http: Mutex::new(Some(http)),
            urls,
            signer,
            api_key,
            recv_window,
            limiter,
            draws,
            clock: ServerClock::with_clock(config.clock),
            resync: Notify::new(),
            in_flight: InFlight::default(),
            abort: ShutdownSignal::new(),
            counters: Counters::default(),
            metrics: crate::telemetry::RestMetrics::register(&name),
            config,
        });
        let closing = inner.clone();
        // New calls are refused from the very moment the state says `Stopping`.
        let lifecycle = Lifecycle::builder(name)
            .on_stopping(move || closing.in_flight.close())
            .build();
        Ok(Self { lifecycle, inner })
    }

    /// The configuration.
    pub fn config(&self) -> &MexcRestConfig {
        &self.inner.config
    }

    /// The rate limiter the client draws on.
    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.inner.limiter
    }

    /// The venue's clock, as the client knows it.
    pub fn server_clock(&self) -> &ServerClock {
        &self.inner.clock
    }

    /// The counters.
    pub fn stats(&self) -> ClientStats {
        self.inner.stats()
    }

    /// Reads the venue's clock now (`GET /api/v3/time`) and returns the new offset (venue
    /// minus local, ms).
    ///
    /// # Errors
    /// As any call.
    pub async fn sync_clock(&self) -> Result<i64, crate::RestError> {
        self.inner.sync_clock().await
    }
}

impl Inner {
    fn stats(&self) -> ClientStats {
        let c = &self.counters;
        ClientStats {
            sent: c.sent.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            outcome_unknown: c.outcome_unknown.load(Ordering::Relaxed),
            rate_limited_by_venue: c.rate_limited_by_venue.load(Ordering::Relaxed),
            cancelled_by_stop: c.cancelled_by_stop.load(Ordering::Relaxed),
            in_flight: self.in_flight.count(),
        }
    }

    fn http(&self) -> Option<HttpTransport> {
        self.http
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Keeps the venue's clock in sync until the client stops: every interval, sooner when a
    /// call was refused for its timestamp, with capped backoff after failures.
    async fn clock_sync_loop(self: Arc<Self>, signal: ShutdownSignal, interval: Duration) {
        let mut backoff = lifecycle_core::Backoff::new(
            Duration::from_millis(500),
            interval.max(Duration::from_secs(1)),
        );
        let mut wait = if self.clock.is_synced() {
            interval
        } else {
            backoff.next_delay()
        };
        loop {
            tokio::select! {
                biased;
                () = signal.triggered() => return,
                () = self.resync.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
            let result = tokio::select! {
                biased;
                () = signal.triggered() => return,
                result = self.sync_clock() => result,
            };
            wait = match result {
                Ok(_) => {
                    backoff.reset();
                    interval
                }
                Err(error) => {
                    tracing::warn!(component = self.config.name.as_str(), %error, "clock sync failed");
                    backoff.next_delay()
                }
            };
        }
    }

    async fn stop_calls(&self, deadline: Instant) -> StopDetails {
        // New calls are refused already (closed at the move to `Stopping`).
        let now = Instant::now();
        let budget = deadline.saturating_duration_since(now);
        // Leave a tenth of the budget to cancel what is still in flight after the drain.
        let drain_until = now + self.config.stop_drain.min(budget - budget / 10);
        let in_flight_at_stop = self.in_flight.count();
        let mut cancelled = 0;
        if !self.in_flight.wait_idle(drain_until).await {
            cancelled = self.in_flight.count();
            self.abort.trigger();
            self.in_flight.wait_idle(deadline).await;
        }
        self.abort.trigger();
        // Dropping the client closes the pooled connections.
        self.http
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let stats = self.stats();
        let mut details = StopDetails::new()
            .counter("sent", stats.sent)
            .counter("failed", stats.failed)
            .counter("outcome_unknown", stats.outcome_unknown)
            .counter(
                "in_flight_at_stop",
                u64::try_from(in_flight_at_stop).unwrap_or(u64::MAX),
            )
            .counter(
                "cancelled_in_flight",
                u64::try_from(cancelled).unwrap_or(u64::MAX),
            );
        if stats.in_flight > 0 {
            details = details.error(format!(
                "{} call(s) still in flight at the deadline",
                stats.in_flight
            ));
        }
        details
    }
}

impl AsyncResource for MexcRestClient {
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let inner = self.inner.clone();
        Box::pin(self.lifecycle.start(|ctx| async move {
            inner.in_flight.open();
            let name = inner.config.name.as_str();
            if let (Some(interval), true) = (inner.config.clock_sync_interval, inner.signer.is_some()) {
                let first_sync = tokio::time::timeout(inner.config.start_sync_timeout, inner.sync_clock());
                // A stop during start makes it give up at once (the start is then cancelled,
                // not failed).
                let synced = tokio::select! {
                    biased;
                    () = ctx.stop_signal() => {
                        return Err(format!("{name}: start given up, a stop was requested").into());
                    }
                    synced = first_sync => synced,
                };
                match synced {
                    Ok(Ok(offset_ms)) => tracing::info!(component = name, offset_ms, "venue clock synced"),
                    Ok(Err(error)) => tracing::warn!(component = name, %error, "first clock sync failed; retrying in the background"),
                    Err(_) => tracing::warn!(component = name, "first clock sync timed out; retrying in the background"),
                }
                let signal = ctx.tasks().signal().clone();
                ctx.tasks()
                    .spawn("clock_sync", inner.clone().clock_sync_loop(signal, interval))?;
            }
            Ok(())
        }))
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let inner = self.inner.clone();
        Box::pin(self.lifecycle.stop(deadline, move |ctx| async move {
            inner.stop_calls(ctx.deadline()).await
        }))
    }
}
