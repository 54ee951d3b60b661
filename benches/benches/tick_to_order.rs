//! Tick-to-order latency: from the moment the venue writes a book-ticker push to the moment
//! the order it triggers reaches the venue, through the whole stack against a bare client, in
//! one run, on one runtime, against one venue (exchange-sim on loopback).
//!
//! - **stack**: `WebSocketManager` reads the frame, the market-data handler decodes it
//!   (protobuf, decimals with range checks) and publishes it to `ObservableStreams`, a
//!   subscriber task wakes, decides to quote (a bid at half the touch's bid) and calls
//!   `PrivateCompositeExchange::place_order`: rounding to the market's rules, the minimum
//!   checks, a client order id, the order guard's tracking, the rate limiter, the signature,
//!   the REST call.
//! - **bare**: a tokio-tungstenite read loop, prost decode, the same decision, HMAC-SHA256
//!   (keyed once) and a reqwest POST of the same parameters.
//!
//! Both ends are taken at the venue by its [`Probe`]: the instant just before a connection
//! writes the push, and the instant the `POST /api/v3/order` request's head has been read. Each
//! side watches a market of its own (`HIFIUSDT` and its twin `TWINUSDT`: frames of the same
//! size and shape) and quotes on a third (`QUOTUSDT`, from two accounts), so neither sees the
//! other's frames and no order of either moves the book a socket watches. One event at a
//! time: the next push waits until the last order was answered (and, for the stack, until its
//! private socket has passed the order's update on). The resting bids are cancelled between
//! batches, outside the timed part. The venue and both clients share one current-thread
//! runtime: no cross-thread wake-up, whose cost on a shared machine varies far more than the
//! difference measured.
//!
//! Criterion times both sides (the sum of the venue-measured latencies per iteration). After
//! criterion, a *paired* check (skipped with `--list`, `--test`, or a filter that does not
//! match `tick_to_order/paired`) alternates batches of bare and stack events, flipping which
//! goes first every round, over at least 10,000 events per side
//! (`QUIESCE_TICK_EVENTS` to change), and prints the median and p99 of each, their ratio and
//! the median added per event (goal: at most 10 % and at most 5 us over the bare median), then
//! a breakdown per stage of where each side spends its time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{Criterion, criterion_group};
use exchange_composite::rest::{MexcRestClient, MexcRestConfig};
use exchange_composite::{
    AssetName, BalanceUpdate, BookTicker, Credentials, ExchangeBuilder, ExchangeConfig,
    ExchangeError, MexcRest, Order, OrderRequest, OrderStatus, OrderUpdate,
    PrivateCompositeExchange, PublicCompositeExchange, Side, Symbol,
};
use exchange_sim::{
    AccountConfig, DEMO_API_KEY, DEMO_API_SECRET, OrderRef, Probe, RateLimitConfig, SimConfig,
    SimVenue, SymbolConfig,
};
use exchange_streams::Subscription;
use exchange_ws::Frame;
use futures::StreamExt;
use hmac::{Hmac, KeyInit, Mac};
use lifecycle_core::AsyncResource;
use mexc_proto::PushDataV3ApiWrapper;
use mexc_proto::prost::Message as _;
use mexc_proto::push_data_v3_api_wrapper::Body;
use rust_decimal::{Decimal, RoundingStrategy};
use sha2::Sha256;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The market the stack watches.
const STACK_WATCHES: &str = "HIFIUSDT";
/// The market the bare client watches: HIFIUSDT's twin (same rules, same name length).
const BARE_WATCHES: &str = "TWINUSDT";
/// The market both quote on (HIFIUSDT's rules), each from its own account.
const QUOTED: &str = "QUOTUSDT";
const BARE_KEY: &str = "mx0vglBAREKEYquiesce0002";
const BARE_SECRET: &str = "0b1a2c3d4e5f60718293a4b5c6d7e8f9";
/// Base quantity of every bid (at half of 0.1 USDT: 1.5 USDT, over the 1 USDT minimum).
const QUANTITY: u32 = 30;
const RECV_WINDOW_MS: u32 = 5000;

