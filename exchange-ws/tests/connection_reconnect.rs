//! Reconnect after the server drops, backoff growth, stop during backoff and during connect,
//! stalled peers caught by the dead-peer timer.

mod support;

use std::time::Duration;

use exchange_ws::{ConnectionState, DisconnectReason, WebSocketConfig, WebSocketManager, WsEvent};
use futures::SinkExt;
use lifecycle_core::AsyncResource;
use lifecycle_core::testing::RuntimeTaskBaseline;
use support::*;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn reconnects_after_the_server_drops_the_connection() {
    bounded(async {
        let (mut server, manager) = server_and_manager().await;
        let (events_handler, mut events) = Events::channel();
        manager.add_handler(events_handler);
        manager.start().await.unwrap();

        let first = server.next().await;
        assert!(manager.wait_connected(TEST_TIMEOUT).await);
        assert_eq!(
            events.recv().await,
            Some(WsEvent::Connected { connection: 1 })
        );
        drop(first); // the server drops the TCP connection

        let mut second = server.next().await;
        assert_eq!(
            events.recv().await,
            Some(WsEvent::Disconnected {
                connection: 1,
                reason: DisconnectReason::ServerClosed
            })
        );
        assert_eq!(
            events.recv().await,
            Some(WsEvent::Connected { connection: 2 })
        );
        assert!(manager.wait_connected(TEST_TIMEOUT).await);
        assert_eq!(manager.stats().connections, 2);
        assert_eq!(manager.stats().reconnects, 1);

        // Still usable after the reconnect.
        manager.send_text("hello").await.unwrap();
        assert_eq!(next_text(&mut second).await.as_deref(), Some("hello"));

        let report = manager.stop_within(Duration::from_secs(2)).await;
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.counter("reconnects"), Some(1));
        assert_no_leak(&manager).await;
    })
    .await;
}

