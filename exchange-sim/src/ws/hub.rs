//! Fan-out of encoded pushes: one `tokio::sync::broadcast` channel of `Bytes` per websocket
//! channel name. Each event is encoded once per channel that has subscribers, never per
//! subscriber. The aggregated (`aggre`) channels are fed through one [`Window`] per symbol and
//! interval, flushed once per interval ([`Hub::flush`]); private and partial-depth channels
//! push at once.

use std::collections::{BTreeMap, HashMap};

use lifecycle_core::WallClock;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::broadcast;

use super::aggregate::{Window, collapse_operation};
use super::channel::{self, INTERVALS, LIMIT_LEVELS, PrivateStream};
use super::encode;
use crate::accounts::AccountId;
use crate::config::SymbolConfig;
use crate::events::Event;
use crate::matching::Engine;

#[derive(Debug)]
struct Channel {
    name: String,
    tx: broadcast::Sender<Bytes>,
}

impl Channel {
    fn new(name: String, capacity: usize) -> Self {
        Self {
            name,
            tx: broadcast::channel(capacity).0,
        }
    }

    /// Whether anyone listens.
    fn has_receivers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Encode and send only if someone listens.
    fn send_with(&self, encode: impl FnOnce(&str) -> Bytes) {
        if self.tx.receiver_count() > 0 {
            // An error only means the last receiver just left.
            let _ = self.tx.send(encode(&self.name));
        }
    }
}

#[derive(Debug)]
struct SymbolChannels {
    quote_asset: String,
    depth: Vec<Channel>,
    limit_depth: Vec<(usize, Channel)>,
    book_ticker: Vec<Channel>,
    deals: Vec<Channel>,
    /// What each interval's aggregated channels gathered since their last flush, by the
    /// index of the interval in [`INTERVALS`].
    windows: Vec<Mutex<Window>>,
}

