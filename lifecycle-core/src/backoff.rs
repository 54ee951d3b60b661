//! [`Backoff`]: capped exponential delays with jitter, for restarts and reconnects.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Capped exponential backoff with optional jitter.
///
/// Delay `n` (from 0) is `min(initial * multiplier^n, max)`, then reduced by up to `jitter`
/// (a fraction in `0.0..=1.0`) at random, so that many clients do not retry in lock-step.
///
/// ```
/// use std::time::Duration;
/// use lifecycle_core::Backoff;
///
/// let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
/// assert_eq!(backoff.next_delay(), Duration::from_millis(100));
/// assert_eq!(backoff.next_delay(), Duration::from_millis(200));
/// assert_eq!(backoff.next_delay(), Duration::from_millis(400));
/// assert_eq!(backoff.next_delay(), Duration::from_millis(800));
/// assert_eq!(backoff.next_delay(), Duration::from_secs(1));
/// backoff.reset();
/// assert_eq!(backoff.next_delay(), Duration::from_millis(100));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    multiplier: u32,
    jitter: f64,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// Doubling from `initial` up to `max`, without jitter.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            multiplier: 2,
            jitter: 0.0,
            attempt: 0,
            rng: random_seed(),
        }
    }

    /// Growth factor per attempt (at least 1).
    pub fn multiplier(mut self, multiplier: u32) -> Self {
        self.multiplier = multiplier.max(1);
        self
    }

    /// Random reduction of each delay by up to this fraction (clamped to `0.0..=1.0`).
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction.clamp(0.0, 1.0);
        self
    }

    /// Seeds the jitter for reproducible tests.
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = seed;
        self
    }

    /// How many delays were handed out since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The next delay; grows the following one.
    pub fn next_delay(&mut self) -> Duration {
        let factor = self
            .multiplier
            .checked_pow(self.attempt)
            .unwrap_or(u32::MAX);
        let base = self.initial.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        if self.jitter == 0.0 {
            return base;
        }
        let unit = (self.next_random() >> 11) as f64 / (1u64 << 53) as f64;
        base.mul_f64(1.0 - self.jitter * unit)
    }

    /// Starts again from `initial` (after the link stayed healthy, say).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// splitmix64: a tiny generator is all jitter needs.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A per-process random seed from std's randomly keyed hasher.
fn random_seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_fraction() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(100))
            .jitter(0.5)
            .seed(7);
        for _ in 0..1000 {
            let d = backoff.next_delay();
            assert!(
                d <= Duration::from_millis(100) && d >= Duration::from_millis(50),
                "{d:?}"
            );
        }
    }

    #[test]
    fn huge_attempt_counts_saturate_at_max() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        for _ in 0..200 {
            assert!(backoff.next_delay() <= Duration::from_secs(30));
        }
        assert_eq!(backoff.next_delay(), Duration::from_secs(30));
    }
}
