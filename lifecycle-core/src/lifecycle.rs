//! [`Lifecycle`]: the reusable building block that gives a component the whole lifecycle
//! contract, so component crates never re-implement it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tracing::Instrument;

use crate::catch_unwind::CatchUnwind;
use crate::error::{BoxError, StartError};
use crate::metrics;
use crate::shutdown_signal::ShutdownSignal;
use crate::state::{FailureCause, LifecycleState, StateCell, StateTag, StateWatcher};
use crate::stop_report::{StopDetails, StopReport};
use crate::task_manager::{TaskManager, TaskSpawner};
use crate::task_report::TaskShutdownReport;

/// An undo step: built with the rollback's deadline, it reports `Err` with a message when it
/// could not undo everything.
type RollbackFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type RollbackStep = (String, Box<dyn FnOnce(Instant) -> RollbackFuture + Send>);
type ClosingHook = Box<dyn Fn() + Send + Sync>;

/// The most a stop keeps back from its work to hand its report over by the caller's deadline:
/// a tenth of the time, at most this. Enough for a loaded machine to deliver the report (say,
/// the names of orders that could not be confirmed) before the caller stops waiting.
const REPORT_HANDOFF: Duration = Duration::from_millis(50);

/// Builds a [`Lifecycle`] with custom timings.
#[must_use]
pub struct LifecycleBuilder {
    name: Arc<str>,
    grace: Duration,
    abort_wait: Duration,
    rollback_timeout: Duration,
    on_stopping: Option<ClosingHook>,
}

impl fmt::Debug for ClosingHookDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

struct ClosingHookDebug<'a>(&'a Option<ClosingHook>);

impl LifecycleBuilder {
    /// Grace period for the component's tasks between the signal and abort (default 500 ms,
    /// always cut to the stop deadline).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Wait after abort before a task is reported stuck (default 50 ms).
    pub fn abort_wait(mut self, abort_wait: Duration) -> Self {
        self.abort_wait = abort_wait;
        self
    }

    /// Time allowed for undoing a failed start (default 5 s).
    pub fn rollback_timeout(mut self, timeout: Duration) -> Self {
        self.rollback_timeout = timeout;
        self
    }

    /// Runs `close` synchronously at the moment the state becomes `Stopping`, before the stop
    /// hook's task is even spawned: the place to refuse new work (close a queue, stop
    /// admitting orders, fail waiters with `Closed`), so nothing is accepted once the state
    /// says `Stopping`. Keep it short and non-blocking; it runs on the caller of `stop`.
    pub fn on_stopping(mut self, close: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_stopping = Some(Box::new(close));
        self
    }

    /// Builds it.
    pub fn build(self) -> Lifecycle {
        let tasks = TaskManager::builder(self.name.clone())
            .grace(self.grace)
            .abort_wait(self.abort_wait)
            .build();
        let state = Arc::new(StateCell::new(self.name));
        let hook_state = state.clone();
        tasks.on_critical_failure(move |failure| {
            let cause = FailureCause::new(failure.to_string());
            // Fails a running component, or one still starting (its start then reports it).
            if hook_state.fail(StateTag::Running, cause.clone()).is_err() {
                let _ = hook_state.fail(StateTag::Starting, cause);
            }
        });
        let (report, _) = watch::channel(None);
        Lifecycle {
            shared: Arc::new(Shared {
                state,
                tasks,
                start_gate: tokio::sync::Mutex::new(()),
                report,
                partial_children: Mutex::new(Vec::new()),
                rollback_timeout: self.rollback_timeout,
                on_stopping: self.on_stopping,
                start_gave_up: AtomicBool::new(false),
                start_ended: Notify::new(),
            }),
        }
    }
}

impl fmt::Debug for LifecycleBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LifecycleBuilder")
            .field("name", &self.name)
            .field("grace", &self.grace)
            .field("abort_wait", &self.abort_wait)
            .field("rollback_timeout", &self.rollback_timeout)
            .field("on_stopping", &ClosingHookDebug(&self.on_stopping))
            .finish()
    }
}

