//! Stale listen keys as processes: the start deletes the keys a dead process of its instance
//! left behind (recorded in its ledger) and leaves others alone; a full key table (MEXC's
//! 730001) is a clear start error that names the fix, and the fix works.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

mod common;

use std::time::Duration;

use common::{Demo, SLACK, bounded, create_listen_key, fresh_state_dir, wait_until_resting};
use exchange_composite::instance::{InstanceName, ListenKeyLedger};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};

async fn venue_with_key_limit(max_per_account: usize) -> SimVenue {
    let mut config = SimConfig::default();
    config.listen_keys.max_per_account = max_per_account;
    let sim = SimVenue::start(config).await.unwrap();
    sim.pause_market();
    sim
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_deletes_the_keys_its_instance_left_behind_and_no_other() {
    bounded(async {
        let sim = venue_with_key_limit(60).await;
        let dir = fresh_state_dir();
        let ledger = ListenKeyLedger::new(&dir, &InstanceName::new("stale").unwrap());
        let left_behind = create_listen_key(&sim).await;
        let someone_else = create_listen_key(&sim).await;
        ledger.record(&left_behind).unwrap();
        let dir_arg = dir.display().to_string();
        let mut demo = Demo::against(&sim, &["--state-dir", &dir_arg, "--instance", "stale"]);
        wait_until_resting(&sim, &demo).await;
        let keys = sim.listen_keys(DEMO_API_KEY).unwrap();
        assert!(!keys.contains(&left_behind), "the stale key survived");
        assert!(keys.contains(&someone_else), "another's key was deleted");
        assert_eq!(keys.len(), 2, "ours (new) and the other one");
        let stderr = demo.stderr();
        assert!(
            stderr.contains("listen keys a previous run of this instance left behind"),
            "{stderr}"
        );
        assert!(!stderr.contains(&left_behind), "a key in the log");
        // The new key is recorded (by a task following the listen key: waited for, not read
        // at once, as a loaded machine may run it after the orders rest), the deleted one
        // forgotten.
        let deadline = tokio::time::Instant::now() + SLACK;
        let recorded = loop {
            let recorded = ledger.recorded().unwrap();
            if recorded.len() == 1 || tokio::time::Instant::now() >= deadline {
                break recorded;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        assert!(!recorded.contains(&ListenKeyLedger::fingerprint(&left_behind)));
        demo.signal("-INT");
        let (code, _) = demo.exit_within(SLACK * 4).await;
        assert_eq!(code, 0, "{}", demo.stderr());
        assert_eq!(sim.listen_keys(DEMO_API_KEY).unwrap(), [someone_else]);
        assert!(
            ledger.recorded().unwrap().is_empty(),
            "forgotten at the clean stop"
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_key_table_is_a_clear_start_error_naming_the_fix() {
    bounded(async {
        let sim = venue_with_key_limit(2).await;
        create_listen_key(&sim).await;
        create_listen_key(&sim).await;
        let dir = fresh_state_dir();
        let dir_arg = dir.display().to_string();
        let mut demo = Demo::against(&sim, &["--state-dir", &dir_arg, "--start-timeout", "3"]);
        let (code, _) = demo.exit_within(SLACK * 4).await;
        let (stdout, stderr) = (demo.stdout(), demo.stderr());
        assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stderr.contains("730001"), "{stderr}");
        assert!(
            stderr.contains("mm-demo cancel-orphans --delete-all-listen-keys"),
            "the fix is not named:\n{stderr}"
        );
        assert!(sim.open_orders(DEMO_API_KEY).unwrap().is_empty());
        // The fix named: the sweep with --delete-all-listen-keys, then the start works.
        let output = tokio::time::timeout(
            SLACK * 4,
            tokio::process::Command::new(env!("CARGO_BIN_EXE_mm-demo"))
                .args(["cancel-orphans", "--delete-all-listen-keys"])
                .args(["--venue-url", &sim.rest_url(), "--state-dir", &dir_arg])
                .env("MEXC_API_KEY", DEMO_API_KEY)
                .env("MEXC_API_SECRET", DEMO_API_SECRET)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(output.status.success(), "{output:?}");
        assert!(sim.listen_keys(DEMO_API_KEY).unwrap().is_empty());
        let mut demo = Demo::against(&sim, &["--state-dir", &dir_arg]);
        wait_until_resting(&sim, &demo).await;
        demo.signal("-INT");
        let (code, _) = demo.exit_within(SLACK * 4).await;
        assert_eq!(code, 0, "{}", demo.stderr());
        sim.shutdown().await;
    })
    .await;
}
