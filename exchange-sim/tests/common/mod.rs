//! Shared helpers of the integration tests: a signing MEXC REST client and a websocket client.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::time::Duration;

use exchange_sim::{
    DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue, auth::sign, format::now_ms,
};
use futures::{SinkExt, StreamExt};
use mexc_proto::PushDataV3ApiWrapper;
use prost::Message as _;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Bound of every async test.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);

#[allow(unused_imports, reason = "not every test binary bounds its bodies")]
pub use test_support::bounded;

/// A venue whose synthetic market is paused after its initial quotes (a market that does not
/// move, not tokio's paused clock).
pub async fn start_with_market_paused() -> SimVenue {
    SimVenue::start(SimConfig::paused()).await.unwrap()
}

/// A venue with a custom configuration (market paused).
pub async fn start_with(configure: impl FnOnce(&mut SimConfig)) -> SimVenue {
    let mut config = SimConfig::paused();
    configure(&mut config);
    SimVenue::start(config).await.unwrap()
}

/// A second account's credentials (see [`quiet_venue`]).
pub const BOB_KEY: &str = "mx0BOB";
pub const BOB_SECRET: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";

/// A paused venue with no synthetic quotes, at most `max_open` open orders per account, and
/// a second account (`BOB_KEY`) holding 1000 USDT and 1000 HIFI.
pub async fn quiet_venue(max_open: usize) -> SimVenue {
    start_with(|c| {
        c.market.levels = 0;
        c.max_open_orders_per_account = max_open;
        c.accounts.push(
            exchange_sim::AccountConfig::new(BOB_KEY, BOB_SECRET)
                .with_balances([("USDT", 1000.into()), ("HIFI", 1000.into())]),
        );
    })
    .await
}

/// A MEXC REST client.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
    pub secret: String,
}

impl Client {
    pub fn demo(sim: &SimVenue) -> Self {
        Self::new(sim, DEMO_API_KEY, DEMO_API_SECRET)
    }

    pub fn new(sim: &SimVenue, key: &str, secret: &str) -> Self {
        Self {
            http: test_support::http_client(),
            base: sim.rest_url(),
            key: key.into(),
            secret: secret.into(),
        }
    }

    /// A public GET.
    pub async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .await
            .unwrap();
        split(response).await
    }

    /// A signed request with every parameter in the query (plus timestamp and signature).
    pub async fn signed(&self, method: Method, path: &str, params: &str) -> (StatusCode, Value) {
        let sep = if params.is_empty() { "" } else { "&" };
        let query = format!("{params}{sep}timestamp={}", now_ms());
        let signature = sign(&self.secret, &query);
        self.raw(method, path, &format!("{query}&signature={signature}"), "")
            .await
    }

    /// A request with this exact query and body (already signed or deliberately not).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}?{query}", self.base))
            .header("X-MEXC-APIKEY", &self.key)
            .header("Content-Type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        split(response).await
    }

    /// `POST /api/v3/order` (signed) with these parameters.
    pub async fn new_order(&self, params: &str) -> (StatusCode, Value) {
        self.signed(Method::POST, "/api/v3/order", params).await
    }

    /// `GET /api/v3/order` (signed): query one order.
    pub async fn query_order(&self, params: &str) -> (StatusCode, Value) {
        self.signed(Method::GET, "/api/v3/order", params).await
    }

    /// `DELETE /api/v3/order` (signed): cancel one order.
    pub async fn cancel_order(&self, params: &str) -> (StatusCode, Value) {
        self.signed(Method::DELETE, "/api/v3/order", params).await
    }

    /// Place a LIMIT order through REST and return its orderId.
    pub async fn limit(&self, symbol: &str, side: &str, price: &str, qty: &str) -> String {
        let (status, body) = self
            .new_order(&format!(
                "symbol={symbol}&side={side}&type=LIMIT&price={price}&quantity={qty}"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["orderId"].as_str().unwrap().to_owned()
    }

    pub async fn listen_key(&self) -> String {
        let (status, body) = self
            .signed(Method::POST, "/api/v3/userDataStream", "")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["listenKey"].as_str().unwrap().to_owned()
    }
}

async fn split(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

pub async fn send_json(ws: &mut Ws, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

/// Next text frame as JSON (skipping binary pushes).
pub async fn next_text(ws: &mut Ws) -> Value {
    loop {
        match ws.next().await.expect("stream ended").expect("ws error") {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            Message::Close(frame) => panic!("closed: {frame:?}"),
        }
    }
}

/// The code of the close frame the server sends next (skipping other frames), or `None` if
/// the connection ends without one.
pub async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

/// Next binary push, decoded (skipping text frames).
pub async fn next_push(ws: &mut Ws) -> PushDataV3ApiWrapper {
    loop {
        match ws.next().await.expect("stream ended").expect("ws error") {
            Message::Binary(bytes) => return PushDataV3ApiWrapper::decode(bytes.as_ref()).unwrap(),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
}

/// Next push on `channel`.
pub async fn next_push_on(ws: &mut Ws, channel: &str) -> PushDataV3ApiWrapper {
    loop {
        let push = next_push(ws).await;
        if push.channel == channel {
            return push;
        }
    }
}

/// Subscribe and wait for the ack.
pub async fn subscribe(ws: &mut Ws, channels: &[&str]) -> Value {
    send_json(
        ws,
        serde_json::json!({"method": "SUBSCRIPTION", "params": channels}),
    )
    .await;
    next_text(ws).await
}

#[allow(unused_imports, reason = "not every test binary polls")]
pub use test_support::eventually;

/// How long the venue's tests wait for a state to come about.
pub const SETTLE: Duration = Duration::from_secs(10);

/// Collect pushes until `done` holds for the collection.
pub async fn collect_pushes(
    ws: &mut Ws,
    done: impl Fn(&[PushDataV3ApiWrapper]) -> bool,
) -> Vec<PushDataV3ApiWrapper> {
    let mut pushes = Vec::new();
    while !done(&pushes) {
        pushes.push(next_push(ws).await);
    }
    pushes
}

/// Pushes of one channel.
pub fn on_channel<'a>(
    pushes: &'a [PushDataV3ApiWrapper],
    channel: &'a str,
) -> impl Iterator<Item = &'a PushDataV3ApiWrapper> + 'a {
    pushes.iter().filter(move |p| p.channel == channel)
}