/// Gives a component the lifecycle contract (see the crate docs, "The lifecycle contract"):
///
/// - **start** is idempotent and serialised; the start hook registers undo steps with
///   [`StartContext::on_rollback`]; if the hook fails, panics, is cancelled, or a critical task
///   fails during it, the undo steps run in reverse, the component's tasks are shut down, and
///   the state becomes `Failed` with the cause. Nothing is left running.
/// - **stop** is idempotent and safe to call concurrently (one stop runs, every caller gets its
///   report), a no-op before start, valid after failure and during a start (the start is asked
///   to give up, then overridden). It **always returns by the caller's deadline**: the stop
///   work runs in its own task, so a caller that gives up or is cancelled does not abandon it.
/// - The component's tasks live in its [`TaskManager`]; a critical task's failure moves the
///   component to `Failed`.
/// - Dropping a `Lifecycle` whose component is still running aborts its tasks and logs a
///   warning naming it (Rust has no async drop; stop components before dropping them).
///
/// See [`AsyncResource`](crate::AsyncResource) for a complete component built on it.
pub struct Lifecycle {
    shared: Arc<Shared>,
}

struct Shared {
    state: Arc<StateCell>,
    tasks: TaskManager,
    start_gate: tokio::sync::Mutex<()>,
    report: watch::Sender<Option<StopReport>>,
    /// Sub-components' reports recorded while the stop runs, so they survive a stop that runs
    /// out of time.
    partial_children: Mutex<Vec<StopReport>>,
    rollback_timeout: Duration,
    on_stopping: Option<ClosingHook>,
    /// Set (and notified) when a start gave up because a stop asked it to: the stop may take
    /// over at once instead of waiting out its share of the time.
    start_gave_up: AtomicBool,
    start_ended: Notify,
}

impl fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifecycle")
            .field("component", &self.name())
            .field("state", &self.state())
            .field("active_tasks", &self.shared.tasks.active_tasks())
            .finish()
    }
}

/// Given to a start hook: spawn the component's tasks and register undo steps.
pub struct StartContext {
    tasks: TaskSpawner,
    rollback: Arc<Mutex<Vec<RollbackStep>>>,
}

impl fmt::Debug for StartContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartContext")
            .field("tasks", &self.tasks)
            .finish_non_exhaustive()
    }
}

impl StartContext {
    /// The component's task spawner.
    pub fn tasks(&self) -> &TaskSpawner {
        &self.tasks
    }

    /// Registers an undo step, run (in reverse registration order) if the start fails.
    ///
    /// `undo` is given the rollback's deadline (the lifecycle's
    /// [`rollback_timeout`](LifecycleBuilder::rollback_timeout) from the failure; every step
    /// shares it) and must finish by then: past it the step is dropped and logged as timed
    /// out. Its output is a [`TaskResult`](crate::TaskResult): `()`, a `Result` (an `Err` is
    /// logged with the step's name), or a [`StopReport`] or
    /// [`ShutdownReport`](crate::ShutdownReport) of what it stopped (logged unless clean).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use lifecycle_core::{Lifecycle, StopDetails};
    ///
    /// let lifecycle = Lifecycle::new("feed");
    /// let started = lifecycle
    ///     .start(|ctx| async move {
    ///         ctx.on_rollback("close the session", |deadline| async move {
    ///             // Undo what the start did, by `deadline`.
    ///             let _ = deadline;
    ///         });
    ///         Err("the venue refused".into())
    ///     })
    ///     .await;
    /// assert!(started.is_err());
    /// # let _ = lifecycle.stop(tokio::time::Instant::now() + Duration::from_secs(1), |_| async { StopDetails::new() }).await;
    /// # }
    /// ```
    pub fn on_rollback<U, F>(&self, step: impl Into<String>, undo: U)
    where
        U: FnOnce(Instant) -> F + Send + 'static,
        F: Future + Send + 'static,
        F::Output: crate::TaskResult,
    {
        let undo: Box<dyn FnOnce(Instant) -> RollbackFuture + Send> = Box::new(move |deadline| {
            let undo = undo(deadline);
            Box::pin(async move { crate::TaskResult::into_task_result(undo.await) })
        });
        self.rollback
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((step.into(), undo));
    }

