//! [`PublicCompositeExchange`]: a venue's market data as one resource.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use exchange_streams::{ObservableStreams, Subscription};
use exchange_ws::WebSocketManager;
use futures::StreamExt;
use lifecycle_core::{
    AsyncResource, BoxFuture, LifecycleState, ResourceGroup, StartError, StateWatcher, StopReport,
};
use tokio::time::Instant;

use crate::config::ExchangeConfig;
use crate::domain::market::{BookTicker, Trade};
use crate::domain::rules::SymbolRules;
use crate::domain::symbol::Symbol;
use crate::error::ExchangeError;
use crate::markets::Markets;
use crate::parts::{ExchangeBuilder, ExchangeParts, Part};
use crate::public::feed::PublicFeed;
use crate::public::market_data::{
    MarketData, OrderBookTop, book_ticker_stream, order_book_stream, trades_stream,
};
use crate::venue::Venue;

/// A venue's public side: book tickers, local order books and trades of the configured
/// markets, as observable streams.
///
/// Its parts stop in [the shutdown order](crate#the-shutdown-order): the public socket (`Medium`: close handshake, resync task),
/// then the streams (`Low`: subscribers see their streams end), then, if it owns them, the
/// REST client and rate limiter (`Cleanup`). Start runs the other way round and loads each
/// market's rules from `exchangeInfo` before the socket connects.
///
/// ```no_run
/// # #[allow(dead_code)]
/// # async fn demo(config: exchange_composite::ExchangeConfig, symbol: exchange_composite::Symbol) -> Result<(), exchange_composite::ExchangeError> {
/// use std::time::Duration;
/// use exchange_composite::PublicCompositeExchange;
/// use lifecycle_core::AsyncResource;
///
/// let public = PublicCompositeExchange::new(&config)?;
/// public.start().await?;
/// let ticker = public.wait_for_book_ticker(&symbol, Duration::from_secs(5)).await?;
/// println!("mid {:?}", ticker.mid());
/// let report = public.stop_within(Duration::from_secs(2)).await;
/// assert!(report.is_clean());
/// # Ok(()) }
/// ```
pub struct PublicCompositeExchange {
    group: ResourceGroup,
    parts: PublicParts,
}

impl fmt::Debug for PublicCompositeExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicCompositeExchange")
            .field("group", &self.group)
            .field("markets", &self.parts.markets)
            .finish_non_exhaustive()
    }
}

impl PublicCompositeExchange {
    /// A public exchange (not started) on MEXC spot, which owns its REST client and rate
    /// limiter. For a shared REST client or another venue, see [`ExchangeBuilder`].
    ///
    /// # Errors
    /// The HTTP client cannot be built, or a stream cannot be declared.
    pub fn new(config: &ExchangeConfig) -> Result<Self, ExchangeError> {
        ExchangeBuilder::new(config).public()
    }

    /// The configured markets.
    pub fn symbols(&self) -> Vec<Symbol> {
        self.parts.markets.symbols().cloned().collect()
    }

    /// A market's trading rules (loaded at start).
    ///
    /// # Errors
    /// [`ExchangeError::UnknownSymbol`] for a market not configured (or before start).
    pub fn rules(&self, symbol: &Symbol) -> Result<SymbolRules, ExchangeError> {
        self.parts.markets.rules(symbol)
    }

    /// The latest best bid and ask of a market, if one arrived yet.
    pub fn book_ticker(&self, symbol: &Symbol) -> Option<BookTicker> {
        let code = self.parts.markets.code(symbol).ok()?;
        self.parts.market.book_ticker(code)
    }

    /// The top of a market's local order book (`None` while it resynchronises).
    pub fn order_book(&self, symbol: &Symbol) -> Option<OrderBookTop> {
        let code = self.parts.markets.code(symbol).ok()?;
        self.parts.market.order_book_top(code)
    }

    /// Waits (up to `timeout`) for a market's first book ticker, or returns the current one.
    ///
    /// # Errors
    /// [`ExchangeError::Timeout`], or the stream cannot be subscribed (not running).
    pub async fn wait_for_book_ticker(
        &self,
        symbol: &Symbol,
        timeout: Duration,
    ) -> Result<BookTicker, ExchangeError> {
        let mut tickers = self.subscribe_book_ticker(symbol)?;
        let first = async {
            while let Some(item) = tickers.next().await {
                if let Ok(Some(ticker)) = item {
                    return Some(ticker);
                }
            }
            None
        };
        match tokio::time::timeout(timeout, first).await {
            Ok(Some(ticker)) => Ok(ticker),
            Ok(None) => Err(ExchangeError::NotRunning(self.name().to_owned())),
            Err(_) => Err(ExchangeError::Timeout(format!("a book ticker of {symbol}"))),
        }
    }

