//! [`Tracked`]: the wrapper around every managed task. It catches panics at the task boundary,
//! records how the task ended (completion, error, panic, or being dropped by an abort) and keeps
//! its manager's live count exact. No lock is taken unless the task ended abnormally.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::catch_unwind::CatchUnwind;
use crate::task_manager::Shared;
use crate::task_name::TaskName;
use crate::task_report::{TaskId, TaskOutcome, TaskRecord};
use crate::task_result::TaskResult;

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
        match this.inner.poll(cx) {
            Poll::Pending => Poll::Pending,
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

/// Identity of a managed task and the accounting done when it ends.
pub(crate) struct TaskGuard {
    pub(crate) shared: Arc<Shared>,
    pub(crate) id: TaskId,
    pub(crate) name: TaskName,
    pub(crate) critical: bool,
    pub(crate) completed: bool,
}

impl TaskGuard {
    /// The task returned (`None`: successfully) or panicked.
    fn complete(&mut self, abnormal: Option<TaskOutcome>) {
        self.completed = true;
        let shared = &self.shared;
        match abnormal {
            None => shared.count_normal_end(),
            Some(outcome) => {
                let record = TaskRecord {
                    id: self.id,
                    name: self.name.clone(),
                    critical: self.critical,
                    outcome,
                };
                shared.record_abnormal_end(record);
            }
        }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if !self.completed {
            // Dropped before completion: aborted, or its runtime shut down.
            self.shared.record_abnormal_end(TaskRecord {
                id: self.id,
                name: self.name.clone(),
                critical: self.critical,
                outcome: TaskOutcome::Aborted,
            });
        }
        self.shared.release_live();
    }
}
