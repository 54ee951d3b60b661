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
//!
//! On a shared machine the load drifts between two criterion functions measured seconds apart.
//! After criterion, a *paired* check (skipped with `--list`, `--test`, or a filter that does
//! not match `paired`) alternates raw and observable batches in one loop and prints the median
//! per-publish cost of each and their ratio: the drift-free comparison.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group};
use exchange_streams::{EventPublisher, LatestPublisher, ObservableStreams, Subscription};
use lifecycle_core::AsyncResource;
use tokio::runtime::Runtime;
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
/// Alternating batch pairs in the paired check.
const PAIRED_ROUNDS: u64 = 4000;

/// One side of a comparison: a publisher and the subscribers that consume what it sends.
trait Side {
    fn publish(&self, value: Quote);
    fn drain(&mut self);
}

struct RawWatch {
    tx: watch::Sender<Quote>,
    receivers: Vec<watch::Receiver<Quote>>,
}

impl Side for RawWatch {
    #[inline]
    fn publish(&self, value: Quote) {
        black_box(self.tx.send_replace(value));
    }

    fn drain(&mut self) {
        for receiver in &mut self.receivers {
            if receiver.has_changed().unwrap() {
                black_box(*receiver.borrow_and_update());
            }
        }
    }
}

struct RawBroadcast {
    tx: broadcast::Sender<Quote>,
    receivers: Vec<broadcast::Receiver<Quote>>,
}

impl Side for RawBroadcast {
    #[inline]
    fn publish(&self, value: Quote) {
        black_box(self.tx.send(value).is_ok());
    }

    fn drain(&mut self) {
        for receiver in &mut self.receivers {
            while let Ok(value) = receiver.try_recv() {
                black_box(value);
            }
        }
    }
}

struct ObservableLatest {
    publisher: LatestPublisher<Quote>,
    subscriptions: Vec<Subscription<Quote>>,
}

impl Side for ObservableLatest {
    #[inline]
    fn publish(&self, value: Quote) {
        black_box(self.publisher.publish(value));
    }

    fn drain(&mut self) {
        drain_subscriptions(&mut self.subscriptions);
    }
}

struct ObservableEvents {
    publisher: EventPublisher<Quote>,
    subscriptions: Vec<Subscription<Quote>>,
}

impl Side for ObservableEvents {
    #[inline]
    fn publish(&self, value: Quote) {
        black_box(self.publisher.publish(value));
    }

    fn drain(&mut self) {
        drain_subscriptions(&mut self.subscriptions);
    }
}

fn drain_subscriptions(subscriptions: &mut [Subscription<Quote>]) {
    for subscription in subscriptions {
        while let Ok(value) = subscription.try_recv() {
            black_box(value);
        }
    }
}

/// Both sides of the latest-value comparison with `subscribers` each, on running streams.
fn latest_sides(streams: &ObservableStreams, subscribers: usize) -> (RawWatch, ObservableLatest) {
    let (tx, rx) = watch::channel(Quote::default());
    let raw = RawWatch {
        receivers: (0..subscribers).map(|_| rx.clone()).collect(),
        tx,
    };
    let observable = ObservableLatest {
        publisher: streams.latest("book_ticker", Quote::default()).unwrap(),
        subscriptions: subscribe(streams, "book_ticker", subscribers),
    };
    (raw, observable)
}

/// Both sides of the event comparison with `subscribers` each, on running streams.
fn event_sides(
    streams: &ObservableStreams,
    subscribers: usize,
) -> (RawBroadcast, ObservableEvents) {
    let (tx, _) = broadcast::channel(EVENT_CAPACITY);
    let raw = RawBroadcast {
        receivers: (0..subscribers).map(|_| tx.subscribe()).collect(),
        tx,
    };
    let observable = ObservableEvents {
        publisher: streams.events("trades", EVENT_CAPACITY).unwrap(),
        subscriptions: subscribe(streams, "trades", subscribers),
    };
    (raw, observable)
}

/// Times one batch of `count` publishes: nanoseconds per publish.
fn timed_batch(side: &impl Side, first: u64, count: u64) -> f64 {
    let started = Instant::now();
    for i in 0..count {
        side.publish(black_box(Quote::new(first + i)));
    }
    started.elapsed().as_secs_f64() * 1e9 / count as f64
}

