//! The binary against a venue that fails the way venues do: cancels that fail (503s, a 429
//! storm), placements that fail, slow REST, a shutdown budget a failing venue eats. No cycle
//! quotes while an order of ours is unconfirmed, passing failures are ridden out within a
//! bound, the report counts orders (not error messages), and the later phases of the shutdown
//! keep their share of the budget.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

mod common;

use std::time::Duration;

use common::{
    Demo, Launch, SLACK, assert_nothing_left, bounded, interrupt_and_expect_a_clean_exit,
    still_venue, wait_for_open_orders, wait_until_resting,
};
use exchange_sim::{DEMO_API_KEY, SimConfig, SimVenue};

/// The REST path of placing, cancelling and querying an order.
const ORDER_PATH: &str = "/api/v3/order";

/// Two 503s on a cycle's cancels left its 2 orders open while the next two cycles placed 2
/// more each: the cancels are retried before anything is quoted again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_cancels_are_retried_before_quoting_again() {
    bounded(async {
        let sim = still_venue().await;
        let mut demo = Demo::against(&sim, &["--fill-timeout", "1"]);
        wait_until_resting(&sim, &demo).await;
        // The next two calls on the order path are this cycle's two cancels.
        sim.faults().fail_next_rest(2, 503, Some(ORDER_PATH));
        let most = demo
            .watch_orders_until(&sim, "cycle 3:", Duration::from_secs(60))
            .await;
        assert!(
            most <= 2,
            "{most} orders of ours open at once\n{}",
            demo.stderr()
        );
        let stderr = demo.stderr();
        assert!(stderr.contains("cancel failed: retrying"), "{stderr}");
        assert!(
            stderr.contains("cancel confirmed after retrying"),
            "{stderr}"
        );
        interrupt_and_expect_a_clean_exit(&mut demo, &sim).await;
        sim.shutdown().await;
    })
    .await;
}

/// A cancel that keeps failing halts quoting (said in the log) until the order is confirmed
/// closed; then quoting resumes. Never more than one cycle's orders are open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_that_keeps_failing_halts_quoting_until_it_is_confirmed() {
    bounded(async {
        let sim = still_venue().await;
        let mut demo = Demo::against(&sim, &["--fill-timeout", "1"]);
        wait_until_resting(&sim, &demo).await;
        // Every call on the order path fails (cancels, queries, placements) until cleared.
        sim.faults().fail_next_rest(100_000, 503, Some(ORDER_PATH));
        let watch = async {
            let mut most = 0;
            while !demo.stderr().contains("quoting halted") {
                most = most.max(sim.open_orders(DEMO_API_KEY).unwrap_or_default().len());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            most
        };
        let most = lifecycle_core::testing::within(Duration::from_secs(30), watch).await;
        assert!(most <= 2, "{most} open at once\n{}", demo.stderr());
        assert_eq!(
            sim.open_orders(DEMO_API_KEY).unwrap().len(),
            2,
            "still resting"
        );
        sim.faults().clear();
        demo.wait_for_log("quoting resumed", Duration::from_secs(30))
            .await;
        let most = demo
            .watch_orders_until(&sim, "cycle 2:", Duration::from_secs(30))
            .await;
        assert!(most <= 2, "{most} open at once\n{}", demo.stderr());
        interrupt_and_expect_a_clean_exit(&mut demo, &sim).await;
        sim.shutdown().await;
    })
    .await;
}

/// A single 503 on placing an order, or a burst of 429s, ended a `--cycles 0` run with exit 1:
/// a long-running quoter rides them out (logged) and goes on quoting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passing_venue_failures_are_ridden_out() {
    bounded(async {
        let sim = SimVenue::start(SimConfig::default()).await.unwrap();
        // The first call on the order path is the first cycle's first placement.
        sim.faults().fail_next_rest(1, 503, Some(ORDER_PATH));
        let mut demo = Demo::against(&sim, &["--fill-timeout", "0.5"]);
        demo.wait_for_output("cycle 1:", Duration::from_secs(60))
            .await;
        assert!(
            demo.stderr().contains("riding it out"),
            "the 503 was met and ridden out:\n{}",
            demo.stderr()
        );
        // Then about 3 s of 429s on every call (each answers Retry-After: 1).
        sim.faults().fail_next_rest(3, 429, None);
        demo.wait_for_log("rate limited by the venue", Duration::from_secs(30))
            .await;
        demo.wait_for_output("cycle 4:", Duration::from_secs(60))
            .await;
        assert!(demo.is_running());
        interrupt_and_expect_a_clean_exit(&mut demo, &sim).await;
        sim.shutdown().await;
    })
    .await;
}

