//! [`Shared`]: the state a manager, its spawners and its tasks share, and the accounting of
//! how tasks end: the live count, the counters, the records of the report, and the escalation
//! of a critical failure to the owner.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::Waker;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::builder::TaskManagerConfig;
use super::home::SpreadCounter;
use super::lock;
use super::registry::{Registry, Slot};
use crate::metrics;
use crate::shutdown_signal::ShutdownSignal;
use crate::task_name::TaskName;
use crate::task_report::{RunningTask, TaskCounts, TaskFailure, TaskId, TaskOutcome, TaskRecord};

/// `state` holds `live_tasks << 1 | CLOSED`.
pub(super) const CLOSED: usize = 1;
pub(super) const LIVE_ONE: usize = 2;
/// `state` of a closed manager with one task left.
const LAST_LIVE_OF_CLOSED: usize = LIVE_ONE + CLOSED;
/// Records of each kind (abnormal ends; ends recorded by `record_every_task`) kept for the
/// report; more are counted, not kept.
const MAX_RECORDS: usize = 4096;

pub(super) type CriticalHook = Box<dyn Fn(&TaskFailure) + Send + Sync>;

/// A task's id, name and criticality, as the registry holds them.
type Identity = (TaskId, TaskName, bool);

fn record((id, name, critical): Identity, outcome: TaskOutcome) -> TaskRecord {
    TaskRecord {
        id,
        name,
        critical,
        outcome,
    }
}

/// The word that spawners and finishing tasks both write, on cache lines of its own (so the
/// read-mostly fields next to it do not bounce between cores with it).
#[repr(align(128))]
#[derive(Default)]
struct Hot {
    /// `live_tasks << 1 | CLOSED`.
    state: AtomicUsize,
}

/// Whether a reading of the books saw no task end while it was taken: the live count before
/// it, the tasks it listed, the live count its counts were derived with and the live count
/// after it all agree.
fn settled(live_before: usize, listed: usize, counted_live: usize, live_after: usize) -> bool {
    listed == live_before && counted_live == live_before && live_after == live_before
}

/// The end of a shutdown: see [`Shared::final_reading`].
pub(super) struct FinalReading {
    pub(super) stuck: Vec<TaskRecord>,
    pub(super) counts: TaskCounts,
    pub(super) records: Vec<TaskRecord>,
    pub(super) records_overflowed: u64,
}

pub(crate) struct Shared {
    hot: Hot,
    pub(crate) name: std::sync::Arc<str>,
    pub(super) signal: ShutdownSignal,
    pub(super) config: TaskManagerConfig,
    /// Whether tasks that end well are recorded too (see `record_every_task`).
    record_every_task: bool,
    idle: Notify,
    /// Set when tasks must be dropped at their next poll (abort).
    aborting: AtomicBool,
    /// When the grace period of the shutdown under way ends (set before the signal).
    grace_deadline: OnceLock<Instant>,
    pub(super) registry: Registry,
    /// Tasks that returned successfully after the signal.
    stopped: SpreadCounter,
    records: Mutex<RecordLog>,
    counts: AtomicCounts,
    critical: watch::Sender<Option<TaskFailure>>,
    pub(super) on_critical: OnceLock<CriticalHook>,
}

/// Ends counted as they happen. Tasks that finished before the signal are not counted here:
/// they are the rest (spawned, less live, less every other end), which keeps an atomic
/// operation off every task's end.
#[derive(Default)]
struct AtomicCounts {
    aborted: AtomicU64,
    panicked: AtomicU64,
    failed: AtomicU64,
    restarts: AtomicU64,
}

#[derive(Default)]
struct RecordLog {
    records: Vec<TaskRecord>,
    abnormal: usize,
    normal: usize,
    overflowed: u64,
}

impl RecordLog {
    fn keep(&mut self, record: TaskRecord) {
        let kept = if record.outcome.is_abnormal() {
            &mut self.abnormal
        } else {
            &mut self.normal
        };
        if *kept < MAX_RECORDS {
            *kept += 1;
            self.records.push(record);
        } else {
            self.overflowed += 1;
        }
    }
}

impl Drop for Shared {
    /// The manager is gone: its counts stay counted under its name
    /// ([`component_tasks`](crate::component_tasks)).
    fn drop(&mut self) {
        metrics::retire_manager(&self.name, &self.counts());
    }
}

