//! `exchange-ws` against a bare tokio-tungstenite client, same run, same local server:
//!
//! - `ws_throughput`: 200,000 binary frames of 100 bytes through the manager to a handler vs a
//!   bare read loop (goal: at least 0.9x). The server runs on its own thread and writes
//!   pre-encoded frames, so the client side dominates.
//! - `ws_round_trip`: one text message echoed by the server, through the manager (written by
//!   the caller when nothing is queued, read by the connection task, handed to a handler that
//!   wakes the caller) vs bare send-then-read; client and server on one current_thread runtime
//!   (goal: at most 1 us added).
//! - `ws_stop`: stop of a connected manager, from request to report (goal: median at most
//!   2 ms), vs a bare close handshake.
//!
//! - `ws_read_buffer` (a study printed after criterion, only under `cargo bench`): for read
//!   buffer sizes of 4 to 128 KiB, the paired round trip and a paired throughput run
//!   (alternating bursts, bare read loop with tungstenite's default buffer vs the manager with
//!   that size). tungstenite zero-fills the free part of its read buffer before each read, so
//!   the size is a cost per read, not only a bound.
//!
//! Round trips of about 12 us on a shared 2-core machine drift by more than the 1 us the goal
//! allows between two criterion functions measured seconds apart. After criterion, a *paired*
//! check (skipped with `--list`, `--test`, or a filter that does not match
//! `ws_round_trip/paired`) alternates batches of bare and manager round trips in one loop and
//! prints the median of each and the median of their per-round differences: the drift-free
//! comparison.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use exchange_ws::{Frame, WebSocketConfig, WebSocketManager};
use futures::{SinkExt, StreamExt};
use lifecycle_core::AsyncResource;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const FRAMES: u64 = 200_000;
const FRAME_SIZE: usize = 100;

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Benchmark timings: no heartbeat, no liveness timers, no send limit.
fn bench_config(url: &str) -> WebSocketConfig {
    WebSocketConfig {
        heartbeat_interval: None,
        dead_peer_timeout: None,
        idle_data_timeout: None,
        max_connection_age: None,
        send_limit: None,
        ..WebSocketConfig::new("bench", url)
    }
}

/// `FRAMES` server frames (unmasked binary, 100-byte payload) encoded once, so that the server
/// costs one `write_all` per burst and the client side dominates the measurement.
fn encoded_burst() -> Bytes {
    let mut blob = Vec::with_capacity(FRAMES as usize * (FRAME_SIZE + 2));
    for i in 0..FRAMES {
        blob.push(0x82); // FIN + binary
        blob.push(FRAME_SIZE as u8); // unmasked, length < 126
        blob.extend((0..FRAME_SIZE).map(|j| (i as usize + j) as u8));
    }
    Bytes::from(blob)
}

/// Accepts connections; each one answers the text `FRAMES` with a burst of `FRAMES` binary
/// frames of 100 bytes, and echoes any other text or binary message.
async fn serve(listener: TcpListener) {
    let burst = encoded_burst();
    let request = FRAMES.to_string();
    while let Ok((tcp, _)) = listener.accept().await {
        tcp.set_nodelay(true).unwrap();
        let burst = burst.clone();
        let request = request.clone();
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                let sent = match message {
                    Message::Text(text) if text.as_str() == request => {
                        // Nothing of tungstenite's is pending: the raw frames go straight out.
                        ws.get_mut().write_all(&burst).await.map_err(Into::into)
                    }
                    message @ (Message::Text(_) | Message::Binary(_)) => ws.send(message).await,
                    _ => Ok(()),
                };
                if sent.is_err() {
                    break;
                }
            }
        });
    }
}

/// A server on its own thread and runtime; returns its URL.
fn server_thread() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        benches::current_thread().block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("ws://{}/ws", listener.local_addr().unwrap()))
                .unwrap();
            serve(listener).await;
        });
    });
    rx.recv().unwrap()
}

/// A server spawned on the current runtime; returns its URL.
async fn server_here() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    tokio::spawn(serve(listener));
    url
}

async fn bare_client(url: &str) -> Client {
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(url, None, true, None)
        .await
        .unwrap();
    ws
}

/// A started, connected manager whose handler notifies `done` after every `every` frames.
async fn manager_client(url: &str, every: u64, done: Arc<Notify>) -> WebSocketManager {
    manager_with(bench_config(url), every, done).await
}

/// [`manager_client`] with a configuration of the caller's.
async fn manager_with(config: WebSocketConfig, every: u64, done: Arc<Notify>) -> WebSocketManager {
    let manager = WebSocketManager::new(config);
    let mut left = every;
    manager.add_handler(move |frame: Frame<'_>| {
        std::hint::black_box(frame.len());
        left -= 1;
        if left == 0 {
            left = every;
            done.notify_one();
        }
    });
    manager.start().await.unwrap();
    assert!(manager.wait_connected(Duration::from_secs(5)).await);
    manager
}

