//! The exchange rate limiter: weighted sliding-window buckets per scope (IP, account,
//! endpoint), atomic multi-bucket draws, FIFO-fair bounded waiting, `Retry-After` pauses, and a
//! prompt, typed `Closed` for every waiter on stop.
//!
//! See [`RateLimiter`].

mod bucket_set;
mod config;
mod draw;
mod error;
mod state;
mod stats;
mod window;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::telemetry::LimiterMetrics;
use lifecycle_core::{AsyncResource, BoxFuture, Lifecycle, StartError, StopDetails, StopReport};
use tokio::time::Instant;

pub use config::{BucketId, BucketSpec, RateLimiterConfig, Scope};
pub use draw::{Draw, MAX_BUCKETS_PER_DRAW};
pub use error::{AcquireError, LimiterConfigError};
pub use stats::{BucketStats, LimiterStats};

use state::{Admission, LimiterState, Next, Outcome, Phase, WaiterSlot};
use window::Nanos;

/// A successful grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// How long the request waited for it (zero on the fast path).
    pub waited: Duration,
}

/// The exchange rate limiter, an [`AsyncResource`]. Its stop wakes every waiting call with a
/// prompt, typed [`AcquireError::Closed`] (a cancelled wait never turns into a request sent
/// during shutdown, around the limit), and only the holder of a draw gives it back, so a stop
/// never corrupts the accounting.
///
/// - **Buckets** allow a weight per window (exact sliding windows: never over the limit in any
///   window), each with a [`Scope`]. A [`Draw`] takes weights from up to four buckets **all or
///   nothing**.
/// - **Waiting** is FIFO-fair per bucket (a request never overtakes an earlier waiter on a
///   bucket they share, even if its own buckets have room: no starvation of heavy or
///   multi-bucket requests; requests on other buckets are not held up) and bounded by the
///   caller's deadline (refused at once if even the earliest possible grant is too late).
/// - **Pauses**: [`RateLimiter::pause_scope`] applies a venue's `Retry-After` to a whole scope.
/// - **Stop** closes the limiter: every waiter is woken at once with [`AcquireError::Closed`],
///   and nothing is granted after it. There are no permits to "force release": a grant is a
///   record in a window, which expires by itself.
/// - The uncontended path is one uncontended lock, no allocation, no timer, and (mostly) no
///   clock read.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use exchange_rest::limiter::{AcquireError, BucketSpec, RateLimiter, RateLimiterConfig, Scope};
/// use lifecycle_core::AsyncResource;
/// use tokio::time::Instant;
///
/// let mut config = RateLimiterConfig::new("rate_limiter.example");
/// let ip = config.add(BucketSpec::new("ip", Scope::Ip, 2, Duration::from_secs(10))).unwrap();
/// let limiter = RateLimiter::new(config);
/// limiter.start().await.unwrap();
///
/// let draw = limiter.draw(&[(ip, 1)]).unwrap();
/// let soon = Instant::now() + Duration::from_millis(100);
/// limiter.acquire(&draw, soon).await.unwrap();
/// limiter.acquire(&draw, soon).await.unwrap();
/// // The third would have to wait 10 s: refused at once, the deadline is too close.
/// assert!(matches!(limiter.acquire(&draw, soon).await, Err(AcquireError::DeadlineExceeded { .. })));
///
/// assert!(limiter.stop_within(Duration::from_secs(1)).await.is_clean());
/// assert_eq!(limiter.acquire(&draw, soon).await, Err(AcquireError::Closed));
/// assert_eq!(limiter.stats().granted, 2);
/// # }
/// ```
#[doc(alias = "BaseExchangeRateLimit")]
#[doc(alias = "rate_limit")]
pub struct RateLimiter {
    lifecycle: Lifecycle,
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<LimiterState>,
    epoch: Instant,
    /// Waiters woken with `Closed` when the limiter began to stop.
    waiters_closed: AtomicU64,
    /// Grants, waits and refusals as `metrics`, registered once for the limiter.
    metrics: LimiterMetrics,
    config: RateLimiterConfig,
}

impl Shared {
    #[inline]
    fn lock(&self) -> MutexGuard<'_, LimiterState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> Nanos {
        self.nanos(Instant::now())
    }

    fn nanos(&self, at: Instant) -> Nanos {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn instant(&self, at: Nanos) -> Option<Instant> {
        self.epoch.checked_add(Duration::from_nanos(at))
    }

    fn close(&self) -> (usize, LimiterStats) {
        let mut state = self.lock();
        let woken = state.close();
        (woken, stats_of(&state))
    }
}

