//! Stopping one phase: every member's stop is called exactly once, users before what they use
//! as long as the users keep their deadlines, each dependency level within its share of the
//! phase, and the phase returns by its wait limit whatever the members do.

use std::sync::Arc;

use tokio::time::Instant;
use tracing::Instrument;

use crate::orchestrator::DependencyAwareShutdown;
use crate::orchestrator::budget::{LevelWindow, PhaseWindow};
use crate::orchestrator::member_task::{MemberEvent, MemberTasks};
use crate::priority::ShutdownPriority;
use crate::shutdown_report::{PhaseReport, ResourceReport};
use crate::stop_report::{StopDetails, StopOutcome, StopReport};
use crate::timeline::{self, Op};

/// Where one member of the phase is.
enum Member {
    /// Waiting for its users (or for its level's latest start).
    Waiting,
    /// Its stop runs.
    Stopping {
        began: Instant,
        in_flight_key: u64,
        polled: bool,
        stopped_before_users: Vec<Arc<str>>,
        span: tracing::Span,
    },
    /// Its stop returned (or panicked).
    Reported(Box<ResourceReport>),
}

/// One phase's stop, in progress.
struct StopPhase<'a> {
    system: &'a DependencyAwareShutdown,
    span: tracing::Span,
    priority: ShutdownPriority,
    members: &'a [usize],
    plan: Vec<LevelWindow>,
    state: Vec<Member>,
    tasks: MemberTasks<StopReport>,
}

/// Stops the `members` (registration indices) of the `priority` phase within `window`,
/// telling `on_member` of each report as it arrives.
pub(super) async fn stop_phase(
    system: &DependencyAwareShutdown,
    priority: ShutdownPriority,
    members: &[usize],
    window: PhaseWindow,
    on_member: &mut (dyn FnMut(&ResourceReport) + Send),
) -> PhaseReport {
    let levels = system.graph.stop_levels(members);
    let depth = levels.iter().max().map_or(1, |deepest| deepest + 1);
    let span = timeline::phase(&system.name, Op::Stop, priority);
    let mut phase = StopPhase {
        system,
        span: span.clone(),
        priority,
        members,
        plan: levels.iter().map(|l| window.level(*l, depth)).collect(),
        state: members.iter().map(|_| Member::Waiting).collect(),
        tasks: MemberTasks::new(),
    };
    let resources = async {
        phase.run(window, on_member).await;
        phase.give_up(window, on_member).await
    }
    .instrument(span.clone())
    .await;
    // Cancels the stops given up on (their tasks are aborted); detached ones run on.
    drop(phase);
    let report = PhaseReport {
        priority,
        duration: window.begun.elapsed(),
        resources,
    };
    let worst = report
        .resources
        .iter()
        .map(|r| r.outcome)
        .max()
        .unwrap_or(StopOutcome::NotStarted);
    timeline::finish(&span, worst.as_str(), report.duration);
    report
}

