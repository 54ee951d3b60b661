//! What tracing-chrome recorded, read back: its raw trace (asynchronous `b`/`e` pairs keyed by
//! the root span's id, instant `i` events, one field map per entry) turned into [`Slice`]s
//! (one per span, begin to end, with its final fields) and [`Mark`]s (one per event).
//!
//! tracing-chrome writes every field with `Debug` (`"mexc"` with its quotes, `12.5` as text):
//! the values are read back as JSON strings, numbers and booleans. Every string goes through
//! the log's redaction ([`crate::logging::redact`]): no credential reaches the timeline.

use serde_json::{Map, Value};

use crate::logging;

/// The fields that tell one span from its siblings under the same root (the begin and the end
/// of a span carry the same values for these; a task span is a root of its own).
const IDENTITY: [&str; 4] = ["component", "op", "priority", "task"];

/// One span of the lifecycle timeline, from its creation to its close.
#[derive(Debug, Clone)]
pub(crate) struct Slice {
    /// The span's name (`start`, `running`, `shutdown`, `phase`, `resource`, `task`).
    pub(crate) name: String,
    /// Its fields, as last recorded (`component`, `outcome`, `duration_ms`, ...).
    pub(crate) fields: Map<String, Value>,
    /// When it began, in microseconds since the trace began.
    pub(crate) begin_us: f64,
    /// When it ended: its begin plus the `duration_ms` it recorded, or else when it closed;
    /// `None` if it was still open when the trace ended.
    pub(crate) end_us: Option<f64>,
}

impl Slice {
    /// The text field `name`, if any.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// The `component` field ("" if missing).
    pub(crate) fn component(&self) -> &str {
        self.text("component").unwrap_or_default()
    }

    /// The `outcome` field: `unfinished` for a span still open when the trace ended.
    pub(crate) fn outcome(&self) -> &str {
        match (self.text("outcome"), self.end_us) {
            (Some(outcome), _) => outcome,
            (None, None) => UNFINISHED,
            (None, Some(_)) => "",
        }
    }

    /// Whether it ended badly (or did not end).
    pub(crate) fn failed(&self) -> bool {
        is_failure(self.outcome())
    }

    /// Its end, or `trace_end` for a span still open.
    pub(crate) fn end_or(&self, trace_end: f64) -> f64 {
        self.end_us.unwrap_or(trace_end).max(self.begin_us)
    }
}

/// The outcome of a span the trace ended before (a forced exit).
pub(crate) const UNFINISHED: &str = "unfinished";

/// Whether `outcome` (a timeline outcome name) is a failure: anything but a clean stop, a
/// start that went well, or a task that returned (before or after the shutdown signal).
pub(crate) fn is_failure(outcome: &str) -> bool {
    !matches!(outcome, "" | "clean" | "ok" | "finished" | "stopped")
}

/// One event of the lifecycle timeline (a signal, a reconnect, an order cancelled).
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    /// The event's name (`signal`, `reconnect`, `order cancelled`, ...).
    pub(crate) name: String,
    /// Its fields.
    pub(crate) fields: Map<String, Value>,
    /// When it happened, in microseconds since the trace began.
    pub(crate) at_us: f64,
}

impl Mark {
    /// The `component` field, if any.
    pub(crate) fn component(&self) -> Option<&str> {
        self.fields.get("component").and_then(Value::as_str)
    }
}

/// A recorded timeline: its spans in the order they began, its events in order.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    pub(crate) slices: Vec<Slice>,
    pub(crate) marks: Vec<Mark>,
    /// The last time stamp of the trace.
    pub(crate) end_us: f64,
}

impl Recorded {
    /// Reads tracing-chrome's trace (a JSON array of entries). Entries it cannot read are
    /// skipped; an end without its begin is ignored.
    pub(crate) fn parse(raw: &[u8]) -> Result<Self, serde_json::Error> {
        let entries: Vec<Value> = serde_json::from_slice(raw)?;
        let mut recorded = Self::default();
        // Open spans by (root id, name, identity), innermost last.
        let mut open: std::collections::HashMap<String, Vec<usize>> =
            std::collections::HashMap::new();
        for entry in &entries {
            let (Some(phase), Some(ts)) = (
                entry.get("ph").and_then(Value::as_str),
                entry.get("ts").and_then(Value::as_f64),
            ) else {
                continue;
            };
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let fields = entry
                .get("args")
                .and_then(Value::as_object)
                .map(read_fields)
                .unwrap_or_default();
            recorded.end_us = recorded.end_us.max(ts);
            match phase {
                "b" => {
                    let key = identity(entry, &name, &fields);
                    open.entry(key).or_default().push(recorded.slices.len());
                    recorded.slices.push(Slice {
                        name,
                        fields,
                        begin_us: ts,
                        end_us: None,
                    });
                }
                "e" => {
                    let key = identity(entry, &name, &fields);
                    if let Some(index) = open.get_mut(&key).and_then(Vec::pop) {
                        let slice = &mut recorded.slices[index];
                        slice.fields.extend(fields);
                        // The duration lifecycle-core measured (the report's) rather than
                        // the span's lifetime, which ends when its last handle is dropped.
                        let measured = slice
                            .fields
                            .get("duration_ms")
                            .and_then(Value::as_f64)
                            .map(|ms| slice.begin_us + ms * 1e3);
                        slice.end_us = Some(measured.unwrap_or(ts));
                    }
                }
                "i" => recorded.marks.push(Mark {
                    name,
                    fields,
                    at_us: ts,
                }),
                _ => {}
            }
        }
        Ok(recorded)
    }
}

