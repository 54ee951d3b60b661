//! Signed trading endpoints against a quiet book (no synthetic quotes): orders, fills,
//! balances, fees, queries, cancels and validation errors.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{BOB_KEY, BOB_SECRET, Client, bounded, quiet_venue};
use exchange_sim::{DEMO_API_KEY, SimVenue};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::Value;

/// Real MEXC sends `null` for these three fields of a spot order object (captures quoted in
/// c9s/bbgo `pkg/exchange/mexc/exchange.go` and elertan/mexc-rs `src/spot/v3/get_open_orders.rs`).
fn assert_mexc_nulls(order: &Value) {
    for key in ["timeInForce", "stopPrice", "icebergQty"] {
        assert_eq!(order.get(key), Some(&Value::Null), "{key} in {order}");
    }
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .parse()
        .unwrap()
}

fn balance(sim: &SimVenue, key: &str, asset: &str) -> (Decimal, Decimal) {
    let b = sim
        .balances(key)
        .unwrap()
        .get(asset)
        .copied()
        .unwrap_or_default();
    (b.free, b.locked)
}

#[tokio::test]
async fn limit_order_lifecycle() {
    bounded(async {
        let sim = quiet_venue(500).await;
        let demo = Client::demo(&sim);
        let (status, placed) = demo
            .new_order("symbol=HIFIUSDT&side=BUY&type=LIMIT&price=0.09&quantity=100&newClientOrderId=mm-b-1")
            .await;
        assert_eq!(status, StatusCode::OK, "{placed}");
        let id = placed["orderId"].as_str().unwrap().to_owned();
        assert!(id.starts_with("C02__"));
        assert_eq!(placed["orderListId"], -1);
        assert_eq!(placed["price"], "0.09");
        assert_eq!(placed["origQty"], "100");
        assert_eq!(placed["type"], "LIMIT");
        assert_eq!(placed["side"], "BUY");
        assert!(placed["transactTime"].is_i64());
        assert!(placed.get("status").is_none());
        assert_eq!(balance(&sim, DEMO_API_KEY, "USDT"), (Decimal::from(99_991), Decimal::from(9)));

        for query in [format!("orderId={id}"), "origClientOrderId=mm-b-1".to_owned()] {
            let (status, order) = demo.query_order(&format!("symbol=HIFIUSDT&{query}")).await;
            assert_eq!(status, StatusCode::OK, "{order}");
            assert_eq!(order["orderId"], id.as_str());
            assert_eq!(order["clientOrderId"], "mm-b-1");
            assert_eq!(order["status"], "NEW");
            assert_eq!(order["executedQty"], "0");
            assert_eq!(order["cummulativeQuoteQty"], "0");
            assert_eq!(order["isWorking"], true);
            assert_eq!(order["origQuoteOrderQty"], "9");
            for key in ["time", "updateTime", "symbol", "side", "type", "price", "origQty"] {
                assert!(order.get(key).is_some(), "missing {key}");
            }
            assert_mexc_nulls(&order);
        }
        let (_, open) = demo.signed(Method::GET, "/api/v3/openOrders", "symbol=HIFIUSDT").await;
        assert_eq!(open.as_array().unwrap().len(), 1);
        assert_mexc_nulls(&open[0]);
        assert_eq!(sim.open_orders(DEMO_API_KEY).unwrap().len(), 1);

        let (status, cancelled) = demo.cancel_order(&format!("symbol=HIFIUSDT&orderId={id}")).await;
        assert_eq!(status, StatusCode::OK, "{cancelled}");
        assert_eq!(cancelled["status"], "CANCELED");
        assert_eq!(cancelled["origClientOrderId"], "mm-b-1");
        assert_mexc_nulls(&cancelled);
        let (status, again) = demo.cancel_order(&format!("symbol=HIFIUSDT&orderId={id}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(again["code"], -2011);
        // A query of an unknown order is -2013 (ccxt/ccxt#21614), a cancel stays -2011.
        let (status, unknown) = demo.query_order("symbol=HIFIUSDT&orderId=C02__999999").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(unknown, serde_json::json!({"msg": "Order does not exist.", "code": -2013, "_extend": null}));
        let (_, unknown) = demo.query_order("symbol=HIFIUSDT&origClientOrderId=never-sent").await;
        assert_eq!(unknown["code"], -2013);
        let (_, unknown) = demo.cancel_order("symbol=HIFIUSDT&orderId=C02__999999").await;
        assert_eq!(unknown["code"], -2011);
        assert_eq!(balance(&sim, DEMO_API_KEY, "USDT"), (Decimal::from(100_000), Decimal::ZERO));
        let (_, all) = demo.signed(Method::GET, "/api/v3/allOrders", "symbol=HIFIUSDT&limit=10").await;
        assert_eq!(all.as_array().unwrap().len(), 1);
        assert_eq!(all[0]["status"], "CANCELED");
        assert_mexc_nulls(&all[0]);
        // Other accounts cannot see or cancel it.
        let bob = Client::new(&sim, BOB_KEY, BOB_SECRET);
        let (_, foreign) = bob.query_order(&format!("symbol=HIFIUSDT&orderId={id}")).await;
        assert_eq!(foreign["code"], -2013);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn taker_meets_maker_with_fees() {
    bounded(async {
        let sim = quiet_venue(500).await;
        let demo = Client::demo(&sim);
        let bob = Client::new(&sim, BOB_KEY, BOB_SECRET);
        let maker = bob.limit("HIFIUSDT", "SELL", "0.1", "100").await;
        assert_eq!(
            balance(&sim, BOB_KEY, "HIFI"),
            (Decimal::from(900), Decimal::from(100))
        );
        let taker = demo.limit("HIFIUSDT", "BUY", "0.11", "150").await;
        let (_, m) = bob
            .query_order(&format!("symbol=HIFIUSDT&orderId={maker}"))
            .await;
        assert_eq!(m["status"], "FILLED");
        assert_eq!(m["executedQty"], "100");
        assert_eq!(m["cummulativeQuoteQty"], "10");
        let (_, t) = demo
            .query_order(&format!("symbol=HIFIUSDT&orderId={taker}"))
            .await;
        assert_eq!(t["status"], "PARTIALLY_FILLED");
        assert_eq!(t["executedQty"], "100");
        assert_eq!(t["cummulativeQuoteQty"], "10");
        // Taker paid 10 USDT at the maker's price, 50 x 0.11 stays locked; fee 0.05% in HIFI.
        assert_eq!(
            balance(&sim, DEMO_API_KEY, "USDT"),
            (dec(&"99984.5".into()), dec(&"5.5".into()))
        );
        assert_eq!(
            balance(&sim, DEMO_API_KEY, "HIFI"),
            (dec(&"1000099.95".into()), Decimal::ZERO)
        );
        // Maker fee is zero.
        assert_eq!(
            balance(&sim, BOB_KEY, "USDT"),
            (Decimal::from(1010), Decimal::ZERO)
        );
        assert_eq!(
            balance(&sim, BOB_KEY, "HIFI"),
            (Decimal::from(900), Decimal::ZERO)
        );
        let (_, depth) = demo.get("/api/v3/depth?symbol=HIFIUSDT").await;
        assert_eq!(depth["bids"][0], serde_json::json!(["0.11", "50"]));
        assert_eq!(depth["asks"].as_array().unwrap().len(), 0);
        sim.check_invariants().unwrap();
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn market_ioc_fok_and_limit_maker() {
    bounded(async {
        let sim = quiet_venue(500).await;
        let demo = Client::demo(&sim);
        let bob = Client::new(&sim, BOB_KEY, BOB_SECRET);
        bob.limit("HIFIUSDT", "SELL", "0.1", "100").await;
        bob.limit("HIFIUSDT", "SELL", "0.12", "100").await;
        let place = |params: &'static str| {
            let demo = demo.clone();
            async move { demo.new_order(params).await }
        };
        let query = |id: String| {
            let demo = demo.clone();
            async move {
                demo.query_order(&format!("symbol=HIFIUSDT&orderId={id}"))
                    .await
                    .1
            }
        };
        // LIMIT_MAKER that would take is rejected; one that rests is accepted.
        let (status, rejected) =
            place("symbol=HIFIUSDT&side=BUY&type=LIMIT_MAKER&price=0.1&quantity=20").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(rejected["code"], -2010);
        let (status, _) =
            place("symbol=HIFIUSDT&side=BUY&type=LIMIT_MAKER&price=0.09&quantity=20").await;
        assert_eq!(status, StatusCode::OK);
        // FOK for more than is available at the price: nothing fills.
        let (_, fok) =
            place("symbol=HIFIUSDT&side=BUY&type=FILL_OR_KILL&price=0.1&quantity=150").await;
        let fok = query(fok["orderId"].as_str().unwrap().into()).await;
        assert_eq!(fok["status"], "CANCELED");
        assert_eq!(fok["executedQty"], "0");
        // IOC takes what it can at its price, the rest is cancelled.
        let (_, ioc) =
            place("symbol=HIFIUSDT&side=BUY&type=IMMEDIATE_OR_CANCEL&price=0.1&quantity=30").await;
        let ioc = query(ioc["orderId"].as_str().unwrap().into()).await;
        assert_eq!(ioc["status"], "FILLED");
        let (_, ioc) =
            place("symbol=HIFIUSDT&side=BUY&type=IMMEDIATE_OR_CANCEL&price=0.1&quantity=80").await;
        let ioc = query(ioc["orderId"].as_str().unwrap().into()).await;
        assert_eq!(ioc["status"], "PARTIALLY_CANCELED");
        assert_eq!(ioc["executedQty"], "70");
        // MARKET by quote amount: 6 USDT at 0.12 buys 50.
        let (_, market) = place("symbol=HIFIUSDT&side=BUY&type=MARKET&quoteOrderQty=6").await;
        let market = query(market["orderId"].as_str().unwrap().into()).await;
        assert_eq!(market["status"], "FILLED");
        assert_eq!(market["executedQty"], "50");
        assert_eq!(market["cummulativeQuoteQty"], "6");
        // MARKET by quantity sells into our own resting bid at 0.09 (self-trade allowed).
        let (_, sell) = place("symbol=HIFIUSDT&side=SELL&type=MARKET&quantity=20").await;
        let sell = query(sell["orderId"].as_str().unwrap().into()).await;
        assert_eq!(sell["status"], "FILLED");
        assert_eq!(sell["cummulativeQuoteQty"], "1.8");
        // MARKET into an empty side: cancelled, nothing locked.
        let (_, empty) = place("symbol=HIFIUSDT&side=SELL&type=MARKET&quantity=20").await;
        let empty = query(empty["orderId"].as_str().unwrap().into()).await;
        assert_eq!(empty["status"], "CANCELED");
        assert_eq!(balance(&sim, DEMO_API_KEY, "USDT").1, Decimal::ZERO);
        assert_eq!(balance(&sim, DEMO_API_KEY, "HIFI").1, Decimal::ZERO);
        sim.check_invariants().unwrap();
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn validation_errors_and_test_order() {
    bounded(async {
        let sim = quiet_venue(2).await;
        let demo = Client::demo(&sim);
        let code = |params: String| {
            let demo = demo.clone();
            async move { demo.new_order(&params).await.1["code"].as_i64().unwrap() }
        };
        let limit = |price: &str, qty: &str| {
            format!("symbol=HIFIUSDT&side=BUY&type=LIMIT&price={price}&quantity={qty}")
        };
        assert_eq!(code(limit("0.1", "5")).await, 30002, "below min notional");
        assert_eq!(
            code(limit("0.1", "0.001")).await,
            30002,
            "below min quantity"
        );
        assert_eq!(code(limit("0.123456", "100")).await, 400, "price precision");
        assert_eq!(
            code(limit("0.1", "10.123")).await,
            400,
            "quantity precision"
        );
        assert_eq!(code(limit("0", "100")).await, 30087, "zero price");
        assert_eq!(
            code(limit("9999999999999", "1")).await,
            30087,
            "absurd price"
        );
        assert_eq!(
            code(limit("0.1", "99999999999999999999999")).await,
            30003,
            "absurd quantity"
        );
        assert_eq!(code(limit("0.1", "1e5")).await, 700008, "exponent");
        assert_eq!(code(limit("abc", "100")).await, 700008, "not a number");
        assert_eq!(
            code(limit("0.1", "5000000")).await,
            10101,
            "insufficient balance"
        );
        assert_eq!(
            code("symbol=HIFIUSDT&side=BUY&type=LIMIT&quantity=100".into()).await,
            -1102
        );
        assert_eq!(
            code("symbol=HIFIUSDT&side=UP&type=LIMIT&price=0.1&quantity=100".into()).await,
            700008
        );
        assert_eq!(
            code("symbol=HIFIUSDT&side=BUY&type=STOP&price=0.1&quantity=100".into()).await,
            700008
        );
        assert_eq!(
            code("symbol=NOPEUSDT&side=BUY&type=LIMIT&price=0.1&quantity=100".into()).await,
            10007
        );
        // 2.1 USDT is a valid order.
        let (status, _) = demo
            .signed(Method::POST, "/api/v3/order", &limit("0.1", "21"))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = demo
            .signed(Method::POST, "/api/v3/order", &limit("0.1", "21"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            code(limit("0.1", "21")).await,
            30029,
            "too many open orders"
        );
        // Test orders validate only.
        let (status, body) = demo
            .signed(Method::POST, "/api/v3/order/test", &limit("0.1", "21"))
            .await;
        assert_eq!((status, body), (StatusCode::OK, serde_json::json!({})));
        let (_, body) = demo
            .signed(Method::POST, "/api/v3/order/test", &limit("0.1", "5"))
            .await;
        assert_eq!(body["code"], 30002);
        assert_eq!(sim.open_orders(DEMO_API_KEY).unwrap().len(), 2);
        sim.check_invariants().unwrap();
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn cancel_all_and_account() {
    bounded(async {
        let sim = quiet_venue(500).await;
        let demo = Client::demo(&sim);
        demo.limit("HIFIUSDT", "BUY", "0.09", "100").await;
        demo.limit("HIFIUSDT", "SELL", "0.2", "100").await;
        demo.limit("BTCUSDT", "BUY", "1000", "0.01").await;
        let (_, account) = demo.signed(Method::GET, "/api/v3/account", "").await;
        assert_eq!(account["accountType"], "SPOT");
        assert_eq!(account["canTrade"], true);
        assert_eq!(account["permissions"], serde_json::json!(["SPOT"]));
        let usdt = account["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["asset"] == "USDT")
            .unwrap();
        assert_eq!(usdt["free"], "99981");
        assert_eq!(usdt["locked"], "19");
        let (_, cancelled) = demo
            .signed(
                Method::DELETE,
                "/api/v3/openOrders",
                "symbol=HIFIUSDT,BTCUSDT",
            )
            .await;
        assert_eq!(cancelled.as_array().unwrap().len(), 3);
        assert!(
            cancelled
                .as_array()
                .unwrap()
                .iter()
                .all(|o| o["status"] == "CANCELED")
        );
        cancelled
            .as_array()
            .unwrap()
            .iter()
            .for_each(assert_mexc_nulls);
        assert!(sim.open_orders(DEMO_API_KEY).unwrap().is_empty());
        let (_, too_many) = demo
            .signed(Method::DELETE, "/api/v3/openOrders", "symbol=A,B,C,D,E,F")
            .await;
        assert_eq!(too_many["code"], -1128);
        sim.deposit(DEMO_API_KEY, "ETH", Decimal::from(3)).unwrap();
        assert_eq!(
            balance(&sim, DEMO_API_KEY, "ETH"),
            (Decimal::from(3), Decimal::ZERO)
        );
        assert!(sim.deposit("nobody", "ETH", Decimal::ONE).is_err());
        let (_, coins) = demo
            .signed(Method::GET, "/api/v3/capital/config/getall", "")
            .await;
        assert_eq!(coins, serde_json::json!([]));
        sim.shutdown().await;
    })
    .await;
}
