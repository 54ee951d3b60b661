//! Outbound paths: a message with nothing queued ahead of it is written by its sender, the
//! others queue for the connection task; either way they reach the venue in order.
#![allow(clippy::expect_used)]

mod support;

use std::time::Duration;

use exchange_ws::{SendLimit, WebSocketConfig, WebSocketManager};
use futures::{SinkExt, StreamExt};
use lifecycle_core::AsyncResource;
use support::*;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::{Bytes, Message};

/// Reads `n` text messages and returns them.
async fn read_texts(ws: &mut ServerSocket, n: usize) -> Vec<String> {
    let mut texts = Vec::with_capacity(n);
    while texts.len() < n {
        texts.push(next_text(ws).await.expect("connection ended early"));
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_keep_their_order_across_direct_writes_and_the_queue() {
    bounded(async {
        let mut server = WsServer::start().await;
        // The limit forces bursts into the queue; the inbound flood keeps the connection task
        // reading (holding the socket) while the test sends from another thread.
        let manager = WebSocketManager::new(WebSocketConfig {
            send_limit: Some(SendLimit::new(40, Duration::from_millis(20))),
            ..test_config(&server.url)
        });
        let (count, received) = counting_handler();
        manager.add_handler(count);
        manager.start().await.unwrap();
        let ws = server.next().await;
        let (mut server_tx, mut server_rx) = ws.split();
        let flood = tokio::spawn(async move {
            for i in 0..5_000u32 {
                if server_tx
                    .send(Message::Binary(Bytes::from(i.to_be_bytes().to_vec())))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            server_tx
        });

        // The server side reads on its own task and forwards the texts.
        let (texts_tx, mut texts_rx) = tokio::sync::mpsc::unbounded_channel();
        let server_reader = tokio::spawn(async move {
            while let Some(Ok(message)) = server_rx.next().await {
                if let Message::Text(text) = message {
                    let _ = texts_tx.send(text.to_string());
                }
            }
        });

        // Bursts of 50 against a limit of 40 per 20 ms: the first ones of a burst may go
        // straight out, the rest queue behind the limit; each burst waits for the last.
        const N: usize = 400;
        let mut texts = Vec::with_capacity(N);
        for burst in 0..N / 50 {
            for i in burst * 50..(burst + 1) * 50 {
                if i % 2 == 0 {
                    manager.send_text(format!("m{i}")).await.unwrap();
                } else {
                    // The queue has room for all of them.
                    manager.try_send_text(format!("m{i}")).unwrap();
                }
            }
            while texts.len() < (burst + 1) * 50 {
                let text = tokio::time::timeout(TEST_TIMEOUT, texts_rx.recv())
                    .await
                    .expect("the server got no message in time")
                    .expect("the server lost the connection");
                texts.push(text);
            }
        }
        let expected: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
        assert_eq!(texts, expected);

        let stats = manager.stats();
        assert_eq!(stats.sent, N as u64);
        assert!(stats.direct_sends > 0, "{stats:?}");
        assert!(
            stats.direct_sends < N as u64,
            "the limit queued some: {stats:?}"
        );
        let _server_tx = flood.await.unwrap();
        server_reader.abort();
        eventually(TEST_TIMEOUT, "a frame received", || {
            received.load(std::sync::atomic::Ordering::Relaxed) > 0
        })
        .await;
        let report = manager.stop_within(Duration::from_secs(2)).await;
        assert!(report.is_clean(), "{report}");
        assert_eq!(manager.stats().outbound_dropped, 0);
        assert_no_leak(&manager).await;
    })
    .await;
}

#[tokio::test]
async fn a_direct_write_the_socket_cannot_take_is_flushed_by_the_connection_task() {
    bounded(async {
        let mut server = WsServer::start().await;
        let config = test_config(&server.url);
        let (manager, mut ws) = connected(&mut server, config).await;
        let (go, wait) = oneshot::channel::<()>();
        // 16 MiB while the server does not read: far more than the socket buffers hold.
        const N: usize = 256;
        let payload = "x".repeat(64 * 1024);
        let reader = tokio::spawn(async move {
            wait.await.unwrap();
            let texts = read_texts(&mut ws, N).await;
            (ws, texts)
        });
        for i in 0..N {
            manager.send_text(format!("{i:04}{payload}")).await.unwrap();
        }
        go.send(()).unwrap();
        let (_ws, texts) = reader.await.unwrap();
        for (i, text) in texts.iter().enumerate() {
            assert_eq!(&text[..4], format!("{i:04}"), "message {i} out of order");
            assert_eq!(text.len(), 4 + payload.len());
        }
        assert_eq!(manager.stats().sent, N as u64);
        let report = manager.stop_within(Duration::from_secs(2)).await;
        assert!(report.is_clean(), "{report}");
        assert_no_leak(&manager).await;
    })
    .await;
}
