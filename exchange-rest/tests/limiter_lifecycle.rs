#![allow(clippy::unwrap_used)]
//! The limiter's lifecycle: stop wakes every waiter at once with `Closed`; nothing is granted
//! after stop; not started means nothing is granted either.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::wait_until_queued;
use exchange_rest::limiter::{
    AcquireError, BucketSpec, Draw, RateLimiter, RateLimiterConfig, Scope,
};
use lifecycle_core::testing::within;
use lifecycle_core::{AsyncResource, LifecycleState};
use tokio::time::Instant;

fn one_per_ten_seconds() -> (RateLimiter, Draw) {
    let mut config = RateLimiterConfig::new("rate_limiter.test");
    let ip = config
        .add(BucketSpec::new("ip", Scope::Ip, 1, Duration::from_secs(10)))
        .unwrap();
    let limiter = RateLimiter::new(config);
    let draw = limiter.draw(&[(ip, 1)]).unwrap();
    (limiter, draw)
}

#[tokio::test(start_paused = true)]
async fn stop_wakes_every_waiter_within_a_millisecond() {
    within(Duration::from_secs(10), async {
        let (limiter, draw) = one_per_ten_seconds();
        let limiter = Arc::new(limiter);
        limiter.start().await.unwrap();
        limiter.acquire(&draw, Instant::now()).await.unwrap();

        let mut waiters = Vec::new();
        for _ in 0..5 {
            let limiter = limiter.clone();
            waiters.push(tokio::spawn(async move {
                let result = limiter
                    .acquire(&draw, Instant::now() + Duration::from_secs(60))
                    .await;
                (result, Instant::now())
            }));
        }
        wait_until_queued(&limiter, 5).await;

        let stopped_at = Instant::now();
        let report = limiter.stop_within(Duration::from_secs(1)).await;
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.counter("waiters_closed"), Some(5), "{report}");
        for waiter in waiters {
            let (result, woken_at) = waiter.await.unwrap();
            assert_eq!(result, Err(AcquireError::Closed));
            // Paused clock: had anyone slept on a timer, time would have jumped by seconds.
            assert!(woken_at - stopped_at < Duration::from_millis(1));
        }
        assert_eq!(limiter.state(), LifecycleState::Stopped);
        let stats = limiter.stats();
        assert_eq!(stats.granted, 1);
        assert_eq!(stats.closed, 5);
        assert_eq!(stats.queued, 0);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn nothing_is_granted_after_stop_nor_before_start() {
    within(Duration::from_secs(10), async {
        let (limiter, draw) = one_per_ten_seconds();
        assert_eq!(limiter.try_acquire(&draw), Err(AcquireError::NotStarted));
        assert_eq!(
            limiter.acquire(&draw, Instant::now()).await,
            Err(AcquireError::NotStarted)
        );
        limiter.start().await.unwrap();
        limiter.start().await.unwrap(); // idempotent
        assert!(limiter.is_running());
        assert!(limiter.stop_within(Duration::from_secs(1)).await.is_clean());
        assert_eq!(limiter.try_acquire(&draw), Err(AcquireError::Closed));
        assert_eq!(
            limiter
                .acquire(&draw, Instant::now() + Duration::from_secs(60))
                .await,
            Err(AcquireError::Closed)
        );
        assert_eq!(limiter.stats().granted, 0);
        // A second stop is a no-op returning the same report.
        assert!(limiter.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn stop_racing_with_many_waiters_leaves_none_behind() {
    within(Duration::from_secs(10), async {
        let (limiter, draw) = one_per_ten_seconds();
        let limiter = Arc::new(limiter);
        limiter.start().await.unwrap();
        let mut waiters = Vec::new();
        for i in 0..50u64 {
            let limiter = limiter.clone();
            waiters.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(i)).await;
                limiter
                    .acquire(&draw, Instant::now() + Duration::from_secs(600))
                    .await
            }));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        let report = limiter.stop_within(Duration::from_secs(1)).await;
        assert!(report.is_clean());
        let mut granted = 0;
        for waiter in waiters {
            match waiter.await.unwrap() {
                Ok(_) => granted += 1,
                Err(e) => assert_eq!(e, AcquireError::Closed),
            }
        }
        assert_eq!(granted, 1, "one per ten seconds, and nothing after stop");
        assert_eq!(limiter.stats().granted, 1);
        assert_eq!(limiter.stats().closed, 49);
    })
    .await;
}

#[tokio::test]
async fn nothing_is_granted_once_the_state_says_stopping() {
    within(Duration::from_secs(10), async {
        let mut config = RateLimiterConfig::new("rate_limiter.test");
        let ip = config
            .add(BucketSpec::new(
                "ip",
                Scope::Ip,
                100,
                Duration::from_secs(10),
            ))
            .unwrap();
        let limiter = Arc::new(RateLimiter::new(config));
        let draw = limiter.draw(&[(ip, 1)]).unwrap();
        limiter.start().await.unwrap();
        limiter.try_acquire(&draw).unwrap();

        let stop = limiter.stop_within(Duration::from_secs(1));
        let mut stop = std::pin::pin!(stop);
        // The stop's first poll moves the state to Stopping; its own task has not run yet.
        let _ = futures::poll!(stop.as_mut());
        assert_eq!(limiter.state(), LifecycleState::Stopping);
        assert_eq!(limiter.try_acquire(&draw), Err(AcquireError::Closed));
        assert_eq!(
            limiter
                .acquire(&draw, Instant::now() + Duration::from_secs(1))
                .await
                .map(|_| ()),
            Err(AcquireError::Closed)
        );
        let report = stop.await;
        assert!(report.is_clean(), "{report}");
        assert_eq!(limiter.stats().granted, 1);
    })
    .await;
}
