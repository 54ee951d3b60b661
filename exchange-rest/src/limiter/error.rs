//! The limiter's errors.

use std::time::Duration;

/// Why [`RateLimiter::acquire`](super::RateLimiter::acquire) (or `try_acquire`) did not grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AcquireError {
    /// The limiter is stopping or stopped: nothing more is granted (waiters get this at once).
    #[error("rate limiter closed")]
    Closed,
    /// The limiter was not started yet.
    #[error("rate limiter not started")]
    NotStarted,
    /// The request could not be granted by the caller's deadline (decided at once when even
    /// the earliest possible grant is later than the deadline).
    #[error("rate limit: no capacity before the deadline (earliest in {earliest:?})")]
    DeadlineExceeded {
        /// How long from the refusal until the earliest possible grant, if known.
        earliest: Option<Duration>,
    },
    /// The request weighs more than a bucket's whole limit: it can never be granted.
    #[error("rate limit: request weight exceeds a bucket's limit")]
    Unsatisfiable,
    /// `try_acquire` only: the request would have to wait (or must queue behind waiters).
    #[error("rate limit: would have to wait")]
    WouldWait,
}

/// An invalid limiter configuration or draw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimiterConfigError {
    /// Two buckets share a name.
    #[error("duplicate bucket name {0:?}")]
    DuplicateBucket(String),
    /// A bucket with a zero limit or zero window.
    #[error("bucket {0:?} has a zero limit or window")]
    EmptyBucket(String),
    /// More buckets than one limiter supports (128).
    #[error("too many buckets (at most 128)")]
    TooManyBuckets,
    /// A draw names a bucket the limiter does not have.
    #[error("unknown bucket index {0}")]
    UnknownBucket(usize),
    /// A bucket name that the limiter does not have.
    #[error("unknown bucket {0:?}")]
    UnknownBucketName(String),
    /// A draw from more buckets than supported (4).
    #[error("a draw may take from at most 4 buckets")]
    TooManyBucketsInDraw,
}
