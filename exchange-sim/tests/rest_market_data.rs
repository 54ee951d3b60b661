//! The market-data and account endpoints MEXC documents and common clients call: price
//! tickers, 24 h statistics, average price, recent trades, the account's trades, the user
//! id, and batch orders; an endpoint the venue does not serve answers in MEXC's shape.
#![allow(clippy::unwrap_used)]

mod common;

use common::{BOB_KEY, BOB_SECRET, Client, bounded, quiet_venue};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A venue where BOB rests a sell of 100 HIFI at 0.1 and the demo account buys 30 of it.
async fn venue_with_one_trade() -> (exchange_sim::SimVenue, Client, String) {
    let sim = quiet_venue(500).await;
    let demo = Client::demo(&sim);
    let bob = Client::new(&sim, BOB_KEY, BOB_SECRET);
    bob.limit("HIFIUSDT", "SELL", "0.1", "100").await;
    let (status, taker) = demo
        .new_order("symbol=HIFIUSDT&side=BUY&type=MARKET&quantity=30&newClientOrderId=taker-1")
        .await;
    assert_eq!(status, StatusCode::OK, "{taker}");
    let order_id = taker["orderId"].as_str().unwrap().to_owned();
    (sim, demo, order_id)
}

#[tokio::test]
async fn tickers_trades_and_average_price() {
    bounded(async {
        let (sim, demo, _) = venue_with_one_trade().await;
        let (status, price) = demo.get("/api/v3/ticker/price?symbol=HIFIUSDT").await;
        assert_eq!(status, StatusCode::OK, "{price}");
        assert_eq!(
            price,
            serde_json::json!({"symbol": "HIFIUSDT", "price": "0.1"})
        );
        let (_, all) = demo.get("/api/v3/ticker/price").await;
        let symbols: Vec<&str> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["symbol"].as_str().unwrap())
            .collect();
        assert_eq!(symbols, ["HIFIUSDT", "BTCUSDT"]);
        assert!(all[1]["price"].is_string());
        let (_, unknown) = demo.get("/api/v3/ticker/price?symbol=NOPEUSDT").await;
        assert_eq!(unknown["code"], 10007);

        let (status, day) = demo.get("/api/v3/ticker/24hr?symbol=HIFIUSDT").await;
        assert_eq!(status, StatusCode::OK, "{day}");
        assert_eq!(day["lastPrice"], "0.1");
        assert_eq!(day["lastQty"], "30");
        assert_eq!(day["volume"], "30");
        assert_eq!(day["highPrice"], "0.1");
        assert_eq!(day["askPrice"], "0.1");
        assert_eq!(day["askQty"], "70");
        assert_eq!(day["quoteVolume"], Value::Null);
        assert!(day["openTime"].is_i64() && day["closeTime"].is_i64());
        let (_, days) = demo.get("/api/v3/ticker/24hr").await;
        assert_eq!(days.as_array().unwrap().len(), 2);

        let (_, avg) = demo.get("/api/v3/avgPrice?symbol=HIFIUSDT").await;
        assert_eq!(avg, serde_json::json!({"mins": 5, "price": "0.1"}));
        let (_, missing) = demo.get("/api/v3/avgPrice").await;
        assert_eq!(missing["code"], -1102);

        let (status, trades) = demo.get("/api/v3/trades?symbol=HIFIUSDT&limit=5").await;
        assert_eq!(status, StatusCode::OK, "{trades}");
        let trades = trades.as_array().unwrap();
        assert_eq!(trades.len(), 1);
        assert_eq!(trades[0]["price"], "0.1");
        assert_eq!(trades[0]["qty"], "30");
        assert_eq!(trades[0]["quoteQty"], "3");
        assert_eq!(trades[0]["isBuyerMaker"], false);
        assert_eq!(trades[0]["id"], Value::Null);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn my_trades_and_uid() {
    bounded(async {
        let (sim, demo, order_id) = venue_with_one_trade().await;
        let (status, mine) = demo
            .signed(Method::GET, "/api/v3/myTrades", "symbol=HIFIUSDT")
            .await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        let mine = mine.as_array().unwrap();
        assert_eq!(mine.len(), 1);
        let fill = &mine[0];
        assert_eq!(fill["orderId"], order_id.as_str());
        assert_eq!(fill["clientOrderId"], "taker-1");
        assert_eq!(
            (fill["price"].as_str(), fill["qty"].as_str()),
            (Some("0.1"), Some("30"))
        );
        assert_eq!(
            (fill["isBuyer"].as_bool(), fill["isMaker"].as_bool()),
            (Some(true), Some(false))
        );
        assert!(fill["id"].is_string() && fill["commission"].is_string());
        let bob = Client::new(&sim, BOB_KEY, BOB_SECRET);
        let (_, theirs) = bob
            .signed(Method::GET, "/api/v3/myTrades", "symbol=HIFIUSDT")
            .await;
        assert_eq!(theirs[0]["isMaker"], true);
        assert_eq!(theirs[0]["clientOrderId"], Value::Null);
        let (_, filtered) = demo
            .signed(
                Method::GET,
                "/api/v3/myTrades",
                "symbol=HIFIUSDT&orderId=C02__999",
            )
            .await;
        assert_eq!(filtered.as_array().map(Vec::len), Some(0));

        let (status, uid) = demo.signed(Method::GET, "/api/v3/uid", "").await;
        assert_eq!(status, StatusCode::OK, "{uid}");
        let (_, bob_uid) = bob.signed(Method::GET, "/api/v3/uid", "").await;
        let uid = uid["uid"].as_str().unwrap();
        assert!(uid.bytes().all(|b| b.is_ascii_digit()), "{uid}");
        assert_ne!(Some(uid), bob_uid["uid"].as_str());
        let (_, unsigned) = demo.get("/api/v3/uid").await;
        assert!(unsigned["code"].is_i64(), "{unsigned}");
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn batch_orders_answer_each_order() {
    bounded(async {
        let sim = quiet_venue(500).await;
        let demo = Client::demo(&sim);
        let batch = r#"[{"symbol":"HIFIUSDT","side":"BUY","type":"LIMIT","quantity":"20","price":"0.09","newClientOrderId":"b-1"},{"symbol":"HIFIUSDT","side":"BUY","type":"LIMIT","quantity":"20","price":"-1","newClientOrderId":"b-2"},{"symbol":"HIFIUSDT","side":"SELL","type":"LIMIT_MAKER","quantity":"20","price":"0.2"}]"#;
        let encoded: String = batch
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        let (status, answers) = demo
            .signed(Method::POST, "/api/v3/batchOrders", &format!("batchOrders={encoded}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{answers}");
        let answers = answers.as_array().unwrap();
        assert_eq!(answers.len(), 3);
        assert!(answers[0]["orderId"].is_string(), "{:?}", answers[0]);
        assert_eq!(answers[1]["newClientOrderId"], "b-2");
        assert_eq!(answers[1]["code"], 30087);
        assert!(answers[2]["orderId"].is_string(), "{:?}", answers[2]);
        assert_eq!(sim.open_orders(exchange_sim::DEMO_API_KEY).unwrap().len(), 2);
        let (_, bad) = demo
            .signed(Method::POST, "/api/v3/batchOrders", "batchOrders=notjson")
            .await;
        assert_eq!(bad["code"], 700008);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn endpoints_not_served_answer_in_mexc_shape() {
    bounded(async {
        let sim = quiet_venue(500).await;
        let demo = Client::demo(&sim);
        for path in [
            "/api/v3/klines?symbol=HIFIUSDT&interval=1m",
            "/api/v3/aggTrades?symbol=HIFIUSDT",
            "/api/v3/nope",
        ] {
            let (status, body) = demo.get(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(body["code"], 404, "{path}: {body}");
            assert!(body["msg"].is_string());
        }
        sim.shutdown().await;
    })
    .await;
}
