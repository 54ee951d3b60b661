//! [`SlidingWindow`]: one bucket's exact sliding-window log, with lazy time stamps so the
//! uncontended path needs no clock.
//!
//! A bucket allows `limit` weight in **every** window of length `window` (not a token bucket,
//! which lets through up to twice its capacity in some windows). It keeps a log of grants
//! `(time, weight)`; a grant at `now` is allowed iff the weight logged after `now - window`
//! plus the new weight stays within `limit`.
//!
//! Every recorded time is **no earlier** than the grant it stands for, so a grant is counted in
//! every window it belongs to, and some later ones (conservative; never over the limit):
//!
//! - Times are rounded *up* to a power-of-two granule (about `window / 1024`), which bounds the
//!   log to about 1025 entries whatever the traffic.
//! - Grants on the fast path are only added to `pending` weight, without reading the clock;
//!   the pending weight is stamped with the time of the next clock read, which comes at the
//!   latest once the pending weight reaches `limit / 16` (and on every slow-path call). So at
//!   most a sixteenth of the limit is ever recorded later than it happened.

use std::collections::VecDeque;

/// Nanoseconds since the limiter's epoch.
pub(crate) type Nanos = u64;

/// A grant recorded at `time` (rounded up), of `weight`.
#[derive(Debug, Clone, Copy)]
struct Entry {
    time: Nanos,
    weight: u64,
}

/// One bucket's state.
#[derive(Debug)]
pub(crate) struct SlidingWindow {
    limit: u64,
    window: Nanos,
    /// Granule minus one (the granule is a power of two).
    granule_mask: Nanos,
    /// Pending weight that forces a stamp (at least 1).
    stamp_every: u64,
    log: VecDeque<Entry>,
    /// Sum of the weights in `log`.
    stamped: u64,
    /// Weight granted since the last stamp, not yet in `log`.
    pending: u64,
    /// Nothing is granted before this time (0: not paused).
    paused_until: Nanos,
}

impl SlidingWindow {
    /// A bucket allowing `limit` weight per `window` nanoseconds (both at least 1).
    pub(crate) fn new(limit: u32, window: Nanos) -> Self {
        let limit = u64::from(limit.max(1));
        let window = window.max(1);
        let granule = prev_power_of_two((window / 1024).max(1));
        let slots = usize::try_from((window / granule).saturating_add(2)).unwrap_or(usize::MAX);
        let capacity = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .min(slots)
            .min(4096);
        Self {
            limit,
            window,
            granule_mask: granule - 1,
            stamp_every: (limit / 16).max(1),
            log: VecDeque::with_capacity(capacity),
            stamped: 0,
            pending: 0,
            paused_until: 0,
        }
    }

    /// The weight allowed per window.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether `weight` can be granted now without reading the clock: not paused, room even
    /// counting every logged grant as still in the window, and no stamp due after it.
    #[inline]
    pub(crate) fn fits_without_clock(&self, weight: u64) -> bool {
        let pending = self.pending + weight;
        self.paused_until == 0 && pending < self.stamp_every && self.stamped + pending <= self.limit
    }

    /// Grants `weight` without a time (after [`SlidingWindow::fits_without_clock`]).
    #[inline]
    pub(crate) fn take_without_clock(&mut self, weight: u64) {
        self.pending += weight;
    }

    /// Brings the bucket to `now`: stamps pending weight, forgets grants older than the window,
    /// ends an expired pause.
    pub(crate) fn refresh(&mut self, now: Nanos) {
        if self.pending > 0 {
            let weight = std::mem::take(&mut self.pending);
            self.push(now, weight);
        }
        while let Some(front) = self.log.front() {
            if front.time.saturating_add(self.window) > now {
                break;
            }
            self.stamped -= front.weight;
            self.log.pop_front();
        }
        if self.paused_until != 0 && self.paused_until <= now {
            self.paused_until = 0;
        }
    }

    /// Whether `weight` fits at `now` (after [`SlidingWindow::refresh`] at `now`).
    #[cfg(test)]
    pub(crate) fn fits(&self, weight: u64) -> bool {
        self.paused_until == 0 && self.stamped + weight <= self.limit
    }

