//! Starting and stopping the venue: bounded stop with close frames, no leaked tasks, the
//! drop safety net, the synthetic market, and the standalone binary.
// Test futures hold whole websocket streams; their size is no hot-path concern here.
#![allow(clippy::unwrap_used, clippy::large_futures)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use exchange_sim::{DEMO_API_KEY, NewOrder, SimConfig, SimVenue};
use rust_decimal::Decimal;

const DEPTH: &str = "spot@public.aggre.depth.v3.api.pb@100ms@HIFIUSDT";

/// Waits until the demo account has no open order left (the market filled them).
async fn no_open_order_left(sim: &SimVenue) {
    eventually(SETTLE, "no open order", || {
        sim.open_orders(DEMO_API_KEY).unwrap().is_empty()
    })
    .await;
}

#[tokio::test]
async fn stop_closes_listener_sockets_and_tasks() {
    bounded(async {
        let sim = SimVenue::start(SimConfig::default()).await.unwrap();
        let addr = sim.local_addr();
        let mut a = connect(&sim.ws_url()).await;
        let mut b = connect(&sim.ws_url()).await;
        subscribe(&mut a, &[DEPTH]).await;
        subscribe(&mut b, &[DEPTH]).await;
        // A stalled connection and a delayed REST call must not hold the stop up either.
        sim.faults().delay_rest(Duration::from_secs(30));
        let slow = tokio::spawn(test_support::get(format!("{}/api/v3/time", sim.rest_url())));
        eventually(SETTLE, "the venue's tasks", || sim.running_tasks() >= 5).await;
        let report = sim.stop_within(Duration::from_secs(1)).await;
        assert!(report.elapsed < Duration::from_secs(1), "{report:?}");
        assert_eq!(report.aborted, 0, "{report:?}");
        assert!(report.stopped >= 5, "{report:?}");
        assert_eq!(sim.running_tasks(), 0);
        assert_eq!(close_code(&mut a).await, Some(1001));
        assert_eq!(close_code(&mut b).await, Some(1001));
        let slow = slow.await.unwrap();
        assert!(
            slow.is_err() || slow.unwrap().status() == reqwest::StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "listener still open"
        );
        // Idempotent.
        let again = sim.stop_within(Duration::from_millis(100)).await;
        assert_eq!((again.stopped, again.aborted), (0, 0));
    })
    .await;
}

#[tokio::test]
async fn stop_with_stalled_websocket_is_bounded() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let mut ws = connect(&sim.ws_url()).await;
        subscribe(&mut ws, &[DEPTH]).await;
        sim.faults().stall_connections(true);
        let report = sim.shutdown().await;
        assert!(report.elapsed < Duration::from_secs(1), "{report:?}");
        assert_eq!(close_code(&mut ws).await, Some(1001));
    })
    .await;
}

