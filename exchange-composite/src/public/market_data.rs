//! [`MarketData`]: the public market-data pipeline of one venue connection. Push frames are
//! decoded on the websocket's read loop; book tickers and trades go to observable streams;
//! each symbol's [`LocalOrderBook`] follows the venue's versions and is resynchronised from a
//! REST snapshot after every (re)connect and on any gap.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use exchange_streams::{EventPublisher, LatestPublisher, ObservableStreams, StreamError};
use exchange_ws::{Frame, FrameHandler, WsEvent};
use lifecycle_core::ShutdownSignal;
use tokio::sync::mpsc;

use crate::domain::depth_sequencing::DepthSequencing;
use crate::domain::local_order_book::{DiffOutcome, LocalOrderBook};
use crate::domain::market::{BookTicker, PriceLevel, Trade};
use crate::domain::push_interval::PushInterval;
use crate::domain::side::Side;
use crate::domain::venue_event::VenueEvent;
use crate::push_decoder::{FrameCounts, FrameDecoder};
use crate::venue::Venue;

/// Levels per side published in an [`OrderBookTop`].
pub const BOOK_TOP_DEPTH: usize = 20;
/// Levels requested in a REST snapshot.
const SNAPSHOT_LIMIT: u32 = 1000;

/// The best levels of a synchronised local book.
///
/// Its `clone_from` reuses the destination's vectors: a subscriber that reads with
/// [`Subscription::next_into`](exchange_streams::Subscription::next_into) receives each new
/// top without allocating.
#[derive(Debug, PartialEq, Eq)]
pub struct OrderBookTop {
    /// The venue version the book reflects.
    pub version: u64,
    /// Best bids, best first.
    pub bids: Vec<PriceLevel>,
    /// Best asks, best first.
    pub asks: Vec<PriceLevel>,
}

impl Clone for OrderBookTop {
    fn clone(&self) -> Self {
        Self {
            version: self.version,
            bids: self.bids.clone(),
            asks: self.asks.clone(),
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.version = source.version;
        self.bids.clone_from(&source.bids);
        self.asks.clone_from(&source.asks);
    }
}

/// Stream names of one symbol.
pub fn book_ticker_stream(symbol_code: &str) -> String {
    format!("book_ticker.{symbol_code}")
}

/// Stream name of a symbol's order book top (`None` while resynchronising).
pub fn order_book_stream(symbol_code: &str) -> String {
    format!("order_book.{symbol_code}")
}

/// Stream name of a symbol's public trades.
pub fn trades_stream(symbol_code: &str) -> String {
    format!("trades.{symbol_code}")
}

struct SymbolFeed {
    book: Mutex<LocalOrderBook>,
    ticker: LatestPublisher<Option<BookTicker>>,
    top: LatestPublisher<Option<OrderBookTop>>,
    trades: EventPublisher<Trade>,
}

struct Inner {
    venue: Arc<dyn Venue>,
    /// By symbol code, ordered: channels are subscribed in the same order every run.
    feeds: BTreeMap<String, SymbolFeed>,
    /// The venue's version rule, which every book follows.
    sequencing: Arc<dyn DepthSequencing>,
    /// Frames the handlers decoded and dropped.
    counts: FrameCounts,
    resync: mpsc::UnboundedSender<String>,
}

/// The market-data pipeline of one public connection (see the module docs).
///
/// Wire it up with [`MarketData::handler`] (for the websocket manager),
/// [`MarketData::channels`] (to subscribe) and [`MarketData::run_resync`] (a task that fetches
/// REST snapshots when a book needs one).
pub struct MarketData {
    inner: Arc<Inner>,
    requests: Mutex<Option<mpsc::UnboundedReceiver<String>>>,
    interval: PushInterval,
}

impl fmt::Debug for MarketData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MarketData")
            .field("symbols", &self.inner.feeds.keys().collect::<Vec<_>>())
            .field("decoded", &self.inner.counts.decoded())
            .field("failed", &self.inner.counts.failed())
            .finish()
    }
}