fn stats_of(state: &LimiterState) -> LimiterStats {
    let c = state.counters;
    LimiterStats {
        granted: c.granted,
        waited: c.waited,
        total_wait: Duration::from_nanos(c.wait_ns),
        rejected: c.rejected,
        closed: c.closed,
        pauses: c.pauses,
        queued: state.queued(),
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("name", &self.lifecycle.name())
            .field("state", &self.lifecycle.state())
            .field("buckets", &self.shared.config.buckets.len())
            .field("stats", &self.stats())
            .finish()
    }
}

impl RateLimiter {
    /// A limiter with these buckets (not started: it grants nothing before
    /// [`AsyncResource::start`]).
    pub fn new(config: RateLimiterConfig) -> Self {
        let state = LimiterState::new(&config);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            epoch: Instant::now(),
            waiters_closed: AtomicU64::new(0),
            metrics: LimiterMetrics::register(&config.name),
            config,
        });
        let closing = shared.clone();
        // Closed at the very moment the state becomes `Stopping`: nothing is granted after it,
        // and every waiter gets `Closed` at once.
        let lifecycle = Lifecycle::builder(closing.config.name.clone())
            .on_stopping(move || {
                let (woken, _) = closing.close();
                closing
                    .waiters_closed
                    .store(u64::try_from(woken).unwrap_or(u64::MAX), Ordering::Relaxed);
            })
            .build();
        Self { lifecycle, shared }
    }

    /// The configuration.
    pub fn config(&self) -> &RateLimiterConfig {
        &self.shared.config
    }

    /// The id of the bucket named `name`.
    pub fn bucket(&self, name: &str) -> Option<BucketId> {
        self.shared.config.find(name)
    }

    /// A draw of these weights from these buckets (resolve it once, reuse it per request).
    ///
    /// # Errors
    /// An unknown bucket, or more than [`MAX_BUCKETS_PER_DRAW`] buckets.
    pub fn draw(&self, parts: &[(BucketId, u32)]) -> Result<Draw, LimiterConfigError> {
        Draw::new(parts, self.shared.config.buckets.len())
    }

    /// Grants `draw` now or refuses: never waits.
    ///
    /// # Errors
    /// [`AcquireError::WouldWait`] if it would have to wait or queue behind waiters;
    /// `Closed`, `NotStarted`, `Unsatisfiable` as [`RateLimiter::acquire`].
    #[inline]
    pub fn try_acquire(&self, draw: &Draw) -> Result<(), AcquireError> {
        let mut state = self.shared.lock();
        if state.grant_without_clock(draw) {
            drop(state);
            self.shared.metrics.grants.increment(1);
            return Ok(());
        }
        let now = self.shared.now();
        let result = match state.admit(now, draw, now, false) {
            Admission::Granted => Ok(()),
            Admission::Rejected { .. } | Admission::Queued { .. } => Err(AcquireError::WouldWait),
            Admission::Unsatisfiable => Err(AcquireError::Unsatisfiable),
            Admission::Closed => Err(AcquireError::Closed),
            Admission::NotStarted => Err(AcquireError::NotStarted),
        };
        drop(state);
        self.shared
            .metrics
            .count(result.as_ref().map(|()| Duration::ZERO));
        result
    }

    /// Grants `draw`, waiting in FIFO order if needed, but not past `deadline`.
    ///
    /// # Errors
    /// - [`AcquireError::Closed`]: the limiter is stopping or stopped (waiters get it at once).
    /// - [`AcquireError::DeadlineExceeded`]: no grant possible by `deadline`.
    /// - [`AcquireError::Unsatisfiable`]: a weight exceeds its bucket's limit.
    /// - [`AcquireError::NotStarted`].
    ///
    /// # Cancel safety
    /// Cancel safe: a dropped waiter leaves the queue (a grant it had just received stays
    /// counted, which errs on the safe side).
    pub async fn acquire(&self, draw: &Draw, deadline: Instant) -> Result<Grant, AcquireError> {
        let admission = {
            let mut state = self.shared.lock();
            if state.grant_without_clock(draw) {
                drop(state);
                self.shared.metrics.grants.increment(1);
                return Ok(Grant {
                    waited: Duration::ZERO,
                });
            }
            let now = self.shared.now();
            state.admit(now, draw, self.shared.nanos(deadline), true)
        };
        let result = match admission {
            Admission::Granted => Ok(Grant {
                waited: Duration::ZERO,
            }),
            // Boxed so that the fast path's future stays small (waiting allocates anyway).
            Admission::Queued { id, slot } => Box::pin(self.wait(id, slot, deadline)).await,
            Admission::Rejected { earliest } => Err(self.deadline_exceeded(earliest)),
            Admission::Unsatisfiable => Err(AcquireError::Unsatisfiable),
            Admission::Closed => Err(AcquireError::Closed),
            Admission::NotStarted => Err(AcquireError::NotStarted),
        };
        self.shared
            .metrics
            .count(result.as_ref().map(|grant| grant.waited));
        result
    }

    async fn wait(
        &self,
        id: u64,
        slot: Arc<WaiterSlot>,
        deadline: Instant,
    ) -> Result<Grant, AcquireError> {
        let enqueued = Instant::now();
        let mut queued = QueuedWaiter {
            shared: &self.shared,
            id,
            armed: true,
        };
        let deadline_nanos = self.shared.nanos(deadline);
        loop {
            match slot.outcome() {
                Outcome::Granted => {
                    queued.armed = false;
                    return Ok(Grant {
                        waited: enqueued.elapsed(),
                    });
                }
                Outcome::Closed => {
                    queued.armed = false;
                    return Err(AcquireError::Closed);
                }
                Outcome::Pending => {}
            }
            let next = {
                let mut state = self.shared.lock();
                if state.phase == Phase::Closed {
                    // Closed between the outcome check and the lock: the slot says so now.
                    Next::Done
                } else {
                    let now = self.shared.now();
                    state.next_step(id, now, deadline_nanos)
                }
            };
            let wake_at = match next {
                Next::Done => {
                    if slot.outcome() == Outcome::Pending {
                        queued.armed = false;
                        return Err(AcquireError::Closed);
                    }
                    continue;
                }
                Next::SleepUntil(at) => self
                    .shared
                    .instant(at)
                    .map_or(deadline, |at| at.min(deadline)),
                Next::WaitForTurn => deadline,
                Next::Rejected { earliest } => {
                    queued.armed = false;
                    return Err(self.deadline_exceeded(earliest));
                }
            };
            tokio::select! {
                biased;
                () = slot.notify.notified() => {}
                () = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    fn deadline_exceeded(&self, earliest: Option<Nanos>) -> AcquireError {
        let now = self.shared.now();
        AcquireError::DeadlineExceeded {
            earliest: earliest.map(|at| Duration::from_nanos(at.saturating_sub(now))),
        }
    }

    /// Pauses every bucket of `scope` for `duration` (a venue's `Retry-After`): nothing in the
    /// scope is granted until it ends; waiters whose deadline comes first are refused.
    pub fn pause_scope(&self, scope: Scope, duration: Duration) {
        self.pause(Some(scope), duration);
    }

    /// Pauses every bucket for `duration` (an IP ban, HTTP 418).
    pub fn pause_all(&self, duration: Duration) {
        self.pause(None, duration);
    }

    fn pause(&self, scope: Option<Scope>, duration: Duration) {
        let mut state = self.shared.lock();
        let now = self.shared.now();
        let until = now.saturating_add(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX));
        state.pause(scope, until);
        tracing::warn!(
            component = self.lifecycle.name(),
            ?scope,
            pause_ms = duration.as_millis(),
            "rate limiter paused by the venue"
        );
    }

    /// The counters.
    pub fn stats(&self) -> LimiterStats {
        stats_of(&self.shared.lock())
    }

    /// Each bucket's usage and pause, in id order.
    pub fn bucket_stats(&self) -> Vec<BucketStats> {
        let state = self.shared.lock();
        let now = self.shared.now();
        self.shared
            .config
            .buckets
            .iter()
            .zip(state.bucket_usage())
            .map(|(spec, (used, limit, paused_until))| BucketStats {
                name: spec.name.clone(),
                used,
                limit,
                paused_for: (paused_until > now).then(|| Duration::from_nanos(paused_until - now)),
            })
            .collect()
    }
}

/// Removes a waiter that gave up (or whose future was dropped) from the queue.
struct QueuedWaiter<'a> {
    shared: &'a Shared,
    id: u64,
    armed: bool,
}

impl Drop for QueuedWaiter<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut state = self.shared.lock();
            let now = self.shared.now();
            state.remove(self.id, now);
        }
    }
}

impl AsyncResource for RateLimiter {
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let shared = self.shared.clone();
        Box::pin(self.lifecycle.start(|_ctx| async move {
            let mut state = shared.lock();
            if state.phase == Phase::NotStarted {
                state.phase = Phase::Open;
            }
            Ok(())
        }))
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let shared = self.shared.clone();
        Box::pin(self.lifecycle.stop(deadline, move |_ctx| async move {
            // Closed already (at the move to `Stopping`); this only reads the final counters.
            let (_, stats) = shared.close();
            let woken = shared.waiters_closed.load(Ordering::Relaxed);
            let total_wait_ms = u64::try_from(stats.total_wait.as_millis()).unwrap_or(u64::MAX);
            StopDetails::new()
                .counter("granted", stats.granted)
                .counter("waited", stats.waited)
                .counter("wait_ms", total_wait_ms)
                .counter("rejected", stats.rejected)
                .counter("pauses", stats.pauses)
                .counter("waiters_closed", woken)
        }))
    }
}
