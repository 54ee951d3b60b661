//! The primitives under the crate's lock-free state ([`StateCell`](crate::StateCell),
//! [`ShutdownSignal`](crate::ShutdownSignal)): the standard library's, or loom's under
//! `--cfg quiesce_loom`, so the model checks in `tests/loom_*.rs` explore every interleaving of them.

#[cfg(quiesce_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
#[cfg(quiesce_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(not(quiesce_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
#[cfg(not(quiesce_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, recovering from poisoning (the data is plain state, valid after a panic).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(quiesce_loom)]
pub(crate) use model_notify::Notify;
#[cfg(not(quiesce_loom))]
pub(crate) use tokio::sync::Notify;

/// Under loom, a `Notify` with the semantics of tokio's for what the crate uses
/// (`notify_waiters` wakes every `Notified` created before the call, enabled or not), built on
/// loom's mutex so loom sees every synchronisation it makes. tokio's own is opaque to loom.
#[cfg(quiesce_loom)]
mod model_notify {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use super::{Mutex, lock};

    #[derive(Default)]
    struct State {
        /// Calls of `notify_waiters` so far.
        generation: u64,
        wakers: Vec<Waker>,
    }

    #[derive(Default)]
    pub(crate) struct Notify {
        state: Mutex<State>,
    }

    impl Notify {
        pub(crate) fn notified(&self) -> Notified<'_> {
            Notified {
                notify: self,
                generation: lock(&self.state).generation,
            }
        }

        pub(crate) fn notify_waiters(&self) {
            let wakers = {
                let mut state = lock(&self.state);
                state.generation += 1;
                std::mem::take(&mut state.wakers)
            };
            for waker in wakers {
                waker.wake();
            }
        }
    }

    pub(crate) struct Notified<'a> {
        notify: &'a Notify,
        generation: u64,
    }

    impl Notified<'_> {
        /// Registration happens at creation here; kept for the same call sites as tokio's.
        pub(crate) fn enable(self: Pin<&mut Self>) {}
    }

    impl Future for Notified<'_> {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let mut state = lock(&self.notify.state);
            if state.generation != self.generation {
                return Poll::Ready(());
            }
            state.wakers.push(cx.waker().clone());
            Poll::Pending
        }
    }
}
