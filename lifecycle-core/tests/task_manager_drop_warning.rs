//! Dropping a TaskManager with running tasks warns, naming them; dropping an idle one does
//! not. Alone in its test binary: it installs the process-wide tracing subscriber.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use common::{LogCapture, bounded};
use lifecycle_core::TaskManager;

#[tokio::test]
async fn dropping_a_manager_warns_only_when_tasks_still_run() {
    let captured = LogCapture::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_writer(captured.writer())
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .finish(),
    )
    .unwrap();
    bounded(async {
        let idle = TaskManager::new("idle-one");
        let (tx, rx) = tokio::sync::oneshot::channel();
        idle.spawn("quick", async move { tx.send(()).unwrap() })
            .unwrap();
        rx.await.unwrap();
        lifecycle_core::testing::assert_no_tasks(&idle, Duration::from_secs(5)).await;
        drop(idle);
        let logged = captured.take();
        assert!(!logged.contains("dropped with running tasks"), "{logged}");

        let busy = TaskManager::new("busy-one");
        busy.spawn("reader", std::future::pending::<()>()).unwrap();
        busy.spawn("writer", std::future::pending::<()>()).unwrap();
        drop(busy);
        let logged = captured.take();
        let warning = logged
            .lines()
            .find(|line| line.contains("TaskManager dropped with running tasks"))
            .unwrap_or_else(|| panic!("no warning in {logged:?}"));
        assert!(warning.contains("WARN"), "{warning}");
        assert!(warning.contains("manager=busy-one"), "{warning}");
        assert!(warning.contains("live=2"), "{warning}");
        assert!(
            warning.contains(r#"tasks=["reader", "writer"]"#),
            "{warning}"
        );
    })
    .await;
}
