//! Property tests of TaskManager: random sets of tasks (normal, critical, supervised; each
//! finishing, cooperating, ignoring the signal, blocking its thread, panicking or failing)
//! under random timings, checked against what must hold whatever they do:
//!
//! - `shutdown` returns by its deadline (on the paused clock exactly, on the real clock within
//!   [`REAL_CLOCK_SLACK`]);
//! - every task is accounted for exactly once: the counts and the stuck tasks add up to the
//!   tasks spawned, and with `record_every_task` each task has exactly one record;
//! - a critical failure reaches the owner exactly once, through `on_critical_failure` and
//!   `critical_failure()` alike, and only a critical failure before the shutdown does.
//!
//! On the paused clock the outcome of every task is also predicted and checked.
//!
//! Cases: 256 per property by default; the environment variable `QUIESCE_PROPTEST_CASES`
//! raises it for a soak (for example `QUIESCE_PROPTEST_CASES=20000 cargo test -p
//! lifecycle-core --test task_manager_properties`). A failure prints the minimal failing case
//! and the run's seed; `QUIESCE_PROPTEST_SEED` replays it.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lifecycle_core::{
    Backoff, RestartPolicy, ShutdownSignal, TaskCounts, TaskId, TaskManager, TaskOutcome,
    TaskShutdownReport, TaskSpawner,
};
use proptest::prelude::*;
use tokio::time::Instant;

/// How far past its deadline a shutdown on the real clock may return: a loaded 2-core machine
/// can deschedule the shutdown's thread for that long (the bound proves the deadline is not
/// ignored, not that the scheduler is prompt).
const REAL_CLOCK_SLACK: Duration = Duration::from_millis(250);
/// The longest a task of the real-clock property blocks its thread.
const MAX_BLOCK_MS: u64 = 4;
const PANIC_MESSAGE: &str = "planned panic";
const FAILURE_MESSAGE: &str = "planned failure";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Critical,
    /// Restarted `restarts` times at most, `backoff_ms` apart, within a long window.
    Supervised {
        restarts: u32,
        backoff_ms: u64,
    },
}

impl Kind {
    fn is_critical(self) -> bool {
        !matches!(self, Kind::Normal)
    }
}

/// What one attempt of a task does. Times are in ms of the task's life (from its spawn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Returns `Ok` after this long, ignoring the signal.
    Finish(u64),
    /// Waits for the signal, cleans up for this long (plus [`COOPERATE_OFFSET`] on the paused
    /// clock), returns `Ok`.
    Cooperate(u64),
    /// Never returns: only an abort ends it.
    IgnoreSignal,
    /// Panics after this long.
    Panic(u64),
    /// Returns an error after this long.
    Fail(u64),
    /// Blocks its thread this long in its first poll, then cooperates (real clock only).
    BlockFirst(u64),
    /// Waits for the signal, then blocks its thread this long (real clock only).
    BlockAfterSignal(u64),
}

impl Behaviour {
    fn name(self) -> &'static str {
        match self {
            Behaviour::Finish(_) => "finish",
            Behaviour::Cooperate(_) => "cooperate",
            Behaviour::IgnoreSignal => "ignore-signal",
            Behaviour::Panic(_) => "panic",
            Behaviour::Fail(_) => "fail",
            Behaviour::BlockFirst(_) => "block-first",
            Behaviour::BlockAfterSignal(_) => "block-after-signal",
        }
    }

    fn fails(self) -> bool {
        matches!(self, Behaviour::Panic(_) | Behaviour::Fail(_))
    }

    fn blocks(self) -> bool {
        matches!(
            self,
            Behaviour::BlockFirst(_) | Behaviour::BlockAfterSignal(_)
        )
    }
}

/// Puts the end of a cooperative task on the paused clock at 4k + 3 ms.
const COOPERATE_OFFSET: Duration = Duration::from_millis(2);

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

