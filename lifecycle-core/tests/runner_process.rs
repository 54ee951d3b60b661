//! The runner with real signals, in a child process: the first SIGINT starts an orderly
//! shutdown, a second forces the exit with code 3.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use std::sync::Arc;

use common::{Behavior, EventLog, Probe};
use lifecycle_core::{
    AsyncResource, BoxFuture, DependencyAwareShutdown, Lifecycle, Runner, ShutdownPriority,
    StartError, StopDetails, StopReport,
};

/// A component whose stop blocks its thread (synchronous I/O gone wrong): on a
/// `current_thread` runtime nothing async can run any more, only the watchdog thread can end
/// the process.
struct Blocking(Lifecycle);

impl AsyncResource for Blocking {
    lifecycle_core::delegate_to_lifecycle!(0);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        Box::pin(self.0.start(|_| async { Ok(()) }))
    }
    fn stop(&self, deadline: tokio::time::Instant) -> BoxFuture<'_, StopReport> {
        Box::pin(self.0.stop(deadline, |_| async {
            std::thread::sleep(Duration::from_secs(3600));
            StopDetails::new()
        }))
    }
}

const CHILD_ENV: &str = "LIFECYCLE_CORE_SIGNAL_CHILD";

/// Runs only as the child: a system whose critical component hangs in stop, under the real
/// process signals. Prints `ready` once running, then exits with the runner's exit code.
#[test]
fn signal_child() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return; // Not the child: nothing to do in the normal test run.
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let code = runtime.block_on(async move {
        let log = EventLog::default();
        let mut system = DependencyAwareShutdown::new("child");
        let hang = mode == "hang";
        system.register(
            Probe::new(
                "orders",
                &log,
                Behavior {
                    stop_hangs: hang,
                    worker: true,
                    ..Behavior::default()
                },
            ),
            ShutdownPriority::CriticalFirst,
        );
        if mode == "block" {
            system.register(
                Arc::new(Blocking(Lifecycle::new("blocking"))),
                ShutdownPriority::Low,
            );
        }
        let budget = if mode == "block" {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(30)
        };
        let outcome = Runner::new(system)
            .shutdown_budget(budget)
            .watchdog(Duration::from_millis(500))
            // What must survive the watchdog's exit (a trace file) is flushed first.
            .before_watchdog_exit(|| println!("flushed before the watchdog's exit"))
            .run(|ctx| async move {
                println!("ready");
                ctx.shutdown_signal().triggered().await;
                println!("app stopping");
                Ok::<(), String>(())
            })
            .await;
        println!("outcome {:?}", outcome.status);
        outcome.exit_code()
    });
    std::process::exit(code);
}

fn spawn_child(mode: &str) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "signal_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

fn wait_for_line(stdout: &mut BufReader<std::process::ChildStdout>, wanted: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "child exited before printing {wanted:?}"
        );
        if line.trim_end().ends_with(wanted) {
            return;
        }
    }
}

use test_support::signal as kill;

/// Waits for the child with a deadline, so a hang fails the test instead of stalling CI.
fn wait_with_deadline(
    child: &mut std::process::Child,
    limit: Duration,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("child did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(unix)]
#[test]
fn a_real_sigint_shuts_down_cleanly() {
    let (mut child, mut stdout) = spawn_child("clean");
    wait_for_line(&mut stdout, "ready");
    kill(child.id(), "-INT");
    wait_for_line(&mut stdout, "app stopping");
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
}

#[cfg(unix)]
#[test]
fn a_second_real_sigint_forces_the_exit() {
    let (mut child, mut stdout) = spawn_child("hang");
    wait_for_line(&mut stdout, "ready");
    kill(child.id(), "-INT");
    // The app has stopped; the shutdown now hangs in "orders" (30 s budget).
    wait_for_line(&mut stdout, "app stopping");
    kill(child.id(), "-INT");
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(3));
}

#[cfg(unix)]
#[test]
fn the_watchdog_ends_a_shutdown_blocked_in_synchronous_code() {
    let (mut child, mut stdout) = spawn_child("block");
    wait_for_line(&mut stdout, "ready");
    let signalled = std::time::Instant::now();
    kill(child.id(), "-TERM");
    // Budget 0.5 s (less the app's grace) + watchdog slack 0.5 s: the process is gone soon
    // after, although its only runtime thread sleeps for an hour.
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(3));
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "{:?}",
        signalled.elapsed()
    );
    // The hook ran on the watchdog's thread before it ended the process.
    wait_for_line(&mut stdout, "flushed before the watchdog's exit");
}

#[cfg(unix)]
#[test]
fn a_real_sighup_shuts_down_cleanly() {
    let (mut child, mut stdout) = spawn_child("clean");
    wait_for_line(&mut stdout, "ready");
    kill(child.id(), "-HUP");
    wait_for_line(&mut stdout, "app stopping");
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
}

#[cfg(unix)]
#[test]
fn a_real_sigquit_shuts_down_cleanly() {
    let (mut child, mut stdout) = spawn_child("clean");
    wait_for_line(&mut stdout, "ready");
    kill(child.id(), "-QUIT");
    wait_for_line(&mut stdout, "app stopping");
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
}

#[cfg(unix)]
#[test]
fn a_sighup_then_a_sigterm_forces_the_exit() {
    let (mut child, mut stdout) = spawn_child("hang");
    wait_for_line(&mut stdout, "ready");
    kill(child.id(), "-HUP");
    wait_for_line(&mut stdout, "app stopping");
    kill(child.id(), "-TERM");
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(3));
}