/// Riding out has a bound: a venue that keeps failing ends the run after `--max-outage`,
/// with a clear line, its report and nothing left open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_that_keeps_failing_ends_the_run_after_max_outage() {
    bounded(async {
        let sim = SimVenue::start(SimConfig::default()).await.unwrap();
        sim.faults().fail_next_rest(100_000, 503, Some(ORDER_PATH));
        let mut demo = Demo::against(&sim, &["--max-outage", "2"]);
        demo.wait_for_log("riding it out", Duration::from_secs(30))
            .await;
        let (code, took) = demo.exit_within(Duration::from_secs(30)).await;
        let (stdout, stderr) = (demo.stdout(), demo.stderr());
        assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(took < Duration::from_secs(2) + SLACK, "took {took:?}");
        assert!(
            stderr.contains("the venue kept failing for longer than --max-outage"),
            "{stderr}"
        );
        assert!(stdout.contains("the venue kept failing for"), "{stdout}");
        sim.faults().clear();
        assert_nothing_left(&sim, &demo);
        sim.shutdown().await;
    })
    .await;
}

/// With 3 s of REST latency, Ctrl-C exited 1 and warned "1 order(s) may still be open" though
/// the sweep had cancelled both: the "1" counted an error message. Orders are counted, and
/// an acknowledged cancel is a confirmation; with the default budget it now exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_rest_at_ctrl_c_counts_orders_not_errors() {
    bounded(async {
        let sim = still_venue().await;
        let json = std::env::temp_dir().join(format!("mm-demo-slow-{}.json", std::process::id()));
        let mut demo = Demo::against(&sim, &["--report-json", json.to_str().unwrap()]);
        wait_until_resting(&sim, &demo).await;
        sim.faults().delay_rest(Duration::from_secs(3));
        demo.signal("-INT");
        let (code, _) = demo.exit_within(Duration::from_secs(30)).await;
        let stdout = demo.stdout();
        sim.faults().clear();
        assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{}", demo.stderr());
        assert!(!stdout.contains("may still be open"), "{stdout}");
        assert!(
            stdout.contains("orders cancelled at shutdown 2, unconfirmed 0"),
            "{stdout}"
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        std::fs::remove_file(&json).unwrap();
        assert_eq!(report["orders_possibly_open"], 0);
        assert_eq!(report["totals"]["orders_unconfirmed"], 0);
        assert_nothing_left(&sim, &demo);
        sim.shutdown().await;
    })
    .await;
}

