//! Each lifecycle transition is a tracing event with its fields.

use lifecycle_core::{FailureCause, StateCell, StateTag};
use tracing_test::traced_test;

#[test]
#[traced_test]
fn each_transition_is_a_tracing_event_with_its_fields() {
    let cell = StateCell::new("traced");
    cell.transition(StateTag::Created, StateTag::Starting)
        .unwrap();
    cell.fail(StateTag::Starting, FailureCause::new("no route"))
        .unwrap();
    logs_assert(|lines| {
        let lines: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.contains("lifecycle transition"))
            .collect();
        if lines.len() != 2 {
            return Err(format!("two transitions expected: {lines:#?}"));
        }
        for field in [
            "component=traced",
            "from=\"created\"",
            "to=\"starting\"",
            "state=\"starting\"",
            "duration_ms=",
        ] {
            if !lines[0].contains(field) {
                return Err(format!("missing {field} in {}", lines[0]));
            }
        }
        if !(lines[1].contains("WARN") && lines[1].contains("cause=no route")) {
            return Err(format!("not a warning with its cause: {}", lines[1]));
        }
        Ok(())
    });
}
