//! The public market-data pipeline against exchange-sim: local books follow the venue's,
//! through a forced reconnect too; tickers and trades reach subscribers; nothing leaks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

use std::sync::Arc;
use std::time::Duration;

use exchange_composite::mexc::MexcSpot;
use exchange_composite::public::{
    BOOK_TOP_DEPTH, MarketData, OrderBookTop, book_ticker_stream, order_book_stream, trades_stream,
};
use exchange_composite::{BookTicker, PriceLevel, PushInterval, Side, Trade};
use exchange_rest::{MexcRestClient, MexcRestConfig, RateLimiter, mexc_spot_limits};
use exchange_sim::{SimConfig, SimVenue};
use exchange_streams::ObservableStreams;
use exchange_ws::{WebSocketConfig, WebSocketManager};
use futures::StreamExt;
use lifecycle_core::testing::RuntimeTaskBaseline;
use lifecycle_core::{AsyncResource, TaskManager};
use tokio::time::Instant;

const SYMBOL: &str = "HIFIUSDT";

/// Polls `condition` until it holds, failing after `limit`.
use test_support::eventually;

/// Pauses the market, waits until the local book reached the venue's version, and compares
/// the top levels with the venue's own book.
async fn assert_book_matches_venue(sim: &SimVenue, market: &MarketData) {
    sim.pause_market();
    let venue = sim.depth(SYMBOL, 20).unwrap();
    eventually(
        Duration::from_secs(10),
        "the local book to reach the venue's version",
        || matches!(market.book_state(SYMBOL), Some((true, Some(v), _, _)) if v == venue.version),
    )
    .await;
    let convert = |levels: &[(rust_decimal::Decimal, rust_decimal::Decimal)]| -> Vec<PriceLevel> {
        levels
            .iter()
            .map(|(price, quantity)| PriceLevel {
                price: *price,
                quantity: *quantity,
            })
            .collect()
    };
    assert_eq!(
        market.book_levels(SYMBOL, Side::Buy, 20),
        convert(&venue.bids)
    );
    assert_eq!(
        market.book_levels(SYMBOL, Side::Sell, 20),
        convert(&venue.asks)
    );
    sim.resume_market();
}

use test_support::bounded;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_books_follow_the_venue_through_a_forced_reconnect() {
    bounded(async {
        let baseline = RuntimeTaskBaseline::capture();
        let sim = SimVenue::start(SimConfig::default()).await.unwrap();

        let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("public")));
        let rest = Arc::new(MexcRestClient::new(MexcRestConfig::new(sim.rest_url()), limiter.clone()).unwrap());
        limiter.start().await.unwrap();
        rest.start().await.unwrap();

        let streams = ObservableStreams::new("market-data");
        let venue = Arc::new(MexcSpot::new(rest.clone()));
        let market = Arc::new(MarketData::new(venue, &streams, &[SYMBOL], PushInterval::Ms100).unwrap());
        streams.start().await.unwrap();
        let mut tickers = streams.subscribe_tracked::<Option<BookTicker>>(&book_ticker_stream(SYMBOL)).unwrap();
        let mut trades = streams.subscribe_tracked::<Trade>(&trades_stream(SYMBOL)).unwrap();

        let mut config = WebSocketConfig::new("public", sim.ws_url());
        config.backoff_initial = Duration::from_millis(20);
        let ws = WebSocketManager::new(config);
        ws.add_handler(market.handler());
        for channel in market.channels() {
            ws.subscribe(channel).unwrap();
        }
        let tasks = TaskManager::new("market-data");
        let (resync_market, signal) = (market.clone(), tasks.signal().clone());
        tasks
            .spawn_critical("resync", async move { resync_market.run_resync(signal).await })
            .unwrap();
        // Nothing is known before the socket runs (the stream only holds the latest value,
        // so its first item may already be a ticker once data flows).
        assert!(market.book_ticker(SYMBOL).is_none(), "the stream starts empty");
        ws.start().await.unwrap();

        // Data flows: a ticker, then the book in sync with the venue.
        let ticker = loop {
            if let Some(ticker) = tickers.next().await.unwrap().unwrap() {
                break ticker;
            }
        };
        assert!(ticker.is_sane(), "{ticker:?}");
        assert_book_matches_venue(&sim, &market).await;
        // The order-book stream carries the same top as the local book.
        let mut tops = streams
            .subscribe_tracked::<Option<OrderBookTop>>(&order_book_stream(SYMBOL))
            .unwrap();
        let top = tops.next().await.unwrap().unwrap().expect("a synced book publishes its top");
        assert_eq!(Some(top.version), market.book_state(SYMBOL).unwrap().1);
        assert_eq!(top.bids, market.book_levels(SYMBOL, Side::Buy, BOOK_TOP_DEPTH));
        assert_eq!(top.asks, market.book_levels(SYMBOL, Side::Sell, BOOK_TOP_DEPTH));
        tops.dispose();
        let trade = trades.next().await.unwrap().unwrap();
        assert!(trade.price > rust_decimal::Decimal::ZERO && trade.quantity > rust_decimal::Decimal::ZERO);

        // Force a resync: the venue drops every connection; the manager reconnects, the book
        // starts over from a fresh snapshot and follows the venue again.
        let (_, _, _, applied_before) = market.book_state(SYMBOL).unwrap();
        sim.faults().drop_websockets();
        eventually(Duration::from_secs(10), "a second connection", || ws.stats().connections >= 2).await;
        // The book was replaced (its counter restarted) and is synced again.
        eventually(Duration::from_secs(10), "a fresh, synced book", || {
            matches!(market.book_state(SYMBOL), Some((true, _, _, applied)) if applied < applied_before || applied_before == 0)
        })
        .await;
        assert_book_matches_venue(&sim, &market).await;
        assert_eq!(market.frame_counts().1, 0, "no frame failed to decode");

        // Everything stops cleanly, in order, and leaves nothing behind.
        let deadline = Instant::now() + Duration::from_secs(5);
        assert!(ws.stop(deadline).await.is_clean());
        assert!(tasks.shutdown(deadline).await.is_clean());
        assert!(streams.stop(deadline).await.is_clean());
        // A ticker subscriber behind at the stop gets the last value, then the end.
        let mut after_stop = 0;
        while tickers.next().await.is_some() {
            after_stop += 1;
        }
        assert!(after_stop <= 1, "{after_stop} values after the stop");
        assert!(rest.stop(deadline).await.is_clean());
        assert!(limiter.stop(deadline).await.is_clean());
        drop((ws, tasks, rest, limiter, market));
        sim.shutdown().await;
        // Ours and the venue's: every task of this test is gone.
        baseline.assert_back(Duration::from_secs(5)).await;
    })
    .await;
}
