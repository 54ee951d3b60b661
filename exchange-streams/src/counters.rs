//! Per-stream counters: the live atomics ([`StreamStats`]), their snapshot
//! ([`StreamCounters`]), and the guard that keeps a subscription counted as active.
//!
//! A publish to a latest-value stream touches nothing here (its count is kept inside the
//! watch's write lock, see `latest.rs`); a publish to an event stream adds one relaxed atomic
//! (see `events.rs`: counting with a receiver that never read kept every stream's last events
//! alive).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// The two kinds of stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// Latest-value stream (a `BehaviorSubject` in Rx terms): a new subscriber sees the current
    /// value first, then changes; a slow subscriber sees only the newest value.
    Latest,
    /// Event stream: every event in order through a bounded buffer; a subscriber that falls
    /// behind learns how many events it missed.
    Events,
}

impl StreamKind {
    /// The short name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Latest => "latest",
            Self::Events => "events",
        }
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot of one stream's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamCounters {
    /// The stream's name.
    pub name: Arc<str>,
    /// Its kind.
    pub kind: StreamKind,
    /// The value type's name.
    pub value_type: &'static str,
    /// Values accepted (published before the stream closed; the initial value of a
    /// latest-value stream is not counted).
    pub published: u64,
    /// Event streams: events missed by subscribers that fell behind, summed over subscribers.
    /// Latest-value streams: values replaced before a subscriber read them (conflated), summed
    /// over subscribers; by design, not an error.
    pub lagged: u64,
    /// Publishes after the stream closed: counted and ignored.
    pub rejected_after_stop: u64,
    /// Subscriptions not yet dropped or disposed.
    pub active_subscriptions: usize,
}

/// The live counters one stream shares with its publishers and subscriptions.
pub(crate) struct StreamStats {
    pub(crate) name: Arc<str>,
    pub(crate) kind: StreamKind,
    /// Set when the stream closes; publishers check it (one atomic load).
    closed: AtomicBool,
    published: AtomicU64,
    lagged: AtomicU64,
    rejected: AtomicU64,
    active: AtomicUsize,
    /// Active subscriptions over all streams of one `ObservableStreams`.
    all_active: Arc<AtomicUsize>,
}

impl fmt::Debug for StreamStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamStats")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl StreamStats {
    pub(crate) fn new(name: Arc<str>, kind: StreamKind, all_active: Arc<AtomicUsize>) -> Self {
        Self {
            name,
            kind,
            closed: AtomicBool::new(false),
            published: AtomicU64::new(0),
            lagged: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            all_active,
        }
    }

    /// Whether the stream closed: one atomic load, for the publish path.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the stream closed; `true` for the call that closed it.
    pub(crate) fn close(&self) -> bool {
        !self.closed.swap(true, Ordering::AcqRel)
    }

    /// Counts a publish after close (cold path).
    /// Counts one event published (event streams).
    #[inline]
    pub(crate) fn count_published(&self) {
        self.published.fetch_add(1, Ordering::Relaxed);
    }

    /// Events published (event streams).
    pub(crate) fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    #[cold]
    pub(crate) fn reject(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts values a subscriber missed (subscriber side, rare).
    pub(crate) fn add_lagged(&self, missed: u64) {
        self.lagged.fetch_add(missed, Ordering::Relaxed);
    }

    pub(crate) fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    pub(crate) fn snapshot(&self, value_type: &'static str, published: u64) -> StreamCounters {
        StreamCounters {
            name: self.name.clone(),
            kind: self.kind,
            value_type,
            published,
            lagged: self.lagged.load(Ordering::Relaxed),
            rejected_after_stop: self.rejected.load(Ordering::Relaxed),
            active_subscriptions: self.active(),
        }
    }
}

/// Keeps one subscription counted as active until it is dropped.
pub(crate) struct ActiveGuard {
    stats: Arc<StreamStats>,
}

impl ActiveGuard {
    pub(crate) fn new(stats: Arc<StreamStats>) -> Self {
        stats.active.fetch_add(1, Ordering::AcqRel);
        stats.all_active.fetch_add(1, Ordering::AcqRel);
        Self { stats }
    }

    pub(crate) fn stats(&self) -> &Arc<StreamStats> {
        &self.stats
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.stats.active.fetch_sub(1, Ordering::AcqRel);
        self.stats.all_active.fetch_sub(1, Ordering::AcqRel);
    }
}
