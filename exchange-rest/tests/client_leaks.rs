//! After stop, nothing of the client is left running: its clock task is stopped and its pooled
//! connections are closed (the runtime's live task count returns to where it was).

use std::sync::Arc;
use std::time::Duration;

use exchange_rest::{Credentials, MexcRestClient, MexcRestConfig, RateLimiter, mexc_spot_limits};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
use lifecycle_core::AsyncResource;
use tokio::runtime::Handle;
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_task_outlives_the_client() {
    timeout(Duration::from_secs(10), async {
        let metrics = Handle::current().metrics();
        let venue = SimVenue::start(SimConfig::paused()).await.unwrap();
        let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("rate_limiter.mexc")));
        let config = MexcRestConfig::new(venue.rest_url())
            .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET));
        let client = Arc::new(MexcRestClient::new(config, limiter.clone()).unwrap());
        limiter.start().await.unwrap();
        let before_client = metrics.num_alive_tasks();
        client.start().await.unwrap();
        // Concurrent calls open several pooled connections.
        let calls: Vec<_> = (0..4)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.account().await.map(|_| ()) })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert!(
            metrics.num_alive_tasks() > before_client,
            "clock task and connections live"
        );

        let report = client.stop_within(Duration::from_secs(1)).await;
        assert!(report.is_clean(), "{report}");
        assert_eq!(
            report.tasks.as_ref().map(|t| t.counts.stopped),
            Some(1),
            "the clock task"
        );
        // Connection tasks end once the pool is dropped (polled, bounded by the timeout).
        while metrics.num_alive_tasks() > before_client {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(limiter.stop_within(Duration::from_secs(1)).await.is_clean());
        venue.stop_within(Duration::from_secs(1)).await;
    })
    .await
    .expect("timed out: tasks outlived the client");
}
