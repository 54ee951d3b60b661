//! Event streams (trades, order updates), on [`tokio::sync::broadcast`].
//!
//! Every event goes through a bounded ring buffer in order; the publisher never waits, and a
//! subscriber that falls behind learns exactly how many events it missed. An event is kept only
//! while a subscriber still has to read it: once the last one has (or at once, if there is no
//! subscriber) it is dropped, so a stream holds no memory for events nobody will read (an
//! earlier design counted publishes with a receiver that never read, which kept the last
//! `capacity` events of every stream alive for the stream's whole life). Publishes are counted
//! with one relaxed atomic add. Closing the stream sends an in-band end marker after the last
//! event, so subscribers first receive everything published before the stop, then end.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError as BroadcastTryRecvError};

use crate::counters::{StreamCounters, StreamStats};
use crate::error::{Lagged, TryRecvError};
use crate::parked::Parked;
use crate::registry::ErasedStream;

/// The largest event buffer a stream may ask for (the buffer is allocated up front, rounded up
/// to a power of two).
pub const MAX_EVENT_CAPACITY: usize = 1 << 20;

/// What travels through an event stream's channel.
#[derive(Debug, Clone)]
pub(crate) enum Envelope<T> {
    Event(T),
    /// The stream closed: nothing follows.
    End,
}

/// Publishes to an event stream (trades, order updates: every value to every subscriber).
///
/// Cheap to clone; every clone publishes to the same stream. Publishing is synchronous, never
/// waits for subscribers and never allocates: one closed-flag load and one
/// [`broadcast::Sender::send`]. A subscriber that falls behind by more than the stream's
/// capacity misses the oldest events and is told how many.
///
/// After the streams stop, publishing is ignored and counted
/// ([`StreamCounters::rejected_after_stop`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use exchange_streams::ObservableStreams;
/// use futures::StreamExt;
/// use lifecycle_core::AsyncResource;
///
/// let streams = ObservableStreams::new("observable_streams");
/// let trades = streams.events::<u64>("trades.HIFIUSDT", 1024).unwrap();
/// streams.start().await.unwrap();
/// let mut subscription = streams.subscribe_tracked::<u64>("trades.HIFIUSDT").unwrap();
/// assert!(trades.publish(7));
/// assert_eq!(subscription.next().await, Some(Ok(7)));
/// assert_eq!(trades.published(), 1);
/// # assert!(streams.stop_within(std::time::Duration::from_secs(1)).await.is_clean());
/// # }
/// ```
#[doc(alias = "Subject")]
pub struct EventPublisher<T> {
    tx: broadcast::Sender<Envelope<T>>,
    stats: Arc<StreamStats>,
}

impl<T> Clone for EventPublisher<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            stats: self.stats.clone(),
        }
    }
}

impl<T> fmt::Debug for EventPublisher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventPublisher")
            .field("stream", &self.stats.name)
            .field("value_type", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T: Clone + Send + Sync + 'static> EventPublisher<T> {
    /// Appends an event for every subscriber. Returns `false` (and counts it) if the stream
    /// has closed.
    #[doc(alias = "on_next")]
    #[doc(alias = "send")]
    #[inline]
    pub fn publish(&self, event: T) -> bool {
        if self.stats.is_closed() {
            self.stats.reject();
            return false;
        }
        self.stats.count_published();
        // With no subscriber the send "fails": the event is dropped at once, which is all a
        // stream nobody reads should do with it.
        let _ = self.tx.send(Envelope::Event(event));
        true
    }

    /// Events published so far.
    pub fn published(&self) -> u64 {
        self.stats.published()
    }

    /// Whether the stream has closed (publishes are then ignored).
    pub fn is_closed(&self) -> bool {
        self.stats.is_closed()
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.stats.name
    }
}

/// The registry's handle on an event stream.
pub(crate) struct EventChannel<T> {
    tx: broadcast::Sender<Envelope<T>>,
    stats: Arc<StreamStats>,
}

