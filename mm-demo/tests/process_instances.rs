//! Instance identity as processes: the default instance name (from the symbol and the
//! account) is part of the client-order-id prefix; a second instance of another name on the
//! same account leaves the first one's orders alone; a second live process of the same name
//! on the same machine is refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

mod common;

use common::{
    Demo, SLACK, bounded, fresh_state_dir, still_venue, wait_for_open_orders, wait_until_resting,
};
use exchange_sim::DEMO_API_KEY;

fn client_ids(sim: &exchange_sim::SimVenue) -> Vec<String> {
    sim.open_orders(DEMO_API_KEY)
        .unwrap()
        .into_iter()
        .filter_map(|o| o.client_order_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_account_leave_each_other_s_orders_alone() {
    bounded(async {
        let sim = still_venue().await;
        let mut first = Demo::against(&sim, &[]);
        wait_until_resting(&sim, &first).await;
        // The default name: the base asset and 4 hex digits of the key's hash.
        let ids = client_ids(&sim);
        assert!(ids.iter().all(|id| id.starts_with("mm-hifi")), "{ids:?}");
        assert!(
            first.stderr().contains("instance locked"),
            "{}",
            first.stderr()
        );
        let mut second = Demo::against(&sim, &["--instance", "second"]);
        second.wait_for_log("to=awaiting fills", SLACK * 2).await;
        wait_for_open_orders(&sim, 4, &second).await;
        let ids = client_ids(&sim);
        assert_eq!(
            ids.iter().filter(|id| id.starts_with("mm-second-")).count(),
            2,
            "{ids:?}"
        );
        assert!(
            !second
                .stderr()
                .contains("cancelled orders a previous run left behind"),
            "{}",
            second.stderr()
        );
        second.signal("-INT");
        let (code, _) = second.exit_within(SLACK * 4).await;
        assert_eq!(code, 0, "{}", second.stderr());
        // The second's stop cancelled its own orders only.
        let ids = client_ids(&sim);
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids.iter().all(|id| id.starts_with("mm-hifi")), "{ids:?}");
        first.signal("-INT");
        let (code, _) = first.exit_within(SLACK * 4).await;
        assert_eq!(code, 0, "{}", first.stderr());
        assert!(client_ids(&sim).is_empty());
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_live_process_of_one_instance_is_refused() {
    bounded(async {
        let sim = still_venue().await;
        let dir = fresh_state_dir().display().to_string();
        let mut first = Demo::against(&sim, &["--state-dir", &dir, "--instance", "solo"]);
        wait_until_resting(&sim, &first).await;
        let mut second = Demo::against(&sim, &["--state-dir", &dir, "--instance", "solo"]);
        let (code, _) = second.exit_within(SLACK * 2).await;
        let stderr = second.stderr();
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("instance \"solo\" already runs on this machine"),
            "{stderr}"
        );
        assert!(stderr.contains(&format!("pid {}", first.pid())), "{stderr}");
        // It touched nothing: the first one's orders rest, and it still quotes.
        assert_eq!(client_ids(&sim).len(), 2);
        assert!(first.is_running());
        first.signal("-INT");
        let (code, _) = first.exit_within(SLACK * 4).await;
        assert_eq!(code, 0, "{}", first.stderr());
        // Once the first has exited, the name is free again (the kernel released the lock).
        let mut third = Demo::against(&sim, &["--state-dir", &dir, "--instance", "solo"]);
        wait_until_resting(&sim, &third).await;
        third.signal("-INT");
        let (code, _) = third.exit_within(SLACK * 4).await;
        assert_eq!(code, 0, "{}", third.stderr());
        sim.shutdown().await;
    })
    .await;
}
