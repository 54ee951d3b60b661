//! What the socket delivers. [`ConnectionTask::read_batch`] reads frames while they come (at
//! most [`READ_BATCH`] before the other sources get a turn), under one lock of the link for
//! the batch; each frame is counted for the liveness timers, data frames go to the handlers
//! inline (no queue, no task, no allocation), control replies update the subscription set
//! (acks, refusals) and are reported as events, and a close or an error becomes the
//! session's [`DisconnectReason`]. Protocol pings are answered by tungstenite itself.

use std::pin::Pin;
use std::task::Poll;

use futures::Stream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::session::FrameCounts;
use super::{ConnectionTask, READ_BATCH};
use crate::event::{DisconnectReason, WsEvent};
use crate::frame::Frame;
use crate::link::Link;
use crate::protocol::ControlReply;
use crate::readiness::{Readiness, SOCKET};
use crate::report::bump;

impl ConnectionTask {
    /// Reads the frames the socket has, handing each to the handlers, with one lock for the
    /// batch (senders meanwhile queue their messages); `Some` ends the session. `link` is the
    /// task's own (`self.shared.link`, borrowed apart from `self`).
    pub(super) fn read_batch(
        &mut self,
        link: &Link,
        readiness: &Readiness,
        frames: &mut FrameCounts,
    ) -> Option<DisconnectReason> {
        let mut guard = link.lock();
        let Some(open) = guard.as_mut() else {
            return Some(DisconnectReason::Error("connection lost".to_owned()));
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
                    if let Some(reason) = self.on_item(item, frames) {
                        drop(guard);
                        self.publish_counts();
                        return Some(reason);
                    }
                }
                Poll::Pending => break,
            }
        }
        drop(guard);
        self.publish_counts();
        None
    }

    /// One item from the socket; `Some` ends the session.
    #[inline]
    pub(super) fn on_item(
        &mut self,
        item: Option<Result<Message, WsError>>,
        frames: &mut FrameCounts,
    ) -> Option<DisconnectReason> {
        let message = match item {
            None => return Some(DisconnectReason::ServerClosed),
            Some(Err(error)) => return Some(disconnect_reason(error)),
            Some(Ok(message)) => message,
        };
        frames.inbound += 1;
        let protocol = &self.shared.config.protocol;
        match &message {
            Message::Binary(bytes) => match protocol.classify_binary(bytes) {
                None => {
                    frames.data += 1;
                    self.deliver(Frame::Binary(bytes));
                }
                Some(reply) => self.on_reply(reply),
            },
            Message::Text(text) => match protocol.classify_text(text.as_str()) {
                None => {
                    frames.data += 1;
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
}

/// Why a read or write error ended the session: a closed or reset connection is the server's
/// close, anything else an error with its text.
pub(super) fn disconnect_reason(error: WsError) -> DisconnectReason {
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
