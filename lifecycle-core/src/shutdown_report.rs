//! [`ShutdownReport`]: one report for a whole orchestrated shutdown, readable by people (its
//! `Display` is a table) and by code (public fields; `serde::Serialize` with the `serde`
//! feature).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::priority::ShutdownPriority;
use crate::stop_report::{StopOutcome, StopReport, task_notes};

/// One resource's part in an orchestrated shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[must_use = "a resource report says how its stop ended: read it or log it"]
pub struct ResourceReport {
    /// The resource's name.
    pub name: Arc<str>,
    /// Its phase.
    pub priority: ShutdownPriority,
    /// From the moment its stop was requested to its report (or to abandonment).
    pub duration: Duration,
    /// Its verdict.
    pub outcome: StopOutcome,
    /// Its own report; `None` if its stop did not return by the deadline (abandoned).
    pub report: Option<StopReport>,
    /// Users of this resource (in its phase) whose stop had not returned when this resource's
    /// stop began: they overran their share of the phase, so the order "users first" was
    /// broken for them. Empty when the order held.
    pub stopped_before_users: Vec<Arc<str>>,
}

impl ResourceReport {
    /// `true` if the resource's stop broke its contract and did not return by the deadline.
    pub fn abandoned(&self) -> bool {
        self.report.is_none()
    }
}

/// One phase of an orchestrated shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[must_use = "a phase report says what could not be stopped: read it or log it"]
pub struct PhaseReport {
    /// The phase.
    pub priority: ShutdownPriority,
    /// Wall time of the phase.
    pub duration: Duration,
    /// Its resources, in registration order.
    pub resources: Vec<ResourceReport>,
}

/// The report of [`DependencyAwareShutdown::shutdown_all`](crate::DependencyAwareShutdown::shutdown_all).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[must_use = "a shutdown report says what could not be stopped: read it or log it"]
pub struct ShutdownReport {
    /// The orchestrator's name.
    pub name: Arc<str>,
    /// The global budget it was given.
    pub budget: Duration,
    /// Time from the request to this report.
    pub duration: Duration,
    /// Phases in shutdown order (empty phases omitted).
    pub phases: Vec<PhaseReport>,
}

impl ShutdownReport {
    /// The worst outcome over every resource (`Clean` if there were none).
    pub fn outcome(&self) -> StopOutcome {
        self.resources()
            .map(|r| r.outcome)
            .filter(|o| *o != StopOutcome::NotStarted)
            .max()
            .unwrap_or(StopOutcome::Clean)
    }

    /// `true` if every resource stopped cleanly.
    pub fn is_clean(&self) -> bool {
        self.outcome().is_clean()
    }

    /// Every resource's entry, in shutdown order.
    pub fn resources(&self) -> impl Iterator<Item = &ResourceReport> {
        self.phases.iter().flat_map(|p| p.resources.iter())
    }

    /// The entry of the named resource.
    pub fn resource(&self, name: &str) -> Option<&ResourceReport> {
        self.resources().find(|r| &*r.name == name)
    }

    /// Resources whose stop did not return by the deadline.
    pub fn abandoned(&self) -> impl Iterator<Item = &ResourceReport> {
        self.resources().filter(|r| r.abandoned())
    }

