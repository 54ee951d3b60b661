//! [`ReadGate`]: polls the socket only when it may have something, so that waking the
//! connection task for a send or a timer does not cost a read attempt.
//!
//! tungstenite zero-fills its read buffer's free space before every read attempt, even one that
//! finds no data; a `select!` that re-polls the socket on every wake-up pays that each time.
//! The gate gives the socket its own waker, which records that the socket woke and then wakes
//! the task: the socket is polled again only after it returned an item or woke.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures::Stream;
use futures::task::AtomicWaker;

#[derive(Debug)]
struct Flag {
    /// The socket may have an item (it returned one, or woke since it returned `Pending`).
    ready: AtomicBool,
    /// The connection task's waker.
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// One per connection (one allocation per connection, none per frame).
#[derive(Debug)]
pub(crate) struct ReadGate {
    flag: Arc<Flag>,
    waker: Waker,
}

impl ReadGate {
    pub(crate) fn new() -> Self {
        let flag = Arc::new(Flag {
            ready: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        let waker = Waker::from(flag.clone());
        Self { flag, waker }
    }

    /// Polls `stream` if it may have an item; the task (whose context registered last with
    /// [`ReadGate::poll_next`]) is woken when it might.
    #[inline]
    pub(crate) fn try_next<S: Stream + Unpin>(&self, stream: &mut S) -> Poll<Option<S::Item>> {
        if !self.flag.ready.load(Ordering::Acquire) {
            return Poll::Pending;
        }
        // A wake between this store and the poll below is not lost: the poll sees the
        // readiness that caused it.
        self.flag.ready.store(false, Ordering::Release);
        let mut cx = Context::from_waker(&self.waker);
        match Pin::new(stream).poll_next(&mut cx) {
            Poll::Ready(item) => {
                self.flag.ready.store(true, Ordering::Release);
                Poll::Ready(item)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// [`ReadGate::try_next`] for use in a future: registers the task's waker first.
    #[inline]
    pub(crate) fn poll_next<S: Stream + Unpin>(
        &self,
        stream: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<Option<S::Item>> {
        self.flag.task.register(cx.waker());
        self.try_next(stream)
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;

    use super::*;

    /// A minimal `Stream` over a tokio receiver.
    struct Receiver(mpsc::UnboundedReceiver<u32>);

    impl Stream for Receiver {
        type Item = u32;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
            self.0.poll_recv(cx)
        }
    }

    #[tokio::test]
    async fn polls_again_only_after_an_item_or_a_wake() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut stream = Receiver(rx);
        let gate = ReadGate::new();
        tx.send(1).unwrap();
        assert_eq!(gate.try_next(&mut stream), Poll::Ready(Some(1)));
        assert_eq!(gate.try_next(&mut stream), Poll::Pending); // polled: empty, registered
        assert!(!gate.flag.ready.load(Ordering::Acquire));
        assert_eq!(gate.try_next(&mut stream), Poll::Pending); // not polled
        tx.send(2).unwrap(); // wakes the gate
        assert!(gate.flag.ready.load(Ordering::Acquire));
        let item = std::future::poll_fn(|cx| gate.poll_next(&mut stream, cx)).await;
        assert_eq!(item, Some(2));
        drop(tx);
        let end = std::future::poll_fn(|cx| gate.poll_next(&mut stream, cx)).await;
        assert_eq!(end, None);
    }
}