/// Events per batch: the resting bids are cancelled after each (MEXC allows 500 open orders).
const BATCH: usize = 100;
/// Events per side in the paired check (at least 10,000: the count for a p99).
const PAIRED_EVENTS: usize = 10_000;
/// Batches per side left out of the paired check's figures (connections, caches, branch
/// predictors).
const WARMUP_BATCHES: usize = 3;
/// How long one event, or the cleanup of a batch, may take before the bench fails: a bound
/// no loaded machine reaches unless something is broken.
const EVENT_LIMIT: Duration = Duration::from_secs(10);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn book_ticker_channel(symbol: &str) -> String {
    format!("spot@public.aggre.bookTicker.v3.api.pb@100ms@{symbol}")
}

fn spot(base: &str) -> Symbol {
    Symbol::spot(
        AssetName::new(base).unwrap(),
        AssetName::new("USDT").unwrap(),
    )
}

/// The venue: three markets, two accounts, no rate limits, the synthetic market paused, and
/// no idle timeout a pause between criterion's phases could reach.
async fn venue() -> SimVenue {
    let mut config = SimConfig::paused();
    config.symbols = vec![
        SymbolConfig::hifiusdt(),
        benches::twin_of_hifi("TWIN"),
        benches::twin_of_hifi("QUOT"),
    ];
    config.accounts = vec![
        AccountConfig::new(DEMO_API_KEY, DEMO_API_SECRET)
            .with_balances([("USDT", Decimal::from(1_000_000))]),
        AccountConfig::new(BARE_KEY, BARE_SECRET)
            .with_balances([("USDT", Decimal::from(1_000_000))]),
    ];
    config.rate_limits = RateLimitConfig::disabled();
    config.closed_orders_kept_per_account = 64;
    config.ws.idle_timeout = Duration::from_secs(3600);
    config.http.header_read_timeout = Duration::from_secs(3600);
    SimVenue::start(config).await.unwrap()
}

/// Nanoseconds since `base` noted by the side under test (no wake-up, no lock).
#[derive(Debug)]
struct Stamps {
    base: Instant,
    at: [AtomicU64; 3],
}

impl Stamps {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            at: Default::default(),
        })
    }

    fn note(&self, stage: usize) {
        let nanos = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.at[stage].store(nanos, Ordering::Relaxed);
    }

    fn get(&self, stage: usize) -> Instant {
        self.base + Duration::from_nanos(self.at[stage].load(Ordering::Relaxed))
    }
}

