//! loom model checks of `ShutdownSignal`: a trigger racing its waiters and its checkers, under
//! every interleaving loom can produce. Run with
//! `RUSTFLAGS="--cfg quiesce_loom" cargo test -p lifecycle-core --release --test loom_signal`
//! (`.ci/run` does).
#![cfg(quiesce_loom)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod loom_model;

use lifecycle_core::ShutdownSignal;
use loom::thread;
use loom_model::model;

#[test]
fn a_waiter_never_misses_a_racing_trigger() {
    model(|| {
        let signal = ShutdownSignal::new();
        let trigger = signal.clone();
        let triggering = thread::spawn(move || trigger.trigger());
        // A missed wake-up would park this thread forever: loom reports the deadlock.
        loom::future::block_on(signal.triggered());
        assert!(signal.is_triggered());
        assert!(
            triggering.join().unwrap(),
            "the only trigger is the one that triggered"
        );
    });
}

#[test]
fn two_waiters_on_two_threads_both_wake() {
    model(|| {
        let signal = ShutdownSignal::new();
        let waiter = {
            let signal = signal.clone();
            thread::spawn(move || loom::future::block_on(signal.triggered()))
        };
        let trigger = signal.clone();
        let triggering = thread::spawn(move || trigger.trigger());
        loom::future::block_on(signal.triggered());
        waiter.join().unwrap();
        assert!(triggering.join().unwrap());
    });
}

#[test]
fn racing_triggers_have_one_winner_and_checkers_never_see_it_undone() {
    model(|| {
        let signal = ShutdownSignal::new();
        let first = {
            let signal = signal.clone();
            thread::spawn(move || signal.trigger())
        };
        let second = {
            let signal = signal.clone();
            thread::spawn(move || signal.trigger())
        };
        let checker = {
            let signal = signal.clone();
            thread::spawn(move || {
                let before = signal.is_triggered();
                let after = signal.is_triggered();
                assert!(
                    !before || after,
                    "a triggered signal was seen untriggered again"
                );
            })
        };
        let wins = [first.join().unwrap(), second.join().unwrap()]
            .into_iter()
            .filter(|won| *won)
            .count();
        assert_eq!(wins, 1);
        checker.join().unwrap();
        // Joined: the trigger happened before this read.
        assert!(signal.is_triggered());
    });
}
