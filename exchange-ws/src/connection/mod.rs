//! The connection task: the manager's one critical task, which owns the live connection.
//!
//! Its life, one file each:
//! - [`dial`]: the connection loop: dial (through the configured connector) with capped,
//!   jittered backoff, cancellable by the stop and cut short by `reconnect()`;
//! - [`session`]: one connection's life: install the socket for direct senders, then drive
//!   it: wait for the sources that woke the task ([`Readiness`](crate::readiness::Readiness))
//!   and poll only those, keep the link alive, and end it for the right reason;
//! - [`outbound`]: what the task sends: user messages that had to queue, heartbeats,
//!   subscription replays and unsubscriptions, all through the connection's send limiter;
//! - [`inbound`]: what the socket delivers: data frames to the handlers inline, control
//!   replies (acks, refusals, pongs) to the subscription set, errors to a disconnect reason;
//! - [`close`]: the bounded close handshake at stop, and the final accounting of what was
//!   never sent.

mod close;
mod dial;
mod inbound;
mod outbound;
mod session;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use lifecycle_core::{ShutdownSignal, TaskSpawner};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::handler::Handlers;
use crate::shared::{Control, Shared};
use crate::status::ConnectionState;

pub use dial::WsConnector;
pub(crate) use dial::WsStream;

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
    /// Of `received`, the frames already added to the `metrics` counter.
    received_published: u64,
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
            received_published: 0,
        }
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

    /// Publishes the task's own counts (received, processed, handler errors and panics).
    #[inline]
    fn publish_counts(&mut self) {
        let counters = &self.shared.counters;
        self.shared
            .metrics
            .frames_received
            .increment(self.received - self.received_published);
        self.received_published = self.received;
        counters.received.store(self.received, Ordering::Relaxed);
        counters.processed.store(self.processed, Ordering::Relaxed);
        counters
            .handler_errors
            .store(self.handlers.errors, Ordering::Relaxed);
        counters
            .handler_panics
            .store(self.handlers.panics, Ordering::Relaxed);
    }
}
