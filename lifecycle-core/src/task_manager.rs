//! [`TaskManager`]: spawns named tasks, tracks them by id, and shuts them down in two phases
//! (signal -> grace -> abort -> short wait) with a report of every task's fate.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Waker;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::error::SpawnError;
use crate::metrics;
use crate::shutdown_signal::ShutdownSignal;
use crate::supervise::{RestartPolicy, supervise};
use crate::task_name::TaskName;
use crate::task_report::{
    RunningTask, TaskCounts, TaskId, TaskOutcome, TaskRecord, TaskShutdownReport,
};
use crate::task_result::TaskResult;
use crate::tracked::{TaskGuard, Tracked};

/// `state` holds `live_tasks << 1 | CLOSED`.
const CLOSED: usize = 1;
const LIVE_ONE: usize = 2;
/// Abnormal task records kept for the report; more are counted, not kept.
const MAX_RECORDS: usize = 4096;

/// A critical task's failure, as delivered to its owner and supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TaskFailure {
    /// The manager that ran the task.
    pub manager: Arc<str>,
    /// The failed task.
    pub task: TaskRecord,
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "critical task '{}' {} of '{}' {}",
            self.task.name, self.task.id, self.manager, self.task.outcome
        )
    }
}

type CriticalHook = Box<dyn Fn(&TaskFailure) + Send + Sync>;

/// Timing of a [`TaskManager`]'s two-phase shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct TaskManagerConfig {
    /// How long tasks get to stop on the signal before they are aborted.
    pub grace: Duration,
    /// How long to wait for aborted tasks to go before reporting them as stuck.
    pub abort_wait: Duration,
}

impl Default for TaskManagerConfig {
    fn default() -> Self {
        Self {
            grace: Duration::from_millis(500),
            abort_wait: Duration::from_millis(50),
        }
    }
}

/// Builds a [`TaskManager`].
#[derive(Debug)]
#[must_use]
pub struct TaskManagerBuilder {
    name: Arc<str>,
    config: TaskManagerConfig,
    signal: Option<ShutdownSignal>,
}

impl TaskManagerBuilder {
    /// Grace period between the signal and `abort` (default 500 ms; always cut to the
    /// caller's deadline).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.config.grace = grace;
        self
    }

    /// Wait after `abort` before a task is reported stuck (default 50 ms).
    pub fn abort_wait(mut self, abort_wait: Duration) -> Self {
        self.config.abort_wait = abort_wait;
        self
    }

    /// Uses `signal` as the tasks' shutdown signal (default: a new one). Triggering it from
    /// elsewhere asks the tasks to stop but does not close the manager.
    pub fn signal(mut self, signal: ShutdownSignal) -> Self {
        self.signal = Some(signal);
        self
    }

    /// Builds the manager.
    pub fn build(self) -> TaskManager {
        let (critical, _) = watch::channel(None);
        let shared = Arc::new(Shared {
            name: self.name,
            signal: self.signal.unwrap_or_default(),
            state: AtomicUsize::new(0),
            idle: Notify::new(),
            aborting: AtomicBool::new(false),
            grace_deadline: OnceLock::new(),
            registry: Mutex::new(Registry::default()),
            records: Mutex::new(RecordLog::default()),
            counts: AtomicCounts::default(),
            critical,
            on_critical: OnceLock::new(),
            config: self.config,
        });
        metrics::register_manager(Arc::downgrade(&shared));
        TaskManager {
            spawner: TaskSpawner { shared },
        }
    }
}

/// Centralised tracking of a component's background tasks.
///
/// - Tasks have names (which may repeat) and are tracked by [`TaskId`] (the plan's bug 1).
/// - A task is *normal* or *critical*: a critical task's error or panic reaches the owner
///   ([`TaskManager::on_critical_failure`]) and whoever watches
///   ([`TaskSpawner::critical_failure`]); bug 2.
/// - Panics are caught at the task boundary and, like errors, always reach the log and the
///   report; bug 3.
/// - [`TaskManager::shutdown`] signals, waits a grace period, aborts, waits briefly, and reports
///   every task that did not end well by name, including those stuck in blocking code, which
///   are never forgotten (bug 4) and never waited on forever.
///
/// The manager owns its tasks: dropping it while tasks run aborts them and logs a warning.
/// [`TaskSpawner`] (which the manager derefs to) is the cloneable handle for spawning and
/// inspecting.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use lifecycle_core::TaskManager;
///
/// let tasks = TaskManager::new("feed");
/// let signal = tasks.signal().clone();
/// // Two tasks with one name: both tracked, both stopped.
/// for _ in 0..2 {
///     let signal = signal.clone();
///     tasks.spawn("reader", async move { signal.triggered().await }).unwrap();
/// }
/// assert_eq!(tasks.active_tasks(), 2);
///
/// let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
/// let report = tasks.shutdown(deadline).await;
/// assert_eq!(report.counts.stopped, 2);
/// assert!(report.is_clean());
/// # }
/// ```
pub struct TaskManager {
    spawner: TaskSpawner,
}

