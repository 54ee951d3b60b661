//! The client's calls by outcome and the limiter's grants, waits and refusals reach a
//! `metrics` recorder (here a Prometheus one of the test's own), labelled by component.

use std::sync::Arc;
use std::time::Duration;

use exchange_rest::limiter::{BucketSpec, RateLimiter, RateLimiterConfig, Scope};
use exchange_rest::telemetry::{
    LIMITER_GRANTS, LIMITER_REFUSALS, LIMITER_WAIT_SECONDS, LIMITER_WAITS, REST_REQUESTS,
    RestOutcome,
};
use exchange_rest::{
    Credentials, MexcRestClient, MexcRestConfig, OrderRef, RestError, mexc_spot_limits,
};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
use lifecycle_core::AsyncResource;
use lifecycle_core::testing::within;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use tokio::time::Instant;

fn recorder() -> (PrometheusRecorder, PrometheusHandle) {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    (recorder, handle)
}

use test_support::prometheus_sample as sample;

#[tokio::test(start_paused = true)]
async fn the_limiter_counts_grants_waits_and_refusals() {
    within(Duration::from_secs(10), async {
        let (recorder, handle) = recorder();
        let mut config = RateLimiterConfig::new("rate_limiter.metrics");
        let ip = config
            .add(BucketSpec::new("ip", Scope::Ip, 1, Duration::from_secs(1)))
            .unwrap();
        let limiter = Arc::new(metrics::with_local_recorder(&recorder, || {
            RateLimiter::new(config)
        }));
        limiter.start().await.unwrap();
        let draw = limiter.draw(&[(ip, 1)]).unwrap();
        let now = Instant::now();
        limiter.acquire(&draw, now).await.unwrap();
        // Waits for the window to slide.
        let grant = limiter
            .acquire(&draw, now + Duration::from_secs(5))
            .await
            .unwrap();
        assert!(!grant.waited.is_zero());
        // Refused: no grant possible by a deadline of now.
        assert!(limiter.acquire(&draw, Instant::now()).await.is_err());
        assert!(limiter.try_acquire(&draw).is_err());
        handle.run_upkeep();
        let scrape = handle.render();
        let labels = r#"component="rate_limiter.metrics""#;
        assert_eq!(sample(&scrape, LIMITER_GRANTS, labels), 2.0);
        assert_eq!(sample(&scrape, LIMITER_WAITS, labels), 1.0);
        assert_eq!(sample(&scrape, LIMITER_REFUSALS, labels), 2.0);
        let waited = sample(&scrape, &format!("{LIMITER_WAIT_SECONDS}_sum"), labels);
        assert!(
            (waited - grant.waited.as_secs_f64()).abs() < 1e-6,
            "{scrape}"
        );
        let _ = limiter.stop_within(Duration::from_secs(1)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_calls_are_counted_by_outcome() {
    within(Duration::from_secs(30), async {
        let venue = SimVenue::start(SimConfig::paused()).await.unwrap();
        let (recorder, handle) = recorder();
        let (limiter, client) = metrics::with_local_recorder(&recorder, || {
            let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("rate_limiter.mexc")));
            let config = MexcRestConfig::new(venue.rest_url())
                .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET));
            let client = MexcRestClient::new(config, limiter.clone()).unwrap();
            (limiter, client)
        });
        limiter.start().await.unwrap();
        client.start().await.unwrap();
        client.server_time().await.unwrap();
        let unknown = client
            .cancel_order(
                "HIFIUSDT",
                OrderRef::ClientOrderId("never-placed".to_owned()),
            )
            .await
            .unwrap_err();
        assert_eq!(RestOutcome::of(&unknown), RestOutcome::Rejected);
        venue.faults().fail_next_rest(1, 503, Some("/api/v3/time"));
        let failed = client.server_time().await.unwrap_err();
        assert!(matches!(failed, RestError::Server { .. }), "{failed}");
        let _ = client.stop_within(Duration::from_secs(1)).await;
        assert!(client.server_time().await.is_err());
        let scrape = handle.render();
        let count = |outcome: RestOutcome| {
            let labels = format!(r#"component="rest.mexc",outcome="{}""#, outcome.as_str());
            sample(&scrape, REST_REQUESTS, &labels)
        };
        // The start's own calls (server time) count as ok too.
        assert!(count(RestOutcome::Ok) >= 1.0, "{scrape}");
        assert_eq!(count(RestOutcome::Rejected), 1.0);
        assert_eq!(count(RestOutcome::ServerError), 1.0);
        assert_eq!(count(RestOutcome::Closed), 1.0);
        assert_eq!(count(RestOutcome::Timeout), 0.0);
        // Every outcome is registered at once: a dashboard sees zeros, not gaps.
        for outcome in RestOutcome::ALL {
            count(outcome);
        }
        let _ = limiter.stop_within(Duration::from_secs(1)).await;
        venue.shutdown().await;
    })
    .await;
}
