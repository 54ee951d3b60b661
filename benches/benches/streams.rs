//! exchange-streams: publish cost of observable streams against the raw tokio channel each is
//! built on, in the same run and the same criterion group.
//!
//! - `latest_publish/{1_subscriber,8_subscribers}`: `watch` (`watch::Sender::send_replace`)
//!   vs `observable` (`LatestPublisher::publish`).
//! - `event_publish/{1_subscriber,8_subscribers}`: `broadcast` (`broadcast::Sender::send`)
//!   vs `observable` (`EventPublisher::publish`).
//!
//! Subscribers are real receivers that consume: after every batch of publishes each one drains
//! what it was sent (`borrow_and_update` / `try_recv` on the raw side, `Subscription::try_recv`
//! on ours). Only the publishes are timed; the drains run between timed batches, identically
//! for both sides. Batches interrupted by the OS scheduler are left out (see
//! `PREEMPTED_FACTOR`). The value is a 32-byte book-ticker-like struct.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use exchange_streams::{ObservableStreams, Subscription};
use lifecycle_core::AsyncResource;
use tokio::sync::{broadcast, watch};

/// A book-ticker-sized value: bid, bid size, ask, ask size.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Quote([u64; 4]);

impl Quote {
    fn new(i: u64) -> Self {
        Self([i, i + 1, i + 2, i + 3])
    }
}

/// Publishes between drains (fits the event buffer, so nobody lags).
const BATCH: u64 = 256;
const EVENT_CAPACITY: usize = 1024;
/// A batch slower than this many times the fastest batch (per publish) of the same sample was
/// interrupted by the OS scheduler (a context switch costs milliseconds; a batch takes
/// microseconds). Such batches are left out, identically for both sides: on this shared
/// 2-core machine they would otherwise dominate every figure.
const PREEMPTED_FACTOR: f64 = 10.0;

/// Times `publish` over `iters` values in batches of [`BATCH`], calling the untimed `drain`
/// after each batch. Returns the time for `iters` publishes, extrapolated from the batches
/// that were not preempted (see [`PREEMPTED_FACTOR`]).
fn timed_publishes(
    iters: u64,
    mut publish: impl FnMut(Quote),
    mut drain: impl FnMut(),
) -> Duration {
    let mut batches = Vec::with_capacity(iters.div_ceil(BATCH) as usize);
    let mut done = 0;
    while done < iters {
        let batch = BATCH.min(iters - done);
        let started = Instant::now();
        for i in 0..batch {
            publish(black_box(Quote::new(done + i)));
        }
        batches.push((batch, started.elapsed()));
        drain();
        done += batch;
    }
    let per_publish = |(count, elapsed): &(u64, Duration)| elapsed.as_secs_f64() / *count as f64;
    let fastest = batches
        .iter()
        .map(per_publish)
        .fold(f64::INFINITY, f64::min);
    let (kept_count, kept_time) = batches
        .iter()
        .filter(|batch| per_publish(batch) <= fastest * PREEMPTED_FACTOR)
        .fold((0u64, 0f64), |(count, time), (n, elapsed)| {
            (count + n, time + elapsed.as_secs_f64())
        });
    Duration::from_secs_f64(kept_time * iters as f64 / kept_count.max(1) as f64)
}

/// Adds `name` to `group`: [`timed_publishes`] of `publish`, draining with `drain`.
fn bench_publish(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut publish: impl FnMut(Quote),
    mut drain: impl FnMut(),
) {
    group.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter_custom(|iters| timed_publishes(iters, &mut publish, &mut drain))
    });
}

fn drain_subscriptions(subscriptions: &mut [Subscription<Quote>]) {
    for subscription in subscriptions {
        while let Ok(value) = subscription.try_recv() {
            black_box(value);
        }
    }
}

/// Started streams (declare streams on them, then subscribe).
fn running_streams(runtime: &tokio::runtime::Runtime) -> ObservableStreams {
    let streams = ObservableStreams::new("bench_streams");
    runtime.block_on(streams.start()).unwrap();
    streams
}

fn subscriber_label(subscribers: usize) -> String {
    if subscribers == 1 {
        "1_subscriber".to_owned()
    } else {
        format!("{subscribers}_subscribers")
    }
}

fn latest_publish(c: &mut Criterion) {
    let runtime = current_thread_runtime();
    for subscribers in [1usize, 8] {
        let mut group =
            c.benchmark_group(format!("latest_publish/{}", subscriber_label(subscribers)));

        let (tx, rx) = watch::channel(Quote::default());
        let mut receivers: Vec<_> = (0..subscribers).map(|_| rx.clone()).collect();
        drop(rx);
        bench_publish(
            &mut group,
            "watch",
            |value| {
                black_box(tx.send_replace(value));
            },
            || {
                for receiver in &mut receivers {
                    if receiver.has_changed().unwrap() {
                        black_box(*receiver.borrow_and_update());
                    }
                }
            },
        );

        let streams = running_streams(&runtime);
        let publisher = streams.latest("book_ticker", Quote::default()).unwrap();
        let mut subscriptions = subscribe(&streams, "book_ticker", subscribers);
        bench_publish(
            &mut group,
            "observable",
            |value| {
                black_box(publisher.publish(value));
            },
            || drain_subscriptions(&mut subscriptions),
        );
        group.finish();
        assert!(publisher.published() > 0);
        runtime.block_on(streams.stop_within(Duration::from_secs(1)));
    }
}

fn event_publish(c: &mut Criterion) {
    let runtime = current_thread_runtime();
    for subscribers in [1usize, 8] {
        let mut group =
            c.benchmark_group(format!("event_publish/{}", subscriber_label(subscribers)));

        let (tx, rx) = broadcast::channel(EVENT_CAPACITY);
        let mut receivers: Vec<_> = (0..subscribers).map(|_| tx.subscribe()).collect();
        drop(rx);
        bench_publish(
            &mut group,
            "broadcast",
            |value| {
                black_box(tx.send(value).is_ok());
            },
            || {
                for receiver in &mut receivers {
                    while let Ok(value) = receiver.try_recv() {
                        black_box(value);
                    }
                }
            },
        );

        let streams = running_streams(&runtime);
        let publisher = streams.events("trades", EVENT_CAPACITY).unwrap();
        let mut subscriptions = subscribe(&streams, "trades", subscribers);
        bench_publish(
            &mut group,
            "observable",
            |value| {
                black_box(publisher.publish(value));
            },
            || drain_subscriptions(&mut subscriptions),
        );
        group.finish();
        assert_eq!(streams.counters("trades").unwrap().lagged, 0);
        runtime.block_on(streams.stop_within(Duration::from_secs(1)));
    }
}

fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn subscribe(streams: &ObservableStreams, name: &str, count: usize) -> Vec<Subscription<Quote>> {
    (0..count)
        .map(|_| streams.subscribe_tracked::<Quote>(name).unwrap())
        .collect()
}

criterion_group!(benches, latest_publish, event_publish);
criterion_main!(benches);
