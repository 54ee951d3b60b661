//! `exchange-ws`: the [`WebSocketManager`], one websocket connection that starts, stays up and
//! stops cleanly, on tokio-tungstenite with rustls.
//!
//! - **Reconnect**: capped exponential backoff with jitter, reset only after the link stayed up
//!   for [`WebSocketConfig::backoff_reset_after`]; stop interrupts the backoff at once.
//! - **Connection state** ([`ConnectionState`]): connecting, connected, reconnecting (with the
//!   attempt), closing, closed; watchable, moved only by compare-and-swap so a reconnect can
//!   never revive a manager that is stopping.
//! - **Liveness**: application heartbeat (MEXC `{"method":"PING"}`), dead-peer timer (any
//!   frame), idle-data timer (data frames only), proactive reconnect before a maximum
//!   connection age; protocol pings are answered.
//! - **Subscriptions**: a set replayed on every connection through a strict send limiter (MEXC:
//!   100 messages per second) shared with user sends; acks tracked, refusals reported as
//!   [`WsEvent::SubscriptionRefused`], counted and logged.
//! - **Message path**: the connection task reads frames and calls the [`FrameHandler`]s inline:
//!   no queue, no task and no allocation per frame. Handler errors and panics are counted. A
//!   wake-up polls only the event sources that woke the task. Outbound, a message with nothing
//!   queued ahead of it is written to the socket by the sender itself (in order, under the send
//!   limit); the others queue for the connection task.
//! - **Stop**: mark closing, stop the loop, close handshake bounded by
//!   [`WebSocketConfig::close_timeout`] (and the stop deadline), count unsent messages, report
//!   received / processed / dropped / reconnects / close outcome in the
//!   [`StopReport`](lifecycle_core::StopReport).
//!
//! Venue specifics live behind [`WsProtocol`]; [`MexcProtocol`] is the default.
//!
//! # Example
//!
//! A manager on the embedded MEXC venue (`exchange-sim`, 127.0.0.1 on an ephemeral port):
//! subscribe to a protobuf book ticker, decode its first push, and stop within a deadline.
//! [`WebSocketManager`] has a second example with a venue of a dozen lines.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! use exchange_sim::{SimConfig, SimVenue};
//! use exchange_ws::{ConnectionState, Frame, WebSocketConfig, WebSocketManager};
//! use lifecycle_core::AsyncResource;
//! use mexc_proto::PushDataV3ApiWrapper;
//! use mexc_proto::prost::Message as _;
//!
//! const BOOK: &str = "spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT";
//!
//! let venue = SimVenue::start(SimConfig::default()).await?;
//! let manager = WebSocketManager::new(WebSocketConfig::new("book", venue.ws_url()));
//! let (pushes, mut received) = tokio::sync::mpsc::unbounded_channel();
//! // Handlers run inline on the connection task; an error is counted, not fatal.
//! manager.add_handler(move |frame: Frame<'_>| -> Result<(), String> {
//!     let push = PushDataV3ApiWrapper::decode(frame.as_bytes()).map_err(|e| e.to_string())?;
//!     let _ = pushes.send(push.channel);
//!     Ok(())
//! });
//! manager.subscribe(BOOK)?;
//! manager.start().await?;
//! assert!(manager.wait_connected(Duration::from_secs(5)).await);
//! assert_eq!(received.recv().await.as_deref(), Some(BOOK));
//!
//! let report = manager.stop_within(Duration::from_secs(2)).await;
//! assert!(report.is_clean(), "{report}");
//! assert_eq!(manager.connection_state(), ConnectionState::Closed);
//! venue.stop_within(Duration::from_secs(1)).await;
//! # Ok(())
//! # }
//! ```

#![doc(test(attr(deny(warnings))))]

mod config;
mod connection;
mod error;
mod event;
mod frame;
mod handler;
mod heartbeat;
mod link;
mod manager;
mod protocol;
mod readiness;
mod redact;
mod report;
mod send_limiter;
mod shared;
mod status;
mod subscriptions;
pub mod telemetry;

pub use config::WebSocketConfig;
pub use connection::WsConnector;
pub use error::SendError;
pub use event::{DisconnectReason, WsEvent};
pub use frame::Frame;
pub use handler::{FrameHandler, HandlerResult};
pub use manager::WebSocketManager;
pub use protocol::{ControlReply, MexcProtocol, WsProtocol};
pub use report::{CloseOutcome, WsStats};
pub use send_limiter::SendLimit;
pub use status::ConnectionState;
pub use subscriptions::SubscriptionState;

/// `log` targets of this crate's dependencies that print credentials at TRACE level:
/// tungstenite logs the handshake's request line, and MEXC's private endpoint carries the
/// listen key in its query (`?listenKey=`). Our own events never show a URL's query; a
/// binary that installs a subscriber should filter these targets out at TRACE (as `mm-demo`
/// does) or redact the lines.
pub const SECRET_BEARING_LOG_TARGETS: &[&str] = &["tungstenite::handshake"];
