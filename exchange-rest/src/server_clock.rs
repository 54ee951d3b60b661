//! [`ServerClock`]: the venue's clock as an offset from ours, for signed requests'
//! `timestamp`.

use lifecycle_core::WallClock;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// The offset between the venue's clock and ours, kept in sync with `GET /api/v3/time`.
///
/// ```
/// use exchange_rest::ServerClock;
///
/// let clock = ServerClock::new();
/// // Venue 1.5 s ahead; our request left at t=1000 and the answer came at t=1100.
/// clock.record_sample(1_000, 1_100, 2_550);
/// assert_eq!(clock.offset_ms(), 1_500);
/// assert!(clock.is_synced());
/// ```
#[derive(Debug, Default)]
pub struct ServerClock {
    local: WallClock,
    offset_ms: AtomicI64,
    last_round_trip_ms: AtomicI64,
    synced: AtomicBool,
}

impl ServerClock {
    /// A clock on the system's wall clock, with no offset, not yet synced.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock on `local` (a simulated wall clock, say), with no offset, not yet synced.
    pub fn with_clock(local: WallClock) -> Self {
        Self {
            local,
            ..Self::default()
        }
    }

    /// Our wall clock, ms since the Unix epoch.
    pub fn local_ms(&self) -> i64 {
        self.local.now_ms()
    }

    /// The venue's time now, as best known (ms since the Unix epoch).
    pub fn now_ms(&self) -> i64 {
        self.local_ms().saturating_add(self.offset_ms())
    }

    /// Venue time minus local time, in ms.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// The round trip of the last sample, in ms.
    pub fn last_round_trip_ms(&self) -> i64 {
        self.last_round_trip_ms.load(Ordering::Relaxed)
    }

    /// Whether a sample was recorded.
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Relaxed)
    }

    /// Records a sample: the request left at `sent_ms`, the answer (carrying `server_ms`) came
    /// at `received_ms` (local times). The venue's time is taken to be the round trip's middle.
    pub fn record_sample(&self, sent_ms: i64, received_ms: i64, server_ms: i64) {
        let midpoint = sent_ms + (received_ms - sent_ms) / 2;
        self.offset_ms
            .store(server_ms - midpoint, Ordering::Relaxed);
        self.last_round_trip_ms
            .store(received_ms - sent_ms, Ordering::Relaxed);
        self.synced.store(true, Ordering::Relaxed);
    }
}