    /// Book tickers of a market (latest value: a new subscriber sees the current one first).
    ///
    /// # Errors
    /// The market is not configured, or the exchange is not running.
    pub fn subscribe_book_ticker(
        &self,
        symbol: &Symbol,
    ) -> Result<Subscription<Option<BookTicker>>, ExchangeError> {
        let code = self.parts.markets.code(symbol)?;
        Ok(self
            .parts
            .streams
            .subscribe_tracked(&book_ticker_stream(code))?)
    }

    /// The top of a market's local book (latest value; `None` while resynchronising).
    ///
    /// # Errors
    /// The market is not configured, or the exchange is not running.
    pub fn subscribe_order_book(
        &self,
        symbol: &Symbol,
    ) -> Result<Subscription<Option<OrderBookTop>>, ExchangeError> {
        let code = self.parts.markets.code(symbol)?;
        Ok(self
            .parts
            .streams
            .subscribe_tracked(&order_book_stream(code))?)
    }

    /// A market's public trades (events: a slow subscriber sees `Lagged`, never stalls the
    /// feed).
    ///
    /// # Errors
    /// The market is not configured, or the exchange is not running.
    pub fn subscribe_trades(&self, symbol: &Symbol) -> Result<Subscription<Trade>, ExchangeError> {
        let code = self.parts.markets.code(symbol)?;
        Ok(self.parts.streams.subscribe_tracked(&trades_stream(code))?)
    }

    /// The market-data pipeline (frame counts, book states).
    pub fn market_data(&self) -> &MarketData {
        &self.parts.market
    }

    /// The public socket (connection state, statistics).
    pub fn socket(&self) -> &WebSocketManager {
        self.parts.feed.socket()
    }

    /// The streams (counters, active subscriptions).
    pub fn streams(&self) -> &ObservableStreams {
        &self.parts.streams
    }
}

/// A public exchange's parts, before they are grouped ([`ExchangeBuilder`] groups them).
pub(crate) struct PublicParts {
    name: String,
    streams: Arc<ObservableStreams>,
    market: Arc<MarketData>,
    feed: Arc<PublicFeed>,
    markets: Arc<Markets>,
}

impl PublicParts {
    /// The parts of `config`'s public exchange on `venue`.
    pub(crate) fn new(
        config: &ExchangeConfig,
        venue: Arc<dyn Venue>,
    ) -> Result<Self, ExchangeError> {
        let name = format!("{}.public", config.name);
        let markets = Arc::new(Markets::new(&*venue, &config.symbols));
        let streams = Arc::new(ObservableStreams::new(format!("{name}.streams")));
        let codes: Vec<&str> = markets.codes().collect();
        let market = Arc::new(MarketData::new(
            venue.clone(),
            &streams,
            &codes,
            config.push_interval,
        )?);
        let socket = config.websocket_config(format!("{name}.socket"));
        let feed = Arc::new(PublicFeed::new(
            format!("{name}.feed"),
            socket,
            market.clone(),
            venue,
            markets.clone(),
            config.start_timeout,
        ));
        Ok(Self {
            name,
            streams,
            market,
            feed,
            markets,
        })
    }
}

impl ExchangeParts for PublicParts {
    type Exchange = PublicCompositeExchange;

    fn name(&self) -> &str {
        &self.name
    }

    fn members(&self) -> Vec<(Part, Arc<dyn AsyncResource>)> {
        vec![(Part::PublicSocket, self.feed.clone())]
    }

    fn streams(&self) -> Arc<ObservableStreams> {
        self.streams.clone()
    }

    fn into_exchange(self, group: ResourceGroup) -> PublicCompositeExchange {
        PublicCompositeExchange { group, parts: self }
    }
}

impl AsyncResource for PublicCompositeExchange {
    fn name(&self) -> &str {
        self.group.name()
    }

    fn state(&self) -> LifecycleState {
        self.group.state()
    }

    fn watch_state(&self) -> StateWatcher {
        self.group.watch_state()
    }

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        self.group.start()
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        self.group.stop(deadline)
    }
}