/// Times `iters` publishes in batches of [`BATCH`], draining after each batch (untimed).
/// Returns the time for `iters` publishes, extrapolated from the batches that were not
/// preempted (see [`PREEMPTED_FACTOR`]).
fn timed_publishes(side: &mut impl Side, iters: u64) -> Duration {
    let mut batches = Vec::with_capacity(iters.div_ceil(BATCH) as usize);
    let mut done = 0;
    while done < iters {
        let count = BATCH.min(iters - done);
        batches.push((count, timed_batch(side, done, count)));
        side.drain();
        done += count;
    }
    let fastest = batches
        .iter()
        .map(|(_, each)| *each)
        .fold(f64::INFINITY, f64::min);
    let (kept, kept_time) = batches
        .iter()
        .filter(|(_, each)| *each <= fastest * PREEMPTED_FACTOR)
        .fold((0u64, 0f64), |(kept, time), (count, each)| {
            (kept + count, time + each * *count as f64)
        });
    Duration::from_secs_f64(kept_time * 1e-9 * iters as f64 / kept.max(1) as f64)
}

fn bench_side(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, side: &mut impl Side) {
    group.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter_custom(|iters| timed_publishes(side, iters))
    });
}

/// Alternates batches of `raw` and `observable`; the median per-publish cost of each, in ns.
fn paired(raw: &mut impl Side, observable: &mut impl Side) -> (f64, f64) {
    let mut raw_costs = Vec::new();
    let mut observable_costs = Vec::new();
    for round in 0..PAIRED_ROUNDS {
        let first = round * BATCH;
        raw_costs.push(timed_batch(raw, first, BATCH));
        raw.drain();
        observable_costs.push(timed_batch(observable, first, BATCH));
        observable.drain();
    }
    (
        benches::median(raw_costs),
        benches::median(observable_costs),
    )
}

fn running_streams(runtime: &Runtime) -> ObservableStreams {
    let streams = ObservableStreams::new("bench_streams");
    runtime.block_on(streams.start()).unwrap();
    streams
}

fn stop(runtime: &Runtime, streams: &ObservableStreams) {
    let report = runtime.block_on(streams.stop_within(Duration::from_secs(1)));
    assert!(report.is_clean(), "{report}");
}

fn subscribe(streams: &ObservableStreams, name: &str, count: usize) -> Vec<Subscription<Quote>> {
    (0..count)
        .map(|_| streams.subscribe_tracked::<Quote>(name).unwrap())
        .collect()
}

fn current_thread_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn subscriber_label(subscribers: usize) -> String {
    if subscribers == 1 {
        "1_subscriber".to_owned()
    } else {
        format!("{subscribers}_subscribers")
    }
}

const SUBSCRIBER_COUNTS: [usize; 2] = [1, 8];

fn latest_publish(c: &mut Criterion) {
    let runtime = current_thread_runtime();
    for subscribers in SUBSCRIBER_COUNTS {
        let streams = running_streams(&runtime);
        let (mut raw, mut observable) = latest_sides(&streams, subscribers);
        let mut group =
            c.benchmark_group(format!("latest_publish/{}", subscriber_label(subscribers)));
        bench_side(&mut group, "watch", &mut raw);
        bench_side(&mut group, "observable", &mut observable);
        group.finish();
        stop(&runtime, &streams);
    }
}

fn event_publish(c: &mut Criterion) {
    let runtime = current_thread_runtime();
    for subscribers in SUBSCRIBER_COUNTS {
        let streams = running_streams(&runtime);
        let (mut raw, mut observable) = event_sides(&streams, subscribers);
        let mut group =
            c.benchmark_group(format!("event_publish/{}", subscriber_label(subscribers)));
        bench_side(&mut group, "broadcast", &mut raw);
        bench_side(&mut group, "observable", &mut observable);
        group.finish();
        assert_eq!(streams.counters("trades").unwrap().lagged, 0);
        stop(&runtime, &streams);
    }
}

/// The drift-free paired check (see the crate docs).
fn paired_check() {
    let runtime = current_thread_runtime();
    println!("paired check (median ns per publish, alternating batches of {BATCH}):");
    for subscribers in SUBSCRIBER_COUNTS {
        let label = subscriber_label(subscribers);
        let streams = running_streams(&runtime);
        let (mut raw, mut observable) = latest_sides(&streams, subscribers);
        let (raw_ns, observable_ns) = paired(&mut raw, &mut observable);
        println!(
            "  latest_publish/{label}: watch {raw_ns:.2} ns, observable {observable_ns:.2} ns, ratio {:.3}",
            observable_ns / raw_ns
        );
        let (mut raw, mut observable) = event_sides(&streams, subscribers);
        let (raw_ns, observable_ns) = paired(&mut raw, &mut observable);
        println!(
            "  event_publish/{label}: broadcast {raw_ns:.2} ns, observable {observable_ns:.2} ns, ratio {:.3}",
            observable_ns / raw_ns
        );
        stop(&runtime, &streams);
    }
}

criterion_group!(benches, latest_publish, event_publish);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if benches::check_requested("paired") {
        paired_check();
    }
}
