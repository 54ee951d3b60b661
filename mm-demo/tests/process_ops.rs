//! The operations listener as a process (`--metrics-addr`): `/metrics` scraped with a real HTTP
//! client during a run (names, labels, counters that move), `/readyz` turning 503 before the
//! first cancel of a shutdown or a halt reaches the venue, `POST /halt` and `/resume` driving
//! the trading halt, a listener beyond loopback refused without its flag, and no secret in any
//! body.
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
    Demo, SLACK, assert_nothing_left, bounded, still_venue, wait_for_open_orders,
    wait_until_resting,
};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimVenue};
use tokio::time::Instant;

/// What the listener logs once bound.
const LISTENING: &str = "metrics and health listening";

/// The demo against `sim`, serving on a free loopback port.
fn demo_with_ops(sim: &SimVenue, extra: &[&str]) -> Demo {
    let mut args = vec!["--metrics-addr", "127.0.0.1:0"];
    args.extend(extra);
    Demo::against(sim, &args)
}

/// The base URL of the demo's listener, from its log.
async fn ops_url(demo: &Demo) -> String {
    demo.wait_for_log(LISTENING, SLACK * 2).await;
    let log = demo.stderr();
    let line = log.lines().find(|line| line.contains(LISTENING)).unwrap();
    let address = line
        .split("address=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    format!("http://{address}")
}

fn client() -> reqwest::Client {
    test_support::http_client_builder()
        .timeout(SLACK)
        .no_proxy()
        .build()
        .unwrap()
}

/// `GET url`: status and body.
async fn get(url: &str) -> (u16, String) {
    let answer = client().get(url).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

/// `POST url`: status and body.
async fn post(url: &str) -> (u16, String) {
    let answer = client().post(url).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

/// Polls `/readyz` until it answers `status`.
async fn wait_for_readyz(base: &str, status: u16, demo: &Demo) -> String {
    let deadline = Instant::now() + SLACK * 2;
    loop {
        let (got, body) = get(&format!("{base}/readyz")).await;
        if got == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed {got} ({body})\nstderr:\n{}",
            demo.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

use test_support::prometheus_sample as sample;

/// The sum of every sample of `name` whose labels contain `label`.
fn total(scrape: &str, name: &str, label: &str) -> f64 {
    scrape
        .lines()
        .filter(|line| line.starts_with(&format!("{name}{{")) && line.contains(label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// No credential in `text`: the secret, the listen key, a signature.
fn assert_secret_free(what: &str, text: &str, listen_key: &str) {
    assert!(!text.contains(DEMO_API_SECRET), "{what}: the API secret");
    assert!(!text.contains(listen_key), "{what}: the listen key");
    assert!(!text.contains("signature"), "{what}: a signature");
}

/// A scrape during a run: every component's counters under their names, with units and
/// `_total`, labelled by component; they move as the run quotes, halts and resumes. No body
/// (metrics, health, control answers) holds a secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_during_a_run_and_move() {
    bounded(async {
        let sim = still_venue().await;
        let mut demo = demo_with_ops(&sim, &[]);
        let base = ops_url(&demo).await;
        wait_until_resting(&sim, &demo).await;
        let listen_key = sim.listen_keys(DEMO_API_KEY).unwrap().remove(0);
        let (status, first) = get(&format!("{base}/metrics")).await;
        assert_eq!(status, 200);
        for (name, kind) in [
            ("quiesce_ws_frames_received_total", "counter"),
            ("quiesce_ws_frames_sent_total", "counter"),
            ("quiesce_ws_reconnects_total", "counter"),
            ("quiesce_ws_messages_dropped_total", "counter"),
            ("quiesce_rest_requests_total", "counter"),
            ("quiesce_rate_limiter_grants_total", "counter"),
            ("quiesce_rate_limiter_waits_total", "counter"),
            ("quiesce_orders_placed_total", "counter"),
            ("quiesce_orders_cancelled_total", "counter"),
            ("quiesce_orders_unconfirmed_total", "counter"),
            ("quiesce_orders_filled_total", "counter"),
            ("quiesce_tasks_active", "gauge"),
            ("quiesce_tasks_started_total", "counter"),
            ("quiesce_tasks_stopped_total", "counter"),
            ("quiesce_tasks_aborted_total", "counter"),
            ("quiesce_last_shutdown_duration_seconds", "gauge"),
        ] {
            assert!(
                first.contains(&format!("# TYPE {name} {kind}\n")),
                "no {kind} {name}:\n{first}"
            );
        }
        let orders = r#"component="mexc.private.orders""#;
        let rest_ok = r#"component="rest.mexc",outcome="ok""#;
        assert_eq!(sample(&first, "quiesce_orders_placed_total", orders), 2.0);
        assert_eq!(
            sample(&first, "quiesce_orders_cancelled_total", orders),
            0.0
        );
        assert!(sample(&first, "quiesce_rest_requests_total", rest_ok) > 0.0);
        assert!(
            sample(
                &first,
                "quiesce_rest_requests_total",
                r#"component="rest.mexc",outcome="rate_limited""#
            ) == 0.0
        );
        assert!(
            sample(
                &first,
                "quiesce_rate_limiter_grants_total",
                r#"component="rate_limiter.mexc""#
            ) > 0.0
        );
        assert_eq!(total(&first, "quiesce_ws_reconnects_total", "socket"), 0.0);
        assert!(total(&first, "quiesce_ws_frames_sent_total", "socket") > 0.0);
        assert!(total(&first, "quiesce_tasks_active", "component=") > 0.0);

        // Halt and resume over HTTP: both orders cancelled, then placed again.
        let (status, halted) = post(&format!("{base}/halt")).await;
        assert_eq!(status, 200, "{halted}");
        let halted: serde_json::Value = serde_json::from_str(&halted).unwrap();
        assert_eq!(halted["halted"], true);
        assert_eq!(halted["cancelled"], 2);
        assert_eq!(halted["confirmed"], true);
        wait_for_open_orders(&sim, 0, &demo).await;
        let ready = wait_for_readyz(&base, 503, &demo).await;
        assert!(ready.contains(r#""readiness":"halted""#), "{ready}");
        let (status, resumed) = post(&format!("{base}/resume")).await;
        assert_eq!((status, resumed.trim()), (200, r#"{"halted":false}"#));
        wait_for_open_orders(&sim, 2, &demo).await;
        wait_for_readyz(&base, 200, &demo).await;

        // Both sockets dropped by the venue: reconnected, subscriptions sent again.
        sim.faults().drop_websockets();
        let deadline = Instant::now() + SLACK * 2;
        let second = loop {
            let (_, scrape) = get(&format!("{base}/metrics")).await;
            let reconnected = [
                r#"component="websocket_manager.mexc.public.socket""#,
                r#"component="websocket_manager.mexc.private.socket""#,
            ]
            .iter()
            .all(|socket| sample(&scrape, "quiesce_ws_connections_total", socket) == 2.0);
            if reconnected {
                break scrape;
            }
            assert!(Instant::now() < deadline, "no reconnect counted:\n{scrape}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(total(&second, "quiesce_ws_reconnects_total", "socket"), 2.0);
        assert_eq!(sample(&second, "quiesce_orders_placed_total", orders), 4.0);
        assert_eq!(
            sample(&second, "quiesce_orders_cancelled_total", orders),
            2.0
        );
        assert_eq!(
            sample(&second, "quiesce_orders_unconfirmed_total", orders),
            0.0
        );
        assert!(
            sample(&second, "quiesce_rest_requests_total", rest_ok)
                > sample(&first, "quiesce_rest_requests_total", rest_ok)
        );
        let sent = |scrape: &str| total(scrape, "quiesce_ws_frames_sent_total", "socket");
        assert!(
            sent(&second) > sent(&first),
            "the subscriptions were not sent again:\n{second}"
        );
        assert!(
            total(&second, "quiesce_tasks_started_total", "component=")
                >= total(&first, "quiesce_tasks_started_total", "component=")
        );

        let (_, live) = get(&format!("{base}/livez")).await;
        let (_, ready) = get(&format!("{base}/readyz")).await;
        for (what, body) in [
            ("/metrics", &first),
            ("/metrics", &second),
            ("/livez", &live),
            ("/readyz", &ready),
        ] {
            assert_secret_free(what, body, &listen_key);
        }
        let live: serde_json::Value = serde_json::from_str(&live).unwrap();
        assert_eq!(live["live"], true);
        let components = live["components"].as_array().unwrap();
        assert!(
            components
                .iter()
                .any(|c| c["name"] == "mexc.private" && c["state"] == "running"),
            "{components:?}"
        );

        demo.signal("-INT");
        let (code, _) = demo.exit_within(SLACK * 4).await;
        assert_eq!(code, 0, "{}", demo.stderr());
        assert!(
            demo.stdout().contains(
                "trading halts: 1 (SIGUSR1, POST /halt), resumes: 1 (SIGUSR2, POST /resume)"
            ),
            "{}",
            demo.stdout()
        );
        assert_nothing_left(&sim, &demo);
        sim.shutdown().await;
    })
    .await;
}

/// On the embedded venue, whose market moves: fills and market data are counted as they come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_and_market_data_are_counted_on_a_moving_market() {
    bounded(async {
        let mut demo = Demo::start(&["--metrics-addr", "127.0.0.1:0", "--cycles", "0"]);
        let base = ops_url(&demo).await;
        let orders = r#"component="mexc.private.orders""#;
        let deadline = Instant::now() + SLACK * 6;
        let scrape = loop {
            let (_, scrape) = get(&format!("{base}/metrics")).await;
            let filled = scrape.contains("quiesce_orders_filled_total{")
                && sample(&scrape, "quiesce_orders_filled_total", orders) >= 1.0;
            if filled {
                break scrape;
            }
            assert!(Instant::now() < deadline, "no fill counted:\n{scrape}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(
            sample(
                &scrape,
                "quiesce_ws_frames_received_total",
                r#"component="websocket_manager.mexc.public.socket""#
            ) > 0.0,
            "{scrape}"
        );
        demo.signal("-INT");
        let (code, _) = demo.exit_within(SLACK * 4).await;
        assert_eq!(code, 0, "{}", demo.stderr());
    })
    .await;
}

/// `/readyz` is 200 while quoting; a SIGTERM turns it 503 before the shutdown's first cancel
/// is acted on by the venue: the venue holds every cancel as it arrives, and while the first
/// one is held, unanswered, `/readyz` already says `shutting_down`. Then the shutdown ends
/// clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_503_before_the_first_cancel_of_a_shutdown_reaches_the_venue() {
    bounded(async {
        let sim = still_venue().await;
        let mut demo = demo_with_ops(&sim, &[]);
        let base = ops_url(&demo).await;
        let starting = wait_for_readyz(&base, 503, &demo).await;
        assert!(starting.contains("readiness"), "{starting}");
        wait_until_resting(&sim, &demo).await;
        let ready = wait_for_readyz(&base, 200, &demo).await;
        assert!(ready.contains(r#""readiness":"ready""#), "{ready}");
        sim.faults().hold_cancels(true);
        let before = sim.faults().cancels_arrived();
        demo.signal("-TERM");
        wait_for_cancel(&sim, before, &demo).await;
        let (status, body) = get(&format!("{base}/readyz")).await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains(r#""readiness":"shutting_down""#), "{body}");
        // The cancels are still held: none was acted on.
        assert_eq!(sim.open_orders(DEMO_API_KEY).unwrap().len(), 2);
        sim.faults().hold_cancels(false);
        let (code, _) = demo.exit_within(SLACK * 4).await;
        assert_eq!(code, 0, "{}", demo.stderr());
        assert_nothing_left(&sim, &demo);
        sim.shutdown().await;
    })
    .await;
}

/// `POST /halt` drives the SIGUSR1 path: `/readyz` is 503 (`halted`) while the halt's first
/// cancel is still held at the venue; the answer comes once the sweep confirmed both orders
/// closed; `POST /resume` quotes again and `/readyz` is 200 again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_over_http_turns_readyz_503_before_its_first_cancel_reaches_the_venue() {
    bounded(async {
        let sim = still_venue().await;
        let mut demo = demo_with_ops(&sim, &[]);
        let base = ops_url(&demo).await;
        wait_until_resting(&sim, &demo).await;
        wait_for_readyz(&base, 200, &demo).await;
        sim.faults().hold_cancels(true);
        let before = sim.faults().cancels_arrived();
        let halt_url = format!("{base}/halt");
        let halting = tokio::spawn(async move { post(&halt_url).await });
        wait_for_cancel(&sim, before, &demo).await;
        let (status, body) = get(&format!("{base}/readyz")).await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains(r#""readiness":"halted""#), "{body}");
        assert!(!halting.is_finished(), "the halt answered before its sweep");
        sim.faults().hold_cancels(false);
        let (status, answer) = halting.await.unwrap();
        assert_eq!(status, 200, "{answer}");
        assert!(answer.contains(r#""confirmed":true"#), "{answer}");
        assert!(sim.open_orders(DEMO_API_KEY).unwrap().is_empty());
        assert!(demo.stderr().contains("POST /halt"), "{}", demo.stderr());
        let (status, _) = post(&format!("{base}/resume")).await;
        assert_eq!(status, 200);
        wait_for_open_orders(&sim, 2, &demo).await;
        wait_for_readyz(&base, 200, &demo).await;
        demo.signal("-INT");
        let (code, _) = demo.exit_within(SLACK * 4).await;
        assert_eq!(code, 0, "{}", demo.stderr());
        assert_nothing_left(&sim, &demo);
        sim.shutdown().await;
    })
    .await;
}

/// Waits until a cancel arrived at the venue after `before` had.
async fn wait_for_cancel(sim: &SimVenue, before: usize, demo: &Demo) {
    let deadline = Instant::now() + SLACK * 2;
    while sim.faults().cancels_arrived() == before {
        assert!(
            Instant::now() < deadline,
            "no cancel reached the venue\nstderr:\n{}",
            demo.stderr()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A listener other machines reach is a usage error without `--metrics-allow-remote`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_beyond_loopback_is_refused_without_its_flag() {
    bounded(async {
        let mut demo = Demo::start(&["--metrics-addr", "0.0.0.0:0"]);
        let (code, _) = demo.exit_within(SLACK * 2).await;
        assert_eq!(code, 2, "{}", demo.stderr());
        assert!(
            demo.stderr().contains("--metrics-allow-remote"),
            "{}",
            demo.stderr()
        );
        assert!(!demo.stderr().contains(LISTENING));
    })
    .await;
}
