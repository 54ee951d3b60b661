#![allow(clippy::unwrap_used)]
//! Faults against the embedded venue: 429 with `Retry-After` honoured, 5xx and timeouts on
//! order calls reported as unknown, stop bounding calls in flight, nothing sent after stop.

use std::sync::Arc;
use std::time::Duration;

use exchange_rest::limiter::Scope;
use exchange_rest::{
    Credentials, MexcRestClient, MexcRestConfig, NewOrderRequest, OrderRef, RateLimitSource,
    RateLimiter, RestError, Side, UnknownCause, mexc_spot_limits,
};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
use lifecycle_core::testing::within;
use lifecycle_core::{AsyncResource, LifecycleState};
use rust_decimal::Decimal;
use tokio::time::Instant;

async fn setup(
    tune: impl FnOnce(&mut MexcRestConfig),
) -> (SimVenue, Arc<RateLimiter>, Arc<MexcRestClient>) {
    let venue = SimVenue::start(SimConfig::paused()).await.unwrap();
    let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("rate_limiter.mexc")));
    let mut config = MexcRestConfig::new(venue.rest_url())
        .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET));
    tune(&mut config);
    let client = Arc::new(MexcRestClient::new(config, limiter.clone()).unwrap());
    limiter.start().await.unwrap();
    client.start().await.unwrap();
    (venue, limiter, client)
}

fn bid(id: &str) -> NewOrderRequest {
    NewOrderRequest::limit_maker("HIFIUSDT", Side::Buy, Decimal::new(5, 2), Decimal::from(40))
        .client_order_id(id)
}

/// Stops everything (the client's stop is idempotent if a test stopped it already).
async fn teardown(venue: SimVenue, limiter: Arc<RateLimiter>, client: Arc<MexcRestClient>) {
    venue.faults().clear();
    assert!(client.stop_within(Duration::from_secs(1)).await.is_clean());
    assert!(limiter.stop_within(Duration::from_secs(1)).await.is_clean());
    venue.stop_within(Duration::from_secs(1)).await;
}

fn spawn_order(
    client: &Arc<MexcRestClient>,
    id: &'static str,
) -> tokio::task::JoinHandle<Result<exchange_rest::model::NewOrderAck, RestError>> {
    let client = client.clone();
    tokio::spawn(async move { client.place_order(&bid(id)).await })
}

