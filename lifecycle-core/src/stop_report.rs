//! [`StopReport`]: what one component's stop did, and [`StopDetails`], what a component adds
//! to it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::state::FailureCause;
use crate::task_report::{TaskOutcome, TaskShutdownReport};

/// How a stop ended, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum StopOutcome {
    /// The component was never started: nothing to do.
    NotStarted,
    /// Everything stopped on request, no errors.
    Clean,
    /// Everything is gone, but some tasks had to be aborted.
    Forced,
    /// Errors during stop, failed or panicked tasks, or the component had failed before.
    Failed,
    /// Something is still running (a task stuck in blocking code) or the deadline passed
    /// before the stop finished.
    Incomplete,
}

impl StopOutcome {
    /// `true` for [`StopOutcome::NotStarted`] and [`StopOutcome::Clean`].
    pub fn is_clean(self) -> bool {
        matches!(self, Self::NotStarted | Self::Clean)
    }

    /// The short name used in tables and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not started",
            Self::Clean => "clean",
            Self::Forced => "forced",
            Self::Failed => "failed",
            Self::Incomplete => "incomplete",
        }
    }
}

impl fmt::Display for StopOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a component's stop hook reports beyond its tasks: errors, dropped messages, its own
/// counters, and the reports of the parts it stopped itself.
///
/// ```
/// use lifecycle_core::StopDetails;
///
/// let details = StopDetails::new()
///     .messages_dropped(3)
///     .counter("reconnects", 2)
///     .error("close handshake timed out");
/// assert_eq!(details.errors.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[must_use]
pub struct StopDetails {
    /// Errors met while stopping (the stop still went on).
    pub errors: Vec<String>,
    /// Messages that were queued and not processed when the component stopped (counted, not
    /// silently drained).
    pub messages_dropped: u64,
    /// Component-specific counters (received, processed, orders cancelled, ...).
    pub counters: Vec<(&'static str, u64)>,
    /// Reports of sub-components this component stopped itself.
    pub children: Vec<StopReport>,
}

impl StopDetails {
    /// No errors, nothing dropped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an error.
    pub fn error(mut self, error: impl fmt::Display) -> Self {
        self.errors.push(error.to_string());
        self
    }

    /// Sets the number of messages dropped.
    pub fn messages_dropped(mut self, dropped: u64) -> Self {
        self.messages_dropped = dropped;
        self
    }

    /// Adds a named counter.
    pub fn counter(mut self, name: &'static str, value: u64) -> Self {
        self.counters.push((name, value));
        self
    }

    /// Adds a sub-component's report.
    pub fn child(mut self, report: StopReport) -> Self {
        self.children.push(report);
        self
    }
}

/// What stopping one component did: duration, outcome, its tasks' fates, errors, messages
/// dropped, and its sub-components.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[must_use = "a stop report says what could not be stopped: read it or log it"]
pub struct StopReport {
    /// The component.
    pub component: Arc<str>,
    /// From the stop request to the report.
    pub duration: Duration,
    /// The verdict (the worst of this component's and its children's).
    pub outcome: StopOutcome,
    /// The component had failed before it was stopped, for this reason.
    pub prior_failure: Option<FailureCause>,
    /// Its task manager's report, when it has one and got to shut it down.
    pub tasks: Option<TaskShutdownReport>,
    /// What the component added.
    pub details: StopDetails,
}

impl StopReport {
    /// The report of a stop before start.
    pub fn not_started(component: impl Into<Arc<str>>) -> Self {
        Self {
            component: component.into(),
            duration: Duration::ZERO,
            outcome: StopOutcome::NotStarted,
            prior_failure: None,
            tasks: None,
            details: StopDetails::default(),
        }
    }

