//! A property-based model test of `DependencyAwareShutdown`: random sets of 1-30 resources over
//! the five priorities, a random "uses" DAG, random own deadlines and budgets, and random
//! behaviour at start (ok, error, panic, slow) and at stop (quick, slow within its deadline,
//! ignores its deadline, never returns, panics, errors; and `Lifecycle`-based resources whose
//! hook is quick, hangs or panics). Each case runs `start_all`, then `shutdown_all`, on a paused
//! clock, and checks every invariant of the orchestrator's contract.
//!
//! 256 cases by default; `QUIESCE_PROPTEST_CASES` raises it for a soak and
//! `QUIESCE_PROPTEST_SEED` replays a printed seed.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lifecycle_core::{
    AsyncResource, BoxFuture, DependencyAwareShutdown, FailureCause, Lifecycle, LifecycleState,
    ShutdownPriority, ShutdownReport, StartError, StateCell, StateTag, StateWatcher, StopDetails,
    StopOutcome, StopReport,
};
use proptest::prelude::*;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Ok,
    Error,
    Panic,
    Slow(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Quick,
    /// Returns after this percentage of the time left to its deadline.
    SlowWithin(u64),
    /// Returns an hour after its deadline.
    IgnoresDeadline,
    NeverReturns,
    Panics,
    Errors,
    /// A `Lifecycle`-based resource whose stop hook is quick.
    ManagedQuick,
    /// A `Lifecycle`-based resource whose stop hook never returns.
    ManagedHookHangs,
    /// A `Lifecycle`-based resource whose stop hook panics.
    ManagedHookPanics,
}

impl Stop {
    fn managed(self) -> bool {
        matches!(
            self,
            Self::ManagedQuick | Self::ManagedHookHangs | Self::ManagedHookPanics
        )
    }

    fn abandons(self) -> bool {
        matches!(self, Self::IgnoresDeadline | Self::NeverReturns)
    }
}

#[derive(Debug, Clone)]
struct Spec {
    priority: ShutdownPriority,
    start: Start,
    stop: Stop,
    own_deadline_ms: Option<u64>,
}

#[derive(Debug, Clone)]
struct Case {
    specs: Vec<Spec>,
    /// (user, used) by index.
    edges: Vec<(usize, usize)>,
    total_ms: u64,
}

