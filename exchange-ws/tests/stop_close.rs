//! Stop: clean close handshake, a peer that never answers the close, a flood, no reconnect
//! during stop, concurrent and early stops; every stop returns by its deadline, nothing leaks.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use exchange_ws::{CloseOutcome, ConnectionState, WebSocketConfig, WebSocketManager};
use futures::{SinkExt, StreamExt};
use lifecycle_core::testing::RuntimeTaskBaseline;
use lifecycle_core::{AsyncResource, LifecycleState, StopOutcome};
use support::*;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_clean_stop_closes_with_a_handshake_and_reports_counters() {
    bounded(async {
        let (mut server, manager) = server_and_manager().await;
        let (handler, seen) = counting_handler();
        manager.add_handler(handler);
        let baseline = RuntimeTaskBaseline::capture();
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        for i in 0..10u8 {
            ws.send(Message::binary(vec![i])).await.unwrap();
        }
        eventually(TEST_TIMEOUT, "seen.load(Ordering::Relaxed) == 10", || {
            seen.load(Ordering::Relaxed) == 10
        })
        .await;
        // The server reads on, so tungstenite answers the close.
        let peer = tokio::spawn(async move {
            let mut got_close = false;
            while let Some(Ok(message)) = ws.next().await {
                got_close |= message.is_close();
            }
            got_close
        });

        let report = manager.stop_within(Duration::from_secs(2)).await;
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.outcome, StopOutcome::Clean);
        // The close handshake, not the 2 s deadline, ended it (speed is the benches' part).
        assert!(
            report.duration < Duration::from_secs(2),
            "{:?}",
            report.duration
        );
        assert_eq!(manager.close_outcome(), CloseOutcome::Clean);
        assert_eq!(report.counter("close_clean"), Some(1));
        assert_eq!(report.counter("received"), Some(10));
        assert_eq!(report.counter("processed"), Some(10));
        assert_eq!(report.counter("reconnects"), Some(0));
        assert_eq!(report.details.messages_dropped, 0);
        assert_eq!(manager.state(), LifecycleState::Stopped);
        assert_eq!(manager.connection_state(), ConnectionState::Closed);
        assert!(peer.await.unwrap(), "the server saw a close frame");
        assert_nothing_left(&manager, &baseline).await;
    })
    .await;
}

#[tokio::test]
async fn stop_against_a_server_that_never_answers_the_close() {
    bounded(async {
        let mut server = WsServer::start().await;
        let manager = WebSocketManager::new(WebSocketConfig {
            close_timeout: Duration::from_millis(150),
            ..test_config(&server.url)
        });
        manager.start().await.unwrap();
        let _silent = server.next().await; // never read: the close is never answered
        assert!(manager.wait_connected(TEST_TIMEOUT).await);

        let begun = Instant::now();
        let report = manager.stop_within(Duration::from_secs(10)).await;
        let took = begun.elapsed();
        // Bounded by the 150 ms close timeout, not by the 10 s deadline.
        assert!(took >= Duration::from_millis(140), "{took:?}");
        assert!(
            took < Duration::from_millis(150) + SCHEDULING_SLACK,
            "{took:?}"
        );
        assert!(report.is_clean(), "{report}");
        assert_eq!(manager.close_outcome(), CloseOutcome::TimedOut);
        assert_eq!(report.counter("close_timed_out"), Some(1));
        assert_no_leak(&manager).await;
    })
    .await;
}

#[tokio::test]
async fn a_tight_stop_deadline_cuts_the_close_handshake_short() {
    bounded(async {
        let mut server = WsServer::start().await;
        let manager = WebSocketManager::new(WebSocketConfig {
            close_timeout: Duration::from_secs(10),
            ..test_config(&server.url)
        });
        manager.start().await.unwrap();
        let _silent = server.next().await;
        assert!(manager.wait_connected(TEST_TIMEOUT).await);
        let begun = Instant::now();
        let report = manager.stop_within(Duration::from_millis(100)).await;
        // By the 100 ms deadline, not the 10 s close timeout.
        assert!(
            begun.elapsed() <= Duration::from_millis(100) + SCHEDULING_SLACK,
            "{:?}",
            begun.elapsed()
        );
        // The task bounded its own close by the deadline: nothing had to be aborted.
        assert!(report.is_clean(), "{report}");
        assert_eq!(manager.close_outcome(), CloseOutcome::TimedOut);
        assert_no_leak(&manager).await;
    })
    .await;
}