async fn attempt(behaviour: Behaviour, signal: ShutdownSignal, paused: bool) -> Result<(), String> {
    match behaviour {
        Behaviour::Finish(t) => tokio::time::sleep(ms(t)).await,
        Behaviour::Cooperate(t) => {
            signal.triggered().await;
            let offset = if paused {
                COOPERATE_OFFSET
            } else {
                Duration::ZERO
            };
            tokio::time::sleep(ms(t) + offset).await;
        }
        Behaviour::IgnoreSignal => std::future::pending::<()>().await,
        Behaviour::Panic(t) => {
            tokio::time::sleep(ms(t)).await;
            std::panic::panic_any(PANIC_MESSAGE);
        }
        Behaviour::Fail(t) => {
            tokio::time::sleep(ms(t)).await;
            return Err(FAILURE_MESSAGE.to_owned());
        }
        Behaviour::BlockFirst(t) => {
            std::thread::sleep(ms(t));
            signal.triggered().await;
        }
        Behaviour::BlockAfterSignal(t) => {
            signal.triggered().await;
            std::thread::sleep(ms(t));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct TaskSpec {
    kind: Kind,
    behaviour: Behaviour,
}

#[derive(Debug, Clone)]
struct Scenario {
    tasks: Vec<TaskSpec>,
    /// How long the tasks run before the shutdown (plus 1 ms on the paused clock).
    run_ms: u64,
    grace_ms: u64,
    abort_wait_ms: u64,
    /// The shutdown's deadline, from its start.
    deadline_ms: u64,
    record_every_task: bool,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        2 => Just(Kind::Normal),
        2 => Just(Kind::Critical),
        1 => (0u32..3, 0u64..15).prop_map(|(restarts, backoff_ms)| Kind::Supervised {
            restarts,
            backoff_ms
        }),
    ]
}

/// Paused-clock times are multiples of 4 ms (tokio's timers tick by the millisecond) and
/// each kind of instant has its own residue, so that no task's end ties with the shutdown's
/// start (4k + 1), its grace end (4k + 1) or a cooperative end (4k + 3): the outcome of every
/// task is then determined.
const TICK: u64 = 4;

fn paused_behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        (0u64..15).prop_map(|t| Behaviour::Finish(t * TICK)),
        (0u64..10).prop_map(|t| Behaviour::Cooperate(t * TICK)),
        Just(Behaviour::IgnoreSignal),
        (0u64..15).prop_map(|t| Behaviour::Panic(t * TICK)),
        (0u64..15).prop_map(|t| Behaviour::Fail(t * TICK)),
    ]
}

fn paused_kind() -> impl Strategy<Value = Kind> {
    kind().prop_map(|kind| match kind {
        Kind::Supervised {
            restarts,
            backoff_ms,
        } => Kind::Supervised {
            restarts,
            backoff_ms: backoff_ms / TICK * TICK,
        },
        other => other,
    })
}

/// A paused-clock scenario: the run, the grace, the abort wait and the deadline on the grid
/// (the deadline and the abort wait in multiples of 8 ms, so that half a budget is a tick).
fn paused_scenario() -> impl Strategy<Value = Scenario> {
    (
        proptest::collection::vec(
            (paused_kind(), paused_behaviour())
                .prop_map(|(kind, behaviour)| TaskSpec { kind, behaviour }),
            0..=12,
        ),
        0u64..12,
        1u64..10,
        0u64..3,
        1u64..10,
        any::<bool>(),
    )
        .prop_map(
            |(tasks, run, grace, abort_wait, deadline, record_every_task)| Scenario {
                tasks,
                run_ms: run * TICK,
                grace_ms: grace * TICK,
                abort_wait_ms: abort_wait * 2 * TICK,
                deadline_ms: deadline * 2 * TICK,
                record_every_task,
            },
        )
}

fn real_behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        (0u64..8).prop_map(Behaviour::Finish),
        (0u64..8).prop_map(Behaviour::Cooperate),
        Just(Behaviour::IgnoreSignal),
        (0u64..8).prop_map(Behaviour::Panic),
        (0u64..8).prop_map(Behaviour::Fail),
        (0..=MAX_BLOCK_MS).prop_map(Behaviour::BlockFirst),
        (0..=MAX_BLOCK_MS).prop_map(Behaviour::BlockAfterSignal),
    ]
}