#[tokio::test]
async fn dropping_the_handle_aborts_everything() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let addr = sim.local_addr();
        let mut ws = connect(&sim.ws_url()).await;
        subscribe(&mut ws, &[DEPTH]).await;
        drop(sim);
        assert_eq!(
            close_code(&mut ws).await,
            None,
            "aborted, so no close frame"
        );
        eventually(SETTLE, "the listener to close", || {
            std::net::TcpStream::connect(addr).is_err()
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn synthetic_market_fills_a_resting_order_near_the_touch() {
    bounded(async {
        let mut config = SimConfig::default();
        config.market.tick = Duration::from_millis(20);
        config.market.max_step_bps = 1;
        config.market.taker_probability = 1.0;
        config.market.seed = 7;
        let sim = SimVenue::start(config).await.unwrap();
        let depth = sim.depth("HIFIUSDT", 1).unwrap();
        let (best_bid, _) = depth.bids[0];
        let price = best_bid + Decimal::new(1, 5);
        let order = NewOrder::limit(
            "HIFIUSDT",
            exchange_sim::Side::Buy,
            price,
            Decimal::from(100),
        );
        let placed = sim.place_order(DEMO_API_KEY, &order).unwrap();
        no_open_order_left(&sim).await;
        let hifi = sim.balances(DEMO_API_KEY).unwrap()["HIFI"];
        assert!(
            hifi.free > Decimal::from(1_000_000),
            "order {} did not buy: {hifi:?}",
            placed.id()
        );
        sim.check_invariants().unwrap();
        // The market keeps a two-sided book.
        let depth = sim.depth("HIFIUSDT", 5).unwrap();
        assert!(!depth.bids.is_empty() && !depth.asks.is_empty());
        assert!(depth.bids[0].0 < depth.asks[0].0);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_market_fills_orders_at_the_touch_within_seconds() {
    bounded(async {
        let sim = SimVenue::start(SimConfig::default()).await.unwrap();
        // Placed while the market stands still, so none of them fills before it is counted.
        sim.pause_market();
        for (symbol, quantity) in [
            ("HIFIUSDT", Decimal::from(21)),
            ("BTCUSDT", Decimal::new(1, 3)),
        ] {
            let depth = sim.depth(symbol, 1).unwrap();
            for (side, price) in [
                (exchange_sim::Side::Buy, depth.bids[0].0),
                (exchange_sim::Side::Sell, depth.asks[0].0),
            ] {
                sim.place_order(
                    DEMO_API_KEY,
                    &NewOrder::limit(symbol, side, price, quantity),
                )
                .unwrap();
            }
        }
        assert_eq!(sim.open_orders(DEMO_API_KEY).unwrap().len(), 4);
        sim.resume_market();
        no_open_order_left(&sim).await;
        sim.check_invariants().unwrap();
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn paused_market_is_deterministic() {
    bounded(async {
        let a = SimVenue::start(SimConfig::paused()).await.unwrap();
        let b = SimVenue::start(SimConfig::paused()).await.unwrap();
        // Both quote once during start with the same seed.
        let (da, db) = (
            a.depth("BTCUSDT", 10).unwrap(),
            b.depth("BTCUSDT", 10).unwrap(),
        );
        assert_eq!(da.bids.len(), 10);
        assert_eq!((da.bids, da.asks), (db.bids, db.asks));
        a.shutdown().await;
        b.shutdown().await;
    })
    .await;
}

/// The standalone venue bounds its own shutdown by this.
const SHUTDOWN_BOUND: Duration = Duration::from_millis(800);

/// How late a process may be scheduled on a loaded 2-core CI machine.
const SCHEDULING_SLACK: Duration = Duration::from_secs(2);

#[test]
fn standalone_binary_prints_address_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_exchange-sim"))
        .args(["--listen", "127.0.0.1:0", "--seed", "3", "--log", "warn"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first}"))
        .to_owned();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    let mut rest = String::new();
    for _ in 0..3 {
        stdout.read_line(&mut rest).unwrap();
    }
    assert!(rest.contains(DEMO_API_KEY), "{rest}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let pong = test_support::get(format!("{url}/api/v3/ping"))
            .await
            .unwrap();
        assert_eq!(pong.status(), reqwest::StatusCode::OK);
    });
    test_support::signal(child.id(), "-TERM");
    let started = std::time::Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < SHUTDOWN_BOUND + SCHEDULING_SLACK,
            "did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn help_documents_the_flags() {
    let output = Command::new(env!("CARGO_BIN_EXE_exchange-sim"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--listen",
        "--api-key",
        "--api-secret",
        "--seed",
        "--symbols",
        "--balance",
        "--paused",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[tokio::test]
async fn bad_configurations_are_refused() {
    bounded(async {
        let mut zero_mid = SimConfig::paused();
        zero_mid.symbols[0].initial_mid = Decimal::ZERO;
        let mut no_symbols = SimConfig::paused();
        no_symbols.symbols.clear();
        let mut duplicate_key = SimConfig::paused();
        duplicate_key
            .accounts
            .push(exchange_sim::AccountConfig::demo());
        let mut huge_precision = SimConfig::paused();
        huge_precision.symbols[0].quote_precision = 40;
        for config in [zero_mid, no_symbols, duplicate_key, huge_precision] {
            assert!(matches!(
                SimVenue::start(config).await,
                Err(exchange_sim::SimError::Config(_))
            ));
        }
    })
    .await;
}

/// A venue restarted on the state of one that stopped (as after a crash) keeps its books, open
/// orders and balances, on a listener it is handed; a fresh state has none of them.
#[tokio::test]
async fn a_venue_served_again_on_its_state_keeps_books_and_accounts() {
    bounded(async {
        let mut config = SimConfig::paused();
        config.listen_keys.seed = Some(7);
        let first = SimVenue::start(config.clone()).await.unwrap();
        let order = NewOrder::limit(
            "HIFIUSDT",
            exchange_sim::Side::Buy,
            Decimal::new(5, 2),
            Decimal::from(100),
        );
        let placed = first.place_order(DEMO_API_KEY, &order).unwrap();
        let balances = first.balances(DEMO_API_KEY).unwrap();
        let state = first.state();
        first.stop_within(Duration::from_secs(1)).await;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let second = SimVenue::serve(config, listener, Some(state.clone()))
            .await
            .unwrap();
        let open = second.open_orders(DEMO_API_KEY).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].seq, placed.seq);
        assert_eq!(second.balances(DEMO_API_KEY).unwrap(), balances);
        assert_eq!(state.open_orders(DEMO_API_KEY).unwrap().len(), 1);
        second.check_invariants().unwrap();
        let fresh = SimVenue::serve(
            SimConfig::paused(),
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            None,
        )
        .await
        .unwrap();
        assert!(
            fresh.open_orders(DEMO_API_KEY).unwrap().is_empty(),
            "a fresh state"
        );
        fresh.stop_within(Duration::from_secs(1)).await;
        second.stop_within(Duration::from_secs(1)).await;
    })
    .await;
}
