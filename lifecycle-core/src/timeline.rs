//! The lifecycle timeline: the `tracing` spans every start, run and shutdown emits, in one tree,
//! with stable names and fields, so a layer can draw them (a Chrome trace, Perfetto) or measure
//! them. All carry the target [`TARGET`] and level INFO: filter on that target to enable just
//! the timeline.
//!
//! | span | parent | fields |
//! |---|---|---|
//! | `start` | the caller's | `component` (orchestrator), `outcome`, `duration_ms` |
//! | `running` | the caller's | `component` (orchestrator) |
//! | `shutdown` | the caller's | `component` (orchestrator), `budget_ms`, `outcome`, `duration_ms` |
//! | `phase` | `start` or `shutdown` | `component` (orchestrator), `op` (`start`/`stop`), `priority`, `outcome`, `duration_ms` |
//! | `resource` | `phase` | `component` (resource), `op`, `priority`, `outcome`, `duration_ms` |
//!
//! A composite resource's own orchestrator (a [`ResourceGroup`](crate::ResourceGroup)) nests
//! its `shutdown` and `start` spans under its `resource` span. `outcome` is a
//! [`StopOutcome`](crate::StopOutcome) name (`clean`, `forced`, `failed`, `incomplete`,
//! `not started`), `abandoned` for a stop the shutdown gave up on, or `ok`/`failed` for a start.

use std::time::Duration;

use tracing::Span;
use tracing::field::Empty;

use crate::priority::ShutdownPriority;

/// The target of every timeline span.
pub const TARGET: &str = "lifecycle_core::timeline";

/// Which way a phase or resource span goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Start,
    Stop,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
        }
    }
}

pub(crate) fn start(orchestrator: &str) -> Span {
    tracing::info_span!(target: TARGET, "start", component = orchestrator, outcome = Empty, duration_ms = Empty)
}

pub(crate) fn running(orchestrator: &str) -> Span {
    tracing::info_span!(target: TARGET, "running", component = orchestrator)
}

pub(crate) fn shutdown(orchestrator: &str, budget: Duration) -> Span {
    tracing::info_span!(
        target: TARGET,
        "shutdown",
        component = orchestrator,
        budget_ms = budget.as_secs_f64() * 1e3,
        outcome = Empty,
        duration_ms = Empty
    )
}

pub(crate) fn phase(orchestrator: &str, op: Op, priority: ShutdownPriority) -> Span {
    tracing::info_span!(
        target: TARGET,
        "phase",
        component = orchestrator,
        op = op.as_str(),
        priority = priority.as_str(),
        outcome = Empty,
        duration_ms = Empty
    )
}

pub(crate) fn resource(parent: &Span, resource: &str, op: Op, priority: ShutdownPriority) -> Span {
    tracing::info_span!(
        target: TARGET,
        parent: parent,
        "resource",
        component = resource,
        op = op.as_str(),
        priority = priority.as_str(),
        outcome = Empty,
        duration_ms = Empty
    )
}

/// Records how the span's work ended and how long it took.
pub(crate) fn finish(span: &Span, outcome: &str, duration: Duration) {
    span.record("outcome", outcome);
    span.record("duration_ms", duration.as_secs_f64() * 1e3);
}
