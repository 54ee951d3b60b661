//! One connection's life. [`ConnectionTask::session`] installs the socket for direct
//! senders, drives it, then takes it back and closes it as its end calls for (the full
//! handshake at stop, a short polite close before a replacement, nothing on a broken link).
//!
//! [`ConnectionTask::drive`] is the session's loop: it writes what is pending, waits for the
//! sources that woke the task and polls only those (see [`Readiness`]): the stop, requests
//! from the handle, direct writes that need the task, the outbound queue, the liveness tick,
//! the limiter's timer and the socket. Every branch that ends the session returns its
//! [`DisconnectReason`].

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use futures::SinkExt;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use super::{ConnectionTask, Pending};
use crate::event::{DisconnectReason, WsEvent};
use crate::heartbeat::{Liveness, LivenessAction};
use crate::link::{BROKEN, FLUSH, Socket};
use crate::readiness::{ATTENTION, CONTROL, LIMITER, OUTBOUND, Readiness, SOCKET, STOP, TICK};
use crate::report::bump;
use crate::shared::Shared;

impl ConnectionTask {
    /// One connection's life; returns why it ended and how long it was up. On stop, performs
    /// the close handshake before returning.
    pub(super) async fn session<S>(
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
        let mut frames = FrameCounts::default();
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
            if ready & OUTBOUND != 0 {
                self.take_outbound(&readiness);
            }
            if ready & TICK != 0
                && let Some(interval) = tick.as_mut()
                && let Some(reason) =
                    self.on_ticks(&shared, interval, &readiness, &mut liveness, &frames)
            {
                return reason;
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
            if ready & SOCKET != 0
                && let Some(reason) = self.read_batch(link, &readiness, &mut frames)
            {
                return reason;
            }
        }
    }

    /// The liveness ticks that are due: queue a heartbeat in front of everything, or end the
    /// session (dead peer, idle data, maximum age).
    fn on_ticks(
        &mut self,
        shared: &Shared,
        interval: &mut Interval,
        readiness: &Readiness,
        liveness: &mut Liveness,
        frames: &FrameCounts,
    ) -> Option<DisconnectReason> {
        let config = &shared.config;
        let mut cx = readiness.context(TICK);
        while interval.poll_tick(&mut cx).is_ready() {
            match liveness.tick(Instant::now(), frames.inbound, frames.data, config) {
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
                    return Some(reason);
                }
            }
        }
        None
    }
}

/// Frames one session received: any kind (`inbound`, for the dead-peer timer) and data only
/// (`data`, for the idle-data timer).
#[derive(Debug, Default)]
pub(super) struct FrameCounts {
    pub(super) inbound: u64,
    pub(super) data: u64,
}
