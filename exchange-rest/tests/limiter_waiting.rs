#![allow(clippy::unwrap_used)]
//! Waiting: FIFO order, deadlines, `Retry-After` pauses per scope, cancelled waiters, atomic
//! multi-bucket draws, counters.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::wait_until_queued;
use exchange_rest::limiter::{
    AcquireError, BucketId, BucketSpec, RateLimiter, RateLimiterConfig, Scope,
};
use lifecycle_core::AsyncResource;
use lifecycle_core::testing::within;
use tokio::sync::mpsc;
use tokio::time::Instant;

const SEC: Duration = Duration::from_secs(1);

async fn limiter(specs: &[(&str, Scope, u32, Duration)]) -> (Arc<RateLimiter>, Vec<BucketId>) {
    let mut config = RateLimiterConfig::new("rate_limiter.test");
    let ids = specs
        .iter()
        .map(|&(name, scope, limit, window)| {
            config
                .add(BucketSpec::new(name, scope, limit, window))
                .unwrap()
        })
        .collect();
    let limiter = Arc::new(RateLimiter::new(config));
    limiter.start().await.unwrap();
    (limiter, ids)
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_fifo_order_as_the_window_slides() {
    within(Duration::from_secs(10), async {
        let (limiter, ids) = limiter(&[("ip", Scope::Ip, 1, SEC)]).await;
        let draw = limiter.draw(&[(ids[0], 1)]).unwrap();
        let start = Instant::now();
        limiter.acquire(&draw, start).await.unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..5 {
            let waiter = limiter.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let grant = waiter.acquire(&draw, start + 10 * SEC).await.unwrap();
                tx.send((i, Instant::now() - start, grant.waited)).unwrap();
            });
            wait_until_queued(&limiter, i + 1).await;
        }
        for expected in 0..5u32 {
            let (i, at, waited) = rx.recv().await.unwrap();
            assert_eq!(u32::try_from(i).unwrap(), expected);
            // Granted when the previous grant leaves the window (times round up to 2^19 ns).
            let due = SEC * (expected + 1);
            assert!(
                at >= due && at < due + Duration::from_millis(5),
                "{i}: {at:?}"
            );
            assert_eq!(waited, at);
        }
        let stats = limiter.stats();
        assert_eq!(stats.granted, 6);
        assert_eq!(stats.waited, 5);
        assert!(stats.total_wait >= 15 * SEC, "{stats:?}");
        assert!(limiter.stop_within(SEC).await.is_clean());
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn deadline_bounds_the_wait() {
    within(Duration::from_secs(10), async {
        let (limiter, ids) = limiter(&[("ip", Scope::Ip, 1, SEC)]).await;
        let draw = limiter.draw(&[(ids[0], 1)]).unwrap();
        let start = Instant::now();
        limiter.acquire(&draw, start).await.unwrap();

        // Earliest grant at 1 s, deadline 0.5 s: refused at once.
        let refused = limiter.acquire(&draw, start + SEC / 2).await;
        assert!(
            matches!(refused, Err(AcquireError::DeadlineExceeded { earliest: Some(e) }) if e >= SEC),
            "{refused:?}"
        );
        assert_eq!(Instant::now(), start, "refused without waiting");

        // First waiter gets 1 s; the second's turn (2 s) is past its deadline (1.5 s): it is
        // refused no later than its deadline, and never granted.
        let first = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.acquire(&draw, start + 5 * SEC).await }
        });
        wait_until_queued(&limiter, 1).await;
        let second = limiter.acquire(&draw, start + SEC * 3 / 2).await;
        assert!(matches!(second, Err(AcquireError::DeadlineExceeded { .. })), "{second:?}");
        assert!(Instant::now() <= start + SEC * 3 / 2);
        assert!(first.await.unwrap().is_ok());
        assert_eq!(limiter.stats().rejected, 2);
        assert_eq!(limiter.stats().queued, 0);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn retry_after_pauses_the_whole_scope_only() {
    within(Duration::from_secs(10), async {
        let (limiter, ids) = limiter(&[
            ("depth", Scope::Ip, 100, 10 * SEC),
            ("ticker", Scope::Ip, 100, 10 * SEC),
            ("order", Scope::Account, 100, 10 * SEC),
        ])
        .await;
        let depth = limiter.draw(&[(ids[0], 1)]).unwrap();
        let ticker = limiter.draw(&[(ids[1], 1)]).unwrap();
        let order = limiter.draw(&[(ids[2], 1)]).unwrap();
        let start = Instant::now();
        limiter.pause_scope(Scope::Ip, 2 * SEC);
        assert_eq!(limiter.try_acquire(&ticker), Err(AcquireError::WouldWait));
        // The account scope is not paused.
        limiter.acquire(&order, start).await.unwrap();
        assert_eq!(Instant::now(), start);
        // Every bucket of the IP scope waits for the pause to end.
        limiter.acquire(&depth, start + 5 * SEC).await.unwrap();
        assert!(Instant::now() >= start + 2 * SEC);
        assert!(
            limiter
                .bucket_stats()
                .iter()
                .all(|b| b.paused_for.is_none())
        );
        limiter.try_acquire(&ticker).unwrap();
        // A pause longer than the deadline refuses at once.
        limiter.pause_all(10 * SEC);
        let now = Instant::now();
        assert!(matches!(
            limiter.acquire(&order, now + SEC).await,
            Err(AcquireError::DeadlineExceeded { .. })
        ));
        assert_eq!(limiter.stats().pauses, 2);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_waiter_leaves_the_queue() {
    within(Duration::from_secs(10), async {
        let (limiter, ids) = limiter(&[("ip", Scope::Ip, 1, SEC)]).await;
        let draw = limiter.draw(&[(ids[0], 1)]).unwrap();
        let start = Instant::now();
        limiter.acquire(&draw, start).await.unwrap();
        // Dropped after 100 ms (e.g. the caller's own timeout).
        let gave_up =
            tokio::time::timeout(SEC / 10, limiter.acquire(&draw, start + 60 * SEC)).await;
        assert!(gave_up.is_err());
        assert_eq!(limiter.stats().queued, 0);
        limiter.acquire(&draw, start + 60 * SEC).await.unwrap();
        assert!(Instant::now() - start < SEC + Duration::from_millis(5));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn multi_bucket_draws_are_all_or_nothing() {
    within(Duration::from_secs(10), async {
        let (limiter, ids) = limiter(&[
            ("ip", Scope::Ip, 100, 10 * SEC),
            ("account", Scope::Account, 100, 10 * SEC),
            ("account per second", Scope::Account, 2, SEC),
        ])
        .await;
        let account_call = limiter
            .draw(&[(ids[0], 10), (ids[1], 10), (ids[2], 1)])
            .unwrap();
        let ip_only = limiter.draw(&[(ids[0], 1)]).unwrap();
        limiter.try_acquire(&account_call).unwrap();
        limiter.try_acquire(&account_call).unwrap();
        // The per-second bucket is full: the draw takes nothing from the others.
        assert_eq!(
            limiter.try_acquire(&account_call),
            Err(AcquireError::WouldWait)
        );
        let usage: Vec<u64> = limiter.bucket_stats().iter().map(|b| b.used).collect();
        assert_eq!(usage, vec![20, 20, 2]);
        limiter.try_acquire(&ip_only).unwrap();
        // Weight above a bucket's limit can never be granted.
        let too_heavy = limiter.draw(&[(ids[2], 3)]).unwrap();
        assert_eq!(
            limiter.acquire(&too_heavy, Instant::now() + 60 * SEC).await,
            Err(AcquireError::Unsatisfiable)
        );
    })
    .await;
}

#[tokio::test]
async fn real_time_waiting_works_too() {
    within(Duration::from_secs(10), async {
        let (limiter, ids) = limiter(&[("ip", Scope::Ip, 2, Duration::from_millis(50))]).await;
        let draw = limiter.draw(&[(ids[0], 1)]).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..6 {
            limiter.acquire(&draw, Instant::now() + SEC).await.unwrap();
        }
        // Six grants at two per 50 ms need at least two full windows: pairs at 0, 50, 100 ms,
        // the first of each later pair after waiting (fewer waits if the OS preempts us).
        assert!(start.elapsed() >= Duration::from_millis(100));
        assert!(
            (1..=2).contains(&limiter.stats().waited),
            "{:?}",
            limiter.stats()
        );
    })
    .await;
}
