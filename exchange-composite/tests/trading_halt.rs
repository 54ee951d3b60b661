//! A trading halt is not a shutdown: `halt` refuses new orders, cancels and confirms ours, and
//! keeps market data, the private socket and the listen key up; `resume` quotes again; a
//! placement in flight when the halt comes ends cancelled; a stop while halted is orderly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use exchange_composite::{ExchangeContext, Exchanges, OrderRequest, Side};
use exchange_sim::{DEMO_API_KEY, SimVenue};
use lifecycle_core::DependencyAwareShutdown;
use rust_decimal::Decimal;
use tokio::time::Instant;

async fn started(sim: &SimVenue) -> (Exchanges, DependencyAwareShutdown) {
    let (exchanges, system) = ExchangeContext::new(&config_for(sim)).unwrap().into_parts();
    system.start_all().await.unwrap();
    (exchanges, system)
}

fn far_bid_request() -> OrderRequest {
    OrderRequest::limit_maker(hifi(), Side::Buy, far_bid(), Decimal::from(30))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halt_cancels_ours_keeps_the_streams_and_resume_quotes_again() {
    bounded(async {
        let sim = venue().await;
        let (exchanges, system) = started(&sim).await;
        let private = &exchanges.private;
        private.place_order(far_bid_request()).await.unwrap();
        private
            .place_order(OrderRequest::limit_maker(
                hifi(),
                Side::Sell,
                far_ask(),
                Decimal::from(30),
            ))
            .await
            .unwrap();
        place_directly(&sim, "someone-else-1", far_bid());
        assert_eq!(venue_open_orders(&sim).len(), 3);

        let sweep = private
            .halt(Instant::now() + Duration::from_secs(5))
            .await
            .unwrap();
        assert!(sweep.confirmed, "{sweep:?}");
        assert_eq!((sweep.found, sweep.cancelled), (2, 2));
        assert!(private.is_halted() && *private.halt_watch().borrow());
        let left = venue_open_orders(&sim);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].client_order_id.as_deref(), Some("someone-else-1"));
        assert_eq!(private.tracked_orders(), 0);
        // New orders are refused while halted; nothing reaches the venue.
        let refused = private.place_order(far_bid_request()).await.unwrap_err();
        assert!(refused.is_halted(), "{refused}");
        assert_eq!(venue_open_orders(&sim).len(), 1);
        // Market data, the private socket and the listen key stay up.
        assert!(private.socket().connection_state().is_connected());
        assert_eq!(sim.listen_keys(DEMO_API_KEY).unwrap().len(), 1);
        let mut tickers = exchanges.public.subscribe_book_ticker(&hifi()).unwrap();
        tokio::time::timeout(
            Duration::from_secs(10),
            futures::StreamExt::next(&mut tickers),
        )
        .await
        .expect("book tickers still flow while halted");
        drop(tickers);

        private.resume();
        assert!(!private.is_halted());
        private.place_order(far_bid_request()).await.unwrap();
        assert_eq!(venue_open_orders(&sim).len(), 2);

        let report = system.shutdown_all(Duration::from_secs(5)).await;
        assert!(report.is_clean(), "{report}");
        assert_eq!(venue_open_orders(&sim).len(), 1, "ours cancelled at stop");
        sim.shutdown().await;
    })
    .await;
}

/// The halt comes while a placement is on its way (the venue answers slowly): the halt waits
/// for it to land, then cancels it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placement_in_flight_when_the_halt_comes_ends_cancelled() {
    bounded(async {
        let sim = venue().await;
        let (exchanges, system) = started(&sim).await;
        sim.faults().delay_rest(Duration::from_millis(300));
        let private = exchanges.private.clone();
        let placing = {
            let private = private.clone();
            tokio::spawn(async move { private.place_order(far_bid_request()).await })
        };
        // Tracked from before it is sent: the placement is in flight.
        eventually(Duration::from_secs(5), "the placement in flight", || {
            private.tracked_orders() == 1
        })
        .await;
        assert!(venue_open_orders(&sim).is_empty(), "not landed yet");
        let sweep = private
            .halt(Instant::now() + Duration::from_secs(10))
            .await
            .unwrap();
        let placed = placing.await.unwrap();
        assert!(placed.is_ok(), "{placed:?}");
        assert!(sweep.confirmed, "{sweep:?}");
        assert_eq!(sweep.cancelled, 1, "{sweep:?}");
        assert!(venue_open_orders(&sim).is_empty());
        assert_eq!(private.tracked_orders(), 0);
        sim.faults().clear();
        let report = system.shutdown_all(Duration::from_secs(5)).await;
        assert!(report.is_clean(), "{report}");
        sim.shutdown().await;
    })
    .await;
}

/// Halts racing placements from many tasks: every order that landed is cancelled or named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halts_racing_placements_leave_nothing_unnamed() {
    bounded(async {
        let sim = venue().await;
        let (exchanges, system) = started(&sim).await;
        let private: Arc<_> = exchanges.private.clone();
        let placers: Vec<_> = (0..6)
            .map(|_| {
                let private = private.clone();
                tokio::spawn(async move { private.place_order(far_bid_request()).await })
            })
            .collect();
        let sweep = private
            .halt(Instant::now() + Duration::from_secs(10))
            .await
            .unwrap();
        let mut refused = 0;
        for placer in placers {
            match placer.await.unwrap() {
                Ok(_) => {}
                Err(error) if error.is_halted() => refused += 1,
                Err(error) => panic!("{error}"),
            }
        }
        let open = venue_open_orders(&sim).len();
        assert!(sweep.confirmed, "{sweep:?}");
        assert_eq!(open, 0, "{sweep:?}, {refused} refused");
        assert_eq!(sweep.cancelled + refused, 6, "{sweep:?}");
        let report = system.shutdown_all(Duration::from_secs(5)).await;
        assert!(report.is_clean(), "{report}");
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_while_halted_is_orderly() {
    bounded(async {
        let sim = venue().await;
        let (exchanges, system) = started(&sim).await;
        exchanges
            .private
            .place_order(far_bid_request())
            .await
            .unwrap();
        let sweep = exchanges
            .private
            .halt(Instant::now() + Duration::from_secs(5))
            .await
            .unwrap();
        assert!(sweep.confirmed);
        let report = system.shutdown_all(Duration::from_secs(5)).await;
        assert!(report.is_clean(), "{report}");
        assert!(venue_open_orders(&sim).is_empty());
        assert!(
            sim.listen_keys(DEMO_API_KEY).unwrap().is_empty(),
            "the key deleted at stop"
        );
        // Halting a stopped exchange is refused.
        let late = exchanges
            .private
            .halt(Instant::now() + Duration::from_secs(1))
            .await;
        assert!(late.is_err());
        sim.shutdown().await;
    })
    .await;
}
