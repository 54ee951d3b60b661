//! Allocations per market-data frame, from the socket read to the subscriber, against the
//! bare prost decode of the same frame: aggregated depth (five bid and five ask levels), book
//! ticker, and deals (three trades per frame).
//!
//! A counting global allocator (`allocation-counter`: per thread, every `alloc`, and every
//! `realloc` and `alloc_zeroed` through it) counts what the client's thread allocates while
//! the venue, on a thread and runtime of its own, pushes frames one at a time (each
//! [`Probe`] push waits until the subscriber has the previous frame's content). Three paths
//! over the same frames:
//!
//! - **prost decode**: `PushDataV3ApiWrapper::decode` of the frame's bytes (the floor: every
//!   string field of the message is a `String` of its own);
//! - **bare socket**: a tokio-tungstenite read loop that decodes each frame with prost;
//! - **stack**: `WebSocketManager`, the market-data handler (decode, decimals, the local
//!   order book for depth), `ObservableStreams`, and a subscriber task per stream (book
//!   ticker, order-book top, trades).
//!
//! The goal (issue 20): the stack adds no allocation per frame beyond the decode itself.
//! Under `cargo bench` it counts over 2,000 frames of each kind and prints the table; in
//! test mode (`-- --test`, what `cargo test --benches` runs) over 50 frames each, and fails
//! if the stack allocates more per frame than the decode does, for any kind (see
//! [`ADDED_ALLOWED`]).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use exchange_composite::{AssetName, ExchangeConfig, PublicCompositeExchange, Side, Symbol, Trade};
use exchange_sim::{DepthSnapshot, Probe, SimConfig, SimVenue, SymbolConfig};
use exchange_streams::Subscription;
use futures::StreamExt;
use lifecycle_core::AsyncResource;
use mexc_proto::prost::Message as _;
use mexc_proto::push_data_v3_api_wrapper::Body;
use mexc_proto::{
    PublicAggreDealsV3Api, PublicAggreDealsV3ApiItem, PublicAggreDepthV3ApiItem,
    PublicAggreDepthsV3Api, PushDataV3ApiWrapper,
};
use rust_decimal::Decimal;
use tokio::runtime::Runtime;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// The market the stack follows.
const STACK_SYMBOL: &str = "HIFIUSDT";
/// The market the bare socket follows: HIFIUSDT's twin (frames of the same size).
const BARE_SYMBOL: &str = "TWINUSDT";
/// Frames per kind under `cargo bench`, and in test mode.
const BENCH_FRAMES: usize = 2_000;
const TEST_FRAMES: usize = 50;
/// Levels per side of a depth frame, and trades per deals frame.
const DEPTH_LEVELS: usize = 5;
const TRADES_PER_FRAME: usize = 3;
/// The venue time of the first frame, ms (MEXC's own vector's).
const TIME_MS: i64 = 1_736_412_092_433;
/// How long one frame may take to reach its subscriber before the bench fails.
const FRAME_LIMIT: Duration = Duration::from_secs(10);

/// What the stack may allocate per frame beyond the prost decode, by kind: nothing, for
/// every kind. The symbol code, a depth diff's levels and a deals push's trades are decoded
/// into the `PushBuffers` the market-data handler's `FrameDecoder` keeps across frames, the
/// local book applies a diff in place, trades are published one by one from those buffers,
/// and the subscribers read with `next_into` (see the README's benchmark section).
const ADDED_ALLOWED: [(Kind, f64); 3] = [
    (Kind::Depth, 0.0),
    (Kind::BookTicker, 0.0),
    (Kind::Deals, 0.0),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Depth,
    BookTicker,
    Deals,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Depth, Kind::BookTicker, Kind::Deals];

    fn name(self) -> &'static str {
        match self {
            Kind::Depth => "aggregated depth",
            Kind::BookTicker => "book ticker",
            Kind::Deals => "deals",
        }
    }

    fn channel(self, symbol: &str) -> String {
        let stream = match self {
            Kind::Depth => "depth",
            Kind::BookTicker => "bookTicker",
            Kind::Deals => "deals",
        };
        format!("spot@public.aggre.{stream}.v3.api.pb@100ms@{symbol}")
    }

    /// What a subscriber receives per frame.
    fn items_per_frame(self) -> u64 {
        match self {
            Kind::Depth | Kind::BookTicker => 1,
            Kind::Deals => TRADES_PER_FRAME as u64,
        }
    }
}

