//! A supervised task: each failed attempt is restarted after a capped exponential backoff, at
//! most N times within T; past that it fails like a critical task, and its owner learns.
//!
//! `cargo run -p lifecycle-core --example 05_supervised_restarts`
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lifecycle_core::{Backoff, RestartPolicy, TaskManager};
use tokio::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let tasks = TaskManager::new("feed");
    let attempts = Arc::new(AtomicU32::new(0));
    let policy = RestartPolicy::new()
        .max_restarts(3, Duration::from_secs(60))
        .backoff(Backoff::new(
            Duration::from_millis(10),
            Duration::from_millis(80),
        ));
    let counter = attempts.clone();
    tasks
        .spawn_supervised("connect", policy, move || {
            let counter = counter.clone();
            async move {
                let attempt = counter.fetch_add(1, Ordering::SeqCst) + 1;
                println!("attempt {attempt}: connection refused");
                Err::<(), _>("connection refused")
            }
        })
        .unwrap();
    let failure = tasks.critical_failure().await.unwrap();
    println!("gave up: {failure}");
    assert_eq!(attempts.load(Ordering::SeqCst), 4); // the first attempt and 3 restarts
    let report = tasks
        .shutdown(Instant::now() + Duration::from_secs(1))
        .await;
    println!("restarts: {}", report.counts.restarts);
}