fn throughput(c: &mut Criterion) {
    let url = server_thread();
    let rt = benches::current_thread();
    let mut group = c.benchmark_group("ws_throughput");
    group.throughput(Throughput::Elements(FRAMES));
    group.sample_size(10);

    let bare = Rc::new(Cell::new(Some(rt.block_on(bare_client(&url)))));
    group.bench_function("bare_tungstenite_read_loop", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let bare = bare.clone();
            async move {
                let mut ws = bare.take().unwrap();
                let begun = Instant::now();
                for _ in 0..iters {
                    ws.send(Message::text(FRAMES.to_string())).await.unwrap();
                    let mut n = 0u64;
                    while n < FRAMES {
                        match ws.next().await {
                            Some(Ok(Message::Binary(bytes))) => {
                                std::hint::black_box(bytes.len());
                                n += 1;
                            }
                            Some(Ok(_)) => {}
                            other => panic!("bare client lost the server: {other:?}"),
                        }
                    }
                }
                let elapsed = begun.elapsed();
                bare.set(Some(ws));
                elapsed
            }
        });
    });

    let done = Arc::new(Notify::new());
    let manager = rt.block_on(manager_client(&url, FRAMES, done.clone()));
    group.bench_function("manager_to_handler", |b| {
        b.to_async(&rt).iter(|| async {
            manager.send_text(FRAMES.to_string()).await.unwrap();
            done.notified().await;
        });
    });
    group.finish();
    let report = rt.block_on(manager.stop_within(Duration::from_secs(2)));
    assert!(report.is_clean(), "{report}");
}

fn round_trip(c: &mut Criterion) {
    let rt = benches::current_thread();
    let url = rt.block_on(server_here());
    let mut group = c.benchmark_group("ws_round_trip");

    let bare = Rc::new(Cell::new(Some(rt.block_on(bare_client(&url)))));
    group.bench_function("bare_send_then_read", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let bare = bare.clone();
            async move {
                let mut ws = bare.take().unwrap();
                let begun = Instant::now();
                for _ in 0..iters {
                    bare_round_trip(&mut ws).await;
                }
                let elapsed = begun.elapsed();
                bare.set(Some(ws));
                elapsed
            }
        });
    });

    let done = Arc::new(Notify::new());
    let manager = rt.block_on(manager_client(&url, 1, done.clone()));
    group.bench_function("manager_send_to_handler", |b| {
        b.to_async(&rt).iter(|| manager_round_trip(&manager, &done));
    });
    group.finish();
    let report = rt.block_on(manager.stop_within(Duration::from_secs(2)));
    assert!(report.is_clean(), "{report}");
}

/// One bare ping-pong: send, then read the echo.
async fn bare_round_trip(ws: &mut Client) {
    ws.send(Message::text("p")).await.unwrap();
    match ws.next().await {
        Some(Ok(message)) => std::hint::black_box(message),
        other => panic!("bare client lost the server: {other:?}"),
    };
}

/// One ping-pong through the manager: send, then wait for the handler to see the echo.
async fn manager_round_trip(manager: &WebSocketManager, done: &Notify) {
    manager.send_text("p").await.unwrap();
    done.notified().await;
}

fn stop(c: &mut Criterion) {
    let rt = benches::current_thread();
    let url = rt.block_on(server_here());
    let mut group = c.benchmark_group("ws_stop");

    group.bench_function("bare_close_handshake", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let url = url.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut ws = bare_client(&url).await;
                    let begun = Instant::now();
                    ws.close(None).await.unwrap();
                    while let Some(Ok(_)) = ws.next().await {}
                    total += begun.elapsed();
                }
                total
            }
        });
    });

    group.bench_function("manager_stop_connected", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let url = url.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let manager = manager_client(&url, 1, Arc::new(Notify::new())).await;
                    let begun = Instant::now();
                    let report = manager.stop_within(Duration::from_secs(1)).await;
                    total += begun.elapsed();
                    assert!(report.is_clean(), "{report}");
                }
                total
            }
        });
    });
    group.finish();
}

/// Alternating batch pairs in the paired round-trip check, and round trips per batch.
const PAIRED_ROUNDS: usize = 400;
const PAIRED_BATCH: u32 = 100;

/// Medians of a paired round-trip run, in microseconds per round trip.
struct RoundTrips {
    bare: f64,
    manager: f64,
    /// The median of the per-round differences.
    added: f64,
}

/// The drift-free paired round-trip check (see the crate docs).
fn paired_round_trip() {
    let rt = benches::current_thread();
    let url = rt.block_on(server_here());
    let figures = paired_round_trips(&rt, bench_config(&url), PAIRED_ROUNDS);
    println!(
        "paired check ws_round_trip ({PAIRED_ROUNDS} alternating batches of {PAIRED_BATCH}): \
         bare {:.3} us, manager {:.3} us (ratio {:.3}), \
         added per round trip (median of the differences) {:.3} us",
        figures.bare,
        figures.manager,
        figures.manager / figures.bare,
        figures.added
    );
}

