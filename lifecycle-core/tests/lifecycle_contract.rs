//! The lifecycle contract (lifecycle-core's `docs/contract.md`), as given by `Lifecycle`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Behavior, EventLog, Probe, bounded};
use lifecycle_core::{
    AsyncResource, Lifecycle, LifecycleState, StartError, StateTag, StopDetails, StopOutcome,
    StopReport,
};
use tokio::time::Instant;

#[tokio::test]
async fn start_is_idempotent_and_stop_reports_clean() {
    bounded(async {
        let log = EventLog::default();
        let probe = Probe::new("a", &log, Behavior::default().with_worker());
        probe.start().await.unwrap();
        probe.start().await.unwrap();
        assert_eq!(log.events(), vec!["start a"]);
        assert!(probe.is_running());
        let report = probe.stop_within(Duration::from_secs(1)).await;
        assert_eq!(report.outcome, StopOutcome::Clean);
        assert_eq!(report.tasks.as_ref().unwrap().counts.stopped, 1);
        assert_eq!(probe.state(), LifecycleState::Stopped);
    })
    .await;
}

#[tokio::test]
async fn a_failed_start_rolls_back_and_leaves_nothing_running() {
    bounded(async {
        let log = EventLog::default();
        let probe = Probe::new(
            "b",
            &log,
            Behavior::default().with_worker().failing_start(),
        );
        let error = probe.start().await.unwrap_err();
        assert!(matches!(&error, StartError::Failed { cause, .. } if cause.message() == "refused by venue"), "{error}");
        assert_eq!(log.events(), vec!["start b", "rollback b"]);
        assert!(probe.state().is_failed());
        assert_eq!(probe.lifecycle.tasks().active_tasks(), 0);
        // Start again is refused: a failed component is stopped, not restarted.
        assert!(matches!(probe.start().await, Err(StartError::InvalidState { state: StateTag::Failed, .. })));
        let report = probe.stop_within(Duration::from_secs(1)).await;
        assert_eq!(report.outcome, StopOutcome::Failed);
        assert_eq!(probe.state(), LifecycleState::Stopped);
    })
    .await;
}

#[tokio::test]
async fn a_panicking_start_is_rolled_back_too() {
    bounded(async {
        let log = EventLog::default();
        let probe = Probe::new(
            "c",
            &log,
            Behavior::default().panicking_start().with_worker(),
        );
        let error = probe.start().await.unwrap_err();
        assert!(
            error.to_string().contains("start panicked: boom in start"),
            "{error}"
        );
        assert_eq!(log.events(), vec!["start c", "rollback c"]);
        assert_eq!(probe.lifecycle.tasks().active_tasks(), 0);
    })
    .await;
}

