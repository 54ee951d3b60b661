//! [`TaskSpawner`]: the cloneable handle that spawns into a manager and inspects it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::time::Instant;

use super::shared::Shared;
use super::tracked::{Spanned, TaskGuard, Tracked};
use crate::error::SpawnError;
use crate::shutdown_signal::ShutdownSignal;
use crate::supervise::{RestartPolicy, supervise};
use crate::task_name::TaskName;
use crate::task_report::{RunningTask, TaskCounts, TaskFailure, TaskId};
use crate::task_result::TaskResult;
use crate::timeline;

/// A cloneable handle to a [`TaskManager`](crate::TaskManager): spawns and inspects, does not
/// own.
#[derive(Clone)]
pub struct TaskSpawner {
    pub(super) shared: Arc<Shared>,
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
    pub(super) fn from_shared(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

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
        self.shared.grace_deadline()
    }

    /// Whether shutdown has begun (no new tasks are accepted).
    pub fn is_shutting_down(&self) -> bool {
        self.shared.is_closed()
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

    /// The running tasks with their ages, oldest first.
    #[doc(alias = "get_running_tasks")]
    pub fn running_tasks(&self) -> Vec<RunningTask> {
        self.shared.running_tasks()
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
        let mut rx = self.shared.subscribe_critical();
        let failure = rx.wait_for(Option::is_some).await.ok()?;
        failure.clone()
    }

    pub(crate) fn record_restart(&self) {
        self.shared.record_restart();
    }

    fn spawn_task<F>(&self, name: TaskName, critical: bool, task: F) -> Result<TaskId, SpawnError>
    where
        F: Future + Send + 'static,
        F::Output: TaskResult,
    {
        let shared = &self.shared;
        if !shared.admit() {
            return Err(SpawnError::ShuttingDown {
                manager: shared.name.to_string(),
                task: name.to_string(),
            });
        }
        // The timeline's span, if a subscriber wants it (no allocation when none does).
        let timeline = timeline::task(&shared.name, &name, critical);
        // tokio-console's name of the task: `manager/task`.
        #[cfg(all(tokio_unstable, feature = "task-names"))]
        let console_name = format!("{}/{name}", shared.name);
        #[cfg(all(tokio_unstable, feature = "task-names"))]
        let console_name = console_name.as_str();
        #[cfg(not(all(tokio_unstable, feature = "task-names")))]
        let console_name = "";
        let (id, slot) = shared.register(name, critical);
        let guard = TaskGuard::new(shared.clone(), slot);
        match timeline {
            None => spawn_named(console_name, Tracked::new(task, guard)),
            // Recorded: the span wraps the task (a second type, so an unrecorded task's future
            // and guard stay as small as they were).
            Some(span) => spawn_recorded(console_name, task, guard, span, id, shared),
        }
        Ok(id)
    }
}

/// Spawns a task whose timeline span a subscriber records. Out of line: its future type is
/// another, and its code kept out of the unrecorded path.
#[cold]
#[inline(never)]
fn spawn_recorded<F>(
    console_name: &str,
    task: F,
    guard: TaskGuard,
    span: Box<crate::timeline::TaskSpan>,
    id: TaskId,
    shared: &Shared,
) where
    F: Future + Send + 'static,
    F::Output: TaskResult,
{
    span.identify(id);
    let spanned = Spanned::new(task, span, shared.signal.clone());
    spawn_named(console_name, Tracked::new(spanned, guard));
}

/// Spawns `task`. The join handle is dropped at once, which keeps tokio on its fast paths;
/// abort goes through the wrapper (see `Tracked`).
#[cfg(not(all(tokio_unstable, feature = "task-names")))]
#[inline]
fn spawn_named<F>(_name: &str, task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    drop(tokio::spawn(task));
}

/// Spawns `task` named `name` (`manager/task`) through `tokio::task::Builder`, under `--cfg
/// tokio_unstable` and the `task-names` feature: the name tokio-console shows. The join handle is dropped at once.
#[cfg(all(tokio_unstable, feature = "task-names"))]
fn spawn_named<F>(name: &str, task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    // Building never fails for a task on the current runtime (tokio returns `Ok` but for a
    // spawn that cannot happen here); a failure drops the task, which its guard records
    // as aborted.
    if let Err(error) = tokio::task::Builder::new().name(name).spawn(task) {
        tracing::error!(task = name, %error, "tokio refused to spawn a task: it is recorded as aborted");
    }
}
