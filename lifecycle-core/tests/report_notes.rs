//! What the printed reports say about tasks that ended badly: each failed, panicked or stuck
//! task is named with its message (bounded), in the shutdown table and in a stop report's
//! `Display`.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::bounded;
use lifecycle_core::{
    AsyncResource, BoxFuture, DependencyAwareShutdown, Lifecycle, ShutdownPriority, StartError,
    StopDetails, StopReport,
};
use tokio::sync::Notify;
use tokio::time::Instant;

/// A component whose two tasks end badly once `go` is notified: one panics with `panic_text`,
/// one returns an error.
struct Faulty {
    lifecycle: Lifecycle,
    panic_text: String,
    go: Arc<Notify>,
}

impl AsyncResource for Faulty {
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let panic_text = self.panic_text.clone();
        let go = self.go.clone();
        Box::pin(self.lifecycle.start(move |ctx| async move {
            let first = go.clone();
            ctx.tasks().spawn("decoder", async move {
                first.notified().await;
                if !panic_text.is_empty() {
                    panic!("{panic_text}");
                }
            })?;
            ctx.tasks().spawn("poller", async move {
                go.notified().await;
                Err::<(), _>("venue refused the poll")
            })?;
            Ok(())
        }))
    }
    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        Box::pin(
            self.lifecycle
                .stop(deadline, |_| async { StopDetails::new() }),
        )
    }
}

async fn faulty_stopped(
    panic_text: &str,
) -> (DependencyAwareShutdown, lifecycle_core::ShutdownReport) {
    let go = Arc::new(Notify::new());
    let faulty = Arc::new(Faulty {
        lifecycle: Lifecycle::new("feed"),
        panic_text: panic_text.to_owned(),
        go: go.clone(),
    });
    let mut system = DependencyAwareShutdown::new("notes");
    system.register(faulty.clone(), ShutdownPriority::Medium);
    system.start_all().await.unwrap();
    go.notify_waiters();
    // Both tasks ended (badly) before the stop.
    let deadline = Instant::now() + Duration::from_secs(5);
    while faulty.lifecycle.tasks().active_tasks() > 0 {
        assert!(Instant::now() < deadline, "tasks did not end");
        tokio::task::yield_now().await;
    }
    let report = system.shutdown_all(Duration::from_secs(2)).await;
    (system, report)
}

#[tokio::test]
async fn the_table_names_each_failed_and_panicked_task_with_its_message() {
    bounded(async {
        let (_system, report) = faulty_stopped("decoder hit a bad frame").await;
        let table = report.to_string();
        assert!(
            table.contains("task 'decoder'") && table.contains("panicked: decoder hit a bad frame"),
            "{table}"
        );
        assert!(
            table.contains("task 'poller'") && table.contains("failed: venue refused the poll"),
            "{table}"
        );
        let stop = report.resource("feed").unwrap().report.as_ref().unwrap();
        let line = stop.to_string();
        assert!(line.contains("panicked: decoder hit a bad frame"), "{line}");
        assert!(line.contains("failed: venue refused the poll"), "{line}");
    })
    .await;
}

#[tokio::test]
async fn a_long_panic_message_is_cut_in_the_notes() {
    bounded(async {
        let long = "é".repeat(5_000);
        let (_system, report) = faulty_stopped(&long).await;
        let table = report.to_string();
        let note_line = table
            .lines()
            .find(|l| l.contains("task 'decoder'"))
            .unwrap_or_else(|| panic!("no decoder note in {table}"));
        assert!(note_line.contains("…"), "{note_line}");
        assert!(
            note_line.chars().count() < 600,
            "note of {} chars",
            note_line.chars().count()
        );
        // The structured report keeps the whole message.
        let tasks = report
            .resource("feed")
            .unwrap()
            .report
            .as_ref()
            .unwrap()
            .tasks
            .as_ref()
            .unwrap();
        assert!(
            tasks
                .records
                .iter()
                .any(|r| r.outcome.to_string().contains(&long))
        );
    })
    .await;
}
