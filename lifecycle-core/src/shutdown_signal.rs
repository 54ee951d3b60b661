//! [`ShutdownSignal`]: the "please stop" a task selects on, with a lock-free check for hot loops.

use std::fmt;
use std::sync::Arc;

use crate::sync::{AtomicBool, Notify, Ordering};

/// A one-shot shutdown signal: the "please stop" event tasks select on, the role of
/// tokio-util's `CancellationToken`.
///
/// Cloning gives another handle to the same signal. [`ShutdownSignal::is_triggered`] is a single
/// atomic load (no lock, unlike `CancellationToken::is_cancelled`), so hot loops may check it on
/// every iteration; [`ShutdownSignal::triggered`] is the future a task selects on.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use lifecycle_core::ShutdownSignal;
///
/// let signal = ShutdownSignal::new();
/// let worker = tokio::spawn({
///     let signal = signal.clone();
///     async move {
///         let mut ticks = 0u64;
///         loop {
///             tokio::select! {
///                 biased;
///                 () = signal.triggered() => break ticks,
///                 () = tokio::task::yield_now() => ticks += 1,
///             }
///         }
///     }
/// });
/// signal.trigger();
/// assert!(signal.is_triggered());
/// worker.await.unwrap();
/// # }
/// ```
#[derive(Clone, Default)]
#[doc(alias = "shutdown_event")]
#[doc(alias = "CancellationToken")]
pub struct ShutdownSignal {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    triggered: AtomicBool,
    notify: Notify,
}

impl fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownSignal")
            .field("triggered", &self.is_triggered())
            .finish()
    }
}

impl ShutdownSignal {
    /// A new, untriggered signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Triggers the signal and wakes every waiter. Returns `true` for the call that triggered
    /// it, `false` if it was already triggered.
    #[doc(alias = "cancel")]
    #[doc(alias = "set")]
    pub fn trigger(&self) -> bool {
        if self.inner.triggered.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.inner.notify.notify_waiters();
        true
    }

    /// Whether the signal was triggered: one atomic load, safe for hot loops.
    #[doc(alias = "is_cancelled")]
    #[doc(alias = "is_set")]
    #[inline]
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::Acquire)
    }

    /// Completes once the signal is triggered (at once if it already was).
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future loses nothing, a later call sees the trigger.
    #[doc(alias = "cancelled")]
    #[doc(alias = "wait")]
    pub async fn triggered(&self) {
        loop {
            if self.is_triggered() {
                return;
            }
            let notified = self.inner.notify.notified();
            let mut notified = std::pin::pin!(notified);
            // Register before the second check so a trigger in between is not missed.
            notified.as_mut().enable();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }
}
