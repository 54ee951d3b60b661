//! The message path: text and binary frames in order to every handler, errors and panics
//! isolated, protocol pings answered, malformed frames harmless, idle-data and max-age timers,
//! URL changes.

mod support;

use std::time::Duration;

use exchange_ws::{DisconnectReason, Frame, WebSocketConfig, WebSocketManager, WsEvent};
use futures::{SinkExt, StreamExt};
use lifecycle_core::AsyncResource;
use support::*;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Text(String),
    Binary(Vec<u8>),
}

fn recorder() -> (
    impl FnMut(Frame<'_>) + Send + 'static,
    mpsc::UnboundedReceiver<Seen>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = move |frame: Frame<'_>| {
        let seen = match frame {
            Frame::Text(text) => Seen::Text(text.to_owned()),
            Frame::Binary(bytes) => Seen::Binary(bytes.to_vec()),
        };
        let _ = tx.send(seen);
    };
    (handler, rx)
}

#[tokio::test]
async fn text_and_binary_frames_reach_every_handler_in_order() {
    bounded(async {
        let (mut server, manager) = server_and_manager().await;
        let (first, mut first_rx) = recorder();
        let (second, mut second_rx) = recorder();
        manager.add_handler(first);
        manager.add_handler(second);
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        let mut expected = Vec::new();
        for i in 0..500u32 {
            let message = if i % 2 == 0 {
                expected.push(Seen::Text(format!("t{i}")));
                Message::text(format!("t{i}"))
            } else {
                expected.push(Seen::Binary(i.to_be_bytes().to_vec()));
                Message::binary(i.to_be_bytes().to_vec())
            };
            ws.feed(message).await.unwrap();
        }
        ws.flush().await.unwrap();
        for want in &expected {
            assert_eq!(first_rx.recv().await.as_ref(), Some(want));
            assert_eq!(second_rx.recv().await.as_ref(), Some(want));
        }
        stats_until(&manager, "processed == 500", |stats| stats.processed == 500).await;
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn handler_errors_and_panics_are_counted_and_the_loop_goes_on() {
    bounded(async {
        let (mut server, manager) = server_and_manager().await;
        let mut n = 0u32;
        manager.add_handler(move |_: Frame<'_>| {
            n += 1;
            if n.is_multiple_of(3) {
                panic!("handler bug on frame {n}");
            }
            if n.is_multiple_of(5) {
                Err(format!("bad frame {n}"))
            } else {
                Ok(())
            }
        });
        let (after, mut after_rx) = recorder();
        manager.add_handler(after);
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        for i in 0..30u8 {
            ws.send(Message::binary(vec![i])).await.unwrap();
        }
        for i in 0..30u8 {
            assert_eq!(after_rx.recv().await, Some(Seen::Binary(vec![i])));
        }
        stats_until(&manager, "processed == 30", |stats| stats.processed == 30).await;
        let stats = manager.stats();
        assert_eq!(stats.handler_panics, 10);
        assert_eq!(stats.handler_errors, 4); // 5, 10, 20, 25 (15 and 30 panicked first)
        assert_eq!(stats.connections, 1);
        let report = manager.stop_within(Duration::from_secs(2)).await;
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.counter("handler_panics"), Some(10));
    })
    .await;
}

#[tokio::test]
async fn handlers_added_while_running_see_the_following_frames() {
    bounded(async {
        let (mut server, manager) = server_and_manager().await;
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        ws.send(Message::text("before")).await.unwrap();
        stats_until(&manager, "processed == 1", |stats| stats.processed == 1).await;
        let (late, mut late_rx) = recorder();
        manager.add_handler(late);
        ws.send(Message::text("after")).await.unwrap();
        assert_eq!(late_rx.recv().await, Some(Seen::Text("after".into())));
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn protocol_pings_are_answered() {
    bounded(async {
        let (mut server, manager) = server_and_manager().await;
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        ws.send(Message::Ping(b"are you there".to_vec().into()))
            .await
            .unwrap();
        let pong = loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Pong(payload) => break payload,
                _ => continue,
            }
        };
        assert_eq!(&pong[..], b"are you there");
        assert_eq!(manager.stats().received, 0, "pings are not data");
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn malformed_frames_never_panic_the_loop() {
    bounded(async {
        let (mut server, manager) = server_and_manager().await;
        let (handler, mut rx) = recorder();
        manager.add_handler(handler);
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        for text in [
            "{",
            "{\"msg\":",
            "{\"msg\":\"Not Subscribed successfully! [\"}",
            "[]",
            "",
        ] {
            ws.send(Message::text(text)).await.unwrap();
        }
        ws.send(Message::binary(vec![0xff, 0x00, 0x13]))
            .await
            .unwrap();
        ws.send(Message::text("end")).await.unwrap();
        // Malformed JSON is data (the venue's business), the refusal without a channel is
        // control; the loop is alive throughout.
        let mut seen = Vec::new();
        loop {
            let item = rx.recv().await.unwrap();
            let end = item == Seen::Text("end".into());
            seen.push(item);
            if end {
                break;
            }
        }
        assert_eq!(seen.len(), 7 - 1, "{seen:?}");
        assert_eq!(manager.stats().subscriptions_refused, 1);
        assert_eq!(manager.stats().connections, 1);

        // Invalid UTF-8 in a text frame is a protocol error: the connection is replaced, no panic.
        let mut raw = ws.into_inner();
        use tokio::io::AsyncWriteExt;
        raw.write_all(&[0x81, 0x02, 0xff, 0xfe]).await.unwrap();
        let _second = server.next().await;
        stats_until(&manager, "connections == 2", |stats| stats.connections == 2).await;
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn no_data_for_the_idle_timeout_means_reconnect_even_with_pongs() {
    bounded(async {
        let mut server = WsServer::start().await;
        let manager = WebSocketManager::new(WebSocketConfig {
            heartbeat_interval: Some(Duration::from_millis(20)),
            dead_peer_timeout: Some(Duration::from_millis(200)),
            idle_data_timeout: Some(Duration::from_millis(120)),
            ..test_config(&server.url)
        });
        let (events_handler, mut events) = Events::channel();
        manager.add_handler(events_handler);
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        // Answer every PING with PONG (control only, never data).
        let pong = tokio::spawn(async move {
            while let Some(text) = next_text(&mut ws).await {
                if text.contains("PING") {
                    let reply = Message::text(r#"{"id":0,"code":0,"msg":"PONG"}"#);
                    if ws.send(reply).await.is_err() {
                        break;
                    }
                }
            }
        });
        assert_eq!(
            events.recv().await,
            Some(WsEvent::Connected { connection: 1 })
        );
        assert_eq!(
            events.recv().await,
            Some(WsEvent::Disconnected {
                connection: 1,
                reason: DisconnectReason::IdleData
            })
        );
        assert_eq!(manager.stats().idle_data_timeouts, 1);
        assert_eq!(manager.stats().dead_peer_timeouts, 0);
        let _second = server.next().await;
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
        pong.abort();
    })
    .await;
}

#[tokio::test]
async fn the_connection_is_replaced_at_its_maximum_age_without_backoff() {
    bounded(async {
        let mut server = WsServer::start().await;
        let manager = WebSocketManager::new(WebSocketConfig {
            max_connection_age: Some(Duration::from_millis(150)),
            backoff_initial: Duration::from_secs(30),
            ..test_config(&server.url)
        });
        let (events_handler, mut events) = Events::channel();
        manager.add_handler(events_handler);
        manager.subscribe("c").unwrap();
        manager.start().await.unwrap();
        let mut first = server.next().await;
        assert_eq!(
            next_text(&mut first).await.as_deref(),
            Some(r#"{"method":"SUBSCRIPTION","params":["c"]}"#)
        );
        let connected = Instant::now();
        let mut second = server.next().await;
        let age = connected.elapsed();
        assert!(age >= Duration::from_millis(140), "{age:?}");
        assert!(
            age < Duration::from_secs(2),
            "replaced without the 30 s backoff: {age:?}"
        );
        assert_eq!(
            next_text(&mut second).await.as_deref(),
            Some(r#"{"method":"SUBSCRIPTION","params":["c"]}"#)
        );
        let mut reasons = Vec::new();
        while reasons.is_empty() {
            if let Some(WsEvent::Disconnected { reason, .. }) = events.recv().await {
                reasons.push(reason);
            }
        }
        assert_eq!(reasons, [DisconnectReason::MaxAge]);
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn set_url_and_reconnect_move_to_another_endpoint() {
    bounded(async {
        let mut old = WsServer::start().await;
        let mut new = WsServer::start().await;
        let manager = WebSocketManager::new(test_config(&old.url));
        manager.start().await.unwrap();
        let _first = old.next().await;
        assert!(manager.wait_connected(TEST_TIMEOUT).await);
        let private = format!("{}?listenKey=abc", new.url);
        manager.set_url(private.clone());
        assert_eq!(manager.url(), private);
        manager.reconnect();
        let _second = new.next().await;
        stats_until(&manager, "connections == 2", |stats| stats.connections == 2).await;
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn reconnect_cuts_a_long_backoff_short() {
    bounded(async {
        let url = refused_url().await;
        let mut server = WsServer::start().await;
        let manager = WebSocketManager::new(WebSocketConfig {
            backoff_initial: Duration::from_secs(60),
            ..test_config(&url)
        });
        let mut status = manager.watch_connection();
        manager.start().await.unwrap();
        status
            .wait_for(|s| matches!(s, exchange_ws::ConnectionState::Reconnecting { .. }))
            .await
            .unwrap();
        manager.set_url(server.url.clone());
        manager.reconnect();
        let _ws = server.next().await; // well before the 60 s backoff
        assert!(manager.wait_connected(TEST_TIMEOUT).await);
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}