#[tokio::test]
async fn stop_during_a_flood() {
    bounded(async {
        let (mut server, manager) = server_and_manager().await;
        let (handler, seen) = counting_handler();
        manager.add_handler(handler);
        let baseline = RuntimeTaskBaseline::capture();
        manager.start().await.unwrap();
        let ws = server.next().await;
        let (mut sink, mut stream) = ws.split();
        let frame = Bytes::from(vec![7u8; 100]);
        let flood = tokio::spawn(async move {
            let mut sent = 0u64;
            while sink.feed(Message::Binary(frame.clone())).await.is_ok() {
                sent += 1;
                if sent.is_multiple_of(64) && sink.flush().await.is_err() {
                    break;
                }
            }
            sent
        });
        // Answer the close from the reading half.
        let reader = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
        eventually(
            TEST_TIMEOUT,
            "seen.load(Ordering::Relaxed) > 10_000",
            || seen.load(Ordering::Relaxed) > 10_000,
        )
        .await;

        let begun = Instant::now();
        let report = manager.stop_within(Duration::from_millis(500)).await;
        assert!(
            begun.elapsed() < Duration::from_millis(500) + SCHEDULING_SLACK,
            "{:?}",
            begun.elapsed()
        );
        assert!(report.is_clean(), "{report}");
        assert_eq!(manager.state(), LifecycleState::Stopped);
        let received = report.counter("received").unwrap();
        assert_eq!(report.counter("processed"), Some(received));
        assert_eq!(received, seen.load(Ordering::Relaxed));
        assert_eq!(report.counter("reconnects"), Some(0));
        assert_eq!(manager.stats().connections, 1);
        assert_no_leak(&manager).await;
        flood.abort();
        reader.abort();
        let _ = flood.await;
        let _ = reader.await;
        baseline.assert_back(Duration::from_secs(1)).await;
    })
    .await;
}

#[tokio::test]
async fn it_never_reconnects_during_stop() {
    bounded(async {
        let mut server = WsServer::start().await;
        let manager = Arc::new(WebSocketManager::new(WebSocketConfig {
            backoff_initial: Duration::from_millis(1),
            backoff_max: Duration::from_millis(1),
            ..test_config(&server.url)
        }));
        let mut states = manager.watch_connection();
        let history = tokio::spawn(async move {
            let mut seen = vec![*states.borrow_and_update()];
            while states.changed().await.is_ok() {
                let state = *states.borrow_and_update();
                seen.push(state);
                if state == ConnectionState::Closed {
                    break;
                }
            }
            seen
        });
        manager.start().await.unwrap();
        let ws = server.next().await;
        assert!(manager.wait_connected(TEST_TIMEOUT).await);
        // The server drops the link just as the stop begins.
        let stopping = tokio::spawn({
            let manager = manager.clone();
            async move { manager.stop_within(Duration::from_secs(1)).await }
        });
        drop(ws);
        let report = stopping.await.unwrap();
        assert!(report.is_clean(), "{report}");
        let seen = history.await.unwrap();
        let closing = seen
            .iter()
            .position(|s| s.is_closing())
            .expect("never closing");
        assert!(
            seen[closing..].iter().all(|s| s.is_closing()),
            "revived after closing: {seen:?}"
        );
        assert_eq!(seen.last(), Some(&ConnectionState::Closed));
        // No connection after the stop: at most the one racing reconnect that began before it.
        assert!(manager.stats().connections <= 2);
        assert!(server.connections.try_recv().is_err() || manager.stats().connections == 2);
    })
    .await;
}

#[tokio::test]
async fn concurrent_and_repeated_stops_share_one_report() {
    bounded(async {
        let (mut server, manager) = server_and_manager().await;
        // Stop before start is a no-op.
        let early = manager.stop_within(Duration::from_millis(100)).await;
        assert_eq!(early.outcome, StopOutcome::NotStarted);
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        let peer = tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
        let (a, b) = tokio::join!(
            manager.stop_within(Duration::from_secs(1)),
            manager.stop_within(Duration::from_secs(1))
        );
        assert_eq!(a, b);
        assert!(a.is_clean(), "{a}");
        let again = manager.stop_within(Duration::from_secs(1)).await;
        assert_eq!(again, a);
        assert!(
            manager.start().await.is_err(),
            "a stopped manager does not start again"
        );
        peer.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn nothing_is_sent_once_the_state_says_stopping() {
    bounded(async {
        let mut server = WsServer::start().await;
        let config = test_config(&server.url);
        let (manager, mut ws) = connected(&mut server, config).await;
        manager.try_send_text("before").unwrap();
        assert_eq!(next_text(&mut ws).await.as_deref(), Some("before"));

        let stop = manager.stop_within(Duration::from_secs(2));
        let mut stop = std::pin::pin!(stop);
        // The stop's first poll moves the state to Stopping; its own task has not run yet.
        let _ = futures::poll!(stop.as_mut());
        assert_eq!(manager.state(), LifecycleState::Stopping);
        assert!(matches!(
            manager.try_send_text("late-try"),
            Err(exchange_ws::SendError::Closed(_))
        ));
        assert!(matches!(
            manager.send_text("late-send").await,
            Err(exchange_ws::SendError::Closed(_))
        ));
        assert!(matches!(
            manager
                .send_binary(Bytes::from_static(b"late-binary"))
                .await,
            Err(exchange_ws::SendError::Closed(_))
        ));
        let peer = tokio::spawn(async move {
            let mut texts = Vec::new();
            while let Some(text) = next_text(&mut ws).await {
                texts.push(text);
            }
            texts
        });
        let report = stop.await;
        assert_eq!(report.outcome, StopOutcome::Clean, "{report}");
        assert_eq!(peer.await.unwrap(), Vec::<String>::new());
    })
    .await;
}
