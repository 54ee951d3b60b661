//! [`serve_guardian`] over in-memory pipes against the in-process venue: the parent's pipe
//! closing makes it cancel our orders only (foreign ones untouched), confirm, and delete the
//! listen key it was told of; a clean word makes it touch nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use common::guardian::{armed_guardian, brief_for};
use common::{bounded, far_bid, place_directly, venue, venue_open_orders};
use exchange_composite::ListenKey;
use exchange_composite::guardian::{GuardianExit, ParentMessage, serve_guardian};
use exchange_sim::DEMO_API_KEY;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipe_s_end_cancels_ours_only_and_deletes_the_listen_key() {
    bounded(async {
        let sim = venue().await;
        sim.pause_market();
        let ours = [
            place_directly(&sim, "grd-a-1", far_bid()),
            place_directly(&sim, "grd-a-2", far_bid()),
        ];
        let foreign = place_directly(&sim, "other-1", far_bid());
        let key = sim_listen_key(&sim).await;
        let (mut to_guardian, _from, task) = armed_guardian(brief_for(&sim, "grd-a-")).await;
        to_guardian
            .write_all(
                ParentMessage::ListenKey(ListenKey::new(Some(key.clone())))
                    .to_line()
                    .as_bytes(),
            )
            .await
            .unwrap();
        // The listen key message is read before the end of the pipe (in order).
        drop(to_guardian);
        let exit = task.await.unwrap();
        assert_eq!(
            exit,
            GuardianExit::Swept {
                found: 2,
                cancelled: 2,
                confirmed: true,
                listen_key_deleted: true
            }
        );
        assert_eq!(exit.code(), 0);
        let open = venue_open_orders(&sim);
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].seq, foreign.seq);
        assert!(ours.iter().all(|o| open[0].seq != o.seq));
        assert!(!sim.listen_keys(DEMO_API_KEY).unwrap().contains(&key));
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_word_leaves_everything_as_it_is() {
    bounded(async {
        let sim = venue().await;
        sim.pause_market();
        place_directly(&sim, "grd-b-1", far_bid());
        let (mut to_guardian, _from, task) = armed_guardian(brief_for(&sim, "grd-b-")).await;
        to_guardian
            .write_all(ParentMessage::Clean.to_line().as_bytes())
            .await
            .unwrap();
        let exit = task.await.unwrap();
        assert_eq!(exit, GuardianExit::ParentEndedCleanly);
        assert_eq!(venue_open_orders(&sim).len(), 1);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_brief_is_a_failure_that_touches_nothing() {
    bounded(async {
        let sim = venue().await;
        sim.pause_market();
        place_directly(&sim, "grd-c-1", far_bid());
        let (mut to_guardian, guardian_in) = tokio::io::duplex(1024);
        let (guardian_out, _from) = tokio::io::duplex(1024);
        let task = tokio::spawn(serve_guardian(guardian_in, guardian_out));
        to_guardian.write_all(b"not json\n").await.unwrap();
        let exit = task.await.unwrap();
        assert!(matches!(exit, GuardianExit::Failed(_)), "{exit:?}");
        assert_eq!(exit.code(), 1);
        assert_eq!(venue_open_orders(&sim).len(), 1);
        sim.shutdown().await;
    })
    .await;
}

/// A listen key of the demo account, created on the venue (REST), as the parent's would be.
async fn sim_listen_key(sim: &exchange_sim::SimVenue) -> String {
    use exchange_rest::{MexcRestClient, MexcRestConfig, RateLimiter, mexc_spot_limits};
    use lifecycle_core::AsyncResource;
    use std::sync::Arc;
    let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("limiter")));
    let client = MexcRestClient::new(
        MexcRestConfig::new(sim.rest_url()).credentials(exchange_rest::Credentials::new(
            DEMO_API_KEY,
            exchange_sim::DEMO_API_SECRET,
        )),
        limiter.clone(),
    )
    .unwrap();
    limiter.start().await.unwrap();
    client.start().await.unwrap();
    let key = client.create_listen_key().await.unwrap();
    let _ = client.stop_within(Duration::from_secs(1)).await;
    let _ = limiter.stop_within(Duration::from_secs(1)).await;
    key
}