fn spec() -> impl Strategy<Value = Spec> {
    let start = prop_oneof![
        14 => Just(Start::Ok),
        1 => Just(Start::Error),
        1 => Just(Start::Panic),
        2 => (0u64..200).prop_map(Start::Slow),
    ];
    let stop = prop_oneof![
        4 => Just(Stop::Quick),
        3 => (0u64..=90).prop_map(Stop::SlowWithin),
        1 => Just(Stop::IgnoresDeadline),
        1 => Just(Stop::NeverReturns),
        1 => Just(Stop::Panics),
        1 => Just(Stop::Errors),
        3 => Just(Stop::ManagedQuick),
        1 => Just(Stop::ManagedHookHangs),
        1 => Just(Stop::ManagedHookPanics),
    ];
    (
        0usize..5,
        start,
        stop,
        proptest::option::weighted(0.2, 1u64..3_000),
    )
        .prop_map(|(priority, start, stop, own_deadline_ms)| Spec {
            priority: ShutdownPriority::ALL[priority],
            start,
            stop,
            own_deadline_ms,
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(spec(), 1..=30),
        proptest::collection::vec((0usize..30, 0usize..30), 0..45),
        50u64..10_000,
    )
        .prop_map(|(specs, pairs, total_ms)| {
            // Every edge goes from the smaller (priority, index) to the larger: acyclic, and a
            // user is never in a later phase than what it uses.
            let key = |i: usize| (specs[i].priority, i);
            let mut edges: Vec<(usize, usize)> = pairs
                .into_iter()
                .filter(|(a, b)| a != b && *a < specs.len() && *b < specs.len())
                .map(|(a, b)| if key(a) < key(b) { (a, b) } else { (b, a) })
                .collect();
            edges.sort_unstable();
            edges.dedup();
            Case {
                specs,
                edges,
                total_ms,
            }
        })
}

/// What happened, in order (a global sequence number orders events of the same instant).
#[derive(Default)]
struct Recorder {
    seq: AtomicU64,
    log: Mutex<Vec<Event>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    StartBegin,
    StartEnd,
    StopCalled { deadline: Instant, at: Instant },
    StopEnd { at: Instant },
}

#[derive(Debug, Clone, Copy)]
struct Event {
    seq: u64,
    resource: usize,
    kind: Kind,
}

impl Recorder {
    fn record(&self, resource: usize, kind: Kind) {
        let mut log = self.log.lock().unwrap();
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        log.push(Event {
            seq,
            resource,
            kind,
        });
    }

    fn events(&self) -> Vec<Event> {
        self.log.lock().unwrap().clone()
    }
}

/// A model resource: a raw `AsyncResource` that does exactly what its spec says (even break
/// the contract), or a `Lifecycle`-based one.
struct Model {
    index: usize,
    name: String,
    spec: Spec,
    cell: StateCell,
    lifecycle: Lifecycle,
    recorder: Arc<Recorder>,
    start_calls: AtomicU32,
    stop_calls: AtomicU32,
}

impl Model {
    fn new(index: usize, spec: Spec, recorder: Arc<Recorder>) -> Arc<Self> {
        let name = format!("r{index}");
        Arc::new(Self {
            index,
            cell: StateCell::new(name.clone()),
            lifecycle: Lifecycle::builder(name.clone())
                .grace(Duration::from_millis(50))
                .abort_wait(Duration::from_millis(10))
                .build(),
            name,
            spec,
            recorder,
            start_calls: AtomicU32::new(0),
            stop_calls: AtomicU32::new(0),
        })
    }

    async fn behave_at_start(start: Start) -> Result<(), String> {
        match start {
            Start::Ok => Ok(()),
            Start::Error => Err("refused".to_owned()),
            Start::Panic => panic!("start exploded"),
            Start::Slow(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(())
            }
        }
    }
}

impl AsyncResource for Model {
    fn name(&self) -> &str {
        &self.name
    }

    fn state(&self) -> LifecycleState {
        if self.spec.stop.managed() {
            self.lifecycle.state()
        } else {
            self.cell.get()
        }
    }

    fn watch_state(&self) -> StateWatcher {
        if self.spec.stop.managed() {
            self.lifecycle.watch()
        } else {
            self.cell.watch()
        }
    }

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        self.start_calls.fetch_add(1, Ordering::SeqCst);
        self.recorder.record(self.index, Kind::StartBegin);
        let start = self.spec.start;
        Box::pin(async move {
            let result = if self.spec.stop.managed() {
                self.lifecycle
                    .start(|ctx| async move {
                        let signal = ctx.tasks().signal().clone();
                        ctx.tasks()
                            .spawn("worker", async move { signal.triggered().await })?;
                        Self::behave_at_start(start).await.map_err(Into::into)
                    })
                    .await
            } else {
                self.cell
                    .transition(StateTag::Created, StateTag::Starting)
                    .unwrap();
                match Self::behave_at_start(start).await {
                    Ok(()) => {
                        self.cell
                            .transition(StateTag::Starting, StateTag::Running)
                            .unwrap();
                        Ok(())
                    }
                    Err(message) => {
                        let cause = FailureCause::new(message);
                        self.cell.fail(StateTag::Starting, cause.clone()).unwrap();
                        Err(StartError::Failed {
                            component: self.name.clone(),
                            cause,
                        })
                    }
                }
            };
            self.recorder.record(self.index, Kind::StartEnd);
            result
        })
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        self.stop_calls.fetch_add(1, Ordering::SeqCst);
        let at = Instant::now();
        self.recorder
            .record(self.index, Kind::StopCalled { deadline, at });
        let stop = self.spec.stop;
        Box::pin(async move {
            // A panicking stop has ended too (an aborted one has not).
            let _ended_by_panic = PanicEnd {
                recorder: &self.recorder,
                resource: self.index,
            };
            let report = if stop.managed() {
                self.lifecycle
                    .stop(deadline, move |_ctx| async move {
                        match stop {
                            Stop::ManagedHookHangs => std::future::pending().await,
                            Stop::ManagedHookPanics => panic!("stop hook exploded"),
                            _ => StopDetails::new(),
                        }
                    })
                    .await
            } else {
                let from = self.cell.tag();
                if from == StateTag::Created {
                    self.recorder
                        .record(self.index, Kind::StopEnd { at: Instant::now() });
                    return StopReport::not_started(self.name.clone());
                }
                self.cell.transition(from, StateTag::Stopping).unwrap();
                let mut details = StopDetails::new();
                match stop {
                    Stop::SlowWithin(percent) => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        tokio::time::sleep(left * u32::try_from(percent).unwrap() / 100).await;
                    }
                    Stop::IgnoresDeadline => {
                        tokio::time::sleep_until(deadline + Duration::from_secs(3600)).await;
                    }
                    Stop::NeverReturns => std::future::pending().await,
                    Stop::Panics => panic!("stop exploded"),
                    Stop::Errors => details = details.error("venue refused the close"),
                    _ => {}
                }
                self.cell
                    .transition(StateTag::Stopping, StateTag::Stopped)
                    .unwrap();
                StopReport::new(
                    self.name.clone(),
                    Duration::ZERO,
                    self.cell.failure(),
                    None,
                    details,
                    false,
                )
            };
            self.recorder
                .record(self.index, Kind::StopEnd { at: Instant::now() });
            report
        })
    }
}

