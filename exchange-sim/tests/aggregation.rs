//! The aggregated channels against a running synthetic market: one frame per channel and
//! window, depth versions contiguous across frames, and never an empty side on the book
//! ticker or the partial depth while the market requotes.
// Test futures hold whole websocket streams; their size is no hot-path concern here.
#![allow(clippy::large_futures)]

mod common;

use std::time::Duration;

use common::{bounded, connect, next_push, subscribe};
use exchange_sim::{SimConfig, SimVenue};
use mexc_proto::push_data_v3_api_wrapper::Body;

/// Depth frames collected on the 100 ms channel (about a second of market).
const DEPTH_FRAMES: usize = 8;
/// `sendTime` is wall-clock milliseconds while windows are timed on the monotonic clock: a
/// gap may read one millisecond short of the window.
const WALL_CLOCK_ROUNDING_MS: i64 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_channels_push_one_settled_frame_per_window() {
    bounded(async {
        let mut config = SimConfig::default();
        // A requote every 5 ms: about 20 book changes per 100 ms window.
        config.market.tick = Duration::from_millis(5);
        let sim = SimVenue::start(config).await.unwrap();
        let depth_100 = "spot@public.aggre.depth.v3.api.pb@100ms@HIFIUSDT";
        let depth_10 = "spot@public.aggre.depth.v3.api.pb@10ms@HIFIUSDT";
        let ticker = "spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT";
        let deals = "spot@public.aggre.deals.v3.api.pb@100ms@HIFIUSDT";
        let limit = "spot@public.limit.depth.v3.api.pb@HIFIUSDT@5";
        let mut ws = connect(&sim.ws_url()).await;
        subscribe(&mut ws, &[depth_100, depth_10, ticker, deals, limit]).await;

        let mut last_send: std::collections::HashMap<String, i64> = Default::default();
        let mut last_version: std::collections::HashMap<String, u64> = Default::default();
        let (mut depth_frames, mut tickers, mut limits) = (0, 0, 0);
        while depth_frames < DEPTH_FRAMES {
            let push = next_push(&mut ws).await;
            let send_time = push.send_time.unwrap();
            let window_ms = if push.channel.contains("@10ms@") {
                10
            } else {
                100
            };
            if push.channel != limit
                && let Some(previous) = last_send.insert(push.channel.clone(), send_time)
            {
                assert!(
                    send_time - previous >= window_ms - WALL_CLOCK_ROUNDING_MS,
                    "{} pushed {} ms after its previous frame",
                    push.channel,
                    send_time - previous
                );
            }
            match push.body.unwrap() {
                Body::PublicAggreDepths(depth) => {
                    let from: u64 = depth.from_version.parse().unwrap();
                    let to: u64 = depth.to_version.parse().unwrap();
                    assert!(from <= to);
                    if let Some(previous) = last_version.insert(push.channel.clone(), to) {
                        assert_eq!(from, previous + 1, "gap on {}", push.channel);
                    }
                    if push.channel == depth_100 {
                        depth_frames += 1;
                    }
                }
                Body::PublicAggreBookTicker(top) => {
                    tickers += 1;
                    for value in [
                        &top.bid_price,
                        &top.bid_quantity,
                        &top.ask_price,
                        &top.ask_quantity,
                    ] {
                        assert!(!value.is_empty() && value != "0", "empty side: {top:?}");
                    }
                }
                Body::PublicLimitDepths(book) => {
                    limits += 1;
                    assert!(
                        !book.bids.is_empty() && !book.asks.is_empty(),
                        "empty side: {book:?}"
                    );
                }
                Body::PublicAggreDeals(trades) => assert!(!trades.deals.is_empty()),
                other => panic!("unexpected push {other:?}"),
            }
        }
        assert!(
            tickers > 0 && limits > 0,
            "tickers {tickers}, limit depth {limits}"
        );
        sim.shutdown().await;
    })
    .await;
}