impl MarketData {
    /// Declares the streams of `symbol_codes` (`HIFIUSDT`, ...) of `venue` in `streams`.
    pub fn new(
        venue: Arc<dyn Venue>,
        streams: &ObservableStreams,
        symbol_codes: &[&str],
        interval: PushInterval,
    ) -> Result<Self, StreamError> {
        let (resync, requests) = mpsc::unbounded_channel();
        let sequencing = venue.depth_sequencing();
        let mut feeds = BTreeMap::new();
        for code in symbol_codes {
            feeds.insert(
                (*code).to_owned(),
                SymbolFeed {
                    book: Mutex::new(LocalOrderBook::new(sequencing.clone())),
                    ticker: streams.latest(book_ticker_stream(code), None)?,
                    top: streams.latest(order_book_stream(code), None)?,
                    trades: streams.events(trades_stream(code), 4096)?,
                },
            );
        }
        Ok(Self {
            inner: Arc::new(Inner {
                venue,
                feeds,
                sequencing,
                counts: FrameCounts::default(),
                resync,
            }),
            requests: Mutex::new(Some(requests)),
            interval,
        })
    }

    /// The channels to subscribe: depth diffs, book tickers and trades of every symbol.
    pub fn channels(&self) -> Vec<String> {
        let codes: Vec<&str> = self.inner.feeds.keys().map(String::as_str).collect();
        self.inner.venue.public_channels(&codes, self.interval)
    }

    /// The handler to add to the websocket manager (it decodes with the venue's
    /// [`PushDecoder`](crate::PushDecoder), a new one for every connection).
    pub fn handler(&self) -> MarketDataHandler {
        MarketDataHandler {
            decoder: FrameDecoder::new(self.inner.venue.push_decoder(), self.inner.counts.clone()),
            inner: self.inner.clone(),
        }
    }

    /// Frames decoded and frames dropped (undecodable).
    pub fn frame_counts(&self) -> (u64, u64) {
        (self.inner.counts.decoded(), self.inner.counts.failed())
    }

    /// The latest book ticker of a symbol (`None` before the first, or for an unknown
    /// symbol).
    pub fn book_ticker(&self, symbol_code: &str) -> Option<BookTicker> {
        self.inner
            .feeds
            .get(symbol_code)
            .and_then(|feed| feed.ticker.current())
    }

    /// The published top of a symbol's local book (`None` while resynchronising).
    pub fn order_book_top(&self, symbol_code: &str) -> Option<OrderBookTop> {
        self.inner
            .feeds
            .get(symbol_code)
            .and_then(|feed| feed.top.current())
    }

    /// The local book state of a symbol: (synced, version, resyncs, diffs applied).
    pub fn book_state(&self, symbol_code: &str) -> Option<(bool, Option<u64>, u64, u64)> {
        let feed = self.inner.feeds.get(symbol_code)?;
        let book = feed.book.lock().unwrap_or_else(PoisonError::into_inner);
        Some((
            book.is_synced(),
            book.version(),
            book.resyncs(),
            book.applied(),
        ))
    }

    /// The best `depth` levels of a symbol's local book (empty while not synced).
    pub fn book_levels(&self, symbol_code: &str, side: Side, depth: usize) -> Vec<PriceLevel> {
        self.inner
            .feeds
            .get(symbol_code)
            .map_or_else(Vec::new, |feed| {
                feed.book
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .book()
                    .levels(side, depth)
            })
    }

    /// Serves snapshot requests until `signal`: for each symbol whose book needs one, fetches
    /// a depth snapshot from the venue and installs it. Run it as a task of the owning component. Returns at
    /// once if called a second time.
    ///
    /// # Cancel safety
    /// Cancel safe: a request being served is lost, but a book that lost its snapshot asks
    /// again at its next gap or reconnect.
    pub async fn run_resync(&self, signal: ShutdownSignal) {
        let taken = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(mut requests) = taken else {
            return;
        };
        loop {
            let code = tokio::select! {
                biased;
                () = signal.triggered() => return,
                code = requests.recv() => match code {
                    Some(code) => code,
                    None => return,
                },
            };
            let Some(feed) = self.inner.feeds.get(&code) else {
                continue;
            };
            let snapshot = match self.inner.venue.depth_snapshot(&code, SNAPSHOT_LIMIT).await {
                Ok(snapshot) => snapshot,
                Err(error) => {
                    tracing::warn!(symbol = %code, %error, "depth snapshot failed: will retry at the next gap");
                    continue;
                }
            };
            let mut book = feed.book.lock().unwrap_or_else(PoisonError::into_inner);
            if let DiffOutcome::ResyncNeeded { .. } = book.on_snapshot(snapshot) {
                drop(book);
                let _ = self.inner.resync.send(code);
                continue;
            }
            publish_top(feed, &book);
            // A quiet market may push no ticker for a long while: the snapshot's touch stands
            // in until the first push.
            if let Some(ticker) = book
                .book()
                .ticker(0)
                .filter(|_| feed.ticker.current().is_none())
            {
                feed.ticker.publish(Some(ticker));
            }
        }
    }
}

