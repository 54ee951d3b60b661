//! Property test over the full integer ranges of every numeric parameter the venue reads:
//! whatever a client sends, the venue answers (no panic, no dropped connection), never with a
//! 5xx, always in MEXC's shape, and a timestamp far from the server's clock is refused.

mod common;

use common::{Client, start_with};
use exchange_sim::auth::sign;
use exchange_sim::format::now_ms;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;

/// Where a numeric value goes.
#[derive(Debug, Clone, Copy)]
struct Target {
    method: &'static str,
    path: &'static str,
    signed: bool,
    /// Other parameters of the request, then the one under test.
    fixed: &'static str,
    name: &'static str,
}

const fn target(
    method: &'static str,
    path: &'static str,
    signed: bool,
    fixed: &'static str,
    name: &'static str,
) -> Target {
    Target {
        method,
        path,
        signed,
        fixed,
        name,
    }
}

const TARGETS: &[Target] = &[
    target("GET", "/api/v3/depth", false, "symbol=HIFIUSDT", "limit"),
    target("GET", "/api/v3/trades", false, "symbol=HIFIUSDT", "limit"),
    target("GET", "/api/v3/allOrders", true, "symbol=HIFIUSDT", "limit"),
    target("GET", "/api/v3/myTrades", true, "symbol=HIFIUSDT", "limit"),
    target(
        "GET",
        "/api/v3/myTrades",
        true,
        "symbol=HIFIUSDT",
        "startTime",
    ),
    target(
        "GET",
        "/api/v3/myTrades",
        true,
        "symbol=HIFIUSDT",
        "endTime",
    ),
    target(
        "GET",
        "/api/v3/openOrders",
        true,
        "symbol=HIFIUSDT",
        "recvWindow",
    ),
    target(
        "GET",
        "/api/v3/openOrders",
        true,
        "symbol=HIFIUSDT",
        "timestamp",
    ),
    target("GET", "/api/v3/order", true, "symbol=HIFIUSDT", "orderId"),
    target(
        "POST",
        "/api/v3/order/test",
        true,
        "symbol=HIFIUSDT&side=BUY&type=LIMIT&price=0.1",
        "quantity",
    ),
    target(
        "POST",
        "/api/v3/order/test",
        true,
        "symbol=HIFIUSDT&side=BUY&type=LIMIT&quantity=20",
        "price",
    ),
    target(
        "POST",
        "/api/v3/order/test",
        true,
        "symbol=HIFIUSDT&side=BUY&type=MARKET",
        "quoteOrderQty",
    ),
];

/// The edges of `i64` and `u64` and numbers just outside them; every target is tried with
/// each of them before the random cases.
const EDGES: &[&str] = &[
    "-9223372036854775808",
    "-9223372036854775807",
    "9223372036854775807",
    "18446744073709551615",
    "0",
    "-1",
    "-9223372036854775809",
    "18446744073709551616",
    "79228162514264337593543950336",
];

/// Integers over the whole of `i64` and `u64`.
fn any_integer_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
    ]
}

#[test]
fn every_numeric_parameter_over_its_full_range() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (sim, client) = runtime.block_on(async {
        let sim = start_with(|c| c.rate_limits = exchange_sim::RateLimitConfig::disabled()).await;
        let client = Client::demo(&sim);
        (sim, client)
    });
    let mut runner = TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    });
    let check = |index: usize, value: String| -> Result<(), TestCaseError> {
        let target = TARGETS[index];
        let request = async {
            let method = Method::from_bytes(target.method.as_bytes()).unwrap();
            let mut query = format!("{}&{}={value}", target.fixed, target.name);
            if !target.signed {
                return client.raw(method, target.path, &query, "").await;
            }
            if target.name != "timestamp" {
                query.push_str(&format!("&timestamp={}", now_ms()));
            }
            let signature = sign(&client.secret, &query);
            client
                .raw(
                    method,
                    target.path,
                    &format!("{query}&signature={signature}"),
                    "",
                )
                .await
        };
        let (status, body) = runtime
            .block_on(async { tokio::time::timeout(common::TEST_TIMEOUT, request).await })
            .map_err(|_| TestCaseError::fail(format!("no answer to {target:?} = {value}")))?;
        prop_assert!(
            status.as_u16() < 500,
            "{target:?} = {value}: {status} {body}"
        );
        if !status.is_success() {
            prop_assert!(
                body["code"].is_i64() && body["msg"].is_string(),
                "{target:?} = {value}: {body}"
            );
        }
        if target.name == "timestamp"
            && value.parse::<i64>().map_or(true, |t| {
                (i128::from(t) - i128::from(now_ms())).abs() > 70_000
            })
        {
            prop_assert!(
                body["code"] == 700003 || body["code"] == 700008,
                "timestamp {value} accepted: {body}"
            );
        }
        Ok(())
    };
    let edges = (0..TARGETS.len())
        .flat_map(|index| EDGES.iter().map(move |edge| (index, (*edge).to_owned())))
        .try_for_each(|(index, value)| check(index, value))
        .map_err(|e| e.to_string());
    let strategy = (0..TARGETS.len(), any_integer_text());
    let result = edges.and_then(|()| {
        runner
            .run(&strategy, |(index, value)| check(index, value))
            .map_err(|e| e.to_string())
    });
    runtime.block_on(sim.shutdown());
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
