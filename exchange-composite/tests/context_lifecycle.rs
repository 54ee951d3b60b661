//! `ExchangeContext` and `ExchangeFactory` against exchange-sim: the body gets both exchanges;
//! everything stops in the shutdown order (the crate docs) on success, error and panic; our orders are cancelled and
//! confirmed; a failed private start stops the public side; orders a previous run left are
//! cancelled at start; nothing leaks.
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
use exchange_composite::{
    AssetName, ContextError, ExchangeContext, ExchangeError, ExchangeFactory, OrderRequest, Side,
};
use exchange_rest::Credentials;
use lifecycle_core::testing::RuntimeTaskBaseline;
use lifecycle_core::{AsyncResource, LifecycleState, ShutdownPriority, StopOutcome};
use rust_decimal::Decimal;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_trades_and_everything_stops_in_design_order() {
    bounded(async {
        // Captured before the venue starts and checked after it stopped: the venue's own
        // per-connection tasks end a little after our side closes.
        let baseline = RuntimeTaskBaseline::capture();
        let sim = venue().await;
        let config = config_for(&sim);
        let outcome = ExchangeContext::run(&config, |ex| async move {
            let ticker = ex
                .public
                .wait_for_book_ticker(&hifi(), Duration::from_secs(10))
                .await?;
            assert!(ticker.is_sane());
            // The balance stream was seeded from the account at start.
            let usdt = ex
                .private
                .balance(&AssetName::new("USDT").unwrap())
                .expect("seeded balance");
            assert_eq!(usdt.total(), Decimal::from(100_000));
            let quantity = Decimal::from(30);
            let bid = ex
                .private
                .place_order(OrderRequest::limit_maker(
                    hifi(),
                    Side::Buy,
                    far_bid(),
                    quantity,
                ))
                .await?;
            let ask = ex
                .private
                .place_order(OrderRequest::limit_maker(
                    hifi(),
                    Side::Sell,
                    far_ask(),
                    quantity,
                ))
                .await?;
            assert!(bid.client_order_id.as_ref().unwrap().has_prefix("qsc-"));
            let ours = ex.private.our_open_orders(&hifi()).await?;
            assert_eq!(ours.len(), 2);
            assert_eq!(ex.private.tracked_orders(), 2);
            Ok::<_, ExchangeError>((bid, ask))
        })
        .await
        .unwrap();
        let report = outcome.report;
        assert!(report.is_clean(), "{report}");
        assert!(
            venue_open_orders(&sim).is_empty(),
            "the shutdown cancelled our orders"
        );

        // One report, phases in the shutdown order: private (orders, then its socket and listen
        // key), public (its socket), both exchanges' streams, REST last.
        let phases: Vec<ShutdownPriority> = report.phases.iter().map(|p| p.priority).collect();
        assert_eq!(
            phases,
            [
                ShutdownPriority::CriticalFirst,
                ShutdownPriority::Medium,
                ShutdownPriority::Low,
                ShutdownPriority::Cleanup
            ]
        );
        let private = report
            .resource("mexc.private")
            .unwrap()
            .report
            .clone()
            .unwrap();
        let parts: Vec<&str> = private
            .details
            .children
            .iter()
            .map(|c| &*c.component)
            .collect();
        assert_eq!(
            parts,
            ["mexc.private.orders", "mexc.private.socket+listen_key"]
        );
        let streams: Vec<&str> = report.phases[2]
            .resources
            .iter()
            .map(|r| &*r.name)
            .collect();
        assert_eq!(streams, ["mexc.private.streams", "mexc.public.streams"]);
        let orders = &private.details.children[0];
        assert!(
            orders.details.counters.contains(&("orders_cancelled", 2)),
            "{orders}"
        );
        assert!(orders.details.counters.contains(&("orders_unconfirmed", 0)));
        let socket = &private.details.children[1];
        assert!(
            socket.details.counters.contains(&("listen_keys_closed", 1)),
            "{socket}"
        );
        let cleanup: Vec<&str> = report.phases[3]
            .resources
            .iter()
            .map(|r| &*r.name)
            .collect();
        assert_eq!(cleanup, ["rest.mexc", "rate_limiter.mexc"]);

        sim.shutdown().await;
        baseline.assert_back(Duration::from_secs(5)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_body_still_stops_everything_and_cancels() {
    bounded(async {
        let sim = venue().await;
        let config = config_for(&sim);
        let error = ExchangeContext::run(&config, |ex| async move {
            ex.private
                .place_order(OrderRequest::limit_maker(
                    hifi(),
                    Side::Buy,
                    far_bid(),
                    Decimal::from(30),
                ))
                .await
                .map_err(|e| e.to_string())?;
            Err::<(), String>("strategy gave up".to_owned())
        })
        .await
        .unwrap_err();
        let ContextError::Body { error, report } = error else {
            panic!("{error}")
        };
        assert_eq!(error, "strategy gave up");
        assert!(report.is_clean(), "{report}");
        assert!(venue_open_orders(&sim).is_empty());
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_body_still_stops_everything_and_cancels() {
    bounded(async {
        let sim = venue().await;
        let config = config_for(&sim);
        let (placed_tx, placed_rx) = tokio::sync::oneshot::channel();
        let run = tokio::spawn(async move {
            ExchangeContext::run(&config, |ex| async move {
                let exchanges = ex.clone();
                ex.private
                    .place_order(OrderRequest::limit_maker(
                        hifi(),
                        Side::Buy,
                        far_bid(),
                        Decimal::from(30),
                    ))
                    .await
                    .unwrap();
                let _ = placed_tx.send(exchanges);
                panic!("strategy bug");
                #[allow(unreachable_code)]
                Ok::<(), ExchangeError>(())
            })
            .await
        });
        let exchanges = placed_rx.await.unwrap();
        let joined = run.await;
        assert!(
            joined.unwrap_err().is_panic(),
            "the panic resumes after the shutdown"
        );
        assert!(venue_open_orders(&sim).is_empty());
        assert_eq!(exchanges.private.state(), LifecycleState::Stopped);
        assert_eq!(exchanges.public.state(), LifecycleState::Stopped);
        assert_eq!(rest_of(&exchanges).client.state(), LifecycleState::Stopped);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_private_start_stops_the_public_exchange_first() {
    bounded(async {
        // Captured before the venue starts and checked after it stopped: the venue's own
        // per-connection tasks end a little after our side closes.
        let baseline = RuntimeTaskBaseline::capture();
        let sim = venue().await;
        let config =
            config_for(&sim).credentials(Credentials::new("mx0vglUNKNOWNKEY", "0123456789abcdef"));
        let context = ExchangeContext::new(&config).unwrap();
        let exchanges = context.exchanges().clone();
        let error = context
            .run_body(|_| async { Ok::<(), ExchangeError>(()) })
            .await
            .unwrap_err();
        let ContextError::Start(error) = error else {
            panic!("{error}")
        };
        assert!(error.to_string().contains("mexc.private"), "{error}");
        // The public exchange had started (it starts first) and was stopped again.
        let public = error
            .rollback
            .resource("mexc.public")
            .expect("the public exchange is in the rollback");
        assert_eq!(public.outcome, StopOutcome::Clean, "{}", error.rollback);
        assert_eq!(exchanges.public.state(), LifecycleState::Stopped);
        assert_eq!(rest_of(&exchanges).client.state(), LifecycleState::Stopped);
        assert_eq!(rest_of(&exchanges).limiter.state(), LifecycleState::Stopped);
        eventually(Duration::from_secs(5), "the venue to see no socket", || {
            sim.faults().websocket_connections() == 0
        })
        .await;
        sim.shutdown().await;
        baseline.assert_back(Duration::from_secs(5)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_cancels_orders_a_previous_run_left_and_only_those() {
    bounded(async {
        let sim = venue().await;
        place_directly(&sim, "qsc-killedrun-1", far_bid());
        place_directly(&sim, "manual-1", far_bid());
        let config = config_for(&sim);
        let outcome = ExchangeContext::run(&config, |ex| async move {
            assert_eq!(ex.private.stale_orders_cancelled(), 1);
            let open = ex.private.open_orders(&hifi()).await?;
            let ids: Vec<Option<&str>> = open
                .iter()
                .map(|o| o.client_order_id.as_ref().map(|c| c.as_str()))
                .collect();
            assert_eq!(
                ids,
                [Some("manual-1")],
                "the stale order is gone before the body runs"
            );
            Ok::<_, ExchangeError>(())
        })
        .await
        .unwrap();
        assert!(outcome.report.is_clean(), "{}", outcome.report);
        let left: Vec<_> = venue_open_orders(&sim)
            .into_iter()
            .map(|o| o.client_order_id)
            .collect();
        assert_eq!(
            left,
            [Some("manual-1".to_owned())],
            "an order without our prefix is left alone"
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_factory_starts_each_exchange_on_its_own() {
    bounded(async {
        // Captured before the venue starts and checked after it stopped: the venue's own
        // per-connection tasks end a little after our side closes.
        let baseline = RuntimeTaskBaseline::capture();
        let sim = venue().await;
        let config = config_for(&sim);
        let public = ExchangeFactory::create_exchange_with_lifecycle(&config, false)
            .await
            .unwrap();
        let private = ExchangeFactory::create_exchange_with_lifecycle(&config, true)
            .await
            .unwrap();
        assert!(public.is_running() && private.is_running());
        let rules = public.as_public().unwrap().rules(&hifi()).unwrap();
        assert_eq!(rules.quantity_precision, 2);
        let order = private
            .as_private()
            .unwrap()
            .place_order(OrderRequest::limit_maker(
                hifi(),
                Side::Sell,
                far_ask(),
                Decimal::from(30),
            ))
            .await
            .unwrap();
        assert_eq!(venue_open_orders(&sim).len(), 1);
        // Each owns its REST client: its report ends with the Cleanup parts.
        let report = private.stop_within(Duration::from_secs(5)).await;
        assert!(report.is_clean(), "{report}");
        let parts: Vec<&str> = report
            .details
            .children
            .iter()
            .map(|c| &*c.component)
            .collect();
        assert_eq!(parts.last(), Some(&"rate_limiter.mexc"));
        assert!(
            venue_open_orders(&sim).is_empty(),
            "order {} was cancelled",
            order.order_id
        );
        assert!(public.stop_within(Duration::from_secs(5)).await.is_clean());
        // A private exchange needs credentials.
        let mut no_keys = config.clone();
        no_keys.credentials = None;
        assert!(matches!(
            ExchangeFactory::create_exchange_with_lifecycle(&no_keys, true).await,
            Err(ExchangeError::MissingCredentials)
        ));
        sim.shutdown().await;
        baseline.assert_back(Duration::from_secs(5)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_rides_out_429s_and_5xx_from_the_venue() {
    bounded(async {
        let sim = venue().await;
        // The first market-rules calls are rate limited (Retry-After: 1 s) and the first
        // listen-key creation fails with a 503: the start retries instead of failing.
        sim.faults()
            .fail_next_rest(2, 429, Some("/api/v3/exchangeInfo"));
        sim.faults()
            .fail_next_rest(1, 503, Some("/api/v3/userDataStream"));
        let config = config_for(&sim);
        let outcome = ExchangeContext::run(&config, |ex| async move {
            assert!(ex.private.is_running() && ex.public.is_running());
            assert_eq!(ex.private.listen_keys_created(), 1);
            // The faults were met, not missed: two 429s and one 503 failed along the way.
            let stats = rest_of(&ex).client.stats();
            assert_eq!(stats.rate_limited_by_venue, 2, "{stats:?}");
            assert_eq!(stats.failed, 3, "{stats:?}");
            Ok::<_, ExchangeError>(())
        })
        .await
        .unwrap();
        assert!(outcome.report.is_clean(), "{}", outcome.report);
        sim.shutdown().await;
    })
    .await;
}
