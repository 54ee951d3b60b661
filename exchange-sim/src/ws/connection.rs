//! One websocket connection: JSON control frames in, binary pushes out, MEXC's timeouts, and
//! the injected faults.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::Bytes;
use futures::stream::{BoxStream, SelectAll, SplitSink, SplitStream};
use futures::{FutureExt, SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, oneshot};
use tokio::time::{Instant, sleep_until};

use super::channel::{PrivateStream, is_legacy_json};
use crate::accounts::AccountId;
use crate::app::App;
use crate::faults::WsControl;

/// Frames written before one flush when pushes are queued.
const MAX_BATCH: usize = 256;
/// How long a closing connection waits for the peer's close frame.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

type Sink = SplitSink<WebSocket, Message>;

/// One frame to write: a push of the venue's, or a probe's (noted just before it is written).
struct Outgoing {
    frame: Bytes,
    probe: bool,
}

struct Connection {
    app: Arc<App>,
    private: Option<(AccountId, String)>,
    subscriptions: BTreeMap<String, oneshot::Sender<()>>,
    pushes: SelectAll<BoxStream<'static, Outgoing>>,
    opened: Instant,
    last_received: Instant,
    unsubscribed_since: Option<Instant>,
    inbound_window: (Instant, u32),
}

/// Why the loop ended.
enum Exit {
    /// Send a close frame with this code and reason.
    Close(u16, &'static str),
    /// Drop the TCP connection without a close frame.
    Abort,
}

pub(super) async fn run(app: Arc<App>, socket: WebSocket, private: Option<(AccountId, String)>) {
    let now = Instant::now();
    let mut connection = Connection {
        app,
        private,
        subscriptions: BTreeMap::new(),
        pushes: SelectAll::new(),
        opened: now,
        last_received: now,
        unsubscribed_since: Some(now),
        inbound_window: (now, 0),
    };
    let _live = connection.app.faults.track_websocket();
    let (mut sink, mut stream) = socket.split();
    match connection.serve(&mut sink, &mut stream).await {
        Exit::Abort => {}
        Exit::Close(code, reason) => close(&mut sink, &mut stream, code, reason).await,
    }
}

async fn close(
    sink: &mut Sink,
    stream: &mut SplitStream<WebSocket>,
    code: u16,
    reason: &'static str,
) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    if sink.send(frame).await.is_err() {
        return;
    }
    // Complete the close handshake, bounded.
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

impl Connection {
    fn deadline(&self) -> Instant {
        let ws = &self.app.config.ws;
        let mut deadline =
            (self.opened + ws.max_lifetime).min(self.last_received + ws.idle_timeout);
        if let Some(since) = self.unsubscribed_since {
            deadline = deadline.min(since + ws.no_subscription_timeout);
        }
        deadline
    }

    async fn serve(&mut self, sink: &mut Sink, stream: &mut SplitStream<WebSocket>) -> Exit {
        let mut shutdown = self.app.tasks.signal();
        let mut control = self.app.faults.subscribe_ws_control();
        let mut stall = self.app.faults.watch_stall();
        if *shutdown.borrow() {
            return Exit::Close(1001, "server shutting down");
        }
        loop {
            let stalled = *stall.borrow_and_update();
            if stalled {
                tokio::select! {
                    biased;
                    () = crate::shutdown::wait_until(&mut shutdown, true) => return Exit::Close(1001, "server shutting down"),
                    () = crate::shutdown::wait_until(&mut stall, false) => {}
                    Ok(WsControl::DropAll) = control.recv() => return Exit::Abort,
                }
                continue;
            }
            let deadline = self.deadline();
            tokio::select! {
                biased;
                () = crate::shutdown::wait_until(&mut shutdown, true) => return Exit::Close(1001, "server shutting down"),
                command = control.recv() => match command {
                    Ok(WsControl::DropAll) => return Exit::Abort,
                    Ok(WsControl::CloseAll) => return Exit::Close(1001, "going away"),
                    Ok(WsControl::Malformed(bytes)) => {
                        if sink.send(Message::Binary(bytes)).await.is_err() {
                            return Exit::Abort;
                        }
                    }
                    Ok(WsControl::ListenKeyExpired(key)) => {
                        if self.private.as_ref().is_some_and(|(_, ours)| *ours == key) {
                            return Exit::Close(1000, "listen key expired");
                        }
                    }
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return Exit::Close(1001, "server shutting down"),
                },
                _ = stall.changed() => {}
                incoming = stream.next() => {
                    let Some(Ok(message)) = incoming else {
                        return Exit::Abort;
                    };
                    self.last_received = Instant::now();
                    if !self.count_inbound() {
                        return Exit::Close(1008, "too many messages");
                    }
                    match message {
                        Message::Text(text) => {
                            let reply = self.handle_control(text.as_str());
                            if sink.send(Message::text(reply)).await.is_err() {
                                return Exit::Abort;
                            }
                        }
                        Message::Close(_) => {
                            // Send the queued close reply before dropping the socket.
                            let _ = sink.flush().await;
                            return Exit::Abort;
                        }
                        // Protocol pings are answered by the websocket layer itself.
                        Message::Ping(_) | Message::Binary(_) | Message::Pong(_) => {}
                    }
                }
                Some(push) = self.pushes.next(), if !self.pushes.is_empty() => {
                    if self.send_batch(sink, push).await.is_err() {
                        return Exit::Abort;
                    }
                }
                () = sleep_until(deadline) => return Exit::Close(1000, "timeout"),
            }
        }
    }

