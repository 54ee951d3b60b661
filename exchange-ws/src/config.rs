//! [`WebSocketConfig`]: every timing and limit of a [`WebSocketManager`](crate::WebSocketManager),
//! with MEXC defaults.

use std::sync::Arc;
use std::time::Duration;

use crate::connection::WsConnector;
use crate::protocol::{MexcProtocol, WsProtocol};
use crate::send_limiter::SendLimit;

/// Configuration of a [`WebSocketManager`](crate::WebSocketManager). Defaults fit MEXC spot
/// (`wss://wbs-api.mexc.com/ws`); every timing is configurable so tests can use short ones.
///
/// ```
/// use std::time::Duration;
/// use exchange_ws::WebSocketConfig;
///
/// let config = WebSocketConfig {
///     heartbeat_interval: Some(Duration::from_secs(10)),
///     ..WebSocketConfig::new("market-data", "ws://127.0.0.1:9000/ws")
/// };
/// assert_eq!(config.url, "ws://127.0.0.1:9000/ws");
/// assert_eq!(config.send_limit.map(|l| l.messages), Some(100));
/// ```
#[derive(Clone)]
pub struct WebSocketConfig {
    /// Component name for logs and reports (`websocket_manager.<name>`).
    pub name: String,
    /// The URL dialled (`ws://` or `wss://`); change it while running with
    /// [`WebSocketManager::set_url`](crate::WebSocketManager::set_url).
    pub url: String,
    /// Venue specifics (default [`MexcProtocol`]).
    pub protocol: Arc<dyn WsProtocol>,
    /// Bound on one dial (TCP + TLS + upgrade). Default 10 s.
    pub connect_timeout: Duration,
    /// First reconnect delay. Default 250 ms.
    pub backoff_initial: Duration,
    /// Largest reconnect delay. Default 30 s.
    pub backoff_max: Duration,
    /// Random reduction of each delay, a fraction in `0.0..=1.0`. Default 0.3.
    pub backoff_jitter: f64,
    /// The backoff starts again from `backoff_initial` only after a link stayed up this long.
    /// Default 30 s.
    pub backoff_reset_after: Duration,
    /// Application heartbeat period (payload from the protocol); `None` disables it. Default
    /// 15 s (MEXC closes a connection after 60 s without data).
    pub heartbeat_interval: Option<Duration>,
    /// Reconnect when nothing at all (data, control, ping, pong) arrived for this long. Default
    /// 40 s.
    pub dead_peer_timeout: Option<Duration>,
    /// Reconnect when no data frame arrived for this long (control replies do not count).
    /// Default `None` (a quiet market is not an error); set it for busy channels.
    pub idle_data_timeout: Option<Duration>,
    /// Replace the connection before it gets this old. Default 23 h 50 min (MEXC cuts at 24 h).
    pub max_connection_age: Option<Duration>,
    /// Bound on the close handshake at stop. Default 1 s.
    pub close_timeout: Duration,
    /// Bound on one write (a peer that does not read). Default 5 s.
    pub send_timeout: Duration,
    /// Outbound limit per connection, shared by heartbeats, subscription replays and user sends.
    /// Default 100 messages per second (MEXC).
    pub send_limit: Option<SendLimit>,
    /// Capacity of the outbound queue of user messages. Default 1024.
    pub outbound_capacity: usize,
    /// Largest inbound message accepted. Default 16 MiB.
    pub max_message_size: usize,
    /// tungstenite's read buffer: the most one read syscall takes. tungstenite zero-fills its
    /// free space before every read attempt; the manager polls the socket only after it woke or
    /// returned a frame, so wake-ups for sends and timers cost no read attempt. Default 16 KiB:
    /// in the ws bench's read-buffer study (4 to 128 KiB, paired against a bare client with
    /// tungstenite's 128 KiB) it gave the fastest round trip and a throughput within 5% of
    /// the best; 128 KiB added about 0.9 us per round trip. A larger value takes bigger bursts
    /// per read syscall.
    pub read_buffer_size: usize,
    /// TLS client configuration for `wss://` (default: rustls with ring and the webpki roots).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// How the manager dials (default [`WsConnector::Tcp`]; a simulation passes its own).
    pub connector: WsConnector,
    /// Seeds the reconnect jitter (default `None`: a random seed), for reproducible runs.
    pub backoff_seed: Option<u64>,
}

impl std::fmt::Debug for WebSocketConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL's query may carry a credential (a listen key): never shown.
        f.debug_struct("WebSocketConfig")
            .field("name", &self.name)
            .field("url", &crate::redact::redacted_url(&self.url))
            .field("connect_timeout", &self.connect_timeout)
            .field("backoff_initial", &self.backoff_initial)
            .field("backoff_max", &self.backoff_max)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("dead_peer_timeout", &self.dead_peer_timeout)
            .field("idle_data_timeout", &self.idle_data_timeout)
            .field("close_timeout", &self.close_timeout)
            .field("send_limit", &self.send_limit)
            .field("connector", &self.connector)
            .finish_non_exhaustive()
    }
}

impl WebSocketConfig {
    /// MEXC defaults for `url`, named `name`.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            protocol: Arc::new(MexcProtocol),
            connect_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            backoff_jitter: 0.3,
            backoff_reset_after: Duration::from_secs(30),
            heartbeat_interval: Some(Duration::from_secs(15)),
            dead_peer_timeout: Some(Duration::from_secs(40)),
            idle_data_timeout: None,
            max_connection_age: Some(Duration::from_secs(24 * 3600 - 600)),
            close_timeout: Duration::from_secs(1),
            send_timeout: Duration::from_secs(5),
            send_limit: Some(SendLimit::mexc()),
            outbound_capacity: 1024,
            max_message_size: 16 << 20,
            read_buffer_size: 16 << 10,
            tls: None,
            connector: WsConnector::Tcp,
            backoff_seed: None,
        }
    }

    /// MEXC spot's public endpoint, `wss://wbs-api.mexc.com/ws`.
    pub fn mexc_public() -> Self {
        Self::new("mexc.public", "wss://wbs-api.mexc.com/ws")
    }

    /// MEXC spot's private endpoint for `listen_key`.
    pub fn mexc_private(listen_key: &str) -> Self {
        Self::new(
            "mexc.private",
            format!("wss://wbs-api.mexc.com/ws?listenKey={listen_key}"),
        )
    }

    /// Sets the protocol.
    #[must_use]
    pub fn protocol(mut self, protocol: impl WsProtocol) -> Self {
        self.protocol = Arc::new(protocol);
        self
    }

    /// The period of the liveness check: a quarter of the shortest timer, at least 1 ms.
    pub(crate) fn liveness_tick(&self) -> Option<Duration> {
        [
            self.heartbeat_interval,
            self.dead_peer_timeout,
            self.idle_data_timeout,
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|d| d / 4)
        .or(self
            .max_connection_age
            .map(|a| (a / 4).min(Duration::from_secs(1))))
        .map(|d| d.max(Duration::from_millis(1)))
    }
}
