//! Counters of a [`RateLimiter`](super::RateLimiter), readable from code.

use std::time::Duration;

/// A snapshot of the limiter's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimiterStats {
    /// Requests granted (at once or after waiting).
    pub granted: u64,
    /// Of those, requests that had to wait.
    pub waited: u64,
    /// Total time granted requests spent waiting.
    pub total_wait: Duration,
    /// Requests refused: deadline too close, weight over a limit, or `try_acquire` that would
    /// have had to wait.
    pub rejected: u64,
    /// Requests refused because the limiter was closed (waiters woken by stop included).
    pub closed: u64,
    /// `Retry-After` pauses applied.
    pub pauses: u64,
    /// Requests waiting right now.
    pub queued: usize,
}

/// The state of one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketStats {
    /// The bucket's name.
    pub name: String,
    /// Weight counted in the current window (an upper bound: grants not yet known to have
    /// left the window are still counted).
    pub used: u64,
    /// The bucket's limit.
    pub limit: u64,
    /// How long it stays paused, if it is.
    pub paused_for: Option<Duration>,
}
