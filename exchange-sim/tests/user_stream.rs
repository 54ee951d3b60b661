//! Listen keys over REST: create, list, keep alive, delete, the per-account limit, expiry.
// Test futures hold whole websocket streams; their size is no hot-path concern here.
#![allow(clippy::large_futures)]

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use reqwest::Method;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn create_list_keep_alive_delete_and_limit() {
    bounded(async {
        let sim = start_with(|c| c.listen_keys.max_per_account = 3).await;
        let client = Client::demo(&sim);
        let keys = [
            client.listen_key().await,
            client.listen_key().await,
            client.listen_key().await,
        ];
        let (_, over) = client
            .signed(Method::POST, "/api/v3/userDataStream", "")
            .await;
        assert_eq!(over["code"], 730_001);
        let (_, list) = client
            .signed(Method::GET, "/api/v3/userDataStream", "")
            .await;
        let mut listed: Vec<String> = list["listenKey"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        listed.sort();
        let mut expected = keys.to_vec();
        expected.sort();
        assert_eq!(listed, expected);
        let (_, kept) = client
            .signed(
                Method::PUT,
                "/api/v3/userDataStream",
                &format!("listenKey={}", keys[0]),
            )
            .await;
        assert_eq!(kept["listenKey"], keys[0].as_str());
        let (_, deleted) = client
            .signed(
                Method::DELETE,
                "/api/v3/userDataStream",
                &format!("listenKey={}", keys[1]),
            )
            .await;
        assert_eq!(deleted["listenKey"], keys[1].as_str());
        let (_, gone) = client
            .signed(
                Method::PUT,
                "/api/v3/userDataStream",
                &format!("listenKey={}", keys[1]),
            )
            .await;
        // MEXC's answer, code as a JSON string (mexcdevelop/mexc-api-demo#35).
        assert_eq!(
            gone,
            serde_json::json!({"code": "730708", "msg": "listen key information error"})
        );
        let (_, missing) = client
            .signed(Method::PUT, "/api/v3/userDataStream", "")
            .await;
        assert_eq!(missing["code"], -1102);
        // A slot is free again.
        client.listen_key().await;
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn keys_expire_without_keep_alive_and_close_their_sockets() {
    bounded(async {
        let sim = start_with(|c| {
            c.listen_keys.validity = Duration::from_millis(300);
            c.listen_keys.sweep_interval = Duration::from_millis(20);
        })
        .await;
        let client = Client::demo(&sim);
        let key = client.listen_key().await;
        let mut ws = connect(&format!("{}?listenKey={key}", sim.ws_url())).await;
        subscribe(&mut ws, &["spot@private.account.v3.api.pb"]).await;
        let started = tokio::time::Instant::now();
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => {
                    assert_eq!(frame.unwrap().reason.as_str(), "listen key expired");
                    break;
                }
                Some(Ok(_)) => {}
                other => panic!("unexpected end: {other:?}"),
            }
        }
        assert!(started.elapsed() >= Duration::from_millis(200));
        let (_, list) = client
            .signed(Method::GET, "/api/v3/userDataStream", "")
            .await;
        assert_eq!(list["listenKey"].as_array().unwrap().len(), 0);
        sim.shutdown().await;
    })
    .await;
}
