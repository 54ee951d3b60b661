//! A configurable probe component for the integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stderr
)]

pub mod search;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lifecycle_core::{
    AsyncResource, BoxFuture, InFlightStop, Lifecycle, LifecycleState, StartError, StateCell,
    StateTag, StateWatcher, StopDetails, StopReport,
};
use tokio::sync::Notify;
use tokio::time::Instant;

#[allow(unused_imports, reason = "not every test binary bounds its bodies")]
pub use test_support::bounded;

/// A shared, ordered log of what components did.
#[derive(Clone, Default)]
pub struct EventLog(Arc<Mutex<Vec<String>>>);

impl EventLog {
    pub fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }
    pub fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    /// Waits (polling every millisecond) until `event` has been logged.
    pub async fn logged(&self, event: &str) {
        while !self.events().iter().any(|e| e == event) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    /// Polls `future` (yielding between polls: a paused clock does not move) until `event`
    /// has been logged; fails the test if the future ends first.
    pub async fn poll_until_logged<F>(&self, mut future: std::pin::Pin<&mut F>, event: &str)
    where
        F: Future,
        F::Output: std::fmt::Debug,
    {
        while !self.events().iter().any(|e| e == event) {
            tokio::select! {
                biased;
                result = future.as_mut() => panic!("ended before {event:?} was logged: {result:?}"),
                () = tokio::task::yield_now() => {}
            }
        }
    }
    pub fn position(&self, event: &str) -> usize {
        self.events()
            .iter()
            .position(|e| e == event)
            .unwrap_or_else(|| panic!("no event {event:?} in {:?}", self.events()))
    }
}

/// How a probe behaves.
#[derive(Clone, Default)]
pub struct Behavior {
    /// The start hook fails after registering its rollback step.
    pub start_fails: bool,
    /// The start hook panics.
    pub start_panics: bool,
    /// The stop hook never finishes (the Lifecycle must still return by the deadline).
    pub stop_hangs: bool,
    /// Spawns a cooperative worker task at start.
    pub worker: bool,
    /// Spawns a critical task that fails when this is notified.
    pub fail_critical: Option<Arc<Notify>>,
    /// The start hook waits until a stop asks it to give up, then returns an error.
    pub start_waits_for_stop: bool,
    /// The start hook never finishes, deaf to a stop (a call with a long timeout of its own).
    pub start_hangs: bool,
}

/// Chained settings, one per field: `Behavior::default().with_worker().hanging_stop()`.
impl Behavior {
    pub fn with_worker(self) -> Self {
        Self {
            worker: true,
            ..self
        }
    }
    pub fn failing_start(self) -> Self {
        Self {
            start_fails: true,
            ..self
        }
    }
    pub fn panicking_start(self) -> Self {
        Self {
            start_panics: true,
            ..self
        }
    }
    pub fn hanging_start(self) -> Self {
        Self {
            start_hangs: true,
            ..self
        }
    }
    pub fn start_waiting_for_stop(self) -> Self {
        Self {
            start_waits_for_stop: true,
            ..self
        }
    }
    pub fn hanging_stop(self) -> Self {
        Self {
            stop_hangs: true,
            ..self
        }
    }
    pub fn failing_critical_on(self, trigger: Arc<Notify>) -> Self {
        Self {
            fail_critical: Some(trigger),
            ..self
        }
    }
}

pub struct Probe {
    pub lifecycle: Lifecycle,
    pub log: EventLog,
    pub behavior: Behavior,
}

impl Probe {
    pub fn new(name: &str, log: &EventLog, behavior: Behavior) -> Arc<Self> {
        Arc::new(Self {
            lifecycle: Lifecycle::builder(name)
                .grace(Duration::from_millis(100))
                .abort_wait(Duration::from_millis(20))
                .build(),
            log: log.clone(),
            behavior,
        })
    }
}

impl AsyncResource for Probe {
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let name = self.name().to_owned();
        let log = self.log.clone();
        let behavior = self.behavior.clone();
        Box::pin(self.lifecycle.start(move |ctx| async move {
            log.push(format!("start {name}"));
            let undo_log = log.clone();
            let undo_name = name.clone();
            ctx.on_rollback("undo", move |_| async move {
                undo_log.push(format!("rollback {undo_name}"))
            });
            if behavior.worker {
                let signal = ctx.tasks().signal().clone();
                ctx.tasks()
                    .spawn("worker", async move { signal.triggered().await })?;
            }
            if let Some(trigger) = behavior.fail_critical.clone() {
                ctx.tasks().spawn_critical("critical", async move {
                    trigger.notified().await;
                    Err::<(), _>("feed lost")
                })?;
            }
            if behavior.start_hangs {
                std::future::pending::<()>().await;
            }
            if behavior.start_waits_for_stop {
                ctx.stop_signal().await;
                log.push(format!("start {name} gave up"));
                return Err("stop requested during start".into());
            }
            if behavior.start_panics {
                panic!("boom in start");
            }
            if behavior.start_fails {
                return Err("refused by venue".into());
            }
            Ok(())
        }))
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let name = self.name().to_owned();
        let log = self.log.clone();
        let hangs = self.behavior.stop_hangs;
        Box::pin(self.lifecycle.stop(deadline, move |_ctx| async move {
            log.push(format!("stop {name}"));
            if hangs {
                std::future::pending::<()>().await;
            }
            StopDetails::new()
        }))
    }
}

