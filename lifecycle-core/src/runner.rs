//! [`Runner`]: runs an application until a stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT), a
//! critical failure, or its own end, then shuts everything down in order under one deadline.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;

use crate::catch_unwind::CatchUnwind;
use crate::orchestrator::{DependencyAwareShutdown, InFlightStop};
use crate::shutdown_report::ShutdownReport;
use crate::shutdown_signal::ShutdownSignal;
use crate::signal_source::{OsSignals, Signal, SignalSource};
use crate::state::FailureCause;
use crate::timeline;
use crate::watchdog::Watchdog;

/// How the process should exit; [`ExitStatus::code`] gives the documented exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum ExitStatus {
    /// Exit code 0: the application ended, or was stopped by a signal, and everything stopped
    /// cleanly.
    Clean,
    /// Exit code 1: start failed, the application failed, a critical failure stopped it, or
    /// the shutdown was not clean.
    Failed,
    /// Exit code 3: a second signal (or the watchdog) cut the shutdown short; what was
    /// abandoned is in [`RunOutcome::abandoned`].
    Forced,
}

impl ExitStatus {
    /// The process exit code: 0 clean, 1 failed, 3 forced.
    pub fn code(self) -> i32 {
        match self {
            Self::Clean => 0,
            Self::Failed => 1,
            Self::Forced => FORCED_EXIT_CODE,
        }
    }
}

/// The exit code of a forced exit (second signal or watchdog).
pub const FORCED_EXIT_CODE: i32 = 3;

/// Why the runner began to shut down.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum ShutdownReason {
    /// The application returned `Ok`.
    AppFinished,
    /// The application returned an error.
    AppFailed(String),
    /// A signal arrived.
    Signal(Signal),
    /// A resource entered `Failed` (a critical task failed).
    CriticalFailure {
        /// The resource.
        component: String,
        /// Why.
        cause: FailureCause,
    },
    /// `start_all` failed (and was rolled back).
    StartFailed(String),
}

impl fmt::Display for ShutdownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AppFinished => f.write_str("application finished"),
            Self::AppFailed(e) => write!(f, "application failed: {e}"),
            Self::Signal(s) => write!(f, "{s} received"),
            Self::CriticalFailure { component, cause } => {
                write!(f, "critical failure in {component}: {cause}")
            }
            Self::StartFailed(e) => write!(f, "{e}"),
        }
    }
}

/// What a run came to.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[must_use = "the outcome carries the exit code and the shutdown report"]
pub struct RunOutcome {
    /// How to exit.
    pub status: ExitStatus,
    /// Why shutdown began.
    pub reason: ShutdownReason,
    /// The application's error, or a note that it had to be cancelled.
    pub app_error: Option<String>,
    /// The shutdown report (of the rollback, if start failed); `None` if a second signal cut
    /// the shutdown short.
    pub report: Option<ShutdownReport>,
    /// What a forced exit left behind: the stops still under way, then the resources that
    /// had not begun to stop (see
    /// [`DependencyAwareShutdown::unfinished`](crate::DependencyAwareShutdown::unfinished)).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub abandoned: Vec<InFlightStop>,
}

impl RunOutcome {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        self.status.code()
    }
}

/// What the application gets from the runner.
#[derive(Debug, Clone)]
pub struct AppContext {
    shutdown: ShutdownSignal,
}

impl AppContext {
    /// Triggered when the runner wants the application to end (signal or critical failure).
    /// The application gets a grace period to finish before it is cancelled.
    pub fn shutdown_signal(&self) -> &ShutdownSignal {
        &self.shutdown
    }
}