    /// Records a grant of `weight` at `now` (after a successful [`SlidingWindow::fits`]).
    pub(crate) fn record(&mut self, now: Nanos, weight: u64) {
        self.push(now, weight);
    }

    /// The earliest time `weight` could fit, ignoring other waiters (after
    /// [`SlidingWindow::refresh`] at `now`); `None` if it never can (`weight > limit`).
    pub(crate) fn ready_at(&self, now: Nanos, weight: u64) -> Option<Nanos> {
        if weight > self.limit {
            return None;
        }
        let mut ready = now.max(self.paused_until);
        let excess = (self.stamped + weight).saturating_sub(self.limit);
        if excess > 0 {
            let mut freed = 0;
            for entry in &self.log {
                freed += entry.weight;
                if freed >= excess {
                    ready = ready.max(entry.time.saturating_add(self.window));
                    break;
                }
            }
        }
        Some(ready)
    }

    /// Pauses the bucket until `until` (extends, never shortens, a pause).
    pub(crate) fn pause_until(&mut self, until: Nanos) {
        self.paused_until = self.paused_until.max(until.max(1));
    }

    /// Until when the bucket is paused (0: not paused).
    pub(crate) fn paused_until(&self) -> Nanos {
        self.paused_until
    }

    /// Weight logged or pending (an upper bound of the weight in the current window).
    pub(crate) fn used(&self) -> u64 {
        self.stamped + self.pending
    }

    fn push(&mut self, now: Nanos, weight: u64) {
        let time = now.saturating_add(self.granule_mask) & !self.granule_mask;
        self.stamped += weight;
        match self.log.back_mut() {
            Some(back) if back.time >= time => back.weight += weight,
            _ => self.log.push_back(Entry { time, weight }),
        }
    }
}

/// The largest power of two not above `n` (`n >= 1`).
fn prev_power_of_two(n: u64) -> u64 {
    1u64 << (63 - n.max(1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Nanos = 1_000_000_000;

    #[test]
    fn full_window_then_frees_after_window() {
        let mut w = SlidingWindow::new(10, 10 * SEC);
        w.refresh(0);
        for _ in 0..10 {
            assert!(w.fits(1));
            w.record(0, 1);
        }
        assert!(!w.fits(1));
        assert_eq!(w.ready_at(0, 1), Some(10 * SEC));
        w.refresh(10 * SEC - 1);
        assert!(!w.fits(1));
        w.refresh(10 * SEC);
        assert!(w.fits(10));
        assert_eq!(w.used(), 0);
    }

    #[test]
    fn fast_path_stamps_before_a_sixteenth_of_the_limit() {
        let mut w = SlidingWindow::new(160, SEC);
        let mut fast = 0;
        while w.fits_without_clock(1) {
            w.take_without_clock(1);
            fast += 1;
        }
        assert_eq!(fast, 9, "stamp due when pending reaches limit/16 = 10");
        w.refresh(5);
        assert!(w.fits_without_clock(1));
        assert_eq!(w.used(), 9);
    }

    #[test]
    fn heavier_than_limit_never_fits() {
        let mut w = SlidingWindow::new(2, SEC);
        w.refresh(0);
        assert_eq!(w.ready_at(0, 3), None);
        assert!(!w.fits(3));
    }

    #[test]
    fn pause_blocks_until_its_end() {
        let mut w = SlidingWindow::new(5, SEC);
        w.pause_until(3 * SEC);
        assert!(!w.fits_without_clock(1));
        w.refresh(SEC);
        assert!(!w.fits(1));
        assert_eq!(w.ready_at(SEC, 1), Some(3 * SEC));
        w.refresh(3 * SEC);
        assert!(w.fits(1));
        assert_eq!(w.paused_until(), 0);
    }

    #[test]
    fn times_round_up_and_entries_merge() {
        let mut w = SlidingWindow::new(1000, 1024 * 1024);
        // Granule 1024 ns: grants at 1 and 1000 share the slot ending at 1024.
        w.refresh(1);
        w.record(1, 1);
        w.record(1000, 1);
        assert_eq!(w.log.len(), 1);
        assert_eq!(w.log.front().map(|e| e.time), Some(1024));
        assert_eq!(prev_power_of_two(1), 1);
        assert_eq!(prev_power_of_two(1023), 512);
    }
}
