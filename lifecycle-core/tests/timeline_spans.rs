//! The lifecycle timeline: start, running and shutdown emit one tree of stable spans
//! (`start`/`shutdown` -> `phase` -> `resource`, a group's own tree nested under its
//! `resource`), with `component`, `priority`, `outcome` and `duration_ms` matching the report.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Behavior, EventLog, Probe};
use lifecycle_core::{
    DependencyAwareShutdown, NoSignals, ResourceGroup, Runner, ShutdownPriority, timeline,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A span as the capture saw it.
#[derive(Debug, Clone, Default)]
struct Captured {
    name: String,
    parent: Option<u64>,
    fields: HashMap<String, String>,
    closed: bool,
}

#[derive(Clone, Default)]
struct Capture(
    Arc<Mutex<HashMap<u64, Captured>>>,
    Arc<Mutex<Vec<Captured>>>,
);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().target() != timeline::TARGET {
            return;
        }
        let parent = ctx
            .span_scope(id)
            .and_then(|mut scope| scope.nth(1))
            .map(|p| p.id().into_u64());
        let mut span = Captured {
            name: attrs.metadata().name().to_owned(),
            parent,
            ..Captured::default()
        };
        attrs.record(&mut Fields(&mut span.fields));
        self.0.lock().unwrap().insert(id.into_u64(), span);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        if let Some(span) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != timeline::TARGET {
            return;
        }
        let mut captured = Captured {
            name: event.metadata().name().to_owned(),
            ..Captured::default()
        };
        event.record(&mut Fields(&mut captured.fields));
        self.1.lock().unwrap().push(captured);
    }
    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        if let Some(span) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            span.closed = true;
        }
    }
}

impl Capture {
    fn spans(&self) -> HashMap<u64, Captured> {
        self.0.lock().unwrap().clone()
    }

    fn events(&self) -> Vec<Captured> {
        self.1.lock().unwrap().clone()
    }

    /// Runs `body` to its end (within 20 s) on a current-thread runtime, capturing.
    fn run<T>(&self, body: impl std::future::Future<Output = T>) -> T {
        let mut runtime = tokio::runtime::Builder::new_current_thread();
        self.run_on(&mut runtime, Duration::from_secs(20), body)
    }

    /// Runs `body` to its end (within `limit` of the paused clock) on a current-thread runtime
    /// whose clock starts paused, capturing.
    fn run_paused<T>(&self, limit: Duration, body: impl std::future::Future<Output = T>) -> T {
        let mut runtime = tokio::runtime::Builder::new_current_thread();
        self.run_on(runtime.start_paused(true), limit, body)
    }

    fn run_on<T>(
        &self,
        runtime: &mut tokio::runtime::Builder,
        limit: Duration,
        body: impl std::future::Future<Output = T>,
    ) -> T {
        let subscriber = tracing_subscriber::registry().with(self.clone());
        let runtime = runtime.enable_all().build().unwrap();
        tracing::subscriber::with_default(subscriber, || {
            runtime.block_on(lifecycle_core::testing::within(limit, body))
        })
    }
}

fn find<'a>(
    spans: &'a HashMap<u64, Captured>,
    name: &str,
    component: &str,
    op: Option<&str>,
) -> (u64, &'a Captured) {
    spans
        .iter()
        .find(|(_, s)| {
            s.name == name
                && s.fields.get("component").map(String::as_str) == Some(component)
                && op.is_none_or(|op| s.fields.get("op").map(String::as_str) == Some(op))
        })
        .map(|(id, s)| (*id, s))
        .unwrap_or_else(|| panic!("no {name} span of {component}: {spans:#?}"))
}

/// "slow": its start waits until a stop asks it to give up.
fn slow_start(log: &EventLog) -> Arc<Probe> {
    Probe::new("slow", log, Behavior::default().start_waiting_for_stop())
}

