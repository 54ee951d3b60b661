//! A `TaskManager`: named tasks, a two-phase shutdown (signal, grace, abort), and a report of
//! every task's fate, including the one that ignored the signal.
//!
//! `cargo run -p lifecycle-core --example 01_task_manager`
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Duration;

use lifecycle_core::TaskManager;
use tokio::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let tasks = TaskManager::builder("feed")
        .grace(Duration::from_millis(200))
        .build();
    // Two tasks with one name: both tracked (by id), both stopped.
    for _ in 0..2 {
        let signal = tasks.signal().clone();
        tasks
            .spawn("reader", async move { signal.triggered().await })
            .unwrap();
    }
    // One that ignores the signal: aborted after the grace period, and named in the report.
    tasks
        .spawn("stubborn", std::future::pending::<()>())
        .unwrap();
    for task in tasks.running_tasks() {
        println!("running: {} {} (age {:?})", task.name, task.id, task.age);
    }

    let report = tasks
        .shutdown(Instant::now() + Duration::from_secs(2))
        .await;
    println!(
        "stopped {}, aborted {}, clean: {}",
        report.counts.stopped,
        report.counts.aborted,
        report.is_clean()
    );
    for record in &report.records {
        println!("  {} {}: {}", record.name, record.id, record.outcome);
    }
    assert_eq!(report.counts.stopped, 2);
    assert_eq!(report.counts.aborted, 1);
}
