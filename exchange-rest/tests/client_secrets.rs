//! The API secret appears in no `Debug` output and in no log line, even at TRACE level and
//! through errors.

use std::sync::Arc;
use std::time::Duration;

use exchange_rest::{
    ApiSecret, Credentials, MexcRestClient, MexcRestConfig, NewOrderRequest, RateLimiter, Side,
    Signer, mexc_spot_limits,
};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
use lifecycle_core::AsyncResource;
use rust_decimal::Decimal;
use tokio::time::timeout;

#[test]
fn debug_output_never_shows_the_secret() {
    let credentials = Credentials::new(DEMO_API_KEY, DEMO_API_SECRET);
    let outputs = [
        format!("{credentials:?}"),
        format!("{:?}", credentials.secret()),
        format!(
            "{:#?}",
            MexcRestConfig::new("http://127.0.0.1:1").credentials(credentials.clone())
        ),
        format!("{:?}", Signer::new(credentials.secret())),
        format!("{:?}", ApiSecret::new(DEMO_API_SECRET)),
    ];
    for output in &outputs {
        assert!(!output.contains(DEMO_API_SECRET), "{output}");
        assert!(!output.contains(&DEMO_API_SECRET[..8]), "{output}");
    }
    assert!(
        outputs[0].contains(DEMO_API_KEY),
        "the API key is not secret"
    );
}

/// Every line the test's thread logged, at every level (tracing-test's `no-env-filter`),
/// the REST client's and the venue's alike: the runtime is current-thread.
#[test]
#[tracing_test::traced_test]
fn logs_never_show_the_secret() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        timeout(Duration::from_secs(10), async {
            let venue = SimVenue::start(SimConfig::paused()).await.unwrap();
            let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("rate_limiter.mexc")));
            let config = MexcRestConfig::new(venue.rest_url())
                .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET));
            let client = MexcRestClient::new(config, limiter.clone()).unwrap();
            limiter.start().await.unwrap();
            client.start().await.unwrap();
            client.account().await.unwrap();
            let order = NewOrderRequest::limit(
                "HIFIUSDT",
                Side::Buy,
                Decimal::new(9, 2),
                Decimal::from(10_000_000),
            );
            let error = client.place_order(&order).await.unwrap_err();
            tracing::error!(?error, ?client, "logging the error and the client");
            venue.faults().fail_next_rest(1, 429, None);
            assert!(client.ping().await.is_err());
            assert!(client.stop_within(Duration::from_secs(1)).await.is_clean());
            assert!(limiter.stop_within(Duration::from_secs(1)).await.is_clean());
            venue.stop_within(Duration::from_secs(1)).await;
        })
        .await
        .expect("timed out");
    });
    let logs = test_support::captured_logs!();
    assert!(
        logs.contains("REST call"),
        "the capture works: {} bytes",
        logs.len()
    );
    assert!(logs.contains("rate limited by the venue"));
    assert!(!logs.contains(DEMO_API_SECRET));
    assert!(!logs.contains(&DEMO_API_SECRET[..8]));
}
