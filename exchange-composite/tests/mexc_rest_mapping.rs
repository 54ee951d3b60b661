//! REST models into domain types, from the venue's own answers (exchange-sim in-process).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

use std::sync::Arc;
use std::time::Duration;

use exchange_composite::mexc::{
    MexcDepthVersions, order_from_rest, rules_from_info, side_to_rest, snapshot_from_rest,
    symbol_code, symbol_from_info,
};
use exchange_composite::{DiffOutcome, LocalOrderBook, OrderStatus, OrderType, Side};
use exchange_rest::{
    Credentials, MexcRestClient, MexcRestConfig, NewOrderRequest, RateLimiter, mexc_spot_limits,
};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
use lifecycle_core::AsyncResource;

#[tokio::test]
async fn exchange_info_orders_and_depth_map_into_the_domain() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let sim = SimVenue::start(SimConfig::paused()).await.unwrap();
        let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("test")));
        let config = MexcRestConfig::new(sim.rest_url())
            .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET));
        let client = MexcRestClient::new(config, limiter.clone()).unwrap();
        limiter.start().await.unwrap();
        client.start().await.unwrap();

        let info = client.exchange_info(&["HIFIUSDT"]).await.unwrap();
        let entry = info
            .symbols
            .iter()
            .find(|s| s.symbol == "HIFIUSDT")
            .unwrap();
        let symbol = symbol_from_info(entry).unwrap();
        assert_eq!(symbol_code(&symbol), "HIFIUSDT");
        let rules = rules_from_info(entry).unwrap();
        // The demo's order: 2.1 USDT of HIFI at the bid, sized and rounded by the venue's rules.
        let depth = client.depth("HIFIUSDT", Some(20)).await.unwrap();
        let best_bid = depth.bids.first().unwrap().price;
        // At the best bid a post-only buy never crosses.
        let price = rules.round_price(best_bid, Side::Buy);
        let quantity = rules
            .quantity_for_notional("2.1".parse().unwrap(), price)
            .unwrap();
        let request =
            NewOrderRequest::limit_maker("HIFIUSDT", side_to_rest(Side::Buy), price, quantity)
                .client_order_id("qsc-test-1");
        let ack = client.place_order(&request).await.unwrap();

        let open = client.open_orders("HIFIUSDT").await.unwrap();
        let ours = open.iter().find(|o| o.order_id == ack.order_id).unwrap();
        let order = order_from_rest(ours, &symbol).unwrap();
        assert_eq!(order.side, Side::Buy);
        assert_eq!(order.order_type, OrderType::LimitMaker);
        assert_eq!(order.status, OrderStatus::New);
        assert_eq!(order.quantity, quantity);
        assert_eq!(order.price, price);
        assert_eq!(order.client_order_id.unwrap().as_str(), "qsc-test-1");

        let mut book = LocalOrderBook::new(Arc::new(MexcDepthVersions));
        assert_eq!(
            book.on_snapshot(snapshot_from_rest("HIFIUSDT", &depth).unwrap()),
            DiffOutcome::Applied
        );
        assert_eq!(book.book().best_bid().unwrap().price, best_bid);
        assert!(!book.book().is_crossed());

        client.cancel_all_orders(&["HIFIUSDT"]).await.unwrap();
        assert!(client.stop_within(Duration::from_secs(2)).await.is_clean());
        assert!(limiter.stop_within(Duration::from_secs(2)).await.is_clean());
        sim.shutdown().await;
    })
    .await
    .expect("test timed out");
}

/// A REST snapshot or order with a price or quantity outside the venue range is a typed
/// mapping error, not a value that overflows later.
#[test]
fn rest_values_outside_the_venue_range_are_typed_errors() {
    let snapshot: exchange_rest::model::OrderBookSnapshot = serde_json::from_str(
        r#"{"lastUpdateId":7,"bids":[["70000000000000000000000000000","1"]],"asks":[["79000000000000000000000000000","1"]]}"#,
    )
    .unwrap();
    let error = snapshot_from_rest("HUGEUSDT", &snapshot).unwrap_err();
    assert!(error.to_string().contains("depth price"), "{error}");
    let negative: exchange_rest::model::OrderBookSnapshot =
        serde_json::from_str(r#"{"lastUpdateId":7,"bids":[["0.1","-5"]],"asks":[]}"#).unwrap();
    let error = snapshot_from_rest("HIFIUSDT", &negative).unwrap_err();
    assert!(error.to_string().contains("negative"), "{error}");

    let order: exchange_rest::model::Order = serde_json::from_str(
        r#"{"symbol":"HIFIUSDT","orderId":"C02__1","clientOrderId":"qsc-1","price":"70000000000000000000000000000","origQty":"1","executedQty":"0","cummulativeQuoteQty":"0","status":"NEW","type":"LIMIT_MAKER","side":"BUY","time":1,"updateTime":1}"#,
    )
    .unwrap();
    let symbol = exchange_composite::Symbol::spot(
        exchange_composite::AssetName::new("HIFI").unwrap(),
        exchange_composite::AssetName::new("USDT").unwrap(),
    );
    let error = order_from_rest(&order, &symbol).unwrap_err();
    assert!(error.to_string().contains("price"), "{error}");
}