impl SymbolChannels {
    fn window(&self, interval: usize) -> Option<MutexGuard<'_, Window>> {
        self.windows
            .get(interval)
            .map(|w| w.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[derive(Debug)]
struct PrivateChannels {
    orders: Channel,
    deals: Channel,
    account: Channel,
}

/// All push channels of the venue.
#[derive(Debug)]
pub struct Hub {
    /// By symbol, in order: flushes push in the same order every run.
    symbols: BTreeMap<String, SymbolChannels>,
    public: HashMap<String, broadcast::Sender<Bytes>>,
    private: Vec<PrivateChannels>,
    /// Stamps every push's `sendTime`.
    clock: WallClock,
}

impl Hub {
    /// Channels for these symbols and `accounts` accounts (ids `0..accounts`).
    pub fn new(
        symbols: &[SymbolConfig],
        accounts: usize,
        capacity: usize,
        clock: WallClock,
    ) -> Self {
        let mut public = HashMap::new();
        let mut by_symbol = BTreeMap::new();
        for spec in symbols {
            let s = &spec.symbol;
            let make = |name: String| Channel::new(name, capacity);
            let channels = SymbolChannels {
                quote_asset: spec.quote_asset.clone(),
                depth: INTERVALS
                    .iter()
                    .map(|i| make(channel::aggre_depth(i, s)))
                    .collect(),
                limit_depth: LIMIT_LEVELS
                    .iter()
                    .map(|n| (*n, make(channel::limit_depth(s, *n))))
                    .collect(),
                book_ticker: INTERVALS
                    .iter()
                    .map(|i| make(channel::book_ticker(i, s)))
                    .collect(),
                deals: INTERVALS
                    .iter()
                    .map(|i| make(channel::deals(i, s)))
                    .collect(),
                windows: INTERVALS.iter().map(|_| Mutex::default()).collect(),
            };
            let all = channels
                .depth
                .iter()
                .chain(channels.limit_depth.iter().map(|(_, c)| c))
                .chain(&channels.book_ticker)
                .chain(&channels.deals);
            for c in all {
                public.insert(c.name.clone(), c.tx.clone());
            }
            by_symbol.insert(s.clone(), channels);
        }
        let private = (0..accounts)
            .map(|_| PrivateChannels {
                orders: Channel::new(channel::PRIVATE_ORDERS.into(), capacity),
                deals: Channel::new(channel::PRIVATE_DEALS.into(), capacity),
                account: Channel::new(channel::PRIVATE_ACCOUNT.into(), capacity),
            })
            .collect();
        Self {
            symbols: by_symbol,
            public,
            private,
            clock,
        }
    }

    /// Subscribe to a public channel by its exact name.
    pub fn subscribe_public(&self, name: &str) -> Option<broadcast::Receiver<Bytes>> {
        self.public.get(name).map(broadcast::Sender::subscribe)
    }

    /// Subscribe to a private stream of an account.
    pub fn subscribe_private(
        &self,
        account: AccountId,
        stream: PrivateStream,
    ) -> Option<broadcast::Receiver<Bytes>> {
        let channels = self.private.get(account.0)?;
        Some(match stream {
            PrivateStream::Orders => channels.orders.tx.subscribe(),
            PrivateStream::Deals => channels.deals.tx.subscribe(),
            PrivateStream::Account => channels.account.tx.subscribe(),
        })
    }

    /// Names of all public channels.
    pub fn public_channels(&self) -> impl Iterator<Item = &str> {
        self.public.keys().map(String::as_str)
    }

    /// Fan out the events of one engine operation. Called with the engine still locked so
    /// pushes leave in version order. The operation is first collapsed to its final book
    /// state ([`collapse_operation`]); aggregated channels only gather it into their windows.
    pub fn publish(&self, engine: &Engine, events: &[Event]) {
        let now = self.clock.now_ms();
        for event in &collapse_operation(events) {
            match event {
                Event::Depth(diff) => {
                    let Some(channels) = self.symbols.get(&diff.symbol) else {
                        continue;
                    };
                    for (interval, c) in channels.depth.iter().enumerate() {
                        if c.has_receivers()
                            && let Some(mut window) = channels.window(interval)
                        {
                            window.add_depth(diff);
                        }
                    }
                    if let Ok(market) = engine.market(&diff.symbol) {
                        for (levels, c) in &channels.limit_depth {
                            c.send_with(|name| {
                                let (bids, asks) = market.book.depth(*levels);
                                encode::limit_depth(
                                    name,
                                    &diff.symbol,
                                    &bids,
                                    &asks,
                                    market.version,
                                    diff.time,
                                    now,
                                )
                            });
                        }
                    }
                }
                Event::BookTicker(update) => {
                    if let Some(channels) = self.symbols.get(&update.symbol) {
                        for (interval, c) in channels.book_ticker.iter().enumerate() {
                            if c.has_receivers()
                                && let Some(mut window) = channels.window(interval)
                            {
                                window.set_book_ticker(update);
                            }
                        }
                    }
                }
                Event::Trades(trades) => {
                    if let Some(channels) = self.symbols.get(&trades.symbol) {
                        for (interval, c) in channels.deals.iter().enumerate() {
                            if c.has_receivers()
                                && let Some(mut window) = channels.window(interval)
                            {
                                window.add_trades(&trades.trades);
                            }
                        }
                    }
                }
                Event::Order(update) => {
                    if let Some(p) = self.private.get(update.order.account.0) {
                        let quote = self
                            .symbols
                            .get(&update.order.symbol)
                            .map(|c| c.quote_asset.as_str())
                            .unwrap_or_default();
                        p.orders
                            .send_with(|name| encode::order(name, update, quote, now));
                    }
                }
                Event::Deal(deal) => {
                    if let Some(p) = self.private.get(deal.account.0) {
                        p.deals.send_with(|name| encode::deal(name, deal, now));
                    }
                }
                Event::Balance(change) => {
                    if let Some(p) = self.private.get(change.account.0) {
                        p.account
                            .send_with(|name| encode::account(name, change, now));
                    }
                }
            }
        }
    }

    /// Push what the aggregated channels of interval `interval` (an index into
    /// [`INTERVALS`]) gathered since the last flush: at most one frame per channel, showing
    /// the state at the end of the window.
    pub fn flush(&self, interval: usize) {
        let now = self.clock.now_ms();
        for (symbol, channels) in &self.symbols {
            let window = match channels.window(interval) {
                Some(mut window) if !window.is_empty() => std::mem::take(&mut *window),
                _ => continue,
            };
            if let (Some(depth), Some(c)) = (&window.depth, channels.depth.get(interval)) {
                c.send_with(|name| encode::depth(name, &depth.to_diff(), now));
            }
            if let (Some(top), Some(c)) = (&window.book_ticker, channels.book_ticker.get(interval))
            {
                c.send_with(|name| encode::book_ticker(name, top, now));
            }
            if !window.trades.is_empty()
                && let Some(c) = channels.deals.get(interval)
            {
                let trades = crate::events::PublicTrades {
                    symbol: symbol.clone(),
                    trades: window.trades,
                };
                c.send_with(|name| encode::deals(name, &trades, now));
            }
        }
    }
}