/// A real-clock scenario: up to 8 tasks, short timings (a few ms), so a case takes a few ms.
fn real_scenario() -> impl Strategy<Value = Scenario> {
    (
        proptest::collection::vec(
            (kind(), real_behaviour()).prop_map(|(kind, behaviour)| TaskSpec { kind, behaviour }),
            0..=8,
        ),
        0u64..4,
        1u64..6,
        0u64..4,
        1u64..12,
        any::<bool>(),
    )
        .prop_map(
            |(tasks, run_ms, grace_ms, abort_wait_ms, deadline_ms, record_every_task)| Scenario {
                tasks,
                run_ms,
                grace_ms,
                abort_wait_ms,
                deadline_ms,
                record_every_task,
            },
        )
}

/// What the owner heard: every hook call, in order.
#[derive(Default, Clone)]
struct Owner(Arc<Mutex<Vec<TaskId>>>);

struct Started {
    tasks: TaskManager,
    ids: Vec<TaskId>,
    owner: Owner,
}

fn start(scenario: &Scenario, paused: bool) -> Started {
    let tasks = TaskManager::builder("property")
        .grace(ms(scenario.grace_ms))
        .abort_wait(ms(scenario.abort_wait_ms))
        .record_every_task(scenario.record_every_task)
        .build();
    let owner = Owner::default();
    let heard = owner.clone();
    assert!(
        tasks.on_critical_failure(move |failure| heard.0.lock().unwrap().push(failure.task.id))
    );
    let ids = scenario
        .tasks
        .iter()
        .map(|spec| spawn(&tasks.spawner(), *spec, paused))
        .collect();
    Started { tasks, ids, owner }
}

fn spawn(spawner: &TaskSpawner, spec: TaskSpec, paused: bool) -> TaskId {
    let signal = spawner.signal().clone();
    let name = spec.behaviour.name();
    let behaviour = spec.behaviour;
    match spec.kind {
        Kind::Normal => spawner.spawn(name, attempt(behaviour, signal, paused)),
        Kind::Critical => spawner.spawn_critical(name, attempt(behaviour, signal, paused)),
        Kind::Supervised {
            restarts,
            backoff_ms,
        } => spawner.spawn_supervised(
            name,
            RestartPolicy::new()
                .max_restarts(restarts, Duration::from_secs(3600))
                .backoff(Backoff::new(ms(backoff_ms), ms(backoff_ms))),
            move || attempt(behaviour, signal.clone(), paused),
        ),
    }
    .unwrap()
}

/// A task's outcome as predicted on the paused clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Finished,
    Stopped,
    Aborted,
    Panicked,
    Failed,
}

/// The predicted end of one task: outcome, when (None: at the abort), whether it escalates,
/// and the restarts it performs.
#[derive(Debug)]
struct Prediction {
    outcome: Expected,
    ends_at: Option<Duration>,
    escalates: bool,
    restarts: u64,
}

/// Predicts a task's end on the paused clock, with the shutdown starting at `start` and its
/// grace ending at `grace_end` (no task's natural end ties with either).
fn predict(spec: TaskSpec, start: Duration, grace_end: Duration) -> Prediction {
    let ends = |at: Duration, ok: Expected, before_signal: Expected| -> Prediction {
        if at < start {
            Prediction {
                outcome: before_signal,
                ends_at: Some(at),
                escalates: spec.kind.is_critical()
                    && matches!(before_signal, Expected::Panicked | Expected::Failed),
                restarts: 0,
            }
        } else if at < grace_end {
            Prediction {
                outcome: ok,
                ends_at: Some(at),
                escalates: false,
                restarts: 0,
            }
        } else {
            aborted()
        }
    };
    if let (
        Kind::Supervised {
            restarts,
            backoff_ms,
        },
        true,
    ) = (spec.kind, spec.behaviour.fails())
    {
        let (Behaviour::Panic(t) | Behaviour::Fail(t)) = spec.behaviour else {
            unreachable!()
        };
        return predict_supervised(ms(t), restarts, ms(backoff_ms), start, grace_end);
    }
    match spec.behaviour {
        Behaviour::Finish(t) => ends(ms(t), Expected::Stopped, Expected::Finished),
        Behaviour::Cooperate(t) => ends(
            start + ms(t) + COOPERATE_OFFSET,
            Expected::Stopped,
            Expected::Stopped,
        ),
        Behaviour::IgnoreSignal => aborted(),
        Behaviour::Panic(t) => ends(ms(t), Expected::Panicked, Expected::Panicked),
        Behaviour::Fail(t) => ends(ms(t), Expected::Failed, Expected::Failed),
        Behaviour::BlockFirst(_) | Behaviour::BlockAfterSignal(_) => {
            unreachable!("blocking tasks run on the real clock only")
        }
    }
}