async fn wait_in_flight(client: &MexcRestClient, n: usize) {
    while client.stats().in_flight < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn retry_after_pauses_the_scope_and_is_honoured() {
    within(Duration::from_secs(10), async {
        let (venue, limiter, client) = setup(|_| {}).await;
        venue.faults().fail_next_rest(1, 429, Some("/api/v3/depth"));
        let limited = client.depth("HIFIUSDT", Some(5)).await;
        let limited_at = Instant::now();
        assert_eq!(
            limited,
            Err(RestError::RateLimited {
                by: RateLimitSource::Venue,
                retry_after: Some(Duration::from_secs(1))
            })
        );
        let paused: Vec<_> = limiter
            .bucket_stats()
            .into_iter()
            .filter(|b| b.paused_for.is_some())
            .collect();
        let ip_buckets = limiter
            .config()
            .buckets()
            .iter()
            .filter(|b| b.scope == Scope::Ip)
            .count();
        assert_eq!(paused.len(), ip_buckets, "the whole IP scope is paused");

        // The account scope is not paused: the call does not wait on the limiter at all.
        let waited_before = limiter.stats().waited;
        client.account().await.unwrap();
        assert_eq!(
            limiter.stats().waited,
            waited_before,
            "not held by the IP scope's 1 s pause"
        );
        // The next public call waits for the pause (1 s from the 429) to end, then goes through.
        let waited_before = limiter.stats().waited;
        client.depth("HIFIUSDT", Some(5)).await.unwrap();
        assert!(
            limited_at.elapsed() >= Duration::from_millis(950),
            "{:?}",
            limited_at.elapsed()
        );
        assert_eq!(limiter.stats().waited, waited_before + 1);
        assert_eq!(client.stats().rate_limited_by_venue, 1);
        assert_eq!(limiter.stats().pauses, 1);

        // A caller whose deadline ends before the pause is refused at once, nothing sent.
        venue
            .faults()
            .fail_next_rest(1, 429, Some("/api/v3/ticker/bookTicker"));
        assert!(client.book_ticker("HIFIUSDT").await.is_err());
        let sent = client.stats().sent;
        let soon = Instant::now() + Duration::from_millis(100);
        let refused = client
            .execute_until(&exchange_rest::request::Ping, soon)
            .await;
        assert!(
            matches!(
                refused,
                Err(RestError::RateLimited {
                    by: RateLimitSource::Local,
                    ..
                })
            ),
            "{refused:?}"
        );
        assert_eq!(client.stats().sent, sent);
        teardown(venue, limiter, client).await;
    })
    .await;
}

#[tokio::test]
async fn server_errors_on_order_calls_are_outcome_unknown() {
    within(Duration::from_secs(10), async {
        let (venue, limiter, client) = setup(|_| {}).await;
        venue.faults().fail_next_rest(1, 503, Some("/api/v3/order"));
        let placed = client.place_order(&bid("unknown-1")).await;
        match &placed {
            Err(
                e @ RestError::OutcomeUnknown {
                    cause: UnknownCause::ServerError { status: 503, .. },
                    ..
                },
            ) => {
                assert!(e.is_outcome_unknown());
            }
            other => panic!("expected an unknown outcome, got {other:?}"),
        }
        venue
            .faults()
            .fail_next_rest(1, 500, Some("/api/v3/openOrders"));
        assert!(matches!(
            client.cancel_all_orders(&["HIFIUSDT"]).await,
            Err(RestError::OutcomeUnknown { .. })
        ));
        // A 5xx on a call that changes nothing is a plain server error.
        venue.faults().fail_next_rest(1, 502, Some("/api/v3/depth"));
        assert!(matches!(
            client.depth("HIFIUSDT", None).await,
            Err(RestError::Server { status: 502, .. })
        ));
        assert_eq!(client.stats().outcome_unknown, 2);
        // Reconciliation: the injected fault answered before the venue acted.
        assert!(matches!(
            client
                .query_order("HIFIUSDT", OrderRef::ClientOrderId("unknown-1".into()))
                .await,
            Err(RestError::UnknownOrder(_))
        ));
        teardown(venue, limiter, client).await;
    })
    .await;
}

#[tokio::test]
async fn a_timed_out_order_is_outcome_unknown_not_unplaced() {
    within(Duration::from_secs(10), async {
        let (venue, limiter, client) =
            setup(|c| c.request_timeout = Duration::from_millis(200)).await;
        venue.faults().delay_rest(Duration::from_millis(600));
        let placed = client.place_order(&bid("slow-1")).await;
        assert_eq!(
            placed.unwrap_err(),
            RestError::OutcomeUnknown {
                endpoint: exchange_rest::Endpoint::NewOrder,
                cause: UnknownCause::Timeout
            }
        );
        assert_eq!(
            client.depth("HIFIUSDT", None).await.unwrap_err(),
            RestError::Timeout
        );
        teardown(venue, limiter, client).await;
    })
    .await;
}

#[tokio::test]
async fn stop_bounds_calls_in_flight_and_nothing_goes_out_after() {
    within(Duration::from_secs(10), async {
        let (venue, limiter, client) = setup(|c| c.stop_drain = Duration::from_millis(100)).await;
        venue.faults().delay_rest(Duration::from_secs(5));
        let order = spawn_order(&client, "inflight-1");
        let read = tokio::spawn({
            let client = client.clone();
            async move { client.depth("HIFIUSDT", None).await }
        });
        wait_in_flight(&client, 2).await;
        let began = Instant::now();
        // The venue holds both calls for 5 s; the stop cancels them after the 100 ms drain.
        let report = client.stop_within(Duration::from_secs(2)).await;
        let took = began.elapsed();
        assert!(took < Duration::from_secs(2), "stop took {took:?}");
        assert!(
            took >= Duration::from_millis(100),
            "calls in flight get the drain period"
        );
        assert_eq!(report.counter("cancelled_in_flight"), Some(2), "{report}");
        assert_eq!(client.state(), LifecycleState::Stopped);
        // The order was sent: its outcome is unknown. The read simply failed with Closed.
        assert_eq!(
            order.await.unwrap().unwrap_err(),
            RestError::OutcomeUnknown {
                endpoint: exchange_rest::Endpoint::NewOrder,
                cause: UnknownCause::Closed
            }
        );
        assert_eq!(read.await.unwrap().unwrap_err(), RestError::Closed);
        assert_eq!(client.stats().in_flight, 0);

        // Nothing is sent after stop.
        let sent = client.stats().sent;
        assert_eq!(client.ping().await, Err(RestError::Closed));
        assert_eq!(
            client.place_order(&bid("late")).await.unwrap_err(),
            RestError::Closed
        );
        assert_eq!(client.stats().sent, sent);
        teardown(venue, limiter, client).await;
    })
    .await;
}

#[tokio::test]
async fn calls_in_flight_finish_within_the_drain_period() {
    within(Duration::from_secs(10), async {
        let (venue, limiter, client) = setup(|c| c.stop_drain = Duration::from_secs(2)).await;
        venue.faults().delay_rest(Duration::from_millis(200));
        let order = spawn_order(&client, "drained-1");
        wait_in_flight(&client, 1).await;
        let report = client.stop_within(Duration::from_secs(3)).await;
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.counter("cancelled_in_flight"), Some(0));
        let ack = order.await.unwrap().unwrap();
        assert!(!ack.order_id.is_empty());
        assert_eq!(venue.open_orders(DEMO_API_KEY).unwrap().len(), 1);
        teardown(venue, limiter, client).await;
    })
    .await;
}

