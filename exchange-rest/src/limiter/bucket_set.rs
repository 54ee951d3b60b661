//! [`BucketSet`]: which buckets a request or a waiter touches, as a bit mask.

/// The most buckets one limiter may have (the width of [`BucketSet`]).
pub(crate) const MAX_BUCKETS: usize = 128;

/// A set of bucket indices below [`MAX_BUCKETS`]; `Copy`, no allocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BucketSet(u128);

impl BucketSet {
    /// The empty set.
    pub(crate) const EMPTY: Self = Self(0);

    /// The set holding only `index` (which must be below [`MAX_BUCKETS`]).
    pub(crate) fn single(index: usize) -> Self {
        Self(
            1u128
                .checked_shl(u32::try_from(index).unwrap_or(u32::MAX))
                .unwrap_or(0),
        )
    }

    /// Whether the two sets share a bucket.
    #[inline]
    pub(crate) fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// The union of both sets.
    #[inline]
    pub(crate) fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let a = BucketSet::single(0).union(BucketSet::single(127));
        assert!(a.intersects(BucketSet::single(127)));
        assert!(!a.intersects(BucketSet::single(5)));
        assert!(BucketSet::EMPTY.is_empty());
        assert!(BucketSet::single(MAX_BUCKETS).is_empty());
    }
}
