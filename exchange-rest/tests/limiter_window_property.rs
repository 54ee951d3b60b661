#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property: whatever the buckets, draws, timing and mix of `try_acquire` / waiting
//! `acquire`, no bucket ever grants more than its limit in any window of its length.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use exchange_rest::limiter::{BucketSpec, Draw, RateLimiter, RateLimiterConfig, Scope};
use lifecycle_core::AsyncResource;
use proptest::prelude::*;
use tokio::time::Instant;

#[derive(Debug, Clone)]
struct Case {
    /// (limit, window in ms) per bucket.
    buckets: Vec<(u32, u64)>,
    /// Per draw: (bucket, weight) pairs.
    draws: Vec<Vec<(usize, u32)>>,
    /// (start offset in µs, draw index, None = try_acquire / Some(deadline in ms) = acquire).
    ops: Vec<(u64, usize, Option<u64>)>,
}

fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec((1u32..=12, 1u64..=60), 1..=3).prop_flat_map(|buckets| {
        let n = buckets.len();
        let draw = prop::collection::vec((0..n, 1u32..=4), 1..=3);
        (Just(buckets), prop::collection::vec(draw, 1..=4)).prop_flat_map(|(buckets, draws)| {
            let d = draws.len();
            let op = (0u64..=150_000, 0..d, prop::option::of(0u64..=150));
            (
                Just(buckets),
                Just(draws),
                prop::collection::vec(op, 1..=120),
            )
                .prop_map(|(buckets, draws, ops)| Case {
                    buckets,
                    draws,
                    ops,
                })
        })
    })
}

/// Grants (time, draw index), run with a paused clock: time only moves when every task is
/// idle, so a task's `Instant::now()` right after its grant is the grant's time.
fn run(case: &Case) -> (Instant, Vec<(Instant, usize)>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(3600), async {
            let mut config = RateLimiterConfig::new("rate_limiter.property");
            let ids: Vec<_> = case
                .buckets
                .iter()
                .enumerate()
                .map(|(i, &(limit, ms))| {
                    config
                        .add(BucketSpec::new(
                            format!("b{i}"),
                            Scope::Ip,
                            limit,
                            Duration::from_millis(ms),
                        ))
                        .unwrap()
                })
                .collect();
            let limiter = Arc::new(RateLimiter::new(config));
            limiter.start().await.unwrap();
            let draws: Vec<Draw> = case
                .draws
                .iter()
                .map(|parts| {
                    let parts: Vec<_> = parts.iter().map(|&(b, w)| (ids[b], w)).collect();
                    limiter.draw(&parts).unwrap()
                })
                .collect();
            let start = Instant::now();
            let grants = Arc::new(Mutex::new(Vec::new()));
            let mut tasks = Vec::new();
            for &(offset_us, draw_index, mode) in &case.ops {
                let limiter = limiter.clone();
                let grants = grants.clone();
                let draw = draws[draw_index];
                tasks.push(tokio::spawn(async move {
                    tokio::time::sleep_until(start + Duration::from_micros(offset_us)).await;
                    let granted = match mode {
                        None => limiter.try_acquire(&draw).is_ok(),
                        Some(ms) => limiter
                            .acquire(&draw, Instant::now() + Duration::from_millis(ms))
                            .await
                            .is_ok(),
                    };
                    if granted {
                        grants.lock().unwrap().push((Instant::now(), draw_index));
                    }
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
            assert_eq!(limiter.stats().queued, 0);
            assert!(limiter.stop_within(Duration::from_secs(1)).await.is_clean());
            let grants = grants.lock().unwrap().clone();
            assert_eq!(limiter.stats().granted, grants.len() as u64);
            (start, grants)
        })
        .await
        .expect("timed out")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_bucket_ever_exceeds_its_limit_in_any_window(case in case()) {
        let (_, grants) = run(&case);
        for (bucket, &(limit, ms)) in case.buckets.iter().enumerate() {
            let window = Duration::from_millis(ms);
            let mut uses: Vec<(Instant, u64)> = grants
                .iter()
                .filter_map(|&(at, d)| {
                    let weight: u32 = case.draws[d].iter().filter(|(b, _)| *b == bucket).map(|(_, w)| *w).sum();
                    (weight > 0).then_some((at, u64::from(weight)))
                })
                .collect();
            uses.sort();
            // The busiest window starts at some grant: check every window [t, t + window).
            for (i, &(from, _)) in uses.iter().enumerate() {
                let in_window: u64 = uses[i..].iter().take_while(|(at, _)| *at < from + window).map(|(_, w)| w).sum();
                prop_assert!(
                    in_window <= u64::from(limit),
                    "bucket {bucket} (limit {limit} per {ms} ms): {in_window} in the window from {:?}",
                    from
                );
            }
        }
    }
}

#[test]
fn the_property_check_sees_a_busy_limiter() {
    // Guard against a vacuous property: a simple case grants up to the limit in each window.
    let case = Case {
        buckets: vec![(3, 10)],
        draws: vec![vec![(0, 1)]],
        ops: (0..30).map(|i| (i * 1000, 0, Some(100))).collect(),
    };
    let (start, grants) = run(&case);
    assert_eq!(grants.len(), 30);
    let first_window = grants
        .iter()
        .filter(|(at, _)| *at < start + Duration::from_millis(10))
        .count();
    assert_eq!(first_window, 3);
}
