//! [`ShutdownReport`]: one report for a whole orchestrated shutdown, readable by people (its
//! `Display` is a table) and by code (public fields; `serde::Serialize` with the `serde`
//! feature).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::priority::ShutdownPriority;
use crate::stop_report::{StopOutcome, StopReport};

/// One resource's part in an orchestrated shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

impl fmt::Display for ShutdownReport {
    /// A table: one row per resource, by phase.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "shutdown of {}: {} in {} (budget {:?})",
            self.name,
            self.outcome(),
            ms(self.duration),
            self.budget
        )?;
        let width = self
            .resources()
            .map(|r| r.name.len())
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
        for phase in &self.phases {
            for r in &phase.resources {
                let (stopped, finished, aborted, stuck) = r
                    .report
                    .as_ref()
                    .and_then(|rep| rep.tasks.as_ref())
                    .map(|t| {
                        (
                            t.counts.stopped,
                            t.counts.finished,
                            t.counts.aborted,
                            t.stuck_count(),
                        )
                    })
                    .unwrap_or_default();
                let dropped = r
                    .report
                    .as_ref()
                    .map_or(0, StopReport::total_messages_dropped);
                let notes = match &r.report {
                    None => "did not return by the deadline: abandoned".to_owned(),
                    Some(rep) => {
                        let mut notes: Vec<String> = rep
                            .details
                            .counters
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect();
                        if let Some(cause) = &rep.prior_failure {
                            notes.push(format!("had failed: {cause}"));
                        }
                        notes.extend(rep.details.errors.iter().map(|e| format!("error: {e}")));
                        if let Some(tasks) = &rep.tasks {
                            notes.extend(
                                tasks
                                    .stuck()
                                    .map(|t| format!("stuck task '{}' ({})", t.name, t.outcome)),
                            );
                        }
                        notes.join("; ")
                    }
                };
                writeln!(
                    f,
                    "{:<15} {:<width$} {:<11} {:>11} {:>7} {:>8} {:>7} {:>6} {:>8}  {}",
                    phase.priority.as_str(),
                    r.name,
                    r.outcome.as_str(),
                    ms(r.duration),
                    stopped,
                    finished,
                    aborted,
                    stuck,
                    dropped,
                    notes
                )?;
            }
        }
        Ok(())
    }
}