/// Frames of one kind: `count` of them, depth versions from `first_version` on.
fn frames(
    kind: Kind,
    symbol: &str,
    book: &DepthSnapshot,
    first_version: u64,
    count: usize,
) -> Vec<Bytes> {
    (0..count)
        .map(|i| {
            let n = i as u64;
            let body = match kind {
                Kind::Depth => {
                    // Existing levels with new absolute quantities: the local book's shape
                    // stays, only quantities change (no level appears or goes).
                    let levels = |side: &[(Decimal, Decimal)]| {
                        side.iter()
                            .take(DEPTH_LEVELS)
                            .enumerate()
                            .map(|(j, (price, _))| PublicAggreDepthV3ApiItem {
                                price: price.to_string(),
                                quantity: (100 * (1 + (n + j as u64) % 5)).to_string(),
                            })
                            .collect()
                    };
                    Body::PublicAggreDepths(PublicAggreDepthsV3Api {
                        asks: levels(&book.asks),
                        bids: levels(&book.bids),
                        event_type: "spot@public.aggre.depth.v3.api.pb@100ms".to_owned(),
                        from_version: (first_version + n).to_string(),
                        to_version: (first_version + n).to_string(),
                        last_order_create_time: TIME_MS,
                    })
                }
                Kind::BookTicker => benches::book_ticker_body(n, TIME_MS),
                Kind::Deals => Body::PublicAggreDeals(PublicAggreDealsV3Api {
                    deals: (0..TRADES_PER_FRAME as u64)
                        .map(|t| PublicAggreDealsV3ApiItem {
                            price: Decimal::new(9_995 + ((n + t) % 10) as i64, 5).to_string(),
                            quantity: "25.5".to_owned(),
                            trade_type: 1 + ((n + t) % 2) as i32,
                            time: TIME_MS + n as i64,
                            trade_id: format!("{}", 10_000 + n * 10 + t),
                        })
                        .collect(),
                    event_type: "spot@public.aggre.deals.v3.api.pb@100ms".to_owned(),
                }),
            };
            benches::push_frame(kind.channel(symbol), symbol, body, TIME_MS + n as i64)
        })
        .collect()
}

/// A script for the venue: push these frames on `channel`, one per trigger.
type Script = (String, Vec<Bytes>);

/// The venue on a thread and runtime of its own, so that none of its allocations count.
struct VenueThread {
    rest_url: String,
    ws_url: String,
    book: DepthSnapshot,
    scripts: mpsc::UnboundedSender<Script>,
    trigger: Arc<Notify>,
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl VenueThread {
    fn start() -> Self {
        let (started_tx, started) = std::sync::mpsc::channel();
        let (scripts, mut scripts_rx) = mpsc::unbounded_channel::<Script>();
        let trigger = Arc::new(Notify::new());
        let (stop, mut stopped) = oneshot::channel();
        let pushes = trigger.clone();
        let thread = std::thread::spawn(move || {
            benches::current_thread().block_on(async move {
                let mut config = SimConfig::paused();
                config.symbols = vec![SymbolConfig::hifiusdt(), benches::twin_of_hifi("TWIN")];
                config.ws.idle_timeout = Duration::from_secs(3600);
                let sim = SimVenue::start(config).await.unwrap();
                let book = sim.depth(STACK_SYMBOL, DEPTH_LEVELS).unwrap();
                let probe: Probe = sim.probe();
                started_tx
                    .send((sim.rest_url(), sim.ws_url(), book))
                    .unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        script = scripts_rx.recv() => {
                            let Some((channel, frames)) = script else { break };
                            for frame in frames {
                                pushes.notified().await;
                                probe.push(&channel, frame);
                            }
                        }
                    }
                }
                sim.shutdown().await;
            });
        });
        let (rest_url, ws_url, book) = started.recv().unwrap();
        Self {
            rest_url,
            ws_url,
            book,
            scripts,
            trigger,
            stop,
            thread,
        }
    }

    fn stop(self) {
        let _ = self.stop.send(());
        self.thread.join().unwrap();
    }
}

