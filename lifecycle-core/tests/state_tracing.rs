//! Each lifecycle transition is a tracing event with its fields. Alone in its test binary:
//! tracing caches callsite interest process-wide, so a thread-local subscriber in a binary
//! whose other tests log concurrently can miss events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::LogCapture;
use lifecycle_core::{FailureCause, StateCell, StateTag};

#[test]
fn each_transition_is_a_tracing_event_with_its_fields() {
    let captured = LogCapture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.writer())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let cell = StateCell::new("traced");
        cell.transition(StateTag::Created, StateTag::Starting)
            .unwrap();
        cell.fail(StateTag::Starting, FailureCause::new("no route"))
            .unwrap();
    });
    let text = captured.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("lifecycle transition"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    for field in [
        "component=traced",
        "from=\"created\"",
        "to=\"starting\"",
        "state=\"starting\"",
        "duration_ms=",
    ] {
        assert!(lines[0].contains(field), "missing {field} in {}", lines[0]);
    }
    assert!(
        lines[1].contains("WARN") && lines[1].contains("cause=no route"),
        "{}",
        lines[1]
    );
}