fn aborted() -> Prediction {
    Prediction {
        outcome: Expected::Aborted,
        ends_at: None,
        escalates: false,
        restarts: 0,
    }
}

/// A supervised task whose every attempt fails after `fails_after`.
fn predict_supervised(
    fails_after: Duration,
    max_restarts: u32,
    backoff: Duration,
    start: Duration,
    grace_end: Duration,
) -> Prediction {
    let mut attempt_start = Duration::ZERO;
    let mut restarts = 0;
    loop {
        if start < attempt_start {
            // The signal comes during the backoff: the supervisor returns at once.
            return Prediction {
                outcome: Expected::Stopped,
                ends_at: Some(start),
                escalates: false,
                restarts,
            };
        }
        let failure = attempt_start + fails_after;
        if start < failure {
            // The attempt fails after the signal: the supervisor returns `Ok` then.
            return if failure < grace_end {
                Prediction {
                    outcome: Expected::Stopped,
                    ends_at: Some(failure),
                    escalates: false,
                    restarts,
                }
            } else {
                Prediction {
                    restarts,
                    ..aborted()
                }
            };
        }
        if restarts == u64::from(max_restarts) {
            return Prediction {
                outcome: Expected::Failed,
                ends_at: Some(failure),
                escalates: true,
                restarts,
            };
        }
        restarts += 1;
        attempt_start = failure + backoff;
    }
}

fn outcome_kind(outcome: &TaskOutcome) -> Option<Expected> {
    match outcome {
        TaskOutcome::Finished => Some(Expected::Finished),
        TaskOutcome::StoppedCooperatively => Some(Expected::Stopped),
        TaskOutcome::Aborted => Some(Expected::Aborted),
        TaskOutcome::Panicked(_) => Some(Expected::Panicked),
        TaskOutcome::Failed(_) => Some(Expected::Failed),
        TaskOutcome::Stuck { .. } => None,
    }
}

fn sum_of_ends(counts: &TaskCounts) -> u64 {
    counts.finished + counts.stopped + counts.aborted + counts.panicked + counts.failed
}

