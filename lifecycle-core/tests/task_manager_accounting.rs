//! TaskManager accounting: what the counts, the records, the state queries and the abort say,
//! each checked against what the tasks really did.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::bounded;
use lifecycle_core::{
    Backoff, RestartPolicy, ShutdownSignal, TaskCounts, TaskManager, TaskOutcome,
};
use tokio::sync::{Barrier, oneshot};
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

/// Waits (bounded by the test's limit) until `tasks` has no live task.
async fn idle(tasks: &TaskManager) {
    lifecycle_core::testing::assert_no_tasks(tasks, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn without_record_every_task_tasks_that_end_well_are_counted_not_recorded() {
    bounded(async {
        let tasks = TaskManager::new("quiet");
        let (tx, rx) = oneshot::channel();
        tasks
            .spawn("early", async move { tx.send(()).unwrap() })
            .unwrap();
        rx.await.unwrap();
        idle(&tasks).await;
        let signal = tasks.signal().clone();
        tasks
            .spawn("late", async move { signal.triggered().await })
            .unwrap();
        let report = tasks.shutdown(Instant::now() + SECOND).await;
        assert_eq!(
            report.counts,
            TaskCounts {
                spawned: 2,
                finished: 1,
                stopped: 1,
                ..TaskCounts::default()
            }
        );
        assert!(report.records.is_empty(), "{report:?}");
        assert_eq!(report.records_overflowed, 0);
    })
    .await;
}

#[tokio::test]
async fn record_every_task_records_finished_and_stopped_tasks_by_name() {
    bounded(async {
        let tasks = TaskManager::builder("audited")
            .record_every_task(true)
            .build();
        let (tx, rx) = oneshot::channel();
        let early = tasks
            .spawn_critical("early", async move { tx.send(()).unwrap() })
            .unwrap();
        rx.await.unwrap();
        idle(&tasks).await;
        let signal = tasks.signal().clone();
        let late = tasks
            .spawn("late", async move { signal.triggered().await })
            .unwrap();
        let failing = tasks
            .spawn("failing", async { Err::<(), _>("no") })
            .unwrap();
        idle_but(&tasks, 1).await;
        let report = tasks.shutdown(Instant::now() + SECOND).await;
        let records: Vec<_> = report
            .records
            .iter()
            .map(|r| (r.id, r.name.as_str(), r.critical, r.outcome.clone()))
            .collect();
        assert_eq!(
            records,
            vec![
                (early, "early", true, TaskOutcome::Finished),
                (failing, "failing", false, TaskOutcome::Failed("no".into())),
                (late, "late", false, TaskOutcome::StoppedCooperatively),
            ]
        );
        assert_eq!(report.counts.finished, 1);
        assert_eq!(report.counts.stopped, 1);
        assert_eq!(report.counts.failed, 1);
        // Normal records do not make a report unclean; the failure does.
        assert!(!report.is_clean());
        assert!(!TaskOutcome::Finished.is_abnormal());
        assert!(!TaskOutcome::StoppedCooperatively.is_abnormal());
    })
    .await;
}

/// Waits until exactly `live` tasks remain.
async fn idle_but(tasks: &TaskManager, live: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while tasks.active_tasks() != live {
        assert!(
            Instant::now() < deadline,
            "{} tasks live",
            tasks.active_tasks()
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn records_of_each_kind_are_capped_separately_and_the_rest_counted() {
    bounded(async {
        const CAP: usize = 4096;
        let tasks = TaskManager::builder("many").record_every_task(true).build();
        for _ in 0..CAP + 2 {
            tasks.spawn("fine", async {}).unwrap();
        }
        idle(&tasks).await;
        for _ in 0..CAP + 1 {
            tasks.spawn("bad", async { Err::<(), _>("x") }).unwrap();
        }
        idle(&tasks).await;
        let report = tasks.shutdown(Instant::now() + SECOND).await;
        let fine = report
            .records
            .iter()
            .filter(|r| r.outcome == TaskOutcome::Finished)
            .count();
        let bad = report
            .records
            .iter()
            .filter(|r| matches!(r.outcome, TaskOutcome::Failed(_)))
            .count();
        // Normal records filling their share do not crowd out the failures.
        assert_eq!((fine, bad), (CAP, CAP));
        assert_eq!(report.records_overflowed, 3);
        assert_eq!(report.counts.finished, (CAP + 2) as u64);
        assert_eq!(report.counts.failed, (CAP + 1) as u64);
    })
    .await;
}

#[tokio::test]
async fn is_shutting_down_turns_true_when_the_shutdown_begins() {
    bounded(async {
        let tasks = TaskManager::new("closing");
        let spawner = tasks.spawner();
        assert!(!spawner.is_shutting_down());
        // Triggering the signal alone does not close the manager.
        tasks.signal().trigger();
        assert!(!spawner.is_shutting_down());
        tasks.spawn("still-accepted", async {}).unwrap();
        tasks.begin_shutdown(Instant::now() + SECOND);
        assert!(spawner.is_shutting_down());
        assert!(tasks.spawn("refused", async {}).is_err());

        let aborted = TaskManager::new("aborted");
        assert!(!aborted.is_shutting_down());
        aborted.abort_all();
        assert!(aborted.is_shutting_down());
        assert!(aborted.signal().is_triggered());
        let _ = tasks.shutdown(Instant::now() + SECOND).await;
    })
    .await;
}

#[tokio::test]
async fn a_spawner_names_its_manager_and_debug_shows_its_state() {
    bounded(async {
        let tasks = TaskManager::new("feed-reader");
        let spawner = tasks.spawner();
        assert_eq!(spawner.name(), "feed-reader");
        let signal = tasks.signal().clone();
        spawner
            .spawn("t", async move { signal.triggered().await })
            .unwrap();
        let shown = format!("{tasks:?}");
        assert_eq!(
            shown,
            r#"TaskManager { name: "feed-reader", active_tasks: 1, shutting_down: false }"#
        );
        assert_eq!(format!("{spawner:?}"), shown);
        tasks.begin_shutdown(Instant::now() + SECOND);
        idle(&tasks).await;
        assert_eq!(
            format!("{spawner:?}"),
            r#"TaskManager { name: "feed-reader", active_tasks: 0, shutting_down: true }"#
        );
    })
    .await;
}

#[tokio::test]
async fn abort_all_returns_how_many_tasks_were_live_and_ends_them() {
    bounded(async {
        let tasks = TaskManager::new("abortable");
        for _ in 0..3 {
            tasks.spawn("deaf", std::future::pending::<()>()).unwrap();
        }
        // Let each park once, so its waker is in the registry.
        tokio::task::yield_now().await;
        assert_eq!(tasks.abort_all(), 3);
        idle(&tasks).await;
        assert_eq!(tasks.counts().aborted, 3);
        assert_eq!(tasks.abort_all(), 0);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_deadline_shorter_than_two_abort_waits_halves_between_grace_and_abort() {
    bounded(async {
        let tasks = TaskManager::builder("tight")
            .grace(Duration::from_secs(5))
            .abort_wait(Duration::from_millis(50))
            .build();
        let begun = Instant::now();
        tasks.begin_shutdown(begun + Duration::from_millis(60));
        // The abort wait keeps half of a 60 ms budget: the grace ends after 30 ms.
        assert_eq!(
            tasks.grace_deadline(),
            Some(begun + Duration::from_millis(30))
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_late_shutdown_does_not_move_the_grace_deadline_of_the_first() {
    bounded(async {
        let tasks = TaskManager::builder("first")
            .grace(Duration::from_millis(100))
            .build();
        let begun = Instant::now();
        tasks.begin_shutdown(begun + SECOND);
        tokio::time::advance(Duration::from_millis(10)).await;
        tasks.begin_shutdown(Instant::now() + SECOND);
        assert_eq!(
            tasks.grace_deadline(),
            Some(begun + Duration::from_millis(100))
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_add_up_for_tasks_spawned_from_many_threads() {
    bounded(async {
        const PER_THREAD: usize = 300;
        let tasks = TaskManager::new("spread");
        let start = Arc::new(Barrier::new(4));
        let mut spawners = Vec::new();
        for thread in 0..4 {
            let spawner = tasks.spawner();
            let start = start.clone();
            spawners.push(tokio::spawn(async move {
                start.wait().await;
                let mut ids = Vec::new();
                for i in 0..PER_THREAD {
                    let task = async move {
                        if (thread + i) % 3 == 0 {
                            Err("odd one")
                        } else {
                            Ok(())
                        }
                    };
                    ids.push(spawner.spawn("spread", task).unwrap());
                    if i % 50 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                ids
            }));
        }
        let mut ids = Vec::new();
        for spawner in spawners {
            ids.extend(spawner.await.unwrap());
        }
        idle(&tasks).await;
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 4 * PER_THREAD, "ids must be unique");
        let failing = (0..4)
            .flat_map(|t| (0..PER_THREAD).map(move |i| (t + i) % 3 == 0))
            .filter(|f| *f)
            .count() as u64;
        let counts = tasks.counts();
        assert_eq!(counts.spawned, (4 * PER_THREAD) as u64);
        assert_eq!(counts.failed, failing);
        assert_eq!(counts.finished, counts.spawned - failing);
        let _ = tasks.shutdown(Instant::now() + SECOND).await;
    })
    .await;
}

#[tokio::test]
async fn a_thread_spawning_more_tasks_than_a_segment_reuses_freed_slots() {
    bounded(async {
        let tasks = TaskManager::new("churn");
        // Waves of live tasks, each wave ended before the next: every task is listed while it
        // runs and forgotten after, whatever slot it had.
        for wave in 0..5 {
            let gate = ShutdownSignal::new();
            let size = 100 + wave * 150;
            for _ in 0..size {
                let gate = gate.clone();
                tasks
                    .spawn(
                        format!("wave-{wave}"),
                        async move { gate.triggered().await },
                    )
                    .unwrap();
            }
            tokio::task::yield_now().await;
            let running = tasks.running_tasks();
            assert_eq!(running.len(), size);
            assert!(
                running
                    .iter()
                    .all(|t| t.name.as_str() == format!("wave-{wave}"))
            );
            gate.trigger();
            idle(&tasks).await;
            assert!(tasks.running_tasks().is_empty());
        }
        assert_eq!(
            tasks.counts().finished,
            (0..5).map(|w| 100 + w * 150).sum::<u64>()
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn restart_on_success_restarts_an_attempt_that_ended_well() {
    bounded(async {
        let tasks = TaskManager::new("always-on");
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = attempts.clone();
        tasks
            .spawn_supervised(
                "loop",
                RestartPolicy::new()
                    .restart_on_success(true)
                    .max_restarts(2, Duration::from_secs(60))
                    .backoff(Backoff::new(
                        Duration::from_millis(10),
                        Duration::from_millis(10),
                    )),
                move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async { Ok::<(), &str>(()) }
                },
            )
            .unwrap();
        let failure = tasks.critical_failure().await.unwrap();
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
        assert!(
            failure.to_string().contains("last attempt completed"),
            "{failure}"
        );
        assert_eq!(tasks.counts().restarts, 2);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn by_default_an_attempt_that_ended_well_is_not_restarted() {
    bounded(async {
        let tasks = TaskManager::new("once");
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = attempts.clone();
        tasks
            .spawn_supervised("job", RestartPolicy::new(), move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { Ok::<(), &str>(()) }
            })
            .unwrap();
        idle(&tasks).await;
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
        let counts = tasks.counts();
        assert_eq!((counts.finished, counts.restarts), (1, 0));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_restart_exactly_one_window_old_still_counts_against_the_limit() {
    bounded(async {
        let tasks = TaskManager::new("window");
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = attempts.clone();
        // One restart per 100 ms window, and restarts 100 ms apart: the first restart is
        // exactly one window old at the second failure, so the limit is reached.
        tasks
            .spawn_supervised(
                "edge",
                RestartPolicy::new()
                    .max_restarts(1, Duration::from_millis(100))
                    .backoff(Backoff::new(
                        Duration::from_millis(100),
                        Duration::from_millis(100),
                    )),
                move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async { Err::<(), _>("down") }
                },
            )
            .unwrap();
        let failure = tasks.critical_failure().await.unwrap();
        assert_eq!(attempts.load(Ordering::SeqCst), 2, "{failure}");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn restarts_older_than_the_window_no_longer_count() {
    bounded(async {
        let tasks = TaskManager::new("slow-flap");
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = attempts.clone();
        let signal = tasks.signal().clone();
        // One restart per 100 ms window, failures 150 ms apart: never past the limit.
        tasks
            .spawn_supervised(
                "flap",
                RestartPolicy::new()
                    .max_restarts(1, Duration::from_millis(100))
                    .backoff(Backoff::new(
                        Duration::from_millis(150),
                        Duration::from_millis(150),
                    )),
                move || {
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    let signal = signal.clone();
                    async move {
                        if n < 5 {
                            Err("down")
                        } else {
                            signal.triggered().await;
                            Ok(())
                        }
                    }
                },
            )
            .unwrap();
        while attempts.load(Ordering::SeqCst) < 6 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(tasks.counts().restarts, 5);
        let report = tasks.shutdown(Instant::now() + SECOND).await;
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(report.counts.stopped, 1);
    })
    .await;
}

/// Holds a resource until dropped, and records how many tasks its manager counted as live at
/// that moment.
struct Held {
    tasks: lifecycle_core::TaskSpawner,
    live_at_drop: Arc<AtomicU32>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let live = u32::try_from(self.tasks.active_tasks()).unwrap();
        self.live_at_drop.store(live, Ordering::SeqCst);
    }
}

/// A hand-written future that keeps its resource after it returned, until it is dropped
/// (unlike an `async` block, which drops what it holds as it returns).
struct KeepsUntilDropped {
    _held: Held,
    end: End,
}

/// How a [`KeepsUntilDropped`] ends.
type End = fn() -> Result<(), String>;

impl std::future::Future for KeepsUntilDropped {
    type Output = Result<(), String>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready((self.end)())
    }
}

#[tokio::test]
async fn a_task_still_counts_as_live_while_its_future_is_dropped_however_it_ended() {
    bounded(async {
        let ends: [(&str, End); 3] = [
            ("returned", || Ok(())),
            ("failed", || Err("refused".to_owned())),
            ("panicked", || panic!("boom")),
        ];
        for (how, end) in ends {
            let tasks = TaskManager::new("holder");
            let live_at_drop = Arc::new(AtomicU32::new(u32::MAX));
            let held = Held {
                tasks: tasks.spawner(),
                live_at_drop: live_at_drop.clone(),
            };
            tasks
                .spawn("holder", KeepsUntilDropped { _held: held, end })
                .unwrap();
            idle(&tasks).await;
            assert_eq!(
                live_at_drop.load(Ordering::SeqCst),
                1,
                "a task that {how} stopped counting as live before its future was dropped"
            );
        }

        // Aborted: dropped unpolled to the end, still counted while it is dropped.
        let tasks = TaskManager::new("holder");
        let live_at_drop = Arc::new(AtomicU32::new(u32::MAX));
        let held = Held {
            tasks: tasks.spawner(),
            live_at_drop: live_at_drop.clone(),
        };
        tasks
            .spawn("parked", async move {
                let _held = held;
                std::future::pending::<()>().await
            })
            .unwrap();
        tokio::task::yield_now().await;
        assert_eq!(tasks.abort_all(), 1);
        idle(&tasks).await;
        assert_eq!(live_at_drop.load(Ordering::SeqCst), 1, "aborted");
    })
    .await;
}