/// `rounds` alternating batches of bare and manager round trips (the manager configured by
/// `config`) against the echo server `config` points at.
fn paired_round_trips(
    rt: &tokio::runtime::Runtime,
    config: WebSocketConfig,
    rounds: usize,
) -> RoundTrips {
    let mut bare = rt.block_on(bare_client(&config.url));
    let done = Arc::new(Notify::new());
    let manager = rt.block_on(manager_with(config, 1, done.clone()));
    let (mut bare_us, mut manager_us, mut added_us) = (Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        for round in 0..rounds + 20 {
            let begun = Instant::now();
            for _ in 0..PAIRED_BATCH {
                bare_round_trip(&mut bare).await;
            }
            let bare_one = begun.elapsed().as_secs_f64() * 1e6 / f64::from(PAIRED_BATCH);
            let begun = Instant::now();
            for _ in 0..PAIRED_BATCH {
                manager_round_trip(&manager, &done).await;
            }
            let manager_one = begun.elapsed().as_secs_f64() * 1e6 / f64::from(PAIRED_BATCH);
            // The first rounds warm up both sides.
            if round >= 20 {
                bare_us.push(bare_one);
                manager_us.push(manager_one);
                added_us.push(manager_one - bare_one);
            }
        }
    });
    let report = rt.block_on(manager.stop_within(Duration::from_secs(2)));
    assert!(report.is_clean(), "{report}");
    RoundTrips {
        bare: benches::median(bare_us),
        manager: benches::median(manager_us),
        added: benches::median(added_us),
    }
}

/// Read buffer sizes the study compares (tungstenite's default is 128 KiB).
const READ_BUFFER_SIZES: [usize; 5] = [4 << 10, 8 << 10, 16 << 10, 64 << 10, 128 << 10];
/// Round-trip batch pairs per size in the study.
const STUDY_ROUNDS: usize = 150;
/// Burst pairs per size in the study's throughput half.
const STUDY_BURSTS: usize = 15;

/// The read buffer study (`ws_read_buffer`): for each size, the paired round trip and a
/// paired throughput run (alternating bursts of `FRAMES` frames, bare read loop vs manager),
/// against the bare client with tungstenite's default buffer.
fn read_buffer_study() {
    let rt = benches::current_thread();
    let echo = rt.block_on(server_here());
    let burst = server_thread();
    println!("ws_read_buffer: size, round trip bare/manager/added (us), throughput manager/bare");
    for size in READ_BUFFER_SIZES {
        let round_trips = paired_round_trips(
            &rt,
            WebSocketConfig {
                read_buffer_size: size,
                ..bench_config(&echo)
            },
            STUDY_ROUNDS,
        );
        let throughput = paired_throughput(
            &rt,
            WebSocketConfig {
                read_buffer_size: size,
                ..bench_config(&burst)
            },
        );
        println!(
            "ws_read_buffer {:>4} KiB: round trip bare {:.3} us, manager {:.3} us, added {:.3} us (ratio {:.3}); throughput ratio {:.3}",
            size >> 10,
            round_trips.bare,
            round_trips.manager,
            round_trips.added,
            round_trips.manager / round_trips.bare,
            throughput.ratio(),
        );
    }
}

/// Alternating bursts of `FRAMES` frames through a bare read loop and through the manager;
/// the medians are seconds per burst (so the ratio is manager time over bare time: below 1
/// is faster).
fn paired_throughput(rt: &tokio::runtime::Runtime, config: WebSocketConfig) -> benches::Paired {
    let mut bare = rt.block_on(bare_client(&config.url));
    let done = Arc::new(Notify::new());
    let manager = rt.block_on(manager_with(config, FRAMES, done.clone()));
    let figures = benches::paired(
        3,
        STUDY_BURSTS,
        || {
            rt.block_on(async {
                let begun = Instant::now();
                bare.send(Message::text(FRAMES.to_string())).await.unwrap();
                let mut n = 0u64;
                while n < FRAMES {
                    match bare.next().await {
                        Some(Ok(Message::Binary(bytes))) => {
                            std::hint::black_box(bytes.len());
                            n += 1;
                        }
                        Some(Ok(_)) => {}
                        other => panic!("bare client lost the server: {other:?}"),
                    }
                }
                begun.elapsed()
            })
        },
        || {
            rt.block_on(async {
                let begun = Instant::now();
                manager.send_text(FRAMES.to_string()).await.unwrap();
                done.notified().await;
                begun.elapsed()
            })
        },
    );
    let report = rt.block_on(manager.stop_within(Duration::from_secs(2)));
    assert!(report.is_clean(), "{report}");
    figures
}

criterion_group!(benches, throughput, round_trip, stop);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if benches::check_requested("ws_round_trip/paired") {
        paired_round_trip();
    }
    if benches::check_requested("ws_read_buffer") {
        read_buffer_study();
    }
}
