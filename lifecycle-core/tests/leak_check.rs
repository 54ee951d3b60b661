//! The test kit's exact leak checks (counting the runtime's live tasks before and after is
//! racy: a task of another test, or one just ending, changes the count).

mod common;

use std::time::Duration;

use common::{Behavior, EventLog, Probe, bounded};
use lifecycle_core::AsyncResource;
use lifecycle_core::testing::{RuntimeTaskBaseline, assert_no_tasks};

#[tokio::test]
async fn a_stopped_component_leaves_the_runtime_as_it_found_it() {
    bounded(async {
        let baseline = RuntimeTaskBaseline::capture();
        for round in 0..20 {
            let probe = Probe::new(
                &format!("round-{round}"),
                &EventLog::default(),
                Behavior::default().with_worker(),
            );
            probe.start().await.unwrap();
            assert!(probe.stop_within(Duration::from_secs(1)).await.is_clean());
            assert_no_tasks(probe.lifecycle.tasks(), Duration::from_secs(1)).await;
        }
        baseline.assert_back(Duration::from_secs(5)).await;
    })
    .await;
}

#[tokio::test]
async fn a_leaked_task_is_detected_and_named() {
    bounded(async {
        let tasks = lifecycle_core::TaskManager::new("leaky");
        tasks
            .spawn("forgotten", std::future::pending::<()>())
            .unwrap();
        let spawner = tasks.spawner();
        let check =
            tokio::spawn(async move { assert_no_tasks(&spawner, Duration::from_millis(20)).await });
        let error = check.await.unwrap_err();
        let message = error.into_panic();
        let message = message.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("leaked 1 task") && message.contains("forgotten"),
            "{message}"
        );

        let baseline = RuntimeTaskBaseline::capture();
        let extra = tokio::spawn(std::future::pending::<()>());
        let check =
            tokio::spawn(async move { baseline.assert_back(Duration::from_millis(20)).await });
        assert!(check.await.unwrap_err().is_panic());
        extra.abort();
    })
    .await;
}
