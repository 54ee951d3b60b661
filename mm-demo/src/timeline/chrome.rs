//! The Chrome trace-event file `--timeline` writes (the JSON object format, which Perfetto and
//! chrome://tracing both open): one track per component, named after it.
//!
//! tracing-chrome lays its entries out by OS thread (`TraceStyle::Threaded`) or by root span
//! (`TraceStyle::Async`), and nothing in its builder keys a track on a field; so the recorded
//! spans are laid out again here. Each span becomes a complete (`X`) slice on its component's
//! track: a resource's start and stop, an orchestrator's `start`, `running`, `shutdown` and
//! phases (which nest). A span that overlaps one on its track without nesting (two stops of
//! one name at once) gets a second track of the same name (`name (2)`). Tasks go on their
//! manager's `tasks` track, in as many lanes as run at once. Events are instants on their
//! component's track, or on `events`.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::recorded::{Recorded, Slice, UNFINISHED};

/// The process the tracks belong to.
const PID: u64 = 1;
/// How far (in microseconds) a span may stick out of the one it nests in and still be drawn
/// inside it.
const NESTING_SLACK_US: f64 = 500.0;
/// The track of events that name no component.
const EVENTS_TRACK: &str = "events";

/// The trace-event document of `recorded`.
pub(crate) fn document(recorded: &Recorded) -> Value {
    let mut tracks = Tracks::default();
    let mut events = Vec::new();
    for slice in &recorded.slices {
        let end = slice.end_or(recorded.end_us);
        let (base, may_nest) = match slice.name.as_str() {
            "task" => (format!("{} tasks", slice.component()), false),
            _ => (slice.component().to_owned(), true),
        };
        let (tid, begin, end) = tracks.place(&base, slice.begin_us, end, may_nest);
        let mut args = slice.fields.clone();
        if slice.end_us.is_none() {
            args.insert("outcome".into(), UNFINISHED.into());
        }
        events.push(json!({
            "ph": "X",
            "pid": PID,
            "tid": tid,
            "ts": begin,
            "dur": end - begin,
            "name": label(slice),
            "cat": format!("lifecycle.{}", slice.name),
            "args": Value::Object(args),
        }));
    }
    for mark in &recorded.marks {
        let tid = tracks.lane_zero(mark.component().unwrap_or(EVENTS_TRACK));
        events.push(json!({
            "ph": "i",
            "s": "t",
            "pid": PID,
            "tid": tid,
            "ts": mark.at_us,
            "name": mark.name,
            "cat": "lifecycle.event",
            "args": Value::Object(mark.fields.clone()),
        }));
    }
    let mut entries = vec![json!({
        "ph": "M", "pid": PID, "name": "process_name", "args": { "name": "mm-demo lifecycle" }
    })];
    for (tid, name) in tracks.names.iter().enumerate() {
        entries.push(json!({
            "ph": "M", "pid": PID, "tid": tid, "name": "thread_name", "args": { "name": name }
        }));
        entries.push(json!({
            "ph": "M", "pid": PID, "tid": tid, "name": "thread_sort_index", "args": { "sort_index": tid }
        }));
    }
    entries.extend(events);
    json!({
        "traceEvents": entries,
        "displayTimeUnit": "ms",
        "otherData": { "producer": "mm-demo --timeline (tracing-chrome)", "tracks": "one per component" },
    })
}

/// What a slice is called on its track.
fn label(slice: &Slice) -> String {
    let component = slice.component();
    let op = slice.text("op").unwrap_or_default();
    let said = match slice.name.as_str() {
        "phase" => format!("{op} phase {}", slice.text("priority").unwrap_or_default()),
        "resource" => format!("{op} {component}"),
        "task" => format!("task {}", slice.text("task").unwrap_or(component)),
        "running" => format!("running {component}"),
        other => format!("{other} of {component}"),
    };
    if slice.failed() {
        format!("{said}: {}", slice.outcome())
    } else {
        said
    }
}

/// The tracks, by name, and what each holds.
#[derive(Default)]
struct Tracks {
    /// Track names by thread id.
    names: Vec<String>,
    /// The thread ids of each base name's lanes, first lane first.
    lanes: HashMap<String, Vec<usize>>,
    /// The intervals on each thread id.
    taken: Vec<Vec<(f64, f64)>>,
}