#[tokio::test]
async fn server_close_frame_also_leads_to_reconnect() {
    bounded(async {
        let (mut server, manager) = server_and_manager().await;
        manager.start().await.unwrap();
        let mut first = server.next().await;
        first.close(None).await.unwrap();
        let _second = server.next().await;
        stats_until(&manager, "connections == 2", |stats| stats.connections == 2).await;
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn backoff_grows_between_attempts_and_stop_interrupts_it() {
    bounded(async {
        let url = refused_url().await;
        let config = WebSocketConfig {
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_secs(60),
            ..test_config(&url)
        };
        let manager = WebSocketManager::new(config);
        let mut status = manager.watch_connection();
        let baseline = RuntimeTaskBaseline::capture();
        manager.start().await.unwrap();

        // Record when each attempt number first shows.
        let mut seen = Vec::new();
        while seen.len() < 5 {
            status.changed().await.unwrap();
            if let ConnectionState::Reconnecting { attempt } = *status.borrow_and_update() {
                seen.push((attempt, Instant::now()));
            }
        }
        let attempts: Vec<u32> = seen.iter().map(|(a, _)| *a).collect();
        assert_eq!(attempts, [1, 2, 3, 4, 5]);
        // Attempt n+1 shows after delay n = 20 ms * 2^(n-1) (timers never fire early).
        for (n, pair) in seen.windows(2).enumerate() {
            let gap = pair[1].1 - pair[0].1;
            let nominal = Duration::from_millis(20 << n);
            assert!(
                gap + Duration::from_millis(2) >= nominal,
                "gap {n}: {gap:?} < {nominal:?}"
            );
        }
        assert!(manager.stats().connect_failures >= 5);

        // Now in a 320 ms backoff. The stop returns by its deadline (that it cuts a backoff at
        // once is shown on a paused clock, `backoff_delays_are_exact_on_a_paused_clock`).
        let begun = Instant::now();
        let report = manager.stop_within(Duration::from_secs(1)).await;
        assert!(
            begun.elapsed() < Duration::from_secs(1) + SCHEDULING_SLACK,
            "{:?}",
            begun.elapsed()
        );
        assert!(report.is_clean(), "{report}");
        assert_eq!(manager.connection_state(), ConnectionState::Closed);
        assert_eq!(
            manager.close_outcome(),
            exchange_ws::CloseOutcome::NotConnected
        );
        assert_nothing_left(&manager, &baseline).await;
    })
    .await;
}

#[tokio::test]
async fn backoff_resets_only_after_the_link_stayed_up() {
    bounded(async {
        let mut server = WsServer::start().await;
        let config = WebSocketConfig {
            backoff_initial: Duration::from_millis(40),
            backoff_max: Duration::from_secs(10),
            backoff_reset_after: Duration::from_secs(60),
            ..test_config(&server.url)
        };
        let manager = WebSocketManager::new(config);
        manager.start().await.unwrap();
        // Drop each connection at once: the delays keep growing (40, 80, 160 ms) because no
        // link stayed up 60 s.
        let mut accepted = Vec::new();
        for _ in 0..4 {
            drop(server.next().await);
            accepted.push(Instant::now());
        }
        let gaps: Vec<Duration> = accepted.windows(2).map(|w| w[1] - w[0]).collect();
        for (n, gap) in gaps.iter().enumerate() {
            let nominal = Duration::from_millis(40 << n);
            assert!(
                *gap + Duration::from_millis(2) >= nominal,
                "gap {n}: {gap:?} < {nominal:?}"
            );
        }
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn stop_during_a_connect_that_never_completes() {
    bounded(async {
        // TCP is accepted but the websocket upgrade is never answered.
        let mut server = TcpServer::start().await;
        let manager = WebSocketManager::new(WebSocketConfig {
            connect_timeout: Duration::from_secs(30),
            ..test_config(&server.url)
        });
        let baseline = RuntimeTaskBaseline::capture();
        manager.start().await.unwrap();
        let _tcp = server.next().await;
        assert_eq!(manager.connection_state(), ConnectionState::Connecting);

        let begun = Instant::now();
        let report = manager.stop_within(Duration::from_millis(500)).await;
        // By the deadline, not the 30 s connect timeout.
        assert!(
            begun.elapsed() < Duration::from_millis(500) + SCHEDULING_SLACK,
            "{:?}",
            begun.elapsed()
        );
        assert!(report.is_clean(), "{report}");
        assert_eq!(manager.stats().connections, 0);
        assert_eq!(manager.connection_state(), ConnectionState::Closed);
        assert_nothing_left(&manager, &baseline).await;
    })
    .await;
}

#[tokio::test]
async fn a_stalled_server_is_caught_by_the_dead_peer_timer() {
    bounded(async {
        let mut server = WsServer::start().await;
        let manager = WebSocketManager::new(WebSocketConfig {
            dead_peer_timeout: Some(Duration::from_millis(200)),
            heartbeat_interval: Some(Duration::from_millis(50)),
            ..test_config(&server.url)
        });
        let (events_handler, mut events) = Events::channel();
        manager.add_handler(events_handler);
        manager.start().await.unwrap();
        // The server accepts, then stays silent: TCP open, no frame, pings unanswered (it never
        // reads, so tungstenite never answers anything either).
        let _stalled = server.next().await;
        assert_eq!(
            events.recv().await,
            Some(WsEvent::Connected { connection: 1 })
        );
        let begun = Instant::now();
        assert_eq!(
            events.recv().await,
            Some(WsEvent::Disconnected {
                connection: 1,
                reason: DisconnectReason::DeadPeer
            })
        );
        let detected = begun.elapsed();
        assert!(detected >= Duration::from_millis(190), "{detected:?}");
        assert!(
            detected < Duration::from_millis(200) + SCHEDULING_SLACK,
            "{detected:?}"
        );
        assert_eq!(manager.stats().dead_peer_timeouts, 1);
        assert!(manager.stats().heartbeats >= 2);
        // And it reconnects.
        let _second = server.next().await;
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn a_chatty_peer_keeps_the_dead_peer_timer_quiet() {
    bounded(async {
        let mut server = WsServer::start().await;
        let manager = WebSocketManager::new(WebSocketConfig {
            dead_peer_timeout: Some(Duration::from_millis(100)),
            ..test_config(&server.url)
        });
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        // Protocol pings only (no data) for 400 ms: every inbound frame refreshes the timer.
        let until = Instant::now() + Duration::from_millis(400);
        while Instant::now() < until {
            ws.send(Message::Ping(vec![1].into())).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(manager.stats().dead_peer_timeouts, 0);
        assert_eq!(manager.stats().connections, 1);
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn backoff_delays_are_exact_on_a_paused_clock() {
    // Loopback refuses at once, so only the backoff timers move the (virtual) clock.
    let url = refused_url().await;
    let manager = WebSocketManager::new(WebSocketConfig {
        backoff_initial: Duration::from_secs(1),
        backoff_max: Duration::from_secs(8),
        connect_timeout: Duration::from_secs(3600),
        ..test_config(&url)
    });
    let mut status = manager.watch_connection();
    manager.start().await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 6 {
        tokio::time::timeout(TEST_TIMEOUT, status.changed())
            .await
            .unwrap()
            .unwrap();
        if let ConnectionState::Reconnecting { attempt } = *status.borrow_and_update() {
            seen.push((attempt, Instant::now()));
        }
    }
    let gaps: Vec<u64> = seen
        .windows(2)
        .map(|w| (w[1].1 - w[0].1).as_millis() as u64)
        .collect();
    assert_eq!(gaps, [1000, 2000, 4000, 8000, 8000], "capped at 8 s");
    // In an 8 s backoff: the stop cuts it at once (no virtual time passes).
    let begun = Instant::now();
    let report = manager.stop_within(Duration::from_secs(1)).await;
    assert_eq!(begun.elapsed(), Duration::ZERO);
    assert!(report.is_clean(), "{report}");
    assert_no_leak(&manager).await;
}

#[tokio::test]
async fn a_failed_tls_handshake_is_a_failed_attempt_not_a_panic() {
    bounded(async {
        let mut server = TcpServer::start().await;
        let url = server.url.replacen("ws://", "wss://", 1);
        let manager = WebSocketManager::new(test_config(&url));
        manager.start().await.unwrap();
        drop(server.next().await); // accepts TCP, then hangs up in the middle of TLS
        stats_until(&manager, "connect_failures >= 1", |stats| {
            stats.connect_failures >= 1
        })
        .await;
        assert_eq!(manager.stats().connections, 0);
        assert!(manager.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}