/// A cloneable handle to a [`TaskManager`]: spawns and inspects, does not own.
#[derive(Clone)]
pub struct TaskSpawner {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    name: Arc<str>,
    signal: ShutdownSignal,
    state: AtomicUsize,
    idle: Notify,
    /// Set when tasks must be dropped at their next poll (abort).
    aborting: AtomicBool,
    /// When the grace period of the shutdown under way ends (set before the signal).
    grace_deadline: OnceLock<Instant>,
    registry: Mutex<Registry>,
    records: Mutex<RecordLog>,
    counts: AtomicCounts,
    critical: watch::Sender<Option<TaskFailure>>,
    on_critical: OnceLock<CriticalHook>,
    config: TaskManagerConfig,
}

#[derive(Default)]
struct AtomicCounts {
    finished: AtomicU64,
    stopped: AtomicU64,
    aborted: AtomicU64,
    panicked: AtomicU64,
    failed: AtomicU64,
    restarts: AtomicU64,
}

/// Live tasks by slot: a slab whose slots are reused through a free list.
#[derive(Default)]
struct Registry {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    next_id: u64,
}

struct Entry {
    id: TaskId,
    name: TaskName,
    critical: bool,
    started: Instant,
    /// The task's waker, registered at its first `Pending`, to wake it for an abort.
    waker: Option<Waker>,
}

#[derive(Default)]
struct RecordLog {
    records: Vec<TaskRecord>,
    overflowed: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TaskManager {
    /// A manager with default timings.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self::builder(name).build()
    }

    /// A builder for a manager with custom timings or an external signal.
    pub fn builder(name: impl Into<Arc<str>>) -> TaskManagerBuilder {
        TaskManagerBuilder {
            name: name.into(),
            config: TaskManagerConfig::default(),
            signal: None,
        }
    }

    /// A cloneable handle for spawning from elsewhere (from inside tasks, say).
    pub fn spawner(&self) -> TaskSpawner {
        self.spawner.clone()
    }

    /// Sets the owner's hook for critical failures (once; later calls are ignored and return
    /// `false`). It runs on the failing task's thread: keep it short and non-blocking.
    pub fn on_critical_failure(&self, hook: impl Fn(&TaskFailure) + Send + Sync + 'static) -> bool {
        self.shared.on_critical.set(Box::new(hook)).is_ok()
    }

    /// Two-phase shutdown, returning by `deadline` whatever the tasks do.
    ///
    /// 1. Refuses new tasks and triggers the signal.
    /// 2. Waits for the tasks up to the grace period (cut so that step 4 fits the deadline).
    /// 3. Aborts the rest.
    /// 4. Waits up to `abort_wait` for them to go, then reports those still running as stuck,
    ///    by name and age.
    ///
    /// Idempotent: later calls return a fresh report at once if nothing is left.
    ///
    /// # Cancel safety
    /// Cancelling it leaves the manager closed and signalled; the tasks still stop.
    pub async fn shutdown(&self, deadline: Instant) -> TaskShutdownReport {
        let begun = Instant::now();
        let shared = &self.shared;
        self.begin_shutdown(deadline);
        let grace_end = shared.grace_end(begun, deadline);
        let mut needed_abort = false;
        if !shared.wait_idle_until(grace_end).await {
            needed_abort = true;
            let aborted = shared.abort_registered();
            tracing::debug!(manager = %shared.name, aborted, "tasks ignored the shutdown signal past the grace period: aborted");
            let abort_end = (Instant::now() + shared.config.abort_wait).min(deadline);
            shared.wait_idle_until(abort_end).await;
        }

        let stuck = shared.take_stuck();
        for task in &stuck {
            tracing::error!(
                manager = %shared.name, task = %task.name, id = %task.id, outcome = %task.outcome,
                "task did not stop after abort (blocked in synchronous code?): abandoned, still tracked"
            );
        }
        let log = lock(&shared.records);
        let mut records = log.records.clone();
        let records_overflowed = log.overflowed;
        drop(log);
        records.extend(stuck);
        TaskShutdownReport {
            manager: shared.name.clone(),
            duration: begun.elapsed(),
            counts: shared.counts(),
            records,
            records_overflowed,
            needed_abort,
        }
    }

