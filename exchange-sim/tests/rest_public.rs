//! Public REST endpoints: shapes, string numbers, errors.

mod common;

use common::{Client, bounded, start_with_market_paused};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn ping_time_and_startup_calls() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let client = Client::demo(&sim);
        assert_eq!(
            client.get("/api/v3/ping").await,
            (StatusCode::OK, json!({}))
        );
        let (status, time) = client.get("/api/v3/time").await;
        assert_eq!(status, StatusCode::OK);
        let server = time["serverTime"].as_i64().unwrap();
        assert!((server - exchange_sim::format::now_ms()).abs() < 5_000);
        assert_eq!(
            client.get("/api/v1/contract/detail").await,
            (
                StatusCode::OK,
                json!({"success": true, "code": 0, "data": []})
            )
        );
        let (status, body) = client.get("/api/v3/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], 404);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn exchange_info_shapes_and_filters() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let client = Client::demo(&sim);
        let (status, info) = client.get("/api/v3/exchangeInfo").await;
        assert_eq!(status, StatusCode::OK);
        for key in [
            "timezone",
            "serverTime",
            "rateLimits",
            "exchangeFilters",
            "symbols",
        ] {
            assert!(info.get(key).is_some(), "missing {key}");
        }
        assert_eq!(info["symbols"].as_array().unwrap().len(), 2);
        let (_, hifi) = client.get("/api/v3/exchangeInfo?symbol=HIFIUSDT").await;
        let s = &hifi["symbols"][0];
        assert_eq!(s["symbol"], "HIFIUSDT");
        assert_eq!(s["status"], "1");
        assert_eq!(s["baseAsset"], "HIFI");
        assert_eq!(s["quoteAsset"], "USDT");
        assert_eq!(s["baseAssetPrecision"], 2);
        assert_eq!(s["quotePrecision"], 5);
        assert_eq!(s["quoteAssetPrecision"], 5);
        assert_eq!(s["baseSizePrecision"], "0.01");
        // A 2.1 USDT order clears the minimum notional.
        let min_notional: f64 = s["quoteAmountPrecision"].as_str().unwrap().parse().unwrap();
        assert!(min_notional <= 2.0);
        assert!(
            s["orderTypes"]
                .as_array()
                .unwrap()
                .contains(&json!("LIMIT_MAKER"))
        );
        assert_eq!(s["permissions"], json!(["SPOT"]));
        for key in [
            "maxQuoteAmount",
            "makerCommission",
            "takerCommission",
            "tradeSideType",
            "isSpotTradingAllowed",
            "filters",
            "baseCommissionPrecision",
            "quoteCommissionPrecision",
            "isMarginTradingAllowed",
        ] {
            assert!(s.get(key).is_some(), "missing {key}");
        }
        let (_, both) = client
            .get("/api/v3/exchangeInfo?symbols=HIFIUSDT,BTCUSDT")
            .await;
        assert_eq!(both["symbols"].as_array().unwrap().len(), 2);
        let (status, bad) = client.get("/api/v3/exchangeInfo?symbol=NOPEUSDT").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(bad["code"], 10007);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn depth_and_book_ticker() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let client = Client::demo(&sim);
        let (status, depth) = client.get("/api/v3/depth?symbol=HIFIUSDT&limit=5").await;
        assert_eq!(status, StatusCode::OK);
        let bids = depth["bids"].as_array().unwrap();
        let asks = depth["asks"].as_array().unwrap();
        assert_eq!(bids.len(), 5);
        assert_eq!(asks.len(), 5);
        let price = |level: &serde_json::Value| level[0].as_str().unwrap().parse::<f64>().unwrap();
        assert!(price(&bids[0]) < price(&asks[0]));
        assert!(price(&bids[0]) > price(&bids[1]));
        assert!(price(&asks[0]) < price(&asks[1]));
        assert!(bids[0][1].is_string());
        let snapshot = sim.depth("HIFIUSDT", 5).unwrap();
        assert_eq!(depth["lastUpdateId"].as_u64().unwrap(), snapshot.version);

        let (_, ticker) = client
            .get("/api/v3/ticker/bookTicker?symbol=HIFIUSDT")
            .await;
        assert_eq!(ticker["symbol"], "HIFIUSDT");
        assert_eq!(ticker["bidPrice"], bids[0][0]);
        assert_eq!(ticker["bidQty"], bids[0][1]);
        assert_eq!(ticker["askPrice"], asks[0][0]);
        assert_eq!(ticker["askQty"], asks[0][1]);
        let (_, all) = client.get("/api/v3/ticker/bookTicker").await;
        assert_eq!(all.as_array().unwrap().len(), 2);

        let (status, bad) = client.get("/api/v3/depth?symbol=NOPE").await;
        assert_eq!(
            (status, bad["code"].clone()),
            (StatusCode::BAD_REQUEST, json!(10007))
        );
        let (_, missing) = client.get("/api/v3/depth").await;
        assert_eq!(missing["code"], -1102);
        let (_, bad_limit) = client.get("/api/v3/depth?symbol=HIFIUSDT&limit=abc").await;
        assert_eq!(bad_limit["code"], 700008);
        let (_, malformed) = client.get("/api/v3/depth?symbol=HIFI%ZZ").await;
        assert_eq!(malformed["code"], 700008);
        sim.shutdown().await;
    })
    .await;
}
