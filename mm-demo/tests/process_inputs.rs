//! What an operator types and what the log shows: no secret at any log level, a warning for a
//! secret on the command line, usage errors for budgets that cannot work, a bounded start.
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
    Demo, Launch, SLACK, assert_nothing_left, bounded, still_venue, wait_for_open_orders,
    wait_until_resting,
};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};

/// With the demo quoting on its one listen key: drops the venue's websockets (a reconnect
/// makes a second handshake on the same key), waits for the reconnect, interrupts the demo
/// and waits for its exit. Returns the listen keys held while quoting and the exit code.
async fn reconnect_then_interrupt(sim: &SimVenue, demo: &mut Demo) -> (Vec<String>, i32) {
    let keys = sim.listen_keys(DEMO_API_KEY).unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    sim.faults().drop_websockets();
    demo.wait_for_log("websocket connected", Duration::from_secs(30))
        .await;
    demo.signal("-INT");
    let (code, _) = demo.exit_within(Duration::from_secs(30)).await;
    (keys, code)
}

/// At TRACE level tungstenite printed the handshake's request line, `?listenKey=<key>` and
/// all, once per connection. No listen key, signature or API secret reaches the log at any
/// level; and a secret given with `--api-secret` (readable by any local user through `ps`)
/// is warned about.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log_even_at_trace_level() {
    bounded(async {
        let sim = still_venue().await;
        let rest = sim.rest_url();
        let mut demo = Demo::start(&[
            "--venue-url",
            rest.as_str(),
            "--api-key",
            DEMO_API_KEY,
            "--api-secret",
            DEMO_API_SECRET,
            "--cycles",
            "0",
            "--fill-timeout",
            "600",
            "--log",
            "trace",
        ]);
        wait_until_resting(&sim, &demo).await;
        let (keys, code) = reconnect_then_interrupt(&sim, &mut demo).await;
        let (stdout, stderr) = (demo.stdout(), demo.stderr());
        assert_eq!(code, 0, "{stdout}");
        // The trace of our dependencies is there (tungstenite's and hyper's)...
        assert!(stderr.contains("TRACE"), "no trace output at --log trace");
        assert!(stderr.contains("tungstenite") || stderr.contains("handshake"));
        // ...but no credential.
        for output in [&stdout, &stderr] {
            assert!(!output.contains(&keys[0]), "the listen key was logged");
            assert!(
                !output.contains(DEMO_API_SECRET),
                "the API secret was logged"
            );
            for (at, _) in output.match_indices("signature=") {
                let value = &output[at + "signature=".len()..];
                assert!(
                    value.starts_with("<redacted>"),
                    "a signature was logged: {}",
                    &value[..value.len().min(70)]
                );
            }
        }
        assert!(
            stderr.contains("--api-secret on the command line is readable by every local user"),
            "the flag is warned about"
        );
        assert_nothing_left(&sim, &demo);
        sim.shutdown().await;
    })
    .await;
}

/// `--log-format json`, for log shippers: every line of stderr (the order guardian's too: it
/// shares it) is one JSON object, never coloured, and no listen key, signature or API secret
/// reaches it at any level, trace included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_log_is_one_object_per_line_and_holds_no_secret() {
    bounded(async {
        let sim = still_venue().await;
        let mut demo = Launch::against(&sim, &["--log-format", "json", "--log", "trace"]).spawn();
        wait_for_open_orders(&sim, 2, &demo).await;
        demo.wait_for_log(r#""to":"awaiting fills""#, Duration::from_secs(10))
            .await;
        let (keys, code) = reconnect_then_interrupt(&sim, &mut demo).await;
        let stderr = demo.stderr();
        assert_eq!(code, 0, "{}", demo.stdout());
        let mut levels = std::collections::BTreeSet::new();
        let mut guardian_lines = 0;
        for line in stderr.lines().filter(|line| !line.trim().is_empty()) {
            let object: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
            assert!(object["fields"].is_object(), "{line}");
            levels.insert(object["level"].as_str().unwrap().to_owned());
            if object["target"]
                .as_str()
                .is_some_and(|target| target.starts_with("exchange_composite::guardian"))
            {
                guardian_lines += 1;
            }
        }
        assert!(
            levels.contains("TRACE") && levels.contains("INFO"),
            "{levels:?}"
        );
        assert!(
            guardian_lines > 0,
            "the order guardian's lines are JSON too"
        );
        assert!(!stderr.contains('\u{1b}'), "ANSI escapes in a piped log");
        assert!(!stderr.contains(&keys[0]), "the listen key was logged");
        assert!(
            !stderr.contains(DEMO_API_SECRET),
            "the API secret was logged"
        );
        // A signature is 64 hex digits (HMAC-SHA256): none follows the word, however quoted.
        let lower = stderr.to_ascii_lowercase();
        for (at, _) in lower.match_indices("signature") {
            let value =
                stderr[at + "signature".len()..].trim_start_matches(['"', '\\', ':', '=', ' ']);
            let hex = value.chars().take_while(char::is_ascii_hexdigit).count();
            assert!(
                hex < 32,
                "a signature was logged: {}",
                &value[..value.len().min(70)]
            );
        }
        assert_nothing_left(&sim, &demo);
        sim.shutdown().await;
    })
    .await;
}