/// Records the end of a stop that unwinds.
struct PanicEnd<'a> {
    recorder: &'a Recorder,
    resource: usize,
}

impl Drop for PanicEnd<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.recorder
                .record(self.resource, Kind::StopEnd { at: Instant::now() });
        }
    }
}

struct World {
    case: Case,
    models: Vec<Arc<Model>>,
    recorder: Arc<Recorder>,
    system: DependencyAwareShutdown,
}

impl World {
    fn new(case: Case) -> Self {
        let recorder = Arc::new(Recorder::default());
        let models: Vec<Arc<Model>> = case
            .specs
            .iter()
            .enumerate()
            .map(|(i, spec)| Model::new(i, spec.clone(), recorder.clone()))
            .collect();
        let mut system = DependencyAwareShutdown::new("model");
        system.set_rollback_budget(Duration::from_millis(case.total_ms));
        let ids: Vec<_> = models
            .iter()
            .map(|m| system.register(m.clone(), m.spec.priority))
            .collect();
        for (i, spec) in case.specs.iter().enumerate() {
            if let Some(ms) = spec.own_deadline_ms {
                system
                    .set_deadline(ids[i], Duration::from_millis(ms))
                    .unwrap();
            }
        }
        for (user, used) in &case.edges {
            system.add_dependency(ids[*user], ids[*used]).unwrap();
        }
        Self {
            case,
            models,
            recorder,
            system,
        }
    }

    fn first(
        &self,
        events: &[Event],
        resource: usize,
        pick: impl Fn(&Kind) -> bool,
    ) -> Option<Event> {
        events
            .iter()
            .find(|e| e.resource == resource && pick(&e.kind))
            .copied()
    }

    /// The invariants of `start_all`.
    fn check_start(&self, result: &Result<(), lifecycle_core::StartAllError>) {
        let events = self.recorder.events();
        let start_begin = |i| self.first(&events, i, |k| *k == Kind::StartBegin);
        let start_end = |i| self.first(&events, i, |k| *k == Kind::StartEnd);
        for model in &self.models {
            assert!(
                model.start_calls.load(Ordering::SeqCst) <= 1,
                "{} started twice",
                model.name
            );
        }
        // What a resource uses has started (successfully) before it begins to start.
        for (user, used) in &self.case.edges {
            if let Some(begin) = start_begin(*user) {
                let end = start_end(*used)
                    .unwrap_or_else(|| panic!("r{user} started before r{used} finished starting"));
                assert!(
                    end.seq < begin.seq,
                    "r{user} began to start before r{used} was up"
                );
                assert!(
                    self.models[*used].spec.start != Start::Error
                        && self.models[*used].spec.start != Start::Panic,
                    "r{user} started although r{used} failed to start"
                );
            }
        }
        // Phases start in reverse shutdown order, one after the other.
        for a in &self.models {
            for b in &self.models {
                if a.spec.priority < b.spec.priority
                    && let (Some(a_begin), Some(b_end)) = (start_begin(a.index), start_end(b.index))
                {
                    assert!(
                        b_end.seq < a_begin.seq,
                        "{} started before {} of a later phase was up",
                        a.name,
                        b.name
                    );
                }
            }
        }
        match result {
            Ok(()) => {
                for model in &self.models {
                    assert_eq!(
                        model.state(),
                        LifecycleState::Running,
                        "{} not running",
                        model.name
                    );
                }
            }
            Err(error) => {
                assert!(!error.failures.is_empty());
                for model in &self.models {
                    assert!(
                        !model.is_running(),
                        "{} still running after a failed start",
                        model.name
                    );
                }
            }
        }
    }