/// Runs an application over an orchestrated set of resources.
///
/// 1. Starts every resource (`start_all`; a signal during start stops what started).
/// 2. Runs the application until it ends, a signal arrives, or a resource fails.
/// 3. Gives the application a grace period to finish, then shuts every resource down in order
///    under one global deadline, all within the shutdown budget.
/// 4. A second signal during shutdown stops waiting at once and reports what was abandoned
///    ([`ExitStatus::Forced`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use lifecycle_core::{DependencyAwareShutdown, ExitStatus, NoSignals, Runner};
///
/// let system = DependencyAwareShutdown::new("demo");
/// let outcome = Runner::new(system)
///     .signals(NoSignals)
///     .shutdown_budget(Duration::from_secs(10))
///     .run(|_ctx| async { Ok::<(), std::io::Error>(()) })
///     .await;
/// assert_eq!(outcome.status, ExitStatus::Clean);
/// assert_eq!(outcome.exit_code(), 0);
/// # }
/// ```
#[must_use]
pub struct Runner {
    orchestrator: Arc<DependencyAwareShutdown>,
    budget: Duration,
    app_grace: Duration,
    start_timeout: Option<Duration>,
    signals: Option<Box<dyn SignalSource>>,
    watchdog_slack: Option<Duration>,
    before_watchdog_exit: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("orchestrator", &self.orchestrator)
            .field("budget", &self.budget)
            .field("app_grace", &self.app_grace)
            .field("start_timeout", &self.start_timeout)
            .field("watchdog_slack", &self.watchdog_slack)
            .field("before_watchdog_exit", &self.before_watchdog_exit.is_some())
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner over `orchestrator` with a 10 s shutdown budget, 1 s application grace, the
    /// process's SIGINT/SIGTERM, and no watchdog.
    pub fn new(orchestrator: DependencyAwareShutdown) -> Self {
        Self {
            orchestrator: Arc::new(orchestrator),
            budget: Duration::from_secs(10),
            app_grace: Duration::from_secs(1),
            start_timeout: None,
            signals: None,
            watchdog_slack: None,
            before_watchdog_exit: None,
        }
    }

    /// The global shutdown budget: application grace plus every phase.
    pub fn shutdown_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// How long the application may take to finish after its shutdown signal (cut to half the
    /// budget).
    pub fn app_grace(mut self, grace: Duration) -> Self {
        self.app_grace = grace;
        self
    }

    /// Bounds the start: if `start_all` has not finished `limit` after it began, the runner
    /// stops what started (the starts under way give up, as on a signal during start) and
    /// the run fails ([`ShutdownReason::StartFailed`]). Without it a start against a venue
    /// that never answers lasts as long as its components' own retries.
    pub fn start_timeout(mut self, limit: Duration) -> Self {
        self.start_timeout = Some(limit);
        self
    }

    /// Takes stop requests from `source` instead of the process's signals.
    pub fn signals(mut self, source: impl SignalSource + 'static) -> Self {
        self.signals = Some(Box::new(source));
        self
    }

    /// Arms a [`Watchdog`] when shutdown begins: if the process is still shutting down `slack`
    /// after the budget, it exits with [`FORCED_EXIT_CODE`]. For binaries: it ends the process.
    pub fn watchdog(mut self, slack: Duration) -> Self {
        self.watchdog_slack = Some(slack);
        self
    }

    /// Runs `hook` on the watchdog's thread just before it ends the process (with
    /// [`watchdog`](Self::watchdog)): to flush what must survive an exit that skips every
    /// destructor, such as a trace file.
    pub fn before_watchdog_exit(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.before_watchdog_exit = Some(Arc::new(hook));
        self
    }

    /// The orchestrator, for reading progress while running.
    pub fn orchestrator(&self) -> &Arc<DependencyAwareShutdown> {
        &self.orchestrator
    }

    /// Runs `app` as described on [`Runner`].
    ///
    /// - A signal during start stops what started while the starts under way give up (the
    ///   shutdown runs alongside them); if everything then stops cleanly the exit is clean.
    /// - An application that panics is a failure like one that returns an error: the orderly
    ///   shutdown still runs, and the outcome carries the panic's message.
    /// - The application's unused grace goes back to the shutdown.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future abandons the shutdown (resources built on
    /// [`Lifecycle`](crate::Lifecycle) still finish the stops already begun). Run it to its end.
    pub async fn run<A, F, E>(mut self, app: A) -> RunOutcome
    where
        A: FnOnce(AppContext) -> F,
        F: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        let orchestrator = self.orchestrator.clone();
        let mut signals: Box<dyn SignalSource> = match self.signals.take() {
            Some(source) => source,
            None => match OsSignals::new() {
                Ok(source) => Box::new(source),
                Err(error) => {
                    tracing::error!(%error, "cannot install signal handlers: running without them");
                    Box::new(crate::signal_source::NoSignals)
                }
            },
        };