/// The safe ways (the environment, a credentials file) are not warned about.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_from_the_environment_or_a_file_are_not_warned_about() {
    bounded(async {
        let sim = SimVenue::start(SimConfig::default()).await.unwrap();
        let file = std::env::temp_dir().join(format!("mm-demo-keys-{}", std::process::id()));
        std::fs::write(
            &file,
            format!("MEXC_API_KEY={DEMO_API_KEY}\nMEXC_API_SECRET={DEMO_API_SECRET}\n"),
        )
        .unwrap();
        let rest = sim.rest_url();
        let mut from_env =
            Launch::against(&sim, &["--cycles", "1", "--fill-timeout", "0.2"]).spawn();
        let mut from_file = Demo::start(&[
            "--venue-url",
            rest.as_str(),
            "--credentials-file",
            file.to_str().unwrap(),
            "--fill-timeout",
            "0.2",
        ]);
        for demo in [&mut from_env, &mut from_file] {
            let (code, _) = demo.exit_within(Duration::from_secs(60)).await;
            assert_eq!(code, 0, "{}\n{}", demo.stdout(), demo.stderr());
            assert!(!demo.stderr().contains("--api-secret on the command line"));
            // stderr is a pipe, not a terminal: plain text, no colour.
            assert!(!demo.stderr().contains('\u{1b}'), "{}", demo.stderr());
        }
        std::fs::remove_file(&file).unwrap();
        sim.shutdown().await;
    })
    .await;
}

/// `--shutdown-budget 0` was accepted and always left the orders open: a budget below the
/// minimum is a usage error (exit 2) that says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_below_the_minimum_are_refused_with_exit_2() {
    bounded(async {
        for budget in ["0", "1.5"] {
            let mut demo = Demo::start(&["--shutdown-budget", budget]);
            let (code, _) = demo.exit_within(Duration::from_secs(10)).await;
            let stderr = demo.stderr();
            assert_eq!(code, 2, "{budget}: {stderr}");
            assert!(stderr.contains("minimum of 2 s"), "{stderr}");
            assert!(
                stderr.contains("cannot cancel and confirm our orders"),
                "{stderr}"
            );
        }
    })
    .await;
}

/// Start-up against a venue that never answers took about 23 s, with no setting: the start
/// is bounded by `--start-timeout`, then stops what started and exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_that_never_answers_at_start_is_given_up_after_the_start_timeout() {
    bounded(async {
        let sim = SimVenue::start(SimConfig::paused()).await.unwrap();
        sim.faults().stall_connections(true);
        let mut demo = Demo::against(&sim, &["--start-timeout", "2", "--shutdown-budget", "2"]);
        let (code, took) = demo.exit_within(Duration::from_secs(30)).await;
        let stdout = demo.stdout();
        assert_eq!(code, 1, "{stdout}\n{}", demo.stderr());
        // 2 s of start, then a shutdown of at most 2 s (starts give up at once).
        assert!(took < Duration::from_secs(2) + SLACK, "took {took:?}");
        assert!(took >= Duration::from_secs(2), "took {took:?}");
        assert!(
            stdout.contains("start did not finish within 2.0 s"),
            "{stdout}"
        );
        sim.faults().clear();
        assert_nothing_left(&sim, &demo);
        sim.shutdown().await;
    })
    .await;
}
