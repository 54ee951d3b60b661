//! DependencyAwareShutdown: phase order, dependencies, one global deadline, rollback, report.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Behavior, EventLog, NeverStops, Probe, Scripted, bounded};
use lifecycle_core::{
    AsyncResource, DependencyAwareShutdown, DependencyError, InFlightStop, ShutdownPriority,
    StopOutcome,
};
use tokio::time::Instant;

fn system_of(
    log: &EventLog,
    members: &[(&str, ShutdownPriority, Behavior)],
) -> DependencyAwareShutdown {
    let mut system = DependencyAwareShutdown::new("test-system");
    for (name, priority, behavior) in members {
        system.register(Probe::new(name, log, behavior.clone()), *priority);
    }
    system
}

#[tokio::test]
async fn phases_stop_in_priority_order_and_start_in_reverse() {
    bounded(async {
        let log = EventLog::default();
        use ShutdownPriority::*;
        let system = system_of(
            &log,
            &[
                ("limiter", Cleanup, Behavior::default()),
                ("orders", CriticalFirst, Behavior::default()),
                ("streams", Low, Behavior::default()),
                ("public-ws", Medium, Behavior::default()),
                ("private-ws", High, Behavior::default()),
            ],
        );
        system.start_all().await.unwrap();
        assert_eq!(
            log.events(),
            vec![
                "start limiter",
                "start streams",
                "start public-ws",
                "start private-ws",
                "start orders"
            ]
        );
        let report = system.shutdown_all(Duration::from_secs(10)).await;
        let stops: Vec<_> = log.events().into_iter().skip(5).collect();
        assert_eq!(
            stops,
            vec![
                "stop orders",
                "stop private-ws",
                "stop public-ws",
                "stop streams",
                "stop limiter"
            ]
        );
        assert!(report.is_clean(), "{report}");
        let phases: Vec<_> = report.phases.iter().map(|p| p.priority).collect();
        assert_eq!(phases, ShutdownPriority::ALL.to_vec());
    })
    .await;
}

#[tokio::test]
async fn within_a_phase_a_user_stops_before_what_it_uses() {
    bounded(async {
        let log = EventLog::default();
        let mut system = DependencyAwareShutdown::new("deps");
        let http = system.register(
            Probe::new("http", &log, Behavior::default()),
            ShutdownPriority::Cleanup,
        );
        let limiter = system.register(
            Probe::new("limiter", &log, Behavior::default()),
            ShutdownPriority::Cleanup,
        );
        let cache = system.register(
            Probe::new("cache", &log, Behavior::default()),
            ShutdownPriority::Cleanup,
        );
        // cache uses http, http uses limiter.
        system.add_dependency(cache, http).unwrap();
        system.add_dependency(http, limiter).unwrap();
        system.start_all().await.unwrap();
        assert!(log.position("start limiter") < log.position("start http"));
        assert!(log.position("start http") < log.position("start cache"));
        assert!(system.shutdown_all(Duration::from_secs(5)).await.is_clean());
        assert!(log.position("stop cache") < log.position("stop http"));
        assert!(log.position("stop http") < log.position("stop limiter"));
    })
    .await;
}