#[tokio::test]
async fn a_stopped_limiter_or_an_unstarted_client_sends_nothing() {
    within(Duration::from_secs(10), async {
        let venue = SimVenue::start(SimConfig::paused()).await.unwrap();
        let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("rate_limiter.mexc")));
        let config = MexcRestConfig::new(venue.rest_url());
        let client = MexcRestClient::new(config, limiter.clone()).unwrap();
        assert_eq!(client.ping().await, Err(RestError::NotStarted));
        client.start().await.unwrap();
        assert_eq!(
            client.ping().await,
            Err(RestError::NotStarted),
            "limiter not started"
        );
        limiter.start().await.unwrap();
        client.ping().await.unwrap();
        assert!(limiter.stop_within(Duration::from_secs(1)).await.is_clean());
        assert_eq!(client.ping().await, Err(RestError::Closed));
        assert_eq!(client.stats().sent, 1);
        assert!(client.stop_within(Duration::from_secs(1)).await.is_clean());
        venue.stop_within(Duration::from_secs(1)).await;
    })
    .await;
}

#[tokio::test]
async fn our_limiter_refuses_before_the_venue_would() {
    within(Duration::from_secs(10), async {
        let (venue, limiter, client) = setup(|_| {}).await;
        // exchangeInfo weighs 10 of the 500 per 10 s: 50 calls fit, the 51st would wait ~10 s.
        for _ in 0..50 {
            client.exchange_info(&["HIFIUSDT"]).await.unwrap();
        }
        let sent = client.stats().sent;
        let soon = Instant::now() + Duration::from_millis(200);
        let refused = client
            .execute_until(&exchange_rest::request::GetExchangeInfo::default(), soon)
            .await;
        assert!(
            matches!(refused, Err(RestError::RateLimited { by: RateLimitSource::Local, retry_after: Some(wait) }) if wait > Duration::from_secs(5)),
            "{refused:?}"
        );
        assert!(Instant::now() < soon, "refused at once, without waiting");
        assert_eq!(client.stats().sent, sent, "nothing sent");
        assert_eq!(client.stats().rate_limited_by_venue, 0, "the venue never had to refuse");
        // Other endpoints have their own budgets.
        client.depth("HIFIUSDT", Some(5)).await.unwrap();
        teardown(venue, limiter, client).await;
    })
    .await;
}

/// Seeds 1286 and 2940 of the simulation search: a body that placed again at once after a
/// refusal met the local limiter's refusal (its wait too long for the deadline) on every call,
/// at once and without an await that yields, so on a current-thread runtime nothing else ran:
/// not the signal that should have stopped it, not the timers (simulated time stood still).
/// A call refused at once must still give the scheduler its turn, like any tokio resource.
#[tokio::test]
async fn a_call_refused_at_once_still_yields_to_the_runtime() {
    use std::sync::atomic::{AtomicBool, Ordering};
    within(Duration::from_secs(10), async {
        let (venue, limiter, client) = setup(|_| {}).await;
        // Longer than the client's longest rate-limit wait: every call is refused at once.
        limiter.pause_scope(Scope::Ip, Duration::from_secs(60));
        let ran = Arc::new(AtomicBool::new(false));
        let other = tokio::spawn({
            let ran = ran.clone();
            async move { ran.store(true, Ordering::SeqCst) }
        });
        let mut calls = 0u32;
        while !ran.load(Ordering::SeqCst) && calls < 10_000 {
            let refused = client.depth("HIFIUSDT", Some(5)).await;
            assert!(
                matches!(
                    refused,
                    Err(RestError::RateLimited {
                        by: RateLimitSource::Local,
                        ..
                    })
                ),
                "{refused:?}"
            );
            calls += 1;
        }
        assert!(
            ran.load(Ordering::SeqCst),
            "{calls} calls refused at once never let another task of the thread run"
        );
        other.await.unwrap();
        teardown(venue, limiter, client).await;
    })
    .await;
}
