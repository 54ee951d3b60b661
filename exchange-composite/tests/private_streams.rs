//! The private streams against exchange-sim: an order's life arrives as order updates; a
//! crossing order brings fills and balance updates; an expired listen key is replaced and the
//! updates flow again on the new one; a malformed private frame is counted and breaks nothing.
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
    AssetName, ExchangeContext, ExchangeError, Exchanges, Order, OrderRequest, OrderStatus,
    OrderUpdate, PrivateCompositeExchange, Side,
};
use exchange_sim::SimVenue;
use exchange_streams::Subscription;
use exchange_ws::SubscriptionState;
use futures::StreamExt;
use lifecycle_core::ShutdownReport;
use rust_decimal::Decimal;
use tokio::time::Instant;

/// Waits until the venue acknowledged the three private subscriptions on the current
/// connection: from then on, nothing the venue pushes about our account is missed.
async fn private_channels_active(private: &PrivateCompositeExchange) {
    eventually(
        Duration::from_secs(10),
        "the private subscriptions to be acknowledged",
        || {
            let subscriptions = private.socket().subscriptions();
            subscriptions.len() == 3
                && subscriptions
                    .iter()
                    .all(|(_, state)| *state == SubscriptionState::Active)
        },
    )
    .await;
}

/// Reads `subscription` until an item satisfies `wanted`, failing after `limit`.
async fn next_matching<T, F>(
    subscription: &mut Subscription<T>,
    limit: Duration,
    what: &str,
    mut wanted: F,
) -> T
where
    T: Clone + Send + Sync + std::fmt::Debug + 'static,
    F: FnMut(&T) -> bool,
{
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, subscription.next()).await {
            Ok(Some(Ok(item))) if wanted(&item) => return item,
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(lagged))) => panic!("{what}: the subscription lagged: {lagged:?}"),
            Ok(None) => panic!("{what}: the stream ended"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

/// The update of `order_id` with `status`.
fn update_of(order_id: &str, status: OrderStatus) -> impl FnMut(&OrderUpdate) -> bool + use<'_> {
    move |update| update.order_id == order_id && update.status == status
}

/// Places a far (resting) order of 30 on `side` and waits for its New update.
async fn rest_and_see_new(
    private: &PrivateCompositeExchange,
    updates: &mut Subscription<OrderUpdate>,
    side: Side,
) -> Result<(Order, OrderUpdate), ExchangeError> {
    let price = match side {
        Side::Buy => far_bid(),
        Side::Sell => far_ask(),
    };
    let order = private
        .place_order(OrderRequest::limit_maker(
            hifi(),
            side,
            price,
            Decimal::from(30),
        ))
        .await?;
    let new = next_matching(
        updates,
        Duration::from_secs(5),
        "the New update",
        update_of(&order.order_id, OrderStatus::New),
    )
    .await;
    Ok((order, new))
}

