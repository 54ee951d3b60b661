//! The search: the real client crates and the real venue in a deterministic network
//! simulation (turmoil), under fault schedules drawn from seeds, with the stack's invariants
//! checked on every seed.
//!
//! Per seed, a turmoil simulation seeded with it runs the embedded venue (`exchange-sim`
//! over [`TurmoilListener`]) as the host `venue` and a trading client as the host `trader`:
//! an [`ExchangeContext`]'s public and private exchanges under a [`Runner`] (injected signals,
//! no watchdog: it is an OS thread) with a quoting body like mm-demo's cycle (place both
//! sides at the touch, follow fills, cancel, requote). The seed draws the schedule:
//! partitions and repairs, held and released traffic, latency ranges, a venue crash and
//! restart (books and accounts kept: [`SimState`]), listen-key expiry, 5xx and 429 bursts and
//! REST delays (the venue's fault handle), a stall, a malformed frame, the shutdown request at
//! a random moment, sometimes a second signal during the shutdown, and a shutdown budget
//! between 200 ms and 10 s.
//!
//! Checked on every seed:
//! - the shutdown returns by its budget (simulated time, plus the orchestrator's slack);
//! - the runtime's alive-task count and every TaskManager registry are back to their baseline;
//! - the venue holds no open order with our prefix except those the report names as
//!   unconfirmed, and those only when the schedule cut the venue off late in the budget (or a
//!   second signal cut the shutdown short); a successor run (after the network healed) clears
//!   them at its start and stops clean;
//! - every order the body saw filled is filled on the venue;
//! - no panic anywhere (a hook counts them, caught or not);
//! - determinism: a seed run twice gives the same trace hash.
//!
//! Every run has a process of its own (this test binary, run again for one seed): nothing of
//! an earlier run, such as tokio's process-wide task ids, which order the teardown of a
//! crashed host's tasks, can change a later one, and a replay is the run the soak made.
//! `QUIESCE_SIM_JOBS` (default 2) runs that many at once. The parent kills a child that
//! outlives a wall-clock limit (`QUIESCE_SIM_SEED_TIMEOUT_S`, default 120 s optimised, 600 s
//! unoptimised) or outgrows a resident-memory limit (`QUIESCE_SIM_SEED_MAX_RSS_MB`, default
//! 2048, where `/proc` tells) and reports the seed as failing.
//!
//! Built with `RUSTFLAGS="--cfg tokio_unstable"` (turmoil then seeds every simulated runtime's
//! random source) it runs [`CI_SEEDS`] seeds, each twice; `.ci/run` does that in its own target
//! directory. A plain `cargo test` runs [`SMOKE_SEEDS`] seeds once each. The soak runs any
//! range: `RUSTFLAGS="--cfg tokio_unstable" CARGO_TARGET_DIR=target/sim QUIESCE_SIM_SEED_START=0
//! QUIESCE_SIM_SEEDS=10000 cargo test --release -p exchange-composite --test simulation --
//! --nocapture` prints seeds per second and every failing seed with the command that replays
//! it with full tracing (`QUIESCE_SIM_CHILD_SEED=<seed> QUIESCE_SIM_TRACE=1 ... one_seed`).

#![allow(
    clippy::print_stderr,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::large_futures,
    missing_docs
)]

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use std::time::Duration;

