//! exchange-composite end to end against the embedded venue (exchange-sim on loopback):
//!
//! - `full_stack_shutdown`: a started `ExchangeContext` (public and private exchanges, shared
//!   REST client and rate limiter) with two resting orders of ours; timed from the shutdown
//!   request to the report only: cancel and confirm both orders, close the private socket and
//!   delete the listen key, close the public socket, complete the streams, stop the REST
//!   client and the rate limiter. Every sample is kept; the median and p99 are printed
//!   (goal: median at most 5 ms, p99 at most 20 ms).
//! - `full_stack_shutdown/bare_sequence` (printed after criterion with the ratio, only under
//!   `cargo bench`): the same venue's unavoidable round trips written directly with reqwest,
//!   hmac and tokio-tungstenite, as a hand-written client would stop with the same two resting
//!   orders and the same two sockets: list our open orders, cancel both (concurrently), list
//!   again to confirm, then delete the listen key and close the private socket's handshake,
//!   while the public socket's close handshake runs alongside from the start. Its samples
//!   alternate with the stack's shutdowns (one of each per round), so both see the same
//!   machine; median and p99 of both and their ratios are printed (goal: median at most 2x,
//!   p99 at most 3x).
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
use futures::StreamExt;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use rust_decimal::Decimal;
use sha2::Sha256;
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
    if std::env::var_os("PRINT_REPORT").is_some() {
        println!("{report}");
    }
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

/// Rounds of the paired check against the bare sequence: one stack shutdown and one bare
/// stop each.
const BARE_ROUNDS: usize = 400;
/// Rounds left out at the start of the paired check (connection pools, allocator warm-up).
const BARE_WARMUP: usize = 20;

type BareSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What a hand-written client needs for the bare sequence: reqwest (with the stack's
/// connection settings), hmac signing, tokio-tungstenite sockets.
struct BareClient {
    http: reqwest::Client,
    rest: String,
    ws: String,
}

/// One bare client's live state before its stop: both sockets subscribed, a listen key.
struct BareSession {
    public: BareSocket,
    private: BareSocket,
    listen_key: String,
}

impl BareClient {
    fn new(sim: &SimVenue) -> Self {
        Self {
            http: test_support::http_client_builder()
                .no_proxy()
                .tcp_nodelay(true)
                .build()
                .unwrap(),
            rest: sim.rest_url(),
            ws: sim.ws_url(),
        }
    }

    /// A signed call (parameters in the query string, as MEXC's own clients send them);
    /// panics unless the venue answers 2xx.
    async fn signed(&self, method: Method, path: &str, params: &str) -> serde_json::Value {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let separator = if params.is_empty() { "" } else { "&" };
        let query = format!("{params}{separator}recvWindow=5000&timestamp={millis}");
        let mut mac = Hmac::<Sha256>::new_from_slice(DEMO_API_SECRET.as_bytes()).unwrap();
        mac.update(query.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        let response = self
            .http
            .request(
                method,
                format!("{}{path}?{query}&signature={signature}", self.rest),
            )
            .header("X-MEXC-APIKEY", DEMO_API_KEY)
            .header("Content-Type", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.bytes().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body:?}");
        serde_json::from_slice(&body).unwrap()
    }

    /// A socket subscribed to `channel` (the venue's acknowledgement read).
    async fn socket(&self, url: &str, channel: &str) -> BareSocket {
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        benches::subscribe_bare(&mut socket, &[channel.to_owned()], channel)
            .await
            .unwrap();
        socket
    }

    /// Untimed: both sockets, a listen key and two resting orders, listed by the venue.
    async fn session(&self, sim: &SimVenue) -> BareSession {
        let public = self
            .socket(&self.ws, "spot@public.aggre.depth.v3.api.pb@100ms@HIFIUSDT")
            .await;
        let key = self
            .signed(Method::POST, "/api/v3/userDataStream", "")
            .await;
        let listen_key = key["listenKey"].as_str().unwrap().to_owned();
        let private = self
            .socket(
                &format!("{}?listenKey={listen_key}", self.ws),
                "spot@private.orders.v3.api.pb",
            )
            .await;
        for (side, price) in [("BUY", "0.05"), ("SELL", "0.2")] {
            let params =
                format!("symbol=HIFIUSDT&side={side}&type=LIMIT_MAKER&quantity=30&price={price}");
            self.signed(Method::POST, "/api/v3/order", &params).await;
        }
        let waited = Instant::now();
        while open_orders(sim) < 2 {
            assert!(waited.elapsed() < Duration::from_secs(5), "orders not open");
            tokio::task::yield_now().await;
        }
        BareSession {
            public,
            private,
            listen_key,
        }
    }

    /// Timed: the unavoidable round trips of a stop, each started as soon as what it depends
    /// on has answered.
    async fn stop(&self, session: BareSession, sim: &SimVenue) -> Duration {
        let BareSession {
            mut public,
            mut private,
            listen_key,
        } = session;
        let begun = Instant::now();
        let private_side = async {
            let open = self
                .signed(Method::GET, "/api/v3/openOrders", "symbol=HIFIUSDT")
                .await;
            let ids: Vec<String> = open
                .as_array()
                .unwrap()
                .iter()
                .map(|order| order["orderId"].to_string().trim_matches('"').to_owned())
                .collect();
            assert_eq!(ids.len(), 2, "{open}");
            let cancels: Vec<String> = ids
                .iter()
                .map(|id| format!("symbol=HIFIUSDT&orderId={id}"))
                .collect();
            futures::future::join_all(
                cancels
                    .iter()
                    .map(|params| self.signed(Method::DELETE, "/api/v3/order", params)),
            )
            .await;
            let left = self
                .signed(Method::GET, "/api/v3/openOrders", "symbol=HIFIUSDT")
                .await;
            assert_eq!(left.as_array().map(Vec::len), Some(0), "{left}");
            let delete_key = format!("listenKey={listen_key}");
            futures::join!(
                self.signed(Method::DELETE, "/api/v3/userDataStream", &delete_key),
                close_handshake(&mut private),
            );
        };
        futures::join!(private_side, close_handshake(&mut public));
        let elapsed = begun.elapsed();
        assert_eq!(open_orders(sim), 0, "the bare stop cancelled both orders");
        elapsed
    }
}

/// Our close frame, then the peer's, then the end of the stream.
async fn close_handshake(socket: &mut BareSocket) {
    socket.close(None).await.unwrap();
    while let Some(Ok(_)) = socket.next().await {}
}

/// The stack's full shutdown against the bare sequence, one of each per round (which goes
/// first alternates), same venue, same runtime.
fn paired_with_bare_sequence() {
    let rt = runtime();
    rt.block_on(async {
        let sim = venue(SimConfig::default().closed_orders_kept_per_account).await;
        let config = config_for(&sim);
        let bare = BareClient::new(&sim);
        let (mut ours, mut anchor) = (Vec::new(), Vec::new());
        for round in 0..BARE_WARMUP + BARE_ROUNDS {
            // One account at the venue: each side sets up right before its own stop, so
            // neither sees the other's orders.
            let (stack, bare_stop) = if round % 2 == 0 {
                let stack = one_shutdown(&sim, &config).await;
                let session = bare.session(&sim).await;
                (stack, bare.stop(session, &sim).await)
            } else {
                let session = bare.session(&sim).await;
                let bare_stop = bare.stop(session, &sim).await;
                (one_shutdown(&sim, &config).await, bare_stop)
            };
            if round >= BARE_WARMUP {
                ours.push(stack);
                anchor.push(bare_stop);
            }
        }
        ours.sort();
        anchor.sort();
        let (ours_median, anchor_median) = (percentile(&ours, 50.0), percentile(&anchor, 50.0));
        let (ours_p99, anchor_p99) = (percentile(&ours, 99.0), percentile(&anchor, 99.0));
        println!(
            "full_stack_shutdown/bare_sequence: {BARE_ROUNDS} rounds: stack median {:.3} ms, p99 {:.3} ms; bare median {:.3} ms, p99 {:.3} ms; median ratio {:.3} (goal 2), p99 ratio {:.3} (goal 3)",
            ms(ours_median),
            ms(ours_p99),
            ms(anchor_median),
            ms(anchor_p99),
            ms(ours_median) / ms(anchor_median),
            ms(ours_p99) / ms(anchor_p99),
        );
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
    if benches::check_requested("full_stack_shutdown/bare_sequence") {
        paired_with_bare_sequence();
    }
    if benches::check_requested("create_use_stop_cycles") {
        create_use_stop_cycles();
    }
}
