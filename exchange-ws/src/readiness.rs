//! [`Readiness`]: which of the connection task's event sources woke it, so that a wake-up polls
//! only those.
//!
//! A `select!` over every source polls each of them, and registers a waker with each, on every
//! wake-up: on the connection task that was most of the cost of a ping-pong through the manager.
//! Here each source is polled with its own waker, which records the source's bit and then wakes
//! the task; the task polls the sources whose bits are set. A source whose registration holds
//! is not polled again until it wakes. (It also spares the socket a read attempt on wake-ups
//! that were not the socket's: tungstenite zero-fills its read buffer on every attempt.)

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures::task::AtomicWaker;

/// The stop signal.
pub(crate) const STOP: u32 = 1;
/// Requests from the manager handle.
pub(crate) const CONTROL: u32 = 1 << 1;
/// Direct writes that need the task (flush, broken connection).
pub(crate) const ATTENTION: u32 = 1 << 2;
/// The queue of user messages.
pub(crate) const OUTBOUND: u32 = 1 << 3;
/// The liveness timer.
pub(crate) const TICK: u32 = 1 << 4;
/// The send limiter's timer.
pub(crate) const LIMITER: u32 = 1 << 5;
/// The socket (a frame may be there).
pub(crate) const SOCKET: u32 = 1 << 6;

const SOURCES: [u32; 7] = [STOP, CONTROL, ATTENTION, OUTBOUND, TICK, LIMITER, SOCKET];
const ALL: u32 = (1 << SOURCES.len()) - 1;

#[derive(Debug, Default)]
struct Inner {
    bits: AtomicU32,
    task: AtomicWaker,
}

#[derive(Debug)]
struct SourceWaker {
    inner: Arc<Inner>,
    bit: u32,
}

impl Wake for SourceWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.inner.bits.fetch_or(self.bit, Ordering::AcqRel);
        self.inner.task.wake();
    }
}

/// The ready bits of one session and a waker per source (one allocation per source per
/// connection, none per wake-up).
#[derive(Debug)]
pub(crate) struct Readiness {
    inner: Arc<Inner>,
    wakers: [Waker; SOURCES.len()],
}

impl Readiness {
    /// Every source marked ready: the first round polls (and so registers with) each of them.
    pub(crate) fn new() -> Self {
        let inner = Arc::new(Inner {
            bits: AtomicU32::new(ALL),
            task: AtomicWaker::new(),
        });
        let wakers = SOURCES.map(|bit| {
            Waker::from(Arc::new(SourceWaker {
                inner: inner.clone(),
                bit,
            }))
        });
        Self { inner, wakers }
    }

    /// The context to poll `source` with: its wake-up marks `source` ready.
    #[inline]
    pub(crate) fn context(&self, source: u32) -> Context<'_> {
        let index = source.trailing_zeros() as usize;
        Context::from_waker(&self.wakers[index.min(SOURCES.len() - 1)])
    }

    /// Marks `sources` ready without a wake-up (the task, about to wait, has more to do there).
    #[inline]
    pub(crate) fn set(&self, sources: u32) {
        self.inner.bits.fetch_or(sources, Ordering::AcqRel);
    }

    /// Waits until a source is ready; returns (and clears) the ready bits.
    ///
    /// # Cancel safety
    /// Cancel safe: bits are only taken by a completed call.
    pub(crate) fn wait(&self) -> impl Future<Output = u32> + '_ {
        std::future::poll_fn(|cx| {
            // Something is ready already (the usual case right after a wake-up): no need to
            // register, the task is running.
            if self.inner.bits.load(Ordering::Acquire) != 0 {
                return Poll::Ready(self.inner.bits.swap(0, Ordering::AcqRel));
            }
            // Registered before the bits are read again: a wake-up in between is not lost.
            self.inner.task.register(cx.waker());
            if self.inner.bits.load(Ordering::Acquire) == 0 {
                return Poll::Pending;
            }
            Poll::Ready(self.inner.bits.swap(0, Ordering::AcqRel))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;

    #[tokio::test]
    async fn a_wake_up_marks_only_its_source() {
        let readiness = Readiness::new();
        assert_eq!(
            readiness.wait().await,
            ALL,
            "the first round polls everything"
        );

        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        assert!(rx.poll_recv(&mut readiness.context(CONTROL)).is_pending());
        let waiting = tokio::time::timeout(Duration::from_millis(20), readiness.wait()).await;
        assert!(waiting.is_err(), "nothing is ready yet");

        tx.send(7).unwrap();
        let bits = tokio::time::timeout(Duration::from_secs(5), readiness.wait())
            .await
            .unwrap();
        assert_eq!(bits, CONTROL);
        assert_eq!(
            rx.poll_recv(&mut readiness.context(CONTROL)),
            Poll::Ready(Some(7))
        );

        readiness.set(SOCKET | TICK);
        assert_eq!(readiness.wait().await, SOCKET | TICK);
    }

    #[tokio::test]
    async fn a_wake_up_from_another_task_wakes_the_waiting_task() {
        let readiness = Arc::new(Readiness::new());
        readiness.wait().await;
        let (tx, mut rx) = mpsc::unbounded_channel::<()>();
        assert!(rx.poll_recv(&mut readiness.context(OUTBOUND)).is_pending());
        let sender = tokio::spawn(async move { tx.send(()).unwrap() });
        let bits = tokio::time::timeout(Duration::from_secs(5), readiness.wait())
            .await
            .unwrap();
        assert_eq!(bits, OUTBOUND);
        sender.await.unwrap();
    }
}
