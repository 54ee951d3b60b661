//! End to end against the embedded MEXC venue (`exchange-sim`): subscribe to a protobuf book
//! ticker, survive dropped connections, malformed frames and a stalled venue.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use exchange_sim::{SimConfig, SimVenue};
use exchange_ws::{
    DisconnectReason, Frame, SubscriptionState, WebSocketConfig, WebSocketManager, WsEvent,
};
use lifecycle_core::AsyncResource;
use mexc_proto::PushDataV3ApiWrapper;
use mexc_proto::prost::Message as _;
use support::*;
use tokio::sync::mpsc;

const BOOK: &str = "spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT";

async fn venue() -> SimVenue {
    let mut config = SimConfig::default();
    config.market.tick = Duration::from_millis(10);
    SimVenue::start(config).await.unwrap()
}

/// A manager whose handler decodes pushes and forwards their channels; decode errors are
/// handler errors (counted by the manager).
fn decoding_manager(
    config: WebSocketConfig,
) -> (WebSocketManager, mpsc::UnboundedReceiver<String>) {
    let manager = WebSocketManager::new(config);
    let (tx, rx) = mpsc::unbounded_channel();
    manager.add_handler(move |frame: Frame<'_>| -> Result<(), String> {
        let push = PushDataV3ApiWrapper::decode(frame.as_bytes()).map_err(|e| e.to_string())?;
        let _ = tx.send(push.channel);
        Ok(())
    });
    (manager, rx)
}

#[tokio::test]
async fn book_ticker_pushes_survive_dropped_connections_and_malformed_frames() {
    bounded(async {
        let sim = venue().await;
        let (manager, mut pushes) = decoding_manager(test_config(&sim.ws_url()));
        let (events_handler, mut events) = Events::channel();
        manager.add_handler(events_handler);
        manager.subscribe(BOOK).unwrap();
        manager.start().await.unwrap();

        assert_eq!(pushes.recv().await.as_deref(), Some(BOOK));
        assert_eq!(
            manager.subscription_state(BOOK),
            Some(SubscriptionState::Active)
        );

        // A malformed push reaches the handler, fails to decode, is counted; the loop goes on.
        assert!(sim.faults().push_malformed_frame() >= 1);
        stats_until(&manager, "handler_errors >= 1", |stats| {
            stats.handler_errors >= 1
        })
        .await;
        assert_eq!(pushes.recv().await.as_deref(), Some(BOOK));

        // The venue drops every connection: the manager reconnects and replays the subscription.
        assert!(sim.faults().drop_websockets() >= 1);
        loop {
            match events.recv().await.unwrap() {
                WsEvent::Connected { connection: 2 } => break,
                WsEvent::Disconnected { reason, .. } => {
                    assert_ne!(reason, DisconnectReason::Stopping);
                }
                _ => {}
            }
        }
        while pushes.try_recv().is_ok() {}
        assert_eq!(pushes.recv().await.as_deref(), Some(BOOK));
        assert!(manager.stats().subscriptions_acked >= 2);

        let report = manager.stop_within(Duration::from_secs(2)).await;
        assert!(report.is_clean(), "{report}");
        assert_no_leak(&manager).await;
        eventually(
            TEST_TIMEOUT,
            "sim.faults().websocket_connections() == 0",
            || sim.faults().websocket_connections() == 0,
        )
        .await;
        sim.stop_within(Duration::from_secs(2)).await;
    })
    .await;
}

#[tokio::test]
async fn a_stalled_venue_is_detected_and_left_behind() {
    bounded(async {
        let sim = venue().await;
        let (manager, mut pushes) = decoding_manager(WebSocketConfig {
            heartbeat_interval: Some(Duration::from_millis(50)),
            dead_peer_timeout: Some(Duration::from_millis(300)),
            connect_timeout: Duration::from_millis(300),
            ..test_config(&sim.ws_url())
        });
        manager.subscribe(BOOK).unwrap();
        manager.start().await.unwrap();
        assert_eq!(pushes.recv().await.as_deref(), Some(BOOK));

        sim.faults().stall_connections(true);
        stats_until(
            &manager,
            "manager.stats().dead_peer_timeouts >= 1",
            |stats| stats.dead_peer_timeouts >= 1,
        )
        .await;
        sim.faults().stall_connections(false);
        while pushes.try_recv().is_ok() {}
        assert_eq!(pushes.recv().await.as_deref(), Some(BOOK));
        assert!(manager.stats().connections >= 2);
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
        sim.stop_within(Duration::from_secs(2)).await;
    })
    .await;
}
