//! MEXC's published REST limits as a [`RateLimiterConfig`], and each endpoint's [`Draw`].

use std::time::Duration;

use crate::endpoint::Endpoint;
use crate::limiter::{BucketSpec, Draw, LimiterConfigError, RateLimiter, RateLimiterConfig};

/// Weight each endpoint may use per window, per IP (public) or per account (signed).
pub const MEXC_ENDPOINT_LIMIT: u32 = 500;
/// The window of [`MEXC_ENDPOINT_LIMIT`].
pub const MEXC_ENDPOINT_WINDOW: Duration = Duration::from_secs(10);
/// The account endpoint is also limited to this many calls per second.
pub const MEXC_ACCOUNT_PER_SECOND: u32 = 2;
/// Name of the account endpoint's per-second bucket.
pub const ACCOUNT_PER_SECOND_BUCKET: &str = "GET /api/v3/account (per second)";

/// MEXC spot's published limits: one bucket per endpoint (named [`Endpoint::name`]) of
/// 500 weight per 10 s, scoped per IP for public and per account for signed endpoints, plus
/// 2 calls per second on the account endpoint.
///
/// ```
/// use exchange_rest::{Endpoint, mexc_spot_limits};
///
/// let config = mexc_spot_limits("rate_limiter.mexc");
/// assert!(config.find(Endpoint::Depth.name()).is_some());
/// assert_eq!(config.buckets().len(), Endpoint::ALL.len() + 1);
/// ```
pub fn mexc_spot_limits(name: impl Into<String>) -> RateLimiterConfig {
    let mut config = RateLimiterConfig::new(name);
    for endpoint in Endpoint::ALL {
        // Names are unique and there are fewer than 128 endpoints: this cannot fail.
        let _ = config.add(BucketSpec::new(
            endpoint.name(),
            endpoint.scope(),
            MEXC_ENDPOINT_LIMIT,
            MEXC_ENDPOINT_WINDOW,
        ));
    }
    let _ = config.add(BucketSpec::new(
        ACCOUNT_PER_SECOND_BUCKET,
        Endpoint::Account.scope(),
        MEXC_ACCOUNT_PER_SECOND,
        Duration::from_secs(1),
    ));
    config
}

/// Each endpoint's draw on a limiter configured like [`mexc_spot_limits`] (or any limiter with
/// a bucket named after every endpoint; the per-second account bucket is optional).
#[derive(Debug, Clone)]
pub struct EndpointDraws {
    draws: Vec<Draw>,
}

impl EndpointDraws {
    /// Resolves every endpoint's draw on `limiter`.
    ///
    /// # Errors
    /// [`LimiterConfigError::UnknownBucketName`] if an endpoint has no bucket.
    pub fn resolve(limiter: &RateLimiter) -> Result<Self, LimiterConfigError> {
        let draws = Endpoint::ALL
            .iter()
            .map(|&endpoint| {
                let bucket = limiter.bucket(endpoint.name()).ok_or_else(|| {
                    LimiterConfigError::UnknownBucketName(endpoint.name().to_owned())
                })?;
                let mut parts = vec![(bucket, endpoint.weight())];
                if endpoint == Endpoint::Account
                    && let Some(per_second) = limiter.bucket(ACCOUNT_PER_SECOND_BUCKET)
                {
                    parts.push((per_second, 1));
                }
                limiter.draw(&parts)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { draws })
    }

    /// The draw of `endpoint`.
    pub fn get(&self, endpoint: Endpoint) -> Option<&Draw> {
        self.draws.get(endpoint.index())
    }
}