    /// Whether a stop was requested while starting: a long start should give up.
    pub fn stop_requested(&self) -> bool {
        self.tasks.signal().is_triggered()
    }

    /// Completes when a stop is requested (select on it in long start steps).
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn stop_signal(&self) {
        self.tasks.signal().triggered().await;
    }
}

/// Given to a stop hook: its deadline, and the component's tasks to shut down at the right
/// moment.
pub struct StopContext {
    deadline: Instant,
    shared: Arc<Shared>,
    tasks_report: Arc<Mutex<Option<TaskShutdownReport>>>,
}

impl fmt::Debug for StopContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopContext")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl StopContext {
    /// The deadline the stop's work must meet: a little before the caller's, so the report
    /// is handed over in time.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Records a sub-component's report as soon as it is known. If the hook then runs out of
    /// time, the stop's report still carries it (a hook that returns replaces these with the
    /// children of the details it returns).
    pub fn record_child(&self, report: StopReport) {
        lock(&self.shared.partial_children).push(report);
    }

    /// The signal the component's tasks select on (already triggered when the hook runs).
    pub fn signal(&self) -> &ShutdownSignal {
        self.shared.tasks.signal()
    }

    /// Shuts the component's tasks down now (two-phase, by `deadline`), for hooks that must
    /// stop their loops before closing what the loops use (a socket closed under a running loop
    /// makes the loop reconnect during the stop). If the hook does
    /// not call it, the tasks are shut down after the hook returns.
    pub async fn shutdown_tasks(&self, deadline: Instant) {
        let report = self
            .shared
            .tasks
            .shutdown(deadline.min(self.deadline))
            .await;
        *self
            .tasks_report
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(report);
    }
}

