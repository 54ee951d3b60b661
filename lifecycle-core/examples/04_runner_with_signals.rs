//! A `Runner`: starts the system, runs the application until it ends, a signal arrives
//! (SIGINT, SIGTERM, SIGHUP, SIGQUIT: press Ctrl-C within the second) or a component fails,
//! then shuts down in order under one budget, with a watchdog for code that blocks a thread.
//! A second signal forces the exit.
//!
//! `cargo run -p lifecycle-core --example 04_runner_with_signals`
#![allow(clippy::print_stdout)]

use std::time::Duration;

use lifecycle_core::{DependencyAwareShutdown, Runner};

#[tokio::main]
async fn main() {
    let system = DependencyAwareShutdown::new("demo");
    let outcome = Runner::new(system)
        .shutdown_budget(Duration::from_secs(5))
        .app_grace(Duration::from_secs(1))
        .watchdog(Duration::from_secs(2))
        .run(|ctx| async move {
            println!("running; Ctrl-C stops it early");
            tokio::select! {
                () = ctx.shutdown_signal().triggered() => println!("asked to stop"),
                () = tokio::time::sleep(Duration::from_secs(1)) => println!("done"),
            }
            Ok::<(), std::io::Error>(())
        })
        .await;
    println!("{:?}: {}", outcome.status, outcome.reason);
    if let Some(report) = &outcome.report {
        println!("{report}");
    }
    std::process::exit(outcome.exit_code());
}
