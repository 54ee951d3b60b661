//! Push frames into [`VenueEvent`]s: a venue's [`PushDecoder`], and the [`FrameDecoder`] that
//! keeps the [`PushBuffers`] it decodes into and counts and logs the frames it cannot decode,
//! so a bad frame is never a panic and never silent.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use exchange_ws::Frame;

use crate::domain::decode_error::DecodeError;
use crate::domain::push_buffers::PushBuffers;
use crate::domain::venue_event::VenueEvent;

/// A venue's decoder of binary push frames, for one connection.
///
/// The composites ask the venue for one per connection of a socket
/// ([`Venue::push_decoder`](crate::Venue::push_decoder)), never per frame, and call
/// [`decode`](PushDecoder::decode) once per frame on the socket's read loop. A decoder may
/// keep what its connection needs (a decompression context): a new connection gets a new
/// decoder. The buffers market data decodes into are the caller's ([`PushBuffers`]), kept
/// across frames and connections.
pub trait PushDecoder: Send + fmt::Debug {
    /// Decodes one binary frame. A public push is filled into `buffers` through their
    /// methods ([`PushBuffers::book_ticker`], [`PushBuffers::depth_diff`],
    /// [`PushBuffers::trades`]), which replace their content and keep their capacity, and
    /// the event they return borrows them; our own orders, fills and balances are returned
    /// owned (they need no buffer).
    ///
    /// # Errors
    /// A [`DecodeError`] for a frame that is not a push the venue's adapter handles; the
    /// caller counts and logs it and goes on with the next frame. What `buffers` hold after
    /// an error is whatever the failed decode left (nothing, if it failed in a fill method);
    /// the [`FrameDecoder`] empties them before every frame.
    fn decode<'b>(
        &mut self,
        frame: &[u8],
        buffers: &'b mut PushBuffers,
    ) -> Result<VenueEvent<'b>, DecodeError>;
}

/// How many frames a [`FrameDecoder`] decoded and dropped. Clones share the counts: the
/// decoder on the read loop counts, its owner reads them.
#[derive(Debug, Clone, Default)]
pub struct FrameCounts(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    decoded: AtomicU64,
    failed: AtomicU64,
}

impl FrameCounts {
    /// Frames decoded.
    pub fn decoded(&self) -> u64 {
        self.0.decoded.load(Ordering::Relaxed)
    }

    /// Frames that failed to decode (and were dropped).
    pub fn failed(&self) -> u64 {
        self.0.failed.load(Ordering::Relaxed)
    }
}

/// A venue's [`PushDecoder`] that keeps count, with the [`PushBuffers`] it decodes into: every
/// failure is counted and logged (the first one and every power of two at `warn`, the others
/// at `debug`, so a flood of bad frames cannot flood the log). The buffers are emptied before
/// every frame (a frame that fails leaves nothing of the one before) and kept across
/// [`restart`](FrameDecoder::restart)s.
///
/// ```
/// use exchange_composite::mexc::MexcPushDecoder;
/// use exchange_composite::{FrameCounts, FrameDecoder};
///
/// let counts = FrameCounts::default();
/// let mut decoder = FrameDecoder::new(Box::new(MexcPushDecoder), counts.clone());
/// assert!(decoder.decode(b"not a push").is_none());
/// assert_eq!((counts.decoded(), counts.failed()), (0, 1));
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    decoder: Box<dyn PushDecoder>,
    counts: FrameCounts,
    buffers: PushBuffers,
}

impl FrameDecoder {
    /// Decodes with `decoder`, counting in `counts`.
    pub fn new(decoder: Box<dyn PushDecoder>, counts: FrameCounts) -> Self {
        Self {
            decoder,
            counts,
            buffers: PushBuffers::default(),
        }
    }

    /// Decodes `frame`; `None` (counted and logged) if it is not a supported push. The event
    /// borrows this decoder's buffers until the next frame.
    pub fn decode(&mut self, frame: &[u8]) -> Option<VenueEvent<'_>> {
        self.buffers.clear();
        match self.decoder.decode(frame, &mut self.buffers) {
            Ok(event) => {
                self.counts.0.decoded.fetch_add(1, Ordering::Relaxed);
                Some(event)
            }
            Err(error) => {
                let failed = self.counts.0.failed.fetch_add(1, Ordering::Relaxed) + 1;
                if failed == 1 || failed.is_power_of_two() {
                    tracing::warn!(%error, failed, bytes = frame.len(), "push frame dropped");
                } else {
                    tracing::debug!(%error, failed, "push frame dropped");
                }
                None
            }
        }
    }

    /// Decodes a socket's data frame: `None` for a text frame (control replies are the
    /// socket manager's business) and for a binary one that is not a supported push (counted
    /// and logged).
    pub fn decode_frame(&mut self, frame: Frame<'_>) -> Option<VenueEvent<'_>> {
        match frame {
            Frame::Binary(bytes) => self.decode(bytes),
            Frame::Text(_) => None,
        }
    }

    /// A new connection: decodes with `decoder` from now on (the counts go on, the buffers
    /// are kept).
    pub fn restart(&mut self, decoder: Box<dyn PushDecoder>) {
        self.decoder = decoder;
    }

    /// The counts.
    pub fn counts(&self) -> &FrameCounts {
        &self.counts
    }
}
