//! The start's reconciliation (cancelling the orders a previous run left) does not depend on
//! the account endpoint: a venue that answers it 429 (MEXC limits it to 2 calls per second, and
//! a 429 pauses every signed call for its `Retry-After`) does not delay the cancel.
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
use exchange_composite::ExchangeContext;
use tokio::time::Instant;

/// The pause a 429 imposes on every signed call (the venue's `Retry-After`, 1 s): a
/// reconciliation that waited for the account endpoint would take at least this long.
const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_account_endpoint_does_not_delay_the_cancel_of_stale_orders() {
    bounded(async {
        let sim = venue().await;
        sim.pause_market();
        place_directly(&sim, "qsc-old-1", far_bid());
        sim.faults().fail_next_rest(1_000, 429, Some("/api/v3/account"));
        let (exchanges, system) = ExchangeContext::new(&config_for(&sim)).unwrap().into_parts();
        let begun = Instant::now();
        let start = tokio::spawn(async move { system.start_all().await.map(|()| system) });
        let deadline = begun + RATE_LIMIT_PAUSE * 10;
        while !venue_open_orders(&sim).is_empty() {
            assert!(Instant::now() < deadline, "the stale order was never cancelled");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let cleared = begun.elapsed();
        let system = start.await.unwrap().unwrap();
        assert!(
            cleared < RATE_LIMIT_PAUSE,
            "the stale order was cancelled {cleared:?} after the start: it waited for the account endpoint"
        );
        assert_eq!(exchanges.private.stale_orders_cancelled(), 1);
        sim.faults().clear();
        let report = system.shutdown_all(Duration::from_secs(5)).await;
        assert!(report.is_clean(), "{report}");
        sim.shutdown().await;
    })
    .await;
}