/// Publishes the book's top in place: the published value's vectors are reused, so an
/// applied diff costs no allocation on the read loop.
fn publish_top(feed: &SymbolFeed, book: &LocalOrderBook) {
    let Some(version) = book.version() else {
        feed.top.publish(None);
        return;
    };
    feed.top.modify(|top| {
        let top = top.get_or_insert_with(|| OrderBookTop {
            version,
            bids: Vec::with_capacity(BOOK_TOP_DEPTH),
            asks: Vec::with_capacity(BOOK_TOP_DEPTH),
        });
        top.version = version;
        book.book()
            .levels_into(Side::Buy, BOOK_TOP_DEPTH, &mut top.bids);
        book.book()
            .levels_into(Side::Sell, BOOK_TOP_DEPTH, &mut top.asks);
    });
}

/// The websocket [`FrameHandler`] of a [`MarketData`] pipeline.
///
/// Its [`FrameDecoder`] keeps the [`PushBuffers`](crate::PushBuffers) frames decode into for
/// the handler's whole life, reconnects included; the local book applies a diff in place and
/// trades are published one by one from those buffers, so once they have grown a frame costs
/// no allocation beyond the venue's message decode.
pub struct MarketDataHandler {
    inner: Arc<Inner>,
    decoder: FrameDecoder,
}

impl fmt::Debug for MarketDataHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MarketDataHandler").finish_non_exhaustive()
    }
}

impl FrameHandler for MarketDataHandler {
    fn on_frame(&mut self, frame: Frame<'_>) -> Result<(), String> {
        let Some(event) = self.decoder.decode_frame(frame) else {
            return Ok(()); // a control reply, or a bad frame (counted and logged)
        };
        match event {
            VenueEvent::BookTicker {
                symbol_code,
                ticker,
            } => {
                if let Some(feed) = self.inner.feeds.get(symbol_code) {
                    feed.ticker.publish(Some(ticker));
                }
            }
            VenueEvent::Trades {
                symbol_code,
                trades,
            } => {
                if let Some(feed) = self.inner.feeds.get(symbol_code) {
                    for trade in trades {
                        feed.trades.publish(*trade);
                    }
                }
            }
            VenueEvent::DepthDiff { symbol_code, diff } => {
                if let Some(feed) = self.inner.feeds.get(symbol_code) {
                    let mut book = feed.book.lock().unwrap_or_else(PoisonError::into_inner);
                    match book.on_diff(diff) {
                        DiffOutcome::Applied => publish_top(feed, &book),
                        DiffOutcome::ResyncNeeded { .. } => {
                            drop(book);
                            feed.top.publish(None);
                            let _ = self.inner.resync.send(symbol_code.to_owned());
                        }
                        DiffOutcome::Buffered | DiffOutcome::Stale => {}
                    }
                }
            }
            VenueEvent::Order(_) | VenueEvent::Fill(_) | VenueEvent::Balance(_) => {}
        }
        Ok(())
    }

    fn on_event(&mut self, event: &WsEvent) {
        if let WsEvent::Connected { .. } = event {
            // A new connection: a new decoder, and every book starts over from a fresh
            // snapshot.
            self.decoder.restart(self.inner.venue.push_decoder());
            for (code, feed) in &self.inner.feeds {
                *feed.book.lock().unwrap_or_else(PoisonError::into_inner) =
                    LocalOrderBook::new(self.inner.sequencing.clone());
                feed.top.publish(None);
                let _ = self.inner.resync.send(code.clone());
            }
        }
    }
}
