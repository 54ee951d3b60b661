//! Malformed input never panics the venue nor corrupts a book: MEXC-shaped errors over REST,
//! harmless replies over the websocket.
// Test futures hold whole websocket streams; their size is no hot-path concern here.
#![allow(clippy::large_futures)]

mod common;

use common::*;
use exchange_sim::auth::sign;
use exchange_sim::format::now_ms;
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET};
use futures::SinkExt;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn malformed_rest_requests_get_mexc_errors() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let client = Client::demo(&sim);
        let signed_body = |body: &str| {
            let signature = sign(DEMO_API_SECRET, body);
            format!("signature={signature}")
        };
        let cases: Vec<(String, String)> = vec![
            (String::new(), "{\"symbol\": [1,2]}".into()),
            (String::new(), "{not json".into()),
            (String::new(), "[1,2,3]".into()),
            (
                "symbol=HIFIUSDT&side=BUY&type=LIMIT&price=0.1&quantity=%GG".into(),
                String::new(),
            ),
            ("symbol=HI%00FI".into(), String::new()),
            ("=&&=&symbol".into(), String::new()),
        ];
        for (query, body) in cases {
            let (status, reply) = if body.is_empty() {
                client.new_order(&query).await
            } else {
                client
                    .raw(Method::POST, "/api/v3/order", &signed_body(&body), &body)
                    .await
            };
            assert!(status.is_client_error(), "{query} {body}: {status} {reply}");
            assert!(
                reply["code"].is_i64() && reply["msg"].is_string(),
                "{reply}"
            );
        }
        // A body that is not UTF-8.
        let response = client
            .http
            .post(format!(
                "{}/api/v3/order?timestamp={}&signature=00",
                sim.rest_url(),
                now_ms()
            ))
            .header("X-MEXC-APIKEY", DEMO_API_KEY)
            .body(vec![0xff, 0xfe, 0x00])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        // Absurd numbers of every kind.
        for (price, qty) in [
            ("1", "79228162514264337593543950335"),
            ("79228162514264337593543950335", "1"),
            ("-0.1", "10"),
            ("0.1", "-10"),
            ("0.00000000000000000000000000001", "10"),
        ] {
            let (status, reply) = client
                .new_order(&format!(
                    "symbol=HIFIUSDT&side=SELL&type=LIMIT&price={price}&quantity={qty}"
                ))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{price} {qty}: {reply}");
        }
        let (status, _) = client
            .new_order("symbol=HIFIUSDT&side=BUY&type=MARKET&quoteOrderQty=99999999999999999999")
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, reply) = client
            .new_order("symbol=HIFIUSDT&side=BUY&type=MARKET&quantity=1&quoteOrderQty=5")
            .await;
        assert_eq!(
            (status, reply["code"].clone()),
            (StatusCode::BAD_REQUEST, json!(700008))
        );
        let (_, reply) = client
            .cancel_order("symbol=HIFIUSDT&orderId=not-an-id")
            .await;
        assert_eq!(reply["code"], -2011);
        sim.check_invariants().unwrap();
        assert_eq!(client.get("/api/v3/ping").await.0, StatusCode::OK);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn malformed_websocket_frames_are_answered_not_fatal() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let mut ws = connect(&sim.ws_url()).await;
        for garbage in [
            "",
            "null",
            "[]",
            "42",
            "{\"method\": 5}",
            "{\"method\":\"SUBSCRIPTION\",\"params\":\"x\"}",
            "{\"method\":\"UNKNOWN\"}",
        ] {
            ws.send(Message::text(garbage)).await.unwrap();
            let reply = next_text(&mut ws).await;
            assert_eq!(reply["code"], 0, "{garbage}: {reply}");
        }
        ws.send(Message::Binary(vec![0xff; 64].into()))
            .await
            .unwrap();
        let huge = format!(
            "{{\"method\":\"SUBSCRIPTION\",\"params\":[\"{}\"]}}",
            "x".repeat(100_000)
        );
        ws.send(Message::text(huge)).await.unwrap();
        assert!(
            next_text(&mut ws).await["msg"]
                .as_str()
                .unwrap()
                .contains("Blocked!")
        );
        send_json(&mut ws, json!({"method": "PING"})).await;
        assert_eq!(next_text(&mut ws).await["msg"], "PONG");
        sim.shutdown().await;
    })
    .await;
}