use exchange_composite::{
    AssetName, ExchangeConfig, ExchangeContext, Exchanges, OrderRequest, OrderStatus, Side, Symbol,
};
use exchange_rest::{Credentials, RestTransport};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimState, SimVenue, TurmoilListener};
use exchange_ws::WsConnector;
use futures::StreamExt;
use lifecycle_core::{
    DependencyAwareShutdown, ExitStatus, RunOutcome, Runner, ShutdownSignal, Signal, WallClock,
    signal_channel,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rust_decimal::Decimal;
use tokio::sync::watch;
use tokio::time::Instant;

/// Seeds the search runs by default when built with `--cfg tokio_unstable` (as `.ci/run`
/// does): every invariant, determinism included.
const CI_SEEDS: u64 = 200;
/// Seeds a plain `cargo test` runs: every invariant but determinism. Without
/// `--cfg tokio_unstable` turmoil cannot seed tokio's own random source (the one behind
/// `select!` without `biased;` and the wake order of a `watch` channel's waiters), so two runs
/// of one seed may interleave differently.
const SMOKE_SEEDS: u64 = 20;
/// Whether runs repeat exactly (see [`SMOKE_SEEDS`]).
const DETERMINISTIC: bool = cfg!(tokio_unstable);
/// Seeds that once failed, each pinned with the bug it found:
/// - 1: the order guard's tracked orders in a hash map: cancels and the report in a
///   different order every run;
/// - 45, 132: unbiased `select!`s in the runner and `Lifecycle`, and tokio's unseeded random
///   source (a `watch` channel's wake order): runs of one seed interleaved differently;
/// - 85, 111: the runner abandoned, but did not drop, an application that overran its grace,
///   so its order placement in flight held the order guard's stop until the deadline;
/// - 143: a 429 burst's `Retry-After` pauses (the checker's model of "cut off");
/// - 583: a crashed venue's connections torn down in an order set by tokio's process-wide
///   task ids: each run now gets its own process;
/// - 897: a signal during a start held by the network: the runner waited for that start past
///   the shutdown's budget (4.7 s for 2.6 s);
/// - 1286, 2940: the body placed again at once after both placements were refused at once
///   (a crashed venue's refused connections, then the local limiter's refusals): it spun in
///   one simulated instant, time and the signal never came, its trace grew without bound;
/// - 1442, 2992: the stop's sweep began a moment before a partition's repair; its round's
///   calls, lost in the partition (turmoil drops, and nothing re-sends), held it until the
///   deadline with the venue reachable again: now re-sent while unanswered;
/// - 2287: placements the venue held for 2 s, dropped with the body at its grace: the sweep
///   took them for landed and confirmed none open; the venue created them a moment later
///   (1286 also checks the other side: such a placement named unconfirmed is justified).
const REGRESSION_SEEDS: &[u64] = &[
    1, 45, 85, 111, 132, 143, 583, 897, 1286, 1442, 2287, 2940, 2992,
];
/// The simulated wall clock's epoch (2026-01-01T00:00:00Z).
const EPOCH_MS: i64 = 1_767_225_600_000;
/// Our client-order-id prefix.
const PREFIX: &str = "sim-";
/// turmoil's step.
const TICK: Duration = Duration::from_millis(1);
/// A run that has not ended after this much simulated time hangs.
const SIMULATION_LIMIT: Duration = Duration::from_secs(90);

/// One fault of a schedule.
#[derive(Debug, Clone, PartialEq)]
enum Fault {
    Partition,
    Repair,
    Hold,
    Release,
    MaxLatency(Duration),
    Crash,
    Bounce,
    ExpireListenKeys,
    FailRest { count: u32, status: u16 },
    DelayRest(Duration),
    Stall(bool),
    Malformed,
}

/// What a seed draws.
#[derive(Debug, Clone)]
struct Schedule {
    /// Faults at simulated times, in order.
    faults: Vec<(Duration, Fault)>,
    /// When the first signal is sent.
    shutdown_at: Duration,
    /// A second signal this long after the first.
    second_signal: Option<Duration>,
    /// The shutdown budget.
    budget: Duration,
    /// When everything is healed for the successor run.
    heal_at: Duration,
}

fn draw(seed: u64) -> Schedule {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_51ed_0000_0000);
    let ms = |rng: &mut StdRng, lo: u64, hi: u64| Duration::from_millis(rng.random_range(lo..=hi));
    let shutdown_at = ms(&mut rng, 200, 5_000);
    let budget = ms(&mut rng, 200, 10_000);
    let second_signal = rng
        .random_bool(0.15)
        .then(|| ms(&mut rng, 0, budget.as_millis() as u64));
    let horizon = (shutdown_at + budget).as_millis() as u64;
    let mut faults = Vec::new();
    for _ in 0..rng.random_range(0..=6u32) {
        let at = ms(&mut rng, 0, horizon);
        let lasting = ms(&mut rng, 10, 3_000);
        match rng.random_range(0..10u32) {
            0 => faults.extend([(at, Fault::Partition), (at + lasting, Fault::Repair)]),
            1 => faults.extend([(at, Fault::Hold), (at + lasting, Fault::Release)]),
            2 => faults.extend([
                (at, Fault::MaxLatency(ms(&mut rng, 1, 400))),
                (at + lasting, Fault::MaxLatency(Duration::from_millis(1))),
            ]),
            3 => faults.extend([(at, Fault::Crash), (at + lasting, Fault::Bounce)]),
            4 => faults.push((at, Fault::ExpireListenKeys)),
            5 => faults.push((
                at,
                Fault::FailRest {
                    count: rng.random_range(1..=8),
                    status: [500, 502, 503, 429][rng.random_range(0..4usize)],
                },
            )),
            6 => faults.extend([
                (at, Fault::DelayRest(ms(&mut rng, 10, 2_000))),
                (at + lasting, Fault::DelayRest(Duration::ZERO)),
            ]),
            7 => faults.extend([
                (at, Fault::Stall(true)),
                (at + lasting, Fault::Stall(false)),
            ]),
            _ => faults.push((at, Fault::Malformed)),
        }
    }
    faults.sort_by_key(|(at, _)| *at);
    let last = faults.last().map_or(Duration::ZERO, |(at, _)| *at);
    let heal_at = (shutdown_at + budget).max(last) + Duration::from_millis(100);
    Schedule {
        faults,
        shutdown_at,
        second_signal,
        budget,
        heal_at,
    }
}

/// The spans of `schedule` in which the venue is cut off or too impaired to answer in time:
/// partitioned, held, crashed, stalled, REST delayed, latency of 50 ms or more, the 1.5 s after
/// a 5xx burst, and a second per 429 of a burst (the client's limiter pauses for each 429's
/// `Retry-After` before its next call meets the next 429).
fn impaired_spans(schedule: &Schedule) -> Vec<(Duration, Duration)> {
    let mut spans = Vec::new();
    let mut open: [Option<Duration>; 6] = [None; 6];
    let begin = |slot: usize, at: Duration, open: &mut [Option<Duration>; 6]| {
        open[slot].get_or_insert(at);
    };
    for (at, fault) in &schedule.faults {
        let mut end = |slot: usize, open: &mut [Option<Duration>; 6]| {
            if let Some(from) = open[slot].take() {
                spans.push((from, *at));
            }
        };
        match fault {
            Fault::Partition => begin(0, *at, &mut open),
            Fault::Repair => end(0, &mut open),
            Fault::Hold => begin(1, *at, &mut open),
            Fault::Release => end(1, &mut open),
            Fault::Crash => begin(2, *at, &mut open),
            Fault::Bounce => end(2, &mut open),
            Fault::Stall(true) => begin(3, *at, &mut open),
            Fault::Stall(false) => end(3, &mut open),
            Fault::DelayRest(delay) if !delay.is_zero() => begin(4, *at, &mut open),
            Fault::DelayRest(_) => end(4, &mut open),
            Fault::MaxLatency(latency) if *latency >= Duration::from_millis(50) => {
                begin(5, *at, &mut open);
            }
            Fault::MaxLatency(_) => end(5, &mut open),
            // A 429 pauses the client for its `Retry-After` (1 s) before the next call meets
            // the next one; 5xx bursts are retried at once.
            Fault::FailRest { count, status: 429 } => {
                spans.push((
                    *at,
                    *at + Duration::from_millis(1_100) * *count + Duration::from_millis(500),
                ));
            }
            Fault::FailRest { .. } => spans.push((*at, *at + Duration::from_millis(1_500))),
            Fault::ExpireListenKeys | Fault::Malformed => {}
        }
    }
    spans.extend(open.iter().flatten().map(|from| (*from, schedule.heal_at)));
    spans
}

