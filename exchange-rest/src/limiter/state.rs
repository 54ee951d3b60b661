//! [`LimiterState`]: the buckets, the FIFO queue of waiters and the counters, behind the
//! limiter's one lock. Pure logic: the time is passed in, so it is testable without a runtime.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::sync::Notify;

use super::bucket_set::BucketSet;
use super::config::{RateLimiterConfig, Scope};
use super::draw::Draw;
use super::window::{Nanos, SlidingWindow};

/// Where the limiter is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    NotStarted,
    Open,
    Closed,
}

/// The answer a waiter finds in its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pending = 0,
    Granted = 1,
    Closed = 2,
}

/// Shared between a queued waiter and whoever grants or closes it.
#[derive(Debug, Default)]
pub(crate) struct WaiterSlot {
    outcome: AtomicU8,
    /// Woken on grant, close, or when the queue ahead of it changed.
    pub(crate) notify: Notify,
}

impl WaiterSlot {
    pub(crate) fn outcome(&self) -> Outcome {
        match self.outcome.load(Ordering::Acquire) {
            1 => Outcome::Granted,
            2 => Outcome::Closed,
            _ => Outcome::Pending,
        }
    }

    fn finish(&self, outcome: Outcome) {
        self.outcome.store(outcome as u8, Ordering::Release);
        self.notify.notify_one();
    }
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    draw: Draw,
    enqueued_at: Nanos,
    slot: Arc<WaiterSlot>,
}

/// Counters, readable as a [`super::LimiterStats`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counters {
    pub(crate) granted: u64,
    pub(crate) waited: u64,
    pub(crate) wait_ns: u64,
    pub(crate) rejected: u64,
    pub(crate) closed: u64,
    pub(crate) pauses: u64,
}

/// What the slow path decided for a new request.
#[derive(Debug)]
pub(crate) enum Admission {
    Granted,
    Queued { id: u64, slot: Arc<WaiterSlot> },
    Rejected { earliest: Option<Nanos> },
    Unsatisfiable,
    Closed,
    NotStarted,
}

/// What a queued waiter should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Its slot has the answer.
    Done,
    /// Sleep until this time (or a notification, or the deadline).
    SleepUntil(Nanos),
    /// Behind an earlier waiter on a shared bucket: wait for a notification (or the deadline).
    WaitForTurn,
    /// It can never be granted by its deadline: it was removed (counted as rejected).
    Rejected { earliest: Option<Nanos> },
}

/// Everything behind the lock.
#[derive(Debug)]
pub(crate) struct LimiterState {
    pub(crate) phase: Phase,
    buckets: Vec<SlidingWindow>,
    scopes: Vec<Scope>,
    waiters: VecDeque<Waiter>,
    /// Union of the queued waiters' buckets: a new request touching them must queue (FIFO).
    waiting: BucketSet,
    next_id: u64,
    pub(crate) counters: Counters,
}

impl LimiterState {
    pub(crate) fn new(config: &RateLimiterConfig) -> Self {
        Self {
            phase: Phase::NotStarted,
            buckets: config
                .buckets
                .iter()
                .map(|b| {
                    let window = u64::try_from(b.window.as_nanos()).unwrap_or(u64::MAX);
                    SlidingWindow::new(b.limit, window)
                })
                .collect(),
            scopes: config.buckets.iter().map(|b| b.scope).collect(),
            waiters: VecDeque::new(),
            waiting: BucketSet::EMPTY,
            next_id: 0,
            counters: Counters::default(),
        }
    }

    /// The fast path: grants without reading the clock if the limiter is open, nobody waits on
    /// these buckets, and every bucket has room even counting all it logged. `false` means
    /// "take the slow path" (nothing was changed).
    #[inline]
    pub(crate) fn grant_without_clock(&mut self, draw: &Draw) -> bool {
        if self.phase != Phase::Open || draw.mask.intersects(self.waiting) {
            return false;
        }
        for &(bucket, weight) in draw.parts() {
            match self.buckets.get(usize::from(bucket)) {
                Some(b) if b.fits_without_clock(u64::from(weight)) => {}
                _ => return false,
            }
        }
        for &(bucket, weight) in draw.parts() {
            if let Some(b) = self.buckets.get_mut(usize::from(bucket)) {
                b.take_without_clock(u64::from(weight));
            }
        }
        self.counters.granted += 1;
        true
    }