impl Shared {
    pub(super) fn new(
        name: std::sync::Arc<str>,
        signal: ShutdownSignal,
        config: TaskManagerConfig,
        record_every_task: bool,
    ) -> Self {
        let (critical, _) = watch::channel(None);
        Self {
            hot: Hot::default(),
            name,
            signal,
            config,
            record_every_task,
            idle: Notify::new(),
            aborting: AtomicBool::new(false),
            grace_deadline: OnceLock::new(),
            registry: Registry::new(),
            stopped: SpreadCounter::default(),
            records: Mutex::new(RecordLog::default()),
            counts: AtomicCounts::default(),
            critical,
            on_critical: OnceLock::new(),
        }
    }

    /// End of the grace period of a shutdown begun at `begun` for `deadline`: the configured
    /// grace, cut so that the abort wait still fits before the deadline.
    pub(super) fn grace_end(&self, begun: Instant, deadline: Instant) -> Instant {
        let budget = deadline.saturating_duration_since(begun);
        let abort_reserve = self.config.abort_wait.min(budget / 2);
        (begun + self.config.grace).min(deadline.max(begun) - abort_reserve)
    }

    /// Closes the manager to new tasks.
    pub(super) fn close(&self) {
        self.hot.state.fetch_or(CLOSED, Ordering::AcqRel);
    }