/// The key a span's begin and end share.
fn identity(entry: &Value, name: &str, fields: &Map<String, Value>) -> String {
    let root = entry.get("id").map(Value::to_string).unwrap_or_default();
    let mut key = format!("{root}\u{1f}{name}");
    for field in IDENTITY {
        key.push('\u{1f}');
        if let Some(value) = fields.get(field) {
            key.push_str(&value.to_string());
        }
    }
    key
}

/// tracing-chrome's `Debug`-formatted field values as JSON values, strings redacted.
fn read_fields(args: &Map<String, Value>) -> Map<String, Value> {
    args.iter()
        .map(|(name, value)| (name.clone(), read_value(value)))
        .collect()
}

fn read_value(value: &Value) -> Value {
    let Some(text) = value.as_str() else {
        return value.clone();
    };
    let value = if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
        // A `Debug` string: its escapes are JSON's for what our fields hold.
        serde_json::from_str::<String>(text).map_or_else(
            |_| Value::String(text[1..text.len() - 1].to_owned()),
            Value::String,
        )
    } else if let Ok(number) = text.parse::<u64>() {
        Value::Number(number.into())
    } else if let Ok(number) = text.parse::<i64>() {
        Value::Number(number.into())
    } else if let Ok(number) = text.parse::<f64>()
        && let Some(number) = serde_json::Number::from_f64(number)
    {
        Value::Number(number)
    } else if let Ok(flag) = text.parse::<bool>() {
        Value::Bool(flag)
    } else {
        Value::String(text.to_owned())
    };
    match value {
        Value::String(text) => Value::String(logging::redact(&text).into_owned()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::Recorded;

    #[test]
    fn spans_are_paired_by_identity_and_fields_read_back() {
        let raw = br#"[
            {"ph":"M","pid":1,"name":"thread_name","tid":0,"args":{"name":"main"}},
            {"ph":"b","pid":1,"ts":1.0,"name":"phase","cat":"t","tid":0,"id":1,"args":{"component":"\"mexc\"","op":"\"stop\"","priority":"\"high\""}},
            {"ph":"b","pid":1,"ts":2.0,"name":"resource","cat":"t","tid":1,"id":1,"args":{"component":"\"a\"","op":"\"stop\""}},
            {"ph":"b","pid":1,"ts":3.0,"name":"resource","cat":"t","tid":1,"id":1,"args":{"component":"\"b\"","op":"\"stop\""}},
            {"ph":"e","pid":1,"ts":4.4,"name":"resource","cat":"t","tid":1,"id":1,"args":{"component":"\"a\"","op":"\"stop\"","outcome":"\"failed\"","duration_ms":"0.002"}},
            {"ph":"i","pid":1,"ts":4.5,"name":"signal","cat":"t","tid":1,"s":"t","args":{"signal":"\"SIGTERM\"","note":"\"listenKey=abc123\""}},
            {"ph":"e","pid":1,"ts":5.0,"name":"phase","cat":"t","tid":0,"id":1,"args":{"component":"\"mexc\"","op":"\"stop\"","priority":"\"high\"","outcome":"\"clean\""}}
        ]"#;
        let recorded = Recorded::parse(raw).unwrap();
        assert_eq!(recorded.slices.len(), 3);
        let a = &recorded.slices[1];
        assert_eq!(a.component(), "a");
        // Ended by its measured duration (2 us), not its close.
        assert_eq!((a.begin_us, a.end_us), (2.0, Some(4.0)));
        assert_eq!(a.outcome(), "failed");
        assert!(a.failed());
        assert_eq!(a.fields["duration_ms"], 0.002);
        let b = &recorded.slices[2];
        assert_eq!((b.end_us, b.outcome()), (None, super::UNFINISHED));
        assert_eq!(b.end_or(recorded.end_us), 5.0);
        assert!(!recorded.slices[0].failed());
        assert_eq!(recorded.marks.len(), 1);
        assert_eq!(recorded.marks[0].fields["signal"], "SIGTERM");
        assert_eq!(
            recorded.marks[0].fields["note"],
            format!("listenKey={}", crate::logging::REDACTED)
        );
    }

    #[test]
    fn an_unreadable_trace_is_an_error() {
        assert!(Recorded::parse(b"[{\"ph\":\"b\"").is_err());
        assert!(Recorded::parse(b"[]").unwrap().slices.is_empty());
    }
}