/// Items a subscriber received, and a wake-up for whoever waits on them.
#[derive(Debug, Default)]
struct Received {
    items: AtomicU64,
    changed: Notify,
}

impl Received {
    fn add(&self, items: u64) {
        self.items.fetch_add(items, Ordering::Relaxed);
        self.changed.notify_one();
    }

    async fn reach(&self, target: u64) {
        while self.items.load(Ordering::Relaxed) < target {
            self.changed.notified().await;
        }
    }
}

/// A subscriber task: receives every value into one it keeps
/// ([`Subscription::next_into`]: a book top's vectors are reused), and counts them.
fn count_into<T: Clone + Send + Sync + 'static>(
    mut subscription: Subscription<T>,
    mut value: T,
    received: Arc<Received>,
) {
    tokio::spawn(async move {
        while let Some(item) = subscription.next_into(&mut value).await {
            item.unwrap();
            std::hint::black_box(&value);
            received.add(1);
        }
    });
}

/// The client side: the stack's public exchange with its subscribers, and a bare socket.
struct Clients {
    runtime: Runtime,
    public: PublicCompositeExchange,
    stack: [Arc<Received>; 3],
    bare: Arc<Received>,
}

impl Clients {
    fn start(venue: &VenueThread) -> Self {
        let runtime = benches::current_thread();
        let symbol = Symbol::spot(
            AssetName::new("HIFI").unwrap(),
            AssetName::new("USDT").unwrap(),
        );
        let config = ExchangeConfig::new(venue.rest_url.clone(), venue.ws_url.clone())
            .symbol(symbol.clone());
        let public = PublicCompositeExchange::new(&config).unwrap();
        let stack: [Arc<Received>; 3] = Default::default();
        let bare = Arc::new(Received::default());
        runtime.block_on(async {
            public.start().await.unwrap();
            public
                .wait_for_book_ticker(&symbol, FRAME_LIMIT)
                .await
                .unwrap();
            let mut book = public.subscribe_order_book(&symbol).unwrap();
            // The current top first; then one value per depth frame.
            book.next().await.unwrap().unwrap();
            count_into(book, None, stack[0].clone());
            let mut tickers = public.subscribe_book_ticker(&symbol).unwrap();
            tickers.next().await.unwrap().unwrap();
            count_into(tickers, None, stack[1].clone());
            let no_trade = Trade {
                price: Decimal::ZERO,
                quantity: Decimal::ZERO,
                taker_side: Side::Buy,
                time_ms: 0,
            };
            count_into(
                public.subscribe_trades(&symbol).unwrap(),
                no_trade,
                stack[2].clone(),
            );
            bare_socket(&venue.ws_url, bare.clone()).await;
        });
        Self {
            runtime,
            public,
            stack,
            bare,
        }
    }

    fn book_version(&self) -> u64 {
        let (synced, version, _, _) = self.public.market_data().book_state(STACK_SYMBOL).unwrap();
        assert!(synced, "the stack's local book is synced");
        version.unwrap()
    }

    /// Allocations on this thread per frame while the venue pushes `frames` on `channel`,
    /// one at a time, each waited for until `received` has `per_frame` more items.
    fn count(
        &self,
        venue: &VenueThread,
        channel: String,
        frames: Vec<Bytes>,
        received: &Received,
        per_frame: u64,
    ) -> f64 {
        let count = frames.len();
        venue.scripts.send((channel, frames)).unwrap();
        let start = received.items.load(Ordering::Relaxed);
        let info = allocation_counter::measure(|| {
            self.runtime.block_on(async {
                for i in 1..=count as u64 {
                    venue.trigger.notify_one();
                    tokio::time::timeout(FRAME_LIMIT, received.reach(start + i * per_frame))
                        .await
                        .unwrap_or_else(|_| panic!("frame {i} did not reach its subscriber"));
                }
            });
        });
        info.count_total as f64 / count as f64
    }

