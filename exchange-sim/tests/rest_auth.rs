//! Signed-request checks over HTTP: where the signature may be, lowercase hex only, the
//! timestamp window, and every key/permission error code.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, bounded, start_with};
use exchange_sim::auth::sign;
use exchange_sim::format::now_ms;
use exchange_sim::{AccountConfig, SimVenue};
use reqwest::{Method, StatusCode};

const VECTOR_KEY: &str = "mx0aBYs33eIilxBWC5";
const VECTOR_SECRET: &str = "45d0b3c26f2644f19bfb98b07741b2f5";

async fn venue() -> SimVenue {
    start_with(|c| {
        let vector =
            AccountConfig::new(VECTOR_KEY, VECTOR_SECRET).with_balances([("USDT", 1000.into())]);
        let mut read_only = AccountConfig::new("mx0READONLY", "00112233445566778899aabbccddeeff");
        read_only.can_trade = false;
        let mut fenced = AccountConfig::new("mx0FENCED", "00112233445566778899aabbccddeeff");
        fenced.ip_whitelist = Some(vec!["10.1.2.3".parse().unwrap()]);
        c.accounts.extend([vector, read_only, fenced]);
    })
    .await
}

#[tokio::test]
async fn signature_in_query_or_split_with_body() {
    bounded(async {
        let sim = venue().await;
        let client = Client::new(&sim, VECTOR_KEY, VECTOR_SECRET);
        // Everything in the query.
        let (status, body) = client
            .signed(Method::GET, "/api/v3/account", "recvWindow=5000")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["balances"][0]["asset"], "USDT");
        assert_eq!(body["balances"][0]["free"], "1000");
        // Query + body, signature over query-before-signature concatenated with the body.
        let query = "symbol=HIFIUSDT&side=BUY&type=LIMIT";
        let body = format!(
            "quantity=21&price=0.1&recvWindow=5000&timestamp={}",
            now_ms()
        );
        let signature = sign(VECTOR_SECRET, &format!("{query}{body}"));
        let (status, placed) = client
            .raw(
                Method::POST,
                "/api/v3/order",
                &format!("{query}&signature={signature}"),
                &body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{placed}");
        assert_eq!(placed["origQty"], "21");
        // JSON body.
        let body = format!(r#"{{"symbol":"HIFIUSDT","timestamp":{}}}"#, now_ms());
        let signature = sign(VECTOR_SECRET, &body);
        let (status, open) = client
            .raw(
                Method::GET,
                "/api/v3/openOrders",
                &format!("signature={signature}"),
                &body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{open}");
        assert_eq!(open.as_array().unwrap().len(), 1);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn signature_errors() {
    bounded(async {
        let sim = venue().await;
        let client = Client::new(&sim, VECTOR_KEY, VECTOR_SECRET);
        let query = format!("symbol=HIFIUSDT&timestamp={}&recvWindow=5000", now_ms());
        let good = sign(VECTOR_SECRET, &query);
        let code = |v: &serde_json::Value| v["code"].as_i64().unwrap();
        let (status, ok) = client
            .raw(
                Method::GET,
                "/api/v3/openOrders",
                &format!("{query}&signature={good}"),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ok}");
        let (status, upper) = client
            .raw(
                Method::GET,
                "/api/v3/openOrders",
                &format!("{query}&signature={}", good.to_uppercase()),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(code(&upper), 602);
        let wrong = sign("ffffffffffffffffffffffffffffffff", &query);
        let (_, mismatch) = client
            .raw(
                Method::GET,
                "/api/v3/openOrders",
                &format!("{query}&signature={wrong}"),
                "",
            )
            .await;
        assert_eq!(code(&mismatch), 700002);
        // Any change to the signed bytes invalidates the signature.
        let tampered = query.replace("HIFIUSDT", "BTCUSDT");
        let (_, tampered) = client
            .raw(
                Method::GET,
                "/api/v3/openOrders",
                &format!("{tampered}&signature={good}"),
                "",
            )
            .await;
        assert_eq!(code(&tampered), 700002);
        let (_, missing) = client
            .raw(Method::GET, "/api/v3/openOrders", &query, "")
            .await;
        // MEXC's answer to a missing signature (hummingbot/hummingbot#7255).
        assert_eq!(code(&missing), 700004);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn timestamp_and_recv_window() {
    bounded(async {
        let sim = venue().await;
        let client = Client::new(&sim, VECTOR_KEY, VECTOR_SECRET);
        let call = |ts: i64, window: i64| {
            let client = client.clone();
            async move {
                let query = format!("timestamp={ts}&recvWindow={window}");
                let sig = sign(VECTOR_SECRET, &query);
                client
                    .raw(
                        Method::GET,
                        "/api/v3/openOrders",
                        &format!("{query}&signature={sig}"),
                        "",
                    )
                    .await
                    .1
            }
        };
        let now = now_ms();
        assert!(call(now, 5000).await.is_array());
        assert_eq!(call(now - 10_000, 5000).await["code"], 700003);
        assert!(call(now - 10_000, 20_000).await.is_array());
        assert_eq!(call(now + 5_000, 5000).await["code"], 700003);
        assert_eq!(call(now, 60_001).await["code"], 700005);
        // Extremes never wrap into the window (a wrapped subtraction made i64::MIN a
        // timestamp that is valid forever in release builds, and panicked in debug ones).
        for extreme in [i64::MIN, i64::MIN + 1, i64::MAX, -1, 0] {
            assert_eq!(call(extreme, 60_000).await["code"], 700003, "{extreme}");
        }
        for window in [i64::MIN, -1, 0, i64::MAX] {
            assert_eq!(call(now, window).await["code"], 700005, "{window}");
        }
        let query = "recvWindow=5000";
        let sig = sign(VECTOR_SECRET, query);
        let (_, missing) = client
            .raw(
                Method::GET,
                "/api/v3/openOrders",
                &format!("{query}&signature={sig}"),
                "",
            )
            .await;
        assert_eq!(missing["code"], -1102);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn key_and_permission_errors() {
    bounded(async {
        let sim = venue().await;
        let secret = "00112233445566778899aabbccddeeff";
        let http = test_support::http_client();
        let (status, no_key) = {
            let r = http
                .get(format!(
                    "{}/api/v3/account?timestamp=1&signature=00",
                    sim.rest_url()
                ))
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        };
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(no_key["code"], 400);
        let (_, bad_format) = Client::new(&sim, "bad key!", secret)
            .signed(Method::GET, "/api/v3/account", "")
            .await;
        assert_eq!(bad_format["code"], 700001);
        let (status, unknown) = Client::new(&sim, "mx0UNKNOWN", secret)
            .signed(Method::GET, "/api/v3/account", "")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown["code"], 401);
        let (_, fenced) = Client::new(&sim, "mx0FENCED", secret)
            .signed(Method::GET, "/api/v3/account", "")
            .await;
        assert_eq!(fenced["code"], 700006);
        let read_only = Client::new(&sim, "mx0READONLY", secret);
        let (status, account) = read_only.signed(Method::GET, "/api/v3/account", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(account["canTrade"], false);
        let (_, denied) = read_only
            .new_order("symbol=HIFIUSDT&side=BUY&type=LIMIT&price=0.1&quantity=30")
            .await;
        assert_eq!(denied["code"], 700007);
        let demo = Client::demo(&sim);
        let (_, illegal) = demo.query_order("symbol=HIFIUSDT&orderId=%FF%FE").await;
        assert_eq!(illegal["code"], 700008);
        let (_, no_ref) = demo
            .signed(Method::GET, "/api/v3/order", "symbol=HIFIUSDT")
            .await;
        assert_eq!(no_ref["code"], 700004);
        sim.shutdown().await;
    })
    .await;
}
