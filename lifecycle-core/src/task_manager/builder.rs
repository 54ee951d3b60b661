//! [`TaskManagerBuilder`] and the shutdown timings of [`TaskManagerConfig`].

use std::sync::Arc;
use std::time::Duration;

use super::manager::TaskManager;
use super::shared::Shared;
use super::spawner::TaskSpawner;
use crate::metrics;
use crate::shutdown_signal::ShutdownSignal;

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
    record_every_task: bool,
}

impl TaskManagerBuilder {
    pub(super) fn new(name: Arc<str>) -> Self {
        Self {
            name,
            config: TaskManagerConfig::default(),
            signal: None,
            record_every_task: false,
        }
    }

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

    /// Records every task in the shutdown report, not only those that ended abnormally
    /// (default `false`): a task that returned successfully before the shutdown signal appears
    /// as [`TaskOutcome::Finished`](crate::TaskOutcome::Finished), one that returned after it
    /// as [`TaskOutcome::StoppedCooperatively`](crate::TaskOutcome::StoppedCooperatively).
    ///
    /// For audits and tests of small managers: each record costs a lock and a name clone at
    /// the task's end, and at most the first 4,096 such records are kept (the rest are
    /// counted in [`TaskShutdownReport::records_overflowed`](crate::TaskShutdownReport)).
    /// Off, it costs nothing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use lifecycle_core::{TaskManager, TaskOutcome};
    ///
    /// let tasks = TaskManager::builder("audited").record_every_task(true).build();
    /// let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    /// tasks.spawn("quick", async move { done_tx.send(()).unwrap() }).unwrap();
    /// done_rx.await.unwrap();
    /// let signal = tasks.signal().clone();
    /// tasks.spawn("polite", async move { signal.triggered().await }).unwrap();
    ///
    /// let report = tasks.shutdown(tokio::time::Instant::now() + Duration::from_secs(1)).await;
    /// let outcomes: Vec<_> = report.records.iter().map(|r| (r.name.as_str(), &r.outcome)).collect();
    /// assert_eq!(outcomes, [("quick", &TaskOutcome::Finished), ("polite", &TaskOutcome::StoppedCooperatively)]);
    /// assert!(report.is_clean());
    /// # }
    /// ```
    pub fn record_every_task(mut self, record: bool) -> Self {
        self.record_every_task = record;
        self
    }

    /// Builds the manager.
    pub fn build(self) -> TaskManager {
        let shared = Arc::new(Shared::new(
            self.name,
            self.signal.unwrap_or_default(),
            self.config,
            self.record_every_task,
        ));
        metrics::register_manager(Arc::downgrade(&shared));
        TaskManager::from_spawner(TaskSpawner::from_shared(shared))
    }
}
