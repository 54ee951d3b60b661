//! The `mm-demo` binary as a process against an in-process exchange-sim: start it, signal it,
//! read its output, wait for its exit with a deadline.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unreachable_pub,
    missing_docs
)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
use lifecycle_core::testing::within;
use tokio::time::Instant;

/// Slack on real-clock bounds of process tests: a loaded 2-core machine runs a debug binary,
/// its embedded or in-process venue and other builds at once.
pub const SLACK: Duration = Duration::from_secs(5);

/// How long the output may stay open after the process exited: the order guardian shares its
/// stderr, and after an unclean end (a forced exit, a SIGKILL) it may be sweeping for up to
/// its timeout against a venue that does not answer.
pub const OUTPUT_DRAINED: Duration =
    Duration::from_secs(exchange_composite::guardian::DEFAULT_GUARDIAN_SWEEP_TIMEOUT.as_secs() + 5);

#[allow(unused_imports, reason = "not every test binary bounds its bodies")]
pub use test_support::bounded;

/// What becomes of the child's stdout or stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// Read and kept.
    Collected,
    /// A pipe whose reading end is closed at once (`mm-demo | head -0`, a dead log shipper):
    /// every write gets EPIPE.
    Closed,
}

/// How to start the binary.
#[derive(Debug, Clone)]
pub struct Launch {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdout: Sink,
    pub stderr: Sink,
}

impl Launch {
    pub fn new(args: &[&str]) -> Self {
        Self {
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            env: Vec::new(),
            stdout: Sink::Collected,
            stderr: Sink::Collected,
        }
    }

    /// Against `sim` with the demo account (keys in the environment, the safe way), until
    /// interrupted, never filling by timeout (unless `extra` sets `--cycles` or
    /// `--fill-timeout`).
    pub fn against(sim: &SimVenue, extra: &[&str]) -> Self {
        let rest = sim.rest_url();
        let mut launch = Self::new(&["--venue-url", rest.as_str()]);

        for (option, default) in [("--cycles", "0"), ("--fill-timeout", "600")] {
            if !extra.contains(&option) {
                launch.args.extend([option.to_owned(), default.to_owned()]);
            }
        }
        launch.args.extend(extra.iter().map(|s| (*s).to_owned()));
        launch.env("MEXC_API_KEY", DEMO_API_KEY);
        launch.env("MEXC_API_SECRET", DEMO_API_SECRET);
        launch
    }

    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn spawn(&self) -> Demo {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mm-demo"));
        command.args(&self.args);
        if !self.args.iter().any(|a| a == "--state-dir") {
            // Tests run side by side: each launch is its own machine as far as instance
            // locks go (and none writes to the user's state directory).
            command.arg("--state-dir").arg(fresh_state_dir());
        }
        command
            .env_remove("MEXC_API_KEY")
            .env_remove("MEXC_API_SECRET")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let mut readers = Vec::new();
        let stdout = child.stdout.take().unwrap();
        let stdout = match self.stdout {
            Sink::Collected => {
                let (text, reader) = collect(stdout);
                readers.push(reader);
                text
            }
            Sink::Closed => {
                drop(stdout);
                Arc::default()
            }
        };
        let stderr = child.stderr.take().unwrap();
        let stderr = match self.stderr {
            Sink::Collected => {
                let (text, reader) = collect(stderr);
                readers.push(reader);
                text
            }
            Sink::Closed => {
                drop(stderr);
                Arc::default()
            }
        };
        Demo {
            child,
            stdout,
            stderr,
            readers,
        }
    }
}

/// A state directory of its own (instance lock, listen-key ledger) for one launch.
pub fn fresh_state_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir()
        .join("mm-demo-tests")
        .join(format!("{}-{n}", std::process::id()))
}

/// A running `mm-demo` with its output collected by reader threads.
pub struct Demo {
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
    pub fn start(args: &[&str]) -> Self {
        Launch::new(args).spawn()
    }

