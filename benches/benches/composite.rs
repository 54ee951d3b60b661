//! exchange-composite end to end against the embedded venue (exchange-sim on loopback):
//!
//! - `full_stack_shutdown`: a started `ExchangeContext` (public and private exchanges, shared
//!   REST client and rate limiter) with two resting orders of ours; timed from the shutdown
//!   request to the report only: cancel and confirm both orders, close the private socket and
//!   delete the listen key, close the public socket, complete the streams, stop the REST
//!   client and the rate limiter. Every sample is kept; the median and p99 are printed
//!   (goal: median at most 5 ms, p99 at most 20 ms).
//! - `create_use_stop_cycles` (a timed loop after criterion, only under `cargo bench`): 1,000
//!   consecutive create-start-place-stop cycles of a full context in one process; prints the
//!   runtime's alive-task count before and after, and resident memory after 100 and after
//!   1,000 cycles (flat memory: nothing accumulates per cycle).
//!
//! The venue's rate limits are off: a fresh client (and limiter) per cycle would otherwise
//! exceed MEXC's per-IP market-data budget within a few dozen cycles.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group};
use exchange_composite::{
    AssetName, ExchangeConfig, ExchangeContext, ExchangeError, OrderRequest, Side, Symbol,
};
use exchange_rest::Credentials;
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, RateLimitConfig, SimConfig, SimVenue};
use rust_decimal::Decimal;
use tokio::runtime::Runtime;
use tokio::time::Instant;

const BUDGET: Duration = Duration::from_secs(10);
const CYCLES: usize = 1_000;
const CYCLES_CHECKPOINT: usize = 100;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn hifi() -> Symbol {
    Symbol::spot(
        AssetName::new("HIFI").unwrap(),
        AssetName::new("USDT").unwrap(),
    )
}

/// The venue, without rate limits; it keeps `closed_kept` closed orders per account.
async fn venue(closed_kept: usize) -> SimVenue {
    SimVenue::start(SimConfig {
        rate_limits: RateLimitConfig::disabled(),
        closed_orders_kept_per_account: closed_kept,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn config_for(sim: &SimVenue) -> ExchangeConfig {
    let mut config = ExchangeConfig::new(sim.rest_url(), sim.ws_url())
        .symbol(hifi())
        .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET))
        .shutdown_budget(BUDGET);
    config.reconnect_backoff = Duration::from_millis(20);
    config.cancel_retry_interval = Duration::from_millis(20);
    config
}

/// A far bid or ask: it rests and never fills.
fn resting(side: Side) -> OrderRequest {
    let price = match side {
        Side::Buy => Decimal::new(5, 2),
        Side::Sell => Decimal::new(2, 1),
    };
    OrderRequest::limit_maker(hifi(), side, price, Decimal::from(30))
}

fn open_orders(sim: &SimVenue) -> usize {
    sim.open_orders(DEMO_API_KEY).unwrap_or_default().len()
}

/// One full-stack shutdown: build and start a context, place two orders, wait until the venue
/// lists both, then time `shutdown_all` alone.
async fn one_shutdown(sim: &SimVenue, config: &ExchangeConfig) -> Duration {
    let (exchanges, system) = ExchangeContext::new(config).unwrap().into_parts();
    system.start_all().await.unwrap();
    exchanges
        .private
        .place_order(resting(Side::Buy))
        .await
        .unwrap();
    exchanges
        .private
        .place_order(resting(Side::Sell))
        .await
        .unwrap();
    let waited = Instant::now();
    while open_orders(sim) < 2 {
        assert!(waited.elapsed() < Duration::from_secs(5), "orders not open");
        tokio::task::yield_now().await;
    }
    let begun = Instant::now();
    let report = system.shutdown_all(BUDGET).await;
    let elapsed = begun.elapsed();
    assert!(report.is_clean(), "{report}");
    assert_eq!(open_orders(sim), 0, "the shutdown cancelled both orders");
    elapsed
}

fn full_stack_shutdown(c: &mut Criterion) {
    let rt = runtime();
    let sim = rt.block_on(venue(SimConfig::default().closed_orders_kept_per_account));
    let config = config_for(&sim);
    let samples: Arc<Mutex<Vec<Duration>>> = Arc::default();

    let mut group = c.benchmark_group("full_stack_shutdown");
    // Setup (start, two placements) costs several times the timed part: flat sampling and a
    // short warm-up keep the run to about a minute.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(100);
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(1));
    group.bench_function("two_orders", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (sim, config, samples) = (&sim, &config, samples.clone());
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let elapsed = one_shutdown(sim, config).await;
                    samples.lock().unwrap().push(elapsed);
                    total += elapsed;
                }
                total
            }
        });
    });
    group.finish();

    let mut all = std::mem::take(&mut *samples.lock().unwrap());
    if benches::bench_mode() && !all.is_empty() {
        all.sort();
        let median = percentile(&all, 50.0);
        let p99 = percentile(&all, 99.0);
        println!(
            "full_stack_shutdown: {} shutdowns (warm-up included): median {:.3} ms (goal 5 ms, {:.2}x of it), p99 {:.3} ms (goal 20 ms, {:.2}x), max {:.3} ms",
            all.len(),
            ms(median),
            ms(median) / 5.0,
            ms(p99),
            ms(p99) / 20.0,
            ms(all[all.len() - 1]),
        );
    }
    rt.block_on(async move {
        sim.shutdown().await;
    });
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Resident memory of this process in KiB (`/proc/self/statm`, 4 KiB pages).
fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits (up to 5 s) for the alive-task count to fall to `baseline`; returns the count.
async fn settle_tasks(baseline: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive_tasks() > baseline && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    alive_tasks()
}

