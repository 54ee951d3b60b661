//! The manager's counters reach a `metrics` recorder (a Prometheus one of the test's own):
//! frames received and sent, connections and reconnects, labelled by the manager's name.

mod support;

use std::time::Duration;

use exchange_ws::WebSocketManager;
use exchange_ws::telemetry::{
    CONNECTIONS, FRAMES_RECEIVED, FRAMES_SENT, MESSAGES_DROPPED, RECONNECTS,
};
use futures::{SinkExt, StreamExt};
use lifecycle_core::AsyncResource;
use metrics_exporter_prometheus::PrometheusBuilder;
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// The value of `name{component="..."}` in the scrape.
fn sample(scrape: &str, name: &str, component: &str) -> f64 {
    test_support::prometheus_sample(scrape, name, &format!("component=\"{component}\""))
}

#[tokio::test]
async fn frames_connections_and_reconnects_are_counted() {
    bounded(async {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let mut server = WsServer::start().await;
        let config = test_config(&server.url);
        // Labelled with the manager's component name, as its reports and task metrics are.
        let name = format!("websocket_manager.{}", config.name);
        let manager = metrics::with_local_recorder(&recorder, || WebSocketManager::new(config));
        manager.start().await.unwrap();
        let mut ws = server.next().await;
        for i in 0..100u32 {
            ws.feed(Message::text(format!("f{i}"))).await.unwrap();
        }
        ws.flush().await.unwrap();
        stats_until(&manager, "processed == 100", |stats| stats.processed == 100).await;
        manager.send_text("hello".to_owned()).await.unwrap();
        assert_eq!(next_text(&mut ws).await.as_deref(), Some("hello"));
        // The server goes away: a reconnect.
        ws.close(None).await.unwrap();
        while ws.next().await.is_some() {}
        let _second = server.next().await;
        stats_until(&manager, "connections == 2", |stats| stats.connections == 2).await;
        let scrape = handle.render();
        assert_eq!(sample(&scrape, FRAMES_RECEIVED, &name), 100.0);
        assert_eq!(
            sample(&scrape, FRAMES_SENT, &name),
            manager.stats().sent as f64
        );
        assert!(sample(&scrape, FRAMES_SENT, &name) >= 1.0);
        assert_eq!(sample(&scrape, CONNECTIONS, &name), 2.0);
        assert_eq!(sample(&scrape, RECONNECTS, &name), 1.0);
        assert!(manager.stop_within(Duration::from_secs(2)).await.is_clean());
        assert_eq!(sample(&handle.render(), MESSAGES_DROPPED, &name), 0.0);
    })
    .await;
}
