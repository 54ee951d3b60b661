#![allow(clippy::unwrap_used, clippy::panic)]
//! Real MEXC answers (`tests/fixtures/mexc_answers.json`, each naming its public source):
//! (a) the REST client decodes every one through its real call path, from a local stub that
//! replays it; (b) the simulator's answer to the same request has the same fields with the
//! same JSON types (null where MEXC sends null).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use exchange_rest::{OrderRef, RestError};
use exchange_sim::auth::sign;
use exchange_sim::format::now_ms;
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, NewOrder, SimConfig, SimVenue};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use tokio::time::timeout;

/// Bound of each test.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Deserialize)]
struct FixtureFile {
    fixtures: Vec<Fixture>,
}

#[derive(Debug, Clone, Deserialize)]
struct Fixture {
    name: String,
    source: String,
    compare_with_sim: bool,
    answer: Value,
}

fn fixtures() -> Vec<Fixture> {
    let file: FixtureFile =
        serde_json::from_str(include_str!("fixtures/mexc_answers.json")).unwrap();
    for fixture in &file.fixtures {
        assert!(
            !fixture.source.is_empty(),
            "{} names no source",
            fixture.name
        );
    }
    file.fixtures
}

/// A local server answering every request with the next answer set by the test.
async fn replay_stub() -> (String, Arc<Mutex<(StatusCode, String)>>) {
    let next = Arc::new(Mutex::new((StatusCode::OK, String::new())));
    let answer = next.clone();
    let app = Router::new().fallback(move || {
        let answer = answer.clone();
        async move {
            let (status, body) = answer.lock().unwrap().clone();
            (status, [("content-type", "application/json")], body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, next)
}

#[tokio::test]
async fn the_client_decodes_every_real_answer() {
    timeout(TEST_TIMEOUT, async {
        let (url, next) = replay_stub().await;
        let (client, limiter) = common::client_of_stub(url).await;
        let by_id = || OrderRef::OrderId("1".into());
        for fixture in fixtures() {
            let is_error = fixture.name.starts_with("error_");
            let status = if is_error {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            *next.lock().unwrap() = (status, fixture.answer.to_string());
            let name = fixture.name.as_str();
            match name {
                "query_order" => {
                    let order = client.query_order("USTUSDT", by_id()).await.unwrap();
                    assert_eq!(order.order_id, "156198093501521920");
                    assert_eq!((order.time_in_force, order.stop_price), (None, None));
                    assert_eq!(order.client_order_id, None);
                    assert_eq!(order.price, Some(Decimal::new(1, 2)));
                    assert_eq!(order.update_time, Some(1_653_022_763_000));
                }
                "open_orders_bbgo" | "open_orders_mexc_rs" => {
                    let orders = client.open_orders("X").await.unwrap();
                    assert_eq!(orders.len(), 1, "{name}");
                    let order = &orders[0];
                    assert_eq!(order.client_order_id, None, "{name}: \"\" is no id");
                    assert_eq!(order.update_time, None, "{name}");
                    assert!(order.status.is_open() && order.is_working, "{name}");
                    assert!(order.orig_quote_order_qty.is_some(), "{name}");
                }
                "ticker_24hr" => {
                    let day = client.ticker_24h("APEUSDT").await.unwrap();
                    assert_eq!(day.last_price, Some(Decimal::new(86133, 4)));
                    assert_eq!(day.price_change_percent, Some(Decimal::new(99905, 7)));
                    assert_eq!(day.quote_volume, None);
                }
                "exchange_info_2022" => {
                    let info = client.exchange_info(&[]).await.unwrap();
                    assert_eq!(info.symbols.len(), 2);
                    assert_eq!(info.symbols[0].symbol, "TOMO3LUSDT");
                }
                "error_query_unknown_order" => {
                    let error = client.query_order("X", by_id()).await.unwrap_err();
                    assert!(
                        matches!(&error, RestError::UnknownOrder(e) if e.code == -2013),
                        "{error:?}"
                    );
                }
                "error_keep_alive_unknown_listen_key" => {
                    let error = client.keep_alive_listen_key("gone").await.unwrap_err();
                    assert!(
                        matches!(&error, RestError::ListenKeyInvalid(e) if e.code == 730708),
                        "{error:?}"
                    );
                }
                "error_missing_signature" => {
                    let error = client.keep_alive_listen_key("k").await.unwrap_err();
                    assert_eq!(
                        error.venue_error().map(|e| e.code),
                        Some(700004),
                        "{error:?}"
                    );
                }
                other => panic!("fixture {other} has no decoding check"),
            }
        }
        common::stop_cleanly(&client, &limiter).await;
    })
    .await
    .expect("timed out");
}

/// The JSON type of a value, as a word.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `sim` differs from `real` in fields or JSON types (arrays: their first elements).
fn shape_differences(real: &Value, sim: &Value, path: &str, out: &mut Vec<String>) {
    match (real, sim) {
        (Value::Object(real), Value::Object(sim)) => {
            for key in real.keys().filter(|k| !sim.contains_key(*k)) {
                out.push(format!("{path}.{key}: missing in the simulator's answer"));
            }
            for key in sim.keys().filter(|k| !real.contains_key(*k)) {
                out.push(format!("{path}.{key}: not in MEXC's answer"));
            }
            for (key, value) in real {
                if let Some(theirs) = sim.get(key) {
                    shape_differences(value, theirs, &format!("{path}.{key}"), out);
                }
            }
        }
        (Value::Array(real), Value::Array(sim)) => match (real.first(), sim.first()) {
            (Some(real), Some(sim)) => shape_differences(real, sim, &format!("{path}[0]"), out),
            (Some(_), None) => out.push(format!("{path}: the simulator's array is empty")),
            _ => {}
        },
        _ if json_type(real) != json_type(sim) => out.push(format!(
            "{path}: MEXC sends {} ({real}), the simulator {} ({sim})",
            json_type(real),
            json_type(sim)
        )),
        _ => {}
    }
}

#[test]
fn shape_differences_are_found() {
    let real = serde_json::json!({"a": null, "b": "1", "c": [{"d": 1}]});
    let sim = serde_json::json!({"a": "GTC", "c": [{"d": "1"}], "e": true});
    let mut found = Vec::new();
    shape_differences(&real, &sim, "", &mut found);
    assert_eq!(found.len(), 4, "{found:?}");
    let mut none = Vec::new();
    shape_differences(&real, &real, "", &mut none);
    assert!(none.is_empty());
}

/// The simulator, with one open LIMIT order without a client order id.
struct SimSide {
    sim: SimVenue,
    http: reqwest::Client,
    order_id: String,
}

impl SimSide {
    async fn start() -> Self {
        let mut config = SimConfig::paused();
        config.market.levels = 0;
        let sim = SimVenue::start(config).await.unwrap();
        let order = NewOrder::limit(
            "HIFIUSDT",
            exchange_sim::Side::Buy,
            Decimal::new(9, 2),
            Decimal::from(100),
        );
        let order_id = sim.place_order(DEMO_API_KEY, &order).unwrap().id();
        Self {
            sim,
            http: test_support::http_client(),
            order_id,
        }
    }

    /// One request; `signed` appends timestamp and signature to `query`.
    async fn call(&self, method: reqwest::Method, path: &str, query: &str, signed: bool) -> Value {
        let mut query = query.to_owned();
        if signed {
            let sep = if query.is_empty() { "" } else { "&" };
            query = format!("{query}{sep}timestamp={}", now_ms());
            let signature = sign(DEMO_API_SECRET, &query);
            query = format!("{query}&signature={signature}");
        }
        let text = self
            .http
            .request(method, format!("{}{path}?{query}", self.sim.rest_url()))
            .header("X-MEXC-APIKEY", DEMO_API_KEY)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }

    /// The simulator's answer to the request a fixture captured.
    async fn answer_to(&self, fixture: &str) -> Value {
        use reqwest::Method;
        let id = &self.order_id;
        match fixture {
            "query_order" => {
                self.call(
                    Method::GET,
                    "/api/v3/order",
                    &format!("symbol=HIFIUSDT&orderId={id}"),
                    true,
                )
                .await
            }
            "open_orders_bbgo" | "open_orders_mexc_rs" => {
                self.call(Method::GET, "/api/v3/openOrders", "symbol=HIFIUSDT", true)
                    .await
            }
            "ticker_24hr" => {
                self.call(Method::GET, "/api/v3/ticker/24hr", "symbol=HIFIUSDT", false)
                    .await
            }
            "error_query_unknown_order" => {
                self.call(
                    Method::GET,
                    "/api/v3/order",
                    "symbol=HIFIUSDT&orderId=C02__999999",
                    true,
                )
                .await
            }
            "error_keep_alive_unknown_listen_key" => {
                let created = self
                    .call(Method::POST, "/api/v3/userDataStream", "", true)
                    .await;
                let key = format!("listenKey={}", created["listenKey"].as_str().unwrap());
                self.call(Method::DELETE, "/api/v3/userDataStream", &key, true)
                    .await;
                self.call(Method::PUT, "/api/v3/userDataStream", &key, true)
                    .await
            }
            "error_missing_signature" => {
                let query = format!("listenKey=k&timestamp={}", now_ms());
                self.call(Method::PUT, "/api/v3/userDataStream", &query, false)
                    .await
            }
            other => panic!("fixture {other} has no simulator request"),
        }
    }
}

#[tokio::test]
async fn the_simulator_answers_as_real_mexc_does() {
    timeout(TEST_TIMEOUT, async {
        let side = SimSide::start().await;
        let mut differences = Vec::new();
        for fixture in fixtures().into_iter().filter(|f| f.compare_with_sim) {
            let sim = side.answer_to(&fixture.name).await;
            let mut found = Vec::new();
            shape_differences(&fixture.answer, &sim, "", &mut found);
            // An error's code and text are what clients match on: they must be MEXC's own.
            if fixture.name.starts_with("error_") {
                for key in ["code", "msg"] {
                    if fixture.answer[key] != sim[key] {
                        found.push(format!(
                            ".{key}: MEXC sends {}, the simulator {}",
                            fixture.answer[key], sim[key]
                        ));
                    }
                }
            }
            differences.extend(
                found
                    .into_iter()
                    .map(|d| format!("{} ({}): {d}", fixture.name, fixture.source)),
            );
        }
        assert!(differences.is_empty(), "{}", differences.join("\n"));
        side.sim.shutdown().await;
    })
    .await
    .expect("timed out");
}
