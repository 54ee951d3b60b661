//! Latest-value streams (a subscriber sees the current value, then every change: a
//! `BehaviorSubject` in Rx terms), on [`tokio::sync::watch`].
//!
//! The watch channel holds a [`LatestSlot`]: the value, a sequence number and a closed flag.
//! Publishing swaps the value and bumps the sequence number *inside* the watch's write lock, so
//! the published count costs no atomic operation, and the closed flag is checked there too:
//! a publish is exactly one `watch` send.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::sync::watch;

use crate::counters::{StreamCounters, StreamStats};
use crate::error::TryRecvError;
use crate::parked::Parked;
use crate::registry::ErasedStream;

/// What the watch channel of a latest-value stream holds.
#[derive(Debug)]
pub(crate) struct LatestSlot<T> {
    value: T,
    /// Number of values published (0 for the initial value).
    seq: u64,
    /// Set once when the stream closes: subscribers end, publishes are rejected.
    closed: bool,
}

/// Publishes to a latest-value stream: the new current value, seen by every subscriber.
///
/// Cheap to clone; every clone publishes to the same stream. Publishing is synchronous, never
/// blocks on subscribers and never allocates: it is one [`watch::Sender`] send (a short write
/// lock, no extra atomic). Subscribers see the newest value; a subscriber that reads slowly
/// skips intermediate values (counted as `lagged` in [`StreamCounters`]).
///
/// After the streams stop, publishing is ignored and counted
/// ([`StreamCounters::rejected_after_stop`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use exchange_streams::ObservableStreams;
/// use lifecycle_core::AsyncResource;
///
/// let streams = ObservableStreams::new("observable_streams");
/// let mid_price = streams.latest::<u64>("mid_price.HIFIUSDT", 100).unwrap();
/// streams.start().await.unwrap();
/// assert!(mid_price.publish(101));
/// assert_eq!(mid_price.current(), 101);
/// assert_eq!(mid_price.published(), 1);
/// # assert!(streams.stop_within(std::time::Duration::from_secs(1)).await.is_clean());
/// # }
/// ```
#[doc(alias = "BehaviorSubject")]
pub struct LatestPublisher<T> {
    tx: watch::Sender<LatestSlot<T>>,
    stats: Arc<StreamStats>,
}

impl<T> Clone for LatestPublisher<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            stats: self.stats.clone(),
        }
    }
}

