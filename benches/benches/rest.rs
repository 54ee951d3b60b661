//! exchange-rest: the rate limiter, signing and a REST round trip, each against its anchor in
//! the same run and the same criterion group.
//!
//! - `limiter_uncontended`: governor's `check()` (a GCRA on one atomic) vs our
//!   `RateLimiter::try_acquire` and `acquire` (first poll, fast path) on one bucket. Both
//!   limits are far above what the loop can reach, so neither ever refuses.
//! - `limiter_three_buckets`: three governor limiters checked in turn (not atomic) vs one
//!   all-or-nothing draw over three buckets.
//! - `signing`: HMAC-SHA256 + hex with a fresh key each time (the straightforward way) vs our
//!   `Signer` (keyed state computed once), over a typical new-order query.
//! - `round_trip`: `GET /api/v3/time` to the embedded venue: bare reqwest (send, read body,
//!   parse JSON) vs our client (`server_time()`: in-flight tracking, limiter, URL, send,
//!   classification, typed decode). Same runtime, same venue, same connection settings;
//!   the two are interleaved call by call (each times its own calls only), so a change of
//!   load on this shared machine hits both alike.
//!
//! After criterion, a *paired* check (skipped with `--list`, `--test`, or a filter that does
//! not match `round_trip/paired`) alternates batches of bare and client round trips in one
//! loop, flipping which goes first, and prints the median of each and their ratio: the
//! drift-free comparison the two criterion medians, measured seconds apart, are not.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

use std::future::Future;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use benches::{HUGE_LIMIT, HUGE_WINDOW};
use criterion::{Criterion, criterion_group};
use exchange_rest::limiter::{BucketSpec, Draw, RateLimiter, RateLimiterConfig, Scope};
use exchange_rest::{ApiSecret, MexcRestClient, MexcRestConfig, Signer};
use exchange_sim::{RateLimitConfig, SimConfig, SimVenue};
use hmac::{Hmac, KeyInit, Mac};
use lifecycle_core::AsyncResource;
use sha2::Sha256;

const ORDER_QUERY: &[u8] =
    b"symbol=HIFIUSDT&side=BUY&type=LIMIT_MAKER&quantity=21.2&price=0.099&newClientOrderId=mm-b-1&recvWindow=5000&timestamp=1736417034259";
const SECRET: &str = "45d0b3c26f2644f19bfb98b07741b2f5";

fn governor_unlimited() -> governor::DefaultDirectRateLimiter {
    governor::RateLimiter::direct(governor::Quota::per_second(
        NonZeroU32::new(u32::MAX).unwrap(),
    ))
}

fn started(limiter: RateLimiter, runtime: &tokio::runtime::Runtime) -> RateLimiter {
    runtime.block_on(limiter.start()).unwrap();
    limiter
}

fn limiter_with(buckets: usize, runtime: &tokio::runtime::Runtime) -> (RateLimiter, Draw) {
    let mut config = RateLimiterConfig::new("rate_limiter.bench");
    let ids: Vec<_> = (0..buckets)
        .map(|i| {
            let scope = if i == 1 { Scope::Account } else { Scope::Ip };
            (
                config
                    .add(BucketSpec::new(
                        format!("b{i}"),
                        scope,
                        HUGE_LIMIT,
                        HUGE_WINDOW,
                    ))
                    .unwrap(),
                1,
            )
        })
        .collect();
    let limiter = started(RateLimiter::new(config), runtime);
    let draw = limiter.draw(&ids).unwrap();
    (limiter, draw)
}

/// Polls a future once with a no-op waker: the cost of an `acquire` that is granted at once.
fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    pin!(future).poll(&mut cx)
}

