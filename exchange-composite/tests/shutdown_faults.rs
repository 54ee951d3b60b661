//! Shutdown under venue faults (the promise: every fault still ends within the deadline with zero
//! open orders on the venue, or with a report that names each order it could not confirm):
//! dropped websockets, a stalled venue, 5xx answers to cancels, a 429 storm.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

mod common;

use std::time::Duration;

use common::*;
use exchange_composite::{ExchangeConfig, ExchangeContext, Exchanges, Order, OrderRequest, Side};
use exchange_sim::SimVenue;
use lifecycle_core::testing::RuntimeTaskBaseline;
use lifecycle_core::{DependencyAwareShutdown, ShutdownReport, StopReport};
use rust_decimal::Decimal;
use tokio::time::Instant;

/// Slack allowed past the budget for the orchestrator's own bookkeeping and the scheduler.
const SLACK: Duration = Duration::from_millis(300);

/// A started context on `sim`: the exchanges and the orchestrator to stop them with.
async fn started(config: &ExchangeConfig) -> (Exchanges, DependencyAwareShutdown) {
    let (exchanges, system) = ExchangeContext::new(config).unwrap().into_parts();
    system.start_all().await.unwrap();
    (exchanges, system)
}

/// A far bid and a far ask of ours, both resting on the venue.
async fn two_resting_orders(sim: &SimVenue, exchanges: &Exchanges) -> [Order; 2] {
    let quantity = Decimal::from(30);
    let bid = exchanges
        .private
        .place_order(OrderRequest::limit_maker(
            hifi(),
            Side::Buy,
            far_bid(),
            quantity,
        ))
        .await
        .unwrap();
    let ask = exchanges
        .private
        .place_order(OrderRequest::limit_maker(
            hifi(),
            Side::Sell,
            far_ask(),
            quantity,
        ))
        .await
        .unwrap();
    assert_eq!(venue_open_orders(sim).len(), 2);
    assert_eq!(exchanges.private.tracked_orders(), 2);
    [bid, ask]
}

/// Shuts `system` down within `budget` and returns the report and how long it took.
async fn timed_shutdown(
    system: &DependencyAwareShutdown,
    budget: Duration,
) -> (ShutdownReport, Duration) {
    let started = Instant::now();
    let report = system.shutdown_all(budget).await;
    (report, started.elapsed())
}

/// The report of the private exchange's order guard.
fn orders_report(report: &ShutdownReport) -> StopReport {
    let private = report
        .resource("mexc.private")
        .expect("the private exchange is in the report")
        .report
        .clone()
        .expect("the private exchange was stopped");
    let orders = private
        .details
        .children
        .iter()
        .find(|c| &*c.component == "mexc.private.orders")
        .expect("the order guard is a child of the private exchange");
    orders.clone()
}

