//! [`WallClock`]: the one wall clock of the stack, and its simulation seam.
//!
//! Signed REST requests carry a wall-clock `timestamp`, the venue checks it against its
//! `recvWindow`, expires listen keys and stamps its pushes. Under a deterministic network
//! simulation (turmoil) every host runs on a paused tokio clock that the simulation moves,
//! and real wall time must not leak in. So wall time is read here and nowhere else:
//! production code reads [`WallClock::system`] (`SystemTime::now`), a simulation hands its
//! components [`WallClock::simulated`] (a fixed epoch plus the tokio clock's elapsed time).
//!
//! **The rule** (checked by `.ci/check-seams`): outside the seam modules no library code calls
//! `SystemTime::now` or `std::time::Instant::now` (use `tokio::time::Instant`, which the
//! simulation controls), nor dials `tokio::net::TcpStream::connect` directly (the websocket
//! dials through `exchange-ws`'s connector, REST through `exchange-rest`'s transport); nor
//! does anything on the simulated path use `spawn_blocking`, OS threads (the
//! [`Watchdog`](crate::Watchdog) is one: a simulation never arms it) or an unseeded random
//! source.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// A wall clock: the system's, or a simulated one that runs on tokio's clock.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use std::time::Duration;
/// use lifecycle_core::WallClock;
///
/// assert!(WallClock::system().now_ms() > 1_700_000_000_000);
/// let clock = WallClock::simulated(1_700_000_000_000);
/// tokio::time::sleep(Duration::from_millis(1500)).await;
/// assert_eq!(clock.now_ms(), 1_700_000_001_500);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WallClock {
    /// `None`: the system clock; else the epoch (ms) at the tokio instant.
    simulated: Option<(i64, Instant)>,
}

impl WallClock {
    /// The system clock (`SystemTime::now`).
    pub const fn system() -> Self {
        Self { simulated: None }
    }

    /// A clock that reads `epoch_ms` now and moves with tokio's clock from here (paused,
    /// auto-advanced or simulated alike). Must be made inside the runtime whose clock it
    /// follows.
    pub fn simulated(epoch_ms: i64) -> Self {
        Self {
            simulated: Some((epoch_ms, Instant::now())),
        }
    }

    /// Whether this is a simulated clock.
    pub fn is_simulated(&self) -> bool {
        self.simulated.is_some()
    }

    /// Milliseconds since the Unix epoch.
    #[inline]
    pub fn now_ms(&self) -> i64 {
        match self.simulated {
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0),
            Some((epoch_ms, origin)) => {
                let elapsed = i64::try_from(origin.elapsed().as_millis()).unwrap_or(i64::MAX);
                epoch_ms.saturating_add(elapsed)
            }
        }
    }

    /// Time since the Unix epoch.
    pub fn since_epoch(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.now_ms()).unwrap_or(0))
    }
}
