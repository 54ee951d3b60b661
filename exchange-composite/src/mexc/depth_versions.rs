//! [`MexcDepthVersions`]: MEXC's version rule for aggregated depth diffs.

use crate::domain::depth::DepthDiff;
use crate::domain::depth_sequencing::{DepthSequencing, DiffPlace};

/// MEXC's rule for its aggregated depth (protocol notes: subscribe, fetch the REST snapshot,
/// drop the diffs with `toVersion <= lastUpdateId`, then each diff's `fromVersion` must follow
/// the previous `toVersion`). A diff may overlap the book (quantities are absolute: the first
/// after a snapshot usually does); one that starts past the next version is a gap.
///
/// ```
/// use exchange_composite::mexc::MexcDepthVersions;
/// use exchange_composite::{DepthDiff, DepthSequencing, DiffPlace};
///
/// let diff = |from, to| DepthDiff { from_version: from, to_version: to, bids: vec![], asks: vec![] };
/// assert_eq!(MexcDepthVersions.place(10, &diff(9, 10)), DiffPlace::Stale);
/// assert_eq!(MexcDepthVersions.place(10, &diff(9, 11)), DiffPlace::Next);
/// assert_eq!(MexcDepthVersions.place(10, &diff(12, 12)), DiffPlace::Gap { expected: 11 });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MexcDepthVersions;

impl DepthSequencing for MexcDepthVersions {
    fn place(&self, version: u64, diff: &DepthDiff) -> DiffPlace {
        if diff.to_version <= version {
            return DiffPlace::Stale;
        }
        // `u64::MAX` is possible, and must not overflow.
        let next = version.saturating_add(1);
        if diff.from_version > next {
            DiffPlace::Gap { expected: next }
        } else {
            DiffPlace::Next
        }
    }
}