    /// Count one inbound frame; `false` once the per-second allowance is exceeded.
    fn count_inbound(&mut self) -> bool {
        let (started, count) = &mut self.inbound_window;
        if self.last_received.duration_since(*started) >= std::time::Duration::from_secs(1) {
            *started = self.last_received;
            *count = 0;
        }
        *count += 1;
        *count <= self.app.config.ws.max_inbound_per_second
    }

    /// Write `first` and whatever else is already queued, then flush once.
    async fn send_batch(&mut self, sink: &mut Sink, first: Outgoing) -> Result<(), axum::Error> {
        sink.feed(self.message(first)).await?;
        for _ in 0..MAX_BATCH {
            match self.pushes.next().now_or_never() {
                Some(Some(push)) => sink.feed(self.message(push)).await?,
                _ => break,
            }
        }
        sink.flush().await
    }

    /// The frame of `push`, a probe's noted as about to be written.
    fn message(&self, push: Outgoing) -> Message {
        if push.probe {
            self.app.probe.push_writing();
        }
        Message::Binary(push.frame)
    }

    /// Answer one JSON control frame.
    fn handle_control(&mut self, text: &str) -> String {
        let request: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(_) => return reply(0, "Invalid JSON request"),
        };
        let id = request.get("id").and_then(Value::as_i64).unwrap_or(0);
        let method = request
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_uppercase();
        let channels: Vec<String> = request
            .get("params")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        match method.as_str() {
            "PING" => reply(id, "PONG"),
            "SUBSCRIPTION" => self.subscribe(id, &channels),
            "UNSUBSCRIPTION" => {
                for channel in &channels {
                    // Dropping the sender ends that subscription's stream.
                    self.subscriptions.remove(channel);
                }
                if self.subscriptions.is_empty() && self.unsubscribed_since.is_none() {
                    self.unsubscribed_since = Some(Instant::now());
                }
                reply(id, &channels.join(","))
            }
            _ => reply(id, "Invalid method"),
        }
    }

    fn subscribe(&mut self, id: i64, channels: &[String]) -> String {
        let mut accepted = Vec::new();
        for channel in channels {
            if self.subscriptions.contains_key(channel) {
                accepted.push(channel.as_str());
                continue;
            }
            if self.subscriptions.len() >= self.app.config.ws.max_subscriptions {
                return refusal(
                    id,
                    channel,
                    "Exceeded the maximum number of subscriptions! ",
                );
            }
            let receiver = if is_legacy_json(channel) {
                None
            } else if let Some(stream) = PrivateStream::parse(channel) {
                self.private
                    .as_ref()
                    .and_then(|(account, _)| self.app.hub.subscribe_private(*account, stream))
            } else {
                self.app.hub.subscribe_public(channel)
            };
            let Some(receiver) = receiver else {
                return refusal(id, channel, "Blocked! ");
            };
            let (cancel, cancelled) = oneshot::channel();
            let probes = self.app.probe.subscribe_channel(channel);
            self.pushes.push(push_stream(receiver, probes, cancelled));
            self.subscriptions.insert(channel.clone(), cancel);
            self.unsubscribed_since = None;
            accepted.push(channel.as_str());
        }
        reply(id, &accepted.join(","))
    }
}

fn reply(id: i64, msg: &str) -> String {
    json!({ "id": id, "code": 0, "msg": msg }).to_string()
}

fn refusal(id: i64, channel: &str, reason: &str) -> String {
    reply(
        id,
        &format!("Not Subscribed successfully! [{channel}].  Reason： {reason}"),
    )
}

/// The frames of one subscription, the venue's and the probe's, until `cancelled` resolves
/// (its sender is dropped).
fn push_stream(
    receiver: broadcast::Receiver<Bytes>,
    probes: broadcast::Receiver<Bytes>,
    cancelled: oneshot::Receiver<()>,
) -> BoxStream<'static, Outgoing> {
    futures::stream::select(frames(receiver, false), frames(probes, true))
        .take_until(cancelled)
        .boxed()
}

/// The frames of one queue, marked as the probe's or not.
fn frames(
    receiver: broadcast::Receiver<Bytes>,
    probe: bool,
) -> impl futures::Stream<Item = Outgoing> + Send + 'static {
    futures::stream::unfold(receiver, move |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(frame) => return Some((Outgoing { frame, probe }, receiver)),
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, probe, "websocket subscriber lagged; frames skipped");
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}
