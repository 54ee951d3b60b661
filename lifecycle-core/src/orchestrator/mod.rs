//! [`DependencyAwareShutdown`]: starts resources in reverse shutdown order and stops them
//! phase by phase under one global deadline.

mod budget;
mod graph;
mod in_flight;
mod member_task;
mod start_phase;
mod stop_phase;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::{DependencyError, StartAllError};
use crate::metrics;
use crate::priority::ShutdownPriority;
use crate::resource::AsyncResource;
use crate::shutdown_report::{ResourceReport, ShutdownReport};
use crate::state::{FailureCause, StateTag};
use crate::timeline;

use budget::ShutdownBudget;
use graph::Graph;
use in_flight::InFlight;
pub use in_flight::InFlightStop;

/// Identifies a registered resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(usize);

struct Registered {
    resource: Arc<dyn AsyncResource>,
    priority: ShutdownPriority,
    deadline: Option<Duration>,
}

/// Orchestrates a set of resources, and holds its promises whatever the resources do.
///
/// - Resources register with a [`ShutdownPriority`], optional dependencies ("A uses B": A stops
///   before B, and starts after it) and an optional own deadline.
/// - [`start_all`](Self::start_all) starts phase by phase in reverse shutdown order; on the
///   first failure it stops everything already started, in shutdown order, and returns the
///   error with that report. Nothing is left running after a failed start.
/// - [`shutdown_all`](Self::shutdown_all) stops phase by phase, concurrently within a phase
///   except where dependencies order them, under **one global deadline**. It keeps going after
///   errors, panics and hung stops, and returns one report.
///
/// # The shutdown's guarantees
/// - **Every registered resource's `stop` is called exactly once** per `shutdown_all`, whatever
///   the other resources do.
/// - **One deadline.** `shutdown_all(total)` returns within `total` plus
///   [`CONTRACT_SLACK`](Self::CONTRACT_SLACK) (once for the whole shutdown, however many
///   phases hang). [`shutdown_by`](Self::shutdown_by) returns by its instant, slack included.
/// - **Phases share the budget.** Each phase after the current one that has resources keeps a
///   reserved share of the budget ([`set_phase_reserve`](Self::set_phase_reserve), 5% each by
///   default), so a hung early phase cannot starve the ones after it; a phase that finishes
///   early leaves its unused time to the next.
/// - **Deadlines beat ordering, never completeness.** Within a phase the time is split in
///   equal shares, one per dependency level (a resource no other member uses is level 0;
///   otherwise one more than its deepest user). Level `k` must be done by the end of share
///   `k`, and begins as soon as its users returned, or at the latest when share `k` begins. A
///   user that overruns its share loses its ordering guarantee, not its dependencies: what it
///   uses still gets its stop called and its own share of time, and the report names the
///   broken ordering ([`ResourceReport::stopped_before_users`]).
/// - **Contract breaches are contained.** A stop that does not return by its deadline (plus
///   the slack) is reported abandoned and cancelled; a stop that panics is reported failed with
///   the panic's message. [`in_flight`](Self::in_flight) lists only stops that still run.
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
    graph: Graph,
    in_flight: InFlight,
    rollback_budget: Duration,
    phase_reserve_percent: u8,
    /// Set when a shutdown begins: a start under way starts nothing more.
    shutdown_begun: AtomicBool,
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
    /// The most a shutdown overruns its budget when stops break their contract: the
    /// orchestrator waits this much past the deadline for late reports, once per shutdown.
    pub const CONTRACT_SLACK: Duration = budget::CONTRACT_SLACK;

    /// An empty orchestrator.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            entries: Vec::new(),
            graph: Graph::default(),
            in_flight: InFlight::default(),
            rollback_budget: Duration::from_secs(10),
            phase_reserve_percent: budget::DEFAULT_PHASE_RESERVE_PERCENT,
            shutdown_begun: AtomicBool::new(false),
        }
    }

    /// The orchestrator's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The time allowed to stop what had started when `start_all` fails (default 10 s).
    pub fn set_rollback_budget(&mut self, budget: Duration) {
        self.rollback_budget = budget;
    }

    /// The share of a shutdown's budget, in percent, reserved for each later phase that has
    /// resources (default 5, at most 20): a phase may use everything but what the phases after
    /// it keep. 0 lets every phase use all that is left.
    pub fn set_phase_reserve(&mut self, percent: u8) {
        self.phase_reserve_percent = percent.min(budget::MAX_PHASE_RESERVE_PERCENT);
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
            deadline: None,
        });
        ResourceId(self.graph.add_node())
    }

    /// Gives a resource its own stop deadline, counted from the moment its stop begins (and
    /// cut to its share of the global one).
    ///
    /// # Errors
    /// [`DependencyError::UnknownResource`] for an id of another orchestrator.
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
    /// # Errors
    /// `user` must not be in a later phase than `used` ([`DependencyError::PriorityConflict`]),
    /// and dependencies must not form a cycle ([`DependencyError::Cycle`]).
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
        if self.graph.reaches(used.0, user.0) {
            return Err(DependencyError::Cycle {
                user: u.resource.name().to_owned(),
                used: d.resource.name().to_owned(),
            });
        }
        self.graph.add_edge(user.0, used.0);
        Ok(())
    }

    /// The registered resources with their priorities.
    pub fn resources(&self) -> impl Iterator<Item = (&Arc<dyn AsyncResource>, ShutdownPriority)> {
        self.entries.iter().map(|e| (&e.resource, e.priority))
    }

    /// The members of `priority`'s phase, by registration index.
    fn phase_members(&self, priority: ShutdownPriority) -> Vec<usize> {
        (0..self.entries.len())
            .filter(|i| self.entries[*i].priority == priority)
            .collect()
    }

    /// Starts every resource, phase by phase from `Cleanup` to `CriticalFirst`, concurrently
    /// within a phase except where dependencies order them. On failure, stops what started
    /// (in shutdown order, within the rollback budget) and returns the error with that report.
    ///
    /// # Errors
    /// [`StartAllError`] with every start failure and the rollback's report.
    ///
    /// # Cancel safety
    /// Dropping the future aborts the starts in progress; a
    /// [`Lifecycle`](crate::Lifecycle)-based resource then rolls its start back and becomes
    /// `Failed`. What had started keeps running: call [`shutdown_all`](Self::shutdown_all).
    ///
    /// A shutdown that begins while this runs (a signal during start, say) interrupts it:
    /// nothing more is started, the starts under way are asked to give up by the shutdown's
    /// stops, and `start_all` returns [`StartAllError::interrupted`] without a rollback of its
    /// own (the shutdown stops what started). Drive it to its end alongside the shutdown.
    pub async fn start_all(&self) -> Result<(), StartAllError> {
        let span = timeline::start(&self.name);
        let begun = Instant::now();
        let result = self.start_phases().instrument(span.clone()).await;
        let outcome = match &result {
            Ok(()) => "ok",
            Err(error) if error.interrupted => "interrupted",
            Err(_) => "failed",
        };
        timeline::finish(&span, outcome, begun.elapsed());
        result
    }

    async fn start_phases(&self) -> Result<(), StartAllError> {
        for priority in ShutdownPriority::ALL.into_iter().rev() {
            let members = self.phase_members(priority);
            if members.is_empty() {
                continue;
            }
            if self.shutdown_begun() {
                return Err(self.interrupted(Vec::new()));
            }
            let failures = start_phase::start_phase(self, &members).await;
            if self.shutdown_begun() {
                return Err(self.interrupted(failures));
            }
            if !failures.is_empty() {
                tracing::error!(orchestrator = %self.name, phase = %priority, "start failed: rolling back what started");
                let rollback = self.shutdown_all(self.rollback_budget).await;
                return Err(StartAllError {
                    failures,
                    rollback,
                    interrupted: false,
                });
            }
        }
        Ok(())
    }

    /// Whether a shutdown has begun (starts are then refused).
    pub(crate) fn shutdown_begun(&self) -> bool {
        self.shutdown_begun.load(Ordering::Acquire)
    }

    fn interrupted(&self, failures: Vec<crate::error::StartError>) -> StartAllError {
        tracing::warn!(orchestrator = %self.name, "start interrupted by a shutdown");
        StartAllError {
            failures,
            rollback: ShutdownReport {
                name: self.name.clone(),
                budget: Duration::ZERO,
                duration: Duration::ZERO,
                phases: Vec::new(),
            },
            interrupted: true,
        }
    }

    /// Stops every resource, phase by phase, within `total`, and returns one report.
    ///
    /// Returns within `total` plus [`CONTRACT_SLACK`](Self::CONTRACT_SLACK) whatever the
    /// resources do; see the guarantees on [`DependencyAwareShutdown`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the stops it is waiting for;
    /// [`Lifecycle`](crate::Lifecycle)-based resources finish their stop in their own task.
    pub async fn shutdown_all(&self, total: Duration) -> ShutdownReport {
        let begun = Instant::now();
        let budget = ShutdownBudget::new(
            begun,
            begun + total,
            Self::CONTRACT_SLACK,
            self.phase_reserve_percent,
        );
        self.shut_down(begun, total, budget, &mut |_| {}).await
    }

    /// Stops every resource, phase by phase, and returns one report **by `limit`** (the slack
    /// is taken from the budget): for a shutdown nested in another one's deadline.
    ///
    /// # Cancel safety
    /// As [`shutdown_all`](Self::shutdown_all).
    pub async fn shutdown_by(&self, limit: Instant) -> ShutdownReport {
        self.shutdown_observed(limit, &mut |_| {}).await
    }

    /// [`shutdown_by`](Self::shutdown_by), telling `on_member` of each resource's report as
    /// soon as it is in (so a parent that runs out of time still has it).
    pub(crate) async fn shutdown_observed(
        &self,
        limit: Instant,
        on_member: &mut (dyn FnMut(&ResourceReport) + Send),
    ) -> ShutdownReport {
        let begun = Instant::now();
        let left = limit.saturating_duration_since(begun);
        let slack = Self::CONTRACT_SLACK.min(left / 5);
        let deadline = limit.checked_sub(slack).unwrap_or(begun).max(begun);
        let budget = ShutdownBudget::new(begun, deadline, slack, self.phase_reserve_percent);
        self.shut_down(begun, left, budget, on_member).await
    }

    async fn shut_down(
        &self,
        begun: Instant,
        total: Duration,
        budget: ShutdownBudget,
        on_member: &mut (dyn FnMut(&ResourceReport) + Send),
    ) -> ShutdownReport {
        self.shutdown_begun.store(true, Ordering::Release);
        let span = timeline::shutdown(&self.name, total);
        let report = self
            .shut_down_phases(begun, total, budget, on_member)
            .instrument(span.clone())
            .await;
        timeline::finish(&span, report.outcome().as_str(), report.duration);
        report
    }

    async fn shut_down_phases(
        &self,
        begun: Instant,
        total: Duration,
        budget: ShutdownBudget,
        on_member: &mut (dyn FnMut(&ResourceReport) + Send),
    ) -> ShutdownReport {
        tracing::info!(orchestrator = %self.name, budget_ms = total.as_millis() as u64, "shutdown starting");
        let phases_with_members: Vec<(ShutdownPriority, Vec<usize>)> = ShutdownPriority::ALL
            .into_iter()
            .map(|priority| (priority, self.phase_members(priority)))
            .filter(|(_, members)| !members.is_empty())
            .collect();
        let mut phases = Vec::with_capacity(phases_with_members.len());
        for (position, (priority, members)) in phases_with_members.iter().enumerate() {
            let later = phases_with_members.len() - position - 1;
            let window = budget.phase(Instant::now(), later);
            phases.push(stop_phase::stop_phase(self, *priority, members, window, on_member).await);
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

    /// Resources whose stop is running now, by phase and name (for the report of a forced
    /// exit). A stop the shutdown gave up on is cancelled and leaves the list; one that cannot
    /// be dropped (stuck in blocking code) stays listed, marked
    /// [`abandoned`](InFlightStop::abandoned), for as long as it runs.
    ///
    /// The parts of a composite resource whose own stop is under way follow it, named
    /// `resource/part` ([`AsyncResource::in_flight_parts`]).
    pub fn in_flight(&self) -> Vec<InFlightStop> {
        let mut listed: Vec<(usize, InFlightStop)> = self
            .in_flight
            .list()
            .into_iter()
            .filter_map(|(i, elapsed, abandoned)| {
                let entry = self.entries.get(i)?;
                Some((
                    i,
                    InFlightStop {
                        name: entry.resource.name().into(),
                        priority: entry.priority,
                        elapsed,
                        abandoned,
                    },
                ))
            })
            .collect();
        listed.sort_by(|(_, a), (_, b)| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        let mut list = Vec::with_capacity(listed.len());
        for (i, stop) in listed {
            let parts = self.entries[i].resource.in_flight_parts();
            let parent = stop.name.clone();
            list.push(stop);
            list.extend(parts.into_iter().map(|part| InFlightStop {
                name: format!("{parent}/{}", part.name).into(),
                ..part
            }));
        }
        list
    }

    /// What a forced exit leaves behind: every stop under way ([`in_flight`](Self::in_flight)),
    /// then every resource that has not even begun its stop (still running, starting or
    /// failed), in shutdown order.
    pub fn unfinished(&self) -> Vec<InFlightStop> {
        let mut list = self.in_flight();
        for entry in &self.entries {
            let name = entry.resource.name();
            let state = entry.resource.state().tag();
            let untouched = matches!(
                state,
                StateTag::Running | StateTag::Starting | StateTag::Failed
            );
            if untouched && !list.iter().any(|s| &*s.name == name) {
                list.push(InFlightStop {
                    name: name.into(),
                    priority: entry.priority,
                    elapsed: Duration::ZERO,
                    abandoned: false,
                });
            }
        }
        list.sort_by_key(|s| s.priority);
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
}
