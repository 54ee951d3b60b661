//! Dropping a TaskManager with running tasks warns, naming them; dropping an idle one does
//! not.

mod common;

use std::time::Duration;

use common::bounded;
use lifecycle_core::TaskManager;
use tracing_test::traced_test;

#[tokio::test]
#[traced_test]
async fn dropping_a_manager_warns_only_when_tasks_still_run() {
    bounded(async {
        let idle = TaskManager::new("idle-one");
        let (tx, rx) = tokio::sync::oneshot::channel();
        idle.spawn("quick", async move { tx.send(()).unwrap() })
            .unwrap();
        rx.await.unwrap();
        lifecycle_core::testing::assert_no_tasks(&idle, Duration::from_secs(5)).await;
        drop(idle);
        assert!(!logs_contain("dropped with running tasks"));

        let busy = TaskManager::new("busy-one");
        busy.spawn("reader", std::future::pending::<()>()).unwrap();
        busy.spawn("writer", std::future::pending::<()>()).unwrap();
        drop(busy);
        logs_assert(|lines| {
            let warning = lines
                .iter()
                .find(|line| line.contains("TaskManager dropped with running tasks"))
                .ok_or_else(|| format!("no warning in {lines:#?}"))?;
            for part in [
                "WARN",
                "manager=busy-one",
                "live=2",
                r#"tasks=["reader", "writer"]"#,
            ] {
                if !warning.contains(part) {
                    return Err(format!("no {part} in {warning}"));
                }
            }
            Ok(())
        });
    })
    .await;
}
