//! Close: the bounded close handshake at stop (a close frame, then frames still arriving go
//! to the handlers until the peer's close, all by the close deadline, which ends just before
//! the stop's grace period so the task is never aborted), and the final accounting when the
//! loop ends: user messages never sent are counted as dropped, counters published, the state
//! closed.

use std::sync::atomic::Ordering;

use futures::StreamExt;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::ConnectionTask;
use super::session::FrameCounts;
use crate::link::Socket;
use crate::report::CloseOutcome;

impl ConnectionTask {
    /// Stopped: counts what will never be sent, publishes the counters, marks the state.
    pub(super) fn finish(&mut self) {
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
        let inbound_dropped = self.received.saturating_sub(self.processed);
        self.shared
            .metrics
            .messages_dropped
            .increment(dropped + inbound_dropped);
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

    /// Sends a close frame and waits for the peer's, handing frames that still arrive to the
    /// handlers; bounded by the close deadline.
    pub(super) async fn close_handshake(&mut self, mut socket: Socket) -> CloseOutcome {
        let deadline = self.shared.close_deadline(self.tasks.grace_deadline());
        let handshake = async {
            if let Err(error) = socket.close(None).await {
                return match error {
                    WsError::ConnectionClosed | WsError::AlreadyClosed => CloseOutcome::Clean,
                    _ => CloseOutcome::Failed,
                };
            }
            let mut frames = FrameCounts::default();
            loop {
                match socket.next().await {
                    Some(Ok(Message::Close(_)))
                    | None
                    | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                        return CloseOutcome::Clean;
                    }
                    Some(Err(_)) => return CloseOutcome::Failed,
                    item @ Some(Ok(_)) => {
                        let _ = self.on_item(item, &mut frames);
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