/// Whether the venue is cut off or impaired (see [`impaired_spans`]) at some time in
/// `from..=to`.
fn cut_off_within(schedule: &Schedule, from: Duration, to: Duration) -> bool {
    impaired_spans(schedule)
        .iter()
        .any(|(start, end)| *start <= to && *end >= from)
}

/// What the trading host reports back to the driver.
#[derive(Debug, Default)]
struct ClientReport {
    /// The trace: lifecycle and order events in order.
    trace: Vec<String>,
    /// Orders the body saw filled (client ids).
    believed_filled: BTreeSet<String>,
    /// Simulated time the first run ended, and its outcome.
    ended_at: Option<Duration>,
    outcome: Option<RunOutcome>,
    /// Client ids the report names as not confirmed cancelled.
    unconfirmed: BTreeSet<String>,
    /// Of those, the ones named because their placement never answered and the venue may
    /// still carry it out.
    unconfirmed_in_flight: BTreeSet<String>,
    /// Open orders of ours on the venue when the run ended.
    open_at_end: BTreeSet<String>,
    /// Open orders of ours on the venue after the network healed (before the successor).
    open_after_heal: BTreeSet<String>,
    /// Problems the client found itself (tasks left, successor not clean, ...).
    problems: Vec<String>,
}

fn hifi() -> Symbol {
    Symbol::spot(
        AssetName::new("HIFI").unwrap(),
        AssetName::new("USDT").unwrap(),
    )
}

fn client_config(seed: u64, budget: Duration, clock: WallClock) -> ExchangeConfig {
    let mut config = ExchangeConfig::new("http://venue:80", "ws://venue:80/ws")
        .symbol(hifi())
        .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET))
        .client_order_id_prefix(PREFIX)
        .shutdown_budget(budget);
    config.ws_connector = WsConnector::Turmoil;
    config.rest_transport = RestTransport::Turmoil;
    config.clock = clock;
    config.backoff_seed = Some(seed);
    config.request_timeout = Duration::from_secs(2);
    config.start_timeout = Duration::from_secs(4);
    config.reconcile_timeout = Duration::from_secs(3);
    config
}

fn venue_config(seed: u64) -> SimConfig {
    let mut config = SimConfig::default();
    config.market.seed = seed;
    config.listen_keys.seed = Some(seed);
    config.clock = WallClock::simulated(EPOCH_MS + turmoil::elapsed().as_millis() as i64);
    config
}

fn ours(state: &SimState) -> BTreeSet<String> {
    state
        .open_orders(DEMO_API_KEY)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|o| o.client_order_id)
        .filter(|id| id.starts_with(PREFIX))
        .collect()
}

/// Client ids named in a report's text ("... client id ID) not confirmed cancelled ...").
fn named_unconfirmed(text: &str) -> BTreeSet<String> {
    text.match_indices("client id ")
        .filter_map(|(at, needle)| {
            let rest = &text[at + needle.len()..];
            let end = rest.find(')')?;
            Some(rest[..end].to_owned())
        })
        .filter(|id| id.starts_with(PREFIX))
        .collect()
}

/// How long the body pauses after a cycle that left nothing resting (both refused).
const REFUSED_PAUSE: Duration = Duration::from_millis(100);

/// Client ids named unconfirmed because their placement never answered and the venue may
/// still accept it (the order guard's wording).
fn named_in_flight(text: &str) -> BTreeSet<String> {
    text.split("; ")
        .filter(|part| part.contains("never answered its placement and may still accept it"))
        .flat_map(named_unconfirmed)
        .collect()
}

/// How long MEXC may still carry out a placement whose answer never came (its
/// `Venue::placement_window`: `recvWindow` plus a second).
const PLACEMENT_WINDOW: Duration = Duration::from_secs(6);

