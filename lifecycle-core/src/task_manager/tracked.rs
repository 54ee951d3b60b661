//! [`Tracked`]: the wrapper around every managed task. It catches panics at the task boundary,
//! records how the task ended (completion, error, panic, or being dropped by an abort), keeps
//! its manager's registry and live count exact, and carries out aborts: once its manager is
//! aborting, the task's next poll drops its future (parked tasks are woken for it), which is
//! what tokio's own abort does, without a join handle per task.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::registry::Slot;
use super::shared::Shared;
use crate::catch_unwind::CatchUnwind;
use crate::task_report::TaskOutcome;
use crate::task_result::TaskResult;
use crate::timeline::TaskSpan;

pin_project! {
    /// A managed task's future. Field order matters: the user's future is dropped before the
    /// guard, so the task's resources are released before it stops counting as live.
    pub(crate) struct Tracked<F> {
        #[pin]
        inner: CatchUnwind<F>,
        guard: TaskGuard,
    }
}

impl<F> Tracked<F> {
    pub(crate) fn new(inner: F, guard: TaskGuard) -> Self {
        Self {
            inner: CatchUnwind::new(inner),
            guard,
        }
    }
}

impl<F> Future for Tracked<F>
where
    F: Future,
    F::Output: TaskResult,
{
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.guard.shared.is_aborting() {
            // Aborted: end without polling; the inner future is dropped with this one and
            // the guard records `Aborted`.
            return Poll::Ready(());
        }
        let polled = {
            // In the task's timeline span, if recorded (nothing to enter otherwise).
            let _entered = this.guard.timeline.as_deref().map(TaskSpan::enter);
            this.inner.poll(cx)
        };
        match polled {
            Poll::Pending => {
                if !this.guard.registered_waker {
                    // First time parked: leave the waker where an abort can reach it. A task's
                    // waker never changes, so once is enough.
                    this.guard.registered_waker = true;
                    this.guard
                        .shared
                        .register_waker(this.guard.slot, cx.waker());
                    if this.guard.shared.is_aborting() {
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
            Poll::Ready(result) => {
                let outcome = match result {
                    Ok(output) => match output.into_task_result() {
                        Ok(()) => None,
                        Err(message) => Some(TaskOutcome::Failed(message)),
                    },
                    Err(panic) => Some(TaskOutcome::Panicked(panic)),
                };
                this.guard.complete(outcome);
                Poll::Ready(())
            }
        }
    }
}

/// The accounting done when a managed task ends, at its drop (after the task's own future,
/// so its resources are released before it stops counting as live). Kept small (it is moved
/// with every task): the task's identity lives in its manager's registry.
pub(crate) struct TaskGuard {
    shared: Arc<Shared>,
    /// The task's slot in its manager's registry.
    slot: Slot,
    completed: bool,
    registered_waker: bool,
    /// How the task ended, if it returned abnormally (boxed: rare, and keeps the guard small).
    abnormal: Option<Box<TaskOutcome>>,
    /// The task's timeline span, when a subscriber records it (boxed: one word when not).
    timeline: Option<Box<TaskSpan>>,
}

impl TaskGuard {
    /// The guard of a task just entered in `slot`, with its timeline span if recorded.
    pub(crate) fn new(shared: Arc<Shared>, slot: Slot, timeline: Option<Box<TaskSpan>>) -> Self {
        Self {
            shared,
            slot,
            completed: false,
            registered_waker: false,
            abnormal: None,
            timeline,
        }
    }

    /// The task returned (`None`: successfully) or panicked.
    fn complete(&mut self, abnormal: Option<TaskOutcome>) {
        self.completed = true;
        self.abnormal = abnormal.map(Box::new);
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let abnormal = if self.completed {
            self.abnormal.take().map(|outcome| *outcome)
        } else {
            // Dropped before completion: aborted, or its runtime shut down.
            Some(TaskOutcome::Aborted)
        };
        if let Some(timeline) = self.timeline.take() {
            timeline.end(timeline_outcome(
                abnormal.as_ref(),
                self.shared.signal.is_triggered(),
            ));
        }
        self.shared
            .end_task(self.slot, self.registered_waker, abnormal);
    }
}

/// A task's outcome as the timeline names it.
fn timeline_outcome(abnormal: Option<&TaskOutcome>, signalled: bool) -> &'static str {
    match abnormal {
        None if signalled => "stopped",
        None => "finished",
        Some(TaskOutcome::Failed(_)) => "failed",
        Some(TaskOutcome::Panicked(_)) => "panicked",
        Some(_) => "aborted",
    }
}
