//! The binary under a service manager: it speaks systemd's notification protocol to the
//! datagram socket `NOTIFY_SOCKET` names (as systemd does for a `Type=notify` unit), in order:
//! statuses through the start, `READY=1` once the start is done, watchdog pings while
//! `WATCHDOG_USEC` is set, `STOPPING=1` from the signal on, the stop's timeout extended as the
//! order sweep begins, a status per shutdown phase, and the end. No credential in any message;
//! without `NOTIFY_SOCKET`, nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Demo, Launch, SLACK, assert_nothing_left, bounded, still_venue, wait_until_resting};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
use tokio::time::Instant;

/// A stand-in for systemd's notification socket: a bound datagram socket whose messages
/// (one `NAME=value` line each, a datagram holding one or more) are read by a thread as they
/// come, so the sender never waits on a full queue.
struct NotifySocket {
    path: PathBuf,
    lines: Arc<Mutex<Vec<String>>>,
    done: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl NotifySocket {
    fn bind() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("mm-demo-notify-{}-{n}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        let (sink, finished) = (lines.clone(), done.clone());
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0_u8; 64 * 1024];
            loop {
                match socket.recv(&mut buf) {
                    Ok(n) => {
                        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                        sink.lock().unwrap().extend(text.lines().map(str::to_owned));
                    }
                    // Nothing came for a while and the sender is gone: read what came since
                    // (without waiting), then stop.
                    Err(_) if finished.load(Ordering::Acquire) => {
                        socket.set_nonblocking(true).unwrap();
                        while let Ok(n) = socket.recv(&mut buf) {
                            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                            sink.lock().unwrap().extend(text.lines().map(str::to_owned));
                        }
                        return;
                    }
                    Err(_) => {}
                }
            }
        });
        Self {
            path,
            lines,
            done,
            reader: Some(reader),
        }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Every line received, once the sender is gone: the reader reads until the queue is empty.
    async fn finish(mut self) -> Vec<String> {
        self.done.store(true, Ordering::Release);
        let reader = self.reader.take().unwrap();
        lifecycle_core::testing::within(
            Duration::from_secs(5),
            tokio::task::spawn_blocking(move || reader.join().unwrap()),
        )
        .await
        .unwrap();
        self.lines()
    }

    /// Waits until `count` lines satisfy `wanted`.
    async fn wait_for(&self, wanted: impl Fn(&str) -> bool, count: usize, demo: &Demo) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.lines().iter().filter(|line| wanted(line)).count() < count {
            assert!(
                Instant::now() < deadline,
                "not {count} such notifications within 30 s: {:#?}\nstderr:\n{}",
                self.lines(),
                demo.stderr()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The position of the first line equal to (or, with a trailing `*`, starting with) `what`.
fn position(lines: &[String], what: &str) -> usize {
    let found = match what.strip_suffix('*') {
        Some(prefix) => lines.iter().position(|line| line.starts_with(prefix)),
        None => lines.iter().position(|line| line == what),
    };
    found.unwrap_or_else(|| panic!("no {what:?} in {lines:#?}"))
}

/// Every message is one of the protocol's that we send, and none carries a credential.
fn assert_well_formed_and_secret_free(lines: &[String], secrets: &[&str]) {
    for line in lines {
        assert!(
            ["READY=1", "STOPPING=1", "WATCHDOG=1"].contains(&line.as_str())
                || line.starts_with("STATUS=")
                || line.starts_with("EXTEND_TIMEOUT_USEC="),
            "unexpected notification {line:?}"
        );
        for secret in secrets {
            assert!(!line.contains(secret), "a credential in {line:?}");
        }
        assert!(
            !line.to_ascii_lowercase().contains("signature="),
            "{line:?}"
        );
    }
}

/// Against an external venue (with its order guardian) and `WATCHDOG_USEC` set: the whole
/// sequence, in order, from the start to the end of a SIGINT's orderly shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_is_told_each_step_of_the_run_in_order() {
    bounded(async {
        let sim = still_venue().await;
        let notify = NotifySocket::bind();
        let mut launch = Launch::against(&sim, &["--shutdown-budget", "10"]);
        launch.env("NOTIFY_SOCKET", notify.path());
        // Pings every 100 ms.
        launch.env("WATCHDOG_USEC", "200000");
        let mut demo = launch.spawn();
        wait_until_resting(&sim, &demo).await;
        notify.wait_for(|line| line == "READY=1", 1, &demo).await;
        let ready_at = position(&notify.lines(), "READY=1");
        // The watchdog is fed while the run quotes (and already while it starts).
        let early_pings = notify.lines()[..ready_at]
            .iter()
            .filter(|line| *line == "WATCHDOG=1")
            .count();
        notify
            .wait_for(|line| line == "WATCHDOG=1", early_pings + 3, &demo)
            .await;
        let listen_keys = sim.listen_keys(DEMO_API_KEY).unwrap();
        assert_eq!(listen_keys.len(), 1);
        let before_the_signal = notify.lines();
        assert!(
            !before_the_signal.iter().any(|line| line == "STOPPING=1"),
            "stopping before any signal: {before_the_signal:#?}"
        );
        demo.signal("-INT");
        let (code, _) = demo.exit_within(Duration::from_secs(10) + SLACK).await;
        assert_eq!(code, 0, "{}\n{}", demo.stdout(), demo.stderr());
        assert_nothing_left(&sim, &demo);
        let lines = notify.finish().await;
        // Shown with --nocapture.
        eprintln!("notifications, in order:\n{}", lines.join("\n"));

        // The start: statuses, the start's phases (the private exchange's, which clears a
        // previous run's orders, last), then ready.
        let starting = position(&lines, "STATUS=starting HIFI/USDT on external*");
        let last_start_phase = position(&lines, "STATUS=starting: phase critical-first");
        assert!(
            starting < last_start_phase && last_start_phase < ready_at,
            "{lines:#?}"
        );
        assert_eq!(
            lines[ready_at + 1],
            "STATUS=quoting HIFI/USDT on external",
            "{lines:#?}"
        );
        // Stopping from the signal on, the timeout extended as the sweep begins, then each
        // later phase, then the end.
        let stopping = position(&lines, "STOPPING=1");
        assert!(
            stopping > ready_at && stopping >= before_the_signal.len(),
            "{lines:#?}"
        );
        assert_eq!(lines[stopping + 1], "STATUS=stopping: shutdown requested");
        let extend = position(&lines, "EXTEND_TIMEOUT_USEC=*");
        let sweep = position(&lines, "STATUS=stopping: phase critical-first*");
        assert_eq!(sweep, extend + 1, "{lines:#?}");
        assert!(extend > stopping, "{lines:#?}");
        let usec: u64 = lines[extend]["EXTEND_TIMEOUT_USEC=".len()..]
            .parse()
            .unwrap();
        // What is left of the 10 s budget plus the 2.5 s the process may overrun it, rounded
        // up to a second: at most 13 s; the cycle's own cancels used little of it.
        assert!(
            (8_000_000..=13_000_000).contains(&usec),
            "EXTEND_TIMEOUT_USEC={usec}"
        );
        let mut at = sweep;
        for phase in ["medium", "low", "cleanup"] {
            let next = position(&lines, &format!("STATUS=stopping: phase {phase} *"));
            assert!(next > at, "phase {phase} out of order: {lines:#?}");
            at = next;
        }
        let statuses: Vec<&String> = lines.iter().filter(|l| l.starts_with("STATUS=")).collect();
        assert_eq!(
            statuses.last().map(|s| s.as_str()),
            Some("STATUS=stopped: exit code 0 (clean)"),
            "{lines:#?}"
        );
        // One of each announcement: the embedded parts' own orchestrators (the private
        // exchange's group) are not announced as the run's.
        for once in ["READY=1", "STOPPING=1"] {
            assert_eq!(lines.iter().filter(|l| *l == once).count(), 1, "{lines:#?}");
        }
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("EXTEND_TIMEOUT_USEC="))
                .count(),
            1,
            "{lines:#?}"
        );
        let pings = lines[ready_at..stopping]
            .iter()
            .filter(|line| *line == "WATCHDOG=1")
            .count();
        assert!(pings >= 3, "{pings} watchdog pings while quoting");
        assert_well_formed_and_secret_free(&lines, &[DEMO_API_SECRET, listen_keys[0].as_str()]);
        sim.shutdown().await;
    })
    .await;
}