/// The three intermediate stamps of one side, between the venue's two ends.
struct SideStages {
    name: &'static str,
    stages: [&'static str; 4],
}

const STACK_STAGES: SideStages = SideStages {
    name: "stack",
    stages: [
        "socket read, decode, publish",
        "subscriber wakes",
        "decision",
        "place_order to the venue",
    ],
};

const BARE_STAGES: SideStages = SideStages {
    name: "bare",
    stages: [
        "socket read",
        "decode, decision",
        "signature, URL",
        "POST to the venue",
    ],
};

/// One event as the venue and the side saw it.
#[derive(Debug, Clone, Copy)]
struct EventTimes {
    total: Duration,
    stages: [Duration; 4],
    /// From the push's write to the decision (stack: `place_order` entered; bare: decided).
    to_decision: Duration,
}

fn event_times(written: Instant, stamps: &Stamps, arrived: Instant, decision: usize) -> EventTimes {
    let points = [
        written,
        stamps.get(0),
        stamps.get(1),
        stamps.get(2),
        arrived,
    ];
    let mut stages = [Duration::ZERO; 4];
    for (stage, pair) in stages.iter_mut().zip(points.windows(2)) {
        *stage = pair[1].saturating_duration_since(pair[0]);
    }
    EventTimes {
        total: arrived.saturating_duration_since(written),
        stages,
        to_decision: points[decision + 1].saturating_duration_since(written),
    }
}

/// A book-ticker push of `symbol` for event `n`, stamped now.
fn book_ticker_frame(symbol: &str, n: u64) -> Bytes {
    let now_ms = now_ms();
    benches::push_frame(
        book_ticker_channel(symbol),
        symbol,
        benches::book_ticker_body(n, now_ms),
        now_ms,
    )
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The decision both sides make: a bid at half the touch's bid.
fn quote_price(bid: Decimal) -> Decimal {
    bid / Decimal::TWO
}

/// The stack's side: public and private exchanges on one REST client, the subscriber task
/// that quotes on every book ticker, and what the driver reads of it.
struct Stack {
    rest: MexcRest,
    public: Arc<PublicCompositeExchange>,
    private: Arc<PrivateCompositeExchange>,
    stamps: Arc<Stamps>,
    done: mpsc::UnboundedReceiver<Result<Order, ExchangeError>>,
    updates: Subscription<OrderUpdate>,
    balance_updates: Subscription<BalanceUpdate>,
}

impl Stack {
    async fn start(sim: &SimVenue) -> Self {
        let watched = spot("HIFI");
        let quoted = spot("QUOT");
        let config = |symbol: &Symbol| {
            let mut config = ExchangeConfig::new(sim.rest_url(), sim.ws_url())
                .symbol(symbol.clone())
                .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET));
            config.reconnect_backoff = Duration::from_millis(20);
            config
        };
        // MEXC's limiter structure without MEXC's budget: 20,000 orders in seconds would
        // otherwise wait for it (the limiter's fast path is still on the path).
        let limiter = benches::unlimited_endpoint_limiter("rate_limiter.tick_to_order");
        let client = MexcRestClient::new(
            MexcRestConfig::new(sim.rest_url())
                .name("rest.tick_to_order")
                .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET)),
            limiter.clone(),
        )
        .unwrap();
        let rest = MexcRest {
            limiter,
            client: Arc::new(client),
        };
        // Watch one market, quote on another: the stack's own bids never move the book its
        // public socket follows.
        let public = Arc::new(
            ExchangeBuilder::new(&config(&watched))
                .shared_rest(&rest)
                .public()
                .unwrap(),
        );
        let private = Arc::new(
            ExchangeBuilder::new(&config(&quoted))
                .shared_rest(&rest)
                .private()
                .unwrap(),
        );
        rest.limiter.start().await.unwrap();
        rest.client.start().await.unwrap();
        public.start().await.unwrap();
        private.start().await.unwrap();
        public
            .wait_for_book_ticker(&watched, EVENT_LIMIT)
            .await
            .unwrap();

        let stamps = Stamps::new();
        // After the market-data handler (handlers run in the order they were added): the
        // frame has been read, decoded and published.
        let published = stamps.clone();
        public.socket().add_handler(move |frame: Frame<'_>| {
            if !frame.is_text() {
                published.note(0);
            }
        });
        let mut tickers = public.subscribe_book_ticker(&watched).unwrap();
        // A new subscriber sees the current ticker first: not an event.
        tickers.next().await.unwrap().unwrap();
        let (done_tx, done) = mpsc::unbounded_channel();
        tokio::spawn(quote_every_ticker(
            private.clone(),
            tickers,
            quoted,
            stamps.clone(),
            done_tx,
        ));
        let updates = private.subscribe_order_updates().unwrap();
        let balance_updates = private.subscribe_balance_updates().unwrap();
        Self {
            rest,
            public,
            private,
            stamps,
            done,
            updates,
            balance_updates,
        }
    }

    /// Waits for the subscriber's placement and for the private socket to pass on what the
    /// venue pushed about it (the order's update and the balance it locked).
    async fn finish_event(&mut self) {
        let order = self.done.recv().await.unwrap().unwrap();
        let id = order.client_order_id;
        loop {
            let update = self.updates.next().await.unwrap().unwrap();
            if update.client_order_id == id && update.status == OrderStatus::New {
                break;
            }
        }
        self.balance_updates.next().await.unwrap().unwrap();
    }

    /// Cancels the batch's bids at the venue (untimed, in-process, as the bare client's are)
    /// and waits until the stack has taken in every update pushed about them.
    async fn cancel_batch(&mut self, sim: &SimVenue, placed: usize) {
        let open = sim.open_orders(DEMO_API_KEY).unwrap();
        assert_eq!(open.len(), placed, "the stack's bids of one batch");
        cancel_all(sim, DEMO_API_KEY, open);
        let mut closed = 0;
        while closed < placed {
            let update = self.updates.next().await.unwrap().unwrap();
            if update.status == OrderStatus::Canceled {
                closed += 1;
            }
        }
        for _ in 0..placed {
            self.balance_updates.next().await.unwrap().unwrap();
        }
        assert_eq!(self.private.tracked_orders(), 0);
    }

    async fn stop(self) {
        let budget = Duration::from_secs(5);
        assert!(self.private.stop_within(budget).await.is_clean());
        assert!(self.public.stop_within(budget).await.is_clean());
        assert!(self.rest.client.stop_within(budget).await.is_clean());
        assert!(self.rest.limiter.stop_within(budget).await.is_clean());
    }
}

