//! [`DependencyAwareShutdown`]: starts resources in reverse shutdown order and stops them
//! phase by phase under one global deadline.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::error::StartError;
use crate::metrics;
use crate::priority::ShutdownPriority;
use crate::resource::AsyncResource;
use crate::shutdown_report::{PhaseReport, ResourceReport, ShutdownReport};
use crate::state::FailureCause;
use crate::stop_report::{StopOutcome, StopReport};

/// Extra time past a resource's deadline before the orchestrator stops waiting for a stop that
/// broke its contract and reports it abandoned. Only a contract breach can make a shutdown
/// overrun its budget, by at most this much per phase.
const CONTRACT_SLACK: Duration = Duration::from_millis(20);

/// Identifies a registered resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(usize);

/// A dependency that cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DependencyError {
    /// An id from another orchestrator.
    #[error("unknown resource id {0:?}")]
    UnknownResource(ResourceId),
    /// `user` would have to stop after `used`, which its priority forbids.
    #[error(
        "'{user}' ({user_priority}) uses '{used}' ({used_priority}): the user must not stop after what it uses"
    )]
    PriorityConflict {
        /// The resource that uses the other.
        user: String,
        /// Its priority.
        user_priority: ShutdownPriority,
        /// The resource used.
        used: String,
        /// Its priority.
        used_priority: ShutdownPriority,
    },
    /// The dependency would close a cycle.
    #[error("dependency '{user}' uses '{used}' would create a cycle")]
    Cycle {
        /// The resource that uses the other.
        user: String,
        /// The resource used.
        used: String,
    },
}

/// Why [`DependencyAwareShutdown::start_all`] failed; everything it had started was stopped
/// again (in shutdown order) before it returned.
#[derive(Debug, Clone, thiserror::Error)]
#[error("start failed: {}", .failures.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct StartAllError {
    /// The resources that failed to start.
    pub failures: Vec<StartError>,
    /// The report of stopping what had started.
    pub rollback: ShutdownReport,
}

struct Registered {
    resource: Arc<dyn AsyncResource>,
    priority: ShutdownPriority,
    /// Resources this one uses (they stop after it and start before it).
    uses: Vec<usize>,
    deadline: Option<Duration>,
}

/// A resource whose stop is under way, for reports of forced exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlightStop {
    /// The resource.
    pub name: Arc<str>,
    /// Its phase.
    pub priority: ShutdownPriority,
    /// How long its stop has been running.
    pub elapsed: Duration,
}

/// Orchestrates a set of resources: the plan's `DependencyAwareShutdown`, without its bugs.
///
/// - Resources register with a [`ShutdownPriority`], optional dependencies ("A uses B": A stops
///   before B, and starts after it) and an optional own deadline.
/// - [`start_all`](Self::start_all) starts phase by phase in reverse shutdown order and, on the
///   first failure, stops everything already started (bug 9).
/// - [`shutdown_all`](Self::shutdown_all) stops phase by phase, concurrently within a phase
///   except where dependencies order them, under **one global deadline**: each phase gets what
///   is left, so phases cannot add up past the total (bug 5). It keeps going after errors and
///   returns one report (bug 3).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use lifecycle_core::{DependencyAwareShutdown, ShutdownPriority};
/// # use lifecycle_core::{AsyncResource, BoxFuture, Lifecycle, LifecycleState, StartError, StateWatcher, StopDetails, StopReport};
/// # struct Component(Lifecycle);
/// # impl AsyncResource for Component {
/// #     fn name(&self) -> &str { self.0.name() }
/// #     fn state(&self) -> LifecycleState { self.0.state() }
/// #     fn watch_state(&self) -> StateWatcher { self.0.watch() }
/// #     fn start(&self) -> BoxFuture<'_, Result<(), StartError>> { Box::pin(self.0.start(|_| async { Ok(()) })) }
/// #     fn stop(&self, deadline: tokio::time::Instant) -> BoxFuture<'_, StopReport> {
/// #         Box::pin(self.0.stop(deadline, |_| async { StopDetails::new() }))
/// #     }
/// # }
/// # fn component(name: &str) -> Arc<Component> { Arc::new(Component(Lifecycle::new(name))) }
///
/// let mut system = DependencyAwareShutdown::new("demo");
/// let limiter = system.register(component("rate-limiter"), ShutdownPriority::Cleanup);
/// let orders = system.register(component("orders"), ShutdownPriority::CriticalFirst);
/// system.add_dependency(orders, limiter).unwrap(); // orders use the limiter
///
/// system.start_all().await.unwrap();
/// let report = system.shutdown_all(Duration::from_secs(10)).await;
/// assert!(report.is_clean());
/// println!("{report}");
/// # }
/// ```
pub struct DependencyAwareShutdown {
    name: Arc<str>,
    entries: Vec<Registered>,
    in_flight: Arc<Mutex<HashMap<usize, Instant>>>,
    rollback_budget: Duration,
}