fn counter(report: &StopReport, name: &str) -> Option<u64> {
    report
        .details
        .counters
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

/// A clean shutdown that cancelled and confirmed both orders: none is left on the venue.
fn assert_both_cancelled(sim: &SimVenue, report: &ShutdownReport) {
    assert!(report.is_clean(), "{report}");
    assert!(
        venue_open_orders(sim).is_empty(),
        "the shutdown cancelled our orders: {report}"
    );
    let orders = orders_report(report);
    assert_eq!(counter(&orders, "orders_cancelled"), Some(2), "{orders}");
    assert_eq!(counter(&orders, "orders_unconfirmed"), Some(0), "{orders}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_websockets_during_the_run_still_end_in_a_clean_shutdown() {
    bounded(async {
        let sim = venue().await;
        let config = config_for(&sim);
        let (exchanges, system) = started(&config).await;
        let _orders = two_resting_orders(&sim, &exchanges).await;
        let (private_before, public_before) = (
            exchanges.private.socket().stats().connections,
            exchanges.public.socket().stats().connections,
        );

        assert!(
            sim.faults().drop_websockets() >= 2,
            "public and private sockets"
        );
        eventually(Duration::from_secs(10), "both sockets to reconnect", || {
            exchanges.private.socket().stats().connections > private_before
                && exchanges.public.socket().stats().connections > public_before
                && exchanges.private.socket().connection_state().is_connected()
                && exchanges.public.socket().connection_state().is_connected()
        })
        .await;
        assert_eq!(
            exchanges.private.tracked_orders(),
            2,
            "the orders are still ours"
        );

        let (report, elapsed) = timed_shutdown(&system, config.shutdown_budget).await;
        assert!(elapsed <= config.shutdown_budget, "{elapsed:?}");
        assert_both_cancelled(&sim, &report);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_venue_ends_by_the_deadline_and_names_each_unconfirmed_order() {
    bounded(async {
        let baseline = RuntimeTaskBaseline::capture();
        let sim = venue().await;
        let budget = Duration::from_secs(2);
        let config = config_for(&sim).shutdown_budget(budget);
        let (exchanges, system) = started(&config).await;
        let [bid, ask] = two_resting_orders(&sim, &exchanges).await;

        // TCP stays open, nothing is answered: REST calls and socket closes hang.
        sim.faults().stall_connections(true);
        let (report, elapsed) = timed_shutdown(&system, budget).await;
        assert!(
            elapsed <= budget + SLACK,
            "took {elapsed:?} for a {budget:?} budget"
        );
        assert!(!report.is_clean(), "nothing could be confirmed: {report}");

        let orders = orders_report(&report);
        assert_eq!(counter(&orders, "orders_unconfirmed"), Some(2), "{orders}");
        assert_eq!(counter(&orders, "orders_cancelled"), Some(0), "{orders}");
        let errors = &orders.details.errors;
        for order in [&bid, &ask] {
            let id = &order.order_id;
            assert!(
                errors.iter().any(|e| e.contains(id.as_str())),
                "the report names order {id}: {errors:?}"
            );
        }
        assert_eq!(errors.len(), 2, "one error per order: {errors:?}");

        // The report told the truth: both orders are still on the venue.
        sim.faults().clear();
        let mut open: Vec<String> = venue_open_orders(&sim).iter().map(|o| o.id()).collect();
        open.sort();
        let mut named = vec![bid.order_id.clone(), ask.order_id.clone()];
        named.sort();
        assert_eq!(open, named);
        sim.shutdown().await;
        // What the deadline cut short (socket closes, the REST client) still ends once the
        // venue answers again: nothing is left running.
        drop((exchanges, system));
        baseline.assert_back(Duration::from_secs(5)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancels_answered_5xx_are_retried_and_the_shutdown_is_clean() {
    bounded(async {
        let sim = venue().await;
        let config = config_for(&sim);
        let (exchanges, system) = started(&config).await;
        let _orders = two_resting_orders(&sim, &exchanges).await;
        let rest_failures = rest_of(&exchanges).client.stats().outcome_unknown;

        // Both first cancels fail (DELETE /api/v3/order; the listing is another path).
        sim.faults().fail_next_rest(2, 503, Some("/api/v3/order"));
        let (report, elapsed) = timed_shutdown(&system, config.shutdown_budget).await;
        assert!(elapsed <= config.shutdown_budget, "{elapsed:?}");
        assert_both_cancelled(&sim, &report);
        assert_eq!(
            rest_of(&exchanges).client.stats().outcome_unknown - rest_failures,
            2,
            "both 503s were met (a cancel answered 5xx has an unknown outcome)"
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_still_ends_within_the_budget_with_no_open_order() {
    bounded(async {
        let sim = venue().await;
        let config = config_for(&sim);
        let budget = config.shutdown_budget;
        let (exchanges, system) = started(&config).await;
        let _orders = two_resting_orders(&sim, &exchanges).await;
        let limited = rest_of(&exchanges).client.stats().rate_limited_by_venue;

        // Every call answers 429 (Retry-After: 1 s) until four have been refused.
        sim.faults().fail_next_rest(4, 429, None);
        let (report, elapsed) = timed_shutdown(&system, budget).await;
        assert!(
            elapsed <= budget,
            "took {elapsed:?} for a {budget:?} budget"
        );
        assert!(
            elapsed >= Duration::from_secs(1),
            "the venue's Retry-After was honoured, not hammered: {elapsed:?}"
        );
        assert_both_cancelled(&sim, &report);
        // Three at least: the sweep re-sends a call left unanswered (the limiter holds it for
        // the Retry-After), and a re-sent attempt whose 429 comes after another attempt's
        // answer is dropped before the client counts it.
        let met = rest_of(&exchanges).client.stats().rate_limited_by_venue - limited;
        assert!((3..=4).contains(&met), "the storm was met: {met} 429s");
        sim.shutdown().await;
    })
    .await;
}

/// With slow REST the sweep cancelled both orders, yet reported one "unconfirmed" (the count
/// was of error messages, the one saying no second listing came in time). A sweep round
/// cancels what we track while it lists, an acknowledged cancel confirms the order, and the
/// count is of orders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_cancels_confirm_the_sweep_in_one_round_trip() {
    bounded(async {
        let sim = venue().await;
        let config = config_for(&sim);
        let (exchanges, system) = started(&config).await;
        let _orders = two_resting_orders(&sim, &exchanges).await;
        // Every REST answer takes 1.5 s: the sweep's share of a 2.5 s budget (about 2 s) has
        // room for one round trip, not two.
        sim.faults().delay_rest(Duration::from_millis(1_500));
        let (report, _) = timed_shutdown(&system, Duration::from_millis(2_500)).await;
        let orders = orders_report(&report);
        assert!(orders.is_clean(), "{orders}");
        assert_eq!(counter(&orders, "orders_cancelled"), Some(2), "{orders}");
        assert_eq!(counter(&orders, "orders_unconfirmed"), Some(0), "{orders}");
        assert!(orders.duration < Duration::from_millis(2_000), "{orders}");
        sim.faults().clear();
        assert!(venue_open_orders(&sim).is_empty(), "{report}");
        sim.shutdown().await;
    })
    .await;
}

/// A sweep that cannot list, with no order of ours known open, is not clean (it could not
/// confirm) but counts no order as possibly open: the count is of orders, not of messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_fails_with_nothing_open_counts_no_order() {
    bounded(async {
        let sim = venue().await;
        let config = config_for(&sim);
        let (_exchanges, system) = started(&config).await;
        sim.faults()
            .fail_next_rest(100_000, 503, Some("/api/v3/openOrders"));
        let (report, elapsed) = timed_shutdown(&system, Duration::from_secs(2)).await;
        assert!(elapsed <= Duration::from_secs(2) + SLACK, "{elapsed:?}");
        let orders = orders_report(&report);
        assert!(!orders.is_clean(), "{orders}");
        assert_eq!(counter(&orders, "orders_unconfirmed"), Some(0), "{orders}");
        assert!(
            orders
                .details
                .errors
                .iter()
                .any(|e| e.contains("none known open")),
            "{orders}"
        );
        // It kept trying for its whole share (about 1.6 s of 2 s), not one attempt.
        assert!(orders.duration >= Duration::from_millis(1_400), "{orders}");
        sim.faults().clear();
        sim.shutdown().await;
    })
    .await;
}

/// A trading halt: every order of ours is cancelled and confirmed while the exchanges keep
/// running (market data, the private socket, the listen key), and quoting can resume. While
/// cancels fail it reports the orders it could not confirm, one per order, and keeps them
/// tracked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_cancels_and_confirms_our_orders_while_the_exchanges_keep_running() {
    bounded(async {
        let sim = venue().await;
        let config = config_for(&sim);
        let (exchanges, system) = started(&config).await;
        let _orders = two_resting_orders(&sim, &exchanges).await;

        sim.faults()
            .fail_next_rest(100_000, 503, Some("/api/v3/order"));
        let failing = exchanges
            .private
            .cancel_and_confirm_ours(Instant::now() + Duration::from_millis(500))
            .await
            .unwrap();
        assert!(!failing.confirmed, "{failing:?}");
        assert_eq!(failing.unconfirmed.len(), 2, "{failing:?}");
        assert!(
            failing.unconfirmed.iter().all(|e| e.contains("503")),
            "{failing:?}"
        );
        assert_eq!(exchanges.private.tracked_orders(), 2);
        assert_eq!(venue_open_orders(&sim).len(), 2);

        sim.faults().clear();
        let halt = exchanges
            .private
            .cancel_and_confirm_ours(Instant::now() + Duration::from_secs(5))
            .await
            .unwrap();
        assert!(halt.confirmed, "{halt:?}");
        assert_eq!((halt.cancelled, halt.found), (2, 2), "{halt:?}");
        assert_eq!(exchanges.private.tracked_orders(), 0);
        assert!(venue_open_orders(&sim).is_empty());
        // Still running: quoting resumes.
        let _again = two_resting_orders(&sim, &exchanges).await;
        let (report, _) = timed_shutdown(&system, config.shutdown_budget).await;
        assert_both_cancelled(&sim, &report);
        sim.shutdown().await;
    })
    .await;
}