    /// The slow path at `now`: grant, queue (if it may be granted by `deadline`), or refuse.
    /// `queue == false` (try_acquire) never queues.
    pub(crate) fn admit(
        &mut self,
        now: Nanos,
        draw: &Draw,
        deadline: Nanos,
        queue: bool,
    ) -> Admission {
        match self.phase {
            Phase::NotStarted => return Admission::NotStarted,
            Phase::Closed => {
                self.counters.closed += 1;
                return Admission::Closed;
            }
            Phase::Open => {}
        }
        let Some(earliest) = self.earliest(now, draw) else {
            self.counters.rejected += 1;
            return Admission::Unsatisfiable;
        };
        let behind_waiters = draw.mask.intersects(self.waiting);
        if !behind_waiters && earliest <= now {
            self.record(now, draw);
            self.counters.granted += 1;
            return Admission::Granted;
        }
        if !queue || earliest > deadline {
            self.counters.rejected += 1;
            return Admission::Rejected {
                earliest: Some(earliest),
            };
        }
        let id = self.next_id;
        self.next_id += 1;
        let slot = Arc::new(WaiterSlot::default());
        self.waiters.push_back(Waiter {
            id,
            draw: *draw,
            enqueued_at: now,
            slot: slot.clone(),
        });
        self.waiting = self.waiting.union(draw.mask);
        Admission::Queued { id, slot }
    }

    /// What waiter `id` should do at `now`, after granting whoever can go.
    pub(crate) fn next_step(&mut self, id: u64, now: Nanos, deadline: Nanos) -> Next {
        self.dispatch(now);
        let Some(index) = self.waiters.iter().position(|w| w.id == id) else {
            return Next::Done;
        };
        let ahead = self
            .waiters
            .iter()
            .take(index)
            .fold(BucketSet::EMPTY, |set, w| set.union(w.draw.mask));
        let draw = self.waiters.get(index).map(|w| w.draw);
        let earliest = draw.and_then(|d| self.earliest(now, &d));
        match earliest {
            Some(at) if at <= deadline && now < deadline => {
                if draw.is_some_and(|d| d.mask.intersects(ahead)) {
                    Next::WaitForTurn
                } else {
                    Next::SleepUntil(at)
                }
            }
            _ => {
                self.remove(id, now);
                self.counters.rejected += 1;
                Next::Rejected { earliest }
            }
        }
    }

    /// Removes waiter `id` (gave up or was dropped) and lets whoever it blocked go.
    pub(crate) fn remove(&mut self, id: u64, now: Nanos) {
        if let Some(index) = self.waiters.iter().position(|w| w.id == id) {
            if let Some(waiter) = self.waiters.remove(index) {
                self.after_change(waiter.draw.mask);
            }
            self.dispatch(now);
        }
    }

    /// Grants every queued waiter that can go at `now`, in FIFO order per bucket: a waiter is
    /// considered only if no earlier waiter still waits on one of its buckets.
    pub(crate) fn dispatch(&mut self, now: Nanos) {
        if self.waiters.is_empty() {
            self.waiting = BucketSet::EMPTY;
            return;
        }
        if self.phase != Phase::Open {
            return;
        }
        let mut blocked = BucketSet::EMPTY;
        let mut granted = BucketSet::EMPTY;
        let mut index = 0;
        while let Some(waiter) = self.waiters.get(index) {
            let draw = waiter.draw;
            if !draw.mask.intersects(blocked)
                && self.earliest(now, &draw).is_some_and(|at| at <= now)
            {
                self.record(now, &draw);
                if let Some(waiter) = self.waiters.remove(index) {
                    let waited = now.saturating_sub(waiter.enqueued_at);
                    self.counters.granted += 1;
                    self.counters.waited += 1;
                    self.counters.wait_ns = self.counters.wait_ns.saturating_add(waited);
                    waiter.slot.finish(Outcome::Granted);
                }
                granted = granted.union(draw.mask);
                continue;
            }
            blocked = blocked.union(draw.mask);
            index += 1;
        }
        self.waiting = blocked;
        if !granted.is_empty() {
            self.after_change(granted);
        }
    }