#[test]
fn start_running_and_shutdown_form_one_tree_that_matches_the_report() {
    let capture = Capture::default();
    let outcome = capture.run(async {
        let log = EventLog::default();
        let mut members = DependencyAwareShutdown::new("exchange");
        members.register(
            Probe::new("socket", &log, Behavior::default().with_worker()),
            ShutdownPriority::High,
        );
        let mut system = DependencyAwareShutdown::new("trading");
        system.register(
            Arc::new(ResourceGroup::new("exchange", members)),
            ShutdownPriority::CriticalFirst,
        );
        system.register(
            Probe::new("limiter", &log, Behavior::default()),
            ShutdownPriority::Cleanup,
        );
        Runner::new(system)
            .signals(NoSignals)
            .run(|_| async { Ok::<(), String>(()) })
            .await
    });
    let report = outcome.report.unwrap();
    let spans = capture.spans();
    assert!(spans.values().all(|s| s.closed), "open spans: {spans:#?}");

    // Start: start -> phase -> resource, the group's own start nested in its resource span.
    let (start, start_span) = find(&spans, "start", "trading", None);
    assert_eq!(start_span.fields["outcome"], "ok");
    let (exchange_start, exchange_start_span) = find(&spans, "resource", "exchange", Some("start"));
    let phase = spans[&exchange_start_span.parent.unwrap()].clone();
    assert_eq!((phase.name.as_str(), phase.parent), ("phase", Some(start)));
    assert_eq!(exchange_start_span.fields["priority"], "critical-first");
    let (_, inner_start) = find(&spans, "start", "exchange", None);
    assert_eq!(inner_start.parent, Some(exchange_start));
    find(&spans, "running", "trading", None);

    // Shutdown: shutdown -> phase -> resource, with the report's outcomes and durations.
    let (shutdown, shutdown_span) = find(&spans, "shutdown", "trading", None);
    assert_eq!(shutdown_span.fields["outcome"], report.outcome().as_str());
    for entry in report.resources() {
        let (_, resource) = find(&spans, "resource", &entry.name, Some("stop"));
        assert_eq!(resource.fields["outcome"], entry.outcome.as_str());
        assert_eq!(resource.fields["priority"], entry.priority.as_str());
        let duration_ms: f64 = resource.fields["duration_ms"].parse().unwrap();
        assert!(
            (duration_ms - entry.duration.as_secs_f64() * 1e3).abs() < 1e-6,
            "{duration_ms} vs {:?}",
            entry.duration
        );
        let phase = &spans[&resource.parent.unwrap()];
        assert_eq!(phase.name, "phase");
        assert_eq!(phase.parent, Some(shutdown));
        assert_eq!(phase.fields["priority"], entry.priority.as_str());
    }
    // The group's members shut down under the group's resource span.
    let (exchange_stop, _) = find(&spans, "resource", "exchange", Some("stop"));
    let (_, inner_shutdown) = find(&spans, "shutdown", "exchange", None);
    assert_eq!(inner_shutdown.parent, Some(exchange_stop));
    let (_, socket) = find(&spans, "resource", "socket", Some("stop"));
    assert_eq!(socket.fields["outcome"], "clean");
    assert!(socket.fields.contains_key("duration_ms"));
}

#[test]
fn a_start_interrupted_by_a_shutdown_starts_nothing_more_and_says_so() {
    let capture = Capture::default();
    let log = EventLog::default();
    let (interrupted, failed) = capture.run_paused(Duration::from_secs(20), async {
        // Cleanup starts first, CriticalFirst last.
        let mut system = DependencyAwareShutdown::new("interrupted");
        system.register(slow_start(&log), ShutdownPriority::Cleanup);
        system.register(
            Probe::new("later", &log, Behavior::default()),
            ShutdownPriority::CriticalFirst,
        );
        let mut start = std::pin::pin!(system.start_all());
        log.poll_until_logged(start.as_mut(), "start slow").await;
        let (report, result) = tokio::join!(system.shutdown_all(Duration::from_secs(2)), start);
        assert!(report.is_clean(), "{report}");
        let mut refusing = DependencyAwareShutdown::new("refused");
        refusing.register(
            Probe::new("refuser", &log, Behavior::default().failing_start()),
            ShutdownPriority::Cleanup,
        );
        (result.unwrap_err(), refusing.start_all().await.unwrap_err())
    });
    assert!(interrupted.interrupted, "{interrupted}");
    assert!(!failed.interrupted, "{failed}");
    assert!(
        !log.events().iter().any(|e| e == "start later"),
        "{:?}",
        log.events()
    );
    let spans = capture.spans();
    let (_, start) = find(&spans, "start", "interrupted", None);
    assert_eq!(start.fields["outcome"], "interrupted", "{start:?}");
    let (_, start) = find(&spans, "start", "refused", None);
    assert_eq!(start.fields["outcome"], "failed", "{start:?}");
}

