//! loom model checks of `StateCell`: racing compare-and-swap transitions, failures and readers,
//! under every interleaving loom can produce. Run with
//! `RUSTFLAGS="--cfg quiesce_loom" cargo test -p lifecycle-core --release --test loom_state`
//! (`.ci/run` does).
#![cfg(quiesce_loom)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod loom_model;

use lifecycle_core::{FailureCause, LifecycleState, StateCell, StateTag};
use loom::sync::Arc;
use loom::thread;
use loom_model::model;

fn running(name: &str) -> Arc<StateCell> {
    let cell = Arc::new(StateCell::new(name));
    cell.transition(StateTag::Created, StateTag::Starting)
        .unwrap();
    cell.transition(StateTag::Starting, StateTag::Running)
        .unwrap();
    cell
}

#[test]
fn a_stop_racing_a_failure_has_one_winner_and_readers_always_find_the_cause() {
    model(|| {
        let cell = running("feed");
        let stop = {
            let cell = cell.clone();
            thread::spawn(move || {
                cell.transition(StateTag::Running, StateTag::Stopping)
                    .is_ok()
            })
        };
        let fail = {
            let cell = cell.clone();
            thread::spawn(move || {
                cell.fail(StateTag::Running, FailureCause::new("lost"))
                    .is_ok()
            })
        };
        let reader = {
            let cell = cell.clone();
            thread::spawn(move || {
                if cell.tag() == StateTag::Failed {
                    assert_eq!(
                        cell.get(),
                        LifecycleState::Failed(FailureCause::new("lost"))
                    );
                }
            })
        };
        let stopped = stop.join().unwrap();
        let failed = fail.join().unwrap();
        reader.join().unwrap();
        assert!(stopped ^ failed, "exactly one transition from Running wins");
        if failed {
            assert_eq!(
                cell.get(),
                LifecycleState::Failed(FailureCause::new("lost"))
            );
        } else {
            assert_eq!(cell.get(), LifecycleState::Stopping);
            assert_eq!(cell.failure(), None);
        }
    });
}

#[test]
fn a_refused_failure_never_shadows_the_one_that_happens() {
    model(|| {
        let cell = running("orders");
        let stale = {
            let cell = cell.clone();
            thread::spawn(move || cell.fail(StateTag::Starting, FailureCause::new("stale")))
        };
        let real = {
            let cell = cell.clone();
            thread::spawn(move || cell.fail(StateTag::Running, FailureCause::new("real")))
        };
        assert!(stale.join().unwrap().is_err());
        real.join().unwrap().unwrap();
        assert_eq!(cell.failure(), Some(FailureCause::new("real")));
    });
}

#[test]
fn two_racing_stops_have_one_winner() {
    model(|| {
        let cell = running("socket");
        let stops: Vec<_> = (0..2)
            .map(|_| {
                let cell = cell.clone();
                thread::spawn(move || {
                    cell.transition(StateTag::Running, StateTag::Stopping)
                        .is_ok()
                })
            })
            .collect();
        let wins = stops
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|won| *won)
            .count();
        assert_eq!(wins, 1);
        cell.transition(StateTag::Stopping, StateTag::Stopped)
            .unwrap();
        assert_eq!(cell.get(), LifecycleState::Stopped);
    });
}