/// The quoting body: place both sides at the touch, follow the updates, cancel what rests,
/// requote; until the shutdown signal.
async fn quote(
    exchanges: Exchanges,
    stop: ShutdownSignal,
    report: Rc<RefCell<ClientReport>>,
) -> Result<(), String> {
    let symbol = hifi();
    let note = |line: String| report.borrow_mut().trace.push(line);
    let mut updates = match exchanges.private.subscribe_order_updates() {
        Ok(updates) => updates,
        Err(error) => return Err(error.to_string()),
    };
    let mut cycle = 0u32;
    while !stop.is_triggered() {
        cycle += 1;
        let ticker = tokio::select! {
            biased;
            () = stop.triggered() => break,
            ticker = exchanges.public.wait_for_book_ticker(&symbol, Duration::from_secs(2)) => ticker,
        };
        let ticker = match ticker {
            Ok(ticker)
                if ticker.bid_price > Decimal::ZERO && ticker.bid_price < ticker.ask_price =>
            {
                ticker
            }
            other => {
                note(format!("cycle {cycle}: no touch ({})", other.is_ok()));
                tokio::select! {
                    biased;
                    () = stop.triggered() => break,
                    () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                }
            }
        };
        let Ok(rules) = exchanges.public.rules(&symbol) else {
            break;
        };
        let amount = Decimal::new(21, 1);
        let (Ok(bid_qty), Ok(ask_qty)) = (
            rules.quantity_for_notional(amount, ticker.bid_price),
            rules.quantity_for_notional(amount, ticker.ask_price),
        ) else {
            break;
        };
        let (buy, sell) = tokio::join!(
            exchanges.private.place_order(OrderRequest::limit_maker(
                symbol.clone(),
                Side::Buy,
                ticker.bid_price,
                bid_qty
            )),
            exchanges.private.place_order(OrderRequest::limit_maker(
                symbol.clone(),
                Side::Sell,
                ticker.ask_price,
                ask_qty
            )),
        );
        let mut resting = Vec::new();
        for (side, placed) in [("buy", buy), ("sell", sell)] {
            match placed {
                Ok(order) => {
                    let id = order
                        .client_order_id
                        .as_ref()
                        .map(|id| id.as_str().to_owned())
                        .unwrap_or_default();
                    note(format!(
                        "cycle {cycle}: {side} {id} placed at {} ({:?})",
                        order.price, order.status
                    ));
                    if order.status == OrderStatus::Filled {
                        report.borrow_mut().believed_filled.insert(id.clone());
                    }
                    if order.status.is_open() {
                        resting.push(id);
                    }
                }
                Err(error) => note(format!(
                    "cycle {cycle}: {side} refused: {}",
                    kind(&error.to_string())
                )),
            }
        }
        // Nothing rests (both refused): pause before the next cycle, as mm-demo's backs off. A refusal can
        // come at once without time passing (the local limiter's, a crashed venue's refused
        // connection), and a body that placed again at once spun in one simulated instant:
        // the runtime never idle, so simulated time (and the driver's signal) never came, and
        // its trace grew without bound (seeds 1286 and 2940).
        if resting.is_empty() {
            tokio::select! {
                biased;
                () = stop.triggered() => break,
                () = tokio::time::sleep(REFUSED_PAUSE) => continue,
            }
        }
        // Follow the updates for a while.
        let follow_until = Instant::now() + Duration::from_millis(400);
        while !resting.is_empty() {
            let update = tokio::select! {
                biased;
                () = stop.triggered() => break,
                () = tokio::time::sleep_until(follow_until) => break,
                update = updates.next() => update,
            };
            let update = match update {
                Some(Ok(update)) => update,
                Some(Err(lagged)) => {
                    note(format!("updates lagged: {lagged}"));
                    continue;
                }
                None => break,
            };
            let Some(id) = update
                .client_order_id
                .as_ref()
                .map(|id| id.as_str().to_owned())
            else {
                continue;
            };
            note(format!(
                "update {id}: {:?} {}",
                update.status, update.filled_quantity
            ));
            if update.status == OrderStatus::Filled {
                report.borrow_mut().believed_filled.insert(id.clone());
            }
            if !update.status.is_open() {
                resting.retain(|r| *r != id);
            }
        }
        if stop.is_triggered() {
            break;
        }
        for id in resting {
            let Ok(client_id) = exchange_composite::ClientOrderId::new(&id) else {
                continue;
            };
            match exchanges.private.cancel_order(&symbol, &client_id).await {
                Ok(order) => {
                    note(format!("cancel {id}: {:?}", order.status));
                    if order.status == OrderStatus::Filled {
                        report.borrow_mut().believed_filled.insert(id);
                    }
                }
                Err(error) => note(format!("cancel {id}: {}", kind(&error.to_string()))),
            }
        }
    }
    note(format!("body ends after {cycle} cycles"));
    Ok(())
}

/// An error's first words (its details may carry times of the venue: kept out of the trace
/// only where they would not repeat).
fn kind(text: &str) -> String {
    text.split(':').next().unwrap_or(text).to_owned()
}