/// The runner drives a start that a signal or the start timeout interrupts to its end
/// alongside the shutdown: its `start` span closes saying "interrupted" (it was left unpolled
/// once the shutdown began, its deadline taken as now minus the budget, unnoticed).
#[test]
fn the_runner_drives_an_interrupted_start_to_its_end() {
    for (name, by_signal) in [("signalled", true), ("timed-out", false)] {
        let capture = Capture::default();
        let log = EventLog::default();
        let outcome = capture.run_paused(Duration::from_secs(60), async {
            let mut system = DependencyAwareShutdown::new(name);
            system.register(slow_start(&log), ShutdownPriority::Cleanup);
            let (injector, signals) = lifecycle_core::signal_channel();
            let watcher = log.clone();
            if by_signal {
                tokio::spawn(async move {
                    watcher.logged("start slow").await;
                    injector.send(lifecycle_core::Signal::Interrupt);
                });
            }
            Runner::new(system)
                .signals(signals)
                .start_timeout(Duration::from_secs(3))
                .shutdown_budget(Duration::from_secs(4))
                .run(|_| async { Ok::<(), String>(()) })
                .await
        });
        assert!(outcome.report.is_some(), "{name}: {outcome:?}");
        assert_eq!(
            matches!(outcome.reason, lifecycle_core::ShutdownReason::Signal(_)),
            by_signal,
            "{name}: {:?}",
            outcome.reason
        );
        let spans = capture.spans();
        let (_, start) = find(&spans, "start", name, None);
        assert_eq!(
            start.fields.get("outcome").map(String::as_str),
            Some("interrupted"),
            "{name}: {start:?}"
        );
        assert!(start.closed, "{name}: {start:?}");
    }
}

/// Every managed task has a `task` span: a root (it follows from the span it was spawned in,
/// which it does not hold open), with its manager, name, id and how it ended.
#[test]
fn each_task_has_a_root_span_that_says_how_it_ended() {
    use lifecycle_core::TaskManager;
    let capture = Capture::default();
    let (ids, spawner_closed_while_running) = capture.run(async {
            let tasks = TaskManager::new("feed");
            let outer = tracing::info_span!(target: timeline::TARGET, "resource", component = "feed", op = "start");
            let signal = tasks.signal().clone();
            let ids = outer.in_scope(|| {
                [
                    tasks.spawn("quick", async {}).unwrap(),
                    tasks.spawn("broken", async { Err::<(), _>("no route") }).unwrap(),
                    tasks.spawn("reader", async move { signal.triggered().await }).unwrap(),
                    tasks.spawn("stubborn", std::future::pending::<()>()).unwrap(),
                    tasks.spawn("fragile", async { panic!("boom") as () }).unwrap(),
                ]
            });
            drop(outer);
            tokio::task::yield_now().await;
            let closed = capture
                .spans()
                .values()
                .any(|s| s.name == "resource" && s.closed);
            let report = tasks
                .shutdown(tokio::time::Instant::now() + Duration::from_millis(200))
                .await;
            assert_eq!(report.counts.aborted, 1, "{report:?}");
            (ids, closed)
    });
    assert!(
        spawner_closed_while_running,
        "a task held its spawner's span open"
    );
    let spans = capture.spans();
    let outcomes: HashMap<&str, &str> = spans
        .values()
        .filter(|s| s.name == "task")
        .map(|s| {
            assert_eq!(s.parent, None, "a root: {s:?}");
            assert_eq!(s.fields["component"], "feed");
            assert_eq!(s.fields["critical"], "false");
            assert!(s.closed);
            let ms: f64 = s.fields["duration_ms"].parse().unwrap();
            assert!(ms >= 0.0);
            (s.fields["task"].as_str(), s.fields["outcome"].as_str())
        })
        .collect();
    assert_eq!(
        outcomes,
        HashMap::from([
            ("quick", "finished"),
            ("broken", "failed"),
            ("reader", "stopped"),
            ("stubborn", "aborted"),
            ("fragile", "panicked"),
        ])
    );
    let mut task_ids: Vec<String> = spans
        .values()
        .filter(|s| s.name == "task")
        .map(|s| s.fields["task_id"].clone())
        .collect();
    task_ids.sort();
    let mut expected: Vec<String> = ids.iter().map(|id| id.as_u64().to_string()).collect();
    expected.sort();
    assert_eq!(task_ids, expected);
}

/// A signal the runner receives is a `signal` event saying what it does.
#[test]
fn signals_are_timeline_events() {
    use lifecycle_core::{Signal, signal_channel};
    let capture = Capture::default();
    let outcome = capture.run(async {
        let log = EventLog::default();
        let mut system = DependencyAwareShutdown::new("trading");
        system.register(
            Probe::new("limiter", &log, Behavior::default()),
            ShutdownPriority::Cleanup,
        );
        let (injector, signals) = signal_channel();
        Runner::new(system)
            .signals(signals)
            .run(|app| async move {
                injector.send(Signal::Terminate);
                app.shutdown_signal().triggered().await;
                Ok::<(), String>(())
            })
            .await
    });
    assert_eq!(outcome.reason.to_string(), "SIGTERM received");
    let events = capture.events();
    let signals: Vec<&Captured> = events.iter().filter(|e| e.name == "signal").collect();
    assert_eq!(signals.len(), 1, "{events:?}");
    assert_eq!(signals[0].fields["component"], "trading");
    assert_eq!(signals[0].fields["effect"], "shutdown");
    assert!(
        signals[0].fields["signal"].contains("SIGTERM"),
        "{:?}",
        signals[0]
    );
}