#[test]
fn impossible_dependencies_are_refused() {
    let log = EventLog::default();
    let mut system = DependencyAwareShutdown::new("invalid");
    let orders = system.register(
        Probe::new("orders", &log, Behavior::default()),
        ShutdownPriority::CriticalFirst,
    );
    let limiter = system.register(
        Probe::new("limiter", &log, Behavior::default()),
        ShutdownPriority::Cleanup,
    );
    let other = system.register(
        Probe::new("other", &log, Behavior::default()),
        ShutdownPriority::Cleanup,
    );
    // The limiter cannot use the orders component: it would have to stop first.
    assert!(matches!(
        system.add_dependency(limiter, orders),
        Err(DependencyError::PriorityConflict { .. })
    ));
    system.add_dependency(limiter, other).unwrap();
    assert!(matches!(
        system.add_dependency(other, limiter),
        Err(DependencyError::Cycle { .. })
    ));
    assert!(matches!(
        system.add_dependency(other, other),
        Err(DependencyError::Cycle { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn phase_deadlines_never_add_up_past_the_total() {
    bounded(async {
        let log = EventLog::default();
        let hang = Behavior::default().hanging_stop().with_worker();
        let system = system_of(
            &log,
            &ShutdownPriority::ALL
                .iter()
                .map(|p| (p.as_str(), *p, hang.clone()))
                .collect::<Vec<_>>(),
        );
        system.start_all().await.unwrap();
        let begun = Instant::now();
        let total = Duration::from_millis(500);
        let report = system.shutdown_all(total).await;
        // Each phase got what was left: the first hung until the global deadline, the rest got
        // no time at all, and the whole stayed within the total (per-phase timeouts of 5 s each
        // would have added up to 25 s).
        assert!(begun.elapsed() <= total, "{:?}", begun.elapsed());
        assert!(report.duration <= total);
        assert_eq!(report.phases.len(), 5);
        assert!(
            report
                .resources()
                .all(|r| r.outcome == StopOutcome::Incomplete),
            "{report}"
        );
        // Every resource was still asked to stop, and its tasks were shut down.
        assert_eq!(
            log.events()
                .iter()
                .filter(|e| e.starts_with("stop "))
                .count(),
            5
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_stop_that_breaks_its_contract_is_abandoned_and_the_shutdown_goes_on() {
    bounded(async {
        let log = EventLog::default();
        let mut system = DependencyAwareShutdown::new("rogue");
        system.register(NeverStops::new("rogue"), ShutdownPriority::High);
        system.register(
            Probe::new("after", &log, Behavior::default()),
            ShutdownPriority::Low,
        );
        system.start_all().await.unwrap();
        let begun = Instant::now();
        let report = system.shutdown_all(Duration::from_secs(1)).await;
        assert!(
            begun.elapsed() <= Duration::from_millis(1100),
            "{:?}",
            begun.elapsed()
        );
        let abandoned: Vec<_> = report.abandoned().map(|r| r.name.to_string()).collect();
        assert_eq!(abandoned, vec!["rogue"]);
        // The next phase still ran (with what was left: nothing, but it was asked).
        assert!(log.events().contains(&"stop after".to_owned()));
        assert!(report.to_string().contains("abandoned"));
    })
    .await;
}

#[tokio::test]
async fn a_failed_start_stops_everything_that_started() {
    bounded(async {
        let log = EventLog::default();
        use ShutdownPriority::*;
        let system = system_of(
            &log,
            &[
                ("limiter", Cleanup, Behavior::default().with_worker()),
                ("streams", Low, Behavior::default()),
                ("private-ws", High, Behavior::default().failing_start()),
                ("orders", CriticalFirst, Behavior::default()),
            ],
        );
        let error = system.start_all().await.unwrap_err();
        assert_eq!(error.failures.len(), 1);
        assert_eq!(error.failures[0].component(), "private-ws");
        // orders never started; the rest was stopped in shutdown order.
        let events = log.events();
        assert!(!events.contains(&"start orders".to_owned()), "{events:?}");
        assert!(log.position("stop streams") < log.position("stop limiter"));
        let limiter = error.rollback.resource("limiter").unwrap();
        assert_eq!(limiter.outcome, StopOutcome::Clean);
        assert_eq!(
            error.rollback.resource("orders").unwrap().outcome,
            StopOutcome::NotStarted
        );
        for (resource, _) in system.resources() {
            assert!(!resource.is_running(), "{} still running", resource.name());
        }
    })
    .await;
}

#[tokio::test]
async fn the_report_renders_as_a_table() {
    bounded(async {
        let log = EventLog::default();
        let system = system_of(
            &log,
            &[
                (
                    "orders",
                    ShutdownPriority::CriticalFirst,
                    Behavior::default().with_worker(),
                ),
                ("limiter", ShutdownPriority::Cleanup, Behavior::default()),
            ],
        );
        system.start_all().await.unwrap();
        let report = system.shutdown_all(Duration::from_secs(5)).await;
        let table = report.to_string();
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("shutdown of test-system: clean"),
            "{table}"
        );
        assert!(
            lines[1].contains("phase")
                && lines[1].contains("component")
                && lines[1].contains("stopped")
        );
        assert!(
            lines[2].starts_with("critical-first")
                && lines[2].contains("orders")
                && lines[2].contains("clean"),
            "{table}"
        );
        assert!(
            lines[3].starts_with("cleanup") && lines[3].contains("limiter"),
            "{table}"
        );
        let orders = report.resource("orders").unwrap();
        assert_eq!(
            orders
                .report
                .as_ref()
                .unwrap()
                .tasks
                .as_ref()
                .unwrap()
                .counts
                .stopped,
            1
        );
        assert!(lifecycle_core::metrics().shutdowns >= 1);
    })
    .await;
}

#[tokio::test]
async fn first_failure_names_the_failed_resource() {
    bounded(async {
        let log = EventLog::default();
        let trigger = Arc::new(tokio::sync::Notify::new());
        let system = system_of(
            &log,
            &[
                ("healthy", ShutdownPriority::Low, Behavior::default()),
                (
                    "feed",
                    ShutdownPriority::Medium,
                    Behavior::default().failing_critical_on(trigger.clone()),
                ),
            ],
        );
        system.start_all().await.unwrap();
        trigger.notify_one();
        let (name, cause) = tokio::time::timeout(Duration::from_secs(5), system.first_failure())
            .await
            .expect("the failure went unnoticed");
        assert_eq!(name, "feed");
        assert!(cause.message().contains("feed lost"));
        let report = system.shutdown_all(Duration::from_secs(5)).await;
        assert_eq!(
            report.resource("feed").unwrap().outcome,
            StopOutcome::Failed
        );
        assert_eq!(
            report.resource("healthy").unwrap().outcome,
            StopOutcome::Clean
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_resource_deadline_is_cut_from_the_global_one() {
    bounded(async {
        let log = EventLog::default();
        let mut system = DependencyAwareShutdown::new("own-deadline");
        let hang = Behavior::default().hanging_stop();
        let slow = system.register(Probe::new("slow", &log, hang), ShutdownPriority::High);
        system.register(
            Probe::new("next", &log, Behavior::default()),
            ShutdownPriority::Low,
        );
        system
            .set_deadline(slow, Duration::from_millis(100))
            .unwrap();
        system.start_all().await.unwrap();
        let report = system.shutdown_all(Duration::from_secs(10)).await;
        let slow = report.resource("slow").unwrap();
        // Its own 100 ms, of which the lifecycle keeps a tenth to hand the report over.
        assert_eq!(slow.duration, Duration::from_millis(90));
        assert_eq!(slow.outcome, StopOutcome::Incomplete);
        assert!(!slow.abandoned());
        // The rest got the time that was left, and stopped cleanly.
        assert_eq!(report.resource("next").unwrap().outcome, StopOutcome::Clean);
        assert_eq!(report.duration, Duration::from_millis(90));
    })
    .await;
}

#[tokio::test]
async fn the_report_is_machine_readable() {
    bounded(async {
        let log = EventLog::default();
        let system = system_of(
            &log,
            &[(
                "orders",
                ShutdownPriority::CriticalFirst,
                Behavior::default().with_worker(),
            )],
        );
        system.start_all().await.unwrap();
        let report = system.shutdown_all(Duration::from_secs(5)).await;
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["name"], "test-system");
        let resource = &json["phases"][0]["resources"][0];
        assert_eq!(resource["name"], "orders");
        assert_eq!(resource["priority"], "CriticalFirst");
        assert_eq!(resource["outcome"], "Clean");
        assert_eq!(resource["report"]["tasks"]["counts"]["stopped"], 1);
    })
    .await;
}

/// A stop that says when it began and returns when `release` turns true.
fn gated(
    name: &str,
    begun: &tokio::sync::mpsc::UnboundedSender<String>,
    release: &tokio::sync::watch::Receiver<bool>,
) -> Scripted {
    let (name_owned, begun, release) = (name.to_owned(), begun.clone(), release.clone());
    Scripted::stopping(name, move |_deadline| {
        let (name, begun, mut release) = (name_owned.clone(), begun.clone(), release.clone());
        async move {
            begun.send(name).unwrap();
            release.wait_for(|released| *released).await.unwrap();
        }
    })
}

fn names(list: &[InFlightStop]) -> Vec<String> {
    list.iter().map(|s| s.name.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn in_flight_lists_every_stop_under_way_with_the_parts_of_a_composite() {
    bounded(async {
        let (begun_tx, mut begun_rx) = tokio::sync::mpsc::unbounded_channel();
        let (release_tx, release_rx) = tokio::sync::watch::channel(false);
        let log = EventLog::default();
        let mut system = DependencyAwareShutdown::new("listed");
        let socket = InFlightStop {
            name: "socket".into(),
            priority: ShutdownPriority::High,
            elapsed: Duration::ZERO,
            abandoned: false,
        };
        system.register(
            gated("beta", &begun_tx, &release_rx).build(),
            ShutdownPriority::High,
        );
        system.register(
            gated("alpha", &begun_tx, &release_rx)
                .with_parts(vec![socket])
                .build(),
            ShutdownPriority::High,
        );
        system.register(
            Probe::new("ui", &log, Behavior::default()),
            ShutdownPriority::Low,
        );
        // Nothing started, nothing to leave behind.
        assert!(system.unfinished().is_empty(), "{:?}", system.unfinished());
        system.start_all().await.unwrap();
        assert_eq!(names(&system.unfinished()), ["beta", "alpha", "ui"]);
        assert!(system.in_flight().is_empty());

        let shutdown = system.shutdown_all(Duration::from_secs(10));
        let observe = async {
            let mut begun = vec![
                begun_rx.recv().await.unwrap(),
                begun_rx.recv().await.unwrap(),
            ];
            begun.sort();
            assert_eq!(begun, ["alpha", "beta"]);
            tokio::time::sleep(Duration::from_millis(30)).await;
            let in_flight = system.in_flight();
            let unfinished = system.unfinished();
            release_tx.send(true).unwrap();
            (in_flight, unfinished)
        };
        let (report, (in_flight, unfinished)) = tokio::join!(shutdown, observe);

        // Both concurrent stops are listed, each once, the composite's part under its name.
        let expected = |name: &str, priority, elapsed| InFlightStop {
            name: name.into(),
            priority,
            elapsed,
            abandoned: false,
        };
        let busy = Duration::from_millis(30);
        assert_eq!(
            in_flight,
            vec![
                expected("alpha", ShutdownPriority::High, busy),
                expected("alpha/socket", ShutdownPriority::High, Duration::ZERO),
                expected("beta", ShutdownPriority::High, busy),
            ]
        );
        // What a forced exit would leave: the stops under way, then what has not begun its.
        assert_eq!(
            unfinished,
            vec![
                expected("alpha", ShutdownPriority::High, busy),
                expected("alpha/socket", ShutdownPriority::High, Duration::ZERO),
                expected("beta", ShutdownPriority::High, busy),
                expected("ui", ShutdownPriority::Low, Duration::ZERO),
            ]
        );
        assert!(report.is_clean(), "{report}");
        // Everything stopped: nothing in flight, nothing left behind.
        assert!(system.in_flight().is_empty(), "{:?}", system.in_flight());
        assert!(system.unfinished().is_empty(), "{:?}", system.unfinished());
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_by_keeps_a_fifth_of_a_short_time_as_its_slack() {
    bounded(async {
        // (time until the limit, the deadline the only resource is given)
        for (left, deadline) in [(50, 40), (1000, 980)] {
            let (given_tx, mut given_rx) = tokio::sync::mpsc::unbounded_channel();
            let mut system = DependencyAwareShutdown::new("nested");
            system.register(
                Scripted::stopping("only", move |deadline| {
                    given_tx.send(deadline).unwrap();
                    async {}
                })
                .build(),
                ShutdownPriority::Medium,
            );
            system.start_all().await.unwrap();
            let begun = Instant::now();
            let report = system
                .shutdown_by(begun + Duration::from_millis(left))
                .await;
            assert!(report.is_clean(), "{report}");
            assert_eq!(
                given_rx.recv().await.unwrap(),
                begun + Duration::from_millis(deadline),
                "{left} ms left"
            );
        }
    })
    .await;
}

#[tokio::test(start_paused = true)]
#[tracing_test::traced_test]
async fn the_finished_shutdown_logs_how_long_it_took_in_milliseconds() {
    bounded(async {
        let mut system = DependencyAwareShutdown::new("timed");
        system.register(
            Scripted::stopping("slow", |_| tokio::time::sleep(Duration::from_millis(250))).build(),
            ShutdownPriority::Medium,
        );
        system.start_all().await.unwrap();
        let report = system.shutdown_all(Duration::from_secs(1)).await;
        assert_eq!(report.duration, Duration::from_millis(250), "{report}");
    })
    .await;
    let text = test_support::captured_logs!();
    let finished = text
        .lines()
        .find(|line| line.contains("shutdown finished"))
        .unwrap_or_else(|| panic!("no end of shutdown logged:\n{text}"));
    assert!(
        finished.contains(" duration_ms=250.0 ")
            && finished.contains(" shutdown_duration_ms=250.0 "),
        "{finished}"
    );
}

#[tokio::test(start_paused = true)]
#[tracing_test::traced_test]
async fn only_a_broken_order_is_logged_as_one() {
    bounded(async {
        let log = EventLog::default();
        for (name, user_hangs) in [("kept", false), ("broken", true)] {
            let mut system = DependencyAwareShutdown::new(name);
            // A user whose stop never returns, or one that returns at once.
            let user = Scripted::stopping("user", move |_| async move {
                if user_hangs {
                    std::future::pending::<()>().await;
                }
            });
            let user = system.register(user.build(), ShutdownPriority::High);
            let used = system.register(
                Probe::new("used", &log, Behavior::default()),
                ShutdownPriority::High,
            );
            system.add_dependency(user, used).unwrap();
            system.start_all().await.unwrap();
            let report = system.shutdown_all(Duration::from_secs(1)).await;
            assert_eq!(
                report.broken_orderings().next().is_some(),
                user_hangs,
                "{report}"
            );
            let text = test_support::captured_logs!();
            assert_eq!(
                text.contains("users overran their share of the phase"),
                user_hangs,
                "{name}:\n{text}"
            );
        }
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_during_a_phase_start_starts_nothing_more_of_that_phase() {
    bounded(async {
        let log = EventLog::default();
        let mut system = DependencyAwareShutdown::new("cut-short");
        let (start_log, stop_log) = (log.clone(), log.clone());
        let base = Scripted::stopping("base", move |_| {
            stop_log.push("stop base");
            async {}
        })
        .starting(move || {
            let log = start_log.clone();
            async move {
                log.push("start base");
                // Deaf to the stop: it starts all the same, after the shutdown began.
                tokio::time::sleep(Duration::from_millis(10)).await;
                log.push("base started");
                Ok(())
            }
        });
        let (start_log, stop_log) = (log.clone(), log.clone());
        let top = Scripted::stopping("top", move |_| {
            stop_log.push("stop top");
            async {}
        })
        .starting(move || {
            start_log.push("start top");
            async { Ok(()) }
        });
        let base = system.register(base.build(), ShutdownPriority::Cleanup);
        let top = system.register(top.build(), ShutdownPriority::Cleanup);
        system.add_dependency(top, base).unwrap();

        let mut start = std::pin::pin!(system.start_all());
        log.poll_until_logged(start.as_mut(), "start base").await;
        let (report, result) = tokio::join!(system.shutdown_all(Duration::from_secs(1)), start);
        let error = result.unwrap_err();
        assert!(error.interrupted, "{error}");
        assert!(error.failures.is_empty(), "{error}");
        // The base started after the shutdown began: what uses it was not started at all.
        assert!(
            log.events().iter().any(|e| e == "base started"),
            "{:?}",
            log.events()
        );
        assert!(
            !log.events().iter().any(|e| e == "start top"),
            "{:?}",
            log.events()
        );
        assert!(report.resource("top").is_some(), "{report}");
    })
    .await;
}
