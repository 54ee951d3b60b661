//! Fifty create-use-stop cycles of a full `ExchangeContext` against one venue: each stops
//! clean and leaves no order behind, and no task outlives them.
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
use exchange_composite::{ExchangeContext, ExchangeError, OrderRequest, Side};
use exchange_sim::{RateLimitConfig, SimConfig, SimVenue};
use lifecycle_core::testing::RuntimeTaskBaseline;
use rust_decimal::Decimal;

const CYCLES: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_create_use_stop_cycles_leave_nothing_behind() {
    bounded(async {
        // Captured before the venue starts and checked after it stopped: the venue's own
        // per-connection tasks end a little after our side closes.
        let baseline = RuntimeTaskBaseline::capture();
        // The venue's own rate limits are off: each cycle is a fresh client with a fresh
        // limiter, and fifty starts a second would exceed MEXC's per-IP budget for market
        // data (a real deployment does not restart fifty times a second).
        let sim = SimVenue::start(SimConfig {
            rate_limits: RateLimitConfig::disabled(),
            ..SimConfig::default()
        })
        .await
        .unwrap();
        let config = config_for(&sim);
        for cycle in 0..CYCLES {
            let outcome = ExchangeContext::run(&config, |ex| async move {
                let order = ex
                    .private
                    .place_order(OrderRequest::limit_maker(
                        hifi(),
                        Side::Buy,
                        far_bid(),
                        Decimal::from(30),
                    ))
                    .await?;
                assert_eq!(ex.private.tracked_orders(), 1);
                Ok::<_, ExchangeError>(order)
            })
            .await
            .unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
            assert!(
                outcome.report.is_clean(),
                "cycle {cycle}: {}",
                outcome.report
            );
            let open = venue_open_orders(&sim);
            assert!(open.is_empty(), "cycle {cycle} left {open:?}");
            assert_eq!(
                outcome
                    .value
                    .client_order_id
                    .as_ref()
                    .map(|id| id.has_prefix("qsc-")),
                Some(true)
            );
        }
        eventually(Duration::from_secs(5), "the venue to see no socket", || {
            sim.faults().websocket_connections() == 0
        })
        .await;
        sim.shutdown().await;
        baseline.assert_back(Duration::from_secs(5)).await;
    })
    .await;
}
