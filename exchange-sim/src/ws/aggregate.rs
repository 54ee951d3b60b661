//! What MEXC's aggregated (`aggre`) channels push: at most one frame per channel and interval,
//! showing the state at the end of the window. Book changes are merged here between two
//! flushes; [`crate::ws::hub::Hub::flush`] encodes and sends what a window gathered.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::events::{BookTickerUpdate, DepthDiff, PublicTrade};

/// Depth changes of one window: absolute quantities per price (the last change of a level
/// wins), covering versions `from_version..=to_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedDepth {
    /// Symbol.
    pub symbol: String,
    /// First version covered.
    pub from_version: u64,
    /// Last version covered.
    pub to_version: u64,
    bids: BTreeMap<Decimal, Decimal>,
    asks: BTreeMap<Decimal, Decimal>,
    /// Time of the newest change, ms.
    pub time: i64,
}

impl MergedDepth {
    /// Start a window with its first change.
    pub fn new(diff: &DepthDiff) -> Self {
        let mut merged = Self {
            symbol: diff.symbol.clone(),
            from_version: diff.from_version,
            to_version: diff.to_version,
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            time: diff.time,
        };
        merged.absorb_levels(diff);
        merged
    }

    /// Add a later change. A change that does not follow the window (versions out of order)
    /// still extends the covered range, so no version is ever skipped by a subscriber.
    pub fn absorb(&mut self, diff: &DepthDiff) {
        self.from_version = self.from_version.min(diff.from_version);
        self.to_version = self.to_version.max(diff.to_version);
        self.time = self.time.max(diff.time);
        self.absorb_levels(diff);
    }

    fn absorb_levels(&mut self, diff: &DepthDiff) {
        self.bids.extend(diff.bids.iter().copied());
        self.asks.extend(diff.asks.iter().copied());
    }

    /// The window as one diff: bids best (highest) first, asks best (lowest) first.
    pub fn to_diff(&self) -> DepthDiff {
        DepthDiff {
            symbol: self.symbol.clone(),
            from_version: self.from_version,
            to_version: self.to_version,
            bids: self.bids.iter().rev().map(|(p, q)| (*p, *q)).collect(),
            asks: self.asks.iter().map(|(p, q)| (*p, *q)).collect(),
            time: self.time,
        }
    }
}

/// Everything one symbol's aggregated channels of one interval gathered since the last flush.
#[derive(Debug, Default)]
pub struct Window {
    /// Merged depth changes.
    pub depth: Option<MergedDepth>,
    /// The top of book at the end of the window.
    pub book_ticker: Option<BookTickerUpdate>,
    /// Public trades, oldest first.
    pub trades: Vec<PublicTrade>,
}

impl Window {
    /// Merge one depth change into the window.
    pub fn add_depth(&mut self, diff: &DepthDiff) {
        match &mut self.depth {
            Some(merged) => merged.absorb(diff),
            None => self.depth = Some(MergedDepth::new(diff)),
        }
    }

    /// Record the newest top of book.
    pub fn set_book_ticker(&mut self, update: &BookTickerUpdate) {
        self.book_ticker = Some(update.clone());
    }

    /// Append trades.
    pub fn add_trades(&mut self, trades: &[PublicTrade]) {
        self.trades.extend_from_slice(trades);
    }

    /// Whether nothing was gathered.
    pub fn is_empty(&self) -> bool {
        self.depth.is_none() && self.book_ticker.is_none() && self.trades.is_empty()
    }
}