/// Polls until the runtime's alive tasks are back to `baseline` and no TaskManager has a
/// live task, by `deadline`; the problems left.
async fn drained(baseline: usize, deadline: Instant) -> Option<String> {
    loop {
        let alive = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        let managed = lifecycle_core::metrics().active_background_tasks;
        if alive <= baseline && managed == 0 {
            return None;
        }
        if Instant::now() >= deadline {
            return Some(format!(
                "tasks left: {alive} alive (baseline {baseline}), {managed} in task managers"
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The trading host: one run under the Runner, the checks it can make itself, then (after
/// the driver healed everything) a successor run that must clear what was left.
async fn trader(
    seed: u64,
    schedule: Schedule,
    signals: lifecycle_core::InjectedSignals,
    state: SimState,
    mut healed: watch::Receiver<bool>,
    report: Rc<RefCell<ClientReport>>,
) -> turmoil::Result {
    let baseline = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let clock = WallClock::simulated(EPOCH_MS);
    let config = client_config(seed, schedule.budget, clock);
    let context = ExchangeContext::new(&config).map_err(|e| e.to_string())?;
    let (exchanges, system): (Exchanges, DependencyAwareShutdown) = context.into_parts();
    let body_report = report.clone();
    let body_exchanges = exchanges.clone();
    let outcome = Runner::new(system)
        .signals(signals)
        .shutdown_budget(schedule.budget)
        .run(move |ctx| quote(body_exchanges, ctx.shutdown_signal().clone(), body_report))
        .await;
    drop(exchanges);
    let ended_at = turmoil::elapsed();
    {
        let mut r = report.borrow_mut();
        r.trace
            .push(format!("outcome {:?}: {}", outcome.status, outcome.reason));
        if let Some(shutdown) = &outcome.report {
            let text = shutdown.to_string();
            r.unconfirmed = named_unconfirmed(&text);
            r.unconfirmed_in_flight = named_in_flight(&text);
            r.trace.push(text);
        }
        r.ended_at = Some(ended_at);
        r.open_at_end = ours(&state);
        r.outcome = Some(outcome);
    }
    // A forced exit leaves its stops running: they end by the budget.
    let drain_deadline = Instant::now() + schedule.budget + Duration::from_secs(2);
    if let Some(problem) = drained(baseline, drain_deadline).await {
        report
            .borrow_mut()
            .problems
            .push(format!("after the run: {problem}"));
    }
    let _ = healed.wait_for(|h| *h).await;
    // Let the traffic the heal released land.
    tokio::time::sleep(Duration::from_millis(500)).await;
    report.borrow_mut().open_after_heal = ours(&state);

    // The successor: its start cancels what the first run left, its stop is clean.
    let successor = ExchangeContext::new(&client_config(seed, Duration::from_secs(5), clock))
        .map_err(|e| e.to_string())?;
    let (parts, system) = successor.into_parts();
    drop(parts);
    let started = system.start_all().await;
    let shutdown = system.shutdown_all(Duration::from_secs(5)).await;
    {
        // Scoped, not dropped: clippy cannot see an explicit drop before the await below.
        let mut r = report.borrow_mut();
        match started {
            Ok(()) if shutdown.is_clean() => {}
            Ok(()) => r
                .problems
                .push(format!("successor stopped unclean: {shutdown}")),
            Err(error) => r.problems.push(format!("successor did not start: {error}")),
        }
        let left = ours(&state);
        if !left.is_empty() {
            r.problems
                .push(format!("orders left after the successor: {left:?}"));
        }
    }
    if let Some(problem) = drained(baseline, Instant::now() + Duration::from_secs(2)).await {
        report
            .borrow_mut()
            .problems
            .push(format!("after the successor: {problem}"));
    }
    Ok(())
}

/// What one seed came to.
#[derive(Debug)]
struct SeedResult {
    hash: u64,
    failures: Vec<String>,
}

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn install_hooks() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
        if std::env::var_os("QUIESCE_SIM_TRACE").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                        tracing_subscriber::EnvFilter::new("debug,turmoil=info")
                    }),
                )
                .with_timer(SimTime)
                .with_test_writer()
                .try_init();
        }
    });
}

/// Stamps a trace line with the simulated time (a dash outside a host).
struct SimTime;

impl tracing_subscriber::fmt::time::FormatTime for SimTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        match turmoil::sim_elapsed() {
            Some(at) => write!(w, "{:>9.3}s", at.as_secs_f64()),
            None => write!(w, "{:>10}", "-"),
        }
    }
}

