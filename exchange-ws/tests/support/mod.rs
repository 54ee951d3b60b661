//! Tiny in-test websocket servers on 127.0.0.1:0, fully controlled by the test.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::time::Duration;

use exchange_ws::{WebSocketConfig, WebSocketManager};
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

pub type ServerSocket = WebSocketStream<TcpStream>;

/// Bounds every async test.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// How late a wake-up may come on a loaded 2-core CI machine. Real-clock bounds add it to
/// the time they expect, and are chosen so that what they rule out (waiting out a 10 s close
/// timeout, a 30 s connect) lies far beyond.
pub const SCHEDULING_SLACK: Duration = Duration::from_secs(1);

/// Accepts connections on 127.0.0.1:0 and hands each (as `T`) to the test; stops accepting
/// when dropped.
pub struct Server<T> {
    pub url: String,
    pub connections: mpsc::UnboundedReceiver<T>,
    accept: JoinHandle<()>,
}

/// Hands over websocket connections (upgrade done).
pub type WsServer = Server<ServerSocket>;
/// Hands over raw TCP connections (no websocket handshake: a venue that never answers it).
pub type TcpServer = Server<TcpStream>;

impl Server<ServerSocket> {
    pub async fn start() -> Self {
        Self::listen(|tcp| async move {
            tcp.set_nodelay(true).ok()?;
            tokio_tungstenite::accept_async(tcp).await.ok()
        })
        .await
    }
}

impl Server<TcpStream> {
    pub async fn start() -> Self {
        Self::listen(|tcp| async move { Some(tcp) }).await
    }
}

impl<T: Send + 'static> Server<T> {
    async fn listen<F, Fut>(accept_one: F) -> Self
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = Option<T>> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ws", listener.local_addr().unwrap());
        let (tx, connections) = mpsc::unbounded_channel();
        let accept = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                if let Some(connection) = accept_one(tcp).await
                    && tx.send(connection).is_err()
                {
                    break;
                }
            }
        });
        Self {
            url,
            connections,
            accept,
        }
    }

    /// The next accepted connection, within `TEST_TIMEOUT`.
    pub async fn next(&mut self) -> T {
        tokio::time::timeout(TEST_TIMEOUT, self.connections.recv())
            .await
            .expect("no connection in time")
            .expect("accept loop ended")
    }
}

impl<T> Drop for Server<T> {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// A URL nothing listens on (bound, then released).
pub async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// Short timings for tests: fast backoff, no heartbeat, no liveness timers, no limiter.
pub fn test_config(url: &str) -> WebSocketConfig {
    WebSocketConfig {
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        backoff_jitter: 0.0,
        connect_timeout: Duration::from_secs(2),
        heartbeat_interval: None,
        dead_peer_timeout: None,
        idle_data_timeout: None,
        max_connection_age: None,
        close_timeout: Duration::from_millis(300),
        send_limit: None,
        ..WebSocketConfig::new("test", url)
    }
}

/// A websocket server and a manager (not started yet) with [`test_config`] pointed at it.
pub async fn server_and_manager() -> (WsServer, WebSocketManager) {
    let server = WsServer::start().await;
    let manager = WebSocketManager::new(test_config(&server.url));
    (server, manager)
}

/// Starts a manager with `config` and waits until it is connected to `server`; returns it
/// with the server's side of the connection.
pub async fn connected(
    server: &mut WsServer,
    config: WebSocketConfig,
) -> (WebSocketManager, ServerSocket) {
    let manager = WebSocketManager::new(config);
    lifecycle_core::AsyncResource::start(&manager)
        .await
        .unwrap();
    let ws = server.next().await;
    assert!(manager.wait_connected(TEST_TIMEOUT).await);
    (manager, ws)
}

/// The next text message the server reads, skipping other frames; `None` if the connection ends.
pub async fn next_text(ws: &mut ServerSocket) -> Option<String> {
    loop {
        match tokio::time::timeout(TEST_TIMEOUT, ws.next()).await.ok()?? {
            Ok(Message::Text(text)) => return Some(text.to_string()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

pub use test_support::eventually;

#[allow(unused_imports, reason = "not every test binary bounds its bodies")]
pub use test_support::bounded;

/// Waits (within `TEST_TIMEOUT`) until the manager's counters satisfy `check`; `what` names
/// the condition in the failure.
pub async fn stats_until(
    manager: &WebSocketManager,
    what: &str,
    check: impl Fn(&exchange_ws::WsStats) -> bool,
) {
    eventually(TEST_TIMEOUT, what, || check(&manager.stats())).await;
}

/// Sends a MEXC-style ack for `channel`.
pub async fn ack(ws: &mut ServerSocket, channel: &str) {
    ws.send(Message::text(format!(
        r#"{{"id":0,"code":0,"msg":"{channel}"}}"#
    )))
    .await
    .unwrap();
}

/// The channel in a MEXC `SUBSCRIPTION` request.
pub fn subscribed_channel(request: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(request).ok()?;
    if value.get("method")?.as_str()? != "SUBSCRIPTION" {
        return None;
    }
    Some(value.get("params")?.get(0)?.as_str()?.to_owned())
}

/// Asserts the manager's task registry is empty.
pub async fn assert_no_leak(manager: &WebSocketManager) {
    lifecycle_core::testing::assert_no_tasks(manager.tasks(), Duration::from_secs(1)).await;
}

/// Asserts the manager's task registry is empty and the runtime is back to `baseline`'s task
/// count: nothing of the manager is left running.
pub async fn assert_nothing_left(
    manager: &WebSocketManager,
    baseline: &lifecycle_core::testing::RuntimeTaskBaseline,
) {
    assert_no_leak(manager).await;
    baseline.assert_back(Duration::from_secs(1)).await;
}

/// A handler that forwards connection events to the test.
pub struct Events(pub mpsc::UnboundedSender<exchange_ws::WsEvent>);

impl Events {
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<exchange_ws::WsEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(tx), rx)
    }
}

impl exchange_ws::FrameHandler for Events {
    fn on_frame(&mut self, _frame: exchange_ws::Frame<'_>) -> Result<(), String> {
        Ok(())
    }
    fn on_event(&mut self, event: &exchange_ws::WsEvent) {
        let _ = self.0.send(event.clone());
    }
}

/// A handler that counts frames, and the count.
pub fn counting_handler() -> (
    impl FnMut(exchange_ws::Frame<'_>) + Send + 'static,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let count = seen.clone();
    let handler = move |_: exchange_ws::Frame<'_>| {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    (handler, seen)
}
