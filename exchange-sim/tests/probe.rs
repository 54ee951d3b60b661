//! The latency probe: pushes on demand to the subscribed websockets with the instant each was
//! written, and the arrival instant of new-order requests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures
)]

mod common;

use common::*;
use futures::StreamExt;
use mexc_proto::PushDataV3ApiWrapper;
use prost::Message as _;
use reqwest::{Method, StatusCode};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Bytes, Message};

const BOOK: &str = "spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT";
const DEPTH: &str = "spot@public.aggre.depth.v3.api.pb@100ms@HIFIUSDT";

fn frame(channel: &str) -> Bytes {
    PushDataV3ApiWrapper {
        channel: channel.to_owned(),
        symbol: Some("HIFIUSDT".to_owned()),
        send_time: Some(1),
        ..Default::default()
    }
    .encode_to_vec()
    .into()
}

/// The next binary frame's bytes, and when it was read.
async fn next_binary(ws: &mut Ws) -> (Bytes, Instant) {
    loop {
        match ws.next().await.expect("stream ended").expect("ws error") {
            Message::Binary(bytes) => return (bytes, Instant::now()),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_probe_push_reaches_only_the_subscribed_sockets_and_notes_when_it_was_written() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let probe = sim.probe();
        let mut book = connect(&sim.ws_url()).await;
        let mut depth = connect(&sim.ws_url()).await;
        subscribe(&mut book, &[BOOK]).await;
        subscribe(&mut depth, &[DEPTH]).await;

        let to_book = frame(BOOK);
        assert_eq!(
            probe.push(BOOK, to_book.clone()),
            1,
            "only the subscribed socket is told"
        );
        let (received, read_at) = next_binary(&mut book).await;
        assert_eq!(received, to_book, "the exact bytes");
        let written = probe.take_pushes_written();
        assert_eq!(written.len(), 1, "only the subscribed socket wrote it");
        assert!(written[0] <= read_at);

        // The other socket never saw the book frame: its next binary frame is its own.
        let to_depth = frame(DEPTH);
        probe.push(DEPTH, to_depth.clone());
        assert_eq!(next_binary(&mut depth).await.0, to_depth);
        assert_eq!(probe.take_pushes_written().len(), 1);
        assert!(probe.take_pushes_written().is_empty(), "taken");
        assert_eq!(probe.dropped_instants(), 0);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn new_order_arrivals_are_noted_only_while_recording() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let probe = sim.probe();
        let client = Client::demo(&sim);
        client.limit("HIFIUSDT", "BUY", "0.05", "30").await;
        assert!(probe.take_order_arrivals().is_empty(), "not recording");

        probe.record_order_arrivals(true);
        let before = Instant::now();
        let order_id = client.limit("HIFIUSDT", "BUY", "0.05", "30").await;
        // A refused order arrived too: the instant is taken before anything is checked.
        let (status, _) = client
            .raw(Method::POST, "/api/v3/order", "symbol=HIFIUSDT", "")
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Other order endpoints are not new orders.
        let (status, body) = client
            .signed(
                Method::DELETE,
                "/api/v3/order",
                &format!("symbol=HIFIUSDT&orderId={order_id}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let arrivals = probe.take_order_arrivals();
        assert_eq!(arrivals.len(), 2, "{arrivals:?}");
        assert!(before <= arrivals[0] && arrivals[0] <= arrivals[1]);

        probe.record_order_arrivals(false);
        client.limit("HIFIUSDT", "BUY", "0.05", "30").await;
        assert!(probe.take_order_arrivals().is_empty());
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_socket_that_unsubscribed_is_no_longer_told_and_writes_nothing() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let probe = sim.probe();
        let mut book = connect(&sim.ws_url()).await;
        subscribe(&mut book, &[BOOK, DEPTH]).await;
        send_json(
            &mut book,
            serde_json::json!({ "method": "UNSUBSCRIPTION", "params": [BOOK], "id": 2 }),
        )
        .await;
        assert_eq!(next_text(&mut book).await["msg"], BOOK);
        // The subscription's queue is left once the connection has run after the reply.
        while probe.push(BOOK, frame(BOOK)) != 0 {
            tokio::task::yield_now().await;
        }
        // Still subscribed to the other channel: its frame is the next one the socket reads.
        let to_depth = frame(DEPTH);
        assert_eq!(probe.push(DEPTH, to_depth.clone()), 1);
        assert_eq!(next_binary(&mut book).await.0, to_depth);
        assert_eq!(
            probe.take_pushes_written().len(),
            1,
            "only the depth frame was written"
        );
        sim.shutdown().await;
    })
    .await;
}
