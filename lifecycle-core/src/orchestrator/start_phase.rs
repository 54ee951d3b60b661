//! Starting one phase: members start concurrently, each after what it uses in the phase has
//! started; a member whose dependency failed is not started at all (the rollback stops the
//! rest).

use crate::error::StartError;
use crate::orchestrator::DependencyAwareShutdown;
use crate::orchestrator::member_task::{MemberEvent, MemberTasks};
use crate::state::FailureCause;
use crate::timeline::{self, Op};

use tracing::Instrument;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Member {
    Waiting,
    Starting,
    Started,
    /// Failed, or skipped because something it uses did not start.
    NotStarted,
}

/// Starts the `members` (registration indices) of one phase and returns the failures.
///
/// Cancel safety: dropping the future aborts the starts in progress (a
/// [`Lifecycle`](crate::Lifecycle)-based start then rolls itself back).
pub(super) async fn start_phase(
    system: &DependencyAwareShutdown,
    members: &[usize],
) -> Vec<StartError> {
    let Some(first) = members.first() else {
        return Vec::new();
    };
    let phase_span = timeline::phase(&system.name, Op::Start, system.entries[*first].priority);
    let begun = tokio::time::Instant::now();
    let failures = run(system, members, &phase_span)
        .instrument(phase_span.clone())
        .await;
    let outcome = if failures.is_empty() { "ok" } else { "failed" };
    timeline::finish(&phase_span, outcome, begun.elapsed());
    failures
}

async fn run(
    system: &DependencyAwareShutdown,
    members: &[usize],
    phase_span: &tracing::Span,
) -> Vec<StartError> {
    let mut state = vec![Member::Waiting; members.len()];
    let mut spans: Vec<Option<tracing::Span>> = vec![None; members.len()];
    let mut tasks = MemberTasks::new();
    let mut failures = Vec::new();
    loop {
        launch_ready(
            system, members, &mut state, &mut tasks, phase_span, &mut spans,
        );
        if !state.contains(&Member::Starting) {
            return failures;
        }
        let Some(event) = tasks.next().await else {
            return failures;
        };
        let MemberEvent::Done {
            member: position,
            output,
            duration,
        } = event
        else {
            continue;
        };
        if let Some(span) = spans[position].take() {
            let outcome = match &output {
                Ok(Ok(())) => "ok",
                Ok(Err(_)) => "failed",
                Err(_) => "panicked",
            };
            timeline::finish(&span, outcome, duration);
        }
        let name = system.entries[members[position]].resource.name();
        state[position] = match output {
            Ok(Ok(())) => Member::Started,
            Ok(Err(error)) => {
                failures.push(error);
                Member::NotStarted
            }
            Err(panic) => {
                tracing::error!(orchestrator = %system.name, resource = name, panic, "resource start panicked");
                failures.push(StartError::Failed {
                    component: name.to_owned(),
                    cause: FailureCause::new(format!("start panicked: {panic}")),
                });
                Member::NotStarted
            }
        };
    }
}

/// Starts every waiting member whose dependencies in the phase all started, and marks those
/// with a dependency that did not start as not started.
fn launch_ready(
    system: &DependencyAwareShutdown,
    members: &[usize],
    state: &mut [Member],
    tasks: &mut MemberTasks<Result<(), StartError>>,
    phase_span: &tracing::Span,
    spans: &mut [Option<tracing::Span>],
) {
    // A skip can make another member skippable: repeat until nothing changes.
    let mut changed = true;
    while changed {
        changed = false;
        for position in 0..members.len() {
            if state[position] != Member::Waiting {
                continue;
            }
            let dependencies: Vec<Member> = system
                .graph
                .uses(members[position])
                .iter()
                .filter_map(|used| members.iter().position(|m| m == used))
                .map(|p| state[p])
                .collect();
            if dependencies.contains(&Member::NotStarted) || system.shutdown_begun() {
                // Something it uses did not start, or a shutdown began: it never starts.
                state[position] = Member::NotStarted;
                changed = true;
            } else if dependencies.iter().all(|d| *d == Member::Started) {
                let entry = &system.entries[members[position]];
                let resource = entry.resource.clone();
                let span =
                    timeline::resource(phase_span, resource.name(), Op::Start, entry.priority);
                tasks.spawn(
                    position,
                    async move { resource.start().await }.instrument(span.clone()),
                    None,
                );
                spans[position] = Some(span);
                state[position] = Member::Starting;
                changed = true;
            }
        }
    }
}