/// One cycle: build and start a full context, place an order, stop (the stop cancels it).
async fn one_cycle(sim: &SimVenue, config: &ExchangeConfig, cycle: usize) {
    let outcome = ExchangeContext::run(config, |ex| async move {
        ex.private.place_order(resting(Side::Buy)).await?;
        Ok::<_, ExchangeError>(())
    })
    .await
    .unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
    assert!(
        outcome.report.is_clean(),
        "cycle {cycle}: {}",
        outcome.report
    );
    assert_eq!(open_orders(sim), 0, "cycle {cycle} left an order");
}

fn create_use_stop_cycles() {
    let rt = runtime();
    rt.block_on(async {
        let before_venue = alive_tasks();
        // The venue keeps few closed orders: its history must not grow with the cycles and
        // hide (or fake) growth on our side; both run in this process.
        let sim = venue(16).await;
        let config = config_for(&sim);
        // A warm-up cycle first: the venue's HTTP server spawns a task of its own once it
        // runs (after `start` returned), which the baseline must include.
        one_cycle(&sim, &config, 0).await;
        let waited = Instant::now();
        while sim.faults().websocket_connections() > 0 {
            assert!(waited.elapsed() < Duration::from_secs(5), "sockets left open");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let before = alive_tasks();
        let mut durations = Vec::with_capacity(CYCLES);
        let (mut at_checkpoint, mut at_half) = (0, 0);
        let begun = Instant::now();
        for cycle in 1..=CYCLES {
            let started = Instant::now();
            one_cycle(&sim, &config, cycle).await;
            durations.push(started.elapsed());
            if cycle == CYCLES_CHECKPOINT {
                at_checkpoint = resident_kib();
            }
            if cycle == CYCLES / 2 {
                at_half = resident_kib();
            }
        }
        let total = begun.elapsed();
        let after_all = resident_kib();
        let after = settle_tasks(before).await;
        sim.shutdown().await;
        let after_venue = settle_tasks(before_venue).await;
        durations.sort();
        println!(
            "create_use_stop_cycles: {CYCLES} cycles in {:.1} s (median cycle {:.2} ms, p99 {:.2} ms)",
            total.as_secs_f64(),
            ms(percentile(&durations, 50.0)),
            ms(percentile(&durations, 99.0)),
        );
        println!(
            "  runtime alive tasks: {before} before the cycles, {after} after (venue idle); {before_venue} before the venue, {after_venue} after it stopped"
        );
        println!(
            "  resident memory: {at_checkpoint} KiB after {CYCLES_CHECKPOINT} cycles, {at_half} KiB after {}, {after_all} KiB after {CYCLES} ({:+} KiB, {:.3}x)",
            CYCLES / 2,
            after_all as i64 - at_checkpoint as i64,
            after_all as f64 / at_checkpoint as f64,
        );
        assert!(after <= before, "tasks leaked: {after} alive, {before} before");
        assert!(after_venue <= before_venue, "tasks leaked: {after_venue} alive after the venue stopped");
    });
}

criterion_group!(benches, full_stack_shutdown);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if benches::check_requested("create_use_stop_cycles") {
        create_use_stop_cycles();
    }
}