    /// Begins a shutdown without waiting for it: refuses new tasks, records when the grace
    /// period for a shutdown by `deadline` ends ([`TaskSpawner::grace_deadline`]), then
    /// triggers the signal. [`TaskManager::shutdown`] does this first; call it directly to
    /// signal early and join later.
    pub fn begin_shutdown(&self, deadline: Instant) {
        let shared = &self.shared;
        shared.state.fetch_or(CLOSED, Ordering::AcqRel);
        let _ = shared
            .grace_deadline
            .set(shared.grace_end(Instant::now(), deadline));
        shared.signal.trigger();
    }

    /// Aborts every task now, without waiting: the safety net of `Drop`.
    pub fn abort_all(&self) -> usize {
        self.shared.state.fetch_or(CLOSED, Ordering::AcqRel);
        self.shared.signal.trigger();
        self.shared.abort_registered()
    }
}

impl Deref for TaskManager {
    type Target = TaskSpawner;

    fn deref(&self) -> &TaskSpawner {
        &self.spawner
    }
}

impl Drop for TaskManager {
    fn drop(&mut self) {
        let live = self.shared.live();
        if live > 0 {
            let names: Vec<String> = self
                .running_tasks()
                .into_iter()
                .map(|t| t.name.to_string())
                .collect();
            tracing::warn!(
                manager = %self.shared.name, live, tasks = ?names,
                "TaskManager dropped with running tasks: aborting them (call shutdown before dropping)"
            );
        }
        self.abort_all();
    }
}

impl fmt::Debug for TaskManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.spawner, f)
    }
}

impl fmt::Debug for TaskSpawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskManager")
            .field("name", &self.shared.name)
            .field("active_tasks", &self.active_tasks())
            .field("shutting_down", &self.is_shutting_down())
            .finish()
    }
}

impl TaskSpawner {
    /// The manager's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The shutdown signal tasks select on (clone it into them).
    pub fn signal(&self) -> &ShutdownSignal {
        &self.shared.signal
    }

    /// When the grace period of the shutdown under way ends: a task that does its own bounded
    /// cleanup on the signal (a close handshake, say) must finish by then or be aborted.
    /// `None` before a shutdown began (or when only the signal was triggered from elsewhere).
    pub fn grace_deadline(&self) -> Option<Instant> {
        self.shared.grace_deadline.get().copied()
    }

