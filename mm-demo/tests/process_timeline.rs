//! `--timeline PATH` and `--timeline-svg PATH` on the binary: the Chrome trace of a SIGTERM'ed
//! run holds every component of its shutdown report, on its own track, with the report's
//! durations, plus tasks, the signal and the orders cancelled, and no secret; the picture has
//! a band per phase and a bar per component; a failing sweep is marked as a failure in both;
//! a forced exit still leaves both files whole.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

mod common;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use common::{
    Demo, HELD_UP_SHUTDOWN, SLACK, bounded, force_the_exit_mid_sweep, still_venue,
    wait_for_open_orders, wait_until_resting,
};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET};
use serde_json::Value;

/// The REST path of placing, cancelling and querying an order.
const ORDER_PATH: &str = "/api/v3/order";

/// The three files of one run, removed when dropped.
struct Files {
    timeline: PathBuf,
    svg: PathBuf,
    report: PathBuf,
}

impl Files {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join("mm-demo-timeline-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let base = format!("{tag}-{}", std::process::id());
        Self {
            timeline: dir.join(format!("{base}.json")),
            svg: dir.join(format!("{base}.svg")),
            report: dir.join(format!("{base}-report.json")),
        }
    }

    fn args(&self) -> Vec<String> {
        vec![
            "--timeline".into(),
            self.timeline.display().to_string(),
            "--timeline-svg".into(),
            self.svg.display().to_string(),
            "--report-json".into(),
            self.report.display().to_string(),
        ]
    }

    fn read(&self) -> (String, Value, String) {
        let text = std::fs::read_to_string(&self.timeline).unwrap();
        let trace: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the timeline is not valid JSON ({e}):\n{text}"));
        let svg = std::fs::read_to_string(&self.svg).unwrap();
        // Nothing left beside them: the raw trace and the temporary files are gone.
        for path in [&self.timeline, &self.svg] {
            for suffix in [".raw", ".partial"] {
                let mut other = path.as_os_str().to_owned();
                other.push(suffix);
                assert!(
                    !PathBuf::from(other).exists(),
                    "{suffix} left beside {path:?}"
                );
            }
        }
        (text, trace, svg)
    }

    fn report(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.report).unwrap()).unwrap()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        for path in [&self.timeline, &self.svg, &self.report] {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn launch(sim: &exchange_sim::SimVenue, files: &Files, extra: &[&str]) -> Demo {
    let mut args: Vec<String> = files.args();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Demo::against(sim, &args)
}

/// The trace's complete slices and instants, with their track's name.
struct Trace<'a> {
    slices: Vec<&'a Value>,
    instants: Vec<&'a Value>,
    tracks: HashMap<u64, String>,
}