/// Runs one seed and checks every invariant.
fn run_seed(seed: u64) -> SeedResult {
    let schedule = draw(seed);
    tracing::info!(seed, ?schedule, "simulation run begins");
    let panics_before = PANICS.load(Ordering::SeqCst);
    let mut failures = Vec::new();
    let mut sim = turmoil::Builder::new()
        .rng_seed(seed)
        .tick_duration(TICK)
        .simulation_duration(SIMULATION_LIMIT)
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(1))
        .build();

    // The venue's durable state lives outside the host, so a crash and restart keeps it.
    let state = SimState::new(&SimConfig::default()).expect("the default configuration");
    let faults = state.faults();
    let host_state = state.clone();
    sim.host("venue", move || {
        let state = host_state.clone();
        async move {
            let listener = TurmoilListener::bind("0.0.0.0:80").await?;
            let venue = SimVenue::serve(venue_config(seed), listener, Some(state)).await?;
            std::future::pending::<()>().await;
            drop(venue);
            Ok(())
        }
    });
    let (injector, signals) = signal_channel();
    let (healed_tx, healed_rx) = watch::channel(false);
    let report = Rc::new(RefCell::new(ClientReport::default()));
    sim.client(
        "trader",
        trader(
            seed,
            schedule.clone(),
            signals,
            state.clone(),
            healed_rx,
            report.clone(),
        ),
    );

    let mut next = 0;
    let mut signalled_at = None;
    let mut second_sent = false;
    let mut crashed = false;
    let mut healed = false;
    let run = loop {
        let now = sim.elapsed();
        while let Some((at, fault)) = schedule.faults.get(next) {
            if *at > now {
                break;
            }
            next += 1;
            match fault {
                Fault::Partition => sim.partition("trader", "venue"),
                Fault::Repair => sim.repair("trader", "venue"),
                Fault::Hold => sim.hold("trader", "venue"),
                Fault::Release => sim.release("trader", "venue"),
                Fault::MaxLatency(latency) => {
                    sim.set_link_max_message_latency("trader", "venue", *latency);
                }
                Fault::Crash => {
                    if !crashed {
                        sim.crash("venue");
                        crashed = true;
                    }
                }
                Fault::Bounce => {
                    if crashed {
                        sim.bounce("venue");
                        crashed = false;
                    }
                }
                Fault::ExpireListenKeys => {
                    faults.expire_listen_keys();
                }
                Fault::FailRest { count, status } => faults.fail_next_rest(*count, *status, None),
                Fault::DelayRest(delay) => faults.delay_rest(*delay),
                Fault::Stall(on) => faults.stall_connections(*on),
                Fault::Malformed => {
                    faults.push_malformed_frame();
                }
            }
        }
        if signalled_at.is_none() && now >= schedule.shutdown_at {
            injector.send(Signal::Terminate);
            signalled_at = Some(now);
        }
        if let (Some(first), Some(after), false) =
            (signalled_at, schedule.second_signal, second_sent)
            && now >= first + after
        {
            injector.send(Signal::Interrupt);
            second_sent = true;
        }
        if !healed && now >= schedule.heal_at {
            sim.repair("trader", "venue");
            sim.release("trader", "venue");
            sim.set_link_max_message_latency("trader", "venue", Duration::from_millis(1));
            if crashed {
                sim.bounce("venue");
                crashed = false;
            }
            faults.clear();
            healed = true;
            healed_tx.send_replace(true);
        }
        match sim.step() {
            Ok(true) => break Ok(()),
            Ok(false) => {}
            Err(error) => break Err(error.to_string()),
        }
    };
    if let Err(error) = run {
        failures.push(format!("simulation: {error}"));
    }

    let r = report.borrow();
    let forced = r
        .outcome
        .as_ref()
        .is_some_and(|o| o.status == ExitStatus::Forced);
    // The shutdown returns by its budget (simulated time).
    if let (Some(ended), Some(outcome)) = (r.ended_at, r.outcome.as_ref()) {
        let slack = DependencyAwareShutdown::CONTRACT_SLACK + TICK * 3;
        match signalled_at {
            Some(at) if at < ended => {
                let took = ended - at;
                if took > schedule.budget + slack {
                    failures.push(format!(
                        "shutdown took {took:?} for a budget of {:?} ({:?})",
                        schedule.budget, outcome.status
                    ));
                }
            }
            _ => {
                if let Some(shutdown) = &outcome.report
                    && shutdown.duration > schedule.budget + slack
                {
                    failures.push(format!(
                        "shutdown (no signal) took {:?} for a budget of {:?}",
                        shutdown.duration, schedule.budget
                    ));
                }
            }
        }
    } else if run_ok(&failures) {
        failures.push("the run never ended".to_owned());
    }
    // No open order of ours except the named ones, and those only when the venue was cut off
    // late in the budget (or a second signal cut the shutdown short).
    for (when, open) in [
        ("at the end", &r.open_at_end),
        ("after the heal", &r.open_after_heal),
    ] {
        let unnamed: Vec<&String> = open
            .iter()
            .filter(|id| !r.unconfirmed.contains(*id))
            .collect();
        if !unnamed.is_empty() && !forced {
            failures.push(format!(
                "open orders {when} not named unconfirmed: {unnamed:?}"
            ));
        }
    }
    if !r.unconfirmed.is_empty() && !forced {
        let end = r.ended_at.unwrap_or(SIMULATION_LIMIT);
        let start = signalled_at.unwrap_or(end);
        let late = start + (end.saturating_sub(start)) / 2;
        // A placement whose answer never came (abandoned in flight with the body at its
        // grace, or timed out) may still be carried out by the venue within its window
        // (`Venue::placement_window`, 6 s for MEXC), and no listing before then proves it
        // will not be: naming it is the truthful outcome, not a failed sweep, as long as the
        // venue was impaired while the placement could have been in flight (seed 1286: a
        // placement lost to a crashed venue, abandoned 2.4 s before the deadline).
        let in_flight_justified = cut_off_within(
            &schedule,
            end.saturating_sub(PLACEMENT_WINDOW + schedule.budget),
            end,
        );
        let unjustified: BTreeSet<&String> = r
            .unconfirmed
            .iter()
            .filter(|id| !(in_flight_justified && r.unconfirmed_in_flight.contains(*id)))
            .collect();
        if !unjustified.is_empty() && !cut_off_within(&schedule, late, end) {
            failures.push(format!(
                "orders unconfirmed although the venue was reachable late in the budget: {unjustified:?}"
            ));
        }
    }
    // Every order the body saw filled is filled on the venue.
    for id in &r.believed_filled {
        let status = state.order(DEMO_API_KEY, "HIFIUSDT", id).map(|o| o.status);
        if status != Some(exchange_sim::OrderStatus::Filled) {
            failures.push(format!("{id} seen filled, on the venue {status:?}"));
        }
    }
    failures.extend(r.problems.iter().cloned());
    if let Err(broken) = state.check_invariants() {
        failures.push(format!("venue invariants: {broken}"));
    }
    let panics = PANICS.load(Ordering::SeqCst) - panics_before;
    if panics > 0 {
        failures.push(format!("{panics} panic(s)"));
    }
    let mut hasher = DefaultHasher::new();
    r.trace.hash(&mut hasher);
    r.open_at_end.hash(&mut hasher);
    r.believed_filled.hash(&mut hasher);
    if std::env::var_os("QUIESCE_SIM_DUMP").is_some() {
        eprintln!(
            "seed {seed}: {schedule:?}\nsignalled at {signalled_at:?}, ended at {:?}, impaired {:?}\n{}",
            r.ended_at,
            impaired_spans(&schedule),
            r.trace.join("\n")
        );
    }
    tracing::info!(seed, "simulation run ends");
    SeedResult {
        hash: hasher.finish(),
        failures,
    }
}

