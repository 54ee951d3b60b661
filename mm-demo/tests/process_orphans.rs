//! `mm-demo cancel-orphans` as a process against the in-process venue: ours cancelled and
//! confirmed, foreign orders untouched, the instance's recorded listen keys deleted and others
//! kept (exit 0); an order that cannot be confirmed (exit 1); refused while the instance
//! runs; the backstop after a SIGKILL with no guardian.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

mod common;

use std::path::Path;

use common::{
    Demo, SLACK, bounded, create_listen_key, fresh_state_dir, still_venue, wait_until_resting,
};
use exchange_composite::instance::{InstanceName, ListenKeyLedger};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, NewOrder, Side, SimVenue};
use rust_decimal::Decimal;

/// The instance of these tests: its prefix is `mm-orphan-`.
const INSTANCE: &str = "orphan";

/// Runs `mm-demo cancel-orphans` against `sim` with `state_dir`; returns the exit code and
/// stdout.
async fn cancel_orphans(sim: &SimVenue, state_dir: &Path, extra: &[&str]) -> (i32, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mm-demo"));
    command
        .arg("cancel-orphans")
        .args(["--venue-url", &sim.rest_url()])
        .args(["--state-dir", &state_dir.display().to_string()])
        .args(["--instance", INSTANCE])
        .args(extra)
        .env_remove("RUST_LOG")
        .env("MEXC_API_KEY", DEMO_API_KEY)
        .env("MEXC_API_SECRET", DEMO_API_SECRET)
        .kill_on_drop(true);
    let output = tokio::time::timeout(SLACK * 4, command.output())
        .await
        .expect("cancel-orphans did not finish")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!stdout.contains(DEMO_API_SECRET) && !stderr.contains(DEMO_API_SECRET));
    (
        output.status.code().unwrap_or(-1),
        format!("{stdout}\n--- stderr:\n{stderr}"),
    )
}

fn place(sim: &SimVenue, client_order_id: &str) {
    let mut order = NewOrder::limit("HIFIUSDT", Side::Buy, Decimal::new(5, 2), Decimal::from(30));
    order.client_order_id = Some(client_order_id.to_owned());
    sim.place_order(DEMO_API_KEY, &order).unwrap();
}

fn ledger(state_dir: &Path) -> ListenKeyLedger {
    ListenKeyLedger::new(state_dir, &InstanceName::new(INSTANCE).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_are_cancelled_foreign_ones_untouched_recorded_keys_deleted() {
    bounded(async {
        let sim = still_venue().await;
        let dir = fresh_state_dir();
        place(&sim, "mm-orphan-old-1");
        place(&sim, "mm-orphan-old-2");
        place(&sim, "foreign-1");
        place(&sim, "mm-orphanX-1");
        let ours = create_listen_key(&sim).await;
        let theirs = create_listen_key(&sim).await;
        ledger(&dir).record(&ours).unwrap();
        let (code, out) = cancel_orphans(&sim, &dir, &[]).await;
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("orders of ours: 2 found open, 2 cancelled, confirmed"),
            "{out}"
        );
        assert!(
            out.contains(
                "listen keys: 1 deleted, 0 not deleted, 0 recorded gone already, 1 not ours kept"
            ),
            "{out}"
        );
        assert!(
            !out.contains(&ours) && !out.contains(&theirs),
            "a key shown: {out}"
        );
        let mut left: Vec<String> = sim
            .open_orders(DEMO_API_KEY)
            .unwrap()
            .into_iter()
            .filter_map(|o| o.client_order_id)
            .collect();
        left.sort();
        assert_eq!(left, ["foreign-1", "mm-orphanX-1"]);
        assert_eq!(sim.listen_keys(DEMO_API_KEY).unwrap(), [theirs]);
        assert!(ledger(&dir).recorded().unwrap().is_empty());
        // --prefix names another prefix; --delete-all-listen-keys every key.
        let (code, out) = cancel_orphans(
            &sim,
            &dir,
            &["--prefix", "foreign-", "--delete-all-listen-keys"],
        )
        .await;
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("1 found open, 1 cancelled"), "{out}");
        assert!(sim.listen_keys(DEMO_API_KEY).unwrap().is_empty(), "{out}");
        assert_eq!(sim.open_orders(DEMO_API_KEY).unwrap().len(), 1);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_that_cannot_be_confirmed_exits_1_and_is_named() {
    bounded(async {
        let sim = still_venue().await;
        let dir = fresh_state_dir();
        place(&sim, "mm-orphan-stuck-1");
        // Every cancel fails (the listing still works): the order stays open.
        sim.faults()
            .fail_next_rest(10_000, 503, Some("/api/v3/order"));
        let (code, out) = cancel_orphans(&sim, &dir, &["--sweep-timeout", "1"]).await;
        sim.faults().clear();
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("NOT confirmed: 1 may still be open"), "{out}");
        assert!(out.contains("client id mm-orphan-stuck-1"), "{out}");
        assert_eq!(sim.open_orders(DEMO_API_KEY).unwrap().len(), 1);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_while_the_instance_runs_then_the_backstop_after_a_sigkill() {
    bounded(async {
        let sim = still_venue().await;
        let dir = fresh_state_dir();
        let dir_arg = dir.display().to_string();
        // No guardian: the SIGKILL leaves the orders and the key, as after a kill of the
        // whole process group (systemd's final SIGKILL).
        let mut demo = Demo::against(
            &sim,
            &[
                "--state-dir",
                &dir_arg,
                "--instance",
                INSTANCE,
                "--no-guardian",
            ],
        );
        wait_until_resting(&sim, &demo).await;
        let (code, out) = cancel_orphans(&sim, &dir, &[]).await;
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("already runs on this machine"), "{out}");
        assert_eq!(sim.open_orders(DEMO_API_KEY).unwrap().len(), 2);
        demo.signal("-KILL");
        let (code, _) = demo.exit_within(SLACK).await;
        assert_eq!(code, -1);
        assert_eq!(sim.open_orders(DEMO_API_KEY).unwrap().len(), 2);
        assert_eq!(sim.listen_keys(DEMO_API_KEY).unwrap().len(), 1);
        assert_eq!(
            ledger(&dir).recorded().unwrap().len(),
            1,
            "the key was recorded"
        );
        let (code, out) = cancel_orphans(&sim, &dir, &[]).await;
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("2 found open, 2 cancelled, confirmed"),
            "{out}"
        );
        assert!(out.contains("listen keys: 1 deleted"), "{out}");
        assert!(sim.open_orders(DEMO_API_KEY).unwrap().is_empty());
        assert!(sim.listen_keys(DEMO_API_KEY).unwrap().is_empty());
        sim.shutdown().await;
    })
    .await;
}