    pub fn against(sim: &SimVenue, extra: &[&str]) -> Self {
        Launch::against(sim, extra).spawn()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: &str) {
        test_support::signal(self.child.id(), signal);
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the exit (polling with a deadline); returns the code and how long it took.
    pub async fn exit_within(&mut self, limit: Duration) -> (i32, Duration) {
        let begun = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let took = begun.elapsed();
                // The pipes reach end-of-file with the process: the readers have all of it
                // once they are joined.
                let readers = std::mem::take(&mut self.readers);
                within(
                    OUTPUT_DRAINED,
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

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits until stderr shows `text`.
    pub async fn wait_for_log(&self, text: &str, limit: Duration) {
        self.wait_for(text, limit, Self::stderr).await;
    }

    /// Waits until stdout shows `text`.
    pub async fn wait_for_output(&self, text: &str, limit: Duration) {
        self.wait_for(text, limit, Self::stdout).await;
    }

    async fn wait_for(&self, text: &str, limit: Duration, read: fn(&Self) -> String) {
        let deadline = Instant::now() + limit;
        while !read(self).contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until stdout shows `text`, watching the venue meanwhile: returns the most orders
    /// of ours it saw open at once.
    pub async fn watch_orders_until(&self, sim: &SimVenue, text: &str, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        let mut most = 0;
        while !self.stdout().contains(text) {
            most = most.max(sim.open_orders(DEMO_API_KEY).unwrap_or_default().len());
            assert!(
                Instant::now() < deadline,
                "no {text:?} within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        most
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A standalone venue whose market does not move: resting orders stay open.
pub async fn still_venue() -> SimVenue {
    let sim = SimVenue::start(SimConfig::default()).await.unwrap();
    sim.pause_market();
    sim
}

/// Waits until exactly `count` orders of ours are open on the venue.
pub async fn wait_for_open_orders(sim: &SimVenue, count: usize, demo: &Demo) {
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

/// Waits until the demo quotes: both orders rest and the cycle awaits fills.
pub async fn wait_until_resting(sim: &SimVenue, demo: &Demo) {
    wait_for_open_orders(sim, 2, demo).await;
    demo.wait_for_log("to=awaiting fills", Duration::from_secs(10))
        .await;
}

/// The venue holds nothing of ours: no open order, no listen key.
pub fn assert_nothing_left(sim: &SimVenue, demo: &Demo) {
    let orders = sim.open_orders(DEMO_API_KEY).unwrap();
    assert!(
        orders.is_empty(),
        "{} order(s) left open\nstdout:\n{}\nstderr:\n{}",
        orders.len(),
        demo.stdout(),
        demo.stderr()
    );
    let keys = sim.listen_keys(DEMO_API_KEY).unwrap();
    assert!(
        keys.is_empty(),
        "{} listen key(s) left\nstdout:\n{}\nstderr:\n{}",
        keys.len(),
        demo.stdout(),
        demo.stderr()
    );
}

/// Interrupts `demo` (SIGINT) and expects the orderly end: exit 0, nothing of ours left on
/// `sim`. Returns the report (stdout) and how long the exit took.
pub async fn interrupt_and_expect_a_clean_exit(
    demo: &mut Demo,
    sim: &SimVenue,
) -> (String, Duration) {
    demo.signal("-INT");
    let (code, took) = demo.exit_within(Duration::from_secs(20)).await;
    let stdout = demo.stdout();
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{}", demo.stderr());
    assert_nothing_left(sim, demo);
    (stdout, took)
}

/// Options of a run whose shutdown a venue that stops answering holds up (a long budget, the
/// log lines [`force_the_exit_mid_sweep`] waits for).
pub const HELD_UP_SHUTDOWN: [&str; 4] = [
    "--shutdown-budget",
    "30",
    "--log",
    "warn,mm_demo=info,lifecycle_core=info",
];

/// With `demo` (launched with [`HELD_UP_SHUTDOWN`]) quoting on `sim`: the venue stops
/// answering, `signal` begins the orderly shutdown, and once the order sweep is under way a
/// second `signal` forces the exit.
pub async fn force_the_exit_mid_sweep(sim: &SimVenue, demo: &Demo, signal: &str) {
    wait_until_resting(sim, demo).await;
    sim.faults().stall_connections(true);
    demo.signal(signal);
    demo.wait_for_log(
        "component stopping component=\"mexc.private.orders\"",
        Duration::from_secs(10),
    )
    .await;
    demo.signal(signal);
}

/// A listen key of the demo account, created over REST as a run of ours would.
pub async fn create_listen_key(sim: &SimVenue) -> String {
    use exchange_composite::rest::{
        Credentials, MexcRestClient, MexcRestConfig, RateLimiter, mexc_spot_limits,
    };
    use lifecycle_core::AsyncResource;

    let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("limiter")));
    let client = MexcRestClient::new(
        MexcRestConfig::new(sim.rest_url())
            .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET)),
        limiter.clone(),
    )
    .unwrap();
    limiter.start().await.unwrap();
    client.start().await.unwrap();
    let key = client.create_listen_key().await.unwrap();
    let _ = client.stop_within(Duration::from_secs(1)).await;
    let _ = limiter.stop_within(Duration::from_secs(1)).await;
    key
}