fn run_ok(failures: &[String]) -> bool {
    failures.is_empty()
}

/// Runs `seeds` (twice each when `twice`, comparing trace hashes); prints the failing seeds
/// with their replay commands and returns them.
/// The environment variable that makes [`one_seed_in_this_process`] run that seed.
const CHILD_SEED: &str = "QUIESCE_SIM_CHILD_SEED";
/// The line a child prints its result on.
const RESULT_TAG: &str = "QUIESCE_SIM_RESULT";

/// How long one child may run (wall clock) before the parent kills it as hung:
/// `QUIESCE_SIM_SEED_TIMEOUT_S`, else 120 s in an optimised build and 600 s in a debug one (a
/// seed takes well under a second optimised, a few seconds unoptimised; the margin is for two
/// noisy shared cores).
fn seed_timeout() -> Duration {
    let default = if cfg!(debug_assertions) { 600 } else { 120 };
    Duration::from_secs(env_u64("QUIESCE_SIM_SEED_TIMEOUT_S").unwrap_or(default))
}

/// The resident memory one child may reach before the parent kills it as a runaway:
/// `QUIESCE_SIM_SEED_MAX_RSS_MB`, else 2 GiB (a seed needs a few tens of MB). Read from
/// `/proc/<pid>/status`, so only where that exists (Linux); elsewhere the wall-clock limit
/// alone holds.
fn seed_max_rss_kb() -> u64 {
    env_u64("QUIESCE_SIM_SEED_MAX_RSS_MB").unwrap_or(2048) * 1024
}