    /// Resources whose stop began before one of their users had returned (the dependency
    /// order was broken because the user overran its share of the phase).
    pub fn broken_orderings(&self) -> impl Iterator<Item = &ResourceReport> {
        self.resources()
            .filter(|r| !r.stopped_before_users.is_empty())
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// One row of the table.
struct Row {
    phase: &'static str,
    name: String,
    outcome: &'static str,
    duration: String,
    stopped: u64,
    finished: u64,
    aborted: u64,
    stuck: usize,
    dropped: u64,
    notes: String,
}

fn notes_of(report: &StopReport) -> String {
    let mut notes: Vec<String> = report
        .details
        .counters
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if let Some(cause) = &report.prior_failure {
        notes.push(format!("had failed: {cause}"));
    }
    notes.extend(report.details.errors.iter().map(|e| format!("error: {e}")));
    if let Some(tasks) = &report.tasks {
        notes.extend(task_notes(tasks));
    }
    notes.join("; ")
}

/// The note of a resource whose stop began before some of its users returned.
fn broken_order_note(users: &[Arc<str>]) -> Option<String> {
    if users.is_empty() {
        return None;
    }
    let names: Vec<String> = users.iter().map(|u| format!("'{u}'")).collect();
    let (noun, verb) = if users.len() == 1 {
        ("user", "overran its")
    } else {
        ("users", "overran their")
    };
    Some(format!(
        "stopped before its {noun} {} returned (the {noun} {verb} share of the phase)",
        names.join(", ")
    ))
}

/// A stop report's row (its own tasks and messages) and, indented below, its children's.
fn push_rows(
    rows: &mut Vec<Row>,
    phase: &'static str,
    depth: usize,
    report: &StopReport,
    extra_note: Option<String>,
) {
    let (stopped, finished, aborted, stuck) = report
        .tasks
        .as_ref()
        .map(|t| {
            (
                t.counts.stopped,
                t.counts.finished,
                t.counts.aborted,
                t.stuck_count(),
            )
        })
        .unwrap_or_default();
    let indent = if depth == 0 {
        String::new()
    } else {
        format!("{}└ ", "  ".repeat(depth - 1))
    };
    rows.push(Row {
        phase: if depth == 0 { phase } else { "" },
        name: format!("{indent}{}", report.component),
        outcome: report.outcome.as_str(),
        duration: ms(report.duration),
        stopped,
        finished,
        aborted,
        stuck,
        dropped: report.details.messages_dropped,
        notes: extra_note
            .into_iter()
            .chain(Some(notes_of(report)).filter(|n| !n.is_empty()))
            .collect::<Vec<_>>()
            .join("; "),
    });
    for child in &report.details.children {
        push_rows(rows, phase, depth + 1, child, None);
    }
}

impl fmt::Display for ShutdownReport {
    /// A table: one row per resource, by phase; the parts of a composite resource (its
    /// report's children) indented below it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "shutdown of {}: {} in {} (budget {:?})",
            self.name,
            self.outcome(),
            ms(self.duration),
            self.budget
        )?;
        let mut rows = Vec::new();
        for phase in &self.phases {
            for r in &phase.resources {
                let broken_order = broken_order_note(&r.stopped_before_users);
                match &r.report {
                    Some(report) => {
                        push_rows(&mut rows, phase.priority.as_str(), 0, report, broken_order);
                    }
                    None => rows.push(Row {
                        phase: phase.priority.as_str(),
                        name: r.name.to_string(),
                        outcome: r.outcome.as_str(),
                        duration: ms(r.duration),
                        stopped: 0,
                        finished: 0,
                        aborted: 0,
                        stuck: 0,
                        dropped: 0,
                        notes: broken_order
                            .into_iter()
                            .chain(Some("did not return by the deadline: abandoned".to_owned()))
                            .collect::<Vec<_>>()
                            .join("; "),
                    }),
                }
            }
        }
        let width = rows
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(0)
            .max("component".len());
        writeln!(
            f,
            "{:<15} {:<width$} {:<11} {:>11} {:>7} {:>8} {:>7} {:>6} {:>8}  notes",
            "phase",
            "component",
            "outcome",
            "duration",
            "stopped",
            "finished",
            "aborted",
            "stuck",
            "dropped"
        )?;
        for row in rows {
            let pad = width - row.name.chars().count();
            writeln!(
                f,
                "{:<15} {}{:pad$} {:<11} {:>11} {:>7} {:>8} {:>7} {:>6} {:>8}  {}",
                row.phase,
                row.name,
                "",
                row.outcome,
                row.duration,
                row.stopped,
                row.finished,
                row.aborted,
                row.stuck,
                row.dropped,
                row.notes
            )?;
        }
        Ok(())
    }
}
