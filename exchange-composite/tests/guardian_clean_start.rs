//! A clean word while the order guardian's REST client is still starting: in a test binary of
//! its own, because it reads the log, and tracing's per-callsite interest cache can miss a
//! thread's scoped subscriber while other tests of the same binary run in parallel.
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
fn a_clean_word_during_the_client_s_start_ends_it_at_once() {
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || Sink(sink.clone()))
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let exit = tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(bounded(async {
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
        }))
    });
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert_eq!(exit, GuardianExit::ParentEndedCleanly, "{text}");
    assert!(text.contains("the parent ended cleanly"), "{text}");
    assert!(!text.contains("stop overrode a start"), "{text}");
    assert!(!text.contains("outcome=failed"), "{text}");
}

/// A log sink for the test above.
struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
