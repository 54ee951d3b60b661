//! [`Draw`]: what one request takes from which buckets, resolved once and reused.

use super::bucket_set::BucketSet;
use super::config::BucketId;
use super::error::LimiterConfigError;

/// The most buckets one request may draw from.
pub const MAX_BUCKETS_PER_DRAW: usize = 4;

/// The weights one request draws, atomically, from up to [`MAX_BUCKETS_PER_DRAW`] buckets of
/// one limiter: all are granted together or none is. `Copy` and allocation-free; build it once
/// per endpoint with [`RateLimiter::draw`](super::RateLimiter::draw).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draw {
    pub(crate) items: [(u16, u32); MAX_BUCKETS_PER_DRAW],
    pub(crate) len: u8,
    pub(crate) mask: BucketSet,
}

impl Draw {
    /// Builds a draw; weights for the same bucket add up, zero weights are dropped.
    pub(crate) fn new(
        parts: &[(BucketId, u32)],
        buckets: usize,
    ) -> Result<Self, LimiterConfigError> {
        let mut draw = Self {
            items: [(0, 0); MAX_BUCKETS_PER_DRAW],
            len: 0,
            mask: BucketSet::EMPTY,
        };
        for &(id, weight) in parts {
            if id.index() >= buckets {
                return Err(LimiterConfigError::UnknownBucket(id.index()));
            }
            if weight == 0 {
                continue;
            }
            let len = usize::from(draw.len);
            if let Some(item) = draw.items[..len].iter_mut().find(|(b, _)| *b == id.0) {
                item.1 = item.1.saturating_add(weight);
                continue;
            }
            let slot = draw
                .items
                .get_mut(len)
                .ok_or(LimiterConfigError::TooManyBucketsInDraw)?;
            *slot = (id.0, weight);
            draw.len += 1;
            draw.mask = draw.mask.union(BucketSet::single(id.index()));
        }
        Ok(draw)
    }

    /// The (bucket index, weight) pairs.
    #[inline]
    pub(crate) fn parts(&self) -> &[(u16, u32)] {
        &self.items[..usize::from(self.len).min(MAX_BUCKETS_PER_DRAW)]
    }

    /// The buckets drawn from, with their weights.
    pub fn buckets(&self) -> impl Iterator<Item = (BucketId, u32)> + '_ {
        self.parts().iter().map(|&(b, w)| (BucketId(b), w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_duplicates_and_checks_bounds() {
        let d = Draw::new(
            &[
                (BucketId(0), 1),
                (BucketId(2), 3),
                (BucketId(0), 2),
                (BucketId(1), 0),
            ],
            3,
        )
        .unwrap();
        assert_eq!(d.parts(), &[(0, 3), (2, 3)]);
        assert!(matches!(
            Draw::new(&[(BucketId(3), 1)], 3),
            Err(LimiterConfigError::UnknownBucket(3))
        ));
        let five: Vec<_> = (0..5).map(|i| (BucketId(i), 1)).collect();
        assert!(matches!(
            Draw::new(&five, 5),
            Err(LimiterConfigError::TooManyBucketsInDraw)
        ));
    }
}
