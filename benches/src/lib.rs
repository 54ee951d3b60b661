//! Helpers shared by the benchmarks in `benches/`.

#![doc(test(attr(deny(warnings))))]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use exchange_rest::Endpoint;
use exchange_rest::limiter::{BucketSpec, RateLimiter, RateLimiterConfig};
use exchange_sim::SymbolConfig;
use futures::{Sink, SinkExt, Stream, StreamExt};
use mexc_proto::prost::Message as _;
use mexc_proto::push_data_v3_api_wrapper::Body;
use mexc_proto::{PublicAggreBookTickerV3Api, PushDataV3ApiWrapper};
use rust_decimal::Decimal;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// A rate limit no benchmark loop reaches: a million per millisecond.
pub const HUGE_LIMIT: u32 = 1_000_000;
/// The window of [`HUGE_LIMIT`].
pub const HUGE_WINDOW: Duration = Duration::from_millis(1);

/// A current-thread runtime with IO and timers.
///
/// # Panics
/// If the runtime cannot be built.
#[allow(
    clippy::expect_used,
    reason = "a benchmark without its runtime cannot run"
)]
pub fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
}

/// A rate limiter (not started) with MEXC's structure, one bucket per endpoint, and a budget
/// no benchmark loop reaches ([`HUGE_LIMIT`] per [`HUGE_WINDOW`]): the limiter stays on the
/// path without ever making a call wait.
pub fn unlimited_endpoint_limiter(name: &str) -> Arc<RateLimiter> {
    let mut config = RateLimiterConfig::new(name);
    for endpoint in Endpoint::ALL {
        // Unique names, fewer buckets than the limit: this cannot fail.
        let _ = config.add(BucketSpec::new(
            endpoint.name(),
            endpoint.scope(),
            HUGE_LIMIT,
            HUGE_WINDOW,
        ));
    }
    Arc::new(RateLimiter::new(config))
}

/// The venue's HIFIUSDT (its rules, its synthetic quotes) under another base asset, for a
/// second market whose frames have the same size and shape.
pub fn twin_of_hifi(base: &str) -> SymbolConfig {
    SymbolConfig {
        symbol: format!("{base}USDT"),
        base_asset: base.to_owned(),
        ..SymbolConfig::hifiusdt()
    }
}

/// One push frame of `symbol` on `channel`, encoded as the venue encodes its pushes.
pub fn push_frame(channel: String, symbol: &str, body: Body, time_ms: i64) -> Bytes {
    PushDataV3ApiWrapper {
        channel,
        symbol: Some(symbol.to_owned()),
        symbol_id: None,
        create_time: Some(time_ms),
        send_time: Some(time_ms),
        body: Some(body),
    }
    .encode_to_vec()
    .into()
}

/// The best bid and ask of event `n` around HIFIUSDT's 0.1 (it moves a tick per event, over
/// ten ticks).
pub fn touch(n: u64) -> (Decimal, Decimal) {
    let step = Decimal::new(i64::try_from(n % 10).unwrap_or(0), 5);
    (
        Decimal::new(9_990, 5) + step,
        Decimal::new(10_010, 5) + step,
    )
}

/// A book-ticker body for event `n` ([`touch`]).
pub fn book_ticker_body(n: u64, time_ms: i64) -> Body {
    let (bid, ask) = touch(n);
    Body::PublicAggreBookTicker(PublicAggreBookTickerV3Api {
        bid_price: bid.to_string(),
        bid_quantity: "500".to_owned(),
        ask_price: ask.to_string(),
        ask_quantity: "400".to_owned(),
        version: (1_000 + n).to_string(),
        last_order_create_time: time_ms,
    })
}

/// Subscribes a bare tokio-tungstenite client to `channels` and waits for the venue's
/// acknowledgement (a text reply naming `acked`).
///
/// # Errors
/// The socket failed or closed before the acknowledgement.
pub async fn subscribe_bare<S>(ws: &mut S, channels: &[String], acked: &str) -> Result<(), String>
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let request = serde_json::json!({ "method": "SUBSCRIPTION", "params": channels });
    ws.send(Message::text(request.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(reply))) if reply.as_str().contains(acked) => return Ok(()),
            Some(Ok(_)) => {}
            other => return Err(format!("no subscription acknowledgement: {other:?}")),
        }
    }
}

/// Whether this is a measuring run (`cargo bench`), not `--list` or a test-mode run.
pub fn bench_mode() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    args.iter().any(|arg| arg == "--bench")
        && !args.iter().any(|arg| arg == "--list" || arg == "--test")
}

/// Whether the command line asks for the check named `check` that a bench runs after
/// criterion: only under `cargo bench` (not `--list`, not test mode), and only if every name
/// filter (criterion's positional argument) is absent or is a part of `check`.
///
/// This reads criterion's command line again because criterion 0.8 keeps what it parsed to
/// itself: `Criterion::configure_from_args` stores the mode (bench, `--list`, `--test`) and
/// the name filter in private fields, and its `filter_matches` is private too. Running a
/// check as a criterion benchmark instead (which criterion would filter) does not fit: a
/// check is one paired loop, alternating anchor and ours and reporting a ratio, which must
/// run once, not be sampled and warmed up by criterion. What is read here is only what tells
/// a filter from an option's value.
pub fn check_requested(check: &str) -> bool {
    const TAKES_VALUE: [&str; 14] = [
        "--warm-up-time",
        "--measurement-time",
        "--sample-size",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--save-baseline",
        "--baseline",
        "--baseline-lenient",
        "--load-baseline",
        "--profile-time",
        "--output-format",
        "--plotting-backend",
    ];
    if !bench_mode() {
        return false;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filters = args.iter().enumerate().filter(|(i, arg)| {
        !arg.starts_with('-') && (*i == 0 || !TAKES_VALUE.contains(&args[i - 1].as_str()))
    });
    filters.all(|(_, filter)| check.contains(filter.as_str()))
}

/// The median of `values` (the upper one of an even count); NaN for none.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The medians of a paired check: `anchor` and `ours` in seconds per sample.
#[derive(Debug, Clone, Copy)]
pub struct Paired {
    /// Median seconds per sample of the anchor.
    pub anchor: f64,
    /// Median seconds per sample of ours.
    pub ours: f64,
}

impl Paired {
    /// `ours / anchor`.
    pub fn ratio(&self) -> f64 {
        self.ours / self.anchor
    }
}

/// Alternates samples of `anchor` and `ours` in one loop, `rounds` pairs after `warmup` pairs
/// left out, flipping which side goes first every round, and returns the median of each. Both
/// sides see the same drift of a shared machine, which separate criterion runs do not.
/// Each closure runs one sample and returns the time it measured.
pub fn paired(
    warmup: usize,
    rounds: usize,
    mut anchor: impl FnMut() -> std::time::Duration,
    mut ours: impl FnMut() -> std::time::Duration,
) -> Paired {
    let (mut anchor_s, mut ours_s) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..warmup + rounds {
        let (a, o) = if round % 2 == 0 {
            let a = anchor();
            (a, ours())
        } else {
            let o = ours();
            (anchor(), o)
        };
        if round >= warmup {
            anchor_s.push(a.as_secs_f64());
            ours_s.push(o.as_secs_f64());
        }
    }
    Paired {
        anchor: median(anchor_s),
        ours: median(ours_s),
    }
}
