//! [`DepthSequencing`]: a venue's rule of how its depth diffs follow one another.

use std::fmt;

use crate::domain::depth::DepthDiff;

/// Where a depth diff falls for a synchronised book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffPlace {
    /// Already reflected in the book (the snapshot or an earlier diff covers it): dropped.
    Stale,
    /// Follows the book: applied, and the book is then at the diff's `to_version`.
    Next,
    /// Leaves versions out: the book is discarded until a new snapshot.
    Gap {
        /// The version the venue should have sent next.
        expected: u64,
    },
}

/// A venue's version rule for its depth diffs: where a diff falls for a book at a version
/// (the snapshot's `last_update_id`, then the last applied diff's `to_version`). The
/// [`LocalOrderBook`](crate::LocalOrderBook) does the rest: buffering until the snapshot,
/// the replay, the resync, the crossed-book check.
///
/// Called once per diff on the socket's read loop: keep it cheap. A venue hands out its rule
/// with [`Venue::depth_sequencing`](crate::Venue::depth_sequencing); MEXC's is
/// `mexc::MexcDepthVersions`.
pub trait DepthSequencing: Send + Sync + fmt::Debug + 'static {
    /// Where `diff` falls for a book at `version`. Versions come from the venue: any `u64`
    /// is possible, and the rule must not overflow on one.
    fn place(&self, version: u64, diff: &DepthDiff) -> DiffPlace;
}
