//! What became of tasks: [`TaskOutcome`], [`TaskRecord`], [`RunningTask`], the
//! [`TaskShutdownReport`] a [`TaskManager`](crate::TaskManager) returns, and the
//! [`TaskFailure`] of a critical task.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::task_name::TaskName;

/// A task's identity within its manager: unique, unlike its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The numeric id.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// How a task ended (or did not).
///
/// A report keeps the abnormal outcomes by name; the two normal ones are counted
/// ([`TaskCounts::finished`], [`TaskCounts::stopped`]) and appear as records only from a
/// manager built with
/// [`record_every_task`](crate::TaskManagerBuilder::record_every_task).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum TaskOutcome {
    /// Returned successfully before the shutdown signal.
    Finished,
    /// Returned successfully after the shutdown signal: a cooperative stop.
    StoppedCooperatively,
    /// Aborted: it was dropped at an await point after ignoring the signal past the grace
    /// period (or its manager was dropped while it ran).
    Aborted,
    /// Panicked; the panic was caught at the task boundary.
    Panicked(String),
    /// Returned an error.
    Failed(String),
    /// Still running after the abort and its wait: blocked in synchronous code (or, on a busy
    /// runtime whose deadline left no time to wait, not yet polled again to be dropped).
    /// Reported, never waited on; it is still tracked, and counted when it ends.
    Stuck {
        /// How long it had been running when reported.
        age: Duration,
    },
}

impl TaskOutcome {
    /// `true` for outcomes that need attention (everything but finishing or stopping on
    /// request).
    pub fn is_abnormal(&self) -> bool {
        !matches!(self, Self::Finished | Self::StoppedCooperatively)
    }
}

impl fmt::Display for TaskOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Finished => f.write_str("finished"),
            Self::StoppedCooperatively => f.write_str("stopped"),
            Self::Aborted => f.write_str("aborted"),
            Self::Panicked(msg) => write!(f, "panicked: {msg}"),
            Self::Failed(msg) => write!(f, "failed: {msg}"),
            Self::Stuck { age } => write!(f, "stuck after {age:?}"),
        }
    }
}

/// One task's outcome, with its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TaskRecord {
    /// The task's id.
    pub id: TaskId,
    /// The task's name.
    pub name: TaskName,
    /// Whether it was critical.
    pub critical: bool,
    /// What became of it.
    pub outcome: TaskOutcome,
}

/// A task that is running now, as listed by
/// [`TaskSpawner::running_tasks`](crate::TaskSpawner::running_tasks).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RunningTask {
    /// The task's id.
    pub id: TaskId,
    /// The task's name.
    pub name: TaskName,
    /// Whether it is critical.
    pub critical: bool,
    /// How long it has been running.
    pub age: Duration,
}

/// How many tasks ended each way, over a manager's life. Once no task is starting or ending,
/// `spawned` is the sum of the five ends plus the tasks still live (stuck ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TaskCounts {
    /// Tasks spawned.
    pub spawned: u64,
    /// Completed on their own before the signal.
    pub finished: u64,
    /// Completed after the signal.
    pub stopped: u64,
    /// Aborted.
    pub aborted: u64,
    /// Panicked.
    pub panicked: u64,
    /// Returned an error.
    pub failed: u64,
    /// Restarts performed by supervised tasks.
    pub restarts: u64,
}

/// The result of [`TaskManager::shutdown`](crate::TaskManager::shutdown): every task is
/// accounted for, either in the counts (tasks that ended well) or by name in
/// [`TaskShutdownReport::records`] (tasks that were aborted, panicked, failed or are stuck;
/// every task, with [`record_every_task`](crate::TaskManagerBuilder::record_every_task)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[must_use = "a task shutdown report names the tasks that could not be stopped: read it or log it"]
pub struct TaskShutdownReport {
    /// The manager's name.
    pub manager: Arc<str>,
    /// Time from the request to the return.
    pub duration: Duration,
    /// Counts over the manager's life.
    pub counts: TaskCounts,
    /// Outcomes by name in the order the tasks ended, then the stuck tasks oldest first:
    /// the abnormal ones (the first 4,096), and with
    /// [`record_every_task`](crate::TaskManagerBuilder::record_every_task) the normal ones too
    /// (the first 4,096 of those). See [`TaskShutdownReport::records_overflowed`].
    pub records: Vec<TaskRecord>,
    /// Records not kept because there were too many (the tasks are still counted).
    pub records_overflowed: u64,
    /// Whether the tasks needed `abort` after the grace period.
    pub needed_abort: bool,
}

impl TaskShutdownReport {
    /// Tasks still running after abort: blocked in synchronous code.
    pub fn stuck(&self) -> impl Iterator<Item = &TaskRecord> {
        self.records
            .iter()
            .filter(|r| matches!(r.outcome, TaskOutcome::Stuck { .. }))
    }

    /// Number of stuck tasks.
    pub fn stuck_count(&self) -> usize {
        self.stuck().count()
    }

    /// `true` when every task ended on its own or on request: none aborted, panicked, failed
    /// or stuck.
    pub fn is_clean(&self) -> bool {
        self.counts.aborted == 0
            && self.counts.panicked == 0
            && self.counts.failed == 0
            && self.stuck_count() == 0
    }
}

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
