//! The connection task: dial with backoff, run a session (read frames and call the handlers
//! inline, send what is queued through the limiter and flush what senders wrote directly, keep
//! the link alive), and close cleanly on stop.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Duration;

use futures::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use lifecycle_core::{Backoff, ShutdownSignal, TaskSpawner};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, Sleep};
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig as ProtocolConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::error::ConnectError;
use crate::event::{DisconnectReason, WsEvent};
use crate::frame::Frame;
use crate::handler::Handlers;
use crate::heartbeat::{Liveness, LivenessAction};
use crate::link::{BROKEN, FLUSH, Socket};
use crate::protocol::ControlReply;
use crate::readiness::{ATTENTION, CONTROL, LIMITER, OUTBOUND, Readiness, SOCKET, STOP, TICK};
use crate::report::{CloseOutcome, bump};
use crate::shared::{Control, Shared};
use crate::status::ConnectionState;

/// Frames read back to back before the other event sources get a turn.
const READ_BATCH: usize = 64;
/// User messages taken off the queue while the limiter holds them back.
const MAX_PENDING: usize = 256;

/// An outbound message, and whether it came from the user (kept across reconnects) or was made
/// by the manager (heartbeat, subscription: made again for the next connection).
struct Pending {
    message: Message,
    from_user: bool,
}

/// Owns everything the connection loop uses; runs as the manager's one critical task.
pub(crate) struct ConnectionTask {
    shared: Arc<Shared>,
    outbound: mpsc::Receiver<Message>,
    control: mpsc::UnboundedReceiver<Control>,
    signal: ShutdownSignal,
    /// The manager's tasks: tells when the stop's grace period ends.
    tasks: TaskSpawner,
    handlers: Handlers,
    pending: VecDeque<Pending>,
    state: ConnectionState,
    connection: u64,
    received: u64,
    processed: u64,
}

impl ConnectionTask {
    pub(crate) fn new(
        shared: Arc<Shared>,
        outbound: mpsc::Receiver<Message>,
        control: mpsc::UnboundedReceiver<Control>,
        tasks: TaskSpawner,
    ) -> Self {
        Self {
            shared,
            outbound,
            control,
            signal: tasks.signal().clone(),
            tasks,
            handlers: Handlers::new(),
            pending: VecDeque::new(),
            state: ConnectionState::Connecting,
            connection: 0,
            received: 0,
            processed: 0,
        }
    }

