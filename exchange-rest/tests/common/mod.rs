//! Shared helpers of the integration tests.
#![allow(unreachable_pub)]

use std::sync::Arc;

use exchange_rest::{Credentials, MexcRestClient, MexcRestConfig, RateLimiter, mexc_spot_limits};
use lifecycle_core::AsyncResource;

/// A started client (with made-up credentials, no clock sync) and its started limiter,
/// pointed at a local stub server.
pub async fn client_of_stub(url: String) -> (MexcRestClient, Arc<RateLimiter>) {
    let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("rate_limiter.mexc")));
    let mut config = MexcRestConfig::new(url).credentials(Credentials::new("key", "secret"));
    config.clock_sync_interval = None;
    let client = MexcRestClient::new(config, limiter.clone()).unwrap();
    limiter.start().await.unwrap();
    client.start().await.unwrap();
    (client, limiter)
}