    /// Whether shutdown has begun (no new tasks are accepted).
    pub fn is_shutting_down(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Tasks alive now (spawned and not yet ended).
    #[doc(alias = "active_background_tasks")]
    pub fn active_tasks(&self) -> usize {
        self.shared.live()
    }

    /// How many tasks ended each way so far.
    pub fn counts(&self) -> TaskCounts {
        self.shared.counts()
    }

    /// The running tasks with their ages (the plan's `get_running_tasks`), oldest first.
    #[doc(alias = "get_running_tasks")]
    pub fn running_tasks(&self) -> Vec<RunningTask> {
        let registry = lock(&self.shared.registry);
        let now = Instant::now();
        let mut running: Vec<RunningTask> = registry
            .entries()
            .map(|e| RunningTask {
                id: e.id,
                name: e.name.clone(),
                critical: e.critical,
                age: now.saturating_duration_since(e.started),
            })
            .collect();
        drop(registry);
        running.sort_by_key(|t| t.id);
        running
    }

    /// Spawns a normal task: its failure is logged, counted and reported, not escalated.
    ///
    /// The future may return `()` or any `Result<T, E: Display>`.
    ///
    /// # Panics
    /// Like `tokio::spawn`, when called outside a tokio runtime.
    #[doc(alias = "create_task")]
    pub fn spawn<F>(&self, name: impl Into<TaskName>, task: F) -> Result<TaskId, SpawnError>
    where
        F: Future + Send + 'static,
        F::Output: TaskResult,
    {
        self.spawn_task(name.into(), false, task)
    }

    /// Spawns a critical task: if it fails or panics (before shutdown), its owner and
    /// supervisors are told and the owning resource moves to `Failed`.
    ///
    /// # Panics
    /// Like `tokio::spawn`, when called outside a tokio runtime.
    pub fn spawn_critical<F>(
        &self,
        name: impl Into<TaskName>,
        task: F,
    ) -> Result<TaskId, SpawnError>
    where
        F: Future + Send + 'static,
        F::Output: TaskResult,
    {
        self.spawn_task(name.into(), true, task)
    }

    /// Spawns a supervised task: `factory` builds each attempt; a failed or panicked attempt is
    /// restarted after a capped exponential backoff, at most `policy`'s intensity (N restarts
    /// within T). Past the limit the task fails as a critical task.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use lifecycle_core::{Backoff, RestartPolicy, TaskManager};
    ///
    /// let tasks = TaskManager::new("feed");
    /// let attempts = Arc::new(AtomicU32::new(0));
    /// let policy = RestartPolicy::new()
    ///     .max_restarts(3, Duration::from_secs(60))
    ///     .backoff(Backoff::new(Duration::from_millis(10), Duration::from_secs(1)));
    /// let counter = attempts.clone();
    /// tasks.spawn_supervised("flaky", policy, move || {
    ///     let counter = counter.clone();
    ///     async move {
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///         Err::<(), _>("connection refused")
    ///     }
    /// }).unwrap();
    /// let failure = tasks.critical_failure().await.unwrap();
    /// assert_eq!(attempts.load(Ordering::SeqCst), 4); // the first attempt and 3 restarts
    /// assert!(failure.to_string().contains("restart limit"));
    /// # }
    /// ```
    ///
    /// # Panics
    /// Like `tokio::spawn`, when called outside a tokio runtime.
    pub fn spawn_supervised<M, F>(
        &self,
        name: impl Into<TaskName>,
        policy: RestartPolicy,
        factory: M,
    ) -> Result<TaskId, SpawnError>
    where
        M: FnMut() -> F + Send + 'static,
        F: Future + Send + 'static,
        F::Output: TaskResult,
    {
        let name = name.into();
        let run = supervise(name.clone(), self.clone(), policy, factory);
        self.spawn_task(name, true, run)
    }

    /// Waits for the first critical failure of this manager's tasks (at once if one already
    /// happened); `None` if the manager is gone first.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn critical_failure(&self) -> Option<TaskFailure> {
        let mut rx = self.shared.critical.subscribe();
        let failure = rx.wait_for(Option::is_some).await.ok()?;
        failure.clone()
    }

    pub(crate) fn record_restart(&self) {
        self.shared.counts.restarts.fetch_add(1, Ordering::Relaxed);
        metrics::record_restart();
    }

    fn spawn_task<F>(&self, name: TaskName, critical: bool, task: F) -> Result<TaskId, SpawnError>
    where
        F: Future + Send + 'static,
        F::Output: TaskResult,
    {
        let shared = &self.shared;
        let previous = shared.state.fetch_add(LIVE_ONE, Ordering::AcqRel);
        if previous & CLOSED != 0 {
            shared.release_live();
            return Err(SpawnError::ShuttingDown {
                manager: shared.name.to_string(),
                task: name.to_string(),
            });
        }
        let started = Instant::now();
        let (id, slot) = {
            let mut registry = lock(&shared.registry);
            // Ids are handed out under the lock already held for the registry.
            let id = TaskId(registry.next_id);
            registry.next_id += 1;
            let slot = registry.insert(Entry {
                id,
                name,
                critical,
                started,
                waker: None,
            });
            (id, slot)
        };
        let guard = TaskGuard {
            shared: shared.clone(),
            slot,
            completed: false,
            registered_waker: false,
        };
        // The join handle is dropped at once, which keeps tokio on its fast paths; abort goes
        // through the wrapper (see `Tracked`).
        drop(tokio::spawn(Tracked::new(task, guard)));
        Ok(id)
    }
}

impl Registry {
    fn insert(&mut self, entry: Entry) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(entry);
                slot
            }
            None => {
                self.slots.push(Some(entry));
                // More than 4 billion live tasks in one manager is not a case to handle.
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        }
    }

    fn remove(&mut self, slot: u32) {
        if let Some(entry) = self.slots.get_mut(slot as usize)
            && entry.take().is_some()
        {
            self.free.push(slot);
        }
    }

    fn get(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().flatten()
    }
}

impl Shared {
    /// End of the grace period of a shutdown begun at `begun` for `deadline`: the configured
    /// grace, cut so that the abort wait still fits before the deadline.
    fn grace_end(&self, begun: Instant, deadline: Instant) -> Instant {
        let budget = deadline.saturating_duration_since(begun);
        let abort_reserve = self.config.abort_wait.min(budget / 2);
        (begun + self.config.grace).min(deadline.max(begun) - abort_reserve)
    }

