//! Configuration of a [`RateLimiter`](super::RateLimiter): its buckets, each with a scope and
//! a published limit.

use std::time::Duration;

use super::bucket_set::MAX_BUCKETS;
use super::error::LimiterConfigError;

/// Whose budget a bucket counts: a venue counts public calls per IP and signed calls per
/// account. A `Retry-After` pause applies to a whole scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Counted per client IP (public endpoints).
    Ip,
    /// Counted per account / API key (signed endpoints).
    Account,
}

/// One bucket: `limit` weight in any window of `window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSpec {
    /// Name, unique within the limiter (e.g. `GET /api/v3/depth`).
    pub name: String,
    /// Whose budget it is.
    pub scope: Scope,
    /// Weight allowed in any window (at least 1).
    pub limit: u32,
    /// The window length (more than zero).
    pub window: Duration,
}

impl BucketSpec {
    /// A bucket named `name` allowing `limit` weight per `window` for `scope`.
    pub fn new(name: impl Into<String>, scope: Scope, limit: u32, window: Duration) -> Self {
        Self {
            name: name.into(),
            scope,
            limit,
            window,
        }
    }
}

/// Identifies a bucket of one limiter (its index, in configuration order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketId(pub(crate) u16);

impl BucketId {
    /// The bucket's position in the configuration.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// The buckets of a [`RateLimiter`](super::RateLimiter).
///
/// ```
/// use std::time::Duration;
/// use exchange_rest::limiter::{BucketSpec, RateLimiterConfig, Scope};
///
/// let mut config = RateLimiterConfig::new("rate_limiter.example");
/// let ip = config.add(BucketSpec::new("ip", Scope::Ip, 500, Duration::from_secs(10))).unwrap();
/// assert_eq!(config.find("ip"), Some(ip));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimiterConfig {
    pub(crate) name: String,
    pub(crate) buckets: Vec<BucketSpec>,
}

impl RateLimiterConfig {
    /// An empty configuration for a limiter named `name` (its component name).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            buckets: Vec::new(),
        }
    }

    /// Adds a bucket and returns its id.
    ///
    /// # Errors
    /// A duplicate name, a zero limit or window, or more than 128 buckets.
    pub fn add(&mut self, spec: BucketSpec) -> Result<BucketId, LimiterConfigError> {
        if spec.limit == 0 || spec.window.is_zero() {
            return Err(LimiterConfigError::EmptyBucket(spec.name));
        }
        if self.find(&spec.name).is_some() {
            return Err(LimiterConfigError::DuplicateBucket(spec.name));
        }
        if self.buckets.len() >= MAX_BUCKETS {
            return Err(LimiterConfigError::TooManyBuckets);
        }
        let id =
            u16::try_from(self.buckets.len()).map_err(|_| LimiterConfigError::TooManyBuckets)?;
        self.buckets.push(spec);
        Ok(BucketId(id))
    }

    /// The id of the bucket named `name`.
    pub fn find(&self, name: &str) -> Option<BucketId> {
        let index = self.buckets.iter().position(|b| b.name == name)?;
        u16::try_from(index).ok().map(BucketId)
    }

    /// The buckets, in id order.
    pub fn buckets(&self) -> &[BucketSpec] {
        &self.buckets
    }

    /// The limiter's component name.
    pub fn name(&self) -> &str {
        &self.name
    }
}