#[tokio::test]
async fn rollback_steps_run_in_reverse_order() {
    bounded(async {
        let log = EventLog::default();
        let lifecycle = Lifecycle::new("steps");
        let l = log.clone();
        let result = lifecycle
            .start(move |ctx| async move {
                for step in ["socket", "listen-key", "subscription"] {
                    let l = l.clone();
                    ctx.on_rollback(step, move |_| async move { l.push(format!("undo {step}")) });
                }
                Err("subscription refused".into())
            })
            .await;
        assert!(result.is_err());
        assert_eq!(
            log.events(),
            vec!["undo subscription", "undo listen-key", "undo socket"]
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn every_rollback_step_is_given_the_rollback_deadline_and_a_failing_one_stops_no_other() {
    bounded(async {
        let log = EventLog::default();
        let lifecycle = Lifecycle::builder("steps")
            .rollback_timeout(Duration::from_secs(3))
            .build();
        let deadlines = Arc::new(Mutex::new(Vec::new()));
        let (l, d) = (log.clone(), deadlines.clone());
        let failed_at = Instant::now();
        let result = lifecycle
            .start(move |ctx| async move {
                for step in ["socket", "listen-key"] {
                    let (l, d) = (l.clone(), d.clone());
                    ctx.on_rollback(step, move |deadline| async move {
                        d.lock().unwrap().push(deadline);
                        l.push(format!("undo {step}"));
                        Err::<(), _>(format!("{step} only half undone"))
                    });
                }
                Err("subscription refused".into())
            })
            .await;
        assert!(result.is_err());
        assert_eq!(log.events(), vec!["undo listen-key", "undo socket"]);
        let deadlines = deadlines.lock().unwrap().clone();
        assert_eq!(
            deadlines,
            vec![failed_at + Duration::from_secs(3); 2],
            "each step is given the deadline the rollback timeout sets"
        );
    })
    .await;
}

#[tokio::test]
async fn stop_before_start_is_a_no_op() {
    bounded(async {
        let probe = Probe::new("d", &EventLog::default(), Behavior::default());
        let report = probe.stop_within(Duration::from_secs(1)).await;
        assert_eq!(report.outcome, StopOutcome::NotStarted);
        assert_eq!(probe.state(), LifecycleState::Created);
        probe.start().await.unwrap();
        assert!(probe.is_running());
        assert!(probe.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn concurrent_stops_share_one_stop() {
    bounded(async {
        let log = EventLog::default();
        let probe = Probe::new("e", &log, Behavior::default().with_worker());
        probe.start().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(1);
        let (a, b, c) = tokio::join!(
            probe.stop(deadline),
            probe.stop(deadline),
            probe.stop(deadline)
        );
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(log.events().iter().filter(|e| *e == "stop e").count(), 1);
        // And later calls return the same report.
        assert_eq!(probe.stop(deadline).await, a);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn stop_returns_by_its_deadline_even_if_the_hook_hangs() {
    bounded(async {
        let probe = Probe::new(
            "f",
            &EventLog::default(),
            Behavior::default().hanging_stop().with_worker(),
        );
        probe.start().await.unwrap();
        let begun = Instant::now();
        let report = probe.stop(begun + Duration::from_millis(250)).await;
        assert!(
            begun.elapsed() <= Duration::from_millis(250),
            "{:?}",
            begun.elapsed()
        );
        assert_eq!(report.outcome, StopOutcome::Incomplete);
        assert!(
            report.details.errors.iter().any(|e| e.contains("deadline")),
            "{report:?}"
        );
        // The worker was still shut down (with no time left: aborted).
        assert_eq!(probe.lifecycle.tasks().active_tasks(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_stop_survives_its_caller_being_cancelled() {
    bounded(async {
        let log = EventLog::default();
        let probe = Probe::new("g", &log, Behavior::default().with_worker());
        probe.start().await.unwrap();
        // Poll the stop once, then drop it.
        let stop = probe.stop_within(Duration::from_secs(1));
        let _ = tokio::time::timeout(Duration::ZERO, stop).await;
        let mut watcher = probe.watch_state();
        watcher.wait_for(LifecycleState::is_stopped).await.unwrap();
        let report = probe.stop_within(Duration::from_secs(1)).await;
        assert_eq!(report.outcome, StopOutcome::Clean);
    })
    .await;
}

/// Runs `start` until its hook says (on `entered`) that it is under way, then drops it.
async fn drop_once_entered<F: std::future::Future>(
    start: F,
    entered: tokio::sync::oneshot::Receiver<()>,
) {
    tokio::select! {
        _ = start => unreachable!("the start hook never returns"),
        _ = entered => {}
    }
}

#[tokio::test]
async fn a_cancelled_start_is_failed_and_cleaned_up() {
    bounded(async {
        let lifecycle = Lifecycle::new("slow-start");
        let log = EventLog::default();
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let l = log.clone();
        let start = lifecycle.start(move |ctx| async move {
            let signal = ctx.tasks().signal().clone();
            ctx.tasks()
                .spawn("early", async move { signal.triggered().await })?;
            ctx.on_rollback("undo", move |_| async move { l.push("rolled back") });
            entered_tx.send(()).unwrap();
            std::future::pending::<()>().await;
            Ok(())
        });
        drop_once_entered(start, entered_rx).await;
        // The start future is dropped here.
        assert!(lifecycle.state().is_failed());
        lifecycle_core::testing::assert_no_tasks(lifecycle.tasks(), Duration::from_secs(5)).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while log.events().is_empty() && Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        assert_eq!(log.events(), vec!["rolled back"]);
    })
    .await;
}

#[tokio::test]
async fn stop_during_start_asks_the_start_to_give_up() {
    bounded(async {
        let lifecycle = Arc::new(Lifecycle::new("long-start"));
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let starter = lifecycle.clone();
        let start = tokio::spawn(async move {
            starter
                .start(move |ctx| async move {
                    entered_tx.send(()).unwrap();
                    ctx.stop_signal().await;
                    Err("gave up: stop requested".into())
                })
                .await
        });
        entered_rx.await.unwrap();
        let report = lifecycle
            .stop(Instant::now() + Duration::from_secs(2), |_| async {
                StopDetails::new()
            })
            .await;
        assert_eq!(lifecycle.state(), LifecycleState::Stopped);
        // The start gave up as asked: cancelled, not failed, and the stop is clean.
        assert!(matches!(
            start.await.unwrap(),
            Err(StartError::Cancelled { .. })
        ));
        assert_eq!(report.prior_failure, None, "{report:?}");
        assert!(report.is_clean(), "{report}");
    })
    .await;
}

#[tokio::test]
async fn dropping_a_running_resource_aborts_its_tasks() {
    bounded(async {
        let lifecycle = Lifecycle::new("leaky");
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        lifecycle
            .start(move |ctx| async move {
                ctx.tasks().spawn("holds-sender", async move {
                    let _tx = tx;
                    std::future::pending::<()>().await;
                })?;
                Ok(())
            })
            .await
            .unwrap();
        drop(lifecycle);
        // The task was aborted: its sender is gone.
        assert_eq!(rx.recv().await, None);
    })
    .await;
}

#[tokio::test]
async fn the_component_closes_at_the_very_move_to_stopping() {
    bounded(async {
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let closing = closed.clone();
        let lifecycle = Lifecycle::builder("closing")
            .on_stopping(move || closing.store(true, std::sync::atomic::Ordering::SeqCst))
            .build();
        lifecycle.start(|_| async { Ok(()) }).await.unwrap();
        assert!(!lifecycle.tasks().is_shutting_down());
        let hook_saw_closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let saw = hook_saw_closed.clone();
        let flag = closed.clone();
        let stop = lifecycle.stop(
            Instant::now() + Duration::from_secs(1),
            move |_| async move {
                saw.store(
                    flag.load(std::sync::atomic::Ordering::SeqCst),
                    std::sync::atomic::Ordering::SeqCst,
                );
                StopDetails::new()
            },
        );
        let mut stop = std::pin::pin!(stop);
        let _ = futures::poll!(stop.as_mut());
        // Before the stop's own task ran: the state, the signal, the manager and the
        // component's own closing all say "stopping".
        assert_eq!(lifecycle.state(), LifecycleState::Stopping);
        assert!(closed.load(std::sync::atomic::Ordering::SeqCst));
        assert!(lifecycle.tasks().signal().is_triggered());
        assert!(lifecycle.tasks().is_shutting_down());
        assert!(lifecycle.tasks().spawn("late", async {}).is_err());
        let report = stop.await;
        assert!(report.is_clean(), "{report}");
        assert!(hook_saw_closed.load(std::sync::atomic::Ordering::SeqCst));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_hook_that_overruns_still_hands_its_report_in_with_the_children_it_recorded() {
    bounded(async {
        let lifecycle = Lifecycle::new("parent");
        lifecycle.start(|_| async { Ok(()) }).await.unwrap();
        let begun = Instant::now();
        let deadline = begun + Duration::from_millis(400);
        let report = lifecycle
            .stop(deadline, move |ctx| async move {
                // The hook's deadline keeps back time to hand the report over.
                assert!(ctx.deadline() < deadline);
                ctx.record_child(StopReport::new(
                    "child",
                    Duration::from_millis(1),
                    None,
                    None,
                    StopDetails::new().counter("orders_unconfirmed", 2),
                    false,
                ));
                std::future::pending::<()>().await;
                StopDetails::new()
            })
            .await;
        assert!(begun.elapsed() <= Duration::from_millis(400));
        // The stop's own report (not the caller's "still in progress" one), with the child.
        assert!(
            report
                .details
                .errors
                .iter()
                .any(|e| e == "stop hook did not finish by the deadline"),
            "{report:?}"
        );
        assert!(report.tasks.is_some(), "{report:?}");
        let children: Vec<&str> = report
            .details
            .children
            .iter()
            .map(|c| &*c.component)
            .collect();
        assert_eq!(children, ["child"]);
        assert_eq!(report.outcome, StopOutcome::Incomplete);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_start_that_gives_up_on_a_stop_request_is_cancelled_not_failed() {
    bounded(async {
        let log = EventLog::default();
        let probe = Probe::new(
            "slow-start",
            &log,
            Behavior::default().start_waiting_for_stop().with_worker(),
        );
        let starter = probe.clone();
        let start = tokio::spawn(async move { starter.start().await });
        while !log.events().contains(&"start slow-start".to_owned()) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let begun = Instant::now();
        let report = probe.stop_within(Duration::from_secs(10)).await;
        // The stop took over as soon as the start gave up, not after half its 10 s.
        assert!(
            begun.elapsed() < Duration::from_millis(10),
            "{:?}",
            begun.elapsed()
        );
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.prior_failure, None);
        assert!(matches!(
            start.await.unwrap(),
            Err(StartError::Cancelled { .. })
        ));
        assert_eq!(probe.state(), LifecycleState::Stopped);
        assert_eq!(probe.lifecycle.failure(), None);
        assert_eq!(
            log.events(),
            vec![
                "start slow-start",
                "start slow-start gave up",
                "rollback slow-start",
                "stop slow-start"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn debug_output_names_the_component_and_its_state() {
    bounded(async {
        let builder = Lifecycle::builder("ledger").on_stopping(|| {});
        let shown = format!("{builder:?}");
        assert!(
            shown.contains("ledger") && shown.contains("on_stopping: Some"),
            "{shown}"
        );
        let lifecycle = builder.build();
        lifecycle
            .start(|ctx| async move {
                let shown = format!("{ctx:?}");
                assert!(
                    shown.contains("StartContext") && shown.contains("ledger"),
                    "{shown}"
                );
                Ok(())
            })
            .await
            .unwrap();
        let shown = format!("{lifecycle:?}");
        assert!(
            shown.contains("ledger") && shown.contains("Running") && shown.contains("active_tasks"),
            "{shown}"
        );
        let report = lifecycle
            .stop(Instant::now() + Duration::from_secs(1), |ctx| async move {
                let shown = format!("{ctx:?}");
                assert!(
                    shown.contains("StopContext") && shown.contains("deadline"),
                    "{shown}"
                );
                StopDetails::new()
            })
            .await;
        assert!(report.is_clean(), "{report}");
    })
    .await;
}

#[tokio::test]
async fn the_start_hook_sees_a_stop_request_and_the_stop_hook_sees_its_signal() {
    bounded(async {
        let lifecycle = Arc::new(Lifecycle::new("observer"));
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let seen = EventLog::default();
        let hook_seen = seen.clone();
        let starter = lifecycle.clone();
        let start = tokio::spawn(async move {
            starter
                .start(move |ctx| async move {
                    hook_seen.push(format!("before={}", ctx.stop_requested()));
                    entered_tx.send(()).unwrap();
                    ctx.stop_signal().await;
                    hook_seen.push(format!("after={}", ctx.stop_requested()));
                    Err("gave up".into())
                })
                .await
        });
        entered_rx.await.unwrap();
        let report = lifecycle
            .stop(Instant::now() + Duration::from_secs(2), |ctx| async move {
                StopDetails::new()
                    .counter("signal_triggered", u64::from(ctx.signal().is_triggered()))
            })
            .await;
        assert!(matches!(
            start.await.unwrap(),
            Err(StartError::Cancelled { .. })
        ));
        assert_eq!(report.details.counters, vec![("signal_triggered", 1)]);
        assert_eq!(seen.events(), vec!["before=false", "after=true"]);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_hook_that_shuts_its_tasks_down_first_finds_them_stopped() {
    bounded(async {
        let lifecycle = Lifecycle::new("ordered");
        let log = EventLog::default();
        let task_log = log.clone();
        lifecycle
            .start(move |ctx| async move {
                let signal = ctx.tasks().signal().clone();
                ctx.tasks().spawn("reader", async move {
                    signal.triggered().await;
                    // The reader takes a while to wind down: a hook that did not
                    // wait for its tasks would log first.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    task_log.push("reader stopped");
                })?;
                Ok(())
            })
            .await
            .unwrap();
        let hook_log = log.clone();
        let report = lifecycle
            .stop(
                Instant::now() + Duration::from_secs(2),
                move |ctx| async move {
                    ctx.shutdown_tasks(ctx.deadline()).await;
                    hook_log.push("socket closed");
                    StopDetails::new()
                },
            )
            .await;
        assert_eq!(log.events(), vec!["reader stopped", "socket closed"]);
        assert_eq!(report.tasks.as_ref().unwrap().counts.stopped, 1, "{report}");
        assert!(report.is_clean(), "{report}");
    })
    .await;
}

#[tokio::test]
async fn a_critical_task_failing_during_start_fails_the_start_with_its_cause() {
    bounded(async {
        let lifecycle = Lifecycle::new("feed");
        let error = lifecycle
            .start(|ctx| async move {
                ctx.tasks()
                    .spawn_critical("decoder", async { Err::<(), _>("protobuf garbage") })?;
                // Waits until the critical failure has reached the component.
                let _ = ctx.tasks().critical_failure().await;
                Ok(())
            })
            .await
            .unwrap_err();
        let StartError::Failed { cause, .. } = &error else {
            panic!("not a failure: {error}")
        };
        assert!(cause.message().contains("protobuf garbage"), "{cause}");
        assert!(lifecycle.state().is_failed());
        assert_eq!(lifecycle.failure(), Some(cause.clone()));
    })
    .await;
}

#[tokio::test]
#[tracing_test::traced_test]
async fn dropping_a_running_component_warns_naming_it_and_a_stopped_one_does_not() {
    bounded(async {
        let running = Lifecycle::new("forgotten");
        running
            .start(|ctx| async move {
                let signal = ctx.tasks().signal().clone();
                ctx.tasks()
                    .spawn("loop", async move { signal.triggered().await })?;
                Ok(())
            })
            .await
            .unwrap();
        drop(running);
        let idle = Lifecycle::new("idle");
        idle.start(|_| async { Ok(()) }).await.unwrap();
        drop(idle);
        let stopped = Lifecycle::new("tidy");
        stopped.start(|_| async { Ok(()) }).await.unwrap();
        let report = stopped
            .stop(Instant::now() + Duration::from_secs(1), |_| async {
                StopDetails::new()
            })
            .await;
        assert!(report.is_clean(), "{report}");
        drop(stopped);
        let never_started = Lifecycle::new("unused");
        drop(never_started);
        // Failed, with a task still running: also a caller's bug.
        let failed = Lifecycle::new("broken");
        failed
            .start(|ctx| async move {
                let signal = ctx.tasks().signal().clone();
                ctx.tasks()
                    .spawn("survivor", async move { signal.triggered().await })?;
                ctx.tasks()
                    .spawn_critical("crasher", async { Err::<(), _>("boom") })?;
                Ok(())
            })
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while failed.state_tag() != StateTag::Failed && Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        assert_eq!(failed.state_tag(), StateTag::Failed);
        drop(failed);
    })
    .await;
    let text = test_support::captured_logs!();
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("component dropped without stop"))
        .collect();
    assert_eq!(warnings.len(), 3, "{text}");
    assert!(
        warnings[2].contains("broken")
            && warnings[2].contains("failed")
            && warnings[2].contains("live_tasks=1"),
        "{}",
        warnings[2]
    );
    assert!(
        warnings[0].contains("forgotten")
            && warnings[0].contains("running")
            && warnings[0].contains("live_tasks=1"),
        "{}",
        warnings[0]
    );
    // Running without tasks is still a caller's bug.
    assert!(
        warnings[1].contains("idle") && warnings[1].contains("live_tasks=0"),
        "{}",
        warnings[1]
    );
}

#[tokio::test(start_paused = true)]
async fn a_start_that_ignores_the_stop_is_overridden_after_half_the_deadline() {
    bounded(async {
        let lifecycle = Arc::new(Lifecycle::new("deaf-start"));
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let starter = lifecycle.clone();
        let _start = tokio::spawn(async move {
            starter
                .start(move |_ctx| async move {
                    entered_tx.send(()).unwrap();
                    std::future::pending::<()>().await;
                    Ok(())
                })
                .await
        });
        entered_rx.await.unwrap();
        let begun = Instant::now();
        let hook_began = Arc::new(Mutex::new(None));
        let seen = hook_began.clone();
        let report = lifecycle
            .stop(begun + Duration::from_secs(1), move |_| async move {
                *seen.lock().unwrap() = Some(Instant::now());
                StopDetails::new()
            })
            .await;
        assert_eq!(
            hook_began.lock().unwrap().map(|at| at - begun),
            Some(Duration::from_millis(500))
        );
        assert_eq!(lifecycle.state(), LifecycleState::Stopped);
        assert!(report.duration <= Duration::from_secs(1));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_stop_work_keeps_a_tenth_of_the_time_at_most_50_ms_to_hand_its_report_over() {
    bounded(async {
        for (budget, work) in [
            (Duration::from_millis(400), Duration::from_millis(360)),
            (Duration::from_secs(1), Duration::from_millis(950)),
            (Duration::from_secs(10), Duration::from_millis(9_950)),
        ] {
            let lifecycle = Lifecycle::new("timed");
            lifecycle.start(|_| async { Ok(()) }).await.unwrap();
            let begun = Instant::now();
            let given = Arc::new(Mutex::new(None));
            let seen = given.clone();
            let report = lifecycle
                .stop(begun + budget, move |ctx| async move {
                    *seen.lock().unwrap() = Some(ctx.deadline());
                    StopDetails::new()
                })
                .await;
            assert!(report.is_clean(), "{report}");
            assert_eq!(
                *given.lock().unwrap(),
                Some(begun + work),
                "budget {budget:?}"
            );
        }
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_start_stops_its_tasks_cooperatively_in_the_background() {
    bounded(async {
        let lifecycle = Lifecycle::new("dropped-start");
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let start = lifecycle.start(move |ctx| async move {
            let signal = ctx.tasks().signal().clone();
            // It takes a while to wind down: a rollback without its own time would abort it.
            ctx.tasks().spawn("cooperative", async move {
                signal.triggered().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            })?;
            entered_tx.send(()).unwrap();
            std::future::pending::<()>().await;
            Ok(())
        });
        drop_once_entered(start, entered_rx).await;
        lifecycle_core::testing::assert_no_tasks(lifecycle.tasks(), Duration::from_secs(5)).await;
        // The background rollback had time: the task stopped on its signal, not aborted.
        let counts = lifecycle.tasks().counts();
        assert_eq!((counts.stopped, counts.aborted), (1, 0), "{counts:?}");
    })
    .await;
}

#[tokio::test(start_paused = true)]
#[tracing_test::traced_test]
async fn the_log_gives_a_stop_s_duration_and_names_a_rollback_that_left_tasks_behind() {
    bounded(async {
        // A stop that takes 40 ms on the paused clock logs 40 ms.
        let timed = Lifecycle::new("timed");
        timed.start(|_| async { Ok(()) }).await.unwrap();
        let report = timed
            .stop(Instant::now() + Duration::from_secs(1), |_| async {
                tokio::time::sleep(Duration::from_millis(40)).await;
                StopDetails::new()
            })
            .await;
        assert!(report.is_clean(), "{report}");
        // A failed start whose task ignores its signal: the rollback says it was not clean;
        // one whose task stops says nothing.
        let deaf = Lifecycle::builder("deaf-rollback")
            .rollback_timeout(Duration::from_millis(100))
            .build();
        let result = deaf
            .start(|ctx| async move {
                ctx.tasks().spawn("deaf", std::future::pending::<()>())?;
                Err::<(), _>("refused".into())
            })
            .await;
        assert!(result.is_err());
        let tidy = Lifecycle::new("tidy-rollback");
        let result = tidy
            .start(|ctx| async move {
                let signal = ctx.tasks().signal().clone();
                ctx.tasks()
                    .spawn("cooperative", async move { signal.triggered().await })?;
                Err::<(), _>("refused".into())
            })
            .await;
        assert!(result.is_err());
    })
    .await;
    let text = test_support::captured_logs!();
    let stopped = text
        .lines()
        .find(|l| l.contains("component stopped") && l.contains("timed"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(stopped.contains("duration_ms=40"), "{stopped}");
    let unclean: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("tasks did not stop cleanly during rollback"))
        .collect();
    assert_eq!(unclean.len(), 1, "{text}");
    assert!(unclean[0].contains("deaf-rollback"), "{}", unclean[0]);
}

/// A critical task failed during the start, a stop then took the failed component over, and
/// the start hook returned after that: the start reported `Cancelled`, hiding the failure
/// (it read the cause only while the state still said `Failed`). A start whose component
/// failed is a failed start, whatever stopped it afterwards.
#[tokio::test(start_paused = true)]
async fn a_start_whose_component_failed_before_a_stop_took_over_reports_the_failure() {
    bounded(async {
        let lifecycle = Arc::new(Lifecycle::new("flaky-start"));
        let release = Arc::new(tokio::sync::Notify::new());
        let start = tokio::spawn({
            let (lifecycle, release) = (lifecycle.clone(), release.clone());
            async move {
                lifecycle
                    .start(|ctx| async move {
                        ctx.tasks()
                            .spawn_critical("feed", async { Err::<(), _>("feed lost") })?;
                        release.notified().await;
                        Ok(())
                    })
                    .await
            }
        });
        let mut watch = lifecycle.watch();
        watch
            .wait_for(|state| matches!(state, LifecycleState::Failed(_)))
            .await
            .unwrap();
        let stop = tokio::spawn({
            let lifecycle = lifecycle.clone();
            async move {
                lifecycle
                    .stop(Instant::now() + Duration::from_secs(1), |_| async {
                        StopDetails::default()
                    })
                    .await
            }
        });
        watch
            .wait_for(|state| !matches!(state, LifecycleState::Failed(_)))
            .await
            .unwrap();
        release.notify_one();
        match start.await.unwrap() {
            Err(StartError::Failed { cause, .. }) => {
                assert!(cause.to_string().contains("feed lost"), "{cause}");
            }
            other => panic!("the start's failure was hidden: {other:?}"),
        }
        let report = stop.await.unwrap();
        assert!(report.prior_failure.is_some(), "{report}");
    })
    .await;
}
