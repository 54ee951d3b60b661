//! [`ResourceGroup`]: a set of resources, ordered by a [`DependencyAwareShutdown`], that
//! starts and stops as one [`AsyncResource`] (a composite exchange made of sockets, streams
//! and clients, say).

use std::fmt;
use std::sync::Arc;

use tokio::time::Instant;

use crate::error::{BoxError, StartError};
use crate::lifecycle::Lifecycle;
use crate::orchestrator::{DependencyAwareShutdown, InFlightStop};
use crate::resource::{AsyncResource, BoxFuture};
use crate::shutdown_report::ResourceReport;
use crate::state::StateTag;
use crate::stop_report::{StopDetails, StopReport};

/// A group of resources that starts and stops as one resource.
///
/// - `start` runs the members' [`start_all`](DependencyAwareShutdown::start_all) (reverse
///   stop order; a failure rolls back what started and fails the group).
/// - While running, a member that enters `Failed` fails the group too, so whoever supervises
///   the group (a runner, an outer orchestrator) learns of it.
/// - `stop(deadline)` runs the members'
///   [`shutdown_all`](DependencyAwareShutdown::shutdown_all) with the time left and reports
///   each member as a child of the group's report, in shutdown order.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use lifecycle_core::{AsyncResource, DependencyAwareShutdown, ResourceGroup, ShutdownPriority};
/// # use lifecycle_core::{BoxFuture, Lifecycle, LifecycleState, StartError, StateWatcher, StopDetails, StopReport};
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
/// let mut members = DependencyAwareShutdown::new("exchange");
/// members.register(component("socket"), ShutdownPriority::Medium);
/// members.register(component("http"), ShutdownPriority::Cleanup);
/// let exchange = ResourceGroup::new("exchange", members);
///
/// exchange.start().await.unwrap();
/// let report = exchange.stop_within(Duration::from_secs(1)).await;
/// assert!(report.is_clean());
/// let order: Vec<_> = report.details.children.iter().map(|c| &*c.component).collect();
/// assert_eq!(order, ["socket", "http"]);
/// # }
/// ```
pub struct ResourceGroup {
    lifecycle: Lifecycle,
    members: Arc<DependencyAwareShutdown>,
}

impl fmt::Debug for ResourceGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceGroup")
            .field("name", &self.lifecycle.name())
            .field("state", &self.lifecycle.state_tag())
            .field("members", &self.members)
            .finish()
    }
}

impl ResourceGroup {
    /// A group named `name` over `members`.
    pub fn new(name: impl Into<Arc<str>>, members: DependencyAwareShutdown) -> Self {
        Self {
            lifecycle: Lifecycle::new(name),
            members: Arc::new(members),
        }
    }

    /// The group's state discriminant: one atomic load, for hot paths that must refuse work
    /// once the group is stopping.
    #[inline]
    pub fn state_tag(&self) -> StateTag {
        self.lifecycle.state_tag()
    }

    /// The members and their order.
    pub fn members(&self) -> &DependencyAwareShutdown {
        &self.members
    }
}

/// A member's report as a child report: its own stop report, or (abandoned) one made from the
/// orchestrator's verdict.
fn member_report(member: &ResourceReport) -> StopReport {
    match &member.report {
        Some(stop) => stop.clone(),
        None => StopReport::new(
            member.name.clone(),
            member.duration,
            None,
            None,
            StopDetails::new().error("did not return by the deadline: abandoned"),
            true,
        ),
    }
}

impl AsyncResource for ResourceGroup {
    crate::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let members = self.members.clone();
        Box::pin(self.lifecycle.start(|ctx| async move {
            // If this start is cancelled half-way, stop whatever members started.
            let undo = members.clone();
            // `shutdown_by`, not `shutdown_all`: the report must be in by the rollback's
            // deadline (shutdown_all may take its slack past it, and the step is cut there).
            ctx.on_rollback("stop members", move |deadline: Instant| async move {
                undo.shutdown_by(deadline).await
            });
            members
                .start_all()
                .await
                .map_err(|error| Box::new(error) as BoxError)?;
            let signal = ctx.tasks().signal().clone();
            ctx.tasks()
                .spawn_critical("watch members", async move {
                    tokio::select! {
                        biased;
                        () = signal.triggered() => Ok(()),
                        (member, cause) = members.first_failure() => Err(format!("member {member} failed: {cause}")),
                    }
                })
                .map_err(|error| Box::new(error) as BoxError)?;
            Ok(())
        }))
    }

    fn in_flight_parts(&self) -> Vec<InFlightStop> {
        self.members.in_flight()
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let members = self.members.clone();
        Box::pin(self.lifecycle.stop(deadline, move |ctx| async move {
            // The watcher goes first, so members stopping is not mistaken for a failure.
            ctx.shutdown_tasks(ctx.deadline()).await;
            // Each member's report is recorded as it comes in: if this stop runs out of time,
            // the group's report still has the members that finished.
            let report = members
                .shutdown_observed(ctx.deadline(), &mut |member| {
                    ctx.record_child(member_report(member));
                })
                .await;
            report
                .resources()
                .map(member_report)
                .fold(StopDetails::new(), StopDetails::child)
        }))
    }
}