/// Without `WATCHDOG_USEC` no ping is sent; a run whose cycles end by themselves (the embedded
/// venue, one cycle) is ready, then stopping, then done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_watchdog_ping_without_watchdog_usec_and_a_finished_run_says_so() {
    bounded(async {
        let notify = NotifySocket::bind();
        let mut launch = Launch::new(&["--fill-timeout", "0.2"]);
        launch.env("NOTIFY_SOCKET", notify.path());
        let mut demo = launch.spawn();
        let (code, _) = demo.exit_within(Duration::from_secs(30)).await;
        assert_eq!(code, 0, "{}\n{}", demo.stdout(), demo.stderr());
        let lines = notify.finish().await;
        assert!(!lines.iter().any(|line| line == "WATCHDOG=1"), "{lines:#?}");
        let ready = position(&lines, "READY=1");
        let stopping = position(&lines, "STOPPING=1");
        assert!(ready < stopping, "{lines:#?}");
        assert_eq!(lines[stopping + 1], "STATUS=stopping: the cycles ended");
        assert!(position(&lines, "EXTEND_TIMEOUT_USEC=*") > stopping);
        // The embedded venue's own shutdown, after the run's, is not announced.
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("STATUS=stopping: phase cleanup"))
                .count(),
            1,
            "{lines:#?}"
        );
        assert_eq!(
            lines.last().map(String::as_str),
            Some("STATUS=stopped: exit code 0 (clean)")
        );
        assert_well_formed_and_secret_free(&lines, &[DEMO_API_SECRET]);
        assert!(
            !demo.stderr().contains("systemd watchdog on"),
            "{}",
            demo.stderr()
        );
    })
    .await;
}