/// A resource that breaks the contract: it starts at once, and its stop never returns (it
/// ignores its deadline altogether).
pub struct NeverStops(StateCell);

impl NeverStops {
    pub fn new(name: &str) -> Arc<Self> {
        Arc::new(Self(StateCell::new(name)))
    }
}

impl AsyncResource for NeverStops {
    fn name(&self) -> &str {
        self.0.component()
    }
    fn state(&self) -> LifecycleState {
        self.0.get()
    }
    fn watch_state(&self) -> StateWatcher {
        self.0.watch()
    }
    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        Box::pin(async { Ok(()) })
    }
    fn stop(&self, _deadline: Instant) -> BoxFuture<'_, StopReport> {
        Box::pin(std::future::pending())
    }
}

type StartScript = Box<dyn Fn() -> BoxFuture<'static, Result<(), StartError>> + Send + Sync>;
type StopScript = Box<dyn Fn(Instant) -> BoxFuture<'static, ()> + Send + Sync>;

/// A resource that runs the futures it is given as its start and its stop, deaf to its
/// deadline: for tests that need a start or stop to begin, hang or return exactly when they
/// say. Its state goes `Starting`, `Running` (or `Failed`), `Stopping`, `Stopped` around them.
pub struct Scripted {
    state: StateCell,
    start: StartScript,
    stop: StopScript,
    parts: Vec<InFlightStop>,
}

impl Scripted {
    /// Starts at once; its stop runs `stop(deadline)`.
    pub fn stopping<F>(name: &str, stop: impl Fn(Instant) -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Self {
            state: StateCell::new(name),
            start: Box::new(|| Box::pin(async { Ok(()) })),
            stop: Box::new(move |deadline| Box::pin(stop(deadline))),
            parts: Vec::new(),
        }
    }

    /// Its start runs `start()` instead.
    pub fn starting<F>(mut self, start: impl Fn() -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = Result<(), StartError>> + Send + 'static,
    {
        self.start = Box::new(move || Box::pin(start()));
        self
    }

    /// It reports these parts as in flight ([`AsyncResource::in_flight_parts`]).
    pub fn with_parts(mut self, parts: Vec<InFlightStop>) -> Self {
        self.parts = parts;
        self
    }

    pub fn build(self) -> Arc<Self> {
        Arc::new(self)
    }
}

impl AsyncResource for Scripted {
    fn name(&self) -> &str {
        self.state.component()
    }

    fn state(&self) -> LifecycleState {
        self.state.get()
    }

    fn watch_state(&self) -> StateWatcher {
        self.state.watch()
    }

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let started = (self.start)();
        Box::pin(async move {
            let _ = self.state.transition(StateTag::Created, StateTag::Starting);
            let result = started.await;
            let _ = match &result {
                Ok(()) => self.state.transition(StateTag::Starting, StateTag::Running),
                Err(error) => self.state.fail(
                    StateTag::Starting,
                    lifecycle_core::FailureCause::new(error.to_string()),
                ),
            };
            result
        })
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let stopped = (self.stop)(deadline);
        Box::pin(async move {
            let begun = Instant::now();
            let _ = self.state.transition(StateTag::Running, StateTag::Stopping);
            stopped.await;
            let _ = self.state.transition(StateTag::Stopping, StateTag::Stopped);
            StopReport::new(
                self.name(),
                begun.elapsed(),
                None,
                None,
                StopDetails::new(),
                false,
            )
        })
    }

    fn in_flight_parts(&self) -> Vec<InFlightStop> {
        self.parts.clone()
    }
}

/// Tells whoever waits on it when it is dropped (a future that holds it was cancelled, or
/// ended).
pub struct DropSignal(Option<tokio::sync::oneshot::Sender<()>>);

impl DropSignal {
    pub fn new() -> (Self, tokio::sync::oneshot::Receiver<()>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (Self(Some(tx)), rx)
    }
}

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}
