//! The member runner shared by the start and stop phases: each member's start or stop runs in
//! a task of its own (so a member stuck in blocking code cannot stall the orchestrator on a
//! multi-thread runtime), its panic is caught, and the phase learns through one channel when
//! the member was first polled and when it ended.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::catch_unwind::CatchUnwind;
use crate::orchestrator::in_flight::InFlightGuard;

/// What a member's task tells its phase.
pub(super) enum MemberEvent<T> {
    /// The member's future was polled once and is pending: it has begun.
    Polled(usize),
    /// The member's future ended: its output (or panic message) and how long it ran.
    Done {
        member: usize,
        output: Result<T, String>,
        duration: Duration,
    },
}

/// The tasks of one phase's members. Dropping it aborts the members still running (their
/// futures are dropped at their next poll), unless they were detached; aborting a task that
/// has ended does nothing.
pub(super) struct MemberTasks<T> {
    events_tx: mpsc::UnboundedSender<MemberEvent<T>>,
    events_rx: mpsc::UnboundedReceiver<MemberEvent<T>>,
    /// Every task spawned and not detached, ended or not.
    running: Vec<(usize, AbortHandle)>,
}

impl<T: Send + 'static> MemberTasks<T> {
    pub(super) fn new() -> Self {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        Self {
            events_tx,
            events_rx,
            running: Vec::new(),
        }
    }

    /// Runs `work` for `member` in a task of its own. `listed` keeps the member in the
    /// orchestrator's in-flight list for exactly as long as `work` lives.
    pub(super) fn spawn<F>(&mut self, member: usize, work: F, listed: Option<InFlightGuard>)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let events = self.events_tx.clone();
        let handle = tokio::spawn(async move {
            let begun = Instant::now();
            let output = {
                let mut work = pin!(CatchUnwind::new(work));
                // Sent once, after the first poll, and only if the work did not end in it.
                let mut polled = Some(MemberEvent::Polled(member));
                std::future::poll_fn(|cx| {
                    let poll = work.as_mut().poll(cx);
                    if poll.is_pending()
                        && let Some(event) = polled.take()
                    {
                        let _ = events.send(event);
                    }
                    poll
                })
                .await
            };
            // The stop no longer runs: it leaves the list before the phase hears of its end.
            drop(listed);
            let _ = events.send(MemberEvent::Done {
                member,
                output,
                duration: begun.elapsed(),
            });
        });
        self.running.push((member, handle.abort_handle()));
    }

    /// The next event; `None` never happens while `self` holds a sender.
    ///
    /// Cancel safe (an event not yet received stays queued).
    pub(super) async fn next(&mut self) -> Option<MemberEvent<T>> {
        self.events_rx.recv().await
    }

    /// An event already queued, without waiting.
    pub(super) fn try_next(&mut self) -> Option<MemberEvent<T>> {
        self.events_rx.try_recv().ok()
    }

    /// Lets `member`'s task run on after this set is dropped.
    pub(super) fn detach(&mut self, member: usize) {
        self.running.retain(|(m, _)| *m != member);
    }
}

impl<T> Drop for MemberTasks<T> {
    fn drop(&mut self) {
        for (_, handle) in &self.running {
            handle.abort();
        }
    }
}
