//! The binary as a process, on every exit path: the default run exits 0 with a report; SIGINT
//! while orders rest leaves zero open orders on the venue; a second SIGINT forces the exit; a
//! venue that stops answering still lets the process exit within its deadline; a signal
//! during start stops what started.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
use lifecycle_core::testing::within;
use tokio::time::Instant;

/// Bounds a test body, so a hang fails fast.
async fn bounded<F: std::future::Future<Output = ()>>(body: F) {
    within(Duration::from_secs(90), body).await;
}

/// A running `mm-demo` with its output collected by reader threads.
struct Demo {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    /// The reader threads: joined once the process exited, so its output is complete.
    readers: Vec<std::thread::JoinHandle<()>>,
}

fn collect(
    stream: impl Read + Send + 'static,
) -> (Arc<Mutex<String>>, std::thread::JoinHandle<()>) {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut sink = sink.lock().unwrap();
            sink.push_str(&line);
            sink.push('\n');
        }
    });
    (text, reader)
}

impl Demo {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mm-demo"))
            .args(args)
            .env_remove("MEXC_API_KEY")
            .env_remove("MEXC_API_SECRET")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (stdout, stdout_reader) = collect(child.stdout.take().unwrap());
        let (stderr, stderr_reader) = collect(child.stderr.take().unwrap());
        Self {
            child,
            stdout,
            stderr,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    /// Against `sim` with the demo account, until interrupted, never filling by timeout.
    fn against(sim: &SimVenue, extra: &[&str]) -> Self {
        let rest = sim.rest_url();
        let mut args = vec![
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
        ];
        args.extend_from_slice(extra);
        let owned: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        Self::start(&owned.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the exit (polling with a deadline); returns the code and how long it took.
    async fn exit_within(&mut self, limit: Duration) -> (i32, Duration) {
        let begun = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let took = begun.elapsed();
                // The pipes reach end-of-file with the process: the readers have all of it
                // once they are joined.
                let readers = std::mem::take(&mut self.readers);
                within(
                    Duration::from_secs(10),
                    tokio::task::spawn_blocking(move || {
                        for reader in readers {
                            reader.join().unwrap();
                        }
                    }),
                )
                .await
                .unwrap();
                return (status.code().unwrap_or(-1), took);
            }
            if begun.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "mm-demo did not exit within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until stderr shows `text`.
    async fn wait_for_log(&self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.stderr().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} in the log:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A standalone venue whose market does not move: resting orders stay open.
async fn still_venue() -> SimVenue {
    SimVenue::start(SimConfig::default()).await.unwrap()
}

async fn wait_for_open_orders(sim: &SimVenue, count: usize, demo: &Demo) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let open = sim.open_orders(DEMO_API_KEY).unwrap_or_default().len();
        if open == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{open} open orders, expected {count}\nstderr:\n{}",
            demo.stderr()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

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
        assert_eq!(report["cycles"].as_array().unwrap().len(), 1);
        assert_eq!(report["cycles"][0]["buy"]["closed"], true);
        assert_eq!(report["orders_possibly_open"], 0);
        assert!(report["run"]["report"]["phases"].as_array().unwrap().len() >= 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_orders_rest_leaves_zero_open_orders() {
    bounded(async {
        let sim = still_venue().await;
        sim.pause_market();
        let mut demo = Demo::against(&sim, &[]);
        wait_for_open_orders(&sim, 2, &demo).await;
        demo.wait_for_log("to=awaiting fills", Duration::from_secs(10))
            .await;
        demo.signal("-INT");
        let (code, took) = demo.exit_within(Duration::from_secs(20)).await;
        let stdout = demo.stdout();
        assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{}", demo.stderr());
        assert!(took < Duration::from_secs(10), "took {took:?}");
        assert!(
            sim.open_orders(DEMO_API_KEY).unwrap().is_empty(),
            "our orders were cancelled"
        );
        assert!(stdout.contains("(interrupted)"), "{stdout}");
        assert!(
            stdout.contains("SIGINT received") || stdout.contains("signal"),
            "{stdout}"
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_forces_the_exit_and_names_what_was_abandoned() {
    bounded(async {
        let sim = still_venue().await;
        sim.pause_market();
        let mut demo = Demo::against(&sim, &["--shutdown-budget", "30"]);
        wait_for_open_orders(&sim, 2, &demo).await;
        demo.wait_for_log("to=awaiting fills", Duration::from_secs(10))
            .await;
        // The venue stops answering: the orderly shutdown cannot finish on its own.
        sim.faults().stall_connections(true);
        demo.signal("-INT");
        demo.wait_for_log("shutting down", Duration::from_secs(10))
            .await;
        demo.signal("-INT");
        let (code, took) = demo.exit_within(Duration::from_secs(10)).await;
        let stdout = demo.stdout();
        assert_eq!(code, 3, "stdout:\n{stdout}\nstderr:\n{}", demo.stderr());
        assert!(
            took < Duration::from_secs(3),
            "a forced exit is immediate, took {took:?}"
        );
        assert!(stdout.contains("FORCED"), "{stdout}");
        assert!(stdout.contains("may still be open"), "{stdout}");
        sim.faults().clear();
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_that_stops_answering_still_lets_the_process_exit_in_time() {
    bounded(async {
        let sim = still_venue().await;
        sim.pause_market();
        let mut demo = Demo::against(&sim, &["--shutdown-budget", "3"]);
        wait_for_open_orders(&sim, 2, &demo).await;
        demo.wait_for_log("to=awaiting fills", Duration::from_secs(10))
            .await;
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
        assert!(stdout.contains("may still be open"), "{stdout}");
        sim.faults().clear();
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_during_start_stops_what_started() {
    bounded(async {
        let sim = still_venue().await;
        // REST answers slowly: the start is still loading markets when the signal comes.
        sim.faults().delay_rest(Duration::from_secs(30));
        let mut demo = Demo::against(&sim, &["--shutdown-budget", "3"]);
        demo.wait_for_log("starting exchanges", Duration::from_secs(10))
            .await;
        demo.signal("-INT");
        let (code, took) = demo.exit_within(Duration::from_secs(15)).await;
        assert!(took < Duration::from_secs(6), "took {took:?}");
        assert_ne!(
            code,
            3,
            "an orderly stop, not a forced one\n{}",
            demo.stdout()
        );
        assert!(demo.stdout().contains("SIGINT"), "{}", demo.stdout());
        sim.faults().clear();
        assert!(sim.open_orders(DEMO_API_KEY).unwrap().is_empty());
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
        let mut demo = Demo::start(&[
            "--venue-url",
            rest.as_str(),
            "--api-key",
            key,
            "--api-secret",
            secret,
        ]);
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
        sim.shutdown().await;
    })
    .await;
}
