//! Throughput of the simulator on loopback, so it is never the bottleneck of our benchmarks:
//! - `ws_pushes`: binary depth pushes per second delivered to one websocket client while the
//!   book changes as fast as the engine allows;
//! - `signed_orders`: signed `POST /api/v3/order` requests per second from concurrent REST
//!   clients (HMAC verification, matching, JSON reply).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exchange_sim::auth::sign;
use exchange_sim::format::now_ms;
use exchange_sim::{
    AccountConfig, DEMO_API_KEY, DEMO_API_SECRET, NewOrder, OrderRef, RateLimitConfig, Side,
    SimConfig, SimVenue,
};
use futures::{SinkExt, StreamExt};
use mexc_proto::PushDataV3ApiWrapper;
use prost::Message as _;
use rust_decimal::Decimal;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

const PUSHES_PER_ITERATION: u64 = 50_000;
const ORDERS_PER_ITERATION: u64 = 5_000;
const REST_CLIENTS: u64 = 16;

fn bench_config() -> SimConfig {
    let mut config = SimConfig::paused();
    config.market.levels = 0;
    config.rate_limits = RateLimitConfig::disabled();
    config.max_open_orders_per_account = usize::MAX;
    config.closed_orders_kept_per_account = 1_000;
    config.ws.channel_capacity = 65_536;
    config.accounts = vec![
        AccountConfig::new(DEMO_API_KEY, DEMO_API_SECRET).with_balances([
            ("USDT", Decimal::from(1_000_000_000_000i64)),
            ("HIFI", Decimal::from(1_000_000_000_000i64)),
        ]),
    ];
    config
}

/// Place and cancel resting orders in-process as fast as possible until `stop`; each
/// operation changes the book, so each produces one depth push.
fn churn_book(sim: &SimVenue, stop: &AtomicBool) -> u64 {
    let mut operations = 0;
    let mut level = 0i64;
    while !stop.load(Ordering::Relaxed) {
        level = (level + 1) % 500;
        let price = Decimal::new(5_000 + level, 5);
        let order = NewOrder::limit("HIFIUSDT", Side::Buy, price, Decimal::from(100));
        let placed = sim.place_order(DEMO_API_KEY, &order).unwrap();
        sim.cancel_order(DEMO_API_KEY, "HIFIUSDT", &OrderRef::Id(placed.id()))
            .unwrap();
        operations += 2;
    }
    operations
}

fn ws_pushes(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let sim = Arc::new(runtime.block_on(SimVenue::start(bench_config())).unwrap());
    let channel = "spot@public.aggre.depth.v3.api.pb@10ms@HIFIUSDT";
    let mut ws = runtime.block_on(async {
        let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url())
            .await
            .unwrap();
        let request = serde_json::json!({"method": "SUBSCRIPTION", "params": [channel]});
        ws.send(Message::text(request.to_string())).await.unwrap();
        ws.next().await.unwrap().unwrap();
        ws
    });
    let mut group = c.benchmark_group("exchange_sim");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(PUSHES_PER_ITERATION));
    group.bench_function("ws_pushes_to_one_client", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let stop = Arc::new(AtomicBool::new(false));
                let producer = {
                    let (sim, stop) = (sim.clone(), stop.clone());
                    std::thread::spawn(move || churn_book(&sim, &stop))
                };
                let started = Instant::now();
                runtime.block_on(async {
                    let mut received = 0;
                    while received < PUSHES_PER_ITERATION {
                        if let Message::Binary(bytes) = ws.next().await.unwrap().unwrap() {
                            // Decode like a client would.
                            PushDataV3ApiWrapper::decode(bytes.as_ref()).unwrap();
                            received += 1;
                        }
                    }
                });
                total += started.elapsed();
                stop.store(true, Ordering::Relaxed);
                producer.join().unwrap();
                // Drain what is still queued so the next iteration starts clean.
                runtime.block_on(async {
                    while tokio::time::timeout(Duration::from_millis(50), ws.next())
                        .await
                        .is_ok()
                    {}
                });
            }
            total
        })
    });
    group.finish();
    drop(ws);
    runtime.block_on(async { sim.stop_within(Duration::from_secs(1)).await });
}

fn signed_orders(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let sim = runtime.block_on(SimVenue::start(bench_config())).unwrap();
    let http = test_support::http_client();
    let url = format!("{}/api/v3/order", sim.rest_url());
    let mut group = c.benchmark_group("exchange_sim");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(ORDERS_PER_ITERATION));
    group.bench_function("signed_orders_over_rest", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            runtime.block_on(async {
                for _ in 0..iters {
                    let mut clients = Vec::new();
                    for _ in 0..REST_CLIENTS {
                        let (http, url) = (http.clone(), url.clone());
                        clients.push(tokio::spawn(async move {
                            for _ in 0..ORDERS_PER_ITERATION / REST_CLIENTS {
                                let query = format!(
                                    "symbol=HIFIUSDT&side=BUY&type=LIMIT&price=0.05&quantity=100&timestamp={}",
                                    now_ms()
                                );
                                let signature = sign(DEMO_API_SECRET, &query);
                                let response = http
                                    .post(format!("{url}?{query}&signature={signature}"))
                                    .header("X-MEXC-APIKEY", DEMO_API_KEY)
                                    .send()
                                    .await
                                    .unwrap();
                                assert!(response.status().is_success());
                                response.bytes().await.unwrap();
                            }
                        }));
                    }
                    for client in clients {
                        client.await.unwrap();
                    }
                }
            });
            started.elapsed()
        })
    });
    group.finish();
    runtime.block_on(sim.shutdown());
}

criterion_group!(benches, ws_pushes, signed_orders);
criterion_main!(benches);