impl Lifecycle {
    /// A lifecycle with default timings for the named component.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self::builder(name).build()
    }

    /// A builder with custom timings.
    pub fn builder(name: impl Into<Arc<str>>) -> LifecycleBuilder {
        LifecycleBuilder {
            name: name.into(),
            grace: Duration::from_millis(500),
            abort_wait: Duration::from_millis(50),
            rollback_timeout: Duration::from_secs(5),
            on_stopping: None,
        }
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        self.shared.state.component()
    }

    /// The current state (lock-free).
    pub fn state(&self) -> LifecycleState {
        self.shared.state.get()
    }

    /// The current state's discriminant: one atomic load, for hot paths.
    #[inline]
    pub fn state_tag(&self) -> StateTag {
        self.shared.state.tag()
    }

    /// The cause of the component's failure, if it ever failed.
    pub fn failure(&self) -> Option<FailureCause> {
        self.shared.state.failure()
    }

    /// A watcher of state changes.
    pub fn watch(&self) -> StateWatcher {
        self.shared.state.watch()
    }

    /// The component's tasks.
    pub fn tasks(&self) -> &TaskSpawner {
        &self.shared.tasks
    }

    /// Starts the component by running `hook` once: idempotent (`Ok` at once if running),
    /// serialised with concurrent starts, rolled back on failure.
    ///
    /// # Cancel safety
    /// If the returned future is dropped before it completes, the component becomes `Failed`
    /// ("start cancelled") and its undo steps and tasks are cleaned up in the background.
    pub async fn start<H, F>(&self, hook: H) -> Result<(), StartError>
    where
        H: FnOnce(StartContext) -> F,
        F: Future<Output = Result<(), BoxError>>,
    {
        let _gate = self.shared.start_gate.lock().await;
        let state = &self.shared.state;
        match state.tag() {
            StateTag::Running => return Ok(()),
            StateTag::Created => {}
            other => {
                return Err(StartError::InvalidState {
                    component: self.name().to_owned(),
                    state: other,
                });
            }
        }
        if let Err(error) = state.transition(StateTag::Created, StateTag::Starting) {
            return Err(StartError::InvalidState {
                component: self.name().to_owned(),
                state: error.actual,
            });
        }
        tracing::info!(component = self.name(), "component starting");
        let begun = Instant::now();
        let rollback = Arc::new(Mutex::new(Vec::new()));
        let ctx = StartContext {
            tasks: self.shared.tasks.spawner(),
            rollback: rollback.clone(),
        };
        let mut guard = StartGuard {
            shared: Some(self.shared.clone()),
            rollback: rollback.clone(),
        };
        let result = CatchUnwind::new(hook(ctx)).await;
        let shared = guard.disarm();
        let hook_returned_error = matches!(result, Ok(Err(_)));
        let failure = match result {
            Ok(Ok(())) => match state.transition(StateTag::Starting, StateTag::Running) {
                Ok(()) => {
                    tracing::info!(
                        component = self.name(),
                        duration_ms = begun.elapsed().as_secs_f64() * 1e3,
                        "component started"
                    );
                    return Ok(());
                }
                // A critical task failed during the start, or a stop overrode it.
                Err(_) => None,
            },
            Ok(Err(error)) => Some(FailureCause::new(error.to_string())),
            Err(panic) => Some(FailureCause::new(format!("start panicked: {panic}"))),
        };
        // (Read before the rollback, which triggers the signal itself.)
        let stop_requested = self.shared.tasks.signal().is_triggered();
        let deadline = Instant::now() + shared.rollback_timeout;
        roll_back(&shared, &rollback, deadline).await;
        // A start hook that returns an error after a stop asked it to give up did what was
        // asked: the start is cancelled, not failed, and the stop takes over.
        if stop_requested && hook_returned_error && state.tag() == StateTag::Starting {
            tracing::info!(component = self.name(), "start gave up on a stop request");
            shared.start_gave_up.store(true, Ordering::Release);
            shared.start_ended.notify_waiters();
            return Err(StartError::Cancelled {
                component: self.name().to_owned(),
            });
        }
        match failure {
            Some(cause) => {
                let _ = state.fail(StateTag::Starting, cause.clone());
                Err(StartError::Failed {
                    component: self.name().to_owned(),
                    cause,
                })
            }
            // A critical task failed during the start: a failed start, even if a stop has
            // taken the failed component over since (the cause outlives the `Failed` state).
            None => match state.failure() {
                Some(cause) => Err(StartError::Failed {
                    component: self.name().to_owned(),
                    cause,
                }),
                None => Err(StartError::Cancelled {
                    component: self.name().to_owned(),
                }),
            },
        }
    }

    /// Stops the component: triggers its tasks' signal, runs `hook` (bounded by `deadline`),
    /// shuts the tasks down (unless the hook did), and returns the report by `deadline`.
    ///
    /// # Cancel safety
    /// Cancel safe: the stop runs in its own task and completes even if this future is dropped;
    /// a later call returns its report.
    pub async fn stop<H, F>(&self, deadline: Instant, hook: H) -> StopReport
    where
        H: FnOnce(StopContext) -> F + Send + 'static,
        F: Future<Output = StopDetails> + Send + 'static,
    {
        let begun = Instant::now();
        let state = &self.shared.state;
        let mut hook = Some(hook);
        loop {
            match state.tag() {
                StateTag::Created => return StopReport::not_started(self.name()),
                StateTag::Stopping | StateTag::Stopped => break,
                StateTag::Starting => {
                    // Ask the start to give up, give it half the time left, then override it.
                    self.shared.tasks.signal().trigger();
                    let wait_until = begun + deadline.saturating_duration_since(begun) / 2;
                    let _ = tokio::time::timeout_at(wait_until, self.start_ends()).await;
                    let gave_up = self.shared.start_gave_up.load(Ordering::Acquire);
                    if state
                        .transition(StateTag::Starting, StateTag::Stopping)
                        .is_ok()
                    {
                        if gave_up {
                            tracing::info!(
                                component = self.name(),
                                "stop took over from a start that gave up"
                            );
                        } else {
                            tracing::warn!(
                                component = self.name(),
                                "stop overrode a start that did not finish"
                            );
                        }
                        self.begin_stopping(deadline, begun, hook.take());
                        break;
                    }
                }
                from @ (StateTag::Running | StateTag::Failed) => {
                    if state.transition(from, StateTag::Stopping).is_ok() {
                        self.begin_stopping(deadline, begun, hook.take());
                        break;
                    }
                }
            }
        }
        self.await_report(deadline, begun).await
    }

    /// Completes when the start under way ends: its state moved on, or it gave up on a stop
    /// request (leaving the state `Starting` for the stop to take over).
    async fn start_ends(&self) {
        let mut watcher = self.shared.state.watch();
        loop {
            let ended = self.shared.start_ended.notified();
            let mut ended = std::pin::pin!(ended);
            ended.as_mut().enable();
            if self.shared.start_gave_up.load(Ordering::Acquire)
                || self.shared.state.tag() != StateTag::Starting
            {
                return;
            }
            tokio::select! {
                biased;
                () = ended => {}
                changed = watcher.changed() => {
                    if changed.is_none() {
                        return;
                    }
                }
            }
        }
    }

    /// Right after the move to `Stopping`: closes synchronously (the tasks' signal, the
    /// manager, the component's `on_stopping`), then runs the rest of the stop in its own task.
    fn begin_stopping<H, F>(&self, caller_deadline: Instant, begun: Instant, hook: Option<H>)
    where
        H: FnOnce(StopContext) -> F + Send + 'static,
        F: Future<Output = StopDetails> + Send + 'static,
    {
        let shared = self.shared.clone();
        tracing::info!(component = self.name(), "component stopping");
        // The work ends a little before the caller's deadline, so the report is in by then.
        let handoff = (caller_deadline.saturating_duration_since(begun) / 10).min(REPORT_HANDOFF);
        let deadline = caller_deadline - handoff;
        // Tasks learn the stop and, through `grace_deadline`, by when they must be done.
        shared.tasks.begin_shutdown(deadline);
        if let Some(close) = &shared.on_stopping
            && let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(close))
        {
            tracing::error!(
                component = self.name(),
                panic = crate::task_result::panic_message(&*panic),
                "on_stopping hook panicked"
            );
        }
        let parent = tracing::Span::current();
        let stop = async move {
            let tasks_report = Arc::new(Mutex::new(None));
            let mut details = StopDetails::new();
            let mut deadline_exceeded = false;
            if let Some(hook) = hook {
                let ctx = StopContext {
                    deadline,
                    shared: shared.clone(),
                    tasks_report: tasks_report.clone(),
                };
                match tokio::time::timeout_at(deadline, CatchUnwind::new(hook(ctx))).await {
                    Ok(Ok(hook_details)) => details = hook_details,
                    Ok(Err(panic)) => {
                        details.errors.push(format!("stop hook panicked: {panic}"));
                        details.children = std::mem::take(&mut *lock(&shared.partial_children));
                    }
                    Err(_) => {
                        deadline_exceeded = true;
                        details
                            .errors
                            .push("stop hook did not finish by the deadline".to_owned());
                        details.children = std::mem::take(&mut *lock(&shared.partial_children));
                    }
                }
            }
            let taken = tasks_report
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            let tasks = match taken {
                Some(report) => report,
                None => shared.tasks.shutdown(deadline).await,
            };
            let _ = shared
                .state
                .transition(StateTag::Stopping, StateTag::Stopped);
            let report = StopReport::new(
                shared.state.component(),
                begun.elapsed(),
                shared.state.failure(),
                Some(tasks),
                details,
                deadline_exceeded,
            );
            metrics::record_component_stop(report.is_clean());
            let duration_ms = report.duration.as_secs_f64() * 1e3;
            if report.is_clean() {
                tracing::info!(component = %report.component, duration_ms, outcome = %report.outcome, "component stopped");
            } else {
                tracing::warn!(component = %report.component, duration_ms, outcome = %report.outcome, report = %report, "component stopped");
            }
            shared.report.send_replace(Some(report));
        };
        // The stop's own work stays under the caller's span (a timeline's `resource`).
        tokio::spawn(stop.instrument(parent));
    }

    async fn await_report(&self, deadline: Instant, begun: Instant) -> StopReport {
        let mut rx = self.shared.report.subscribe();
        if let Ok(Ok(report)) =
            tokio::time::timeout_at(deadline, rx.wait_for(Option::is_some)).await
            && let Some(report) = report.as_ref()
        {
            return report.clone();
        }
        // The stop is still running at the deadline: report what is known.
        let still_running = self.shared.tasks.running_tasks();
        let mut details = StopDetails::new().error(format!(
            "stop still in progress at the deadline; {} task(s) running: {}",
            still_running.len(),
            still_running
                .iter()
                .map(|t| t.name.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        details.children = lock(&self.shared.partial_children).clone();
        StopReport::new(
            self.name(),
            begun.elapsed(),
            self.failure(),
            None,
            details,
            true,
        )
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the undo steps in reverse and shuts the tasks down, within `deadline`.
async fn roll_back(shared: &Shared, rollback: &Mutex<Vec<RollbackStep>>, deadline: Instant) {
    let steps = std::mem::take(&mut *rollback.lock().unwrap_or_else(PoisonError::into_inner));
    let component = shared.state.component();
    let tasks = shared.tasks.shutdown(deadline).await;
    if !tasks.is_clean() {
        tracing::warn!(
            component,
            ?tasks,
            "tasks did not stop cleanly during rollback"
        );
    }
    for (step, undo) in steps.into_iter().rev() {
        let undo = CatchUnwind::new(async move { undo(deadline).await });
        match tokio::time::timeout_at(deadline, undo).await {
            Ok(Ok(Ok(()))) => tracing::debug!(component, step, "start step rolled back"),
            Ok(Ok(Err(failure))) => {
                tracing::warn!(
                    component,
                    step,
                    failure,
                    "rollback step did not undo everything"
                );
            }
            Ok(Err(panic)) => tracing::error!(component, step, panic, "rollback step panicked"),
            Err(_) => tracing::error!(component, step, "rollback step timed out"),
        }
    }
}

/// Cleans up a start whose future was dropped before it finished.
struct StartGuard {
    shared: Option<Arc<Shared>>,
    rollback: Arc<Mutex<Vec<RollbackStep>>>,
}

impl StartGuard {
    fn disarm(&mut self) -> Arc<Shared> {
        self.shared
            .take()
            .unwrap_or_else(|| unreachable!("StartGuard disarmed twice"))
    }
}

impl Drop for StartGuard {
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        let cause = FailureCause::new("start cancelled before it finished");
        let _ = shared.state.fail(StateTag::Starting, cause);
        let rollback = self.rollback.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let deadline = Instant::now() + shared.rollback_timeout;
                    roll_back(&shared, &rollback, deadline).await;
                });
            }
            Err(_) => {
                shared.tasks.abort_all();
            }
        }
    }
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        let state = self.shared.state.tag();
        let live = self.shared.tasks.active_tasks();
        let running = matches!(state, StateTag::Starting | StateTag::Running);
        if running || live > 0 && state != StateTag::Stopping {
            tracing::warn!(
                component = self.name(),
                state = state.as_str(),
                live_tasks = live,
                "component dropped without stop: aborting its tasks (stop it first; prefer scoped APIs)"
            );
            self.shared.tasks.abort_all();
        }
    }
}
