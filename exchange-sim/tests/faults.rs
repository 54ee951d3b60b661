//! Every injected fault, in-process and over the `/_sim/` operator endpoints, plus inspection.
// Test futures hold whole websocket streams; their size is no hot-path concern here.
#![allow(clippy::unwrap_used, clippy::large_futures)]

mod common;

use std::time::Duration;

use common::*;
use exchange_sim::{DEMO_API_KEY, SimVenue};
use futures::StreamExt;
use mexc_proto::PushDataV3ApiWrapper;
use prost::Message as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const DEPTH: &str = "spot@public.aggre.depth.v3.api.pb@100ms@HIFIUSDT";

async fn admin(sim: &SimVenue, path: &str, body: Value) -> Value {
    let response = test_support::http_client()
        .post(format!("{}{path}", sim.rest_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// Whether the server ended the connection without a close frame.
async fn dropped_without_close(ws: &mut Ws) -> bool {
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(_))) => return false,
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return true,
        }
    }
}

#[tokio::test]
async fn drop_websockets() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let mut a = connect(&sim.ws_url()).await;
        let mut b = connect(&sim.ws_url()).await;
        subscribe(&mut a, &[DEPTH]).await;
        subscribe(&mut b, &[DEPTH]).await;
        assert_eq!(sim.faults().drop_websockets(), 2);
        assert!(dropped_without_close(&mut a).await);
        assert!(dropped_without_close(&mut b).await);
        let mut c = connect(&sim.ws_url()).await;
        subscribe(&mut c, &[DEPTH]).await;
        assert_eq!(
            admin(&sim, "/_sim/ws/drop", json!({})).await["connections"],
            1
        );
        assert!(dropped_without_close(&mut c).await);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn close_refuse_and_count_websockets() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let faults = sim.faults();
        let mut a = connect(&sim.ws_url()).await;
        let mut b = connect(&sim.ws_url()).await;
        eventually(SETTLE, "two websockets", || {
            faults.websocket_connections() == 2
        })
        .await;
        let counted = test_support::get(format!("{}/_sim/ws/connections", sim.rest_url()))
            .await
            .unwrap();
        assert_eq!(counted.json::<Value>().await.unwrap()["connections"], 2);
        assert_eq!(faults.close_websockets(), 2);
        for ws in [&mut a, &mut b] {
            let close = loop {
                match ws.next().await {
                    Some(Ok(Message::Close(frame))) => break frame,
                    Some(Ok(_)) => {}
                    other => panic!("no close frame: {other:?}"),
                }
            };
            assert_eq!(u16::from(close.unwrap().code), 1001);
        }
        eventually(SETTLE, "no websocket", || {
            faults.websocket_connections() == 0
        })
        .await;
        faults.refuse_websockets(true);
        assert!(
            tokio_tungstenite::connect_async(sim.ws_url())
                .await
                .is_err()
        );
        admin(&sim, "/_sim/ws/refuse", json!({"refuse": false})).await;
        let mut c = connect(&sim.ws_url()).await;
        admin(&sim, "/_sim/ws/close", json!({})).await;
        assert!(!dropped_without_close(&mut c).await);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn stall_connections() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let client = Client::demo(&sim);
        let mut ws = connect(&sim.ws_url()).await;
        subscribe(&mut ws, &[DEPTH]).await;
        sim.faults().stall_connections(true);
        assert!(sim.faults().is_stalled());
        send_json(&mut ws, json!({"method": "PING"})).await;
        // Nothing is read or answered while stalled (bounded wait for an absence).
        assert!(
            tokio::time::timeout(Duration::from_millis(300), next_text(&mut ws))
                .await
                .is_err()
        );
        let pending = tokio::spawn({
            let client = client.clone();
            async move { client.get("/api/v3/ping").await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!pending.is_finished(), "REST answered while stalled");
        admin(&sim, "/_sim/stall", json!({"stalled": false})).await;
        assert_eq!(next_text(&mut ws).await["msg"], "PONG");
        assert_eq!(pending.await.unwrap().0, StatusCode::OK);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn delay_rest() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let client = Client::demo(&sim);
        sim.faults().delay_rest(Duration::from_millis(300));
        let started = tokio::time::Instant::now();
        assert_eq!(client.get("/api/v3/time").await.0, StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_millis(300));
        sim.faults().delay_rest(Duration::ZERO);
        admin(&sim, "/_sim/rest/delay", json!({"millis": 200})).await;
        assert_eq!(sim.faults().rest_delay(), Duration::from_millis(200));
        let started = tokio::time::Instant::now();
        client.get("/api/v3/time").await;
        assert!(started.elapsed() >= Duration::from_millis(200));
        admin(&sim, "/_sim/faults/clear", json!({})).await;
        assert_eq!(sim.faults().rest_delay(), Duration::ZERO);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn fail_next_rest_calls() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let client = Client::demo(&sim);
        sim.faults().fail_next_rest(2, 503, Some("/api/v3/order"));
        let order = "symbol=HIFIUSDT&side=BUY&type=LIMIT&price=0.09&quantity=100";
        assert_eq!(
            client.get("/api/v3/ping").await.0,
            StatusCode::OK,
            "other paths unaffected"
        );
        for _ in 0..2 {
            let (status, body) = client.new_order(order).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(body["code"], 503);
        }
        assert_eq!(client.new_order(order).await.0, StatusCode::OK);
        // 429 storm over the operator endpoint, every path.
        admin(&sim, "/_sim/rest/fail", json!({"count": 1, "status": 429})).await;
        let response = test_support::get(format!("{}/api/v3/time", sim.rest_url()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"code": 429, "msg": "Too Many Requests"})
        );
        assert_eq!(client.get("/api/v3/time").await.0, StatusCode::OK);
        admin(
            &sim,
            "/_sim/rest/fail",
            json!({"count": 1, "status": 500, "path": "/api/v3/time"}),
        )
        .await;
        assert_eq!(
            client.get("/api/v3/time").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn malformed_frames() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let mut ws = connect(&sim.ws_url()).await;
        subscribe(&mut ws, &[DEPTH]).await;
        let malformed = |message: Message| match message {
            Message::Binary(bytes) => PushDataV3ApiWrapper::decode(bytes.as_ref()).is_err(),
            _ => false,
        };
        assert_eq!(sim.faults().push_malformed_frame(), 1);
        assert!(malformed(ws.next().await.unwrap().unwrap()));
        assert_eq!(
            admin(&sim, "/_sim/ws/malformed", json!({})).await["connections"],
            1
        );
        assert!(malformed(ws.next().await.unwrap().unwrap()));
        // A truncated valid push.
        let valid = PushDataV3ApiWrapper {
            channel: DEPTH.into(),
            ..Default::default()
        }
        .encode_to_vec();
        assert_eq!(
            sim.faults()
                .push_raw_frame(valid[..valid.len() / 2].to_vec().into()),
            1
        );
        assert!(malformed(ws.next().await.unwrap().unwrap()));
        // The connection still works afterwards.
        send_json(&mut ws, json!({"method": "PING"})).await;
        assert_eq!(next_text(&mut ws).await["msg"], "PONG");
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn expire_listen_key() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let client = Client::demo(&sim);
        for via_admin in [false, true] {
            let key = client.listen_key().await;
            let mut ws = connect(&format!("{}?listenKey={key}", sim.ws_url())).await;
            subscribe(&mut ws, &["spot@private.orders.v3.api.pb"]).await;
            if via_admin {
                assert_eq!(admin(&sim, "/_sim/listenKey/expire", json!({"listenKey": key})).await["expired"], true);
            } else {
                assert!(sim.faults().expire_listen_key(&key));
            }
            assert!(!dropped_without_close(&mut ws).await, "expected a close frame");
            let (_, body) = client.signed(Method::PUT, "/api/v3/userDataStream", &format!("listenKey={key}")).await;
            assert_eq!(body["code"], "730708");
        }
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn inspection_and_market_control() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let client = Client::demo(&sim);
        client.limit("HIFIUSDT", "BUY", "0.05", "100").await;
        let http = test_support::http_client();
        let get = |path: String| {
            let http = http.clone();
            async move {
                http.get(path)
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        let balances = get(format!(
            "{}/_sim/accounts/{DEMO_API_KEY}/balances",
            sim.rest_url()
        ))
        .await;
        let usdt = balances
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["asset"] == "USDT")
            .unwrap();
        assert_eq!(
            (usdt["free"].as_str(), usdt["locked"].as_str()),
            (Some("99995"), Some("5"))
        );
        let open = get(format!(
            "{}/_sim/accounts/{DEMO_API_KEY}/openOrders",
            sim.rest_url()
        ))
        .await;
        assert_eq!(open.as_array().unwrap().len(), 1);
        assert_eq!(open[0]["price"], "0.05");
        let unknown = http
            .get(format!("{}/_sim/accounts/nobody/balances", sim.rest_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert!(sim.is_market_paused());
        admin(&sim, "/_sim/market/resume", json!({})).await;
        assert!(!sim.is_market_paused());
        admin(&sim, "/_sim/market/pause", json!({})).await;
        assert!(sim.is_market_paused());
        sim.shutdown().await;
    })
    .await;
}
