//! The runner, driven by injected signals.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Behavior, EventLog, Probe, bounded};
use lifecycle_core::{
    DependencyAwareShutdown, ExitStatus, NoSignals, Runner, ShutdownPriority, ShutdownReason,
    Signal, signal_channel,
};
use tokio::sync::Notify;

/// "feed" starts first (Medium) and waits until a stop asks it to give up; "orders"
/// (CriticalFirst) would start after it.
fn a_start_that_waits_for_a_stop(name: &str, log: &EventLog) -> DependencyAwareShutdown {
    let mut system = DependencyAwareShutdown::new(name);
    system.register(
        Probe::new("orders", log, Behavior::default()),
        ShutdownPriority::CriticalFirst,
    );
    system.register(
        Probe::new(
            "feed",
            log,
            Behavior::default().start_waiting_for_stop().with_worker(),
        ),
        ShutdownPriority::Medium,
    );
    system
}

fn system(log: &EventLog, orders: Behavior) -> DependencyAwareShutdown {
    let mut system = DependencyAwareShutdown::new("runner-test");
    system.register(
        Probe::new("orders", log, orders),
        ShutdownPriority::CriticalFirst,
    );
    system.register(
        Probe::new("limiter", log, Behavior::default().with_worker()),
        ShutdownPriority::Cleanup,
    );
    system
}

#[tokio::test]
async fn the_app_ending_shuts_down_cleanly_with_exit_code_zero() {
    bounded(async {
        let log = EventLog::default();
        let outcome = Runner::new(system(&log, Behavior::default()))
            .signals(NoSignals)
            .run(|_| async { Ok::<(), String>(()) })
            .await;
        assert_eq!(outcome.status, ExitStatus::Clean);
        assert_eq!(outcome.exit_code(), 0);
        assert_eq!(outcome.reason, ShutdownReason::AppFinished);
        assert!(outcome.report.unwrap().is_clean());
        assert!(log.position("stop orders") < log.position("stop limiter"));
    })
    .await;
}

#[tokio::test]
async fn an_app_error_exits_failed_after_an_orderly_shutdown() {
    bounded(async {
        let log = EventLog::default();
        let outcome = Runner::new(system(&log, Behavior::default()))
            .signals(NoSignals)
            .run(|_| async { Err::<(), _>("strategy crashed") })
            .await;
        assert_eq!(outcome.status, ExitStatus::Failed);
        assert_eq!(outcome.exit_code(), 1);
        assert_eq!(
            outcome.reason,
            ShutdownReason::AppFailed("strategy crashed".into())
        );
        assert!(outcome.report.unwrap().is_clean());
    })
    .await;
}

#[tokio::test]
async fn a_signal_asks_the_app_to_finish_then_shuts_down() {
    bounded(async {
        let log = EventLog::default();
        let (injector, signals) = signal_channel();
        let app_log = log.clone();
        let outcome = Runner::new(system(&log, Behavior::default()))
            .signals(signals)
            .run(|ctx| async move {
                injector.send(Signal::Terminate);
                ctx.shutdown_signal().triggered().await;
                app_log.push("app finished quoting");
                Ok::<(), String>(())
            })
            .await;
        assert_eq!(outcome.reason, ShutdownReason::Signal(Signal::Terminate));
        assert_eq!(outcome.status, ExitStatus::Clean);
        assert!(log.position("app finished quoting") < log.position("stop orders"));
    })
    .await;
}

/// Found by the simulation search (seed 897): a signal during a start whose call was held by
/// the network kept the runner waiting for that start long after the shutdown had stopped
/// everything (4.7 s for a 2.6 s budget; a start deaf to the stop would have hung it).
#[tokio::test(start_paused = true)]
async fn a_start_deaf_to_the_stop_does_not_hold_the_exit_past_the_budget() {
    bounded(async {
        let log = EventLog::default();
        let (injector, signals) = signal_channel();
        let mut system = DependencyAwareShutdown::new("deaf-start");
        system.register(
            Probe::new("feed", &log, Behavior::default().hanging_start()),
            ShutdownPriority::Medium,
        );
        system.register(
            Probe::new("limiter", &log, Behavior::default()),
            ShutdownPriority::Cleanup,
        );
        let watcher = log.clone();
        let signalled = Arc::new(std::sync::Mutex::new(None));
        let signalled_at = signalled.clone();
        tokio::spawn(async move {
            watcher.logged("start feed").await;
            *signalled_at.lock().unwrap() = Some(tokio::time::Instant::now());
            injector.send(Signal::Terminate);
        });
        let budget = Duration::from_secs(2);
        let outcome = Runner::new(system)
            .signals(signals)
            .shutdown_budget(budget)
            .run(|_| async { Ok::<(), String>(()) })
            .await;
        let took = signalled.lock().unwrap().unwrap().elapsed();
        assert_eq!(outcome.reason, ShutdownReason::Signal(Signal::Terminate));
        assert!(
            took <= budget + DependencyAwareShutdown::CONTRACT_SLACK,
            "the runner returned {took:?} after the signal, budget {budget:?}"
        );
        assert!(outcome.report.is_some());
    })
    .await;
}

