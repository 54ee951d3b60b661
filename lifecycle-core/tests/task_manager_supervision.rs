//! Critical tasks and supervised restarts.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{Behavior, EventLog, Probe, bounded};
use lifecycle_core::{
    AsyncResource, Backoff, LifecycleState, RestartPolicy, TaskManager, TaskOutcome,
};
use tokio::sync::Notify;
use tokio::time::Instant;

#[tokio::test]
async fn a_critical_panic_reaches_the_supervisor() {
    bounded(async {
        let tasks = TaskManager::new("critical");
        let (seen_tx, seen_rx) = std::sync::mpsc::channel();
        assert!(tasks.on_critical_failure(move |failure| seen_tx.send(failure.clone()).unwrap()));
        tasks
            .spawn_critical("engine", async {
                let state: Option<u8> = None;
                if state.is_none() {
                    panic!("invariant broken");
                }
            })
            .unwrap();
        let failure = tasks.critical_failure().await.unwrap();
        assert_eq!(failure.task.name.as_str(), "engine");
        assert_eq!(
            failure.task.outcome,
            TaskOutcome::Panicked("invariant broken".into())
        );
        // The owner's hook saw the same failure.
        assert_eq!(seen_rx.recv().unwrap(), failure);
        let _ = tasks
            .shutdown(Instant::now() + Duration::from_secs(1))
            .await;
    })
    .await;
}

#[tokio::test]
async fn a_normal_task_failure_is_counted_but_not_escalated() {
    bounded(async {
        let tasks = TaskManager::new("normal");
        let (tx, rx) = tokio::sync::oneshot::channel();
        tasks
            .spawn("side-job", async move {
                let _ = tx.send(());
                Err::<(), _>("cache miss")
            })
            .unwrap();
        rx.await.unwrap();
        lifecycle_core::testing::assert_no_tasks(&tasks, Duration::from_secs(5)).await;
        assert_eq!(tasks.counts().failed, 1);
        let escalated =
            tokio::time::timeout(Duration::from_millis(20), tasks.critical_failure()).await;
        assert!(
            escalated.is_err(),
            "a normal task's failure must not escalate"
        );
    })
    .await;
}

#[tokio::test]
async fn a_critical_task_failure_moves_its_resource_to_failed() {
    bounded(async {
        let log = EventLog::default();
        let trigger = Arc::new(Notify::new());
        let probe = Probe::new(
            "feed",
            &log,
            Behavior::default().failing_critical_on(trigger.clone()),
        );
        probe.start().await.unwrap();
        let mut watcher = probe.watch_state();
        trigger.notify_one();
        let state = watcher.wait_for(LifecycleState::is_failed).await.unwrap();
        let LifecycleState::Failed(cause) = state else {
            unreachable!()
        };
        assert!(cause.message().contains("feed lost"), "{cause}");
        assert!(!probe.is_running());

        // Stop after failure releases what is left and reports the failure.
        let report = probe.stop_within(Duration::from_secs(1)).await;
        assert_eq!(probe.state(), LifecycleState::Stopped);
        assert_eq!(report.prior_failure.as_ref(), Some(&cause));
        assert!(!report.is_clean());
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_supervised_task_restarts_with_growing_backoff() {
    bounded(async {
        let tasks = TaskManager::new("supervisor");
        let attempts = Arc::new(AtomicU32::new(0));
        let starts = Arc::new(std::sync::Mutex::new(Vec::new()));
        let policy = RestartPolicy::new()
            .max_restarts(10, Duration::from_secs(60))
            .backoff(Backoff::new(
                Duration::from_millis(100),
                Duration::from_secs(1),
            ));
        let (a, s) = (attempts.clone(), starts.clone());
        let healthy = Arc::new(Notify::new());
        let h = healthy.clone();
        let signal = tasks.signal().clone();
        tasks
            .spawn_supervised("flaky", policy, move || {
                let (a, s, h, signal) = (a.clone(), s.clone(), h.clone(), signal.clone());
                async move {
                    s.lock().unwrap().push(Instant::now());
                    if a.fetch_add(1, Ordering::SeqCst) < 3 {
                        panic!("transient");
                    }
                    h.notify_one();
                    signal.triggered().await;
                }
            })
            .unwrap();
        healthy.notified().await;
        let starts = starts.lock().unwrap().clone();
        let gaps: Vec<_> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(
            gaps,
            vec![
                Duration::from_millis(100),
                Duration::from_millis(200),
                Duration::from_millis(400)
            ]
        );
        assert_eq!(tasks.counts().restarts, 3);
        assert!(lifecycle_core::metrics().restarts >= 3);
        let report = tasks
            .shutdown(Instant::now() + Duration::from_secs(1))
            .await;
        assert_eq!(report.counts.stopped, 1, "{report:?}");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn past_the_restart_limit_a_supervised_task_fails_as_critical() {
    bounded(async {
        let tasks = TaskManager::new("limited");
        let attempts = Arc::new(AtomicU32::new(0));
        let a = attempts.clone();
        tasks
            .spawn_supervised(
                "doomed",
                RestartPolicy::new()
                    .max_restarts(2, Duration::from_secs(10))
                    .backoff(Backoff::new(
                        Duration::from_millis(10),
                        Duration::from_millis(10),
                    )),
                move || {
                    a.fetch_add(1, Ordering::SeqCst);
                    async { Err::<(), _>("refused") }
                },
            )
            .unwrap();
        let failure = tasks.critical_failure().await.unwrap();
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
        let TaskOutcome::Failed(message) = &failure.task.outcome else {
            panic!("unexpected {failure:?}")
        };
        assert!(
            message.contains("restart limit reached (2 restarts within 10s)"),
            "{message}"
        );
        assert!(message.contains("refused"), "{message}");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_interrupts_a_supervised_backoff() {
    bounded(async {
        let tasks = TaskManager::new("backing-off");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tasks
            .spawn_supervised(
                "retrying",
                RestartPolicy::new().backoff(Backoff::new(
                    Duration::from_secs(3600),
                    Duration::from_secs(3600),
                )),
                move || {
                    let tx = tx.clone();
                    async move {
                        tx.send(()).unwrap();
                        Err::<(), _>("down")
                    }
                },
            )
            .unwrap();
        rx.recv().await.unwrap();
        let begun = Instant::now();
        let report = tasks.shutdown(begun + Duration::from_secs(5)).await;
        assert!(
            begun.elapsed() < Duration::from_millis(10),
            "{:?}",
            begun.elapsed()
        );
        assert_eq!(report.counts.stopped, 1);
        assert!(report.is_clean(), "{report:?}");
    })
    .await;
}
