//! The binary as a process, on every exit path an operator can trigger: the default run;
//! SIGINT, SIGTERM, SIGHUP and SIGQUIT while orders rest (zero orders and no listen key left,
//! the report printed, exit 0); a second signal (forced, listing what it abandoned); a venue
//! that stops answering; a signal during start (exit 0); a failing cycle; a closed stdout or
//! stderr; a venue whose prices would overflow the strategy's arithmetic.
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
    Demo, HELD_UP_SHUTDOWN, Launch, SLACK, Sink, assert_nothing_left, bounded,
    force_the_exit_mid_sweep, interrupt_and_expect_a_clean_exit, still_venue, wait_until_resting,
};
use exchange_sim::{SimConfig, SimVenue};
use mexc_proto::prost::Message;
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_run_exits_0_with_a_report() {
    bounded(async {
        let json = std::env::temp_dir().join(format!("mm-demo-report-{}.json", std::process::id()));
        let mut demo = Demo::start(&[
            "--fill-timeout",
            "1",
            "--report-json",
            json.to_str().unwrap(),
        ]);
        let (code, _) = demo.exit_within(Duration::from_secs(60)).await;
        let stdout = demo.stdout();
        assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{}", demo.stderr());
        assert!(stdout.contains("cycle 1: mid"), "{stdout}");
        assert!(stdout.contains("shutdown of mexc: clean"), "{stdout}");
        assert!(stdout.contains("└ mexc.private.orders"), "{stdout}");
        // Progress was visible while it ran.
        assert!(
            demo.stderr().contains("to=awaiting fills"),
            "{}",
            demo.stderr()
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        std::fs::remove_file(&json).unwrap();
        assert_eq!(report["exit_code"], 0);
        assert_eq!(report["run"]["status"], "Clean");
        assert_eq!(report["cycles"]["totals"]["completed"], 1);
        assert_eq!(report["cycles"]["totals"]["orders"], 2);
        assert_eq!(report["cycles"]["recent"].as_array().unwrap().len(), 1);
        assert_eq!(report["cycles"]["recent"][0]["buy"]["closed"], true);
        assert_eq!(report["orders_possibly_open"], 0);
        assert!(report["run"]["report"]["phases"].as_array().unwrap().len() >= 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_orders_rest_leaves_zero_open_orders() {
    bounded(async {
        let sim = still_venue().await;
        let mut demo = Demo::against(&sim, &[]);
        wait_until_resting(&sim, &demo).await;
        let (stdout, took) = interrupt_and_expect_a_clean_exit(&mut demo, &sim).await;
        assert!(took < Duration::from_secs(10), "took {took:?}");
        assert!(stdout.contains("(interrupted)"), "{stdout}");
        assert!(stdout.contains("SIGINT received"), "{stdout}");
        assert!(
            stdout.contains("orders cancelled at shutdown 2, unconfirmed 0"),
            "{stdout}"
        );
        sim.shutdown().await;
    })
    .await;
}

/// SIGHUP (a closed terminal, a dropped ssh session) and SIGQUIT killed the process within
/// 3 ms with both orders left open and no report: they now stop in order like SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_sigquit_with_resting_orders_stop_in_order_and_exit_0() {
    bounded(async {
        let (hup_sim, quit_sim) = (still_venue().await, still_venue().await);
        let mut hup = Demo::against(&hup_sim, &[]);
        let mut quit = Demo::against(&quit_sim, &[]);
        wait_until_resting(&hup_sim, &hup).await;
        wait_until_resting(&quit_sim, &quit).await;
        hup.signal("-HUP");
        quit.signal("-QUIT");
        for (demo, sim, name) in [
            (&mut hup, &hup_sim, "SIGHUP"),
            (&mut quit, &quit_sim, "SIGQUIT"),
        ] {
            let (code, took) = demo.exit_within(Duration::from_secs(20)).await;
            let stdout = demo.stdout();
            assert_eq!(
                code,
                0,
                "{name}\nstdout:\n{stdout}\nstderr:\n{}",
                demo.stderr()
            );
            assert!(took < Duration::from_secs(10), "{name} took {took:?}");
            assert!(stdout.contains(&format!("{name} received")), "{stdout}");
            assert!(stdout.contains("shutdown of mexc: clean"), "{stdout}");
            assert!(
                stdout.contains("orders cancelled at shutdown 2, unconfirmed 0"),
                "{stdout}"
            );
            assert_nothing_left(sim, demo);
        }
        hup_sim.shutdown().await;
        quit_sim.shutdown().await;
    })
    .await;
}

/// A forced exit printed "abandoned while stopping:" followed by an empty list: it lists
/// every component still stopping, and those whose stop had not begun.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_forces_the_exit_and_lists_what_was_abandoned() {
    bounded(async {
        let sim = still_venue().await;
        let mut demo = Demo::against(&sim, &HELD_UP_SHUTDOWN);
        // The venue stops answering: the orderly shutdown cannot finish on its own.
        force_the_exit_mid_sweep(&sim, &demo, "-INT").await;
        let (code, took) = demo.exit_within(Duration::from_secs(10)).await;
        let stdout = demo.stdout();
        assert_eq!(code, 3, "stdout:\n{stdout}\nstderr:\n{}", demo.stderr());
        assert!(
            took < Duration::from_secs(3),
            "a forced exit is immediate, took {took:?}"
        );
        let listed = stdout
            .split("abandoned while stopping:")
            .nth(1)
            .unwrap_or_else(|| panic!("no list of what was abandoned:\n{stdout}"));
        let listed: Vec<&str> = listed
            .lines()
            .skip(1)
            .take_while(|line| line.starts_with("  "))
            .collect();
        assert!(
            listed
                .iter()
                .any(|line| line.contains("mexc.private") && line.contains("stopping for")),
            "the order sweep under way is listed:\n{stdout}"
        );
        assert!(
            listed
                .iter()
                .any(|line| line.contains("mexc.public") && line.contains("had not begun")),
            "the components not yet stopping are listed:\n{stdout}"
        );
        assert!(
            stdout.contains("2 order(s) of ours may still be open"),
            "{stdout}"
        );
        sim.faults().clear();
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_that_stops_answering_still_lets_the_process_exit_in_time() {
    bounded(async {
        let sim = still_venue().await;
        let mut demo = Demo::against(&sim, &["--shutdown-budget", "3"]);
        wait_until_resting(&sim, &demo).await;
        sim.faults().stall_connections(true);
        demo.signal("-TERM");
        // Budget 3 s (+ the watchdog's 2 s slack at most, + process teardown).
        let (code, took) = demo.exit_within(Duration::from_secs(15)).await;
        let stdout = demo.stdout();
        assert!(took < Duration::from_secs(6), "took {took:?}\n{stdout}");
        assert_eq!(
            code,
            1,
            "an unclean shutdown exits 1\nstdout:\n{stdout}\nstderr:\n{}",
            demo.stderr()
        );
        assert!(
            stdout.contains("not confirmed cancelled"),
            "the report names the orders:\n{stdout}"
        );
        assert!(
            stdout.contains("2 order(s) of ours may still be open"),
            "{stdout}"
        );
        sim.faults().clear();
        sim.shutdown().await;
    })
    .await;
}

/// Ctrl-C during start exited 1, though a signal that stops everything cleanly exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_during_start_stops_what_started_and_exits_0() {
    bounded(async {
        let sim = still_venue().await;
        // REST answers slowly: the start is still loading markets when the signal comes.
        sim.faults().delay_rest(Duration::from_secs(30));
        let mut demo = Demo::against(&sim, &["--shutdown-budget", "3"]);
        demo.wait_for_log("starting exchanges", Duration::from_secs(10))
            .await;
        demo.signal("-INT");
        let (code, took) = demo.exit_within(Duration::from_secs(15)).await;
        let stdout = demo.stdout();
        assert_eq!(
            code,
            0,
            "a clean stop during start exits 0\nstdout:\n{stdout}\nstderr:\n{}",
            demo.stderr()
        );
        // Every start under way gave up at once: none had to be overridden after waiting out
        // half its share of the budget.
        assert!(took < SLACK, "took {took:?}");
        assert!(stdout.contains("SIGINT received"), "{stdout}");
        assert!(
            !demo.stderr().contains("stop overrode a start"),
            "{}",
            demo.stderr()
        );
        sim.faults().clear();
        assert_nothing_left(&sim, &demo);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_cycle_exits_1_with_a_report_and_no_order_left() {
    bounded(async {
        // An account with quote currency but no base: the buy rests, the sell is refused for
        // insufficient funds (a failure no retry fixes).
        let (key, secret) = ("mx0vglPOORACCOUNT0001", "00112233445566778899aabbccddeeff");
        let mut config = SimConfig::default();
        config.accounts.push(
            exchange_sim::AccountConfig::new(key, secret)
                .with_balances([("USDT", rust_decimal::Decimal::from(100))]),
        );
        let sim = SimVenue::start(config).await.unwrap();
        let rest = sim.rest_url();
        let mut launch = Launch::new(&["--venue-url", rest.as_str()]);
        launch
            .env("MEXC_API_KEY", key)
            .env("MEXC_API_SECRET", secret);
        let mut demo = launch.spawn();
        let (code, _) = demo.exit_within(Duration::from_secs(30)).await;
        let stdout = demo.stdout();
        assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{}", demo.stderr());
        assert!(stdout.contains("insufficient funds"), "{stdout}");
        assert!(
            stdout.contains("shutdown of mexc: clean"),
            "the shutdown itself was clean:\n{stdout}"
        );
        assert!(
            sim.open_orders(key).unwrap().is_empty(),
            "the resting buy was cancelled"
        );
        assert!(sim.listen_keys(key).unwrap().is_empty());
        sim.shutdown().await;
    })
    .await;
}

/// `mm-demo | head -1`, or a log shipper that dies: the next write to stdout panicked (exit
/// 101) and the listen key leaked. A closed stdout or stderr is now logged once (if stderr
/// still works) and ignored; the run and its shutdown go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_or_stderr_is_not_a_crash() {
    bounded(async {
        let (sim, quiet_sim) = (
            SimVenue::start(SimConfig::default()).await.unwrap(),
            SimVenue::start(SimConfig::default()).await.unwrap(),
        );
        let launch =
            |sim: &SimVenue| Launch::against(sim, &["--cycles", "2", "--fill-timeout", "0.5"]);
        let mut no_stdout = launch(&sim);
        no_stdout.stdout = Sink::Closed;
        let mut no_output = launch(&quiet_sim);
        no_output.stdout = Sink::Closed;
        no_output.stderr = Sink::Closed;
        let (mut no_stdout, mut no_output) = (no_stdout.spawn(), no_output.spawn());

        let (code, _) = no_stdout.exit_within(Duration::from_secs(60)).await;
        let stderr = no_stdout.stderr();
        assert_eq!(code, 0, "stderr:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(
            stderr.matches("stdout cannot be written").count(),
            1,
            "logged once:\n{stderr}"
        );
        // Both cycles ran although the first one's output could not be written.
        assert!(stderr.contains("cycle=2"), "{stderr}");
        assert_nothing_left(&sim, &no_stdout);

        let (code, _) = no_output.exit_within(Duration::from_secs(60)).await;
        assert_eq!(code, 0, "no stdout and no stderr either");
        assert_nothing_left(&quiet_sim, &no_output);
        sim.shutdown().await;
        quiet_sim.shutdown().await;
    })
    .await;
}

/// A book ticker frame of `HIFIUSDT` quoting `bid` / `ask`.
fn ticker_frame(bid: &str, ask: &str) -> bytes::Bytes {
    use mexc_proto::push_data_v3_api_wrapper::Body;
    let frame = mexc_proto::PushDataV3ApiWrapper {
        channel: "spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT".into(),
        symbol: Some("HIFIUSDT".into()),
        send_time: Some(1_736_412_092_433),
        body: Some(Body::PublicAggreBookTicker(
            mexc_proto::PublicAggreBookTickerV3Api {
                bid_price: bid.into(),
                bid_quantity: "1".into(),
                ask_price: ask.into(),
                ask_quantity: "1".into(),
                ..Default::default()
            },
        )),
        ..Default::default()
    };
    frame.encode_to_vec().into()
}

/// A venue quoting bid 7e28 / ask 7.9e28 made the mid-price addition overflow: exit 101, no
/// sweep, no report, listen key left. Such prices are now refused where they arrive (a typed
/// error, counted and logged), the strategy's arithmetic is checked, and the run ends as a
/// failure with its orderly shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_quoting_beyond_the_decimal_range_is_refused_not_a_panic() {
    bounded(async {
        // No synthetic quotes: the book is empty, so the pushed ticker is all there is.
        let mut config = SimConfig::paused();
        config.market.levels = 0;
        let sim = SimVenue::start(config).await.unwrap();
        let mut demo = Demo::against(&sim, &["--max-outage", "2", "--fill-timeout", "1"]);
        demo.wait_for_log("to=reading book", Duration::from_secs(30))
            .await;
        let frame = ticker_frame(
            "70000000000000000000000000000",
            "79000000000000000000000000000",
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while demo.is_running() {
            sim.faults().push_raw_frame(frame.clone());
            assert!(Instant::now() < deadline, "{}", demo.stderr());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (code, _) = demo.exit_within(Duration::from_secs(5)).await;
        let (stdout, stderr) = (demo.stdout(), demo.stderr());
        assert_eq!(
            code, 1,
            "a failure, not a panic\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("out of range"), "{stderr}");
        assert!(stdout.contains("the venue kept failing"), "{stdout}");
        assert!(stdout.contains("shutdown of mexc: clean"), "{stdout}");
        assert_nothing_left(&sim, &demo);
        sim.shutdown().await;
    })
    .await;
}
