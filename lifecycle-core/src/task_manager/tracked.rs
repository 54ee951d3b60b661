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
use crate::shutdown_signal::ShutdownSignal;
use crate::task_report::TaskOutcome;
use crate::task_result::TaskResult;
use crate::timeline::TaskSpan;

pin_project! {
    /// A managed task's future. When the user's future returns, it is dropped in place (the
    /// variant becomes `Ended`) before the end is accounted for, so the task's resources are
    /// released before it stops counting as live. Dropped while still `Running` (an abort, or
    /// its runtime shutting down), the fields drop in order: the user's future first, then the
    /// guard, which records `Aborted`.
    #[project = TrackedProjection]
    #[project_replace = TrackedReplaced]
    pub(crate) enum Tracked<F> {
        Running {
            #[pin]
            inner: CatchUnwind<F>,
            guard: TaskGuard,
        },
        Ended,
    }
}

impl<F> Tracked<F> {
    pub(crate) fn new(inner: F, guard: TaskGuard) -> Self {
        Self::Running {
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
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let TrackedProjection::Running { inner, guard } = self.as_mut().project() else {
            // Polled again after its end (tokio never does): nothing left to run.
            return Poll::Ready(());
        };
        if guard.shared.is_aborting() {
            // Aborted: end without polling; the inner future is dropped with this one and
            // the guard records `Aborted`.
            return Poll::Ready(());
        }
        match inner.poll(cx) {
            Poll::Pending => {
                if !guard.registered_waker {
                    // First time parked: leave the waker where an abort can reach it. A task's
                    // waker never changes, so once is enough.
                    guard.registered_waker = true;
                    guard.shared.register_waker(guard.slot, cx.waker());
                    if guard.shared.is_aborting() {
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
            Poll::Ready(result) => {
                let abnormal = match result {
                    Ok(output) => match output.into_task_result() {
                        Ok(()) => None,
                        Err(message) => Some(TaskOutcome::Failed(message)),
                    },
                    Err(panic) => Some(TaskOutcome::Panicked(panic)),
                };
                // Drops the user's future, then accounts for its end.
                if let TrackedReplaced::Running { guard, .. } = self.project_replace(Self::Ended) {
                    guard.end(abnormal);
                }
                Poll::Ready(())
            }
        }
    }
}

/// The accounting of a managed task's end: [`TaskGuard::end`] when it returned or panicked,
/// else at its drop (an abort, or its runtime shutting down), after the task's own future, so
/// its resources are released before it stops counting as live. Kept small (it is moved with
/// every task): the task's identity lives in its manager's registry.
pub(crate) struct TaskGuard {
    shared: Arc<Shared>,
    /// The task's slot in its manager's registry.
    slot: Slot,
    /// The task parked once and left its waker in its slot.
    registered_waker: bool,
    /// The end was accounted for (by [`TaskGuard::end`]).
    ended: bool,
}

impl TaskGuard {
    /// The guard of a task just entered in `slot`.
    pub(crate) fn new(shared: Arc<Shared>, slot: Slot) -> Self {
        Self {
            shared,
            slot,
            registered_waker: false,
            ended: false,
        }
    }

    /// The task returned (`None`: successfully, else how it ended abnormally) or panicked,
    /// and its future is gone.
    #[inline]
    fn end(mut self, abnormal: Option<TaskOutcome>) {
        self.ended = true;
        self.shared
            .end_task(self.slot, self.registered_waker, abnormal);
    }
}

impl Drop for TaskGuard {
    #[inline]
    fn drop(&mut self) {
        if !self.ended {
            // Dropped before its end: aborted, or its runtime shut down.
            self.shared
                .end_task(self.slot, self.registered_waker, Some(TaskOutcome::Aborted));
        }
    }
}

pin_project! {
    /// A task whose timeline span a subscriber records: polls the task inside its span and
    /// ends the span with the task's outcome (`finished`, `stopped`, `failed`, `panicked`,
    /// `aborted`). Only recorded tasks are wrapped, so the others pay nothing for it.
    pub(crate) struct Spanned<F> {
        #[pin]
        inner: F,
        span: Box<TaskSpan>,
        // The manager's signal: a task that returns after it is `stopped`, else `finished`.
        signal: ShutdownSignal,
        // The span was ended (the task returned).
        ended: bool,
        // The task panicked in a poll (the panic is caught further out, by `Tracked`).
        panicked: bool,
    }

    impl<F> PinnedDrop for Spanned<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.ended {
                this.span.end(if *this.panicked { "panicked" } else { "aborted" });
            }
        }
    }
}

impl<F> Spanned<F> {
    pub(crate) fn new(inner: F, span: Box<TaskSpan>, signal: ShutdownSignal) -> Self {
        Self {
            inner,
            span,
            signal,
            ended: false,
            panicked: false,
        }
    }
}

/// Marks a poll that unwinds (the task panicked).
struct MarkPanic<'a>(&'a mut bool);

impl Drop for MarkPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            *self.0 = true;
        }
    }
}

impl<F> Future for Spanned<F>
where
    F: Future,
    F::Output: TaskResult,
{
    type Output = Result<(), String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = {
            let _entered = this.span.enter();
            let _mark = MarkPanic(this.panicked);
            this.inner.poll(cx)
        };
        let Poll::Ready(output) = polled else {
            return Poll::Pending;
        };
        let result = output.into_task_result();
        let outcome = match &result {
            Ok(()) if this.signal.is_triggered() => "stopped",
            Ok(()) => "finished",
            Err(_) => "failed",
        };
        *this.ended = true;
        this.span.end(outcome);
        Poll::Ready(result)
    }
}