impl StopPhase<'_> {
    /// Launches members as their users finish (or their level's time comes) and collects
    /// reports until every member reported or the phase's wait limit passes.
    async fn run(
        &mut self,
        window: PhaseWindow,
        on_member: &mut (dyn FnMut(&ResourceReport) + Send),
    ) {
        loop {
            let now = Instant::now();
            self.launch_ready(now, now >= window.wait_limit);
            if self.all_reported() || now >= window.wait_limit {
                return;
            }
            let wake = self
                .waiting()
                .map(|position| self.plan[position].latest_start)
                .fold(window.wait_limit, Instant::min);
            tokio::select! {
                biased;
                event = self.tasks.next() => {
                    if let Some(event) = event {
                        self.handle(event, on_member);
                    }
                    while let Some(event) = self.tasks.try_next() {
                        self.handle(event, on_member);
                    }
                }
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// Launches every waiting member whose users have all reported, whose level's latest start
    /// has come, or every waiting member at all if `now_or_never`.
    fn launch_ready(&mut self, now: Instant, now_or_never: bool) {
        for position in 0..self.members.len() {
            if !matches!(self.state[position], Member::Waiting) {
                continue;
            }
            let member = self.members[position];
            let unfinished_users: Vec<usize> = self
                .system
                .graph
                .users_among(member, self.members)
                .filter(|user| !self.is_reported(*user))
                .collect();
            // Past its latest start a member may break the order, but only for users that
            // have begun (been polled): a quick user still goes first when time is short.
            let users_begun = unfinished_users.iter().all(|user| self.has_begun(*user));
            if unfinished_users.is_empty()
                || (now >= self.plan[position].latest_start && users_begun)
                || now_or_never
            {
                self.launch(position, now, &unfinished_users);
            }
        }
    }

    fn launch(&mut self, position: usize, now: Instant, unfinished_users: &[usize]) {
        let member = self.members[position];
        let entry = &self.system.entries[member];
        let deadline = entry.deadline.map_or(self.plan[position].deadline, |own| {
            self.plan[position].deadline.min(now + own)
        });
        let stopped_before_users: Vec<Arc<str>> = unfinished_users
            .iter()
            .map(|user| Arc::from(self.system.entries[*user].resource.name()))
            .collect();
        if !stopped_before_users.is_empty() {
            tracing::warn!(
                orchestrator = %self.system.name, phase = %self.priority, resource = entry.resource.name(),
                users = ?stopped_before_users,
                "users overran their share of the phase: stopping what they use before they returned"
            );
        }
        let listed = self.system.in_flight.begin(member);
        let in_flight_key = listed.key();
        let resource = entry.resource.clone();
        let span = timeline::resource(&self.span, resource.name(), Op::Stop, self.priority);
        self.tasks.spawn(
            position,
            async move { resource.stop(deadline).await }.instrument(span.clone()),
            Some(listed),
        );
        self.state[position] = Member::Stopping {
            began: now,
            in_flight_key,
            polled: false,
            stopped_before_users,
            span,
        };
    }

    fn handle(
        &mut self,
        event: MemberEvent<StopReport>,
        on_member: &mut (dyn FnMut(&ResourceReport) + Send),
    ) {
        match event {
            MemberEvent::Polled(position) => {
                if let Some(Member::Stopping { polled, .. }) = self.state.get_mut(position) {
                    *polled = true;
                }
            }
            MemberEvent::Done {
                member: position,
                output,
                duration,
            } => {
                let Some(Member::Stopping {
                    stopped_before_users,
                    span,
                    ..
                }) = self.state.get_mut(position)
                else {
                    return;
                };
                let stopped_before_users = std::mem::take(stopped_before_users);
                let span = span.clone();
                let name = self.system.entries[self.members[position]].resource.name();
                let report = output.unwrap_or_else(|panic| {
                    tracing::error!(orchestrator = %self.system.name, resource = name, panic, "resource stop panicked");
                    StopReport::new(
                        name,
                        duration,
                        None,
                        None,
                        StopDetails::new().error(format!("stop panicked: {panic}")),
                        false,
                    )
                });
                let entry = ResourceReport {
                    name: name.into(),
                    priority: self.priority,
                    duration,
                    outcome: report.outcome,
                    report: Some(report),
                    stopped_before_users,
                };
                timeline::finish(&span, entry.outcome.as_str(), duration);
                on_member(&entry);
                self.state[position] = Member::Reported(Box::new(entry));
            }
        }
    }

    /// Past the wait limit: waits (until the poll limit) for members not yet polled to get
    /// their one chance, leaves the stops that were not even polled to run detached, and
    /// returns every member's entry in registration order. The stops that were polled and did
    /// not return are cancelled when the phase drops its tasks.
    async fn give_up(
        &mut self,
        window: PhaseWindow,
        on_member: &mut (dyn FnMut(&ResourceReport) + Send),
    ) -> Vec<ResourceReport> {
        for member in &self.state {
            if let Member::Stopping { in_flight_key, .. } = member {
                self.system.in_flight.mark_abandoned(*in_flight_key);
            }
        }
        let poll_limit = tokio::time::sleep_until(window.poll_limit);
        tokio::pin!(poll_limit);
        while self.unpolled().next().is_some() {
            tokio::select! {
                biased;
                event = self.tasks.next() => {
                    if let Some(event) = event {
                        self.handle(event, on_member);
                    }
                }
                () = &mut poll_limit => break,
            }
        }
        while let Some(event) = self.tasks.try_next() {
            self.handle(event, on_member);
        }
        let now = Instant::now();
        let mut entries = Vec::with_capacity(self.members.len());
        for position in 0..self.members.len() {
            let state = std::mem::replace(&mut self.state[position], Member::Waiting);
            let entry = match state {
                Member::Reported(entry) => *entry,
                Member::Stopping {
                    began,
                    polled,
                    stopped_before_users,
                    span,
                    ..
                } => {
                    let duration = now.saturating_duration_since(began);
                    timeline::finish(&span, "abandoned", duration);
                    self.abandon(position, duration, polled, stopped_before_users)
                }
                // Launched at the wait limit at the latest: cannot happen.
                Member::Waiting => {
                    self.abandon(position, std::time::Duration::ZERO, false, Vec::new())
                }
            };
            entries.push(entry);
        }
        entries
    }

    fn abandon(
        &mut self,
        position: usize,
        duration: std::time::Duration,
        polled: bool,
        stopped_before_users: Vec<Arc<str>>,
    ) -> ResourceReport {
        let name = self.system.entries[self.members[position]].resource.name();
        if polled {
            // Its task stays in the phase's set: dropping the set as the phase returns
            // cancels it.
            tracing::error!(orchestrator = %self.system.name, phase = %self.priority, resource = name, "stop did not return by its deadline: abandoned (cancelled)");
        } else {
            tracing::error!(orchestrator = %self.system.name, phase = %self.priority, resource = name, "stop not even polled by the shutdown's limit (starved runtime?): abandoned, left to run");
            self.tasks.detach(position);
        }
        ResourceReport {
            name: name.into(),
            priority: self.priority,
            duration,
            outcome: StopOutcome::Incomplete,
            report: None,
            stopped_before_users,
        }
    }

    fn is_reported(&self, member: usize) -> bool {
        self.members
            .iter()
            .position(|m| *m == member)
            .is_some_and(|position| matches!(self.state[position], Member::Reported(_)))
    }

    /// Whether `member`'s stop was polled at least once (or already returned).
    fn has_begun(&self, member: usize) -> bool {
        self.members
            .iter()
            .position(|m| *m == member)
            .is_some_and(|position| {
                matches!(
                    self.state[position],
                    Member::Reported(_) | Member::Stopping { polled: true, .. }
                )
            })
    }

    fn all_reported(&self) -> bool {
        self.state.iter().all(|m| matches!(m, Member::Reported(_)))
    }

    fn waiting(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.state.len()).filter(|p| matches!(self.state[*p], Member::Waiting))
    }

    fn unpolled(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.state.len())
            .filter(|p| matches!(self.state[*p], Member::Stopping { polled: false, .. }))
    }
}
