//! The set-up most stream tests share.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use exchange_streams::{EventPublisher, LatestPublisher, ObservableStreams};
use lifecycle_core::AsyncResource;

/// Started streams with a `book_ticker` latest value (starting at 0) and a `trades` event
/// stream holding 8 events, with their publishers.
pub async fn ticker_and_trades() -> (ObservableStreams, LatestPublisher<u64>, EventPublisher<u64>) {
    let streams = ObservableStreams::new("streams");
    let ticker = streams.latest::<u64>("book_ticker", 0).unwrap();
    let trades = streams.events::<u64>("trades", 8).unwrap();
    streams.start().await.unwrap();
    (streams, ticker, trades)
}
