//! The local-book procedure of the protocol file works against the running synthetic market:
//! subscribe to aggregated depth, fetch the REST snapshot, drop pushes already in it, apply the
//! rest with contiguous versions, and end up with exactly the venue's book.
// Test futures hold whole websocket streams; their size is no hot-path concern here.
#![allow(clippy::unwrap_used, clippy::large_futures)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use exchange_sim::{SimConfig, SimVenue};
use mexc_proto::push_data_v3_api_wrapper::Body;
use rust_decimal::Decimal;
use serde_json::Value;

const DEPTH: &str = "spot@public.aggre.depth.v3.api.pb@10ms@HIFIUSDT";

fn levels(value: &Value) -> BTreeMap<Decimal, Decimal> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l[0].as_str().unwrap().parse().unwrap(),
                l[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

fn apply(book: &mut BTreeMap<Decimal, Decimal>, items: &[mexc_proto::PublicAggreDepthV3ApiItem]) {
    for item in items {
        let price: Decimal = item.price.parse().unwrap();
        let quantity: Decimal = item.quantity.parse().unwrap();
        if quantity.is_zero() {
            book.remove(&price);
        } else {
            book.insert(price, quantity);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_book_from_snapshot_and_diffs_matches_the_venue() {
    bounded(async {
        let mut config = SimConfig::default();
        config.market.tick = Duration::from_millis(10);
        let sim = SimVenue::start(config).await.unwrap();
        let client = Client::demo(&sim);
        let mut ws = connect(&sim.ws_url()).await;
        subscribe(&mut ws, &[DEPTH]).await;
        let (_, snapshot) = client.get("/api/v3/depth?symbol=HIFIUSDT&limit=5000").await;
        let last_update_id = snapshot["lastUpdateId"].as_u64().unwrap();
        let (mut bids, mut asks) = (levels(&snapshot["bids"]), levels(&snapshot["asks"]));

        let mut previous_to: Option<u64> = None;
        let mut applied = 0;
        let mut target: Option<u64> = None;
        loop {
            let push = next_push_on(&mut ws, DEPTH).await;
            let Some(Body::PublicAggreDepths(diff)) = push.body else {
                panic!("{push:?}")
            };
            let (from, to): (u64, u64) = (
                diff.from_version.parse().unwrap(),
                diff.to_version.parse().unwrap(),
            );
            if to <= last_update_id {
                continue;
            }
            match previous_to {
                None => assert!(
                    from <= last_update_id + 1,
                    "gap after the snapshot: {from} > {}",
                    last_update_id + 1
                ),
                Some(previous) => assert_eq!(from, previous + 1, "versions not contiguous"),
            }
            previous_to = Some(to);
            apply(&mut bids, &diff.bids);
            apply(&mut asks, &diff.asks);
            applied += 1;
            if applied == 300 && target.is_none() {
                sim.pause_market();
                target = Some(sim.depth("HIFIUSDT", 1).unwrap().version);
            }
            if target.is_some_and(|t| to >= t) {
                break;
            }
        }
        let venue = sim.depth("HIFIUSDT", 5000).unwrap();
        assert_eq!(Some(venue.version), previous_to);
        assert_eq!(bids, venue.bids.into_iter().collect::<BTreeMap<_, _>>());
        assert_eq!(asks, venue.asks.into_iter().collect::<BTreeMap<_, _>>());
        assert!(!bids.is_empty() && !asks.is_empty());
        assert!(bids.keys().next_back().unwrap() < asks.keys().next().unwrap());
        sim.shutdown().await;
    })
    .await;
}