/// The child's resident set in kB, if the platform tells.
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A child's output and how it ended: its exit status, or why the parent killed it.
struct ChildOutput {
    status: Result<std::process::ExitStatus, String>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs the child to its end, or kills it when it outlives [`seed_timeout`] or outgrows
/// [`seed_max_rss_kb`] (a hung or runaway seed must not hold the soak, nor thrash the
/// machine). Its pipes are drained on threads of their own so a chatty child cannot block.
fn watch_child(
    mut command: std::process::Command,
    seed: u64,
    limit: Duration,
    max_rss: u64,
) -> std::io::Result<ChildOutput> {
    use std::io::Read;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Ok(status);
        }
        let killed = if started.elapsed() > limit {
            Some(format!(
                "seed {seed} hung (no end after {} s)",
                limit.as_secs()
            ))
        } else {
            rss_kb(child.id()).filter(|rss| *rss > max_rss).map(|rss| {
                format!(
                    "seed {seed} ran away ({} MB resident after {:.1} s, limit {} MB)",
                    rss / 1024,
                    started.elapsed().as_secs_f64(),
                    max_rss / 1024
                )
            })
        };
        if let Some(why) = killed {
            let _ = child.kill();
            let _ = child.wait();
            break Err(why);
        }
        // Polling a process has no event to wait on: a short period bounds the latency.
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(ChildOutput {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Runs `seed` in a fresh process of this test binary (so no state of an earlier run, such as
/// tokio's process-wide task ids that order a crashed host's teardown, reaches it): its trace
/// hash and failures. A child that dies without its result line is a failure too, and so is
/// one the parent kills for running too long or growing too big (see [`watch_child`]).
fn run_in_child(seed: u64) -> (Option<u64>, Vec<String>) {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => return (None, vec![format!("cannot run the child: {error}")]),
    };
    let mut command = std::process::Command::new(exe);
    command
        .args([
            "--exact",
            "one_seed_in_this_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_SEED, seed.to_string())
        .env_remove("QUIESCE_SIM_TRACE")
        .env_remove("QUIESCE_SIM_DUMP")
        .stdin(std::process::Stdio::null());
    let output = match watch_child(command, seed, seed_timeout(), seed_max_rss_kb()) {
        Ok(output) => output,
        Err(error) => return (None, vec![format!("cannot run the child: {error}")]),
    };
    let status = match output.status {
        Ok(status) => status,
        Err(killed) => return (None, vec![killed]),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The harness may print "test ... " in front of it on the same line.
    let line = stdout
        .find(RESULT_TAG)
        .and_then(|at| stdout[at + RESULT_TAG.len()..].lines().next());
    let Some(line) = line else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .chars()
            .rev()
            .take(600)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return (None, vec![format!("the child died ({status}): {tail}")]);
    };
    let mut parts = line.trim_start().splitn(2, ' ');
    let hash = parts.next().and_then(|h| u64::from_str_radix(h, 16).ok());
    let failures = parts
        .next()
        .map(|rest| {
            rest.split('\u{1f}')
                .filter(|f| !f.trim().is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    (hash, failures)
}

/// Runs `seeds` on `jobs` workers, each seed in its own process (twice when `twice`,
/// comparing trace hashes); prints the failing seeds with their replay commands and returns
/// them.
fn search(seeds: &[u64], twice: bool) -> Vec<(u64, Vec<String>)> {
    let jobs = env_u64("QUIESCE_SIM_JOBS").unwrap_or(2).clamp(1, 16) as usize;
    let started = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failing = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                while let Some(&seed) = seeds.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let (hash, mut failures) = run_in_child(seed);
                    if twice && failures.is_empty() {
                        let (again, more) = run_in_child(seed);
                        if again != hash {
                            failures.push(format!(
                                "not deterministic: trace hash {hash:016x?} then {again:016x?}"
                            ));
                        }
                        failures.extend(more);
                    }
                    if !failures.is_empty() {
                        eprintln!(
                            "seed {seed} FAILED: {}\n  replay: RUSTFLAGS=\"--cfg tokio_unstable\" CARGO_TARGET_DIR=target/sim {CHILD_SEED}={seed} QUIESCE_SIM_TRACE=1 QUIESCE_SIM_DUMP=1 cargo test -p exchange-composite --test simulation one_seed -- --nocapture",
                            failures.join("; ")
                        );
                        failing
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((seed, failures));
                    }
                    let count = done.fetch_add(1, Ordering::SeqCst) + 1;
                    if count.is_multiple_of(500) {
                        eprintln!(
                            "simulation: {count} seeds in {:.0} s",
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            });
        }
    });
    let mut failing = failing
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    failing.sort();
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "simulation: {} seeds in {elapsed:.1} s ({:.1} seeds/s, {jobs} jobs{}), {} failing{}",
        seeds.len(),
        seeds.len() as f64 / elapsed.max(1e-9),
        if twice { ", each run twice" } else { "" },
        failing.len(),
        if failing.is_empty() {
            String::new()
        } else {
            format!(
                ": {:?}",
                failing.iter().map(|(s, _)| *s).collect::<Vec<_>>()
            )
        }
    );
    failing
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// One seed in this process: the seed of [`CHILD_SEED`] (a child of the search, or a replay),
/// else seed 0. Prints its result line for the parent, then asserts it.
#[test]
fn one_seed_in_this_process() {
    install_hooks();
    let seed = env_u64(CHILD_SEED).unwrap_or(0);
    let result = run_seed(seed);
    println!(
        "{RESULT_TAG} {:016x} {}",
        result.hash,
        result.failures.join("\u{1f}").replace('\n', " ")
    );
    assert!(
        result.failures.is_empty(),
        "seed {seed}: {:?}",
        result.failures
    );
}

#[test]
fn seeded_fault_search_holds_every_invariant() {
    if std::env::var_os(CHILD_SEED).is_some() {
        return; // a child runs only its seed
    }
    let start = env_u64("QUIESCE_SIM_SEED_START").unwrap_or(0);
    let default = if DETERMINISTIC { CI_SEEDS } else { SMOKE_SEEDS };
    let count = env_u64("QUIESCE_SIM_SEEDS").unwrap_or(default);
    let seeds: Vec<u64> = (start..start.saturating_add(count)).collect();
    let failing = search(&seeds, DETERMINISTIC);
    assert!(failing.is_empty(), "failing seeds: {failing:?}");
}

#[test]
fn regression_seeds_hold() {
    if std::env::var_os(CHILD_SEED).is_some() {
        return;
    }
    let failing = search(REGRESSION_SEEDS, DETERMINISTIC);
    assert!(failing.is_empty(), "failing seeds: {failing:?}");
}

/// The environment variable that makes [`a_child_that_hangs`] hang.
const HANG: &str = "QUIESCE_SIM_HANG";

/// A stand-in for a hung seed, run by [`the_parent_kills_a_hung_child`]; ends at once
/// otherwise.
#[test]
fn a_child_that_hangs() {
    if std::env::var_os(HANG).is_none() {
        return;
    }
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn the_parent_kills_a_hung_child() {
    if std::env::var_os(CHILD_SEED).is_some() || std::env::var_os(HANG).is_some() {
        return;
    }
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "a_child_that_hangs", "--test-threads=1"])
        .env(HANG, "1")
        .stdin(std::process::Stdio::null());
    let started = std::time::Instant::now();
    let output = watch_child(command, 7, Duration::from_secs(1), u64::MAX).unwrap();
    assert_eq!(
        output.status.err().as_deref(),
        Some("seed 7 hung (no end after 1 s)")
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn the_schedule_checker_sees_a_cut() {
    let schedule = Schedule {
        faults: vec![
            (Duration::from_millis(100), Fault::Partition),
            (Duration::from_millis(300), Fault::Repair),
        ],
        shutdown_at: Duration::ZERO,
        second_signal: None,
        budget: Duration::from_secs(1),
        heal_at: Duration::from_secs(2),
    };
    assert!(cut_off_within(
        &schedule,
        Duration::from_millis(200),
        Duration::from_millis(250)
    ));
    assert!(cut_off_within(
        &schedule,
        Duration::ZERO,
        Duration::from_millis(150)
    ));
    assert!(!cut_off_within(
        &schedule,
        Duration::from_millis(400),
        Duration::from_secs(1)
    ));
    assert!(!cut_off_within(
        &schedule,
        Duration::ZERO,
        Duration::from_millis(50)
    ));
    let ids = named_unconfirmed(
        "order C1 (HIFIUSDT, client id sim-abc-1) not confirmed cancelled: x; order 2 (HIFIUSDT, client id other-1) not",
    );
    assert_eq!(ids, BTreeSet::from(["sim-abc-1".to_owned()]));
    let in_flight = named_in_flight(
        "error: order sim-a-1 (HIFIUSDT, client id sim-a-1) not confirmed cancelled: unknown to the venue, which never answered its placement and may still accept it for 3815 ms; error: order C2 (HIFIUSDT, client id sim-a-2) not confirmed cancelled: timed out",
    );
    assert_eq!(in_flight, BTreeSet::from(["sim-a-1".to_owned()]));
}