/// Without `NOTIFY_SOCKET` nothing is attempted (a `WATCHDOG_USEC` alone starts no watchdog);
/// with one that names no socket, the run is unharmed and says so once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_notify_socket_nothing_is_sent_and_a_dead_one_harms_nothing() {
    bounded(async {
        let mut unset = Launch::new(&["--fill-timeout", "0.2"]);
        unset.env("WATCHDOG_USEC", "200000");
        let mut unset = unset.spawn();
        let gone =
            std::env::temp_dir().join(format!("mm-demo-no-such-{}.sock", std::process::id()));
        let mut dead = Launch::new(&["--fill-timeout", "0.2"]);
        dead.env("NOTIFY_SOCKET", gone.to_str().unwrap());
        let mut dead = dead.spawn();
        for demo in [&mut unset, &mut dead] {
            let (code, _) = demo.exit_within(Duration::from_secs(30)).await;
            assert_eq!(code, 0, "{}\n{}", demo.stdout(), demo.stderr());
        }
        let quiet = unset.stderr();
        assert!(!quiet.contains("systemd"), "{quiet}");
        let warned = dead.stderr();
        assert_eq!(
            warned.matches("systemd notification not delivered").count(),
            1,
            "{warned}"
        );
        assert!(dead.stdout().contains("cycle 1:"), "{}", dead.stdout());
    })
    .await;
}

/// A start that never finishes (a venue that does not answer) is never announced ready; the
/// shutdown after the start timeout, which the application never sees, is announced from the
/// orchestrator's own timeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_times_out_is_stopping_but_never_ready() {
    bounded(async {
        let sim = SimVenue::start(SimConfig::paused()).await.unwrap();
        sim.faults().stall_connections(true);
        let notify = NotifySocket::bind();
        let mut launch = Launch::against(&sim, &["--start-timeout", "2", "--shutdown-budget", "2"]);
        launch.env("NOTIFY_SOCKET", notify.path());
        let mut demo = launch.spawn();
        let (code, _) = demo.exit_within(Duration::from_secs(4) + SLACK).await;
        assert_eq!(code, 1, "{}\n{}", demo.stdout(), demo.stderr());
        let lines = notify.finish().await;
        assert!(!lines.iter().any(|line| line == "READY=1"), "{lines:#?}");
        let stopping = position(&lines, "STOPPING=1");
        assert_eq!(lines[stopping + 1], "STATUS=stopping: shutdown begun");
        let extend = position(&lines, "EXTEND_TIMEOUT_USEC=*");
        let usec: u64 = lines[extend]["EXTEND_TIMEOUT_USEC=".len()..]
            .parse()
            .unwrap();
        // What is left of the 2 s budget plus the 2.5 s of slack, rounded up.
        assert!(extend > stopping && usec <= 5_000_000, "{lines:#?}");
        assert_eq!(
            lines.last().map(String::as_str),
            Some("STATUS=stopped: exit code 1 (failed)"),
            "{lines:#?}"
        );
        assert_well_formed_and_secret_free(&lines, &[DEMO_API_SECRET]);
        sim.faults().clear();
        sim.shutdown().await;
    })
    .await;
}

/// A trading halt (SIGUSR1) is a status, not a stop; SIGUSR2's resume says quoting again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trading_halt_and_its_resume_are_statuses() {
    bounded(async {
        let sim = still_venue().await;
        let notify = NotifySocket::bind();
        let mut launch = Launch::against(&sim, &[]);
        launch.env("NOTIFY_SOCKET", notify.path());
        let mut demo = launch.spawn();
        wait_until_resting(&sim, &demo).await;
        const HALTED: &str = "STATUS=halted (SIGUSR1): no quoting until SIGUSR2";
        const QUOTING: &str = "STATUS=quoting HIFI/USDT on external";
        demo.signal("-USR1");
        notify.wait_for(|line| line == HALTED, 1, &demo).await;
        demo.signal("-USR2");
        notify.wait_for(|line| line == QUOTING, 2, &demo).await;
        common::wait_for_open_orders(&sim, 2, &demo).await;
        demo.signal("-INT");
        let (code, _) = demo.exit_within(SLACK * 4).await;
        assert_eq!(code, 0, "{}\n{}", demo.stdout(), demo.stderr());
        let lines = notify.finish().await;
        let ready = position(&lines, "READY=1");
        let halted = position(&lines, HALTED);
        let resumed = lines.iter().rposition(|line| line == QUOTING).unwrap();
        let stopping = position(&lines, "STOPPING=1");
        assert!(
            ready < halted && halted < resumed && resumed < stopping,
            "{lines:#?}"
        );
        assert_eq!(lines.iter().filter(|l| *l == "STOPPING=1").count(), 1);
        assert_nothing_left(&sim, &demo);
        sim.shutdown().await;
    })
    .await;
}