/// The invariants that hold on either clock, for the report taken right at the return.
fn check_accounting(
    scenario: &Scenario,
    started: &Started,
    report: &TaskShutdownReport,
    paused: bool,
) {
    let counts = report.counts;
    let spawned = scenario.tasks.len() as u64;
    assert_eq!(counts.spawned, spawned, "{report:?}");
    let stuck: Vec<_> = report.stuck().collect();
    // Every task is counted once: ended (in the counts) or still running (stuck).
    assert_eq!(
        sum_of_ends(&counts) + stuck.len() as u64,
        spawned,
        "{report:?}"
    );
    let mut seen = BTreeSet::new();
    for record in &report.records {
        assert!(
            seen.insert(record.id),
            "{:?} recorded twice: {report:?}",
            record.id
        );
        let index = started.ids.iter().position(|id| *id == record.id);
        let index = index.unwrap_or_else(|| panic!("unknown id in {record:?}"));
        let spec = scenario.tasks[index];
        assert_eq!(record.name.as_str(), spec.behaviour.name(), "{record:?}");
        assert_eq!(record.critical, spec.kind.is_critical(), "{record:?}");
        match &record.outcome {
            // On the paused clock only a blocked thread can be stuck (none blocks there); on
            // a busy real clock, an aborted task that no worker polled again before the
            // deadline is still running too (it ends later, see `run_real`).
            TaskOutcome::Stuck { .. } => assert!(
                spec.behaviour.blocks() || !paused,
                "only a blocked thread is stuck: {record:?}"
            ),
            TaskOutcome::Panicked(message) => assert_eq!(message, PANIC_MESSAGE),
            // A supervised task past its restart limit fails with its last attempt's message.
            TaskOutcome::Failed(message) => assert!(
                message.contains(FAILURE_MESSAGE) || message.contains(PANIC_MESSAGE),
                "{message}"
            ),
            _ => {}
        }
    }
    // The records of each abnormal kind match its count; the normal ones too when recorded.
    let recorded = |kind: Expected| {
        report
            .records
            .iter()
            .filter(|r| outcome_kind(&r.outcome) == Some(kind))
            .count() as u64
    };
    assert_eq!(recorded(Expected::Aborted), counts.aborted, "{report:?}");
    assert_eq!(recorded(Expected::Panicked), counts.panicked, "{report:?}");
    assert_eq!(recorded(Expected::Failed), counts.failed, "{report:?}");
    if scenario.record_every_task {
        assert_eq!(recorded(Expected::Finished), counts.finished, "{report:?}");
        assert_eq!(recorded(Expected::Stopped), counts.stopped, "{report:?}");
        assert_eq!(
            seen.len() as u64,
            spawned,
            "one record per task: {report:?}"
        );
    } else {
        assert_eq!(
            recorded(Expected::Finished) + recorded(Expected::Stopped),
            0
        );
    }
    assert_eq!(report.records_overflowed, 0);
    // Only the abort after the grace period aborts, or leaves tasks stuck.
    if counts.aborted > 0 || !stuck.is_empty() {
        assert!(report.needed_abort, "{report:?}");
    }
}

