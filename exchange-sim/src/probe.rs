//! Latency instrumentation for benchmarks and tests: a frame pushed on demand to the
//! websockets subscribed to one channel, with the instant each of them was about to write it,
//! and the instant each new-order request (`POST /api/v3/order`) arrived.
//!
//! A tick-to-order measurement reads both ends at the venue: the push leaves
//! ([`Probe::take_pushes_written`]), the client decides and sends its order, the order arrives
//! ([`Probe::take_order_arrivals`]). Recording wakes no task: a reader takes the instants
//! after the event, so the measurement adds nothing between its two ends.
//!
//! A push wakes only the connections subscribed to its channel (one queue per channel name,
//! joined to each subscription's own stream), as a venue's fan-out would: a connection that
//! does not write the frame does no work after the write either, so the time between the
//! two ends is the client's, not the venue's bookkeeping for its other sockets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// Instants each record keeps until they are taken; later ones are dropped and counted
/// ([`Probe::dropped_instants`]), so a recorder nobody reads cannot grow without bound.
pub const PROBE_INSTANTS_KEPT: usize = 1 << 16;

/// Probe pushes queued per connection and channel before a slow one skips some.
const PUSH_QUEUE: usize = 64;

/// Instants in the order they were noted, bounded by [`PROBE_INSTANTS_KEPT`].
#[derive(Debug, Default)]
struct Record {
    instants: Mutex<Vec<Instant>>,
}

impl Record {
    fn lock(&self) -> MutexGuard<'_, Vec<Instant>> {
        self.instants.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes `at`; `false` if the record is full.
    fn note(&self, at: Instant) -> bool {
        let mut instants = self.lock();
        if instants.len() >= PROBE_INSTANTS_KEPT {
            return false;
        }
        instants.push(at);
        true
    }

    fn take(&self) -> Vec<Instant> {
        std::mem::take(&mut *self.lock())
    }
}

#[derive(Debug)]
struct ProbeState {
    /// One queue per channel name some connection subscribed to (kept once created: there
    /// are only as many as the venue has channels).
    channels: Mutex<HashMap<String, broadcast::Sender<Bytes>>>,
    pushes_written: Record,
    recording_orders: AtomicBool,
    orders_arrived: Record,
    dropped: AtomicU64,
}

/// Handle on a running venue's latency instrumentation (cheap to clone): see the module docs.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use exchange_sim::{SimConfig, SimVenue};
///
/// let sim = SimVenue::start(SimConfig::paused()).await?;
/// let probe = sim.probe();
/// probe.record_order_arrivals(true);
/// // No websocket is connected: nobody is told, nothing is written.
/// assert_eq!(probe.push("spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT", vec![1u8].into()), 0);
/// assert!(probe.take_pushes_written().is_empty());
/// assert!(probe.take_order_arrivals().is_empty());
/// sim.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Probe {
    state: Arc<ProbeState>,
}

impl Default for Probe {
    fn default() -> Self {
        Self::new()
    }
}

impl Probe {
    /// A probe no connection listens to yet, not recording order arrivals.
    pub(crate) fn new() -> Self {
        Self {
            state: Arc::new(ProbeState {
                channels: Mutex::default(),
                pushes_written: Record::default(),
                recording_orders: AtomicBool::new(false),
                orders_arrived: Record::default(),
                dropped: AtomicU64::new(0),
            }),
        }
    }

    /// Pushes `frame` (the bytes of one binary frame, a `PushDataV3ApiWrapper` say) at once,
    /// not aggregated and not batched, to every websocket subscribed to `channel`. Each one
    /// that writes it notes the instant just before it writes
    /// ([`take_pushes_written`](Self::take_pushes_written)). Returns how many connections
    /// were told: those subscribed to `channel`, and no other (a connection that has just
    /// unsubscribed may still be counted until it next runs; it does not write the frame).
    pub fn push(&self, channel: &str, frame: Bytes) -> usize {
        self.lock_channels()
            .get(channel)
            .map_or(0, |queue| queue.send(frame).unwrap_or(0))
    }

