//! A clean word while the order guardian's REST client is still starting, read from the log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use common::guardian::{armed_guardian, brief_for};
use common::{bounded, venue};
use exchange_composite::guardian::{GuardianExit, ParentMessage};
use tokio::io::AsyncWriteExt;

/// A clean word while the guardian's REST client is still starting (its first clock sync held
/// by a slow venue): the start is driven alongside the stop, gives up at once, and is not
/// overridden. (Left unpolled during the stop, it held the guardian's exit ~1 s and logged
/// "stop overrode a start"; seen under load in mm-demo's signal-during-start test.)
#[test]
#[tracing_test::traced_test]
fn a_clean_word_during_the_client_s_start_ends_it_at_once() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let exit = runtime.block_on(bounded(async {
        let sim = venue().await;
        sim.pause_market();
        sim.faults().delay_rest(Duration::from_secs(30));
        let (mut to_guardian, _from, task) = armed_guardian(brief_for(&sim, "grd-d-")).await;
        to_guardian
            .write_all(ParentMessage::Clean.to_line().as_bytes())
            .await
            .unwrap();
        let exit = task.await.unwrap();
        sim.faults().clear();
        sim.shutdown().await;
        exit
    }));
    let text = test_support::captured_logs!();
    assert_eq!(exit, GuardianExit::ParentEndedCleanly, "{text}");
    assert!(text.contains("the parent ended cleanly"), "{text}");
    assert!(!text.contains("stop overrode a start"), "{text}");
    assert!(!text.contains("outcome=failed"), "{text}");
}
