//! [`WebSocketManager`]: the `AsyncResource` that owns one websocket connection.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use lifecycle_core::{AsyncResource, BoxFuture, Lifecycle, StartError, StopReport};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::config::WebSocketConfig;
use crate::connection::ConnectionTask;
use crate::error::SendError;
use crate::handler::FrameHandler;
use crate::link::DirectSend;
use crate::report::{self, CloseOutcome, WsStats};
use crate::shared::{Control, Shared};
use crate::status::ConnectionState;
use crate::subscriptions::SubscriptionState;

type Receivers = (mpsc::Receiver<Message>, mpsc::UnboundedReceiver<Control>);

/// One websocket connection with the lifecycle contract: it connects, stays connected
/// (reconnect with capped exponential backoff and jitter, heartbeats, dead-peer, idle-data and
/// maximum-age timers), replays its subscriptions on every new connection through a strict
/// send limiter, calls its handlers inline on the read loop, and on stop closes cleanly
/// within the deadline, never reconnecting during the stop.
///
/// - Lifecycle state ([`AsyncResource::state`]) and connection state
///   ([`WebSocketManager::connection_state`]) are distinct: a manager is `Running` while it
///   reconnects.
/// - `start` returns once the connection task runs; it does not wait for the link (see
///   [`WebSocketManager::wait_connected`]).
/// - Frames reach the handlers in order, on the connection task, with no task and no
///   allocation per frame. Handler errors and panics are counted and logged.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use exchange_ws::{ConnectionState, Frame, WebSocketConfig, WebSocketManager};
/// use futures::{SinkExt, StreamExt};
/// use lifecycle_core::AsyncResource;
/// use tokio_tungstenite::tungstenite::Message;
///
/// // A tiny venue: acks every subscription, then pushes one binary frame.
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let url = format!("ws://{}/ws", listener.local_addr().unwrap());
/// tokio::spawn(async move {
///     let (tcp, _) = listener.accept().await.unwrap();
///     let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
///     while let Some(Ok(message)) = ws.next().await {
///         if message.is_text() {
///             ws.send(Message::text(r#"{"id":0,"code":0,"msg":"spot@public.aggre.deals.v3.api.pb@100ms@HIFIUSDT"}"#)).await.unwrap();
///             ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
///         }
///     }
/// });
///
/// let manager = WebSocketManager::new(WebSocketConfig::new("doc", url));
/// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
/// manager.add_handler(move |frame: Frame<'_>| { let _ = tx.send(frame.as_bytes().to_vec()); });
/// manager.subscribe("spot@public.aggre.deals.v3.api.pb@100ms@HIFIUSDT").unwrap();
/// manager.start().await.unwrap();
/// assert!(manager.wait_connected(Duration::from_secs(5)).await);
/// assert_eq!(rx.recv().await.unwrap(), [1, 2, 3]);
///
/// let report = manager.stop_within(Duration::from_secs(2)).await;
/// assert!(report.is_clean(), "{report}");
/// assert_eq!(manager.connection_state(), ConnectionState::Closed);
/// assert!(report.details.counters.contains(&("received", 1)));
/// # }
/// ```
pub struct WebSocketManager {
    lifecycle: Lifecycle,
    shared: Arc<Shared>,
    outbound: mpsc::Sender<Message>,
    control: mpsc::UnboundedSender<Control>,
    receivers: Mutex<Option<Receivers>>,
}

impl fmt::Debug for WebSocketManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketManager")
            .field("name", &self.lifecycle.name())
            .field("state", &self.lifecycle.state())
            .field("connection", &self.connection_state())
            .field("url", &crate::redact::redacted_url(&self.shared.url()))
            .finish_non_exhaustive()
    }
}

/// The component name of the manager configured as `config_name`: the name its reports, its
/// task metrics and its websocket counters all carry.
pub(crate) fn component_name(config_name: &str) -> String {
    format!("websocket_manager.{config_name}")
}

impl WebSocketManager {
    /// A manager for `config`, not started. Its component name is
    /// `websocket_manager.<config.name>`.
    pub fn new(config: WebSocketConfig) -> Self {
        let name = component_name(&config.name);
        // The connection task bounds its own close handshake; the grace only has to cover it.
        let lifecycle = Lifecycle::builder(name)
            .grace(config.close_timeout + Duration::from_millis(500))
            .build();
        let (outbound, outbound_rx) = mpsc::channel(config.outbound_capacity.max(1));
        let (control, control_rx) = mpsc::unbounded_channel();
        Self {
            lifecycle,
            shared: Arc::new(Shared::new(config)),
            outbound,
            control,
            receivers: Mutex::new(Some((outbound_rx, control_rx))),
        }
    }

