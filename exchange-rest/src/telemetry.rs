//! The client's calls and the limiter's grants as `metrics` (the facade crate): registered
//! once per client or limiter, labelled `component` (its name), a no-op unless the process
//! installed a recorder.
//!
//! | name | labels | what |
//! | --- | --- | --- |
//! | `quiesce_rest_requests_total` | `component`, `outcome` | calls that ended, by [`RestOutcome`] |
//! | `quiesce_rate_limiter_grants_total` | `component` | requests granted (at once or after waiting) |
//! | `quiesce_rate_limiter_waits_total` | `component` | of those, requests that had to wait |
//! | `quiesce_rate_limiter_wait_seconds` | `component` | how long each waiting request waited (a summary: quantiles, `_sum`, `_count`) |
//! | `quiesce_rate_limiter_refusals_total` | `component` | requests refused (deadline, weight, closed) |

use metrics::{Counter, Histogram};

use crate::error::RestError;

/// REST calls that ended, by outcome.
pub const REST_REQUESTS: &str = "quiesce_rest_requests_total";
/// Requests the rate limiter granted.
pub const LIMITER_GRANTS: &str = "quiesce_rate_limiter_grants_total";
/// Granted requests that had to wait.
pub const LIMITER_WAITS: &str = "quiesce_rate_limiter_waits_total";
/// How long each granted request that had to wait waited, in seconds.
pub const LIMITER_WAIT_SECONDS: &str = "quiesce_rate_limiter_wait_seconds";
/// Requests the rate limiter refused.
pub const LIMITER_REFUSALS: &str = "quiesce_rate_limiter_refusals_total";

/// How a REST call ended: the `outcome` label of [`REST_REQUESTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RestOutcome {
    /// Answered with success.
    Ok,
    /// The venue answered with a refusal (its `{"code","msg"}`: rejected order, unknown order,
    /// authentication, timestamp, listen keys).
    Rejected,
    /// Rate limited, by the venue (429, 418) or by our own limiter.
    RateLimited,
    /// The venue failed (5xx) on a call that does not change orders.
    ServerError,
    /// An order call whose outcome is unknown (5xx, timeout, cut by the stop): reconciled.
    OutcomeUnknown,
    /// No answer in time.
    Timeout,
    /// The connection failed.
    Transport,
    /// An answer that could not be decoded.
    Decode,
    /// The client was stopped, or not started.
    Closed,
    /// Refused before sending: no credentials for a signed call, an invalid request.
    Invalid,
}

impl RestOutcome {
    /// Every outcome, in label order.
    pub const ALL: [Self; 10] = [
        Self::Ok,
        Self::Rejected,
        Self::RateLimited,
        Self::ServerError,
        Self::OutcomeUnknown,
        Self::Timeout,
        Self::Transport,
        Self::Decode,
        Self::Closed,
        Self::Invalid,
    ];

    /// The label value (`ok`, `rejected`, `rate_limited`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Rejected => "rejected",
            Self::RateLimited => "rate_limited",
            Self::ServerError => "server_error",
            Self::OutcomeUnknown => "outcome_unknown",
            Self::Timeout => "timeout",
            Self::Transport => "transport",
            Self::Decode => "decode",
            Self::Closed => "closed",
            Self::Invalid => "invalid",
        }
    }

    /// The outcome of a call that ended with `error`.
    pub fn of(error: &RestError) -> Self {
        match error {
            RestError::Closed | RestError::NotStarted => Self::Closed,
            RestError::MissingCredentials | RestError::InvalidRequest(_) => Self::Invalid,
            RestError::RateLimited { .. } => Self::RateLimited,
            RestError::Authentication(_)
            | RestError::Timestamp(_)
            | RestError::InsufficientFunds(_)
            | RestError::InvalidOrder(_)
            | RestError::UnknownOrder(_)
            | RestError::ListenKeyInvalid(_)
            | RestError::ListenKeyLimit(_)
            | RestError::Rejected(_) => Self::Rejected,
            RestError::OutcomeUnknown { .. } => Self::OutcomeUnknown,
            RestError::Server { .. } => Self::ServerError,
            RestError::Timeout => Self::Timeout,
            RestError::Transport(_) => Self::Transport,
            RestError::Decode { .. } => Self::Decode,
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|o| *o == self).unwrap_or(0)
    }
}

/// One client's call counters, one per outcome, registered at once.
#[derive(Debug)]
pub(crate) struct RestMetrics {
    requests: [Counter; RestOutcome::ALL.len()],
}

impl RestMetrics {
    pub(crate) fn register(component: &str) -> Self {
        metrics::describe_counter!(REST_REQUESTS, "REST calls that ended, by outcome");
        Self {
            requests: RestOutcome::ALL.map(|outcome| {
                metrics::counter!(
                    REST_REQUESTS,
                    "component" => component.to_owned(),
                    "outcome" => outcome.as_str()
                )
            }),
        }
    }

    /// Counts a call that ended as `outcome`.
    #[inline]
    pub(crate) fn ended(&self, outcome: RestOutcome) {
        self.requests[outcome.index()].increment(1);
    }
}

/// One limiter's counters.
#[derive(Debug)]
pub(crate) struct LimiterMetrics {
    pub(crate) grants: Counter,
    pub(crate) waits: Counter,
    pub(crate) wait_seconds: Histogram,
    pub(crate) refusals: Counter,
}

impl LimiterMetrics {
    pub(crate) fn register(component: &str) -> Self {
        metrics::describe_counter!(LIMITER_GRANTS, "Requests the rate limiter granted");
        metrics::describe_counter!(LIMITER_WAITS, "Granted requests that had to wait");
        metrics::describe_histogram!(
            LIMITER_WAIT_SECONDS,
            metrics::Unit::Seconds,
            "How long granted requests that had to wait waited"
        );
        metrics::describe_counter!(LIMITER_REFUSALS, "Requests the rate limiter refused");
        let counter =
            |name: &'static str| metrics::counter!(name, "component" => component.to_owned());
        Self {
            grants: counter(LIMITER_GRANTS),
            waits: counter(LIMITER_WAITS),
            wait_seconds: metrics::histogram!(LIMITER_WAIT_SECONDS, "component" => component.to_owned()),
            refusals: counter(LIMITER_REFUSALS),
        }
    }
}

impl LimiterMetrics {
    /// Counts a request granted after waiting `Ok(waited)` (zero: at once), or refused.
    #[inline]
    pub(crate) fn count<E>(&self, result: Result<std::time::Duration, &E>) {
        match result {
            Ok(waited) => {
                self.grants.increment(1);
                if !waited.is_zero() {
                    self.waits.increment(1);
                    self.wait_seconds.record(waited.as_secs_f64());
                }
            }
            Err(_) => self.refusals.increment(1),
        }
    }
}
