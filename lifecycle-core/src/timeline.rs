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
//! | `task` | none (it *follows from* the span it was spawned in) | `component` (task manager), `task`, `task_id`, `critical`, `outcome`, `duration_ms` |
//!
//! A composite resource's own orchestrator (a [`ResourceGroup`](crate::ResourceGroup)) nests
//! its `shutdown` and `start` spans under its `resource` span. `outcome` is a
//! [`StopOutcome`](crate::StopOutcome) name (`clean`, `forced`, `failed`, `incomplete`,
//! `not started`), `abandoned` for a stop the shutdown gave up on, or `ok`/`failed` for a start.
//! A task's `outcome` is `finished`, `stopped` (returned after the shutdown signal), `aborted`,
//! `failed` or `panicked`. A task span is a root: a child would hold its parent open (a
//! resource's `start` would last as long as the tasks it spawned), so it records the spawning
//! span with `follows_from` instead. It costs a task nothing when no subscriber wants it: the
//! span is created only past `tracing`'s level and callsite-interest checks (a load or two),
//! and nothing is allocated or recorded for a disabled one.
//!
//! Events, at the same target and level, with a stable name (`name:` of `tracing`'s macros):
//!
//! | event | emitted by | fields |
//! |---|---|---|
//! | `signal` | [`Runner`](crate::Runner) | `component` (orchestrator), `signal`, `effect` (`stop the start`, `shutdown`, `shutdown already under way`, `forced exit`) |
//! | `reconnect` | exchange-ws (a connection lost, redialled) | `component` (the socket), `connection` (its number), `cause`, `up_ms` |
//! | `order cancelled` | exchange-composite's order guard (a sweep's cancel the venue answered) | `component` (the guard), `order` (the venue's order id) |
//! | `orders confirmed` | exchange-composite's order guard (a sweep confirmed every order closed) | `component`, `cancelled`, `closed` |

use std::time::Duration;

use tracing::Span;
use tracing::field::Empty;

use crate::priority::ShutdownPriority;
use crate::task_name::TaskName;
use crate::task_report::TaskId;

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

/// The `task` span of a managed task, with when it began; `None` (and nothing allocated) when
/// no subscriber is interested.
#[inline]
pub(crate) fn task(manager: &str, name: &TaskName, critical: bool) -> Option<Box<TaskSpan>> {
    let span = tracing::info_span!(
        target: TARGET,
        parent: None,
        "task",
        component = manager,
        task = name.as_str(),
        task_id = Empty,
        critical,
        outcome = Empty,
        duration_ms = Empty
    );
    if span.is_disabled() {
        return None;
    }
    Some(TaskSpan::began(span))
}

/// A task's span while it runs (boxed into its guard only when enabled).
#[derive(Debug)]
pub(crate) struct TaskSpan {
    span: Span,
    began: tokio::time::Instant,
}

impl TaskSpan {
    #[cold]
    fn began(span: Span) -> Box<Self> {
        span.follows_from(Span::current());
        Box::new(Self {
            span,
            began: tokio::time::Instant::now(),
        })
    }

    /// Records the task's id (known once it is registered).
    #[cold]
    pub(crate) fn identify(&self, id: TaskId) {
        self.span.record("task_id", id.as_u64());
    }

    /// Enters the span for one poll of the task.
    #[inline]
    pub(crate) fn enter(&self) -> tracing::span::Entered<'_> {
        self.span.enter()
    }

    /// The task ended `outcome` (a task outcome name, see the module's table).
    #[cold]
    pub(crate) fn end(&self, outcome: &str) {
        finish(&self.span, outcome, self.began.elapsed());
    }
}

/// A signal reached the runner of `orchestrator`, with what it does.
pub(crate) fn signal(orchestrator: &str, signal: &dyn std::fmt::Display, effect: &str) {
    tracing::info!(
        name: "signal",
        target: TARGET,
        component = orchestrator,
        signal = %signal,
        effect,
        "signal received"
    );
}

/// Records how the span's work ended and how long it took.
pub(crate) fn finish(span: &Span, outcome: &str, duration: Duration) {
    span.record("outcome", outcome);
    span.record("duration_ms", duration.as_secs_f64() * 1e3);
}