    /// The instants at which connections were about to write probe pushes, oldest first,
    /// since the last call.
    pub fn take_pushes_written(&self) -> Vec<Instant> {
        self.state.pushes_written.take()
    }

    /// Starts (or stops) noting the arrival of every new-order request (`POST
    /// /api/v3/order`, the instant its head was read, before anything checks it).
    pub fn record_order_arrivals(&self, record: bool) {
        self.state.recording_orders.store(record, Ordering::SeqCst);
    }

    /// The instants new-order requests arrived, oldest first, since the last call.
    pub fn take_order_arrivals(&self) -> Vec<Instant> {
        self.state.orders_arrived.take()
    }

    /// Instants not kept because a record already held [`PROBE_INSTANTS_KEPT`].
    pub fn dropped_instants(&self) -> u64 {
        self.state.dropped.load(Ordering::Relaxed)
    }

    /// The probe pushes of `channel`, for one connection's subscription to it.
    pub(crate) fn subscribe_channel(&self, channel: &str) -> broadcast::Receiver<Bytes> {
        let mut channels = self.lock_channels();
        if let Some(queue) = channels.get(channel) {
            return queue.subscribe();
        }
        let (queue, receiver) = broadcast::channel(PUSH_QUEUE);
        channels.insert(channel.to_owned(), queue);
        receiver
    }

    fn lock_channels(&self) -> MutexGuard<'_, HashMap<String, broadcast::Sender<Bytes>>> {
        self.state
            .channels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// A connection is about to write a probe push.
    pub(crate) fn push_writing(&self) {
        self.note(&self.state.pushes_written, Instant::now());
    }

    /// Whether order arrivals are being noted.
    pub(crate) fn is_recording_orders(&self) -> bool {
        self.state.recording_orders.load(Ordering::Relaxed)
    }

    /// A new-order request arrived.
    pub(crate) fn order_arrived(&self, at: Instant) {
        self.note(&self.state.orders_arrived, at);
    }

    fn note(&self, record: &Record, at: Instant) {
        if !record.note(at) {
            self.state.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_bounded_and_taken_in_order() {
        let probe = Probe::new();
        let start = Instant::now();
        for i in 0..PROBE_INSTANTS_KEPT as u64 + 3 {
            probe.order_arrived(start + std::time::Duration::from_nanos(i));
        }
        assert_eq!(probe.dropped_instants(), 3);
        let taken = probe.take_order_arrivals();
        assert_eq!(taken.len(), PROBE_INSTANTS_KEPT);
        assert!(taken.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(
            probe.take_order_arrivals().is_empty(),
            "taking empties the record"
        );
        probe.push_writing();
        assert_eq!(probe.take_pushes_written().len(), 1);
    }

    #[test]
    fn a_push_reaches_only_the_queue_of_its_channel() {
        let probe = Probe::new();
        assert_eq!(
            probe.push("a", Bytes::from_static(b"1")),
            0,
            "nobody subscribed"
        );
        let mut a = probe.subscribe_channel("a");
        let mut a2 = probe.subscribe_channel("a");
        let mut b = probe.subscribe_channel("b");
        assert_eq!(probe.push("a", Bytes::from_static(b"2")), 2);
        assert_eq!(a.try_recv().ok(), Some(Bytes::from_static(b"2")));
        assert_eq!(a2.try_recv().ok(), Some(Bytes::from_static(b"2")));
        assert!(b.try_recv().is_err(), "another channel's queue stays empty");
        drop((a, a2));
        assert_eq!(
            probe.push("a", Bytes::from_static(b"3")),
            0,
            "its subscribers left"
        );
        assert_eq!(probe.push("b", Bytes::from_static(b"4")), 1);
    }

    #[test]
    fn order_arrivals_are_off_until_asked() {
        let probe = Probe::new();
        assert!(!probe.is_recording_orders());
        probe.record_order_arrivals(true);
        assert!(probe.is_recording_orders());
    }
}
