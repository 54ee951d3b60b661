//! [`Subscription`]: a tracked subscription, consumed as a [`futures::Stream`].

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures::Stream;
use futures::stream::FusedStream;

use crate::counters::{ActiveGuard, StreamKind};
use crate::error::{Lagged, TryRecvError};
use crate::events::EventReceiver;
use crate::latest::LatestReceiver;

/// A tracked subscription to one stream, returned by
/// [`ObservableStreams::subscribe_tracked`](crate::ObservableStreams::subscribe_tracked).
///
/// It is a [`Stream`] of `Result<T, Lagged>`:
/// - on a latest-value stream it first yields the current value, then each newer value it
///   gets to see (a slow reader skips intermediate values); it never yields `Err`;
/// - on an event stream it yields every event published after subscribing, in order; if it
///   fell behind by more than the stream's capacity it yields `Err(Lagged { missed })` with
///   the exact number of events it missed, then goes on with the oldest event still held.
///
/// It counts as active (see
/// [`ObservableStreams::active_subscriptions`](crate::ObservableStreams::active_subscriptions))
/// until it is dropped or [disposed](Subscription::dispose). When the streams stop it yields
/// what was published before the stop, then ends (`None`).
///
/// # Cancel safety
/// `next()` (from [`futures::StreamExt`]) is cancel safe, so it can sit in a `select!` loop: a
/// value that arrives after the future was dropped stays in the subscription for the next call.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use exchange_streams::ObservableStreams;
/// use futures::StreamExt;
/// use lifecycle_core::AsyncResource;
///
/// let streams = ObservableStreams::new("observable_streams");
/// let ticker = streams.latest::<(u32, u32)>("book_ticker.HIFIUSDT", (99, 101)).unwrap();
/// streams.start().await.unwrap();
///
/// let mut subscription = streams.subscribe_tracked::<(u32, u32)>("book_ticker.HIFIUSDT").unwrap();
/// assert_eq!(subscription.next().await, Some(Ok((99, 101)))); // the current value first
/// ticker.publish((100, 102));
/// assert_eq!(subscription.next().await, Some(Ok((100, 102))));
/// assert_eq!(streams.active_subscriptions(), 1);
///
/// assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
/// assert_eq!(subscription.next().await, None); // ends cleanly on stop
/// subscription.dispose();
/// assert_eq!(streams.active_subscriptions(), 0);
/// # }
/// ```
#[doc(alias = "Disposable")]
#[must_use = "a subscription receives nothing unless polled"]
pub struct Subscription<T> {
    source: Source<T>,
    ended: bool,
    active: ActiveGuard,
}

enum Source<T> {
    Latest(LatestReceiver<T>),
    Events(EventReceiver<T>),
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.active.stats();
        f.debug_struct("Subscription")
            .field("stream", &stats.name)
            .field("kind", &stats.kind)
            .field("ended", &self.ended)
            .finish()
    }
}