    /// The invariants of one shutdown (`shutdown_all`, or a failed start's rollback) that
    /// began with `calls_before` stop calls per resource and took `elapsed`.
    fn check_shutdown(
        &self,
        report: &ShutdownReport,
        calls_before: &[u32],
        elapsed: Duration,
        since_seq: u64,
    ) {
        let budget = Duration::from_millis(self.case.total_ms);
        assert!(
            elapsed <= budget + DependencyAwareShutdown::CONTRACT_SLACK,
            "shutdown took {elapsed:?} of a {budget:?} budget\n{report}"
        );
        let phases: Duration = report.phases.iter().map(|p| p.duration).sum();
        assert!(
            phases <= report.duration,
            "phases add up to {phases:?}\n{report}"
        );
        assert!(report.duration <= elapsed);

        let events: Vec<Event> = self
            .recorder
            .events()
            .into_iter()
            .filter(|e| e.seq >= since_seq)
            .collect();
        let called = |i| self.first(&events, i, |k| matches!(k, Kind::StopCalled { .. }));
        let ended = |i| self.first(&events, i, |k| matches!(k, Kind::StopEnd { .. }));
        let mut names = HashSet::new();
        for entry in report.resources() {
            assert!(
                names.insert(entry.name.to_string()),
                "{} reported twice",
                entry.name
            );
        }
        for model in &self.models {
            // Called exactly once in this shutdown.
            let calls = model.stop_calls.load(Ordering::SeqCst) - calls_before[model.index];
            assert_eq!(calls, 1, "{} stopped {calls} times\n{report}", model.name);
            let entry = report
                .resource(&model.name)
                .unwrap_or_else(|| panic!("{} missing from the report\n{report}", model.name));
            assert_eq!(entry.priority, model.spec.priority);
            self.check_outcome(model, entry, &events);
        }
        // Users first, as long as they keep their deadline; a broken order is reported.
        for (user, used) in &self.case.edges {
            let used_entry = report.resource(&self.models[*used].name).unwrap();
            let used_called = called(*used).unwrap();
            let broken = used_entry
                .stopped_before_users
                .iter()
                .any(|u| **u == *self.models[*user].name);
            let same_phase = self.models[*user].spec.priority == self.models[*used].spec.priority;
            // Unless the broken order is reported, the user had returned before (or, in an
            // earlier phase, was given up on and cancelled before this phase began).
            let user_abandoned = report
                .resource(&self.models[*user].name)
                .unwrap()
                .abandoned();
            if !broken && (!user_abandoned || same_phase) {
                let user_end = ended(*user).unwrap_or_else(|| {
                    panic!("r{used} stopped while its user r{user} never returned, unreported\n{report}")
                });
                assert!(
                    user_end.seq < used_called.seq,
                    "r{used} stopped before its user r{user} returned, unreported\n{report}"
                );
            }
            assert!(
                !broken || same_phase,
                "a broken order across phases\n{report}"
            );
            // A user that returns by its deadline never loses its order.
            if let Some(Event {
                kind: Kind::StopCalled { deadline, .. },
                ..
            }) = called(*user)
                && let Some(Event {
                    kind: Kind::StopEnd { at: end },
                    ..
                }) = ended(*user)
                && end <= deadline
            {
                assert!(
                    !broken,
                    "r{user} returned in time, yet r{used}'s order was broken\n{report}"
                );
            }
        }
        // Phases one after the other.
        for a in &self.models {
            for b in &self.models {
                if a.spec.priority < b.spec.priority {
                    assert!(
                        called(a.index).unwrap().seq < called(b.index).unwrap().seq,
                        "{} (later phase) stopped before {}\n{report}",
                        b.name,
                        a.name
                    );
                }
            }
        }
    }

