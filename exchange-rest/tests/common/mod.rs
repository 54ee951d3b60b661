//! Shared helpers of the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use exchange_rest::{Credentials, MexcRestClient, MexcRestConfig, RateLimiter, mexc_spot_limits};
use lifecycle_core::AsyncResource;

/// Serves `app` on an ephemeral loopback port: its base URL and the server's task.
pub async fn serve_stub(app: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, server)
}

/// A started client (with made-up credentials, no clock sync) and its started limiter,
/// pointed at a local stub server.
pub async fn client_of_stub(url: String) -> (MexcRestClient, Arc<RateLimiter>) {
    client_of_stub_with(url, |_| {}).await
}

/// As [`client_of_stub`], with `configure` applied to the client's configuration.
pub async fn client_of_stub_with(
    url: String,
    configure: impl FnOnce(&mut MexcRestConfig),
) -> (MexcRestClient, Arc<RateLimiter>) {
    let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("rate_limiter.mexc")));
    let mut config = MexcRestConfig::new(url).credentials(Credentials::new("key", "secret"));
    config.clock_sync_interval = None;
    configure(&mut config);
    let client = MexcRestClient::new(config, limiter.clone()).unwrap();
    limiter.start().await.unwrap();
    client.start().await.unwrap();
    (client, limiter)
}

/// Stops `client`, then `limiter`, each cleanly within a second.
pub async fn stop_cleanly(client: &MexcRestClient, limiter: &RateLimiter) {
    assert!(client.stop_within(Duration::from_secs(1)).await.is_clean());
    assert!(limiter.stop_within(Duration::from_secs(1)).await.is_clean());
}

/// Yields until `n` callers wait in `limiter`'s queue (yielding, not sleeping: a paused
/// clock does not move while it polls).
pub async fn wait_until_queued(limiter: &RateLimiter, n: usize) {
    while limiter.stats().queued < n {
        tokio::task::yield_now().await;
    }
}