    fn stop(self) {
        let Self {
            runtime, public, ..
        } = self;
        runtime.block_on(async move {
            assert!(public.stop_within(Duration::from_secs(5)).await.is_clean());
        });
    }
}

/// The bare path: a tokio-tungstenite read loop decoding every binary frame with prost.
async fn bare_socket(url: &str, received: Arc<Received>) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let channels: Vec<String> = Kind::ALL.iter().map(|k| k.channel(BARE_SYMBOL)).collect();
    benches::subscribe_bare(&mut ws, &channels, BARE_SYMBOL)
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Binary(frame) = message {
                let push = PushDataV3ApiWrapper::decode(&frame[..]).unwrap();
                std::hint::black_box(push);
                received.add(1);
            }
        }
    });
}

/// Allocations per frame of prost's decode alone.
fn prost_decode(frames: &[Bytes]) -> f64 {
    let info = allocation_counter::measure(|| {
        for frame in frames {
            std::hint::black_box(PushDataV3ApiWrapper::decode(&frame[..]).unwrap());
        }
    });
    info.count_total as f64 / frames.len() as f64
}

struct Row {
    kind: Kind,
    decode: f64,
    bare: f64,
    stack: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|arg| arg == "--list") {
        println!("allocations_per_frame: benchmark");
        return;
    }
    let counting = benches::check_requested("allocations_per_frame");
    if benches::bench_mode() && !counting {
        return; // a filter that does not match
    }
    let count = if counting { BENCH_FRAMES } else { TEST_FRAMES };
    let venue = VenueThread::start();
    let clients = Clients::start(&venue);
    let mut rows = Vec::new();
    for (index, kind) in Kind::ALL.into_iter().enumerate() {
        let first_version = clients.book_version() + 1;
        let stack_frames = frames(kind, STACK_SYMBOL, &venue.book, first_version, count);
        let bare_frames = frames(kind, BARE_SYMBOL, &venue.book, first_version, count);
        let decode = prost_decode(&stack_frames);
        let bare = clients.count(
            &venue,
            kind.channel(BARE_SYMBOL),
            bare_frames,
            &clients.bare,
            1,
        );
        let stack = clients.count(
            &venue,
            kind.channel(STACK_SYMBOL),
            stack_frames,
            &clients.stack[index],
            kind.items_per_frame(),
        );
        rows.push(Row {
            kind,
            decode,
            bare,
            stack,
        });
    }
    let (decoded, failed) = clients.public.market_data().frame_counts();
    assert_eq!(failed, 0, "every frame decoded");
    assert!(decoded >= (count * Kind::ALL.len()) as u64);
    clients.stop();
    venue.stop();

    println!(
        "allocations_per_frame ({count} frames of each kind, pushed one at a time; allocator \
         calls on the client's thread per frame, reallocations included):"
    );
    println!(
        "  {:<17} {:>12} {:>12} {:>12} {:>16} {:>16}",
        "frame", "prost decode", "bare socket", "stack", "stack - decode", "stack - bare"
    );
    for row in &rows {
        println!(
            "  {:<17} {:>12.2} {:>12.2} {:>12.2} {:>+16.2} {:>+16.2}",
            row.kind.name(),
            row.decode,
            row.bare,
            row.stack,
            row.stack - row.decode,
            row.stack - row.bare,
        );
    }
    for row in &rows {
        let allowed = ADDED_ALLOWED
            .iter()
            .find(|(kind, _)| *kind == row.kind)
            .map_or(0.0, |(_, allowed)| *allowed);
        let added = row.stack - row.decode;
        // Half an allocation of slack: the socket's read buffer grows now and then, which a
        // short test-mode run does not average out.
        assert!(
            added <= allowed + 0.5,
            "{}: the stack adds {added:.2} allocations per frame over the decode (allowed \
             {allowed})",
            row.kind.name()
        );
    }
}