/// The owner heard each escalated task exactly once, and `critical_failure()` agrees.
async fn check_escalation(scenario: &Scenario, started: &Started) {
    let heard = started.owner.0.lock().unwrap().clone();
    let distinct: BTreeSet<_> = heard.iter().collect();
    assert_eq!(
        distinct.len(),
        heard.len(),
        "a failure reached the owner twice: {heard:?}"
    );
    for id in &heard {
        let index = started.ids.iter().position(|i| i == id).unwrap();
        let spec = scenario.tasks[index];
        assert!(
            spec.kind.is_critical() && spec.behaviour.fails(),
            "{spec:?} escalated"
        );
    }
    let watched = tokio::time::timeout(ms(1), started.tasks.critical_failure()).await;
    match heard.first() {
        Some(first) => assert_eq!(watched.unwrap().unwrap().task.id, *first),
        None => assert!(watched.is_err(), "critical_failure() without a hook call"),
    }
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

/// The paused clock: every task's outcome is predicted exactly.
fn run_paused(scenario: &Scenario) {
    common::search::quiet_planned_panics(PANIC_MESSAGE);
    paused_runtime().block_on(lifecycle_core::testing::within(
        Duration::from_secs(3600),
        async {
            let started = start(scenario, true);
            let epoch = Instant::now();
            let run = ms(scenario.run_ms + 1);
            tokio::time::sleep_until(epoch + run).await;
            let begun = Instant::now();
            let deadline = begun + ms(scenario.deadline_ms);
            let report = started.tasks.shutdown(deadline).await;
            let returned = Instant::now();
            assert!(
                returned <= deadline,
                "returned {:?} late",
                returned - deadline
            );

            // The grace end the manager uses, from the shutdown's start (see the builder's docs).
            let budget = ms(scenario.deadline_ms);
            let grace =
                ms(scenario.grace_ms).min(budget - ms(scenario.abort_wait_ms).min(budget / 2));
            let grace_end = run + grace;
            assert_eq!(started.tasks.grace_deadline(), Some(begun + grace));

            let predictions: Vec<_> = scenario
                .tasks
                .iter()
                .map(|spec| predict(*spec, run, grace_end))
                .collect();
            check_accounting(scenario, &started, &report, true);
            assert_eq!(
                report.stuck_count(),
                0,
                "nothing blocks on the paused clock"
            );

            let count =
                |kind: Expected| predictions.iter().filter(|p| p.outcome == kind).count() as u64;
            let expected_counts = TaskCounts {
                spawned: scenario.tasks.len() as u64,
                finished: count(Expected::Finished),
                stopped: count(Expected::Stopped),
                aborted: count(Expected::Aborted),
                panicked: count(Expected::Panicked),
                failed: count(Expected::Failed),
                restarts: predictions.iter().map(|p| p.restarts).sum(),
            };
            assert_eq!(
                report.counts, expected_counts,
                "{predictions:?}\n{report:?}"
            );
            let recorded: BTreeMap<TaskId, Option<Expected>> = report
                .records
                .iter()
                .map(|r| (r.id, outcome_kind(&r.outcome)))
                .collect();
            for (id, prediction) in started.ids.iter().zip(&predictions) {
                let normal = matches!(prediction.outcome, Expected::Finished | Expected::Stopped);
                if scenario.record_every_task || !normal {
                    assert_eq!(
                        recorded.get(id),
                        Some(&Some(prediction.outcome)),
                        "{id}: {prediction:?}"
                    );
                }
            }
            let aborts = count(Expected::Aborted) > 0;
            assert_eq!(report.needed_abort, aborts, "{report:?}");
            // The shutdown returns when the last task ends, or at the abort.
            let last_end = predictions
                .iter()
                .filter_map(|p| p.ends_at)
                .filter(|at| *at >= run)
                .max()
                .unwrap_or(run);
            let expected_return = if aborts { grace_end } else { last_end };
            assert_eq!(returned - epoch, expected_return, "{predictions:?}");

            let mut escalated: Vec<TaskId> = started
                .ids
                .iter()
                .zip(&predictions)
                .filter(|(_, p)| p.escalates)
                .map(|(id, _)| *id)
                .collect();
            let mut heard = started.owner.0.lock().unwrap().clone();
            escalated.sort();
            heard.sort();
            assert_eq!(heard, escalated, "{predictions:?}");
            check_escalation(scenario, &started).await;
            assert_eq!(started.tasks.active_tasks(), 0);
        },
    ));
}

fn real_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The real clock, with tasks that block their worker thread: only the invariants.
fn run_real(runtime: &tokio::runtime::Runtime, scenario: &Scenario) {
    common::search::quiet_planned_panics(PANIC_MESSAGE);
    runtime.block_on(lifecycle_core::testing::within(
        Duration::from_secs(30),
        async {
            let started = start(scenario, false);
            tokio::time::sleep(ms(scenario.run_ms)).await;
            let begun = Instant::now();
            let deadline = begun + ms(scenario.deadline_ms);
            let report = started.tasks.shutdown(deadline).await;
            let returned = Instant::now();
            assert!(
                returned <= deadline + REAL_CLOCK_SLACK,
                "returned {:?} after its deadline",
                returned - deadline
            );
            check_accounting(scenario, &started, &report, false);
            check_escalation(scenario, &started).await;
            // The stuck tasks end once unblocked, and are counted then.
            lifecycle_core::testing::assert_no_tasks(&started.tasks, Duration::from_secs(10)).await;
            let counts = started.tasks.counts();
            assert_eq!(sum_of_ends(&counts), counts.spawned, "{counts:?}");
        },
    ));
}

proptest! {
    #![proptest_config(common::search::config("task_manager_properties", 256))]

    #[test]
    fn on_the_paused_clock_every_task_ends_as_predicted_by_the_deadline(
        scenario in paused_scenario()
    ) {
        run_paused(&scenario);
    }
}

proptest! {
    #![proptest_config(common::search::config("task_manager_properties", 256))]

    #[test]
    fn on_the_real_clock_with_blocking_tasks_shutdown_keeps_its_deadline_and_its_books(
        scenario in real_scenario()
    ) {
        static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
        run_real(RUNTIME.get_or_init(real_runtime), &scenario);
    }
}