    pub(super) fn is_closed(&self) -> bool {
        self.hot.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Records when the grace period ends (the first shutdown's), then triggers the signal.
    pub(super) fn signal_shutdown(&self, grace_end: Instant) {
        let _ = self.grace_deadline.set(grace_end);
        self.signal.trigger();
    }

    pub(super) fn grace_deadline(&self) -> Option<Instant> {
        self.grace_deadline.get().copied()
    }

    /// Counts a task about to be spawned; `false` (and nothing counted) once closed.
    #[inline]
    pub(super) fn admit(&self) -> bool {
        let previous = self.hot.state.fetch_add(LIVE_ONE, Ordering::AcqRel);
        if previous & CLOSED != 0 {
            self.release_live();
            return false;
        }
        true
    }

    #[inline]
    pub(crate) fn live(&self) -> usize {
        self.hot.state.load(Ordering::Acquire) / LIVE_ONE
    }

    #[inline]
    fn release_live(&self) {
        let previous = self.hot.state.fetch_sub(LIVE_ONE, Ordering::AcqRel);
        if previous == LAST_LIVE_OF_CLOSED {
            self.idle.notify_waiters();
        }
    }

    pub(super) fn record_restart(&self) {
        self.counts.restarts.fetch_add(1, Ordering::Relaxed);
        metrics::record_restart();
    }

    /// Accounts for the end of the task in `slot`, whose future is gone: `None` if it returned
    /// successfully, else how it ended abnormally.
    ///
    /// The order is what the final reading of a shutdown relies on
    /// ([`Shared::final_reading`]): while the task is listed in the registry (its owner's
    /// hook runs then, however long it takes) it has no record and no count; it leaves the
    /// registry; its record and count follow; it leaves the live count last. So between the
    /// last two steps, the only moment it is neither listed nor fully counted, the live
    /// count and the listing disagree, and the reading waits for that instant to pass.
    #[inline]
    pub(crate) fn end_task(&self, slot: Slot, had_waker: bool, abnormal: Option<TaskOutcome>) {
        match abnormal {
            None => {
                let stopped = self.signal.is_triggered();
                let identity = self
                    .record_every_task
                    .then(|| self.registry.identity(slot))
                    .flatten();
                self.registry.deregister(slot, had_waker);
                if let Some(identity) = identity {
                    let outcome = if stopped {
                        TaskOutcome::StoppedCooperatively
                    } else {
                        TaskOutcome::Finished
                    };
                    lock(&self.records).keep(record(identity, outcome));
                }
                if stopped {
                    self.stopped.add_one();
                }
            }
            Some(outcome) => self.end_abnormally(slot, had_waker, outcome),
        }
        self.release_live();
    }

    /// Logs and escalates (a critical failure before the signal) an abnormal end, then
    /// deregisters the task, keeps its record and counts it.
    #[cold]
    fn end_abnormally(&self, slot: Slot, had_waker: bool, outcome: TaskOutcome) {
        let counter = match &outcome {
            TaskOutcome::Aborted => Some(&self.counts.aborted),
            TaskOutcome::Panicked(_) => Some(&self.counts.panicked),
            TaskOutcome::Failed(_) => Some(&self.counts.failed),
            // Normal ends are counted in `end_task`; stuck tasks have not ended.
            TaskOutcome::Finished
            | TaskOutcome::StoppedCooperatively
            | TaskOutcome::Stuck { .. } => None,
        };
        let record = match self.registry.identity(slot) {
            Some(identity) => Some(record(identity, outcome)),
            None => {
                tracing::error!(manager = %self.name, %outcome, "an untracked task ended abnormally");
                None
            }
        };
        if let Some(record) = &record {
            match &record.outcome {
                TaskOutcome::Aborted => tracing::debug!(
                    manager = %self.name, task = %record.name, id = %record.id, "task aborted"
                ),
                outcome => tracing::error!(
                    manager = %self.name, task = %record.name, id = %record.id,
                    critical = record.critical, %outcome, "task ended abnormally"
                ),
            }
            let escalate = record.critical
                && !self.signal.is_triggered()
                && matches!(
                    record.outcome,
                    TaskOutcome::Panicked(_) | TaskOutcome::Failed(_)
                );
            if escalate {
                self.escalate(TaskFailure {
                    manager: self.name.clone(),
                    task: record.clone(),
                });
            }
        }
        self.registry.deregister(slot, had_waker);
        if let Some(record) = record {
            lock(&self.records).keep(record);
        }
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Tells the owner (its hook) and every watcher (`critical_failure`).
    fn escalate(&self, failure: TaskFailure) {
        metrics::record_critical_failure();
        if let Some(hook) = self.on_critical.get() {
            hook(&failure);
        }
        self.critical.send_if_modified(|slot| {
            if slot.is_none() {
                *slot = Some(failure);
                true
            } else {
                false
            }
        });
    }

    pub(super) fn subscribe_critical(&self) -> watch::Receiver<Option<TaskFailure>> {
        self.critical.subscribe()
    }

    /// The counts now. Each is exact once no task is starting or ending; while they do, the
    /// derived `finished` may lag by the tasks in flight, never run ahead.
    pub(crate) fn counts(&self) -> TaskCounts {
        self.counts_and_live().0
    }

    /// The counts, and the live count they were derived with.
    fn counts_and_live(&self) -> (TaskCounts, usize) {
        // Read spawned first, then live, then the ends: a task counted as spawned is in `live`
        // until its end is counted (an end is counted before the task leaves `live`), so
        // `finished` never includes a task that is still running or ended otherwise.
        let spawned = self.registry.spawned();
        let live_tasks = self.live();
        let live = live_tasks as u64;
        let c = &self.counts;
        let stopped = self.stopped.sum();
        let aborted = c.aborted.load(Ordering::Relaxed);
        let panicked = c.panicked.load(Ordering::Relaxed);
        let failed = c.failed.load(Ordering::Relaxed);
        let other_ends = stopped
            .saturating_add(aborted)
            .saturating_add(panicked)
            .saturating_add(failed);
        let counts = TaskCounts {
            spawned,
            finished: spawned.saturating_sub(live).saturating_sub(other_ends),
            stopped,
            aborted,
            panicked,
            failed,
            restarts: c.restarts.load(Ordering::Relaxed),
        };
        (counts, live_tasks)
    }

    /// The tasks still running (as stuck records), the counts and the records, read as one:
    /// each task is either counted and recorded as ended, or listed as running, never both,
    /// never neither. Tasks may end while they are read (a stuck one unblocking, say), so the
    /// reading is repeated until the live count held still and matched the listing during it
    /// (see [`Shared::end_task`] for the order that makes this enough): a few times at once,
    /// then every millisecond until `deadline`; past it, the last reading is taken.
    pub(super) async fn final_reading(&self, deadline: Instant) -> FinalReading {
        /// Readings repeated at once (an end in flight takes nanoseconds).
        const QUICK_TRIES: u32 = 8;
        let mut tries = 0;
        loop {
            let live = self.live();
            let stuck = self.take_stuck();
            let (counts, counted_live) = self.counts_and_live();
            let (records, records_overflowed) = self.records();
            tries += 1;
            let settled = settled(live, stuck.len(), counted_live, self.live());
            let out_of_time = tries >= QUICK_TRIES && Instant::now() >= deadline;
            if settled || out_of_time {
                return FinalReading {
                    stuck,
                    counts,
                    records,
                    records_overflowed,
                };
            }
            if tries < QUICK_TRIES {
                tokio::task::yield_now().await;
            } else {
                let retry = (Instant::now() + std::time::Duration::from_millis(1)).min(deadline);
                tokio::time::sleep_until(retry).await;
            }
        }
    }

    /// The records kept so far and how many were not kept.
    pub(super) fn records(&self) -> (Vec<TaskRecord>, u64) {
        let log = lock(&self.records);
        (log.records.clone(), log.overflowed)
    }

    /// Waits until no task is live (`true`) or `deadline` passes (`false`). Only meaningful
    /// once the manager is closed (that is when the last task notifies).
    pub(super) async fn wait_idle_until(&self, deadline: Instant) -> bool {
        loop {
            let notified = self.idle.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.live() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.live() == 0;
            }
        }
    }

    /// Makes every task drop its future at its next poll, and wakes the parked ones so that
    /// poll comes now. Returns how many tasks were live.
    pub(super) fn abort_registered(&self) -> usize {
        self.aborting.store(true, Ordering::Release);
        if self.live() == 0 {
            return 0;
        }
        self.registry.wake_all()
    }

    #[inline]
    pub(crate) fn is_aborting(&self) -> bool {
        self.aborting.load(Ordering::Acquire)
    }

    /// Enters a task admitted by [`Shared::admit`].
    #[inline]
    pub(super) fn register(&self, name: TaskName, critical: bool) -> (TaskId, Slot) {
        self.registry.register(name, critical, Instant::now())
    }

    /// Records the waker of the task in `slot` (at its first `Pending`).
    pub(crate) fn register_waker(&self, slot: Slot, waker: &Waker) {
        self.registry.register_waker(slot, waker);
    }

    /// The running tasks with their ages, oldest first.
    pub(super) fn running_tasks(&self) -> Vec<RunningTask> {
        if self.live() == 0 {
            return Vec::new();
        }
        let now = Instant::now();
        self.registry.collect_live(|e| RunningTask {
            id: e.id,
            name: e.name.clone(),
            critical: e.critical,
            age: now.saturating_duration_since(e.started),
        })
    }

    /// Records for the tasks still running after abort: blocked in synchronous code.
    fn take_stuck(&self) -> Vec<TaskRecord> {
        self.running_tasks()
            .into_iter()
            .map(|task| TaskRecord {
                id: task.id,
                name: task.name,
                critical: task.critical,
                outcome: TaskOutcome::Stuck { age: task.age },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_reading_is_settled_only_when_all_four_agree() {
        assert!(settled(2, 2, 2, 2));
        assert!(
            !settled(2, 1, 2, 2),
            "a task left the listing but not the live count"
        );
        assert!(
            !settled(2, 2, 1, 2),
            "a task ended between the listing and the counts"
        );
        assert!(!settled(2, 2, 2, 1), "a task ended after the counts");
        assert!(!settled(1, 2, 2, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_reading_that_cannot_settle_is_retried_until_the_deadline_then_taken() {
        let shared = Shared::new(
            "books".into(),
            ShutdownSignal::new(),
            TaskManagerConfig::default(),
            false,
        );
        // Counted live but never entered in the registry: no reading can settle.
        assert!(shared.admit());
        let begun = Instant::now();
        let deadline = begun + Duration::from_millis(5);
        let reading = shared.final_reading(deadline).await;
        assert_eq!(
            Instant::now(),
            deadline,
            "retried until the deadline, not past it"
        );
        assert!(reading.stuck.is_empty());
        assert_eq!(reading.counts.spawned, 0);

        // Past the deadline: a few quick readings, and no wait.
        let late = shared.final_reading(begun).await;
        assert_eq!(Instant::now(), deadline);
        assert!(late.stuck.is_empty());
        shared.release_live();

        // Settled at once: no wait either.
        let settled = shared
            .final_reading(deadline + Duration::from_secs(60))
            .await;
        assert_eq!(Instant::now(), deadline);
        assert_eq!(settled.counts, TaskCounts::default());
    }
}
