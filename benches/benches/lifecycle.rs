//! lifecycle-core against tokio's own primitives, each comparison one criterion group so both
//! sides run in the same process on the same (noisy) machine:
//!
//! - `spawn/{current_thread,multi_thread}`: spawn 1,000 trivial tasks and wait for all, through
//!   `tokio::spawn`, `JoinSet`, `TaskTracker` and `TaskManager`.
//! - `shutdown/{1,100,10000}`: from the shutdown request to every idle task joined, through
//!   `JoinSet::shutdown` (abort), `CancellationToken` + `TaskTracker`, tokio-graceful-shutdown
//!   and `TaskManager::shutdown`.
//! - `signal_check`: the hot-loop check, against a relaxed atomic load and
//!   `CancellationToken::is_cancelled`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
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

fn spawn_cost(c: &mut Criterion) {
    for (flavor, rt) in runtimes() {
        let mut group = c.benchmark_group(format!("spawn/{flavor}"));
        group.throughput(criterion::Throughput::Elements(SPAWNS as u64));
        group.bench_function("tokio_spawn", |b| {
            b.to_async(&rt).iter(|| async {
                let mut handles = Vec::with_capacity(SPAWNS);
                for i in 0..SPAWNS {
                    handles.push(tokio::spawn(async move {
                        black_box(i);
                    }));
                }
                for handle in handles {
                    handle.await.unwrap();
                }
            })
        });
        group.bench_function("join_set", |b| {
            b.to_async(&rt).iter(|| async {
                let mut set = JoinSet::new();
                for i in 0..SPAWNS {
                    set.spawn(async move {
                        black_box(i);
                    });
                }
                while set.join_next().await.is_some() {}
            })
        });
        group.bench_function("task_tracker", |b| {
            b.to_async(&rt).iter(|| async {
                let tracker = TaskTracker::new();
                for i in 0..SPAWNS {
                    tracker.spawn(async move {
                        black_box(i);
                    });
                }
                tracker.close();
                tracker.wait().await;
            })
        });
        group.bench_function("task_manager", |b| {
            b.to_async(&rt).iter(|| async {
                let tasks = TaskManager::new("bench");
                for i in 0..SPAWNS {
                    tasks
                        .spawn("task", async move {
                            black_box(i);
                        })
                        .unwrap();
                }
                black_box(tasks.shutdown(far_deadline()).await);
            })
        });
        group.finish();
    }
}

/// The timed part of one shutdown measurement: from the request to all joined.
type Trigger = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>>>;

fn trigger<F: Future<Output = ()> + 'static>(shutdown: impl FnOnce() -> F + 'static) -> Trigger {
    Box::new(move || Box::pin(shutdown()))
}

/// Measures `iters` shutdowns of idle tasks; `setup` spawns them (untimed) and returns the
/// trigger, which the timer covers.
fn time_shutdowns<S, F>(rt: &Runtime, iters: u64, setup: S) -> Duration
where
    S: Fn() -> F,
    F: Future<Output = Trigger>,
{
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        total += rt.block_on(async {
            let trigger = setup().await;
            let begun = Instant::now();
            trigger().await;
            begun.elapsed()
        });
    }
    total
}

/// Waits until `started` reaches `n` (every task is parked on its signal).
async fn all_started(started: &AtomicUsize, n: usize) {
    while started.load(Ordering::Acquire) < n {
        tokio::task::yield_now().await;
    }
}

fn shutdown_cost(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("shutdown");
    for n in [1usize, 100, 10_000] {
        if n == 10_000 {
            group.sample_size(20);
        }
        group.bench_with_input(BenchmarkId::new("join_set_abort", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                time_shutdowns(&rt, iters, || async move {
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
                })
            })
        });
        group.bench_with_input(BenchmarkId::new("token_tracker", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                time_shutdowns(&rt, iters, || async move {
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
                })
            })
        });
        group.bench_with_input(BenchmarkId::new("task_manager", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                time_shutdowns(&rt, iters, || async move {
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
                })
            })
        });
        group.bench_with_input(BenchmarkId::new("tokio_graceful_shutdown", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                time_shutdowns(&rt, iters, || async move {
                    let started = Arc::new(AtomicUsize::new(0));
                    let token = CancellationToken::new();
                    let counter = started.clone();
                    let toplevel = Toplevel::<Box<dyn std::error::Error + Send + Sync>>::new_with_shutdown_token(
                        async move |s: &mut SubsystemHandle<Box<dyn std::error::Error + Send + Sync>>| {
                            for _ in 0..n {
                                let counter = counter.clone();
                                s.start(SubsystemBuilder::new("idle", async move |h: &mut SubsystemHandle<Box<dyn std::error::Error + Send + Sync>>| {
                                    counter.fetch_add(1, Ordering::Release);
                                    h.on_shutdown_requested().await;
                                    Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
                                }));
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
                })
            })
        });
    }
    group.finish();
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
criterion_main!(benches);
