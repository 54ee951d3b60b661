//! Subscriptions: replayed on every connection, acks and refusals tracked, sends limited.
#![allow(clippy::expect_used)]

mod support;

use std::time::Duration;

use exchange_ws::{
    SendError, SendLimit, SubscriptionState, WebSocketConfig, WebSocketManager, WsEvent,
};
use futures::{SinkExt, StreamExt};
use lifecycle_core::AsyncResource;
use support::*;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const BOOK: &str = "spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT";
const DEALS: &str = "spot@public.aggre.deals.v3.api.pb@100ms@HIFIUSDT";

/// Reads `n` subscription requests and acks each; returns their channels in order.
async fn read_and_ack(ws: &mut ServerSocket, n: usize) -> Vec<String> {
    let mut channels = Vec::new();
    while channels.len() < n {
        let text = next_text(ws).await.expect("connection ended");
        if let Some(channel) = subscribed_channel(&text) {
            ack(ws, &channel).await;
            channels.push(channel);
        }
    }
    channels
}

#[tokio::test]
async fn subscriptions_are_replayed_after_every_reconnect() {
    bounded(async {
        let (mut server, manager) = server_and_manager().await;
        assert!(manager.subscribe(DEALS).unwrap());
        assert!(manager.subscribe(BOOK).unwrap());
        assert!(!manager.subscribe(BOOK).unwrap());
        manager.start().await.unwrap();

        let mut first = server.next().await;
        assert_eq!(read_and_ack(&mut first, 2).await, [BOOK, DEALS]);
        eventually(TEST_TIMEOUT, "every subscription active", || {
            manager
                .subscriptions()
                .iter()
                .all(|(_, s)| *s == SubscriptionState::Active)
        })
        .await;
        drop(first);

        let mut second = server.next().await;
        assert_eq!(read_and_ack(&mut second, 2).await, [BOOK, DEALS]);
        stats_until(
            &manager,
            "manager.stats().subscriptions_acked == 4",
            |stats| stats.subscriptions_acked == 4,
        )
        .await;
        assert_eq!(
            manager.subscription_state(BOOK),
            Some(SubscriptionState::Active)
        );
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn subscribe_and_unsubscribe_while_connected() {
    bounded(async {
        let mut server = WsServer::start().await;
        let config = test_config(&server.url);
        let (manager, mut ws) = connected(&mut server, config).await;

        manager.subscribe(BOOK).unwrap();
        assert_eq!(read_and_ack(&mut ws, 1).await, [BOOK]);
        assert!(manager.unsubscribe(BOOK).unwrap());
        assert!(!manager.unsubscribe(BOOK).unwrap());
        assert_eq!(
            next_text(&mut ws).await.as_deref(),
            Some(r#"{"method":"UNSUBSCRIPTION","params":["spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT"]}"#)
        );
        assert!(manager.subscriptions().is_empty());

        // Removed channels are not replayed.
        drop(ws);
        manager.subscribe(DEALS).unwrap();
        let mut ws = server.next().await;
        assert_eq!(read_and_ack(&mut ws, 1).await, [DEALS]);
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn a_refused_subscription_is_reported() {
    bounded(async {
        let (mut server, manager) = server_and_manager().await;
        let (events_handler, mut events) = Events::channel();
        manager.add_handler(events_handler);
        let legacy = "spot@public.deals.v3.api@BTCUSDT";
        manager.subscribe(legacy).unwrap();
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        let request = next_text(&mut ws).await.unwrap();
        assert_eq!(subscribed_channel(&request).as_deref(), Some(legacy));
        ws.send(Message::text(format!(
            r#"{{"id":0,"code":0,"msg":"Not Subscribed successfully! [{legacy}].  Reason： Blocked! "}}"#
        )))
        .await
        .unwrap();

        assert_eq!(events.recv().await, Some(WsEvent::Connected { connection: 1 }));
        match events.recv().await {
            Some(WsEvent::SubscriptionRefused { channel, reason }) => {
                assert_eq!(channel, legacy);
                assert!(reason.contains("Blocked!"), "{reason}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(matches!(
            manager.subscription_state(legacy),
            Some(SubscriptionState::Refused { reason }) if reason.contains("Blocked!")
        ));
        assert_eq!(manager.stats().subscriptions_refused, 1);
        let report = manager.stop_within(Duration::from_secs(2)).await;
        assert_eq!(report.counter("subscriptions_refused"), Some(1));
    })
    .await;
}

#[tokio::test]
async fn replays_and_user_sends_share_a_strict_send_limit() {
    bounded(async {
        let mut server = WsServer::start().await;
        let window = Duration::from_millis(200);
        let manager = WebSocketManager::new(WebSocketConfig {
            send_limit: Some(SendLimit::new(5, window)),
            ..test_config(&server.url)
        });
        for i in 0..8 {
            manager.subscribe(format!("channel-{i}")).unwrap();
        }
        for i in 0..4 {
            manager.send_text(format!("user-{i}")).await.unwrap();
        }
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        let mut arrivals = Vec::new();
        while arrivals.len() < 12 {
            next_text(&mut ws).await.unwrap();
            arrivals.push(Instant::now());
        }
        // 12 messages at 5 per 200 ms: the last batch cannot start before 400 ms.
        let span = arrivals[11] - arrivals[0];
        assert!(span + Duration::from_millis(5) >= 2 * window, "{span:?}");
        // Never more than 5 in any window (with slack for delivery jitter).
        let slack = Duration::from_millis(30);
        for (i, &t) in arrivals.iter().enumerate() {
            let within = arrivals[i..]
                .iter()
                .take_while(|&&a| a < t + window - slack)
                .count();
            assert!(within <= 5, "{within} messages within one window");
        }
        assert_eq!(manager.stats().sent, 12);
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn a_full_outbound_queue_pushes_back_and_unsent_messages_are_counted_at_stop() {
    bounded(async {
        let mut server = WsServer::start().await;
        let manager = WebSocketManager::new(WebSocketConfig {
            send_limit: Some(SendLimit::new(1, Duration::from_secs(60))),
            outbound_capacity: 2,
            ..test_config(&server.url)
        });
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        assert!(manager.wait_connected(TEST_TIMEOUT).await);
        manager.send_text("first").await.unwrap();
        assert_eq!(next_text(&mut ws).await.as_deref(), Some("first"));
        // The limiter now holds everything for a minute: the task takes up to 256 into its
        // pending list, then the queue of 2 fills.
        let mut queued = 0u64;
        loop {
            match manager.try_send_text("later") {
                Ok(()) => queued += 1,
                Err(SendError::QueueFull(_)) => break,
                Err(other) => panic!("{other}"),
            }
            if queued > 1000 {
                panic!("the queue never filled");
            }
            tokio::task::yield_now().await;
        }
        assert!(queued >= 2);
        let report = manager.stop_within(Duration::from_secs(2)).await;
        assert!(report.is_clean(), "{report}");
        assert_eq!(manager.stats().outbound_dropped, queued);
        assert_eq!(report.details.messages_dropped, queued);
        assert!(matches!(
            manager.try_send_text("x"),
            Err(SendError::Closed(_))
        ));
        assert!(matches!(
            manager.send_text("x").await,
            Err(SendError::Closed(_))
        ));
        assert!(matches!(manager.subscribe(BOOK), Err(SendError::Closed(_))));
        // The server saw nothing after "first" but the close.
        assert_eq!(next_text(&mut ws).await, None);
    })
    .await;
}

#[tokio::test]
async fn heartbeats_are_mexc_pings_and_pongs_keep_the_link() {
    bounded(async {
        let mut server = WsServer::start().await;
        let manager = WebSocketManager::new(WebSocketConfig {
            heartbeat_interval: Some(Duration::from_millis(30)),
            dead_peer_timeout: Some(Duration::from_millis(150)),
            ..test_config(&server.url)
        });
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        for _ in 0..10 {
            assert_eq!(
                next_text(&mut ws).await.as_deref(),
                Some(r#"{"method":"PING"}"#)
            );
            ws.send(Message::text(r#"{"id":0,"code":0,"msg":"PONG"}"#))
                .await
                .unwrap();
        }
        let stats = manager.stats();
        assert!(stats.heartbeats >= 10);
        assert_eq!(stats.dead_peer_timeouts, 0);
        assert_eq!(stats.received, 0, "PONG is control, not data");
        assert_eq!(stats.connections, 1);
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
        let _ = ws.next().await;
    })
    .await;
}