    /// Closes the limiter: every waiter gets `Closed` at once; returns how many there were.
    pub(crate) fn close(&mut self) -> usize {
        self.phase = Phase::Closed;
        let woken = self.waiters.len();
        for waiter in self.waiters.drain(..) {
            waiter.slot.finish(Outcome::Closed);
        }
        self.counters.closed += u64::try_from(woken).unwrap_or(u64::MAX);
        self.waiting = BucketSet::EMPTY;
        woken
    }

    /// Pauses every bucket of `scope` (all buckets if `None`) until `until`.
    pub(crate) fn pause(&mut self, scope: Option<Scope>, until: Nanos) {
        for (bucket, s) in self.buckets.iter_mut().zip(&self.scopes) {
            if scope.is_none_or(|scope| scope == *s) {
                bucket.pause_until(until);
            }
        }
        self.counters.pauses += 1;
    }

    /// Number of queued waiters.
    pub(crate) fn queued(&self) -> usize {
        self.waiters.len()
    }

    /// (weight used or pending, limit, paused until) of each bucket.
    pub(crate) fn bucket_usage(&self) -> impl Iterator<Item = (u64, u64, Nanos)> + '_ {
        self.buckets
            .iter()
            .map(|b| (b.used(), b.limit(), b.paused_until()))
    }

    /// Wakes the waiters sharing a bucket with `changed`: the queue ahead of them moved.
    fn after_change(&mut self, changed: BucketSet) {
        for waiter in &self.waiters {
            if waiter.draw.mask.intersects(changed) {
                waiter.slot.notify.notify_one();
            }
        }
    }

    /// Refreshes the draw's buckets to `now` and returns the earliest time all of them have
    /// room (ignoring waiters); `None` if a weight exceeds a bucket's limit.
    fn earliest(&mut self, now: Nanos, draw: &Draw) -> Option<Nanos> {
        let mut at = now;
        for &(bucket, weight) in draw.parts() {
            let b = self.buckets.get_mut(usize::from(bucket))?;
            b.refresh(now);
            at = at.max(b.ready_at(now, u64::from(weight))?);
        }
        Some(at)
    }

    fn record(&mut self, now: Nanos, draw: &Draw) {
        for &(bucket, weight) in draw.parts() {
            if let Some(b) = self.buckets.get_mut(usize::from(bucket)) {
                b.record(now, u64::from(weight));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::limiter::config::{BucketId, BucketSpec};

    const SEC: Nanos = 1_000_000_000;

    fn state(limits: &[u32]) -> LimiterState {
        let mut config = RateLimiterConfig::new("test");
        for (i, &limit) in limits.iter().enumerate() {
            config
                .add(BucketSpec::new(
                    format!("b{i}"),
                    Scope::Ip,
                    limit,
                    Duration::from_secs(1),
                ))
                .unwrap();
        }
        let mut state = LimiterState::new(&config);
        state.phase = Phase::Open;
        state
    }

    fn draw(parts: &[(u16, u32)], buckets: usize) -> Draw {
        let parts: Vec<_> = parts.iter().map(|&(b, w)| (BucketId(b), w)).collect();
        Draw::new(&parts, buckets).unwrap()
    }

    #[test]
    fn all_or_nothing_across_buckets() {
        let mut s = state(&[10, 1]);
        let both = draw(&[(0, 1), (1, 1)], 2);
        assert!(matches!(s.admit(0, &both, 0, false), Admission::Granted));
        // Bucket 1 is full: the draw takes nothing from bucket 0 either.
        assert!(matches!(
            s.admit(0, &both, 0, false),
            Admission::Rejected {
                earliest: Some(SEC)
            }
        ));
        let used: Vec<_> = s.bucket_usage().map(|u| u.0).collect();
        assert_eq!(used, vec![1, 1]);
    }

    #[test]
    fn fifo_per_bucket_and_independent_buckets_pass() {
        let mut s = state(&[1, 1]);
        let a = draw(&[(0, 1)], 2);
        let b = draw(&[(1, 1)], 2);
        assert!(matches!(s.admit(0, &a, 0, true), Admission::Granted));
        let Admission::Queued {
            id: first,
            slot: first_slot,
        } = s.admit(0, &a, 10 * SEC, true)
        else {
            panic!("expected to queue");
        };
        let Admission::Queued { id: second, .. } = s.admit(0, &a, 10 * SEC, true) else {
            panic!("expected to queue");
        };
        // Another bucket is not held up by the queue on bucket 0.
        assert!(
            s.grant_without_clock(&b) || matches!(s.admit(0, &b, 0, false), Admission::Granted)
        );
        assert_eq!(s.next_step(first, 0, 10 * SEC), Next::SleepUntil(SEC));
        assert_eq!(s.next_step(second, 0, 10 * SEC), Next::WaitForTurn);
        s.dispatch(SEC);
        assert_eq!(first_slot.outcome(), Outcome::Granted);
        // The grant at 1 s is logged at 1 s rounded up to the granule (2^19 ns for a 1 s window).
        let next = s.next_step(second, SEC, 10 * SEC);
        assert!(
            matches!(next, Next::SleepUntil(t) if (2 * SEC..2 * SEC + (1 << 19)).contains(&t)),
            "{next:?}"
        );
        assert_eq!(s.counters.waited, 1);
        assert_eq!(s.counters.wait_ns, SEC);
    }

    #[test]
    fn new_requests_queue_behind_waiters() {
        let mut s = state(&[100]);
        let heavy = draw(&[(0, 100)], 1);
        let light = draw(&[(0, 1)], 1);
        assert!(matches!(s.admit(0, &light, 0, false), Admission::Granted));
        assert!(matches!(
            s.admit(0, &heavy, 10 * SEC, true),
            Admission::Queued { .. }
        ));
        // There is room for a light one, but the heavy one is first in line.
        assert!(!s.grant_without_clock(&light));
        assert!(matches!(
            s.admit(0, &light, 0, false),
            Admission::Rejected { .. }
        ));
    }

    #[test]
    fn fast_path_resumes_once_the_last_waiter_left() {
        let mut s = state(&[1000]);
        let heavy = draw(&[(0, 1000)], 1);
        let light = draw(&[(0, 1)], 1);
        assert!(s.grant_without_clock(&light));
        let Admission::Queued { id, .. } = s.admit(0, &heavy, 10 * SEC, true) else {
            panic!("expected to queue");
        };
        assert!(!s.grant_without_clock(&light), "behind the heavy waiter");
        s.remove(id, 0);
        assert_eq!(s.queued(), 0);
        assert!(
            s.grant_without_clock(&light),
            "no waiter left: fast path again"
        );
    }

    #[test]
    fn close_wakes_every_waiter() {
        let mut s = state(&[1]);
        let a = draw(&[(0, 1)], 1);
        assert!(matches!(s.admit(0, &a, 0, true), Admission::Granted));
        let slots: Vec<_> = (0..3)
            .map(|_| match s.admit(0, &a, 10 * SEC, true) {
                Admission::Queued { slot, .. } => slot,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(s.close(), 3);
        assert!(slots.iter().all(|s| s.outcome() == Outcome::Closed));
        assert!(matches!(s.admit(0, &a, 10 * SEC, true), Admission::Closed));
        assert!(!s.grant_without_clock(&a));
        assert_eq!(s.counters.closed, 4);
    }

    #[test]
    fn deadline_and_pause() {
        let mut s = state(&[5]);
        let a = draw(&[(0, 1)], 1);
        s.pause(Some(Scope::Account), 10 * SEC);
        assert!(
            matches!(s.admit(0, &a, 0, false), Admission::Granted),
            "other scope not paused"
        );
        s.pause(Some(Scope::Ip), 3 * SEC);
        assert!(!s.grant_without_clock(&a));
        assert!(
            matches!(s.admit(0, &a, SEC, true), Admission::Rejected { earliest: Some(t) } if t == 3 * SEC)
        );
        assert!(matches!(
            s.admit(3 * SEC, &a, 3 * SEC, true),
            Admission::Granted
        ));
        assert!(matches!(
            s.admit(0, &draw(&[(0, 6)], 1), SEC, true),
            Admission::Unsatisfiable
        ));
        assert_eq!(s.counters.rejected, 2);
        assert_eq!(s.counters.pauses, 2);
    }
}