    /// Adds a handler, called for every data frame after those already added. May be called
    /// before start or while running (it takes effect from the next frame).
    pub fn add_handler(&self, handler: impl FrameHandler) {
        self.shared.handlers.push(Box::new(handler));
    }

    /// The connection state (not the lifecycle state).
    pub fn connection_state(&self) -> ConnectionState {
        self.shared.status.get()
    }

    /// A watcher of the connection state.
    #[doc(alias = "watch_status")]
    pub fn watch_connection(&self) -> watch::Receiver<ConnectionState> {
        self.shared.status.subscribe()
    }

    /// Waits until the link is up, at most `timeout`; `false` if it is not (or the manager is
    /// closing).
    ///
    /// # Cancel safety
    /// Cancel safe: it only watches the connection state.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut watcher = self.watch_connection();
        let waited = tokio::time::timeout(
            timeout,
            watcher.wait_for(|s| s.is_connected() || s.is_closing()),
        )
        .await;
        matches!(waited, Ok(Ok(state)) if state.is_connected())
    }

    /// The URL the next connection will dial.
    pub fn url(&self) -> String {
        self.shared.url()
    }

    /// Changes the URL for the next connection (a private stream's new listen key, say); call
    /// [`WebSocketManager::reconnect`] to switch now.
    pub fn set_url(&self, url: impl Into<String>) {
        self.shared.set_url(url.into());
    }

    /// Replaces the current connection now (no backoff; subscriptions are replayed).
    pub fn reconnect(&self) {
        let _ = self.control.send(Control::Reconnect);
    }

    /// Sends a text message. When the connection is up, nothing is queued ahead of it and the
    /// send limiter allows it, the message is written to the socket at once by the caller (no
    /// queue, no task switch). Otherwise it is queued, waiting for room in the outbound queue
    /// (backpressure), and goes out in order through the send limiter on the current or next
    /// connection. Either way `Ok` means accepted, not delivered.
    ///
    /// # Errors
    /// [`SendError::Closed`] once the manager is stopping.
    ///
    /// # Cancel safety
    /// Cancel safe: a message written at once is written whole (that write does not await),
    /// and cancelling while it waits for room in the queue drops the message, unsent and
    /// uncounted; messages queued before it still go out, in order.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), SendError> {
        self.send(Message::text(text.into())).await
    }

    /// Queues a binary message, waiting for room (see [`WebSocketManager::send_text`]).
    ///
    /// # Errors
    /// [`SendError::Closed`] once the manager is stopping.
    ///
    /// # Cancel safety
    /// As [`send_text`](Self::send_text): written whole or not at all, and dropped unsent if
    /// cancelled while it waits for room in the queue.
    pub async fn send_binary(&self, bytes: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Message::Binary(bytes.into())).await
    }

    /// Sends a text message without waiting: written at once or queued (see
    /// [`WebSocketManager::send_text`]) if there is room in the queue now.
    ///
    /// # Errors
    /// [`SendError::QueueFull`] if the queue is full, [`SendError::Closed`] once stopping.
    pub fn try_send_text(&self, text: impl Into<String>) -> Result<(), SendError> {
        self.check_open()?;
        let Some(message) = self.send_now(Message::text(text.into())) else {
            return Ok(());
        };
        self.shared.link.queued();
        self.outbound.try_send(message).map_err(|error| {
            self.shared.link.dequeued();
            match error {
                mpsc::error::TrySendError::Full(_) => SendError::QueueFull(self.name().to_owned()),
                mpsc::error::TrySendError::Closed(_) => SendError::Closed(self.name().to_owned()),
            }
        })
    }

    async fn send(&self, message: Message) -> Result<(), SendError> {
        self.check_open()?;
        let Some(message) = self.send_now(message) else {
            return Ok(());
        };
        self.shared.link.queued();
        // Taken back if the wait is cancelled or the queue is closed.
        let mut backlog = BacklogGuard {
            shared: &self.shared,
            queued: false,
        };
        self.outbound
            .send(message)
            .await
            .map_err(|_| SendError::Closed(self.name().to_owned()))?;
        backlog.queued = true;
        Ok(())
    }

    /// Writes `message` straight to the socket if it may go now; gives it back to be queued.
    #[inline]
    fn send_now(&self, message: Message) -> Option<Message> {
        let counters = &self.shared.counters;
        match self.shared.link.try_send_now(message) {
            DirectSend::Written => {
                report::bump(&counters.sent);
                report::bump(&counters.direct_sends);
                self.shared.metrics.frames_sent.increment(1);
                None
            }
            DirectSend::Lost => {
                report::bump(&counters.outbound_dropped);
                self.shared.metrics.messages_dropped.increment(1);
                None
            }
            DirectSend::Queue(message) => Some(message),
        }
    }

    /// One atomic load: the stop signal is triggered before the connection state moves to
    /// `Closing`.
    #[inline]
    fn check_open(&self) -> Result<(), SendError> {
        if self.lifecycle.tasks().signal().is_triggered() {
            return Err(SendError::Closed(self.name().to_owned()));
        }
        Ok(())
    }

    /// Adds `channel` to the subscriptions: sent now if connected, and on every reconnect.
    /// Returns `false` if it was already subscribed.
    ///
    /// # Errors
    /// [`SendError::Closed`] once the manager is stopping.
    pub fn subscribe(&self, channel: impl Into<String>) -> Result<bool, SendError> {
        self.check_open()?;
        let added = self.shared.subscriptions.insert(channel.into());
        if added {
            let _ = self.control.send(Control::SyncSubscriptions);
        }
        Ok(added)
    }

    /// Removes `channel` from the subscriptions and tells the venue if it had been sent on
    /// the current connection. Returns `false` if it was not subscribed.
    ///
    /// # Errors
    /// [`SendError::Closed`] once the manager is stopping.
    pub fn unsubscribe(&self, channel: &str) -> Result<bool, SendError> {
        self.check_open()?;
        match self.shared.subscriptions.remove(channel) {
            Some(sent_on) => {
                if sent_on != 0 {
                    let _ = self.control.send(Control::Unsubscribe {
                        channel: channel.to_owned(),
                        sent_on,
                    });
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Every subscription and what the venue said about it, in channel order.
    pub fn subscriptions(&self) -> Vec<(String, SubscriptionState)> {
        self.shared.subscriptions.snapshot()
    }

    /// One subscription's state.
    pub fn subscription_state(&self, channel: &str) -> Option<SubscriptionState> {
        self.shared.subscriptions.state(channel)
    }

    /// The counters so far (hot counters are published after each batch of frames).
    pub fn stats(&self) -> WsStats {
        self.shared.counters.snapshot()
    }

    /// How the close handshake ended (after stop).
    pub fn close_outcome(&self) -> CloseOutcome {
        self.shared.counters.close_outcome()
    }

    /// The component's task manager (to check for leaks in tests, say).
    pub fn tasks(&self) -> &lifecycle_core::TaskSpawner {
        self.lifecycle.tasks()
    }
}

impl AsyncResource for WebSocketManager {
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        Box::pin(self.lifecycle.start(move |ctx| async move {
            let (outbound, control) = self
                .receivers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .ok_or("websocket manager already started once")?;
            if let Err(state) = self
                .shared
                .status
                .compare_and_set(ConnectionState::Idle, ConnectionState::Connecting)
            {
                return Err(format!("connection state is {state}, expected idle").into());
            }
            let task =
                ConnectionTask::new(self.shared.clone(), outbound, control, ctx.tasks().clone());
            ctx.tasks().spawn_critical("connection_loop", task.run())?;
            Ok(())
        }))
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let shared = self.shared.clone();
        Box::pin(self.lifecycle.stop(deadline, move |ctx| async move {
            shared.status.begin_closing();
            // Stop the loop first (it performs the close handshake itself), then report.
            ctx.shutdown_tasks(ctx.deadline()).await;
            shared.status.close();
            let stats = shared.counters.snapshot();
            report::stop_details(&stats, shared.counters.close_outcome())
        }))
    }
}

/// Takes a message back off the backlog unless it was queued (the wait for room was
/// cancelled, or the queue closed).
struct BacklogGuard<'a> {
    shared: &'a Shared,
    queued: bool,
}

impl Drop for BacklogGuard<'_> {
    fn drop(&mut self) {
        if !self.queued {
            self.shared.link.dequeued();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifecycle_core::LifecycleState;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn it_is_a_shareable_object_safe_resource() {
        assert_send_sync::<WebSocketManager>();
        let manager: Arc<dyn AsyncResource> = Arc::new(WebSocketManager::new(
            WebSocketConfig::new("t", "ws://127.0.0.1:1/ws"),
        ));
        assert_eq!(manager.name(), "websocket_manager.t");
        assert_eq!(manager.state(), LifecycleState::Created);
    }

    #[tokio::test]
    async fn stop_before_start_is_a_no_op_and_the_state_stays_idle() {
        let manager = WebSocketManager::new(WebSocketConfig::new("t", "ws://127.0.0.1:1/ws"));
        let report = manager.stop_within(Duration::from_millis(50)).await;
        assert_eq!(report.outcome, lifecycle_core::StopOutcome::NotStarted);
        assert_eq!(manager.connection_state(), ConnectionState::Idle);
        assert_eq!(manager.close_outcome(), CloseOutcome::NotConnected);
    }
}
