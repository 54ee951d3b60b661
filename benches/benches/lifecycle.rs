//! lifecycle-core against tokio's own primitives, each comparison one criterion group so both
//! sides run in the same process on the same (noisy) machine:
//!
//! - `spawn/{current_thread,multi_thread}`: spawn 1,000 trivial tasks and wait for all, through
//!   `tokio::spawn`, `JoinSet`, `TaskTracker`, `TaskTracker` with the names and start times a
//!   user keeps to match `TaskManager` (`task_tracker_named`: a `Mutex<HashMap<id, (name,
//!   Instant)>>` filled at spawn and emptied at the end) and `TaskManager`.
//! - `shutdown/{1,100,10000}`: from the shutdown request to every idle task joined, through
//!   `JoinSet::shutdown` (abort), `CancellationToken` + `TaskTracker`, tokio-graceful-shutdown
//!   (0.19, the maintained line) and `TaskManager::shutdown`.
//! - `signal_check`: the hot-loop check, against a relaxed atomic load and
//!   `CancellationToken::is_cancelled`.
//!
//! Criterion measures each function seconds apart, and the load of a shared machine drifts in
//! between. After criterion, paired checks (skipped with `--list`, `--test`, or a filter that
//! matches neither `spawn/paired` nor `shutdown/paired`) alternate samples of `TaskManager`
//! and its anchor in one loop and print the median of each and their ratio: the drift-free
//! comparison the goals are judged by.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group};
use lifecycle_core::{ShutdownSignal, TaskManager};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;
use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const SPAWNS: usize = 1_000;

fn runtimes() -> [(&'static str, Runtime); 2] {
    [
        (
            "current_thread",
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        ),
        (
            "multi_thread",
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
        ),
    ]
}

fn far_deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(60)
}