        // 1. Start, unless a signal comes first.
        // Boxed (once per run): the start and shutdown futures are large.
        let mut start = Box::pin(orchestrator.start_all());
        let start_limit = self.start_timeout;
        let out_of_time = async move {
            match start_limit {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        let started = tokio::select! {
            biased;
            started = start.as_mut() => Ok(started),
            signal = next_signal(&mut *signals, orchestrator.name(), "stop the start") => Err(Some(signal)),
            () = out_of_time => Err(None),
        };
        match started {
            Ok(Err(error)) => {
                return RunOutcome {
                    status: ExitStatus::Failed,
                    reason: ShutdownReason::StartFailed(error.to_string()),
                    app_error: None,
                    report: Some(error.rollback),
                    abandoned: Vec::new(),
                };
            }
            Err(None) => {
                let limit = start_limit.unwrap_or_default();
                tracing::error!(
                    limit_ms = limit.as_millis() as u64,
                    "start did not finish in time: stopping what started"
                );
                let shutdown = Box::pin(shut_down_alongside(
                    &orchestrator,
                    self.budget,
                    Instant::now() + self.budget,
                    start.as_mut(),
                ));
                let reason = ShutdownReason::StartFailed(format!(
                    "start did not finish within {:.1} s",
                    limit.as_secs_f64()
                ));
                return self
                    .shut_down(reason, None, self.budget, shutdown, &mut *signals, false)
                    .await;
            }
            Err(Some(signal)) => {
                tracing::warn!(%signal, "signal during start: stopping what started");
                // The shutdown's stops ask the starts under way to give up; the start ends
                // alongside, starting nothing more.
                let shutdown = Box::pin(shut_down_alongside(
                    &orchestrator,
                    self.budget,
                    Instant::now() + self.budget,
                    start.as_mut(),
                ));
                return self
                    .shut_down(
                        ShutdownReason::Signal(signal),
                        None,
                        self.budget,
                        shutdown,
                        &mut *signals,
                        true,
                    )
                    .await;
            }
            Ok(Ok(())) => {}
        }

        // 2. Run the application.
        let shutdown = ShutdownSignal::new();
        let app = app(AppContext {
            shutdown: shutdown.clone(),
        });
        // The application's whole run is the timeline's `running` span. Boxed, so an
        // application that overruns its grace can be dropped before the shutdown begins (a
        // pinned local would live, holding what it uses, until `run` returns).
        let running = timeline::running(orchestrator.name());
        let mut app = Box::pin(CatchUnwind::new(app).instrument(running));
        let reason = tokio::select! {
            biased;
            result = app.as_mut() => {
                let app_error = app_error_of(result);
                let reason = match &app_error {
                    None => ShutdownReason::AppFinished,
                    Some(error) => ShutdownReason::AppFailed(error.clone()),
                };
                tracing::info!(%reason, "shutting down");
                let shutdown = Box::pin(orchestrator.shutdown_all(self.budget));
                return self.shut_down(reason, app_error, self.budget, shutdown, &mut *signals, false).await;
            }
            signal = next_signal(&mut *signals, orchestrator.name(), "shutdown") => ShutdownReason::Signal(signal),
            (component, cause) = orchestrator.first_failure() => ShutdownReason::CriticalFailure { component, cause },
        };
        tracing::warn!(%reason, "shutting down");

        // 3. Let the application finish, within its grace; what it leaves unused goes to the
        //    shutdown.
        shutdown.trigger();
        let asked = Instant::now();
        let grace_end = asked + self.app_grace.min(self.budget / 2);
        let mut app_error = None;
        tokio::select! {
            biased;
            finished = tokio::time::timeout_at(grace_end, app.as_mut()) => match finished {
                Ok(result) => app_error = app_error_of(result),
                Err(_) => {
                    tracing::warn!("application did not finish within its grace period: cancelled");
                    app_error = Some("application did not finish within its grace period: cancelled".to_owned());
                }
            },
            signal = next_signal(&mut *signals, orchestrator.name(), "forced exit") => {
                return self.forced(reason, signal, app_error);
            }
        }
        // Cancelled means dropped, now: what the application still held (an order placement
        // in flight, a guard a resource's stop waits for) is released before the shutdown
        // begins, not when the run returns.
        drop(app);
        let budget_left = self.budget.saturating_sub(asked.elapsed());
        let signalled = matches!(reason, ShutdownReason::Signal(_));
        let shutdown = Box::pin(orchestrator.shutdown_all(budget_left));
        self.shut_down(
            reason,
            app_error,
            budget_left,
            shutdown,
            &mut *signals,
            signalled,
        )
        .await
    }

    /// Drives `shutdown` (an orchestrated shutdown within `budget`) to its report, under the
    /// watchdog; a signal forces the exit (the second one, counting the one that began it).
    async fn shut_down(
        &self,
        reason: ShutdownReason,
        app_error: Option<String>,
        budget: Duration,
        shutdown: impl Future<Output = ShutdownReport>,
        signals: &mut dyn SignalSource,
        mut signalled: bool,
    ) -> RunOutcome {
        let watchdog = self.watchdog_slack.and_then(|slack| {
            let hook = self.before_watchdog_exit.clone();
            Watchdog::arm_with(budget + slack, FORCED_EXIT_CODE, move || {
                if let Some(hook) = &hook {
                    hook();
                }
            })
            .map_err(|error| tracing::error!(%error, "cannot arm the shutdown watchdog"))
            .ok()
        });
        let mut shutdown = std::pin::pin!(shutdown);
        let report = loop {
            tokio::select! {
                biased;
                report = shutdown.as_mut() => break report,
                signal = next_signal(
                    signals,
                    self.orchestrator.name(),
                    if signalled { "forced exit" } else { "shutdown already under way" },
                ) => {
                    if signalled {
                        return self.forced(reason, signal, app_error);
                    }
                    // The first signal arrived while shutting down for another reason.
                    signalled = true;
                    tracing::warn!(%signal, "shutdown already in progress; signal again to force the exit");
                }
            }
        };
        drop(watchdog);
        let failed = app_error.is_some()
            || !report.is_clean()
            || matches!(
                reason,
                ShutdownReason::AppFailed(_)
                    | ShutdownReason::CriticalFailure { .. }
                    | ShutdownReason::StartFailed(_)
            );
        RunOutcome {
            status: if failed {
                ExitStatus::Failed
            } else {
                ExitStatus::Clean
            },
            reason,
            app_error,
            report: Some(report),
            abandoned: Vec::new(),
        }
    }

    fn forced(
        &self,
        reason: ShutdownReason,
        signal: Signal,
        app_error: Option<String>,
    ) -> RunOutcome {
        let abandoned = self.orchestrator.unfinished();
        tracing::error!(
            %signal, abandoned = ?abandoned.iter().map(|s| s.name.to_string()).collect::<Vec<_>>(),
            "second signal: abandoning the shutdown"
        );
        RunOutcome {
            status: ExitStatus::Forced,
            reason,
            app_error,
            report: None,
            abandoned,
        }
    }
}

/// The application's error (or panic) as the outcome's `app_error`.
fn app_error_of<E: fmt::Display>(result: Result<Result<(), E>, String>) -> Option<String> {
    match result {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(panic) => {
            tracing::error!(panic, "application panicked: shutting down in order");
            Some(format!("application panicked: {panic}"))
        }
    }
}

/// Shuts `orchestrator` down within `budget` while the start under way runs alongside, but no
/// later than `deadline`: the shutdown's stops ask the starts to give up, and one deaf to that
/// (a call with a long timeout of its own) must not hold the exit past the budget, so it is
/// dropped there.
async fn shut_down_alongside<F: Future>(
    orchestrator: &DependencyAwareShutdown,
    budget: Duration,
    deadline: Instant,
    start: std::pin::Pin<&mut F>,
) -> ShutdownReport {
    let start_ends = async {
        if tokio::time::timeout_at(deadline, start).await.is_err() {
            tracing::warn!("a start under way did not give up by the shutdown's deadline: dropped");
        }
    };
    let (report, ()) = tokio::join!(orchestrator.shutdown_all(budget), start_ends);
    report
}

/// The next signal, recorded on the timeline with what it does to `orchestrator`'s run; never
/// completes once the source is exhausted.
async fn next_signal(signals: &mut dyn SignalSource, orchestrator: &str, effect: &str) -> Signal {
    match signals.recv().await {
        Some(signal) => {
            timeline::signal(orchestrator, &signal, effect);
            signal
        }
        None => std::future::pending().await,
    }
}
