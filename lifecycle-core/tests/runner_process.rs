//! The runner with real signals, in a child process: the first SIGINT starts an orderly
//! shutdown, a second forces the exit with code 3.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Behavior, EventLog, Probe};
use lifecycle_core::{DependencyAwareShutdown, Runner, ShutdownPriority};

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
        let outcome = Runner::new(system)
            .shutdown_budget(Duration::from_secs(30))
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

fn kill(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

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