impl<T: Clone + Send + Sync + 'static> Subscription<T> {
    pub(crate) fn latest(receiver: LatestReceiver<T>) -> Self {
        let active = ActiveGuard::new(receiver.stats().clone());
        Self {
            source: Source::Latest(receiver),
            ended: false,
            active,
        }
    }

    pub(crate) fn events(receiver: EventReceiver<T>) -> Self {
        let active = ActiveGuard::new(receiver.stats().clone());
        Self {
            source: Source::Events(receiver),
            ended: false,
            active,
        }
    }

    /// The next value if one is ready, without waiting: for sync code (a strategy tick) and
    /// for draining.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if nothing new is ready, [`TryRecvError::Lagged`] with the
    /// exact count if this subscriber fell behind an event stream, [`TryRecvError::Ended`]
    /// once the stream ended.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if self.ended {
            return Err(TryRecvError::Ended);
        }
        let parked = match &self.source {
            Source::Latest(receiver) => receiver.is_parked(),
            Source::Events(receiver) => receiver.is_parked(),
        };
        let result = if parked {
            // A wait future holds the receiver: poll it once without registering a waker.
            let mut cx = Context::from_waker(Waker::noop());
            match self.poll_source(&mut cx) {
                Poll::Ready(Some(Ok(value))) => Ok(value),
                Poll::Ready(Some(Err(lagged))) => Err(TryRecvError::Lagged(lagged)),
                Poll::Ready(None) => Err(TryRecvError::Ended),
                Poll::Pending => Err(TryRecvError::Empty),
            }
        } else {
            match &mut self.source {
                Source::Latest(receiver) => receiver.try_sync(),
                Source::Events(receiver) => receiver.try_sync(),
            }
        };
        if matches!(result, Err(TryRecvError::Ended)) {
            self.ended = true;
        }
        result
    }

    /// Waits for the next value, as `next()` does, and writes it into `into` instead of
    /// returning it: a latest value is copied with [`Clone::clone_from`] straight from the
    /// stream, so a value holding vectors (a book's top) reuses `into`'s instead of
    /// allocating new ones. A reader that keeps one value receives without allocating.
    /// `None` once the stream ended (`into` is then left as it was); `Some(Err(Lagged))`
    /// as `next()` yields it on an event stream.
    ///
    /// # Cancel safety
    /// Cancel safe, as `next()`: a value that arrives after the future was dropped stays in
    /// the subscription for the next call, and `into` is only written when a value is taken.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use exchange_streams::ObservableStreams;
    /// use lifecycle_core::AsyncResource;
    ///
    /// let streams = ObservableStreams::new("observable_streams");
    /// let levels = streams.latest::<Vec<u32>>("levels", vec![1, 2, 3]).unwrap();
    /// streams.start().await.unwrap();
    /// let mut subscription = streams.subscribe_tracked::<Vec<u32>>("levels").unwrap();
    ///
    /// let mut top = Vec::with_capacity(8);
    /// let buffer = top.as_ptr();
    /// assert_eq!(subscription.next_into(&mut top).await, Some(Ok(())));
    /// levels.modify(|levels| levels[0] = 7);
    /// assert_eq!(subscription.next_into(&mut top).await, Some(Ok(())));
    /// assert_eq!(top, [7, 2, 3]);
    /// assert_eq!(top.as_ptr(), buffer, "the reader's own buffer, reused");
    /// # assert!(streams.stop_within(std::time::Duration::from_secs(1)).await.is_clean());
    /// # }
    /// ```
    pub async fn next_into(&mut self, into: &mut T) -> Option<Result<(), Lagged>> {
        std::future::poll_fn(|cx| {
            if self.ended {
                return Poll::Ready(None);
            }
            let polled = match &mut self.source {
                Source::Latest(receiver) => receiver
                    .poll_recv_with(cx, &mut |value: &T| into.clone_from(value))
                    .map(|read| read.map(Ok)),
                Source::Events(receiver) => receiver.poll_recv(cx).map(|item| {
                    item.map(|event| {
                        event.map(|event| {
                            *into = event;
                        })
                    })
                }),
            };
            if let Poll::Ready(None) = polled {
                self.ended = true;
            }
            polled
        })
        .await
    }

    fn poll_source(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Lagged>>> {
        let polled = match &mut self.source {
            Source::Latest(receiver) => receiver.poll_recv(cx).map(|value| value.map(Ok)),
            Source::Events(receiver) => receiver.poll_recv(cx),
        };
        if let Poll::Ready(None) = polled {
            self.ended = true;
        }
        polled
    }
}

impl<T> Subscription<T> {
    /// Ends the subscription and stops counting it as active.
    /// Dropping it does the same.
    pub fn dispose(self) {
        drop(self);
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.active.stats().name
    }

    /// The stream's kind.
    pub fn kind(&self) -> StreamKind {
        self.active.stats().kind
    }

    /// Whether the stream ended for this subscription (it has yielded `None`).
    pub fn is_ended(&self) -> bool {
        self.ended
    }
}

impl<T: Clone + Send + Sync + 'static> Stream for Subscription<T> {
    type Item = Result<T, Lagged>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        this.poll_source(cx)
    }
}

impl<T: Clone + Send + Sync + 'static> FusedStream for Subscription<T> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}
