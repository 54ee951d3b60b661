//! What the connection task sends. User messages that could not be written directly queue in
//! the outbound channel and are taken into the pending list (at most [`MAX_PENDING`]: a full
//! list leaves the channel alone, which is the senders' backpressure); heartbeats go in front,
//! subscription replays and unsubscriptions behind. [`ConnectionTask::flush_pending`] writes
//! what the connection's send limiter allows now, under the link's lock so no direct sender
//! writes between two of them, arms the limiter's timer for the rest, and flushes.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::Poll;

use futures::{FutureExt, Sink};
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::inbound::disconnect_reason;
use super::{ConnectionTask, MAX_PENDING, Pending};
use crate::event::DisconnectReason;
use crate::readiness::{OUTBOUND, Readiness};
use crate::shared::Control;

impl ConnectionTask {
    /// Takes user messages off the outbound queue into the pending list, up to
    /// [`MAX_PENDING`]. With a full pending list the queue is left alone (backpressure) until
    /// a write makes room (which marks it ready again).
    pub(super) fn take_outbound(&mut self, readiness: &Readiness) {
        if self.pending.len() >= MAX_PENDING {
            return;
        }
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

    /// Handles a request from the handle; `Some` ends the session.
    pub(super) fn on_control(&mut self, control: Control) -> Option<DisconnectReason> {
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

    /// Queues a subscribe message for every channel not yet sent on this connection.
    pub(super) fn queue_unsent_subscriptions(&mut self) {
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
    pub(super) async fn flush_pending<S>(
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
                shared.metrics.frames_sent.increment(sent);
                Ok(())
            }
            Ok(Err(error)) => Err(disconnect_reason(error)),
            Err(_) => Err(DisconnectReason::Error("write timed out".to_owned())),
        }
    }
}