/// Found by the simulation search (seed 85): an application cancelled at the end of its
/// grace was only abandoned, not dropped, so an order placement it had in flight held the
/// order guard's stop until the deadline, leaving no time to cancel our orders.
#[tokio::test(start_paused = true)]
async fn an_app_that_ignores_the_signal_is_cancelled_after_its_grace() {
    bounded(async {
        let log = EventLog::default();
        let (injector, signals) = signal_channel();
        /// Logs when the application lets go of it.
        struct Held(EventLog);
        impl Drop for Held {
            fn drop(&mut self) {
                self.0.push("app dropped");
            }
        }
        let held = Held(log.clone());
        let outcome = Runner::new(system(&log, Behavior::default()))
            .signals(signals)
            .app_grace(Duration::from_millis(300))
            .run(|_| async move {
                let _held = held;
                injector.send(Signal::Interrupt);
                std::future::pending::<Result<(), String>>().await
            })
            .await;
        assert!(outcome.app_error.unwrap().contains("cancelled"));
        assert_eq!(outcome.status, ExitStatus::Failed);
        assert!(outcome.report.unwrap().is_clean());
        // Cancelled means dropped before the shutdown: a resource whose stop waits for what
        // the application held (a placement in flight) is not kept waiting.
        assert!(
            log.position("app dropped") < log.position("stop orders"),
            "{:?}",
            log.events()
        );
    })
    .await;
}