impl<T> fmt::Debug for LatestPublisher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatestPublisher")
            .field("stream", &self.stats.name)
            .field("value_type", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T: Send + Sync + 'static> LatestPublisher<T> {
    /// Replaces the value and notifies subscribers. Returns `false` (and counts it) if the
    /// stream has closed.
    #[doc(alias = "on_next")]
    #[doc(alias = "send")]
    #[inline]
    pub fn publish(&self, value: T) -> bool {
        if !std::mem::needs_drop::<T>() {
            // Plain data (a book ticker): overwrite in place, nothing to drop.
            return self.modify(|current| *current = value);
        }
        let mut value = value;
        let accepted = self.tx.send_if_modified(|slot| {
            if slot.closed {
                return false;
            }
            std::mem::swap(&mut slot.value, &mut value);
            slot.seq += 1;
            true
        });
        if !accepted {
            self.stats.reject();
        }
        // `value` is now the replaced value (or the rejected one): dropped outside the lock.
        drop(value);
        accepted
    }

    /// Changes the value in place (e.g. one asset of a balances map) and notifies subscribers.
    /// Returns `false` (and counts it) if the stream has closed; `modify` then does not run.
    #[inline]
    pub fn modify(&self, modify: impl FnOnce(&mut T)) -> bool {
        let accepted = self.tx.send_if_modified(|slot| {
            if slot.closed {
                return false;
            }
            modify(&mut slot.value);
            slot.seq += 1;
            true
        });
        if !accepted {
            self.stats.reject();
        }
        accepted
    }

    /// A clone of the current value.
    pub fn current(&self) -> T
    where
        T: Clone,
    {
        self.tx.borrow().value.clone()
    }

    /// Values published so far (the initial value is not counted).
    pub fn published(&self) -> u64 {
        self.tx.borrow().seq
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

/// The registry's handle on a latest-value stream.
pub(crate) struct LatestChannel<T> {
    tx: watch::Sender<LatestSlot<T>>,
    stats: Arc<StreamStats>,
}

impl<T: Send + Sync + 'static> LatestChannel<T> {
    /// A new stream holding `initial`, and its first publisher.
    pub(crate) fn new(initial: T, stats: Arc<StreamStats>) -> (Self, LatestPublisher<T>) {
        let (tx, _) = watch::channel(LatestSlot {
            value: initial,
            seq: 0,
            closed: false,
        });
        let publisher = LatestPublisher {
            tx: tx.clone(),
            stats: stats.clone(),
        };
        (Self { tx, stats }, publisher)
    }

    /// A receiver that first sees the current value.
    pub(crate) fn subscribe(&self) -> LatestReceiver<T> {
        let mut rx = self.tx.subscribe();
        rx.mark_changed();
        LatestReceiver {
            parked: Parked::new(rx),
            last_seq: None,
            stats: self.stats.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> ErasedStream for LatestChannel<T> {
    fn value_type(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn close(&self) {
        self.stats.close();
        // Wakes every subscriber; each sees `closed` and ends.
        self.tx.send_modify(|slot| slot.closed = true);
    }

    fn counters(&self) -> StreamCounters {
        let published = self.tx.borrow().seq;
        self.stats.snapshot(self.value_type(), published)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

type WatchWait = Result<(), watch::error::RecvError>;

/// The receiving side of one subscription to a latest-value stream.
pub(crate) struct LatestReceiver<T> {
    parked: Parked<watch::Receiver<LatestSlot<T>>, WatchWait>,
    last_seq: Option<u64>,
    stats: Arc<StreamStats>,
}

impl<T> fmt::Debug for LatestReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatestReceiver")
            .field("last_seq", &self.last_seq)
            .field("parked", &self.parked)
            .finish()
    }
}

impl<T: Clone + Send + Sync + 'static> LatestReceiver<T> {
    pub(crate) fn stats(&self) -> &Arc<StreamStats> {
        &self.stats
    }

    pub(crate) fn is_parked(&self) -> bool {
        self.parked.is_parked()
    }

    /// The new value if there is one, without waiting (`Empty` also while parked).
    pub(crate) fn try_sync(&mut self) -> Result<T, TryRecvError> {
        self.try_sync_with(&mut T::clone)
    }

    /// As [`try_sync`](Self::try_sync), handing the new value to `read` in place.
    fn try_sync_with<R>(&mut self, read: &mut impl FnMut(&T) -> R) -> Result<R, TryRecvError> {
        let Some(rx) = self.parked.at_hand() else {
            return Err(TryRecvError::Empty);
        };
        match rx.has_changed() {
            Ok(true) => take(rx, &mut self.last_seq, &self.stats, read),
            // Nothing new: after the close that means the end (the last value was taken).
            // (The atomic flag first: the slot's lock is only taken once the stream closed.)
            Ok(false) if self.stats.is_closed() && rx.borrow().closed => Err(TryRecvError::Ended),
            Ok(false) => Err(TryRecvError::Empty),
            Err(_) => Err(TryRecvError::Ended),
        }
    }

    /// Waits for the next value; `None` when the stream ended.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_recv_with(cx, &mut T::clone)
    }

    /// As [`poll_recv`](Self::poll_recv), handing the value to `read` in place (under the
    /// watch's read lock: keep it short) instead of cloning it.
    pub(crate) fn poll_recv_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        read: &mut impl FnMut(&T) -> R,
    ) -> Poll<Option<R>> {
        match self.try_sync_with(read) {
            Ok(value) => return Poll::Ready(Some(value)),
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Ended | TryRecvError::Lagged(_)) => return Poll::Ready(None),
        }
        let waited = ready!(self.parked.poll_wait(cx, |mut rx| async move {
            let outcome = rx.changed().await;
            (outcome, rx)
        }));
        let Some(rx) = self.parked.at_hand() else {
            return Poll::Ready(None);
        };
        match waited {
            Ok(()) => Poll::Ready(take(rx, &mut self.last_seq, &self.stats, read).ok()),
            Err(_) => Poll::Ready(None),
        }
    }
}

/// Reads the current slot, marking it seen: `read` of the value this subscriber has not seen
/// yet (also after the stream closed: a subscriber that is behind gets the last value before
/// the end), or `Ended` once it has seen the last value of a closed stream.
fn take<T, R>(
    rx: &mut watch::Receiver<LatestSlot<T>>,
    last_seq: &mut Option<u64>,
    stats: &StreamStats,
    read: &mut impl FnMut(&T) -> R,
) -> Result<R, TryRecvError> {
    let slot = rx.borrow_and_update();
    if slot.closed && *last_seq == Some(slot.seq) {
        return Err(TryRecvError::Ended);
    }
    if let Some(last) = *last_seq {
        let skipped = slot.seq.saturating_sub(last).saturating_sub(1);
        if skipped > 0 {
            stats.add_lagged(skipped);
        }
    }
    *last_seq = Some(slot.seq);
    Ok(read(&slot.value))
}