impl<'a> Trace<'a> {
    fn of(trace: &'a Value) -> Self {
        let entries = trace["traceEvents"].as_array().unwrap();
        let tracks = entries
            .iter()
            .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
            .map(|e| {
                (
                    e["tid"].as_u64().unwrap(),
                    e["args"]["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        Self {
            slices: entries.iter().filter(|e| e["ph"] == "X").collect(),
            instants: entries.iter().filter(|e| e["ph"] == "i").collect(),
            tracks,
        }
    }

    fn stops_of(&self, component: &str) -> Vec<&'a Value> {
        self.slices
            .iter()
            .copied()
            .filter(|s| {
                s["cat"] == "lifecycle.resource"
                    && s["args"]["op"] == "stop"
                    && s["args"]["component"] == component
            })
            .collect()
    }

    /// The name of the track `slice` is on, without its lane (`mexc (2)` is `mexc`'s second
    /// track, for a phase that began before the one before it ended).
    fn track_of(&self, slice: &Value) -> &str {
        let track = &self.tracks[&slice["tid"].as_u64().unwrap()];
        match track.rsplit_once(" (") {
            Some((base, lane)) if lane.ends_with(')') => base,
            _ => track,
        }
    }
}

/// The report's resources: (name, outcome, duration in ms).
fn report_resources(report: &Value) -> Vec<(String, String, f64)> {
    report["run"]["report"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|phase| phase["resources"].as_array().unwrap())
        .map(|r| {
            let d = &r["duration"];
            (
                r["name"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
                d["secs"].as_f64().unwrap() * 1e3 + d["nanos"].as_f64().unwrap() / 1e6,
            )
        })
        .collect()
}

/// A report outcome (`Clean`, `NotStarted`) as the timeline names it (`clean`, `not started`).
fn timeline_outcome(report_outcome: &str) -> String {
    let mut name = String::new();
    for (i, c) in report_outcome.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push(' ');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

/// `critical-first` and `CriticalFirst` are the same name.
fn same_name(a: &str, b: &str) -> bool {
    let plain = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    plain(a) == plain(b)
}

/// The components of the report that did not stop cleanly, nested parts included: (name,
/// outcome).
fn report_failures(report: &Value) -> Vec<(String, String)> {
    fn walk(stop: &Value, into: &mut Vec<(String, String)>) {
        if let (Some(name), Some(outcome)) = (stop["component"].as_str(), stop["outcome"].as_str())
            && outcome != "Clean"
        {
            into.push((name.to_owned(), outcome.to_owned()));
        }
        for child in stop["details"]["children"].as_array().into_iter().flatten() {
            walk(child, into);
        }
    }
    let mut failed = Vec::new();
    for phase in report["run"]["report"]["phases"].as_array().unwrap() {
        for resource in phase["resources"].as_array().unwrap() {
            if resource["outcome"] != "Clean" {
                failed.push((
                    resource["name"].as_str().unwrap().to_owned(),
                    resource["outcome"].as_str().unwrap().to_owned(),
                ));
            }
            for child in resource["report"]["details"]["children"]
                .as_array()
                .into_iter()
                .flatten()
            {
                walk(child, &mut failed);
            }
        }
    }
    failed.sort();
    failed.dedup();
    failed
}

fn has_class(node: &roxmltree::Node<'_, '_>, class: &str) -> bool {
    node.attribute("class")
        .is_some_and(|c| c.split(' ').any(|c| c == class))
}

/// The picture's bars (component, outcome) and bands (phase).
fn picture(svg: &str) -> (Vec<(String, String)>, Vec<String>, usize) {
    let tree = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("bad SVG ({e}):\n{svg}"));
    let bars = tree
        .descendants()
        .filter(|n| has_class(n, "bar"))
        .map(|n| {
            (
                n.attribute("data-component").unwrap().to_owned(),
                n.attribute("data-outcome").unwrap().to_owned(),
            )
        })
        .collect();
    let bands = tree
        .descendants()
        .filter(|n| has_class(n, "band"))
        .map(|n| n.attribute("data-phase").unwrap().to_owned())
        .collect();
    let marks = tree
        .descendants()
        .filter(|n| has_class(n, "failure-mark"))
        .count();
    (bars, bands, marks)
}

/// A SIGTERM while the orders rest: exit 0, and the timeline tells the shutdown as the report
/// does, component by component.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_run_s_timeline_has_every_component_of_its_report() {
    bounded(async {
        let sim = still_venue().await;
        let files = Files::new("sigterm");
        let mut demo = launch(&sim, &files, &[]);
        wait_until_resting(&sim, &demo).await;
        let listen_keys = sim.listen_keys(DEMO_API_KEY).unwrap();
        assert!(!listen_keys.is_empty());
        demo.signal("-TERM");
        let (code, _) = demo.exit_within(Duration::from_secs(30)).await;
        assert_eq!(code, 0, "{}\n{}", demo.stdout(), demo.stderr());
        let (text, trace, svg) = files.read();
        let report = files.report();
        let trace = Trace::of(&trace);

        let resources = report_resources(&report);
        assert!(resources.len() >= 5, "{resources:?}");
        for (name, outcome, report_ms) in &resources {
            let stops = trace.stops_of(name);
            assert_eq!(stops.len(), 1, "{name}: {stops:?}");
            let stop = stops[0];
            assert_eq!(trace.track_of(stop), name, "{name} on its own track");
            assert_eq!(
                stop["args"]["outcome"],
                timeline_outcome(outcome).as_str(),
                "{name}"
            );
            // The span records the duration the report was given...
            let recorded = stop["args"]["duration_ms"].as_f64().unwrap();
            assert!(
                (recorded - report_ms).abs() < 0.001,
                "{name}: {recorded} vs {report_ms}"
            );
            // ...and lasts as long on the track, give or take the span's own bookkeeping.
            let drawn = stop["dur"].as_f64().unwrap() / 1e3;
            assert!(
                drawn >= report_ms - 1.0 && drawn <= report_ms + SLACK.as_secs_f64() * 1e3,
                "{name}: drawn {drawn} ms, reported {report_ms} ms"
            );
        }
        // The shutdown as a whole, on the orchestrator's track, with its phases inside it.
        let shutdown = trace
            .slices
            .iter()
            .find(|s| s["cat"] == "lifecycle.shutdown" && s["args"]["component"] == "mexc")
            .unwrap();
        assert_eq!(shutdown["args"]["outcome"], "clean");
        let report_ms = {
            let d = &report["run"]["report"]["duration"];
            d["secs"].as_f64().unwrap() * 1e3 + d["nanos"].as_f64().unwrap() / 1e6
        };
        let recorded = shutdown["args"]["duration_ms"].as_f64().unwrap();
        assert!(
            (recorded - report_ms).abs() < 0.001,
            "{recorded} vs {report_ms}"
        );
        let phases: Vec<&str> = report["run"]["report"]["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["priority"].as_str().unwrap())
            .collect();
        let (begin, end) = (
            shutdown["ts"].as_f64().unwrap(),
            shutdown["ts"].as_f64().unwrap() + shutdown["dur"].as_f64().unwrap(),
        );
        for phase in &phases {
            let slice = trace
                .slices
                .iter()
                .find(|s| {
                    s["cat"] == "lifecycle.phase"
                        && s["args"]["op"] == "stop"
                        && s["args"]["component"] == "mexc"
                        && same_name(s["args"]["priority"].as_str().unwrap(), phase)
                })
                .unwrap_or_else(|| panic!("no phase {phase}"));
            assert_eq!(trace.track_of(slice), "mexc");
            let ts = slice["ts"].as_f64().unwrap();
            assert!(ts >= begin && ts <= end, "{phase} inside the shutdown");
        }
        // Starts, tasks and events are there too.
        assert!(trace.slices.iter().any(|s| s["cat"] == "lifecycle.start"));
        assert!(trace.slices.iter().any(|s| s["cat"] == "lifecycle.running"));
        let tasks: Vec<_> = trace
            .slices
            .iter()
            .filter(|s| s["cat"] == "lifecycle.task")
            .collect();
        assert!(!tasks.is_empty(), "task spans");
        assert!(tasks.iter().all(|t| trace.track_of(t).contains("tasks")));
        assert!(
            trace
                .instants
                .iter()
                .any(|e| e["name"] == "signal" && e["args"]["signal"] == "SIGTERM"),
            "the signal is an event"
        );
        let cancelled = trace
            .instants
            .iter()
            .filter(|e| e["name"] == "order cancelled")
            .count();
        assert_eq!(
            cancelled as u64,
            report["totals"]["orders_cancelled"].as_u64().unwrap(),
            "one event per order the shutdown's sweep cancelled"
        );
        assert!(
            trace
                .instants
                .iter()
                .any(|e| e["name"] == "orders confirmed")
        );
        // No secret in the file.
        assert!(
            !text.contains(DEMO_API_SECRET),
            "the API secret is in the timeline"
        );
        for key in &listen_keys {
            assert!(
                !text.contains(key.as_str()),
                "a listen key is in the timeline"
            );
        }
        assert!(!text.to_ascii_lowercase().contains("signature="));

        // The picture: a bar per component, a band per phase, no failure.
        let (bars, bands, marks) = picture(&svg);
        let names: HashSet<&str> = bars.iter().map(|(c, _)| c.as_str()).collect();
        for (name, _, _) in &resources {
            assert!(names.contains(name.as_str()), "no bar for {name}: {bars:?}");
        }
        assert_eq!(bands.len(), phases.len(), "{bands:?} vs {phases:?}");
        assert_eq!(marks, 0, "a clean shutdown has no failure mark:\n{svg}");
        assert!(!svg.contains(DEMO_API_SECRET));
        sim.shutdown().await;
    })
    .await;
}

/// Every cancel fails: the sweep cannot confirm the orders closed, its component's stop is a
/// failure, and the picture marks it (and the trace says it) while the rest is clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sweep_is_marked_as_a_failure() {
    bounded(async {
        let sim = still_venue().await;
        let files = Files::new("failing");
        let mut demo = launch(&sim, &files, &["--shutdown-budget", "3"]);
        wait_until_resting(&sim, &demo).await;
        wait_for_open_orders(&sim, 2, &demo).await;
        sim.faults().fail_next_rest(100_000, 503, Some(ORDER_PATH));
        demo.signal("-INT");
        let (code, _) = demo.exit_within(Duration::from_secs(30)).await;
        sim.faults().clear();
        assert_eq!(code, 1, "{}\n{}", demo.stdout(), demo.stderr());
        let (_, trace, svg) = files.read();
        let report = files.report();
        let trace = Trace::of(&trace);
        let failed = report_failures(&report);
        assert!(
            failed.iter().any(|(name, _)| name == "mexc.private"),
            "{failed:?}"
        );
        let (bars, _, marks) = picture(&svg);
        for (name, outcome) in failed
            .iter()
            .filter(|(name, _)| !trace.stops_of(name).is_empty())
        {
            let stop = trace.stops_of(name)[0];
            assert_eq!(stop["args"]["outcome"], timeline_outcome(outcome).as_str());
            assert!(
                stop["name"]
                    .as_str()
                    .unwrap()
                    .ends_with(&timeline_outcome(outcome))
            );
            let bar = bars.iter().find(|(c, _)| c == name).unwrap();
            assert_eq!(bar.1, timeline_outcome(outcome), "{bars:?}");
        }
        assert!(
            marks >= failed.len(),
            "{marks} failure marks for {failed:?}:\n{svg}"
        );
        let tree = roxmltree::Document::parse(&svg).unwrap();
        for mark in tree.descendants().filter(|n| has_class(n, "failure-mark")) {
            let bar = mark.ancestors().find(|a| has_class(a, "bar")).unwrap();
            let component = bar.attribute("data-component").unwrap();
            assert!(
                failed.iter().any(|(name, _)| name == component),
                "{component} marked but not failed"
            );
        }
        sim.shutdown().await;
    })
    .await;
}

/// A second signal forces the exit mid-sweep: both files are still whole, and what was
/// abandoned shows as unfinished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_exit_leaves_whole_files() {
    bounded(async {
        let sim = still_venue().await;
        let files = Files::new("forced");
        let mut demo = launch(&sim, &files, &HELD_UP_SHUTDOWN);
        force_the_exit_mid_sweep(&sim, &demo, "-TERM").await;
        let (code, _) = demo.exit_within(Duration::from_secs(10)).await;
        sim.faults().stall_connections(false);
        assert_eq!(code, 3, "{}\n{}", demo.stdout(), demo.stderr());
        let (_, trace, svg) = files.read();
        let trace = Trace::of(&trace);
        let private = trace.stops_of("mexc.private");
        assert_eq!(private.len(), 1);
        assert_eq!(private[0]["args"]["outcome"], "unfinished");
        let shutdown = trace
            .slices
            .iter()
            .find(|s| s["cat"] == "lifecycle.shutdown" && s["args"]["component"] == "mexc")
            .unwrap();
        assert_eq!(shutdown["args"]["outcome"], "unfinished");
        let signals = trace
            .instants
            .iter()
            .filter(|e| e["name"] == "signal")
            .count();
        assert_eq!(signals, 2, "both signals are events");
        assert!(
            trace
                .instants
                .iter()
                .any(|e| e["name"] == "signal" && e["args"]["effect"] == "forced exit")
        );
        let (bars, _, marks) = picture(&svg);
        assert!(
            bars.iter()
                .any(|(c, o)| c == "mexc.private" && o == "unfinished"),
            "{bars:?}"
        );
        assert!(marks >= 1);
        sim.shutdown().await;
    })
    .await;
}

/// A timeline that cannot be written is refused at start (exit 1), before anything runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_timeline_is_refused_at_start() {
    bounded(async {
        let mut demo = Demo::start(&["--timeline", "/nonexistent-dir/timeline.json"]);
        let (code, _) = demo.exit_within(Duration::from_secs(30)).await;
        assert_eq!(code, 1);
        assert!(
            demo.stderr().contains("cannot record the timeline"),
            "{}",
            demo.stderr()
        );
        assert!(!demo.stdout().contains("cycle 1"), "{}", demo.stdout());
    })
    .await;
}