/// The stack's strategy: on every book ticker, a bid at half the touch's bid.
async fn quote_every_ticker(
    private: Arc<PrivateCompositeExchange>,
    mut tickers: Subscription<Option<BookTicker>>,
    quoted: Symbol,
    stamps: Arc<Stamps>,
    done: mpsc::UnboundedSender<Result<Order, ExchangeError>>,
) {
    while let Some(item) = tickers.next().await {
        stamps.note(1);
        let Ok(Some(ticker)) = item else {
            continue;
        };
        let bid = OrderRequest::limit_maker(
            quoted.clone(),
            Side::Buy,
            quote_price(ticker.bid_price),
            Decimal::from(QUANTITY),
        );
        stamps.note(2);
        if done.send(private.place_order(bid).await).is_err() {
            return;
        }
    }
}

/// The bare side: a tokio-tungstenite socket and a reqwest client in a task of their own.
struct Bare {
    stamps: Arc<Stamps>,
    done: mpsc::UnboundedReceiver<Result<(), String>>,
}

impl Bare {
    async fn start(sim: &SimVenue) -> Self {
        let (mut ws, _) =
            tokio_tungstenite::connect_async_tls_with_config(sim.ws_url(), None, true, None)
                .await
                .unwrap();
        benches::subscribe_bare(&mut ws, &[book_ticker_channel(BARE_WATCHES)], BARE_WATCHES)
            .await
            .unwrap();
        let http = test_support::http_client_builder()
            .no_proxy()
            .tcp_nodelay(true)
            .build()
            .unwrap();
        let stamps = Stamps::new();
        let (done_tx, done) = mpsc::unbounded_channel();
        tokio::spawn(bare_quoter(
            ws,
            http,
            format!("{}/api/v3/order", sim.rest_url()),
            stamps.clone(),
            done_tx,
        ));
        Self { stamps, done }
    }

    async fn finish_event(&mut self) {
        self.done.recv().await.unwrap().unwrap();
    }
}

/// Decodes a book-ticker push and decides: the bid's price, or `None` for another frame.
fn bare_decide(frame: &[u8]) -> Option<Decimal> {
    let push = PushDataV3ApiWrapper::decode(frame).ok()?;
    let Some(Body::PublicAggreBookTicker(ticker)) = push.body else {
        return None;
    };
    // The whole touch, as a quoting client reads it.
    let bid = Decimal::from_str(&ticker.bid_price).ok()?;
    let bid_quantity = Decimal::from_str(&ticker.bid_quantity).ok()?;
    let ask = Decimal::from_str(&ticker.ask_price).ok()?;
    let ask_quantity = Decimal::from_str(&ticker.ask_quantity).ok()?;
    std::hint::black_box((bid_quantity, ask, ask_quantity));
    // HIFIUSDT's tick (5 decimals), rounded down as a bid is.
    Some(quote_price(bid).round_dp_with_strategy(5, RoundingStrategy::ToZero))
}

async fn bare_quoter(
    mut ws: Ws,
    http: reqwest::Client,
    order_url: String,
    stamps: Arc<Stamps>,
    done: mpsc::UnboundedSender<Result<(), String>>,
) {
    let mac = Hmac::<Sha256>::new_from_slice(BARE_SECRET.as_bytes()).unwrap();
    let mut orders = 0u64;
    while let Some(Ok(message)) = ws.next().await {
        let Message::Binary(frame) = message else {
            continue;
        };
        stamps.note(0);
        let Some(price) = bare_decide(&frame) else {
            continue;
        };
        stamps.note(1);
        orders += 1;
        let query = format!(
            "symbol={QUOTED}&side=BUY&type=LIMIT_MAKER&quantity={QUANTITY}&price={price}\
             &newClientOrderId=bare-{orders}&recvWindow={RECV_WINDOW_MS}&timestamp={}",
            now_ms()
        );
        let mut signer = mac.clone();
        signer.update(query.as_bytes());
        let signature = hex::encode(signer.finalize().into_bytes());
        let url = format!("{order_url}?{query}&signature={signature}");
        stamps.note(2);
        let sent = http
            .post(url)
            .header("X-MEXC-APIKEY", BARE_KEY)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .send()
            .await;
        let outcome = match sent {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(_) if status.is_success() => Ok(()),
                    Ok(body) => Err(format!("{status}: {}", String::from_utf8_lossy(&body))),
                    Err(error) => Err(error.to_string()),
                }
            }
            Err(error) => Err(error.to_string()),
        };
        if done.send(outcome).is_err() {
            return;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Stack,
    Bare,
}

