//! [`LocalOrderBook`]: a market's order book kept from a REST snapshot plus pushed depth
//! diffs, following the venue's version rule, with a resync on any gap.

use std::sync::Arc;

use crate::domain::depth::{DepthDiff, DepthSnapshot};
use crate::domain::depth_sequencing::{DepthSequencing, DiffPlace};
use crate::domain::order_book::OrderBook;
use crate::domain::side::Side;

/// What a diff did to the local book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffOutcome {
    /// No snapshot yet: kept for replay.
    Buffered,
    /// Applied.
    Applied,
    /// Older than the book (already in the snapshot): dropped.
    Stale,
    /// Versions are not contiguous (or the book crossed): the book is discarded and a new
    /// snapshot is needed.
    ResyncNeeded {
        /// The version expected next.
        expected: u64,
        /// The diff's first version.
        got: u64,
    },
}

/// Most diffs buffered while waiting for a snapshot; past this the oldest are dropped (the
/// snapshot will be newer than them anyway).
const MAX_BUFFERED: usize = 10_000;

/// The local book of one market: diffs are buffered until the REST snapshot, the snapshot
/// replaces the book and the buffered diffs newer than it are replayed, and from then on each
/// diff is placed by the venue's version rule ([`DepthSequencing`]): a stale one is dropped,
/// the next one applied, and a gap (or a book that crossed) discards the book until a new
/// snapshot.
///
/// ```
/// use std::sync::Arc;
///
/// use exchange_composite::mexc::MexcDepthVersions;
/// use exchange_composite::{DepthDiff, DepthSnapshot, DiffOutcome, LocalOrderBook, PriceLevel};
///
/// let level = |p: &str, q: &str| PriceLevel { price: p.parse().unwrap(), quantity: q.parse().unwrap() };
/// let mut book = LocalOrderBook::new(Arc::new(MexcDepthVersions));
/// let diff = |from, to| DepthDiff { from_version: from, to_version: to, bids: vec![level("0.0999", "7")], asks: vec![] };
/// assert_eq!(book.on_diff(&diff(11, 11)), DiffOutcome::Buffered);
/// book.on_snapshot(DepthSnapshot { last_update_id: 10, bids: vec![level("0.0998", "1")], asks: vec![level("0.1001", "2")] });
/// assert!(book.is_synced());
/// assert_eq!(book.book().best_bid().unwrap().quantity.to_string(), "7");
/// assert_eq!(book.on_diff(&diff(13, 13)), DiffOutcome::ResyncNeeded { expected: 12, got: 13 });
/// assert!(!book.is_synced());
/// ```
#[derive(Debug)]
pub struct LocalOrderBook {
    sequencing: Arc<dyn DepthSequencing>,
    book: OrderBook,
    /// Version of the last change applied; `None` while waiting for a snapshot.
    version: Option<u64>,
    buffered: Vec<DepthDiff>,
    resyncs: u64,
    applied: u64,
}

impl LocalOrderBook {
    /// An empty book waiting for its snapshot, following the venue's version rule.
    pub fn new(sequencing: Arc<dyn DepthSequencing>) -> Self {
        Self {
            sequencing,
            book: OrderBook::default(),
            version: None,
            buffered: Vec::new(),
            resyncs: 0,
            applied: 0,
        }
    }

    /// The book (empty until synced).
    pub fn book(&self) -> &OrderBook {
        &self.book
    }

    /// Whether the book follows the venue's.
    pub fn is_synced(&self) -> bool {
        self.version.is_some()
    }

    /// The version of the last change applied.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// How many gaps forced a resync.
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// Diffs applied.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Applies (or buffers) one diff. A diff is read in place: only one buffered while
    /// waiting for a snapshot is copied.
    pub fn on_diff(&mut self, diff: &DepthDiff) -> DiffOutcome {
        let Some(version) = self.version else {
            if self.buffered.len() >= MAX_BUFFERED {
                self.buffered.remove(0);
            }
            self.buffered.push(diff.clone());
            return DiffOutcome::Buffered;
        };
        match self.sequencing.place(version, diff) {
            DiffPlace::Stale => return DiffOutcome::Stale,
            DiffPlace::Gap { expected } => return self.lose_sync(expected, diff.from_version),
            DiffPlace::Next => {}
        }
        self.apply(diff);
        self.version = Some(diff.to_version);
        if self.book.is_crossed() {
            tracing::warn!(
                version = diff.to_version,
                "local book crossed after a diff: resyncing"
            );
            let next = diff.to_version.saturating_add(1);
            return self.lose_sync(next, next);
        }
        DiffOutcome::Applied
    }

    /// Installs a REST snapshot and replays the buffered diffs newer than it. Returns the
    /// outcome of the replay (`Applied` if nothing was out of order).
    pub fn on_snapshot(&mut self, snapshot: DepthSnapshot) -> DiffOutcome {
        self.book.reset(&snapshot.bids, &snapshot.asks);
        self.version = Some(snapshot.last_update_id);
        let buffered = std::mem::take(&mut self.buffered);
        for diff in buffered {
            if let outcome @ DiffOutcome::ResyncNeeded { .. } = self.on_diff(&diff) {
                return outcome;
            }
        }
        DiffOutcome::Applied
    }

    fn apply(&mut self, diff: &DepthDiff) {
        for level in &diff.bids {
            self.book.apply(Side::Buy, *level);
        }
        for level in &diff.asks {
            self.book.apply(Side::Sell, *level);
        }
        self.applied += 1;
    }

    fn lose_sync(&mut self, expected: u64, got: u64) -> DiffOutcome {
        self.version = None;
        self.book = OrderBook::default();
        self.buffered.clear();
        self.resyncs += 1;
        tracing::warn!(
            expected,
            got,
            resyncs = self.resyncs,
            "depth gap: local book discarded until a new snapshot"
        );
        DiffOutcome::ResyncNeeded { expected, got }
    }
}