impl Tracks {
    /// The thread id of the first lane of `base` where `[begin, end]` fits, and the interval
    /// as drawn there: disjoint from everything on the lane, or (if `may_nest`) nested with it
    /// either way. Two clocks measure a span and the one it nests in (the trace's and
    /// lifecycle-core's), so a child may stick out of its parent by a hair: up to
    /// [`NESTING_SLACK_US`], it is clipped to the parent instead.
    fn place(&mut self, base: &str, begin: f64, end: f64, may_nest: bool) -> (usize, f64, f64) {
        let lanes = self.lanes.get(base).cloned().unwrap_or_default();
        let fit = |taken: &[(f64, f64)]| -> Option<(f64, f64)> {
            let (mut begin, mut end) = (begin, end);
            for &(b, e) in taken {
                if end <= b || begin >= e {
                    continue;
                }
                let inside = begin >= b - NESTING_SLACK_US && end <= e + NESTING_SLACK_US;
                let around = begin <= b + NESTING_SLACK_US && end >= e - NESTING_SLACK_US;
                if !may_nest || !(inside || around) {
                    return None;
                }
                if inside && !around {
                    (begin, end) = (begin.max(b), end.min(e));
                } else if around && !inside {
                    (begin, end) = (begin.min(b), end.max(e));
                }
            }
            Some((begin, end))
        };
        let placed = lanes
            .iter()
            .find_map(|&tid| fit(&self.taken[tid]).map(|(b, e)| (tid, b, e)));
        let (tid, begin, end) = placed.unwrap_or_else(|| (self.add_lane(base), begin, end));
        self.taken[tid].push((begin, end));
        (tid, begin, end)
    }

    /// The thread id of `base`'s first lane (made if new).
    fn lane_zero(&mut self, base: &str) -> usize {
        match self.lanes.get(base).and_then(|lanes| lanes.first()) {
            Some(&tid) => tid,
            None => self.add_lane(base),
        }
    }

    fn add_lane(&mut self, base: &str) -> usize {
        let tid = self.names.len();
        let lanes = self.lanes.entry(base.to_owned()).or_default();
        lanes.push(tid);
        self.names.push(match lanes.len() {
            1 => base.to_owned(),
            n => format!("{base} ({n})"),
        });
        self.taken.push(Vec::new());
        tid
    }
}

/// The track names of a written document, by thread id (for checks and summaries).
pub(crate) fn track_names(document: &Value) -> HashMap<u64, String> {
    document["traceEvents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["ph"] == "M" && entry["name"] == "thread_name")
        .filter_map(|entry| {
            Some((
                entry["tid"].as_u64()?,
                entry["args"]["name"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// The fields of a slice, for a caller that reads them back.
#[cfg(test)]
fn args_of<'a>(document: &'a Value, name: &str) -> Vec<&'a serde_json::Map<String, Value>> {
    document["traceEvents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["ph"] == "X" && entry["name"] == name)
        .filter_map(|entry| entry["args"].as_object())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{args_of, document, track_names};
    use crate::timeline::recorded::Recorded;

    fn recorded() -> Recorded {
        let raw = br#"[
            {"ph":"b","ts":0.0,"name":"shutdown","id":1,"args":{"component":"\"mexc\""}},
            {"ph":"b","ts":1.0,"name":"phase","id":1,"args":{"component":"\"mexc\"","op":"\"stop\"","priority":"\"high\""}},
            {"ph":"b","ts":2.0,"name":"resource","id":1,"args":{"component":"\"a\"","op":"\"stop\""}},
            {"ph":"b","ts":2.0,"name":"task","id":7,"args":{"component":"\"a\"","task":"\"reader\"","task_id":"1"}},
            {"ph":"b","ts":3.0,"name":"task","id":8,"args":{"component":"\"a\"","task":"\"writer\"","task_id":"2"}},
            {"ph":"i","ts":3.5,"name":"signal","args":{"signal":"\"SIGTERM\""}},
            {"ph":"e","ts":4.0,"name":"task","id":7,"args":{"component":"\"a\"","task":"\"reader\"","task_id":"1","outcome":"\"finished\""}},
            {"ph":"e","ts":5.0,"name":"resource","id":1,"args":{"component":"\"a\"","op":"\"stop\"","outcome":"\"failed\""}},
            {"ph":"e","ts":6.0,"name":"phase","id":1,"args":{"component":"\"mexc\"","op":"\"stop\"","priority":"\"high\"","outcome":"\"failed\""}}
        ]"#;
        Recorded::parse(raw).unwrap()
    }

    #[test]
    fn each_component_has_its_track_and_overlapping_tasks_their_lanes() {
        let document = document(&recorded());
        let mut names: Vec<String> = track_names(&document).into_values().collect();
        names.sort();
        assert_eq!(names, ["a", "a tasks", "a tasks (2)", "events", "mexc"]);
        let stop = args_of(&document, "stop a: failed");
        assert_eq!(stop.len(), 1);
        assert_eq!(stop[0]["outcome"], "failed");
        // Still open at the end: unfinished, up to the last time stamp.
        let shutdown = args_of(&document, "shutdown of mexc: unfinished");
        assert_eq!(shutdown[0]["outcome"], "unfinished");
        let entries = document["traceEvents"].as_array().unwrap();
        let open = entries
            .iter()
            .find(|e| e["name"] == "shutdown of mexc: unfinished")
            .unwrap();
        assert_eq!(open["dur"], 6.0);
        // The phase nests inside the shutdown on the orchestrator's one track.
        let tid_of =
            |name: &str| entries.iter().find(|e| e["name"] == name).unwrap()["tid"].clone();
        assert_eq!(tid_of("stop phase high: failed"), open["tid"]);
    }
}
