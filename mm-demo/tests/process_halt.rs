//! The trading halt as a process: SIGUSR1 cancels and confirms our orders while the listen key
//! and the process stay up, SIGUSR2 quotes again, both shown in the log and the report; a halt
//! while the orders are being placed still leaves none; a shutdown while halted is orderly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

mod common;

use std::time::Duration;

use common::{Demo, SLACK, bounded, still_venue, wait_for_open_orders, wait_until_resting};
use exchange_sim::DEMO_API_KEY;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigusr1_halts_sigusr2_resumes_and_the_report_says_so() {
    bounded(async {
        let sim = still_venue().await;
        let mut demo = Demo::against(&sim, &[]);
        wait_until_resting(&sim, &demo).await;
        demo.signal("-USR1");
        wait_for_open_orders(&sim, 0, &demo).await;
        demo.wait_for_log("trading halted: every order of ours is confirmed closed", SLACK)
            .await;
        demo.wait_for_log("trading halted: not quoting until SIGUSR2", SLACK)
            .await;
        assert!(demo.is_running());
        assert_eq!(sim.listen_keys(DEMO_API_KEY).unwrap().len(), 1, "the listen key stays");
        assert!(demo.stderr().contains("SIGUSR1 received"), "{}", demo.stderr());
        demo.signal("-USR2");
        demo.wait_for_log("trading resumed: quoting again", SLACK).await;
        wait_for_open_orders(&sim, 2, &demo).await;
        demo.signal("-INT");
        let (code, _) = demo.exit_within(SLACK * 4).await;
        let stdout = demo.stdout();
        assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{}", demo.stderr());
        assert!(
            stdout.contains("trading halts: 1 (SIGUSR1, POST /halt), resumes: 1 (SIGUSR2, POST /resume); orders cancelled by halts 2, unconfirmed 0; trading at exit"),
            "{stdout}"
        );
        assert!(sim.open_orders(DEMO_API_KEY).unwrap().is_empty());
        assert!(sim.listen_keys(DEMO_API_KEY).unwrap().is_empty());
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_while_placing_and_a_shutdown_while_halted_leave_nothing() {
    bounded(async {
        let sim = still_venue().await;
        let mut demo = Demo::against(&sim, &[]);
        demo.wait_for_log("to=reading book", SLACK * 2).await;
        // The placements take 200 ms each way from now: the halt comes while they fly.
        sim.faults().delay_rest(Duration::from_millis(200));
        demo.wait_for_log("to=quoting", SLACK).await;
        demo.signal("-USR1");
        demo.wait_for_log("trading halted: not quoting until SIGUSR2", SLACK * 2)
            .await;
        wait_for_open_orders(&sim, 0, &demo).await;
        // Waited for, not read at once: the line may still be in the pipe (a run under load
        // read stderr just before it arrived).
        demo.wait_for_log(
            "trading halted: every order of ours is confirmed closed",
            SLACK,
        )
        .await;
        sim.faults().clear();
        demo.signal("-TERM");
        let (code, _) = demo.exit_within(SLACK * 4).await;
        let stdout = demo.stdout();
        assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{}", demo.stderr());
        assert!(stdout.contains("halted at exit"), "{stdout}");
        assert!(stdout.contains("shutdown of mexc: clean"), "{stdout}");
        assert!(sim.open_orders(DEMO_API_KEY).unwrap().is_empty());
        assert!(sim.listen_keys(DEMO_API_KEY).unwrap().is_empty());
        sim.shutdown().await;
    })
    .await;
}