    /// Assembles a report and derives its outcome.
    pub fn new(
        component: impl Into<Arc<str>>,
        duration: Duration,
        prior_failure: Option<FailureCause>,
        tasks: Option<TaskShutdownReport>,
        details: StopDetails,
        deadline_exceeded: bool,
    ) -> Self {
        let mut outcome = StopOutcome::Clean;
        if let Some(tasks) = &tasks {
            if tasks.counts.aborted > 0 {
                outcome = outcome.max(StopOutcome::Forced);
            }
            if tasks.counts.panicked > 0 || tasks.counts.failed > 0 {
                outcome = outcome.max(StopOutcome::Failed);
            }
            if tasks.stuck_count() > 0 {
                outcome = outcome.max(StopOutcome::Incomplete);
            }
        }
        if !details.errors.is_empty() || prior_failure.is_some() {
            outcome = outcome.max(StopOutcome::Failed);
        }
        if deadline_exceeded {
            outcome = outcome.max(StopOutcome::Incomplete);
        }
        for child in &details.children {
            if child.outcome != StopOutcome::NotStarted {
                outcome = outcome.max(child.outcome);
            }
        }
        Self {
            component: component.into(),
            duration,
            outcome,
            prior_failure,
            tasks,
            details,
        }
    }

    /// `true` if the outcome is clean (or the component never started).
    pub fn is_clean(&self) -> bool {
        self.outcome.is_clean()
    }

    /// The value of this component's counter `name` (one of
    /// [`StopDetails::counters`]), if it reported one; the first, if it reported several.
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifecycle_core::{StopDetails, StopReport};
    ///
    /// let details = StopDetails::new().counter("reconnects", 2);
    /// let report = StopReport::new("feed", Duration::from_millis(3), None, None, details, false);
    /// assert_eq!(report.counter("reconnects"), Some(2));
    /// assert_eq!(report.counter("received"), None);
    /// ```
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.details
            .counters
            .iter()
            .find(|(counter, _)| *counter == name)
            .map(|(_, value)| *value)
    }

    /// Messages dropped by this component and its children.
    pub fn total_messages_dropped(&self) -> u64 {
        self.details.messages_dropped
            + self
                .details
                .children
                .iter()
                .map(StopReport::total_messages_dropped)
                .sum::<u64>()
    }
}

impl fmt::Display for StopReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} in {:.3} ms",
            self.component,
            self.outcome,
            self.duration.as_secs_f64() * 1e3
        )?;
        if let Some(tasks) = &self.tasks {
            write!(
                f,
                " (tasks: {} stopped, {} finished, {} aborted, {} stuck)",
                tasks.counts.stopped,
                tasks.counts.finished,
                tasks.counts.aborted,
                tasks.stuck_count()
            )?;
        }
        if self.details.messages_dropped > 0 {
            write!(f, "; {} messages dropped", self.details.messages_dropped)?;
        }
        if let Some(cause) = &self.prior_failure {
            write!(f, "; had failed: {cause}")?;
        }
        for error in &self.details.errors {
            write!(f, "; error: {error}")?;
        }
        if let Some(tasks) = &self.tasks {
            for note in task_notes(tasks) {
                write!(f, "; {note}")?;
            }
        }
        Ok(())
    }
}

/// The longest task message a note shows; longer ones are cut at a character boundary.
const MAX_NOTE_MESSAGE_CHARS: usize = 160;

/// One note per task that failed, panicked or is stuck, naming it and (bounded) its message.
pub(crate) fn task_notes(tasks: &TaskShutdownReport) -> impl Iterator<Item = String> + '_ {
    tasks.records.iter().filter_map(|record| {
        let what = match &record.outcome {
            TaskOutcome::Panicked(message) => format!("panicked: {}", bounded(message)),
            TaskOutcome::Failed(message) => format!("failed: {}", bounded(message)),
            TaskOutcome::Stuck { .. } => record.outcome.to_string(),
            TaskOutcome::Aborted | TaskOutcome::Finished | TaskOutcome::StoppedCooperatively => {
                return None;
            }
        };
        let kind = if matches!(record.outcome, TaskOutcome::Stuck { .. }) {
            "stuck task"
        } else {
            "task"
        };
        Some(format!("{kind} '{}' {} ({what})", record.name, record.id))
    })
}

/// `message` cut to [`MAX_NOTE_MESSAGE_CHARS`] characters, with an ellipsis if cut.
fn bounded(message: &str) -> String {
    match message.char_indices().nth(MAX_NOTE_MESSAGE_CHARS) {
        None => message.to_owned(),
        Some((cut, _)) => format!("{}…", &message[..cut]),
    }
}
