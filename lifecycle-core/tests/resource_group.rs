//! `ResourceGroup`: members start in reverse stop order, stop in order as children of the
//! group's report; a failed member start rolls back; a member failure fails the group.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lifecycle_core::testing::within;
use lifecycle_core::{
    AsyncResource, BoxFuture, DependencyAwareShutdown, Lifecycle, LifecycleState, ResourceGroup,
    ShutdownPriority, StartError, StopDetails, StopReport,
};
use tokio::time::Instant;

type Journal = Arc<Mutex<Vec<String>>>;

struct Member {
    lifecycle: Lifecycle,
    journal: Journal,
    fail_start: bool,
    fail_later: Option<Arc<tokio::sync::Notify>>,
}

impl Member {
    fn new(name: &str, journal: &Journal) -> Self {
        Self {
            lifecycle: Lifecycle::new(name),
            journal: journal.clone(),
            fail_start: false,
            fail_later: None,
        }
    }
}

impl AsyncResource for Member {
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let journal = self.journal.clone();
        let name = self.name().to_owned();
        let fail = self.fail_start;
        let fail_later = self.fail_later.clone();
        Box::pin(self.lifecycle.start(move |ctx| async move {
            if fail {
                return Err("refused".into());
            }
            journal.lock().unwrap().push(format!("start {name}"));
            if let Some(trigger) = fail_later {
                ctx.tasks().spawn_critical("worker", async move {
                    trigger.notified().await;
                    Err::<(), _>("worker broke")
                })?;
            }
            Ok(())
        }))
    }
    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let journal = self.journal.clone();
        let name = self.name().to_owned();
        Box::pin(self.lifecycle.stop(deadline, move |_| async move {
            journal.lock().unwrap().push(format!("stop {name}"));
            StopDetails::new()
        }))
    }
}

fn group(journal: &Journal, failing: Option<&str>) -> ResourceGroup {
    let mut members = DependencyAwareShutdown::new("exchange");
    for (name, priority) in [
        ("orders", ShutdownPriority::CriticalFirst),
        ("socket", ShutdownPriority::Medium),
        ("http", ShutdownPriority::Cleanup),
    ] {
        let mut member = Member::new(name, journal);
        member.fail_start = failing == Some(name);
        members.register(Arc::new(member), priority);
    }
    ResourceGroup::new("exchange", members)
}

#[tokio::test]
async fn members_start_in_reverse_and_stop_in_order_as_children() {
    within(Duration::from_secs(10), async {
        let journal = Journal::default();
        let exchange = group(&journal, None);
        exchange.start().await.unwrap();
        assert!(exchange.is_running());
        let report = exchange.stop_within(Duration::from_secs(2)).await;
        assert!(report.is_clean(), "{report}");
        let children: Vec<_> = report
            .details
            .children
            .iter()
            .map(|c| c.component.to_string())
            .collect();
        assert_eq!(children, ["orders", "socket", "http"]);
        assert_eq!(
            *journal.lock().unwrap(),
            [
                "start http",
                "start socket",
                "start orders",
                "stop orders",
                "stop socket",
                "stop http"
            ]
        );
        assert_eq!(exchange.state(), LifecycleState::Stopped);
    })
    .await;
}

#[tokio::test]
async fn a_member_that_fails_to_start_rolls_the_group_back() {
    within(Duration::from_secs(10), async {
        let journal = Journal::default();
        let exchange = group(&journal, Some("orders"));
        let error = exchange.start().await.unwrap_err();
        assert!(error.to_string().contains("orders"), "{error}");
        assert!(exchange.state().is_failed());
        assert_eq!(
            *journal.lock().unwrap(),
            [
                "start http",
                "start socket",
                "stop orders",
                "stop socket",
                "stop http"
            ]
        );
        for (member, _) in exchange.members().resources() {
            assert_eq!(member.state(), LifecycleState::Stopped, "{}", member.name());
        }
    })
    .await;
}

#[tokio::test]
async fn a_failing_member_fails_the_group() {
    within(Duration::from_secs(10), async {
        let journal = Journal::default();
        let trigger = Arc::new(tokio::sync::Notify::new());
        let mut members = DependencyAwareShutdown::new("exchange");
        let mut worker = Member::new("worker", &journal);
        worker.fail_later = Some(trigger.clone());
        members.register(Arc::new(worker), ShutdownPriority::Medium);
        let exchange = ResourceGroup::new("exchange", members);
        exchange.start().await.unwrap();
        let mut watcher = exchange.watch_state();
        trigger.notify_one();
        let failed = watcher.wait_for(|s| s.is_failed()).await.unwrap();
        assert!(format!("{failed:?}").contains("worker"), "{failed:?}");
        let report = exchange.stop_within(Duration::from_secs(2)).await;
        assert!(!report.is_clean());
        assert_eq!(
            exchange.members().resources().next().unwrap().0.state(),
            LifecycleState::Stopped
        );
    })
    .await;
}

#[tokio::test]
async fn the_report_table_shows_members_indented_under_their_group() {
    within(Duration::from_secs(10), async {
        let journal = Journal::default();
        let mut system = DependencyAwareShutdown::new("system");
        system.register(
            Arc::new(group(&journal, None)),
            ShutdownPriority::CriticalFirst,
        );
        system.start_all().await.unwrap();
        let report = system.shutdown_all(Duration::from_secs(2)).await;
        let table = report.to_string();
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[2].starts_with("critical-first") && lines[2].contains(" exchange "),
            "{table}"
        );
        for (line, member) in lines[3..6].iter().zip(["orders", "socket", "http"]) {
            assert!(
                line.trim_start().starts_with(&format!("└ {member}")),
                "{table}"
            );
        }
    })
    .await;
}
