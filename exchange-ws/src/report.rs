//! Counters of a manager ([`WsStats`]), how the close handshake ended ([`CloseOutcome`]), and
//! their place in the stop report.

use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use lifecycle_core::StopDetails;

/// How the close handshake on stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseOutcome {
    /// There was no connection to close (stopped while connecting or in backoff), or the
    /// manager has not stopped yet.
    NotConnected,
    /// Close sent and the peer's close received.
    Clean,
    /// The peer did not answer the close within the close timeout; the socket was dropped.
    TimedOut,
    /// Sending the close or reading the answer failed; the socket was dropped.
    Failed,
}

impl CloseOutcome {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Clean,
            2 => Self::TimedOut,
            3 => Self::Failed,
            _ => Self::NotConnected,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            Self::NotConnected => 0,
            Self::Clean => 1,
            Self::TimedOut => 2,
            Self::Failed => 3,
        }
    }
}

impl fmt::Display for CloseOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotConnected => "not connected",
            Self::Clean => "clean",
            Self::TimedOut => "timed out",
            Self::Failed => "failed",
        })
    }
}

/// A snapshot of a manager's counters (since it was created).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WsStats {
    /// Data frames read (text and binary, not control replies).
    pub received: u64,
    /// Data frames handed to the handlers.
    pub processed: u64,
    /// Handler calls that returned an error.
    pub handler_errors: u64,
    /// Handler calls that panicked (caught).
    pub handler_panics: u64,
    /// Connections established.
    pub connections: u64,
    /// Connections lost or replaced while running (each followed by a reconnect attempt).
    pub reconnects: u64,
    /// Dial attempts that failed.
    pub connect_failures: u64,
    /// Frames written (heartbeats, subscriptions, user messages).
    pub sent: u64,
    /// Application heartbeats sent.
    pub heartbeats: u64,
    /// Connections given up by the dead-peer timer.
    pub dead_peer_timeouts: u64,
    /// Connections given up by the idle-data timer.
    pub idle_data_timeouts: u64,
    /// Subscription acks received.
    pub subscriptions_acked: u64,
    /// Subscription refusals received.
    pub subscriptions_refused: u64,
    /// Outbound messages never sent: queued and still unsent at stop, or lost with a
    /// connection that broke under a direct write.
    pub outbound_dropped: u64,
    /// Of `sent`, the user messages their sender wrote straight to the socket (nothing was
    /// queued ahead of them); the others went through the connection task's queue.
    pub direct_sends: u64,
}

impl WsStats {
    /// Inbound data frames read but not handed to handlers (0 unless the read loop was torn
    /// down between the two).
    pub fn inbound_dropped(&self) -> u64 {
        self.received.saturating_sub(self.processed)
    }
}

/// The live counters. Hot ones (`received`, `processed`) are written by the connection task
/// alone, with plain stores of its local counts.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) received: AtomicU64,
    pub(crate) processed: AtomicU64,
    pub(crate) handler_errors: AtomicU64,
    pub(crate) handler_panics: AtomicU64,
    pub(crate) connections: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) connect_failures: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) heartbeats: AtomicU64,
    pub(crate) dead_peer_timeouts: AtomicU64,
    pub(crate) idle_data_timeouts: AtomicU64,
    pub(crate) subscriptions_acked: AtomicU64,
    pub(crate) subscriptions_refused: AtomicU64,
    pub(crate) outbound_dropped: AtomicU64,
    pub(crate) direct_sends: AtomicU64,
    close_outcome: AtomicU8,
}

/// Adds one to a counter.
#[inline]
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> WsStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WsStats {
            received: get(&self.received),
            processed: get(&self.processed),
            handler_errors: get(&self.handler_errors),
            handler_panics: get(&self.handler_panics),
            connections: get(&self.connections),
            reconnects: get(&self.reconnects),
            connect_failures: get(&self.connect_failures),
            sent: get(&self.sent),
            heartbeats: get(&self.heartbeats),
            dead_peer_timeouts: get(&self.dead_peer_timeouts),
            idle_data_timeouts: get(&self.idle_data_timeouts),
            subscriptions_acked: get(&self.subscriptions_acked),
            subscriptions_refused: get(&self.subscriptions_refused),
            outbound_dropped: get(&self.outbound_dropped),
            direct_sends: get(&self.direct_sends),
        }
    }

    pub(crate) fn set_close_outcome(&self, outcome: CloseOutcome) {
        self.close_outcome.store(outcome.as_u8(), Ordering::Release);
    }

    pub(crate) fn close_outcome(&self) -> CloseOutcome {
        CloseOutcome::from_u8(self.close_outcome.load(Ordering::Acquire))
    }
}

/// The stop report's details: counters named as in [`WsStats`], `messages_dropped` = inbound
/// frames not handled + outbound messages never sent, and the close outcome as
/// `close_clean` / `close_timed_out` / `close_failed` (1 for the one that happened). A close
/// that timed out or failed is not an error of ours: the stop still ends clean.
pub(crate) fn stop_details(stats: &WsStats, close: CloseOutcome) -> StopDetails {
    StopDetails::new()
        .messages_dropped(stats.inbound_dropped() + stats.outbound_dropped)
        .counter("received", stats.received)
        .counter("processed", stats.processed)
        .counter("dropped_inbound", stats.inbound_dropped())
        .counter("dropped_outbound", stats.outbound_dropped)
        .counter("handler_errors", stats.handler_errors)
        .counter("handler_panics", stats.handler_panics)
        .counter("connections", stats.connections)
        .counter("reconnects", stats.reconnects)
        .counter("subscriptions_refused", stats.subscriptions_refused)
        .counter("close_clean", u64::from(close == CloseOutcome::Clean))
        .counter(
            "close_timed_out",
            u64::from(close == CloseOutcome::TimedOut),
        )
        .counter("close_failed", u64::from(close == CloseOutcome::Failed))
}