/// Everything of one run: the runtime, the venue and both sides.
struct Rig {
    runtime: Runtime,
    sim: SimVenue,
    probe: Probe,
    stack: Stack,
    bare: Bare,
    /// Events pushed so far (the touch moves with it).
    pushed: u64,
    /// Bids resting per side since the last cancel.
    resting: [usize; 2],
}

impl Rig {
    fn new() -> Self {
        let runtime = benches::current_thread();
        let (sim, stack, bare) = runtime.block_on(async {
            let sim = venue().await;
            let stack = Stack::start(&sim).await;
            let bare = Bare::start(&sim).await;
            (sim, stack, bare)
        });
        let probe = sim.probe();
        probe.record_order_arrivals(true);
        Self {
            runtime,
            sim,
            probe,
            stack,
            bare,
            pushed: 0,
            resting: [0, 0],
        }
    }

    /// `events` events of `path` (bids cancelled every [`BATCH`], untimed), each timed by the
    /// venue.
    fn run(&mut self, path: Path, events: usize) -> Vec<EventTimes> {
        let Self {
            runtime,
            sim,
            probe,
            stack,
            bare,
            pushed,
            resting,
        } = self;
        runtime.block_on(async {
            let mut times = Vec::with_capacity(events);
            for _ in 0..events {
                if resting[path as usize] == BATCH {
                    bounded("a batch's cancel", cancel_batch(path, sim, stack, resting)).await;
                }
                *pushed += 1;
                let one = one_event(path, *pushed, probe, stack, bare);
                times.push(bounded("an event", one).await);
                resting[path as usize] += 1;
            }
            times
        })
    }

    fn stop(mut self) {
        for path in [Path::Stack, Path::Bare] {
            let Self {
                runtime,
                sim,
                stack,
                resting,
                ..
            } = &mut self;
            runtime.block_on(cancel_batch(path, sim, stack, resting));
        }
        let Self {
            runtime,
            sim,
            probe,
            stack,
            ..
        } = self;
        assert_eq!(probe.dropped_instants(), 0);
        runtime.block_on(async move {
            stack.stop().await;
            sim.shutdown().await;
        });
    }
}

async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(EVENT_LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took over {EVENT_LIMIT:?}"))
}

/// One push and the order it triggers; the venue's two instants and the side's stamps.
async fn one_event(
    path: Path,
    n: u64,
    probe: &Probe,
    stack: &mut Stack,
    bare: &mut Bare,
) -> EventTimes {
    let symbol = match path {
        Path::Stack => STACK_WATCHES,
        Path::Bare => BARE_WATCHES,
    };
    let frame = book_ticker_frame(symbol, n);
    // Nothing left over from an earlier event.
    let _ = (probe.take_pushes_written(), probe.take_order_arrivals());
    probe.push(&book_ticker_channel(symbol), frame);
    match path {
        Path::Stack => stack.finish_event().await,
        Path::Bare => bare.finish_event().await,
    }
    let (written, arrived) = (probe.take_pushes_written(), probe.take_order_arrivals());
    assert_eq!(
        (written.len(), arrived.len()),
        (1, 1),
        "one push written and one order arrived per event"
    );
    match path {
        Path::Stack => event_times(written[0], &stack.stamps, arrived[0], 2),
        Path::Bare => event_times(written[0], &bare.stamps, arrived[0], 1),
    }
}

async fn cancel_batch(path: Path, sim: &SimVenue, stack: &mut Stack, resting: &mut [usize; 2]) {
    let placed = std::mem::take(&mut resting[path as usize]);
    match path {
        Path::Stack => stack.cancel_batch(sim, placed).await,
        Path::Bare => {
            let open = sim.open_orders(BARE_KEY).unwrap();
            assert_eq!(open.len(), placed, "the bare client's bids of one batch");
            cancel_all(sim, BARE_KEY, open);
        }
    }
}