fn limiter_benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _entered = runtime.enter();

    let mut group = c.benchmark_group("limiter_uncontended");
    let governor = governor_unlimited();
    group.bench_function("governor_check", |b| {
        b.iter(|| black_box(&governor).check().is_ok())
    });
    let (limiter, draw) = limiter_with(1, &runtime);
    group.bench_function("quiesce_try_acquire", |b| {
        b.iter(|| black_box(&limiter).try_acquire(black_box(&draw)).is_ok())
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3600);
    group.bench_function("quiesce_acquire", |b| {
        b.iter(|| {
            matches!(
                poll_once(black_box(&limiter).acquire(black_box(&draw), deadline)),
                Poll::Ready(Ok(_))
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("limiter_three_buckets");
    let governors = [
        governor_unlimited(),
        governor_unlimited(),
        governor_unlimited(),
    ];
    group.bench_function("governor_check_x3", |b| {
        b.iter(|| black_box(&governors).iter().all(|g| g.check().is_ok()))
    });
    let (limiter3, draw3) = limiter_with(3, &runtime);
    group.bench_function("quiesce_try_acquire_3", |b| {
        b.iter(|| black_box(&limiter3).try_acquire(black_box(&draw3)).is_ok())
    });
    group.finish();
    assert_eq!(limiter.stats().rejected + limiter3.stats().rejected, 0);
    assert!(
        runtime
            .block_on(limiter.stop_within(Duration::from_secs(1)))
            .is_clean()
    );
    assert!(
        runtime
            .block_on(limiter3.stop_within(Duration::from_secs(1)))
            .is_clean()
    );
}

fn signing_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("signing");
    group.bench_function("hmac_hex_fresh_key", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
            mac.update(black_box(ORDER_QUERY));
            hex::encode(mac.finalize().into_bytes())
        })
    });
    let signer = Signer::new(&ApiSecret::new(SECRET));
    group.bench_function("quiesce_signer", |b| {
        b.iter(|| black_box(&signer).sign(black_box(ORDER_QUERY), b""))
    });
    group.finish();
}

/// The round trip's set-up, shared by criterion's group and the paired check: one
/// current_thread runtime for venue and clients, the venue without rate limits, our client
/// started, and a bare reqwest client with the same connection settings.
struct RoundTripRig {
    runtime: tokio::runtime::Runtime,
    venue: SimVenue,
    limiter: Arc<RateLimiter>,
    client: MexcRestClient,
    bare: reqwest::Client,
    url: String,
}

impl RoundTripRig {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut sim_config = SimConfig::paused();
        sim_config.rate_limits = RateLimitConfig::disabled();
        let venue = runtime.block_on(SimVenue::start(sim_config)).unwrap();
        let limiter = benches::unlimited_endpoint_limiter("rate_limiter.bench");
        let client =
            MexcRestClient::new(MexcRestConfig::new(venue.rest_url()), limiter.clone()).unwrap();
        runtime.block_on(async {
            limiter.start().await.unwrap();
            client.start().await.unwrap();
        });
        let bare = test_support::http_client_builder()
            .no_proxy()
            .tcp_nodelay(true)
            .build()
            .unwrap();
        let url = format!("{}/api/v3/time", venue.rest_url());
        Self {
            runtime,
            venue,
            limiter,
            client,
            bare,
            url,
        }
    }

    fn stop(self) {
        let Self {
            runtime,
            venue,
            limiter,
            client,
            ..
        } = self;
        runtime.block_on(async {
            assert!(client.stop_within(Duration::from_secs(1)).await.is_clean());
            assert!(limiter.stop_within(Duration::from_secs(1)).await.is_clean());
            venue.stop_within(Duration::from_secs(1)).await;
        });
    }
}

fn round_trip_benches(c: &mut Criterion) {
    // One thread for venue and clients: no cross-thread wake-ups, whose cost on this shared
    // 2-core machine varies far more than the 5% being measured.
    let rig = RoundTripRig::new();
    let (runtime, client, bare, url) = (&rig.runtime, &rig.client, &rig.bare, rig.url.as_str());

    let bare_call = || async {
        let body = bare.get(url).send().await.unwrap().bytes().await.unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(value.get("serverTime").is_some());
    };
    let our_call = || async {
        client.server_time().await.unwrap();
    };
    let mut group = c.benchmark_group("round_trip");
    // Interleaved: each timed call is followed by an untimed call of the other side, so both
    // see the same (shared, noisy) machine load instead of whatever ran during their turn.
    group.bench_function("reqwest_bare", |b| {
        b.to_async(runtime).iter_custom(|iters| async move {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let started = std::time::Instant::now();
                bare_call().await;
                timed += started.elapsed();
                our_call().await;
            }
            timed
        })
    });
    group.bench_function("quiesce_client", |b| {
        b.to_async(runtime).iter_custom(|iters| async move {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let started = std::time::Instant::now();
                our_call().await;
                timed += started.elapsed();
                bare_call().await;
            }
            timed
        })
    });
    group.finish();

    rig.stop();
}

/// Batches alternated by the paired check, and round trips per batch.
const PAIRED_ROUNDS: usize = 200;
const PAIRED_BATCH: usize = 50;

/// The drift-free REST round trip comparison (see the crate docs): the same venue, client
/// and bare reqwest set-up as `round_trip`, batches alternated in one loop.
fn paired_round_trip() {
    let rig = RoundTripRig::new();
    let (runtime, client, bare, url) = (&rig.runtime, &rig.client, &rig.bare, rig.url.as_str());
    let bare_batch = || {
        runtime.block_on(async {
            let started = std::time::Instant::now();
            for _ in 0..PAIRED_BATCH {
                let body = bare.get(url).send().await.unwrap().bytes().await.unwrap();
                let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert!(value.get("serverTime").is_some());
            }
            started.elapsed()
        })
    };
    let client_batch = || {
        runtime.block_on(async {
            let started = std::time::Instant::now();
            for _ in 0..PAIRED_BATCH {
                client.server_time().await.unwrap();
            }
            started.elapsed()
        })
    };
    let (mut bare_s, mut client_s) = (Vec::new(), Vec::new());
    for round in 0..PAIRED_ROUNDS + 10 {
        let (b, q) = if round % 2 == 0 {
            let b = bare_batch();
            (b, client_batch())
        } else {
            let q = client_batch();
            (bare_batch(), q)
        };
        if round >= 10 {
            bare_s.push(b.as_secs_f64() / PAIRED_BATCH as f64);
            client_s.push(q.as_secs_f64() / PAIRED_BATCH as f64);
        }
    }
    let (bare_us, client_us) = (
        benches::median(bare_s) * 1e6,
        benches::median(client_s) * 1e6,
    );
    println!(
        "paired check round_trip ({PAIRED_ROUNDS} alternating batches of {PAIRED_BATCH}): \
         reqwest_bare {bare_us:.3} us, quiesce_client {client_us:.3} us (ratio {:.3})",
        client_us / bare_us
    );
    rig.stop();
}

criterion_group!(
    benches,
    limiter_benches,
    signing_benches,
    round_trip_benches
);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if benches::check_requested("round_trip/paired") {
        paired_round_trip();
    }
}
