//! The state machine: checked transitions, watchers, and a tracing event per transition.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::bounded;
use lifecycle_core::{FailureCause, LifecycleState, StateCell, StateTag};

#[test]
fn invalid_transitions_are_errors_and_change_nothing() {
    let cell = StateCell::new("orders");
    let error = cell
        .transition(StateTag::Created, StateTag::Running)
        .unwrap_err();
    assert_eq!(error.actual, StateTag::Created);
    assert_eq!(cell.get(), LifecycleState::Created);
    // A transition from a state the cell is not in loses the race, visibly.
    let error = cell
        .transition(StateTag::Starting, StateTag::Running)
        .unwrap_err();
    assert_eq!(
        (error.from, error.to, error.actual),
        (StateTag::Starting, StateTag::Running, StateTag::Created)
    );
    assert!(error.to_string().contains("orders"));
}

#[test]
fn the_whole_happy_path_and_the_failure_path() {
    let cell = StateCell::new("ws");
    for (from, to) in [
        (StateTag::Created, StateTag::Starting),
        (StateTag::Starting, StateTag::Running),
        (StateTag::Running, StateTag::Stopping),
        (StateTag::Stopping, StateTag::Stopped),
    ] {
        cell.transition(from, to).unwrap();
        assert_eq!(cell.tag(), to);
    }
    assert!(
        cell.transition(StateTag::Stopped, StateTag::Starting)
            .is_err(),
        "stopped is terminal"
    );

    let failing = StateCell::new("feed");
    failing
        .transition(StateTag::Created, StateTag::Starting)
        .unwrap();
    failing
        .transition(StateTag::Starting, StateTag::Running)
        .unwrap();
    failing
        .fail(StateTag::Running, FailureCause::new("socket closed"))
        .unwrap();
    assert_eq!(
        failing.get(),
        LifecycleState::Failed(FailureCause::new("socket closed"))
    );
    failing
        .transition(StateTag::Failed, StateTag::Stopping)
        .unwrap();
    failing
        .transition(StateTag::Stopping, StateTag::Stopped)
        .unwrap();
    // The cause outlives the failed state.
    assert_eq!(failing.failure(), Some(FailureCause::new("socket closed")));
}

#[tokio::test]
async fn watchers_see_every_terminal_change() {
    bounded(async {
        let cell = Arc::new(StateCell::new("watched"));
        let mut watcher = cell.watch();
        assert_eq!(watcher.current(), LifecycleState::Created);
        let writer = cell.clone();
        let handle = tokio::spawn(async move {
            writer
                .transition(StateTag::Created, StateTag::Starting)
                .unwrap();
            writer
                .transition(StateTag::Starting, StateTag::Running)
                .unwrap();
        });
        let running = watcher.wait_for(LifecycleState::is_running).await.unwrap();
        assert_eq!(running, LifecycleState::Running);
        handle.await.unwrap();
        drop(cell);
        // The cell is gone: the watcher learns it instead of hanging.
        assert_eq!(watcher.changed().await, None);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn time_in_state_is_tracked() {
    bounded(async {
        let cell = StateCell::new("timed");
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(cell.time_in_state(), Duration::from_millis(1500));
        cell.transition(StateTag::Created, StateTag::Starting)
            .unwrap();
        assert_eq!(cell.time_in_state(), Duration::ZERO);
    })
    .await;
}

#[test]
fn a_failure_that_did_not_happen_leaves_no_cause() {
    let cell = StateCell::new("feed");
    cell.transition(StateTag::Created, StateTag::Starting)
        .unwrap();
    cell.transition(StateTag::Starting, StateTag::Running)
        .unwrap();
    // From the wrong state: refused, and nothing is recorded.
    assert!(
        cell.fail(StateTag::Starting, FailureCause::new("stale start error"))
            .is_err()
    );
    assert_eq!(cell.failure(), None);
    assert_eq!(cell.get(), LifecycleState::Running);
    // The failure that does happen is the one recorded.
    cell.fail(StateTag::Running, FailureCause::new("feed lost"))
        .unwrap();
    assert_eq!(cell.failure(), Some(FailureCause::new("feed lost")));
    assert_eq!(
        cell.get(),
        LifecycleState::Failed(FailureCause::new("feed lost"))
    );
}