fn cancel_all(sim: &SimVenue, api_key: &str, orders: Vec<exchange_sim::Order>) {
    for order in orders {
        sim.cancel_order(api_key, QUOTED, &OrderRef::Id(order.id()))
            .unwrap();
    }
}

fn tick_to_order(c: &mut Criterion) {
    let mut rig = Rig::new();
    let mut group = c.benchmark_group("tick_to_order");
    group.sample_size(20);
    for (name, path) in [("bare", Path::Bare), ("stack", Path::Stack)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let events = usize::try_from(iters).unwrap_or(usize::MAX);
                rig.run(path, events).iter().map(|e| e.total).sum()
            });
        });
    }
    group.finish();
    if benches::check_requested("tick_to_order/paired") {
        paired(&mut rig);
    }
    rig.stop();
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted_us(times: &[EventTimes], of: impl Fn(&EventTimes) -> Duration) -> Vec<f64> {
    let mut values: Vec<f64> = times.iter().map(|t| us(of(t))).collect();
    values.sort_by(f64::total_cmp);
    values
}

/// The drift-free comparison (see the crate docs).
fn paired(rig: &mut Rig) {
    let events = std::env::var("QUIESCE_TICK_EVENTS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(PAIRED_EVENTS)
        .max(BATCH);
    let rounds = events.div_ceil(BATCH);
    let (mut stack, mut bare, mut added) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..WARMUP_BATCHES + rounds {
        let (s, b) = if round % 2 == 0 {
            let s = rig.run(Path::Stack, BATCH);
            (s, rig.run(Path::Bare, BATCH))
        } else {
            let b = rig.run(Path::Bare, BATCH);
            (rig.run(Path::Stack, BATCH), b)
        };
        if round >= WARMUP_BATCHES {
            let median_of = |t: &[EventTimes]| benches::median(sorted_us(t, |e| e.total));
            added.push(median_of(&s) - median_of(&b));
            stack.extend(s);
            bare.extend(b);
        }
    }
    let (stack_total, bare_total) = (
        sorted_us(&stack, |e| e.total),
        sorted_us(&bare, |e| e.total),
    );
    let (stack_median, bare_median) = (
        percentile(&stack_total, 50.0),
        percentile(&bare_total, 50.0),
    );
    let (stack_p99, bare_p99) = (
        percentile(&stack_total, 99.0),
        percentile(&bare_total, 99.0),
    );
    println!(
        "paired check tick_to_order ({} events per side, alternating batches of {BATCH}): \
         bare median {bare_median:.2} us p99 {bare_p99:.2} us, stack median {stack_median:.2} us \
         p99 {stack_p99:.2} us, added {:.2} us per event (median of the batches' differences; \
         goal at most 5 us), p99 ratio {:.3}, median ratio {:.3}",
        stack.len(),
        benches::median(added),
        stack_p99 / bare_p99,
        stack_median / bare_median,
    );
    println!("  where the time goes (median per stage, us):");
    for (side, times) in [(&STACK_STAGES, &stack), (&BARE_STAGES, &bare)] {
        let stages: Vec<String> = side
            .stages
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let median = percentile(&sorted_us(times, |e| e.stages[i]), 50.0);
                format!("{name} {median:.2}")
            })
            .collect();
        println!("    {:<5}  {}", side.name, stages.join(" | "));
    }
    let (stack_in, bare_in) = (
        percentile(&sorted_us(&stack, |e| e.to_decision), 50.0),
        percentile(&sorted_us(&bare, |e| e.to_decision), 50.0),
    );
    let (stack_out, bare_out) = (
        percentile(&sorted_us(&stack, |e| e.total - e.to_decision), 50.0),
        percentile(&sorted_us(&bare, |e| e.total - e.to_decision), 50.0),
    );
    println!(
        "    push to decision: stack {stack_in:.2}, bare {bare_in:.2} ({:+.2}); decision to \
         order at the venue: stack {stack_out:.2}, bare {bare_out:.2} ({:+.2})",
        stack_in - bare_in,
        stack_out - bare_out,
    );
}

criterion_group!(benches, tick_to_order);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