/// Collapse the events of one engine operation that concern the book: all depth changes of a
/// symbol become one diff (its levels' final quantities) and only the last top of book is
/// kept, so no channel ever shows an intermediate state of one operation (such as an empty
/// side while the synthetic market replaces its quotes).
pub fn collapse_operation(events: &[crate::events::Event]) -> Vec<crate::events::Event> {
    use crate::events::Event;
    let mut depth: Vec<MergedDepth> = Vec::new();
    let mut tickers: Vec<BookTickerUpdate> = Vec::new();
    let mut others: Vec<Event> = Vec::new();
    for event in events {
        match event {
            Event::Depth(diff) => match depth.iter_mut().find(|d| d.symbol == diff.symbol) {
                Some(merged) => merged.absorb(diff),
                None => depth.push(MergedDepth::new(diff)),
            },
            Event::BookTicker(update) => {
                tickers.retain(|t| t.symbol != update.symbol);
                tickers.push(update.clone());
            }
            other => others.push(other.clone()),
        }
    }
    others
        .into_iter()
        .chain(depth.iter().map(|d| Event::Depth(d.to_diff())))
        .chain(tickers.into_iter().map(Event::BookTicker))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;

    fn diff(version: u64, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> DepthDiff {
        let levels = |l: &[(i64, i64)]| {
            l.iter()
                .map(|(p, q)| (Decimal::from(*p), Decimal::from(*q)))
                .collect()
        };
        DepthDiff {
            symbol: "AAAUSDT".into(),
            from_version: version,
            to_version: version,
            bids: levels(bids),
            asks: levels(asks),
            time: i64::try_from(version).unwrap_or_default(),
        }
    }

    fn ticker(version: u64, bid: Option<i64>, ask: Option<i64>) -> BookTickerUpdate {
        BookTickerUpdate {
            symbol: "AAAUSDT".into(),
            bid: bid.map(|p| (Decimal::from(p), Decimal::ONE)),
            ask: ask.map(|p| (Decimal::from(p), Decimal::ONE)),
            version,
            time: 0,
        }
    }

    #[test]
    fn a_window_spans_its_versions_and_keeps_final_quantities() {
        let mut window = Window::default();
        assert!(window.is_empty());
        window.add_depth(&diff(5, &[(10, 1), (9, 2)], &[]));
        window.add_depth(&diff(6, &[(10, 0)], &[(12, 3)]));
        window.add_depth(&diff(7, &[(11, 4)], &[(12, 0), (13, 1)]));
        let merged = window.depth.as_ref().map(MergedDepth::to_diff).unwrap();
        assert_eq!((merged.from_version, merged.to_version), (5, 7));
        let dec = Decimal::from;
        assert_eq!(
            merged.bids,
            vec![(dec(11), dec(4)), (dec(10), dec(0)), (dec(9), dec(2))]
        );
        assert_eq!(merged.asks, vec![(dec(12), dec(0)), (dec(13), dec(1))]);
        assert_eq!(merged.time, 7);
    }

    #[test]
    fn an_operation_collapses_to_its_final_state() {
        // A requote: cancel the touch on both sides (empty book for a moment), then quote.
        let events = vec![
            Event::Depth(diff(2, &[(10, 0)], &[])),
            Event::BookTicker(ticker(2, None, Some(12))),
            Event::Depth(diff(3, &[], &[(12, 0)])),
            Event::BookTicker(ticker(3, None, None)),
            Event::Depth(diff(4, &[(11, 1)], &[])),
            Event::BookTicker(ticker(4, Some(11), None)),
            Event::Depth(diff(5, &[], &[(13, 1)])),
            Event::BookTicker(ticker(5, Some(11), Some(13))),
        ];
        let collapsed = collapse_operation(&events);
        assert_eq!(collapsed.len(), 2);
        let Event::Depth(depth) = &collapsed[0] else {
            panic!("{collapsed:?}")
        };
        assert_eq!((depth.from_version, depth.to_version), (2, 5));
        assert_eq!(depth.bids.len(), 2);
        assert_eq!(depth.asks.len(), 2);
        let Event::BookTicker(top) = &collapsed[1] else {
            panic!("{collapsed:?}")
        };
        assert_eq!(top.version, 5);
        assert!(top.bid.is_some() && top.ask.is_some());
    }
}