    /// The connection loop: runs until the stop signal, then closes and accounts for what was
    /// left unsent.
    pub(crate) async fn run(mut self) {
        let shared = self.shared.clone();
        let config = &shared.config;
        let signal = self.signal.clone();
        let stop = signal.triggered();
        let mut stop = std::pin::pin!(stop);
        let mut backoff =
            Backoff::new(config.backoff_initial, config.backoff_max).jitter(config.backoff_jitter);
        let mut attempt: u32 = 0;
        'run: loop {
            self.handlers.refresh(&shared.handlers);
            if signal.is_triggered() {
                break;
            }
            let url = shared.url();
            let dial = tokio::time::timeout(config.connect_timeout, dial(&shared, &url));
            let dialled = tokio::select! {
                biased;
                () = &mut stop => break,
                dialled = dial => dialled,
            };
            let mut immediate = false;
            match dialled {
                Ok(Ok(socket)) => {
                    if !self.move_to(ConnectionState::Connected) {
                        let outcome = self.close_handshake(socket).await;
                        shared.counters.set_close_outcome(outcome);
                        break;
                    }
                    attempt = 0;
                    self.connection += 1;
                    bump(&shared.counters.connections);
                    tracing::info!(
                        component = config.name,
                        connection = self.connection,
                        url = %crate::redact::redacted_url(&url),
                        "websocket connected"
                    );
                    let (reason, up_for) = self.session(socket, &mut stop).await;
                    self.publish_counts();
                    shared.subscriptions.connection_lost();
                    self.handlers.event(&WsEvent::Disconnected {
                        connection: self.connection,
                        reason: reason.clone(),
                    });
                    if reason == DisconnectReason::Stopping {
                        break;
                    }
                    bump(&shared.counters.reconnects);
                    if up_for >= config.backoff_reset_after {
                        backoff.reset();
                    }
                    immediate = matches!(
                        reason,
                        DisconnectReason::MaxAge | DisconnectReason::Requested
                    );
                    tracing::warn!(component = config.name, connection = self.connection, %reason, up_ms = up_for.as_millis() as u64, "websocket connection lost: reconnecting");
                }
                Ok(Err(error)) => {
                    bump(&shared.counters.connect_failures);
                    tracing::warn!(component = config.name, url = %crate::redact::redacted_url(&url), %error, attempt, "websocket connect failed");
                }
                Err(_) => {
                    bump(&shared.counters.connect_failures);
                    tracing::warn!(component = config.name, url = %crate::redact::redacted_url(&url), error = %ConnectError::Timeout, attempt, "websocket connect failed");
                }
            }
            attempt = attempt.saturating_add(1);
            if !self.move_to(ConnectionState::Reconnecting { attempt }) {
                break;
            }
            if !immediate {
                let delay = backoff.next_delay();
                tracing::debug!(
                    component = config.name,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    "websocket backoff"
                );
                let sleep = tokio::time::sleep(delay);
                let mut sleep = std::pin::pin!(sleep);
                loop {
                    tokio::select! {
                        biased;
                        () = &mut stop => break 'run,
                        () = sleep.as_mut() => break,
                        // `reconnect()` (after `set_url`, say) cuts the wait; other requests
                        // are covered by the replay on the next connection.
                        Some(control) = self.control.recv() => {
                            if matches!(control, Control::Reconnect) {
                                break;
                            }
                        }
                    }
                }
            }
        }
        self.finish();
    }

    /// Compare-and-swap of the connection state from the one this task last set; fails once
    /// the manager is closing.
    fn move_to(&mut self, next: ConnectionState) -> bool {
        if self.signal.is_triggered() {
            return false;
        }
        match self.shared.status.compare_and_set(self.state, next) {
            Ok(()) => {
                self.state = next;
                true
            }
            Err(_) => false,
        }
    }

    /// Stopped: counts what will never be sent, publishes the counters, marks the state.
    fn finish(&mut self) {
        self.shared.status.begin_closing();
        self.outbound.close();
        let mut dropped = self.pending.iter().filter(|p| p.from_user).count() as u64;
        while self.outbound.try_recv().is_ok() {
            dropped += 1;
        }
        self.pending.clear();
        let counters = &self.shared.counters;
        counters
            .outbound_dropped
            .fetch_add(dropped, Ordering::Relaxed);
        self.publish_counts();
        if dropped > 0 {
            tracing::info!(
                component = self.shared.config.name,
                dropped,
                "outbound messages dropped at stop"
            );
        }
        self.shared.status.close();
    }

    #[inline]
    fn publish_counts(&self) {
        let counters = &self.shared.counters;
        counters.received.store(self.received, Ordering::Relaxed);
        counters.processed.store(self.processed, Ordering::Relaxed);
        counters
            .handler_errors
            .store(self.handlers.errors, Ordering::Relaxed);
        counters
            .handler_panics
            .store(self.handlers.panics, Ordering::Relaxed);
    }

    /// One connection's life; returns why it ended and how long it was up. On stop, performs
    /// the close handshake before returning.
    async fn session<S>(
        &mut self,
        socket: Socket,
        stop: &mut Pin<&mut S>,
    ) -> (DisconnectReason, Duration)
    where
        S: Future<Output = ()>,
    {
        let shared = self.shared.clone();
        let config = &shared.config;
        let started = Instant::now();
        self.pending.retain(|p| p.from_user);
        // Subscriptions are replayed below; stale requests are moot on a new connection.
        while self.control.try_recv().is_ok() {}
        self.handlers.event(&WsEvent::Connected {
            connection: self.connection,
        });
        self.queue_unsent_subscriptions();
        // From here senders may write straight to the socket.
        shared.link.install(socket);

        let reason = self.drive(stop, started).await;
        let Some(mut socket) = shared.link.take() else {
            return (reason, started.elapsed());
        };
        match reason {
            DisconnectReason::Stopping => {
                let outcome = self.close_handshake(socket).await;
                self.shared.counters.set_close_outcome(outcome);
            }
            DisconnectReason::MaxAge | DisconnectReason::Requested => {
                // A polite close, bounded; the next connection does not wait for it.
                let deadline =
                    Instant::now() + config.close_timeout.min(Duration::from_millis(200));
                let _ = tokio::time::timeout_at(deadline, socket.close(None)).await;
            }
            DisconnectReason::ServerClosed => {
                // Sends tungstenite's queued reply to the server's close, briefly.
                let _ = tokio::time::timeout(Duration::from_millis(100), socket.flush()).await;
            }
            DisconnectReason::Error(_)
            | DisconnectReason::DeadPeer
            | DisconnectReason::IdleData => {
                drop(socket);
            }
        }
        (reason, started.elapsed())
    }

    /// The session's loop: writes what is pending, then waits for a source to be ready and
    /// polls only the ready ones (see [`Readiness`]).
    async fn drive<S>(&mut self, stop: &mut Pin<&mut S>, started: Instant) -> DisconnectReason
    where
        S: Future<Output = ()>,
    {
        let shared = self.shared.clone();
        let config = &shared.config;
        let link = &shared.link;
        let mut liveness = Liveness::new(started);
        let mut tick = config.liveness_tick().map(|period| {
            let mut interval = tokio::time::interval_at(started + period, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        let limiter_sleep = tokio::time::sleep_until(started);
        let mut limiter_sleep = std::pin::pin!(limiter_sleep);
        let mut limiter_armed = false;
        let mut inbound: u64 = 0;
        let mut data: u64 = 0;
        let readiness = Readiness::new();
        // A direct write left bytes for this task to flush.
        let mut flush_requested = false;
        loop {
            // While the limiter holds the pending messages back, its timer says when to go on.
            if flush_requested || (!self.pending.is_empty() && !limiter_armed) {
                let flushed = self
                    .flush_pending(stop, limiter_sleep.as_mut(), &mut limiter_armed)
                    .await;
                if let Err(reason) = flushed {
                    return reason;
                }
                flush_requested = false;
                // The write may have polled the stop signal with the task's own waker; the
                // queue may have room again; an armed limiter timer must be registered.
                readiness.set(STOP | OUTBOUND | if limiter_armed { LIMITER } else { 0 });
            }
            if self.signal.is_triggered() {
                return DisconnectReason::Stopping;
            }
            let ready = readiness.wait().await;

            if ready & STOP != 0 && stop.as_mut().poll(&mut readiness.context(STOP)).is_ready() {
                return DisconnectReason::Stopping;
            }
            if ready & CONTROL != 0
                && let Poll::Ready(Some(control)) =
                    self.control.poll_recv(&mut readiness.context(CONTROL))
            {
                readiness.set(CONTROL);
                if let Some(reason) = self.on_control(control) {
                    return reason;
                }
            }
            if ready & ATTENTION != 0
                && let Poll::Ready(flags) = link.poll_attention(&mut readiness.context(ATTENTION))
            {
                if flags & BROKEN != 0 {
                    let error = link
                        .lock()
                        .as_mut()
                        .and_then(|open| open.write_error.take())
                        .unwrap_or_else(|| "write failed".to_owned());
                    return DisconnectReason::Error(error);
                }
                flush_requested |= flags & FLUSH != 0;
            }
            // With a full pending list the queue is left alone (backpressure) until a write
            // makes room (which marks it ready again).
            if ready & OUTBOUND != 0 && self.pending.len() < MAX_PENDING {
                let mut cx = readiness.context(OUTBOUND);
                while self.pending.len() < MAX_PENDING {
                    match self.outbound.poll_recv(&mut cx) {
                        Poll::Ready(Some(message)) => self.pending.push_back(Pending {
                            message,
                            from_user: true,
                        }),
                        Poll::Ready(None) | Poll::Pending => break,
                    }
                }
            }
            if ready & TICK != 0
                && let Some(interval) = tick.as_mut()
            {
                let mut cx = readiness.context(TICK);
                while interval.poll_tick(&mut cx).is_ready() {
                    match liveness.tick(Instant::now(), inbound, data, config) {
                        LivenessAction::Continue => {}
                        LivenessAction::Heartbeat => {
                            if let Some(payload) = config.protocol.heartbeat() {
                                bump(&shared.counters.heartbeats);
                                self.pending.push_front(Pending {
                                    message: Message::text(payload),
                                    from_user: false,
                                });
                            }
                        }
                        LivenessAction::Expire(reason) => {
                            match reason {
                                DisconnectReason::DeadPeer => {
                                    bump(&shared.counters.dead_peer_timeouts);
                                }
                                DisconnectReason::IdleData => {
                                    bump(&shared.counters.idle_data_timeouts);
                                }
                                _ => {}
                            }
                            return reason;
                        }
                    }
                }
            }
            if ready & LIMITER != 0
                && limiter_armed
                && limiter_sleep
                    .as_mut()
                    .poll(&mut readiness.context(LIMITER))
                    .is_ready()
            {
                limiter_armed = false;
            }
            if ready & SOCKET != 0 {
                // Reads frames while they come, handing each to the handlers, with one lock for
                // the batch (senders meanwhile queue their messages).
                let mut guard = link.lock();
                let Some(open) = guard.as_mut() else {
                    return DisconnectReason::Error("connection lost".to_owned());
                };
                let mut cx = readiness.context(SOCKET);
                let mut reads = 0;
                loop {
                    if reads == READ_BATCH {
                        // Let the other sources in, then read on.
                        readiness.set(SOCKET);
                        break;
                    }
                    if reads > 0 && self.signal.is_triggered() {
                        break;
                    }
                    match Pin::new(&mut open.socket).poll_next(&mut cx) {
                        Poll::Ready(item) => {
                            reads += 1;
                            if let Some(reason) = self.on_item(item, &mut inbound, &mut data) {
                                drop(guard);
                                self.publish_counts();
                                return reason;
                            }
                        }
                        Poll::Pending => break,
                    }
                }
                drop(guard);
                self.publish_counts();
            }
        }
    }

    /// Handles a request from the handle; `Some` ends the session.
    fn on_control(&mut self, control: Control) -> Option<DisconnectReason> {
        match control {
            Control::SyncSubscriptions => self.queue_unsent_subscriptions(),
            Control::Unsubscribe { channel, sent_on } => {
                if sent_on == self.connection && !self.shared.subscriptions.contains(&channel) {
                    let text = self.shared.config.protocol.unsubscribe_message(&channel);
                    self.pending.push_back(Pending {
                        message: Message::text(text),
                        from_user: false,
                    });
                }
            }
            Control::Reconnect => return Some(DisconnectReason::Requested),
        }
        None
    }

    fn queue_unsent_subscriptions(&mut self) {
        let protocol = &self.shared.config.protocol;
        for channel in self.shared.subscriptions.take_unsent(self.connection) {
            self.pending.push_back(Pending {
                message: Message::text(protocol.subscribe_message(&channel)),
                from_user: false,
            });
        }
    }

    /// Sends what the limiter allows now, arming `limiter_sleep` for the rest, and flushes
    /// (also what direct writes left in the socket's buffer).
    async fn flush_pending<S>(
        &mut self,
        stop: &mut Pin<&mut S>,
        mut limiter_sleep: Pin<&mut Sleep>,
        limiter_armed: &mut bool,
    ) -> Result<(), DisconnectReason>
    where
        S: Future<Output = ()>,
    {
        let shared = self.shared.clone();
        let link = &shared.link;
        let now = Instant::now();
        let allowed = {
            let mut guard = link.lock();
            let Some(open) = guard.as_mut() else {
                return Err(DisconnectReason::Error("connection lost".to_owned()));
            };
            let mut allowed = 0usize;
            while allowed < self.pending.len() {
                if let Some(at) = open.limiter.ready_at(now) {
                    limiter_sleep.as_mut().reset(at);
                    *limiter_armed = true;
                    break;
                }
                open.limiter.record(now);
                allowed += 1;
            }
            allowed
        };
        let pending = &mut self.pending;
        let mut left = allowed;
        // Polled under the lock each time: a sender never writes between our messages.
        let write = std::future::poll_fn(|cx| {
            let mut guard = link.lock();
            let Some(open) = guard.as_mut() else {
                return Poll::Ready(Err(WsError::AlreadyClosed));
            };
            let mut socket = Pin::new(&mut open.socket);
            while left > 0 {
                match socket.as_mut().poll_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Pending => {
                        open.task_flushing = true;
                        return Poll::Pending;
                    }
                }
                let Some(next) = pending.pop_front() else {
                    break;
                };
                left -= 1;
                if next.from_user {
                    link.dequeued();
                }
                if let Err(error) = socket.as_mut().start_send(next.message) {
                    return Poll::Ready(Err(error));
                }
            }
            let flushed = socket.poll_flush(cx);
            open.task_flushing = flushed.is_pending();
            flushed
        });
        let mut write = std::pin::pin!(write);
        // Usually the socket takes it at once: no timer, no select.
        let written = match (&mut write).now_or_never() {
            Some(written) => Ok(written),
            None => tokio::select! {
                biased;
                () = stop.as_mut() => return Err(DisconnectReason::Stopping),
                written = tokio::time::timeout(shared.config.send_timeout, write) => written,
            },
        };
        let sent = allowed as u64;
        match written {
            Ok(Ok(())) => {
                shared.counters.sent.fetch_add(sent, Ordering::Relaxed);
                Ok(())
            }
            Ok(Err(error)) => Err(disconnect_reason(error)),
            Err(_) => Err(DisconnectReason::Error("write timed out".to_owned())),
        }
    }

    /// One item from the socket; `Some` ends the session.
    #[inline]
    fn on_item(
        &mut self,
        item: Option<Result<Message, WsError>>,
        inbound: &mut u64,
        data: &mut u64,
    ) -> Option<DisconnectReason> {
        let message = match item {
            None => return Some(DisconnectReason::ServerClosed),
            Some(Err(error)) => return Some(disconnect_reason(error)),
            Some(Ok(message)) => message,
        };
        *inbound += 1;
        let protocol = &self.shared.config.protocol;
        match &message {
            Message::Binary(bytes) => match protocol.classify_binary(bytes) {
                None => {
                    *data += 1;
                    self.deliver(Frame::Binary(bytes));
                }
                Some(reply) => self.on_reply(reply),
            },
            Message::Text(text) => match protocol.classify_text(text.as_str()) {
                None => {
                    *data += 1;
                    self.deliver(Frame::Text(text.as_str()));
                }
                Some(reply) => self.on_reply(reply),
            },
            // tungstenite queues the pong itself and flushes it on the next read or write.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            Message::Close(frame) => {
                tracing::info!(
                    component = self.shared.config.name,
                    ?frame,
                    "server sent close"
                );
                return Some(DisconnectReason::ServerClosed);
            }
        }
        None
    }

    #[inline]
    fn deliver(&mut self, frame: Frame<'_>) {
        self.received += 1;
        self.handlers.refresh(&self.shared.handlers);
        self.handlers.deliver(frame);
        self.processed += 1;
    }

    fn on_reply(&mut self, reply: ControlReply) {
        let shared = &self.shared;
        match reply {
            ControlReply::Pong | ControlReply::Other => {}
            ControlReply::Ack { channel } => {
                if shared.subscriptions.acked(&channel) {
                    bump(&shared.counters.subscriptions_acked);
                    tracing::debug!(
                        component = shared.config.name,
                        channel,
                        "subscription acknowledged"
                    );
                    self.handlers.event(&WsEvent::SubscriptionAcked { channel });
                }
            }
            ControlReply::Refused { channels, reason } => {
                bump(&shared.counters.subscriptions_refused);
                tracing::warn!(
                    component = shared.config.name,
                    ?channels,
                    reason,
                    "subscription refused by the venue"
                );
                if channels.is_empty() {
                    self.handlers.event(&WsEvent::SubscriptionRefused {
                        channel: String::new(),
                        reason,
                    });
                    return;
                }
                for channel in channels {
                    shared.subscriptions.refused(&channel, &reason);
                    self.handlers.event(&WsEvent::SubscriptionRefused {
                        channel,
                        reason: reason.clone(),
                    });
                }
            }
        }
    }

    /// Sends a close frame and waits for the peer's, handing frames that still arrive to the
    /// handlers; bounded by the close deadline.
    async fn close_handshake(&mut self, mut socket: Socket) -> CloseOutcome {
        let deadline = self.shared.close_deadline(self.tasks.grace_deadline());
        let handshake = async {
            if let Err(error) = socket.close(None).await {
                return match error {
                    WsError::ConnectionClosed | WsError::AlreadyClosed => CloseOutcome::Clean,
                    _ => CloseOutcome::Failed,
                };
            }
            let (mut inbound, mut data) = (0, 0);
            loop {
                match socket.next().await {
                    Some(Ok(Message::Close(_)))
                    | None
                    | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                        return CloseOutcome::Clean;
                    }
                    Some(Err(_)) => return CloseOutcome::Failed,
                    item @ Some(Ok(_)) => {
                        let _ = self.on_item(item, &mut inbound, &mut data);
                    }
                }
            }
        };
        let outcome = tokio::time::timeout_at(deadline, handshake)
            .await
            .unwrap_or(CloseOutcome::TimedOut);
        self.publish_counts();
        tracing::info!(component = self.shared.config.name, %outcome, "websocket close handshake");
        outcome
    }
}

fn disconnect_reason(error: WsError) -> DisconnectReason {
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match error {
        WsError::ConnectionClosed
        | WsError::AlreadyClosed
        | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            DisconnectReason::ServerClosed
        }
        error => DisconnectReason::Error(error.to_string()),
    }
}

/// Dials `url` (TCP_NODELAY; rustls for `wss://`).
async fn dial(shared: &Shared, url: &str) -> Result<Socket, ConnectError> {
    let size = shared.config.max_message_size;
    let protocol = ProtocolConfig::default()
        .read_buffer_size(shared.config.read_buffer_size.max(1024))
        .max_message_size(Some(size))
        .max_frame_size(Some(size));
    let connector = if url.starts_with("wss:") {
        Some(Connector::Rustls(shared.tls()?))
    } else {
        None
    };
    let (socket, _response) =
        tokio_tungstenite::connect_async_tls_with_config(url, Some(protocol), true, connector)
            .await?;
    Ok(socket)
}
