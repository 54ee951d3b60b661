//! [`PushBuffers`]: what a [`PushDecoder`](crate::PushDecoder) decodes public market data
//! into, kept by its caller across frames so that a decoded push allocates nothing of its own.

use crate::domain::decode_error::DecodeError;
use crate::domain::depth::DepthDiff;
use crate::domain::market::{BookTicker, PriceLevel, Trade};
use crate::domain::venue_event::VenueEvent;

/// The buffers a [`PushDecoder`](crate::PushDecoder) fills with a public push, and which the
/// [`VenueEvent`] it returns borrows: the symbol code, a depth diff with its levels, a push's
/// trades.
///
/// The caller keeps one across frames (a [`FrameDecoder`](crate::FrameDecoder) does, across
/// connections too). Each fill replaces the whole content and keeps the capacity, so once
/// the buffers have grown to the largest push seen, decoding allocates nothing beyond the
/// venue's own message decode.
///
/// What they hold: after a fill method succeeds, exactly the push it returned (the other
/// kinds' buffers are emptied); after a fill method fails (an item is an error), nothing.
/// Emptying never releases capacity.
///
/// ```
/// use exchange_composite::{DecodeError, PriceLevel, PushBuffers, VenueEvent};
///
/// let level = |p: &str| -> Result<PriceLevel, DecodeError> {
///     Ok(PriceLevel { price: p.parse().unwrap(), quantity: "1".parse().unwrap() })
/// };
/// let mut buffers = PushBuffers::default();
/// let event = buffers.depth_diff("HIFIUSDT", 7, 7, ["0.0999", "0.0998"].map(level), [])?;
/// let VenueEvent::DepthDiff { symbol_code, diff } = event else { unreachable!() };
/// assert_eq!((symbol_code, diff.bids.len(), diff.asks.len()), ("HIFIUSDT", 2, 0));
///
/// // A level that fails to decode: the error, and nothing left of either diff.
/// let bad = Err(DecodeError::BadText { field: "price", value: "x".into() });
/// let error = buffers.depth_diff("HIFIUSDT", 8, 8, [level("0.0997"), bad], []);
/// assert!(error.is_err());
/// assert!(buffers.is_empty());
/// # Ok::<(), DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushBuffers {
    symbol_code: String,
    diff: DepthDiff,
    trades: Vec<Trade>,
}

impl Default for PushBuffers {
    fn default() -> Self {
        Self {
            symbol_code: String::new(),
            diff: DepthDiff {
                from_version: 0,
                to_version: 0,
                bids: Vec::new(),
                asks: Vec::new(),
            },
            trades: Vec::new(),
        }
    }
}

impl PushBuffers {
    /// A book ticker of `symbol_code`.
    pub fn book_ticker(&mut self, symbol_code: &str, ticker: BookTicker) -> VenueEvent<'_> {
        self.clear();
        self.symbol_code.push_str(symbol_code);
        VenueEvent::BookTicker {
            symbol_code: &self.symbol_code,
            ticker,
        }
    }

    /// A depth diff of `symbol_code`, versions `from_version..=to_version`, with the levels
    /// `bids` and `asks` yield, in order.
    ///
    /// # Errors
    /// The first level that is an error; the buffers are then empty.
    pub fn depth_diff<B, A>(
        &mut self,
        symbol_code: &str,
        from_version: u64,
        to_version: u64,
        bids: B,
        asks: A,
    ) -> Result<VenueEvent<'_>, DecodeError>
    where
        B: IntoIterator<Item = Result<PriceLevel, DecodeError>>,
        A: IntoIterator<Item = Result<PriceLevel, DecodeError>>,
    {
        self.clear();
        self.diff.from_version = from_version;
        self.diff.to_version = to_version;
        let filled = fill(&mut self.diff.bids, bids).and_then(|()| fill(&mut self.diff.asks, asks));
        self.finish_fill(symbol_code, filled)?;
        Ok(VenueEvent::DepthDiff {
            symbol_code: &self.symbol_code,
            diff: &self.diff,
        })
    }

    /// The public trades of `symbol_code` that `trades` yields, in order.
    ///
    /// # Errors
    /// The first trade that is an error; the buffers are then empty.
    pub fn trades<T>(&mut self, symbol_code: &str, trades: T) -> Result<VenueEvent<'_>, DecodeError>
    where
        T: IntoIterator<Item = Result<Trade, DecodeError>>,
    {
        self.clear();
        let filled = fill(&mut self.trades, trades);
        self.finish_fill(symbol_code, filled)?;
        Ok(VenueEvent::Trades {
            symbol_code: &self.symbol_code,
            trades: &self.trades,
        })
    }

    /// Ends a fill: after an item that failed, empties everything; else records the push's
    /// symbol.
    fn finish_fill(
        &mut self,
        symbol_code: &str,
        filled: Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        if let Err(error) = filled {
            self.clear();
            return Err(error);
        }
        self.symbol_code.push_str(symbol_code);
        Ok(())
    }

    /// Empties every buffer, keeping its capacity.
    pub fn clear(&mut self) {
        self.symbol_code.clear();
        self.diff.from_version = 0;
        self.diff.to_version = 0;
        self.diff.bids.clear();
        self.diff.asks.clear();
        self.trades.clear();
    }

    /// Whether the buffers hold nothing: new, cleared, or after a fill that failed.
    pub fn is_empty(&self) -> bool {
        self.symbol_code.is_empty()
            && self.diff.from_version == 0
            && self.diff.to_version == 0
            && self.diff.bids.is_empty()
            && self.diff.asks.is_empty()
            && self.trades.is_empty()
    }
}

