//! Error types of the lifecycle contract.

use std::fmt;

use crate::state::{FailureCause, StateTag};

/// A boxed error, the currency of start hooks and failed tasks.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A state transition the lifecycle contract does not allow, or that lost a race.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{component}: invalid lifecycle transition {from} -> {to} (state is {actual})")]
pub struct TransitionError {
    /// The component whose state it is.
    pub component: String,
    /// The state the caller expected.
    pub from: StateTag,
    /// The state the caller asked for.
    pub to: StateTag,
    /// The state the component was actually in.
    pub actual: StateTag,
}

/// Why `start` failed. Whatever the cause, nothing the start began is left running.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StartError {
    /// The start hook (or a step of it) failed, or a critical task failed during the start
    /// (even if a stop took the failed component over before the hook returned); everything
    /// it had started was rolled back.
    #[error("{component} failed to start: {cause}")]
    Failed {
        /// The component.
        component: String,
        /// What went wrong.
        cause: FailureCause,
    },
    /// `stop` was called while the start was still in progress, and nothing had failed.
    #[error("{component}: start cancelled by stop")]
    Cancelled {
        /// The component.
        component: String,
    },
    /// The component was stopped, or failed earlier; it cannot be started again.
    #[error("{component} cannot start from state {state}")]
    InvalidState {
        /// The component.
        component: String,
        /// Its state at the call.
        state: StateTag,
    },
}

impl StartError {
    /// The component that failed to start.
    pub fn component(&self) -> &str {
        match self {
            Self::Failed { component, .. }
            | Self::Cancelled { component }
            | Self::InvalidState { component, .. } => component,
        }
    }
}

/// Why a task could not be spawned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// The task manager is shutting down (or shut down): no task can be created then.
    #[error("task manager '{manager}' is shutting down: cannot spawn task '{task}'")]
    ShuttingDown {
        /// The manager's name.
        manager: String,
        /// The task that was refused.
        task: String,
    },
}

/// An error from a task, carried as text (the task boundary erases the type).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TaskError(pub(crate) String);

impl TaskError {
    /// A task error with the given message.
    pub fn new(message: impl fmt::Display) -> Self {
        Self(message.to_string())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl From<String> for TaskError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A dependency that [`DependencyAwareShutdown::add_dependency`](crate::DependencyAwareShutdown::add_dependency)
/// cannot honour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DependencyError {
    /// An id from another orchestrator.
    #[error("unknown resource id {0:?}")]
    UnknownResource(crate::ResourceId),
    /// `user` would have to stop after `used`, which its priority forbids.
    #[error(
        "'{user}' ({user_priority}) uses '{used}' ({used_priority}): the user must not stop after what it uses"
    )]
    PriorityConflict {
        /// The resource that uses the other.
        user: String,
        /// Its priority.
        user_priority: crate::ShutdownPriority,
        /// The resource used.
        used: String,
        /// Its priority.
        used_priority: crate::ShutdownPriority,
    },
    /// The dependency would close a cycle.
    #[error("dependency '{user}' uses '{used}' would create a cycle")]
    Cycle {
        /// The resource that uses the other.
        user: String,
        /// The resource used.
        used: String,
    },
}

/// Why [`DependencyAwareShutdown::start_all`](crate::DependencyAwareShutdown::start_all)
/// failed; everything it had started was stopped again (in shutdown order) before it returned.
#[derive(Debug, Clone, thiserror::Error)]
#[error("start failed: {}", .failures.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct StartAllError {
    /// The resources that failed to start.
    pub failures: Vec<StartError>,
    /// The report of stopping what had started (empty when `interrupted`).
    pub rollback: crate::ShutdownReport,
    /// The start gave up because a shutdown began: nothing more was started, and the
    /// shutdown (not a rollback of this start) stops what had started.
    pub interrupted: bool,
}