impl<T: Clone + Send + Sync + 'static> EventChannel<T> {
    /// A new stream buffering `capacity` events (checked by the caller), and its first
    /// publisher.
    pub(crate) fn new(capacity: usize, stats: Arc<StreamStats>) -> (Self, EventPublisher<T>) {
        // No receiver is kept: the channel stays open while a sender lives (this one), and a
        // value no receiver still has to read is dropped.
        let (tx, _) = broadcast::channel(capacity);
        let publisher = EventPublisher {
            tx: tx.clone(),
            stats: stats.clone(),
        };
        (Self { tx, stats }, publisher)
    }

    /// A receiver of the events published from now on.
    pub(crate) fn subscribe(&self) -> EventReceiver<T> {
        EventReceiver {
            parked: Parked::new(self.tx.subscribe()),
            stats: self.stats.clone(),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> ErasedStream for EventChannel<T> {
    fn value_type(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn close(&self) {
        if self.stats.close() {
            // Fails only with no subscriber, which then has nothing to end.
            let _ = self.tx.send(Envelope::End);
        }
    }

    fn counters(&self) -> StreamCounters {
        self.stats
            .snapshot(self.value_type(), self.stats.published())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

type BroadcastWait<T> = Result<Envelope<T>, RecvError>;

/// The receiving side of one subscription to an event stream.
pub(crate) struct EventReceiver<T> {
    parked: Parked<broadcast::Receiver<Envelope<T>>, BroadcastWait<T>>,
    stats: Arc<StreamStats>,
}

impl<T> fmt::Debug for EventReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventReceiver")
            .field("parked", &self.parked)
            .finish()
    }
}

impl<T: Clone + Send + Sync + 'static> EventReceiver<T> {
    pub(crate) fn stats(&self) -> &Arc<StreamStats> {
        &self.stats
    }

    pub(crate) fn is_parked(&self) -> bool {
        self.parked.is_parked()
    }

    /// The next event if there is one, without waiting (`Empty` also while parked).
    pub(crate) fn try_sync(&mut self) -> Result<T, TryRecvError> {
        let Some(rx) = self.parked.at_hand() else {
            return Err(TryRecvError::Empty);
        };
        match rx.try_recv() {
            Ok(envelope) => open(envelope),
            // Closed and nothing left: ended, even if the end marker itself was overwritten
            // (a publish racing with the stop, on a stream of tiny capacity).
            Err(BroadcastTryRecvError::Empty) if self.stats.is_closed() => Err(TryRecvError::Ended),
            Err(BroadcastTryRecvError::Empty) => Err(TryRecvError::Empty),
            Err(BroadcastTryRecvError::Lagged(missed)) => {
                Err(TryRecvError::Lagged(self.lagged(missed)))
            }
            Err(BroadcastTryRecvError::Closed) => Err(TryRecvError::Ended),
        }
    }

    /// Waits for the next event; `None` when the stream ended.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Lagged>>> {
        match self.try_sync() {
            Ok(event) => return Poll::Ready(Some(Ok(event))),
            Err(TryRecvError::Lagged(lagged)) => return Poll::Ready(Some(Err(lagged))),
            Err(TryRecvError::Ended) => return Poll::Ready(None),
            Err(TryRecvError::Empty) => {}
        }
        let waited = ready!(self.parked.poll_wait(cx, |mut rx| async move {
            let outcome = rx.recv().await;
            (outcome, rx)
        }));
        Poll::Ready(match waited {
            Ok(envelope) => open(envelope).ok().map(Ok),
            Err(RecvError::Lagged(missed)) => Some(Err(self.lagged(missed))),
            Err(RecvError::Closed) => None,
        })
    }

    /// Counts and reports events this subscriber missed.
    fn lagged(&self, missed: u64) -> Lagged {
        self.stats.add_lagged(missed);
        Lagged { missed }
    }
}

fn open<T>(envelope: Envelope<T>) -> Result<T, TryRecvError> {
    match envelope {
        Envelope::Event(event) => Ok(event),
        Envelope::End => Err(TryRecvError::Ended),
    }
}