impl fmt::Debug for DependencyAwareShutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DependencyAwareShutdown")
            .field("name", &self.name)
            .field(
                "resources",
                &self
                    .entries
                    .iter()
                    .map(|e| (e.resource.name().to_owned(), e.priority))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl DependencyAwareShutdown {
    /// An empty orchestrator.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            entries: Vec::new(),
            in_flight: Arc::default(),
            rollback_budget: Duration::from_secs(10),
        }
    }

    /// The time allowed to stop what had started when `start_all` fails (default 10 s).
    pub fn set_rollback_budget(&mut self, budget: Duration) {
        self.rollback_budget = budget;
    }

    /// Registers a resource in a phase.
    pub fn register(
        &mut self,
        resource: Arc<dyn AsyncResource>,
        priority: ShutdownPriority,
    ) -> ResourceId {
        self.entries.push(Registered {
            resource,
            priority,
            uses: Vec::new(),
            deadline: None,
        });
        ResourceId(self.entries.len() - 1)
    }

    /// Gives a resource its own stop deadline (cut to what is left of the global one).
    pub fn set_deadline(
        &mut self,
        id: ResourceId,
        deadline: Duration,
    ) -> Result<(), DependencyError> {
        let entry = self
            .entries
            .get_mut(id.0)
            .ok_or(DependencyError::UnknownResource(id))?;
        entry.deadline = Some(deadline);
        Ok(())
    }

    /// Declares that `user` uses `used`: `user` stops before `used` and starts after it.
    ///
    /// `user` must not be in a later phase than `used`, and dependencies must not form a cycle.
    pub fn add_dependency(
        &mut self,
        user: ResourceId,
        used: ResourceId,
    ) -> Result<(), DependencyError> {
        let (u, d) = (
            self.entries
                .get(user.0)
                .ok_or(DependencyError::UnknownResource(user))?,
            self.entries
                .get(used.0)
                .ok_or(DependencyError::UnknownResource(used))?,
        );
        if u.priority > d.priority {
            return Err(DependencyError::PriorityConflict {
                user: u.resource.name().to_owned(),
                user_priority: u.priority,
                used: d.resource.name().to_owned(),
                used_priority: d.priority,
            });
        }
        if user == used || self.reaches(used.0, user.0) {
            return Err(DependencyError::Cycle {
                user: u.resource.name().to_owned(),
                used: d.resource.name().to_owned(),
            });
        }
        self.entries[user.0].uses.push(used.0);
        Ok(())
    }

    /// Whether `from` uses `to`, directly or not.
    fn reaches(&self, from: usize, to: usize) -> bool {
        let mut stack = vec![from];
        let mut seen = vec![false; self.entries.len()];
        while let Some(i) = stack.pop() {
            if i == to {
                return true;
            }
            if !std::mem::replace(&mut seen[i], true) {
                stack.extend(&self.entries[i].uses);
            }
        }
        false
    }

    /// The registered resources with their priorities.
    pub fn resources(&self) -> impl Iterator<Item = (&Arc<dyn AsyncResource>, ShutdownPriority)> {
        self.entries.iter().map(|e| (&e.resource, e.priority))
    }

    /// Starts every resource, phase by phase from `Cleanup` to `CriticalFirst`, concurrently
    /// within a phase except where dependencies order them. On failure, stops what started
    /// (in shutdown order, within the rollback budget) and returns the error with that report.
    pub async fn start_all(&self) -> Result<(), StartAllError> {
        for priority in ShutdownPriority::ALL.into_iter().rev() {
            let failures = self.run_phase(priority, Op::Start).await.1;
            if !failures.is_empty() {
                tracing::error!(orchestrator = %self.name, phase = %priority, "start failed: rolling back what started");
                let rollback = self.shutdown_all(self.rollback_budget).await;
                return Err(StartAllError { failures, rollback });
            }
        }
        Ok(())
    }

    /// Stops every resource, phase by phase, within `total`, and returns one report.
    ///
    /// Always returns within `total` (plus a few milliseconds of slack for stops that break
    /// their own contract, which are then reported as abandoned).
    pub async fn shutdown_all(&self, total: Duration) -> ShutdownReport {
        let begun = Instant::now();
        let deadline = begun + total;
        tracing::info!(orchestrator = %self.name, budget_ms = total.as_millis() as u64, "shutdown starting");
        let mut phases = Vec::new();
        for priority in ShutdownPriority::ALL {
            let phase_begun = Instant::now();
            let (resources, _) = self.run_phase(priority, Op::Stop { deadline }).await;
            if !resources.is_empty() {
                phases.push(PhaseReport {
                    priority,
                    duration: phase_begun.elapsed(),
                    resources,
                });
            }
        }
        let report = ShutdownReport {
            name: self.name.clone(),
            budget: total,
            duration: begun.elapsed(),
            phases,
        };
        metrics::record_shutdown(report.duration, report.is_clean());
        let duration_ms = report.duration.as_secs_f64() * 1e3;
        if report.is_clean() {
            tracing::info!(orchestrator = %self.name, duration_ms, shutdown_duration_ms = duration_ms, outcome = %report.outcome(), "shutdown finished");
        } else {
            tracing::warn!(orchestrator = %self.name, duration_ms, shutdown_duration_ms = duration_ms, outcome = %report.outcome(), "shutdown finished\n{report}");
        }
        report
    }

    /// Resources whose stop is running now (for the report of a forced exit).
    pub fn in_flight(&self) -> Vec<InFlightStop> {
        let in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let mut list: Vec<InFlightStop> = in_flight
            .iter()
            .map(|(i, since)| InFlightStop {
                name: self.entries[*i].resource.name().into(),
                priority: self.entries[*i].priority,
                elapsed: now.saturating_duration_since(*since),
            })
            .collect();
        list.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        list
    }

    /// Waits until any registered resource enters `Failed`, and returns its name and cause.
    /// Never completes if none does.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn first_failure(&self) -> (String, FailureCause) {
        let mut watchers = JoinSet::new();
        for entry in &self.entries {
            let name = entry.resource.name().to_owned();
            let mut watcher = entry.resource.watch_state();
            watchers.spawn(async move {
                match watcher.wait_for(|s| s.is_failed()).await {
                    Some(crate::LifecycleState::Failed(cause)) => Some((name, cause)),
                    _ => None,
                }
            });
        }
        while let Some(joined) = watchers.join_next().await {
            if let Ok(Some(failure)) = joined {
                return failure;
            }
        }
        std::future::pending().await
    }

    /// Runs `op` on every resource of `priority`, concurrently except where dependencies
    /// order them. Returns the stop entries (for `Op::Stop`) and the start failures.
    async fn run_phase(
        &self,
        priority: ShutdownPriority,
        op: Op,
    ) -> (Vec<ResourceReport>, Vec<StartError>) {
        let members: Vec<usize> = (0..self.entries.len())
            .filter(|i| self.entries[*i].priority == priority)
            .collect();
        if members.is_empty() {
            return (Vec::new(), Vec::new());
        }
        // done[i] becomes Some(ok) when member i's operation ended.
        let done: HashMap<usize, watch::Sender<Option<bool>>> = members
            .iter()
            .map(|i| (*i, watch::channel(None).0))
            .collect();
        let mut set = JoinSet::new();
        let mut task_members = HashMap::new();
        for &i in &members {
            let entry = &self.entries[i];
            // Start: wait for what `i` uses. Stop: wait for those that use `i`.
            let waits: Vec<watch::Receiver<Option<bool>>> = match op {
                Op::Start => entry
                    .uses
                    .iter()
                    .filter_map(|u| done.get(u))
                    .map(watch::Sender::subscribe)
                    .collect(),
                Op::Stop { .. } => members
                    .iter()
                    .filter(|m| self.entries[**m].uses.contains(&i))
                    .filter_map(|m| done.get(m))
                    .map(watch::Sender::subscribe)
                    .collect(),
            };
            let resource = entry.resource.clone();
            let own_deadline = entry.deadline;
            let finished = done.get(&i).cloned();
            let in_flight = self.in_flight.clone();
            let handle = set.spawn(async move {
                let mut prerequisites_ok = true;
                for mut wait in waits {
                    if let Ok(value) = wait.wait_for(Option::is_some).await {
                        prerequisites_ok &= *value == Some(true);
                    }
                }
                let result = match op {
                    // What it uses failed to start: do not start it (the rollback stops the rest).
                    Op::Start if !prerequisites_ok => PhaseResult::Skipped,
                    Op::Start => PhaseResult::Started(resource.start().await),
                    Op::Stop { deadline } => {
                        let now = Instant::now();
                        let deadline = own_deadline.map_or(deadline, |d| deadline.min(now + d));
                        in_flight
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(i, now);
                        let report = resource.stop(deadline).await;
                        in_flight
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .remove(&i);
                        PhaseResult::Stopped(Box::new(report), now.elapsed())
                    }
                };
                if let Some(tx) = finished {
                    tx.send_replace(Some(matches!(
                        result,
                        PhaseResult::Started(Ok(())) | PhaseResult::Stopped(..)
                    )));
                }
                result
            });
            task_members.insert(handle.id(), i);
        }
        let mut reports: HashMap<usize, ResourceReport> = HashMap::new();
        let mut failures = Vec::new();
        // A stop must return by its deadline; past it (plus slack) the orchestrator stops
        // waiting. A phase that begins after the deadline still gets the slack, so its
        // resources can hand in their (immediate) reports.
        let limit = match op {
            Op::Start => None,
            Op::Stop { deadline } => Some(deadline.max(Instant::now()) + CONTRACT_SLACK),
        };
        let phase_begun = Instant::now();
        loop {
            let next = match limit {
                None => set.join_next_with_id().await,
                Some(limit) => {
                    match tokio::time::timeout_at(limit, set.join_next_with_id()).await {
                        Ok(next) => next,
                        Err(_) => break,
                    }
                }
            };
            let Some(joined) = next else { break };
            match joined {
                Ok((_, PhaseResult::Started(Ok(())) | PhaseResult::Skipped)) => {}
                Ok((_, PhaseResult::Started(Err(error)))) => failures.push(error),
                Ok((id, PhaseResult::Stopped(report, duration))) => {
                    if let Some(&i) = task_members.get(&id) {
                        reports.insert(i, self.entry_report(i, duration, Some(*report)));
                    }
                }
                Err(join_error) => {
                    let name = task_members
                        .get(&join_error.id())
                        .map_or("?", |i| self.entries[*i].resource.name());
                    tracing::error!(orchestrator = %self.name, resource = name, error = %join_error, "resource start/stop panicked");
                    if matches!(op, Op::Start) {
                        failures.push(StartError::Failed {
                            component: name.to_owned(),
                            cause: FailureCause::new(format!("start panicked: {join_error}")),
                        });
                    }
                }
            }
        }
        set.abort_all();
        if matches!(op, Op::Start) {
            return (Vec::new(), failures);
        }
        // A resource without a report broke its contract (or panicked): report it abandoned.
        let entries = members
            .iter()
            .map(|i| {
                reports.remove(i).unwrap_or_else(|| {
                    tracing::error!(orchestrator = %self.name, resource = self.entries[*i].resource.name(), "stop did not return by its deadline: abandoned");
                    self.entry_report(*i, phase_begun.elapsed(), None)
                })
            })
            .collect();
        (entries, failures)
    }

    fn entry_report(
        &self,
        i: usize,
        duration: Duration,
        report: Option<StopReport>,
    ) -> ResourceReport {
        let entry = &self.entries[i];
        ResourceReport {
            name: entry.resource.name().into(),
            priority: entry.priority,
            duration,
            outcome: report
                .as_ref()
                .map_or(StopOutcome::Incomplete, |r| r.outcome),
            report,
        }
    }
}

#[derive(Clone, Copy)]
enum Op {
    Start,
    Stop { deadline: Instant },
}

enum PhaseResult {
    Skipped,
    Started(Result<(), StartError>),
    Stopped(Box<StopReport>, Duration),
}