/// The application's grace was a fixed 2 s, shorter than one slow REST call: `--app-grace`
/// sets it. A signal that comes while a placement is under way with 3 s of latency: a grace
/// of 1 s cuts the cycle short (a failure, and the sweep still leaves nothing), a grace of
/// 6 s lets it land and the run exits 0, the unused grace going back to the sweep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_grace_is_configurable_and_what_it_leaves_goes_to_the_sweep() {
    bounded(async {
        let (short_sim, long_sim) = (still_venue().await, still_venue().await);
        // The budget holds the sweep's wait for the abandoned placement, which the venue may
        // still carry out within its window (recvWindow + 1 s), at 3 s a call, and the
        // listen key's deletion after it.
        let budget = ["--shutdown-budget", "20", "--fill-timeout", "0.2"];
        let mut short = Launch::against(&short_sim, &budget);
        short
            .args
            .extend(["--app-grace".to_owned(), "1".to_owned()]);
        let mut long = Launch::against(&long_sim, &budget);
        long.args.extend(["--app-grace".to_owned(), "6".to_owned()]);
        let (mut short, mut long) = (short.spawn(), long.spawn());
        for (demo, sim) in [(&short, &short_sim), (&long, &long_sim)] {
            // Once cycle 1's orders rest, every call from now on takes 3 s, so cycle 2's
            // placement (which begins after cycle 1's delayed cancels) is slow for certain.
            // (Counting "to=quoting" lines raced the pipe reader: a line of a placement made
            // before the delay could arrive after it, and the signal then found no call under
            // way.)
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while !demo
                .stderr()
                .contains("cycle{cycle=1}: market maker state from=quoting to=awaiting fills")
            {
                assert!(tokio::time::Instant::now() < deadline, "{}", demo.stderr());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            sim.faults().delay_rest(Duration::from_secs(3));
            while !demo
                .stderr()
                .contains("cycle{cycle=2}: market maker state from=reading book to=quoting")
            {
                assert!(tokio::time::Instant::now() < deadline, "{}", demo.stderr());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            demo.signal("-INT");
        }
        let (code, _) = short.exit_within(Duration::from_secs(30)).await;
        let stdout = short.stdout();
        assert_eq!(
            code,
            1,
            "cut short: a failure\n{stdout}\n{}",
            short.stderr()
        );
        assert!(
            stdout.contains("did not finish within its grace period"),
            "{stdout}"
        );
        assert!(!stdout.contains("may still be open"), "{stdout}");
        let (code, _) = long.exit_within(Duration::from_secs(30)).await;
        let stdout = long.stdout();
        assert_eq!(code, 0, "{stdout}\n{}", long.stderr());
        assert!(!stdout.contains("grace period"), "{stdout}");
        for (demo, sim) in [(&short, &short_sim), (&long, &long_sim)] {
            sim.faults().clear();
            assert_nothing_left(sim, demo);
        }
        short_sim.shutdown().await;
        long_sim.shutdown().await;
    })
    .await;
}

/// With `--shutdown-budget 4` and failing cancels the sweep gave up after 1.98 s with 2 s
/// unused, and the listen key was never deleted. The sweep now keeps trying for its whole
/// share, and the later phases keep theirs: the listen key is deleted, REST and the limiter
/// stop cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sweep_uses_its_share_and_leaves_the_later_phases_theirs() {
    bounded(async {
        let sim = still_venue().await;
        let json = std::env::temp_dir().join(format!("mm-demo-sweep-{}.json", std::process::id()));
        let mut demo = Demo::against(
            &sim,
            &[
                "--shutdown-budget",
                "4",
                "--report-json",
                json.to_str().unwrap(),
            ],
        );
        wait_until_resting(&sim, &demo).await;
        wait_for_open_orders(&sim, 2, &demo).await;
        // Every cancel fails from now on.
        sim.faults().fail_next_rest(100_000, 503, Some(ORDER_PATH));
        demo.signal("-INT");
        let (code, took) = demo.exit_within(Duration::from_secs(30)).await;
        let stdout = demo.stdout();
        assert_eq!(code, 1, "orders not confirmed: a failure\n{stdout}");
        assert!(took < Duration::from_secs(4) + SLACK, "took {took:?}");
        assert!(
            stdout.contains("2 order(s) of ours may still be open"),
            "{stdout}"
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        std::fs::remove_file(&json).unwrap();
        let resources: Vec<&serde_json::Value> = report["run"]["report"]["phases"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|phase| phase["resources"].as_array().unwrap())
            .collect();
        let find = |name: &str| {
            *resources
                .iter()
                .find(|r| r["name"] == name)
                .unwrap_or_else(|| panic!("no {name} in {resources:?}"))
        };
        // The sweep kept trying for most of the budget: what it leaves is the later phases'.
        let private = find("mexc.private");
        let sweep = &private["report"]["details"]["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["component"] == "mexc.private.orders")
            .unwrap()["duration"];
        let sweep_ms =
            sweep["secs"].as_f64().unwrap() * 1e3 + sweep["nanos"].as_f64().unwrap() / 1e6;
        // Of 4 s: the later phases keep 5% each (15%), the private socket 5% of the rest, the
        // report's hand-over a little: the sweep's share is about 3.2 s, and it used it.
        assert!(
            sweep_ms >= 2_800.0,
            "the sweep stopped after {sweep_ms} ms\n{stdout}"
        );
        // The later phases were not starved.
        for name in ["mexc.public", "rest.mexc", "rate_limiter.mexc"] {
            let outcome = &find(name)["outcome"];
            assert_eq!(outcome, "Clean", "{name}: {outcome}\n{stdout}");
        }
        assert!(
            sim.listen_keys(DEMO_API_KEY).unwrap().is_empty(),
            "the listen key was deleted\n{stdout}"
        );
        sim.faults().clear();
        sim.shutdown().await;
    })
    .await;
}