/// Runs `body` in a context on a fresh venue once the private channels are acknowledged,
/// with a subscription to our order updates taken before; returns the venue (still running)
/// and the shutdown report.
async fn on_private_streams<F>(body: F) -> (SimVenue, ShutdownReport)
where
    F: AsyncFnOnce(&SimVenue, &Exchanges, Subscription<OrderUpdate>) -> Result<(), ExchangeError>,
{
    let sim = venue().await;
    let config = config_for(&sim);
    let sim_ref = &sim;
    let outcome = ExchangeContext::run(&config, |ex| async move {
        let updates = ex.private.subscribe_order_updates()?;
        private_channels_active(&ex.private).await;
        body(sim_ref, &ex, updates).await
    })
    .await
    .unwrap();
    (sim, outcome.report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_round_trip_arrives_as_order_updates() {
    bounded(async {
        let (sim, report) = on_private_streams(async |sim, ex, mut updates| {
            let private = &ex.private;

            let (order, new) = rest_and_see_new(private, &mut updates, Side::Buy).await?;
            assert_eq!(private.tracked_orders(), 1);
            assert_eq!(new.client_order_id, order.client_order_id);
            assert_eq!(new.side, Side::Buy);
            assert_eq!(new.price, far_bid());
            assert_eq!(new.quantity, Decimal::from(30));
            assert_eq!(new.filled_quantity, Decimal::ZERO);
            assert_eq!(new.symbol_code, SYMBOL_CODE);

            let id = order.client_order_id.clone().unwrap();
            let cancelled = private.cancel_order(&hifi(), &id).await?;
            assert_eq!(cancelled.status, OrderStatus::Canceled);
            let update = next_matching(
                &mut updates,
                Duration::from_secs(5),
                "the Canceled update",
                update_of(&order.order_id, OrderStatus::Canceled),
            )
            .await;
            assert_eq!(update.client_order_id, Some(id));
            assert_eq!(private.tracked_orders(), 0, "a closed order is forgotten");
            assert!(venue_open_orders(sim).is_empty());
            Ok(())
        })
        .await;
        assert!(report.is_clean(), "{report}");
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crossing_order_brings_fills_and_balance_updates() {
    bounded(async {
        let hifi_asset = AssetName::new("HIFI").unwrap();
        let usdt_asset = AssetName::new("USDT").unwrap();
        let (sim, report) = on_private_streams(async |sim, ex, mut updates| {
            let private = &ex.private;
            let mut fills = private.subscribe_fills()?;
            let mut balance_updates = private.subscribe_balance_updates()?;
            // Seeded from the account at start.
            let seeded = private.balance(&hifi_asset).expect("seeded at start");
            assert_eq!(seeded.free, Decimal::from(1_000_000));

            // Well above the venue's best ask: it takes liquidity at once.
            let best_ask = sim.depth(SYMBOL_CODE, 1).unwrap().asks[0].0;
            let price = best_ask * Decimal::new(11, 1);
            let quantity = Decimal::from(30);
            let order = private
                .place_order(OrderRequest::limit(hifi(), Side::Buy, price, quantity))
                .await?;

            let fill = next_matching(&mut fills, Duration::from_secs(5), "a fill", |f| {
                f.order_id == order.order_id
            })
            .await;
            assert_eq!(fill.side, Side::Buy);
            assert_eq!(fill.client_order_id, order.client_order_id);
            assert!(!fill.is_maker, "a crossing order takes liquidity");
            assert!(fill.quantity > Decimal::ZERO && fill.quantity <= quantity);
            assert!(fill.price <= price, "filled at or better than the limit");

            let hifi_update = next_matching(
                &mut balance_updates,
                Duration::from_secs(5),
                "a HIFI balance update",
                |b| b.asset == hifi_asset,
            )
            .await;
            assert!(hifi_update.free > seeded.free, "HIFI bought");
            // The latest balances follow the pushes.
            eventually(Duration::from_secs(5), "the pushed balances", || {
                let usdt = private.balance(&usdt_asset).unwrap();
                let hifi = private.balance(&hifi_asset).unwrap();
                usdt.free + usdt.locked < Decimal::from(100_000) && hifi.free > seeded.free
            })
            .await;

            // Fully filled at once: the order closes and is forgotten.
            let filled = next_matching(
                &mut updates,
                Duration::from_secs(5),
                "the Filled update",
                update_of(&order.order_id, OrderStatus::Filled),
            )
            .await;
            assert_eq!(filled.filled_quantity, quantity);
            assert_eq!(private.tracked_orders(), 0);
            Ok(())
        })
        .await;
        assert!(report.is_clean(), "{report}");
        let after = sim.balances(exchange_sim::DEMO_API_KEY).unwrap();
        assert!(
            after["HIFI"].free > Decimal::from(1_000_000),
            "the venue agrees"
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_listen_key_is_replaced_and_updates_flow_again() {
    bounded(async {
        let (sim, report) = on_private_streams(async |sim, ex, mut updates| {
            let private = &ex.private;
            assert_eq!(private.listen_keys_created(), 1);
            let keys = rest_of(ex).client.listen_keys().await?;
            assert_eq!(keys.len(), 1, "{keys:?}");
            let old = keys[0].clone();

            assert!(sim.faults().expire_listen_key(&old));
            eventually(Duration::from_secs(10), "a second listen key", || {
                private.listen_keys_created() == 2
            })
            .await;
            eventually(
                Duration::from_secs(10),
                "a connection on the new key",
                || private.socket().stats().connections >= 2,
            )
            .await;
            private_channels_active(private).await;
            let keys = rest_of(ex).client.listen_keys().await?;
            assert_eq!(keys.len(), 1, "only the new key is live: {keys:?}");
            assert_ne!(keys[0], old);

            // Order updates flow on the new key.
            let (order, new) = rest_and_see_new(private, &mut updates, Side::Sell).await?;
            assert_eq!(new.client_order_id, order.client_order_id);
            Ok(())
        })
        .await;
        assert!(report.is_clean(), "{report}");
        assert!(venue_open_orders(&sim).is_empty());
        // The stop deleted the (new) key.
        let private = report
            .resource("mexc.private")
            .unwrap()
            .report
            .clone()
            .unwrap();
        let socket = &private.details.children[1];
        assert!(
            socket
                .details
                .counters
                .contains(&("listen_keys_created", 2)),
            "{socket}"
        );
        assert!(socket.details.counters.contains(&("listen_keys_closed", 1)));
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_private_frame_is_counted_and_breaks_nothing() {
    bounded(async {
        let (sim, report) = on_private_streams(async |sim, ex, mut updates| {
            let private = &ex.private;
            assert_eq!(private.frame_counts().1, 0);

            assert!(
                sim.faults().push_malformed_frame() >= 2,
                "public and private sockets"
            );
            eventually(
                Duration::from_secs(5),
                "the bad frame to be counted",
                || private.frame_counts().1 == 1,
            )
            .await;

            // Same connection, still working: an order's updates arrive and decode.
            let decoded = private.frame_counts().0;
            let (order, new) = rest_and_see_new(private, &mut updates, Side::Buy).await?;
            assert_eq!(new.client_order_id, order.client_order_id);
            assert!(private.frame_counts().0 > decoded);
            assert_eq!(private.frame_counts().1, 1);
            let stats = private.socket().stats();
            assert_eq!(stats.connections, 1, "no reconnect: {stats:?}");
            assert_eq!(stats.handler_errors + stats.handler_panics, 0, "{stats:?}");
            Ok(())
        })
        .await;
        assert!(report.is_clean(), "{report}");
        assert!(venue_open_orders(&sim).is_empty());
        sim.shutdown().await;
    })
    .await;
}