    #[inline]
    pub(crate) fn live(&self) -> usize {
        self.state.load(Ordering::Acquire) / LIVE_ONE
    }

    #[inline]
    pub(crate) fn release_live(&self) {
        let previous = self.state.fetch_sub(LIVE_ONE, Ordering::AcqRel);
        if previous == LIVE_ONE | CLOSED {
            self.idle.notify_waiters();
        }
    }

    #[inline]
    pub(crate) fn count_normal_end(&self) {
        if self.signal.is_triggered() {
            self.counts.stopped.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counts.finished.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts, logs and keeps an abnormal end of the task in `slot`; escalates a critical
    /// failure.
    pub(crate) fn record_abnormal_end(&self, slot: u32, outcome: TaskOutcome) {
        let record = {
            let registry = lock(&self.registry);
            let Some(entry) = registry.get(slot) else {
                return;
            };
            TaskRecord {
                id: entry.id,
                name: entry.name.clone(),
                critical: entry.critical,
                outcome,
            }
        };
        let counter = match &record.outcome {
            TaskOutcome::Aborted => Some(&self.counts.aborted),
            TaskOutcome::Panicked(_) => Some(&self.counts.panicked),
            TaskOutcome::Failed(_) => Some(&self.counts.failed),
            // Normal ends are counted by `count_normal_end`; stuck tasks have not ended.
            TaskOutcome::Finished
            | TaskOutcome::StoppedCooperatively
            | TaskOutcome::Stuck { .. } => None,
        };
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let shutting_down = self.signal.is_triggered();
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
            && !shutting_down
            && matches!(
                record.outcome,
                TaskOutcome::Panicked(_) | TaskOutcome::Failed(_)
            );
        let failure = escalate.then(|| TaskFailure {
            manager: self.name.clone(),
            task: record.clone(),
        });
        {
            let mut log = lock(&self.records);
            if log.records.len() < MAX_RECORDS {
                log.records.push(record);
            } else {
                log.overflowed += 1;
            }
        }
        if let Some(failure) = failure {
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
    }

    fn counts(&self) -> TaskCounts {
        let c = &self.counts;
        TaskCounts {
            spawned: lock(&self.registry).next_id,
            finished: c.finished.load(Ordering::Relaxed),
            stopped: c.stopped.load(Ordering::Relaxed),
            aborted: c.aborted.load(Ordering::Relaxed),
            panicked: c.panicked.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            restarts: c.restarts.load(Ordering::Relaxed),
        }
    }

    /// Waits until no task is live (`true`) or `deadline` passes (`false`). Only meaningful
    /// once the manager is closed (that is when the last task notifies).
    async fn wait_idle_until(&self, deadline: Instant) -> bool {
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
    fn abort_registered(&self) -> usize {
        self.aborting.store(true, Ordering::Release);
        let registry = lock(&self.registry);
        let mut live = 0;
        for entry in registry.entries() {
            live += 1;
            if let Some(waker) = &entry.waker {
                waker.wake_by_ref();
            }
        }
        live
    }

    #[inline]
    pub(crate) fn is_aborting(&self) -> bool {
        self.aborting.load(Ordering::Acquire)
    }

    /// Records the waker of the task in `slot` (at its first `Pending`).
    pub(crate) fn register_waker(&self, slot: u32, waker: &Waker) {
        if let Some(Some(entry)) = lock(&self.registry).slots.get_mut(slot as usize) {
            entry.waker = Some(waker.clone());
        }
    }

    /// Forgets the task in `slot` (it ended).
    #[inline]
    pub(crate) fn deregister(&self, slot: u32) {
        lock(&self.registry).remove(slot);
    }

    /// Records for the tasks still running after abort: blocked in synchronous code.
    fn take_stuck(&self) -> Vec<TaskRecord> {
        let registry = lock(&self.registry);
        let now = Instant::now();
        let mut stuck: Vec<TaskRecord> = registry
            .entries()
            .map(|e| TaskRecord {
                id: e.id,
                name: e.name.clone(),
                critical: e.critical,
                outcome: TaskOutcome::Stuck {
                    age: now.saturating_duration_since(e.started),
                },
            })
            .collect();
        drop(registry);
        stuck.sort_by_key(|r| r.id);
        stuck
    }
}