/// Replaces `buffer`'s content with the items of `items` (the buffer is empty on entry);
/// stops at the first error. A buffer that grows grows once, to what `items` says it holds.
fn fill<T>(
    buffer: &mut Vec<T>,
    items: impl IntoIterator<Item = Result<T, DecodeError>>,
) -> Result<(), DecodeError> {
    let items = items.into_iter();
    buffer.reserve(items.size_hint().0);
    for item in items {
        buffer.push(item?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use rust_decimal::Decimal;

    use super::*;
    use crate::domain::side::Side;

    fn level(price: i64) -> Result<PriceLevel, DecodeError> {
        Ok(PriceLevel {
            price: Decimal::new(price, 4),
            quantity: Decimal::ONE,
        })
    }

    fn trade(price: i64) -> Result<Trade, DecodeError> {
        Ok(Trade {
            price: Decimal::new(price, 4),
            quantity: Decimal::ONE,
            taker_side: Side::Buy,
            time_ms: price,
        })
    }

    fn ticker() -> BookTicker {
        BookTicker {
            bid_price: Decimal::new(999, 4),
            bid_quantity: Decimal::ONE,
            ask_price: Decimal::new(1001, 4),
            ask_quantity: Decimal::ONE,
            time_ms: 0,
        }
    }

    fn bad() -> DecodeError {
        DecodeError::BadText {
            field: "price",
            value: "x".to_owned(),
        }
    }

    #[test]
    fn a_refill_replaces_the_content_exactly_and_keeps_the_vectors() {
        let mut buffers = PushBuffers::default();
        buffers
            .depth_diff("LONGERSYMBOL", 1, 2, (0..8).map(level), (0..6).map(level))
            .unwrap();
        let (bids, asks) = (buffers.diff.bids.as_ptr(), buffers.diff.asks.as_ptr());
        let capacities = (
            buffers.symbol_code.capacity(),
            buffers.diff.bids.capacity(),
            buffers.diff.asks.capacity(),
        );

        // Another kind in between empties the diff and leaves its vectors in place.
        buffers.book_ticker("HIFIUSDT", ticker());
        assert!(buffers.diff.bids.is_empty() && buffers.diff.asks.is_empty());

        let VenueEvent::DepthDiff { symbol_code, diff } = buffers
            .depth_diff("HIFIUSDT", 3, 3, [level(999)], [level(1001), level(1002)])
            .unwrap()
        else {
            panic!("not a depth diff")
        };
        assert_eq!(symbol_code, "HIFIUSDT");
        assert_eq!(
            *diff,
            DepthDiff {
                from_version: 3,
                to_version: 3,
                bids: vec![level(999).unwrap()],
                asks: vec![level(1001).unwrap(), level(1002).unwrap()],
            }
        );
        assert_eq!((diff.bids.as_ptr(), diff.asks.as_ptr()), (bids, asks));
        assert_eq!(
            (
                buffers.symbol_code.capacity(),
                buffers.diff.bids.capacity(),
                buffers.diff.asks.capacity(),
            ),
            capacities
        );
    }

    #[test]
    fn a_failed_fill_leaves_the_buffers_empty_with_their_capacity() {
        let mut buffers = PushBuffers::default();
        buffers.trades("HIFIUSDT", (0..5).map(trade)).unwrap();
        let (pointer, capacity) = (buffers.trades.as_ptr(), buffers.trades.capacity());

        let error = buffers
            .trades("HIFIUSDT", [trade(1), trade(2), Err(bad()), trade(4)])
            .unwrap_err();
        assert_eq!(error, bad());
        assert!(buffers.is_empty());
        assert_eq!(buffers.trades.capacity(), capacity);

        let error = buffers
            .depth_diff("HIFIUSDT", 5, 5, [level(1)], [level(2), Err(bad())])
            .unwrap_err();
        assert_eq!(error, bad());
        assert!(buffers.is_empty());

        let VenueEvent::Trades { trades, .. } =
            buffers.trades("HIFIUSDT", [trade(7), trade(8)]).unwrap()
        else {
            panic!("not trades")
        };
        assert_eq!(trades, [trade(7).unwrap(), trade(8).unwrap()]);
        assert_eq!(trades.as_ptr(), pointer);
    }
}