#[tokio::test]
async fn a_critical_failure_starts_an_orderly_shutdown() {
    bounded(async {
        let log = EventLog::default();
        let trigger = Arc::new(Notify::new());
        let t = trigger.clone();
        let outcome = Runner::new(system(
            &log,
            Behavior::default().failing_critical_on(trigger),
        ))
        .signals(NoSignals)
        .run(|ctx| async move {
            t.notify_one();
            ctx.shutdown_signal().triggered().await;
            Ok::<(), String>(())
        })
        .await;
        let ShutdownReason::CriticalFailure { component, cause } = &outcome.reason else {
            panic!("unexpected {:?}", outcome.reason)
        };
        assert_eq!(component, "orders");
        assert!(cause.message().contains("feed lost"));
        assert_eq!(outcome.exit_code(), 1);
        assert!(log.events().contains(&"stop limiter".to_owned()));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_second_signal_forces_the_exit_and_names_what_was_abandoned() {
    bounded(async {
        let log = EventLog::default();
        let (injector, signals) = signal_channel();
        let hanging = Behavior::default().hanging_stop();
        let outcome = Runner::new(system(&log, hanging))
            .signals(signals)
            .shutdown_budget(Duration::from_secs(10))
            .run(|ctx| async move {
                injector.send(Signal::Interrupt);
                ctx.shutdown_signal().triggered().await;
                // The second signal arrives while "orders" hangs in its stop.
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    injector.send(Signal::Interrupt);
                });
                Ok::<(), String>(())
            })
            .await;
        assert_eq!(outcome.status, ExitStatus::Forced);
        assert_eq!(outcome.exit_code(), 3);
        assert!(outcome.report.is_none());
        // "orders" hangs in its stop; "limiter" (a later phase) had not begun to stop.
        let abandoned: Vec<_> = outcome
            .abandoned
            .iter()
            .map(|s| (s.name.to_string(), s.elapsed > Duration::ZERO))
            .collect();
        assert_eq!(
            abandoned,
            vec![("orders".to_owned(), true), ("limiter".to_owned(), false)]
        );
    })
    .await;
}

#[tokio::test]
async fn a_failed_start_is_rolled_back_and_the_app_never_runs() {
    bounded(async {
        let log = EventLog::default();
        let app_log = log.clone();
        let outcome = Runner::new(system(&log, Behavior::default().failing_start()))
            .signals(NoSignals)
            .run(|_| async move {
                app_log.push("app ran");
                Ok::<(), String>(())
            })
            .await;
        assert!(matches!(outcome.reason, ShutdownReason::StartFailed(_)));
        assert_eq!(outcome.exit_code(), 1);
        assert!(!log.events().contains(&"app ran".to_owned()));
        assert!(log.events().contains(&"stop limiter".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn a_first_signal_during_shutdown_does_not_force() {
    bounded(async {
        let log = EventLog::default();
        let (injector, signals) = signal_channel();
        let outcome = Runner::new(system(&log, Behavior::default()))
            .signals(signals)
            .run(|_| async move {
                // The app ends on its own; a signal arrives as it does.
                injector.send(Signal::Interrupt);
                Ok::<(), String>(())
            })
            .await;
        assert_ne!(outcome.status, ExitStatus::Forced);
        assert!(outcome.report.unwrap().is_clean());
    })
    .await;
}

#[tokio::test]
async fn a_panicking_app_is_a_failure_that_still_shuts_down_in_order() {
    bounded(async {
        let log = EventLog::default();
        let outcome = Runner::new(system(&log, Behavior::default()))
            .signals(NoSignals)
            .run(|_| async {
                if log_is_empty() {
                    panic!("mid price overflowed");
                }
                Ok::<(), String>(())
            })
            .await;
        assert_eq!(outcome.status, ExitStatus::Failed);
        assert_eq!(outcome.exit_code(), 1);
        let error = outcome.app_error.clone().unwrap();
        assert!(
            error.contains("application panicked: mid price overflowed"),
            "{error}"
        );
        assert!(matches!(&outcome.reason, ShutdownReason::AppFailed(e) if e == &error));
        assert!(outcome.report.unwrap().is_clean());
        assert!(log.position("stop orders") < log.position("stop limiter"));
    })
    .await;
}

/// Always true: keeps the panic above from making the rest of the async block unreachable.
fn log_is_empty() -> bool {
    true
}

#[tokio::test(start_paused = true)]
async fn a_panic_after_the_signal_is_a_failure_too() {
    bounded(async {
        let log = EventLog::default();
        let (injector, signals) = signal_channel();
        let outcome = Runner::new(system(&log, Behavior::default()))
            .signals(signals)
            .run(|ctx| async move {
                injector.send(Signal::Terminate);
                ctx.shutdown_signal().triggered().await;
                if log_is_empty() {
                    panic!("cleanup exploded");
                }
                Ok::<(), String>(())
            })
            .await;
        assert_eq!(outcome.status, ExitStatus::Failed);
        assert!(outcome.app_error.unwrap().contains("cleanup exploded"));
        assert!(outcome.report.unwrap().is_clean());
        assert!(log.position("stop orders") < log.position("stop limiter"));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_signal_during_start_stops_cleanly_and_exits_0() {
    bounded(async {
        let log = EventLog::default();
        let (injector, signals) = signal_channel();
        let mut system = a_start_that_waits_for_a_stop("start-signal", &log);
        system.register(
            Probe::new("limiter", &log, Behavior::default()),
            ShutdownPriority::Cleanup,
        );
        let watcher = log.clone();
        tokio::spawn(async move {
            watcher.logged("start feed").await;
            injector.send(Signal::Hangup);
        });
        let begun = tokio::time::Instant::now();
        let app_log = log.clone();
        let outcome = Runner::new(system)
            .signals(signals)
            .shutdown_budget(Duration::from_secs(10))
            .run(|_| async move {
                app_log.push("app ran");
                Ok::<(), String>(())
            })
            .await;
        assert_eq!(outcome.reason, ShutdownReason::Signal(Signal::Hangup));
        let report = outcome.report.clone().unwrap();
        assert_eq!(outcome.status, ExitStatus::Clean, "{report}");
        assert_eq!(outcome.exit_code(), 0);
        assert!(report.is_clean(), "{report}");
        let events = log.events();
        assert!(!events.contains(&"app ran".to_owned()), "{events:?}");
        assert!(!events.contains(&"start orders".to_owned()), "{events:?}");
        assert!(
            events.contains(&"start feed gave up".to_owned()),
            "{events:?}"
        );
        assert_eq!(
            report.resource("orders").unwrap().outcome,
            lifecycle_core::StopOutcome::NotStarted
        );
        // The start gave up at once: the stop did not wait out half its budget.
        assert!(
            begun.elapsed() < Duration::from_millis(100),
            "{:?}",
            begun.elapsed()
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_forced_exit_during_the_app_grace_lists_every_resource_still_running() {
    bounded(async {
        let log = EventLog::default();
        let (injector, signals) = signal_channel();
        let outcome = Runner::new(system(&log, Behavior::default()))
            .signals(signals)
            .app_grace(Duration::from_secs(5))
            .run(|_| async move {
                injector.send(Signal::Interrupt);
                tokio::time::sleep(Duration::from_secs(1)).await;
                injector.send(Signal::Quit);
                std::future::pending::<Result<(), String>>().await
            })
            .await;
        assert_eq!(outcome.status, ExitStatus::Forced);
        let abandoned: Vec<_> = outcome
            .abandoned
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(abandoned, vec!["orders", "limiter"]);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_apps_unused_grace_goes_to_the_shutdown() {
    bounded(async {
        let log = EventLog::default();
        let (injector, signals) = signal_channel();
        let outcome = Runner::new(system(&log, Behavior::default()))
            .signals(signals)
            .shutdown_budget(Duration::from_secs(4))
            .app_grace(Duration::from_secs(2))
            .run(|ctx| async move {
                injector.send(Signal::Terminate);
                ctx.shutdown_signal().triggered().await;
                // Finishes 100 ms into its 2 s grace.
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok::<(), String>(())
            })
            .await;
        assert_eq!(outcome.status, ExitStatus::Clean);
        assert_eq!(outcome.report.unwrap().budget, Duration::from_millis(3_900));
    })
    .await;
}

/// A start that never finishes (a venue that never answers) is bounded by the start timeout:
/// what started is stopped, the starts under way give up, and the run fails.
#[tokio::test(start_paused = true)]
async fn a_start_that_does_not_finish_in_time_is_stopped_and_fails() {
    bounded(async {
        let log = EventLog::default();
        let system = a_start_that_waits_for_a_stop("start-timeout", &log);
        let begun = tokio::time::Instant::now();
        let app_log = log.clone();
        let outcome = Runner::new(system)
            .signals(NoSignals)
            .shutdown_budget(Duration::from_secs(10))
            .start_timeout(Duration::from_secs(3))
            .run(|_| async move {
                app_log.push("app ran");
                Ok::<(), String>(())
            })
            .await;
        assert_eq!(outcome.status, ExitStatus::Failed);
        assert_eq!(outcome.exit_code(), 1);
        match &outcome.reason {
            ShutdownReason::StartFailed(why) => assert!(why.contains("3.0 s"), "{why}"),
            other => panic!("{other:?}"),
        }
        let events = log.events();
        assert!(!events.contains(&"app ran".to_owned()), "{events:?}");
        assert!(
            events.contains(&"start feed gave up".to_owned()),
            "{events:?}"
        );
        // The stop follows the limit at once (the start gave up): 3 s on the paused clock.
        let took = begun.elapsed();
        assert!(
            took >= Duration::from_secs(3) && took < Duration::from_millis(3_100),
            "{took:?}"
        );
    })
    .await;
}

/// The application's grace is at most half the budget: asked for 10 s of a 4 s budget, an
/// application that never finishes is abandoned 2 s after the signal, and the shutdown has
/// the other 2 s.
#[tokio::test(start_paused = true)]
async fn the_app_grace_is_capped_at_half_the_budget() {
    bounded(async {
        let log = EventLog::default();
        let (injector, signals) = signal_channel();
        let signalled = Arc::new(std::sync::Mutex::new(None));
        let at = signalled.clone();
        let outcome = Runner::new(system(&log, Behavior::default()))
            .signals(signals)
            .shutdown_budget(Duration::from_secs(4))
            .app_grace(Duration::from_secs(10))
            .run(|ctx| async move {
                *at.lock().unwrap() = Some(tokio::time::Instant::now());
                injector.send(Signal::Terminate);
                ctx.shutdown_signal().triggered().await;
                std::future::pending::<Result<(), String>>().await
            })
            .await;
        let took = signalled.lock().unwrap().unwrap().elapsed();
        assert_eq!(outcome.status, ExitStatus::Failed, "abandoned: a failure");
        assert_eq!(outcome.report.unwrap().budget, Duration::from_secs(2));
        assert!(
            took <= Duration::from_secs(4) + DependencyAwareShutdown::CONTRACT_SLACK,
            "{took:?}"
        );
    })
    .await;
}

/// What the exit line and the log say of each reason, and what a runner shows of itself.
#[test]
fn reasons_and_the_runner_read_as_they_say() {
    let reasons = [
        (ShutdownReason::AppFinished, "application finished"),
        (
            ShutdownReason::AppFailed("no book".to_owned()),
            "application failed: no book",
        ),
        (ShutdownReason::Signal(Signal::Hangup), "SIGHUP received"),
        (
            ShutdownReason::CriticalFailure {
                component: "feed".to_owned(),
                cause: lifecycle_core::FailureCause::new("socket lost"),
            },
            "critical failure in feed: socket lost",
        ),
        (
            ShutdownReason::StartFailed("start did not finish within 3.0 s".to_owned()),
            "start did not finish within 3.0 s",
        ),
    ];
    for (reason, text) in reasons {
        assert_eq!(reason.to_string(), text);
    }
    let runner = Runner::new(DependencyAwareShutdown::new("desk"))
        .shutdown_budget(Duration::from_secs(7))
        .app_grace(Duration::from_secs(3));
    let shown = format!("{runner:?}");
    for part in ["Runner", "desk", "budget: 7s", "app_grace: 3s"] {
        assert!(shown.contains(part), "{part} missing from {shown}");
    }
}