    fn check_outcome(
        &self,
        model: &Model,
        entry: &lifecycle_core::ResourceReport,
        events: &[Event],
    ) {
        let started = model.start_calls.load(Ordering::SeqCst) > 0;
        let Some(Event {
            kind: Kind::StopCalled { deadline, at },
            ..
        }) = self.first(events, model.index, |k| {
            matches!(k, Kind::StopCalled { .. })
        })
        else {
            panic!("{} never stopped", model.name);
        };
        let had_time = deadline > at;
        let failed_start = matches!(model.spec.start, Start::Error)
            || (model.spec.stop.managed() && model.spec.start == Start::Panic);
        if !started {
            assert_eq!(
                entry.outcome,
                StopOutcome::NotStarted,
                "{}: {entry:?}",
                model.name
            );
            return;
        }
        let behaviour = match model.spec.stop {
            Stop::Quick | Stop::SlowWithin(_) | Stop::ManagedQuick => StopOutcome::Clean,
            Stop::Errors | Stop::Panics | Stop::ManagedHookPanics => StopOutcome::Failed,
            Stop::IgnoresDeadline | Stop::NeverReturns | Stop::ManagedHookHangs => {
                StopOutcome::Incomplete
            }
        };
        let expected = if failed_start {
            behaviour.max(StopOutcome::Failed)
        } else {
            behaviour
        };
        if model.spec.stop.managed() && !had_time {
            // No time at all: a `Lifecycle` cannot wait even for its own task.
            assert!(
                entry.outcome >= expected,
                "{}: {:?} < {expected:?}",
                model.name,
                entry.outcome
            );
        } else {
            assert_eq!(
                entry.outcome, expected,
                "{} ({:?}): {entry:?}",
                model.name, model.spec
            );
        }
        assert_eq!(
            entry.abandoned(),
            model.spec.stop.abandons(),
            "{} ({:?}) abandoned: {}",
            model.name,
            model.spec.stop,
            entry.abandoned()
        );
        if model.spec.stop == Stop::Panics {
            let report = entry.report.as_ref().unwrap();
            assert!(
                report
                    .details
                    .errors
                    .iter()
                    .any(|e| e.contains("stop panicked")),
                "{report:?}"
            );
        }
    }

    async fn in_flight_empties(&self) {
        let limit = Instant::now() + Duration::from_secs(1);
        while !self.system.in_flight().is_empty() {
            assert!(
                Instant::now() < limit,
                "still in flight: {:?}",
                self.system.in_flight()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn stop_calls(&self) -> Vec<u32> {
        self.models
            .iter()
            .map(|m| m.stop_calls.load(Ordering::SeqCst))
            .collect()
    }
}

async fn run_case(case: Case) {
    let world = World::new(case);
    let before = world.stop_calls();
    let seq = world.recorder.seq.load(Ordering::SeqCst);
    let started = world.system.start_all().await;
    world.check_start(&started);
    match &started {
        Err(error) => {
            // The rollback is a shutdown of its own.
            world.check_shutdown(&error.rollback, &before, error.rollback.duration, seq);
        }
        Ok(()) => {
            let before = world.stop_calls();
            let seq = world.recorder.seq.load(Ordering::SeqCst);
            let begun = Instant::now();
            let report = world
                .system
                .shutdown_all(Duration::from_millis(world.case.total_ms))
                .await;
            world.check_shutdown(&report, &before, begun.elapsed(), seq);
        }
    }
    world.in_flight_empties().await;
}

proptest! {
    #![proptest_config(common::search::config("orchestrator_properties", 256))]

    #[test]
    fn the_orchestrator_keeps_its_contract_whatever_the_resources_do(case in case()) {
        common::search::quiet_planned_panics("exploded");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(lifecycle_core::testing::within(Duration::from_secs(3_600), run_case(case)));
    }
}
