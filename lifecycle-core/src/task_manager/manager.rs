//! [`TaskManager`]: the owner of a set of tasks, and their two-phase shutdown.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use tokio::time::Instant;

use super::builder::TaskManagerBuilder;
use super::spawner::TaskSpawner;
use crate::task_report::{TaskFailure, TaskShutdownReport};

/// Centralised tracking of a component's background tasks.
///
/// - Tasks have names (which may repeat) and are tracked by [`TaskId`](crate::TaskId).
/// - A task is *normal* or *critical*: a critical task's error or panic reaches the owner
///   ([`TaskManager::on_critical_failure`]) and whoever watches
///   ([`TaskSpawner::critical_failure`]).
/// - Panics are caught at the task boundary and, like errors, always reach the log and the
///   report.
/// - [`TaskManager::shutdown`] signals, waits a grace period, aborts, waits briefly, and reports
///   every task that did not end well by name, including those stuck in blocking code (even
///   before their first `.await`), which are never forgotten and never waited on forever.
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

impl TaskManager {
    /// A manager with default timings.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self::builder(name).build()
    }

    /// A builder for a manager with custom timings, an external signal or full records.
    pub fn builder(name: impl Into<Arc<str>>) -> TaskManagerBuilder {
        TaskManagerBuilder::new(name.into())
    }

    pub(super) fn from_spawner(spawner: TaskSpawner) -> Self {
        Self { spawner }
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
        let grace_end = shared.grace_end(begun, deadline);
        shared.close();
        shared.signal_shutdown(grace_end);
        let mut needed_abort = false;
        if !shared.wait_idle_until(grace_end).await {
            needed_abort = true;
            let aborted = shared.abort_registered();
            tracing::debug!(manager = %shared.name, aborted, "tasks ignored the shutdown signal past the grace period: aborted");
            // Let the aborted tasks that share this thread go before anything is reported
            // stuck, even with no abort wait left: only a task blocked in its poll is stuck.
            tokio::task::yield_now().await;
            let abort_end = (Instant::now() + shared.config.abort_wait).min(deadline);
            shared.wait_idle_until(abort_end).await;
        }

        let reading = shared.final_reading(deadline).await;
        for task in &reading.stuck {
            tracing::error!(
                manager = %shared.name, task = %task.name, id = %task.id, outcome = %task.outcome,
                "task did not stop after abort (blocked in synchronous code?): abandoned, still tracked"
            );
        }
        let mut records = reading.records;
        records.extend(reading.stuck);
        TaskShutdownReport {
            manager: shared.name.clone(),
            duration: begun.elapsed(),
            counts: reading.counts,
            records,
            records_overflowed: reading.records_overflowed,
            needed_abort,
        }
    }

    /// Begins a shutdown without waiting for it: refuses new tasks, records when the grace
    /// period for a shutdown by `deadline` ends ([`TaskSpawner::grace_deadline`]), then
    /// triggers the signal. [`TaskManager::shutdown`] does this first; call it directly to
    /// signal early and join later.
    pub fn begin_shutdown(&self, deadline: Instant) {
        let shared = &self.shared;
        shared.close();
        shared.signal_shutdown(shared.grace_end(Instant::now(), deadline));
    }

    /// Aborts every task now, without waiting: the safety net of `Drop`. Returns how many tasks
    /// were live.
    pub fn abort_all(&self) -> usize {
        self.shared.close();
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