async fn spawn_tokio() {
    let mut handles = Vec::with_capacity(SPAWNS);
    for i in 0..SPAWNS {
        handles.push(tokio::spawn(async move {
            black_box(i);
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
}

async fn spawn_join_set() {
    let mut set = JoinSet::new();
    for i in 0..SPAWNS {
        set.spawn(async move {
            black_box(i);
        });
    }
    while set.join_next().await.is_some() {}
}

async fn spawn_task_tracker() {
    let tracker = TaskTracker::new();
    for i in 0..SPAWNS {
        tracker.spawn(async move {
            black_box(i);
        });
    }
    tracker.close();
    tracker.wait().await;
}

/// What a user of tokio-util writes to know, like `TaskManager`, which tasks run and since
/// when: every task entered by id with its name and start time, and removed at its end.
async fn spawn_task_tracker_named() {
    type Running = Mutex<HashMap<u64, (&'static str, Instant)>>;
    let tracker = TaskTracker::new();
    let running: Arc<Running> = Arc::default();
    for i in 0..SPAWNS {
        let id = i as u64;
        running.lock().unwrap().insert(id, ("task", Instant::now()));
        let running = running.clone();
        tracker.spawn(async move {
            black_box(i);
            running.lock().unwrap().remove(&id);
        });
    }
    tracker.close();
    tracker.wait().await;
    assert!(running.lock().unwrap().is_empty());
}

async fn spawn_task_manager() {
    let tasks = TaskManager::new("bench");
    for i in 0..SPAWNS {
        tasks
            .spawn("task", async move {
                black_box(i);
            })
            .unwrap();
    }
    let _ = black_box(tasks.shutdown(far_deadline()).await);
}

fn spawn_cost(c: &mut Criterion) {
    for (flavor, rt) in runtimes() {
        let mut group = c.benchmark_group(format!("spawn/{flavor}"));
        group.throughput(criterion::Throughput::Elements(SPAWNS as u64));
        group.bench_function("tokio_spawn", |b| b.to_async(&rt).iter(spawn_tokio));
        group.bench_function("join_set", |b| b.to_async(&rt).iter(spawn_join_set));
        group.bench_function("task_tracker", |b| b.to_async(&rt).iter(spawn_task_tracker));
        group.bench_function("task_tracker_named", |b| {
            b.to_async(&rt).iter(spawn_task_tracker_named)
        });
        group.bench_function("task_manager", |b| b.to_async(&rt).iter(spawn_task_manager));
        group.finish();
    }
}

/// One spawn measurement, as a function pointer (so both sides of a pair share a type).
type SpawnFn = fn() -> Pin<Box<dyn Future<Output = ()>>>;
/// The untimed setup of one shutdown measurement, for `n` idle tasks.
type SetupFn = fn(usize) -> Pin<Box<dyn Future<Output = Trigger>>>;

/// The timed part of one shutdown measurement: from the request to all joined.
type Trigger = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>>>;

fn trigger<F: Future<Output = ()> + 'static>(shutdown: impl FnOnce() -> F + 'static) -> Trigger {
    Box::new(move || Box::pin(shutdown()))
}

/// One shutdown of idle tasks: `setup` spawns them (untimed) and returns the trigger, which the
/// timer covers.
fn one_shutdown<F: Future<Output = Trigger>>(rt: &Runtime, setup: F) -> Duration {
    rt.block_on(async {
        let trigger = setup.await;
        let begun = Instant::now();
        trigger().await;
        begun.elapsed()
    })
}

/// Waits until `started` reaches `n` (every task is parked on its signal).
async fn all_started(started: &AtomicUsize, n: usize) {
    while started.load(Ordering::Acquire) < n {
        tokio::task::yield_now().await;
    }
}

async fn idle_join_set(n: usize) -> Trigger {
    let started = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for _ in 0..n {
        let started = started.clone();
        set.spawn(async move {
            started.fetch_add(1, Ordering::Release);
            std::future::pending::<()>().await
        });
    }
    all_started(&started, n).await;
    trigger(move || async move { set.shutdown().await })
}

async fn idle_token_tracker(n: usize) -> Trigger {
    let started = Arc::new(AtomicUsize::new(0));
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    for _ in 0..n {
        let (started, token) = (started.clone(), token.clone());
        tracker.spawn(async move {
            started.fetch_add(1, Ordering::Release);
            token.cancelled().await
        });
    }
    all_started(&started, n).await;
    trigger(move || async move {
        token.cancel();
        tracker.close();
        tracker.wait().await;
    })
}

async fn idle_task_manager(n: usize) -> Trigger {
    let started = Arc::new(AtomicUsize::new(0));
    let tasks = TaskManager::new("bench");
    for _ in 0..n {
        let (started, signal) = (started.clone(), tasks.signal().clone());
        tasks
            .spawn("idle", async move {
                started.fetch_add(1, Ordering::Release);
                signal.triggered().await
            })
            .unwrap();
    }
    all_started(&started, n).await;
    trigger(move || async move {
        let report = tasks.shutdown(far_deadline()).await;
        assert_eq!(report.counts.stopped, n as u64);
    })
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn idle_graceful_shutdown(n: usize) -> Trigger {
    let started = Arc::new(AtomicUsize::new(0));
    let token = CancellationToken::new();
    let counter = started.clone();
    let toplevel = Toplevel::<BoxError>::new_with_shutdown_token(
        async move |s: &mut SubsystemHandle<BoxError>| {
            for _ in 0..n {
                let counter = counter.clone();
                s.start(SubsystemBuilder::new(
                    "idle",
                    async move |h: &mut SubsystemHandle<BoxError>| {
                        counter.fetch_add(1, Ordering::Release);
                        h.on_shutdown_requested().await;
                        Ok::<(), BoxError>(())
                    },
                ));
            }
        },
        token.clone(),
    );
    let running = tokio::spawn(toplevel.handle_shutdown_requests(Duration::from_secs(60)));
    all_started(&started, n).await;
    trigger(move || async move {
        token.cancel();
        running.await.unwrap().unwrap();
    })
}

fn shutdown_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

const SHUTDOWN_SIZES: [usize; 3] = [1, 100, 10_000];

fn shutdown_cost(c: &mut Criterion) {
    let rt = shutdown_runtime();
    let mut group = c.benchmark_group("shutdown");
    for n in SHUTDOWN_SIZES {
        if n == 10_000 {
            group.sample_size(20);
        }
        let timed = |setup: SetupFn| {
            let rt = &rt;
            move |iters: u64| {
                (0..iters)
                    .map(|_| one_shutdown(rt, setup(n)))
                    .sum::<Duration>()
            }
        };
        group.bench_with_input(BenchmarkId::new("join_set_abort", n), &n, |b, _| {
            b.iter_custom(timed(|n| Box::pin(idle_join_set(n))))
        });
        group.bench_with_input(BenchmarkId::new("token_tracker", n), &n, |b, _| {
            b.iter_custom(timed(|n| Box::pin(idle_token_tracker(n))))
        });
        group.bench_with_input(BenchmarkId::new("task_manager", n), &n, |b, _| {
            b.iter_custom(timed(|n| Box::pin(idle_task_manager(n))))
        });
        group.bench_with_input(
            BenchmarkId::new("tokio_graceful_shutdown", n),
            &n,
            |b, _| b.iter_custom(timed(|n| Box::pin(idle_graceful_shutdown(n)))),
        );
    }
    group.finish();
}

/// Prints one paired comparison: `label: anchor X us, task_manager Y us, ratio R`.
fn print_paired(label: &str, anchor: &str, paired: benches::Paired) {
    println!(
        "  {label}: {anchor} {:.2} us, task_manager {:.2} us, ratio {:.3}",
        paired.anchor * 1e6,
        paired.ours * 1e6,
        paired.ratio()
    );
}

/// Spawn cost, paired: `TaskManager` against `TaskTracker` and against the named tracker.
fn paired_spawn() {
    const WARMUP: usize = 50;
    const ROUNDS: usize = 1_000;
    println!("paired check spawn ({ROUNDS} alternating samples of {SPAWNS} spawns, medians):");
    for (flavor, rt) in runtimes() {
        let time = |spawn: SpawnFn| {
            rt.block_on(async {
                let begun = Instant::now();
                spawn().await;
                begun.elapsed()
            })
        };
        let anchors: [(&str, SpawnFn); 2] = [
            ("task_tracker", || Box::pin(spawn_task_tracker())),
            (
                "task_tracker_named",
                || Box::pin(spawn_task_tracker_named()),
            ),
        ];
        for (anchor, spawn) in anchors {
            let result = benches::paired(
                WARMUP,
                ROUNDS,
                || time(spawn),
                || time(|| Box::pin(spawn_task_manager())),
            );
            print_paired(&format!("spawn/{flavor} vs {anchor}"), anchor, result);
        }
    }
}

/// Shutdown latency, paired: `TaskManager` against `CancellationToken` + `TaskTracker`.
fn paired_shutdown() {
    let rt = shutdown_runtime();
    println!("paired check shutdown (alternating samples, request to all joined, medians):");
    for n in SHUTDOWN_SIZES {
        let rounds = match n {
            1 => 4_000,
            100 => 1_000,
            _ => 60,
        };
        let result = benches::paired(
            rounds / 20,
            rounds,
            || one_shutdown(&rt, idle_token_tracker(n)),
            || one_shutdown(&rt, idle_task_manager(n)),
        );
        print_paired(
            &format!("shutdown/{n} ({rounds} pairs)"),
            "token_tracker",
            result,
        );
    }
}

fn signal_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("signal_check");
    let flag = AtomicBool::new(false);
    let signal = ShutdownSignal::new();
    let token = CancellationToken::new();
    group.bench_function("relaxed_atomic_load", |b| {
        b.iter(|| black_box(&flag).load(Ordering::Relaxed))
    });
    group.bench_function("shutdown_signal", |b| {
        b.iter(|| black_box(&signal).is_triggered())
    });
    group.bench_function("cancellation_token", |b| {
        b.iter(|| black_box(&token).is_cancelled())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = spawn_cost, shutdown_cost, signal_check
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if benches::check_requested("spawn/paired") {
        paired_spawn();
    }
    if benches::check_requested("shutdown/paired") {
        paired_shutdown();
    }
}
