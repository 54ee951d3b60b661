//! A venue of your own behind the `Venue` seam: a paper venue that keeps orders in memory and
//! pushes every order change over its own websocket (on 127.0.0.1, an ephemeral port), in its
//! own format (one JSON object per binary frame). A `PrivateCompositeExchange` runs on it
//! unchanged, with the whole no-orphan promise: at start it cancels the orders a previous run
//! of ours left behind, its orders carry our client-order-id prefix, it follows their updates,
//! and its stop cancels ours, confirms none is left, and closes the private session, while an
//! order that is not ours stays untouched.
//!
//! `cargo run -p exchange-composite --example 02_custom_venue`
//!
//! The composites' sockets speak the websocket control frames of MEXC (`SUBSCRIPTION` and its
//! ack, `PING` and `PONG`), so the venue's socket answers those; what it pushes, and how its
//! requests look, is the venue's own business, behind the trait.
#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use exchange_composite::rest::VenueError;
use exchange_composite::{
    AssetName, Balance, ClientOrderId, DecodeError, DepthDiff, DepthSequencing, DepthSnapshot,
    DiffPlace, ExchangeBuilder, ExchangeConfig, ExchangeError, Order, OrderKey, OrderRequest,
    OrderStatus, OrderType, OrderUpdate, PlacedOrder, PriceLevel, PushBuffers, PushDecoder,
    PushInterval, RestError, Side, Symbol, SymbolRules, Venue, VenueEvent,
};
use futures::{SinkExt, StreamExt};
use lifecycle_core::{AsyncResource, BoxFuture};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// The paper venue: an order book of one account, in memory.
#[derive(Debug)]
struct PaperVenue {
    orders: Mutex<BTreeMap<String, Order>>,
    next_id: AtomicU64,
    /// Every order change, encoded, for the push socket.
    pushes: broadcast::Sender<Vec<u8>>,
    /// The private sessions open now (tokens of the push socket's private URL).
    sessions: Mutex<BTreeSet<String>>,
}

impl PaperVenue {
    fn new() -> Self {
        Self {
            orders: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            pushes: broadcast::channel(64).0,
            sessions: Mutex::new(BTreeSet::new()),
        }
    }

    /// Takes an order in (a resting limit order: nothing ever fills here) and pushes it.
    fn accept(&self, symbol: &Symbol, request: &OrderRequest, id: Option<ClientOrderId>) -> Order {
        let order = Order {
            symbol: symbol.clone(),
            order_id: format!("P{}", self.next_id.fetch_add(1, Ordering::Relaxed)),
            client_order_id: id,
            side: request.side,
            order_type: request.order_type,
            price: request.price,
            quantity: request.quantity,
            filled_quantity: Decimal::ZERO,
            filled_quote: Decimal::ZERO,
            status: OrderStatus::New,
            updated_ms: 0,
        };
        self.book().insert(order.order_id.clone(), order.clone());
        self.push(&order);
        order
    }

    fn book(&self) -> MutexGuard<'_, BTreeMap<String, Order>> {
        self.orders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sessions(&self) -> MutexGuard<'_, BTreeSet<String>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self) -> Vec<Order> {
        let book = self.book();
        book.values()
            .filter(|o| o.status.is_open())
            .cloned()
            .collect()
    }

    /// The venue's push format: one JSON object per order change.
    fn push(&self, order: &Order) {
        let frame = json!({
            "market": code(&order.symbol),
            "id": order.order_id,
            "client_id": order.client_order_id.as_ref().map(ToString::to_string),
            "side": if order.side == Side::Buy { "buy" } else { "sell" },
            "price": order.price.to_string(),
            "quantity": order.quantity.to_string(),
            "open": order.status.is_open(),
        });
        // No subscriber yet is fine: the exchange reads the open orders at start.
        let _ = self.pushes.send(frame.to_string().into_bytes());
    }
}

/// The venue's code of a market: `HIFI-USDT`.
fn code(symbol: &Symbol) -> String {
    format!("{}-{}", symbol.base, symbol.quote)
}

/// The error the composites recognise as "the venue has no such open order"
/// ([`ExchangeError::is_unknown_order`]): the sweep then knows the order is gone.
fn no_such_order(key: &OrderKey) -> ExchangeError {
    ExchangeError::Rest(RestError::UnknownOrder(VenueError {
        status: 400,
        code: -2011,
        msg: format!("paper: no open {key}"),
    }))
}

impl Venue for PaperVenue {
    fn name(&self) -> &str {
        "paper"
    }

    fn symbol_code(&self, symbol: &Symbol) -> String {
        code(symbol)
    }

    fn placement_window(&self) -> Duration {
        // An in-memory venue carries a placement out before it answers.
        Duration::ZERO
    }

    fn market_rules<'a>(
        &'a self,
        codes: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<(String, SymbolRules)>, ExchangeError>> {
        let rules = SymbolRules {
            price_precision: 5,
            quantity_precision: 2,
            min_quantity: Decimal::new(1, 2),
            min_notional: Decimal::ONE,
        };
        Box::pin(async move {
            Ok(codes
                .iter()
                .map(|c| ((*c).to_owned(), rules.clone()))
                .collect())
        })
    }

    /// The resting orders, level by level (best first), versioned by the venue's id counter.
    fn depth_snapshot<'a>(
        &'a self,
        code: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<DepthSnapshot, ExchangeError>> {
        let mut levels: [BTreeMap<Decimal, Decimal>; 2] = Default::default();
        for order in self
            .open()
            .iter()
            .filter(|o| self.symbol_code(&o.symbol) == code)
        {
            let side = usize::from(order.side == Side::Sell);
            *levels[side].entry(order.price).or_default() += order.quantity;
        }
        let [bids, asks] = levels;
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        let level = |(price, quantity)| PriceLevel { price, quantity };
        let snapshot = DepthSnapshot {
            last_update_id: self.next_id.load(Ordering::Relaxed),
            bids: bids.into_iter().rev().take(take).map(level).collect(),
            asks: asks.into_iter().take(take).map(level).collect(),
        };
        Box::pin(async move { Ok(snapshot) })
    }

    fn place_order<'a>(
        &'a self,
        _code: &'a str,
        order: &'a OrderRequest,
        id: &'a ClientOrderId,
    ) -> BoxFuture<'a, Result<PlacedOrder, ExchangeError>> {
        Box::pin(async move {
            let placed = self.accept(&order.symbol, order, Some(id.clone()));
            Ok(PlacedOrder {
                order_id: placed.order_id,
                time_ms: 0,
            })
        })
    }

    fn cancel_order<'a>(
        &'a self,
        _symbol: &'a Symbol,
        _code: &'a str,
        key: OrderKey,
        _deadline: Option<Instant>,
    ) -> BoxFuture<'a, Result<Order, ExchangeError>> {
        Box::pin(async move {
            let cancelled = {
                let mut book = self.book();
                let order = book
                    .values_mut()
                    .filter(|o| o.status.is_open())
                    .find(|o| match &key {
                        OrderKey::OrderId(id) => &o.order_id == id,
                        OrderKey::ClientOrderId(id) => o.client_order_id.as_ref() == Some(id),
                    })
                    .ok_or_else(|| no_such_order(&key))?;
                order.status = OrderStatus::Canceled;
                order.clone()
            };
            self.push(&cancelled);
            Ok(cancelled)
        })
    }

    fn open_orders<'a>(
        &'a self,
        _symbol: &'a Symbol,
        _code: &'a str,
        _deadline: Option<Instant>,
    ) -> BoxFuture<'a, Result<Vec<Order>, ExchangeError>> {
        Box::pin(async move { Ok(self.open()) })
    }

    fn query_order<'a>(
        &'a self,
        _symbol: &'a Symbol,
        _code: &'a str,
        key: OrderKey,
    ) -> BoxFuture<'a, Result<Order, ExchangeError>> {
        Box::pin(async move {
            let book = self.book();
            book.values()
                .find(|o| match &key {
                    OrderKey::OrderId(id) => &o.order_id == id,
                    OrderKey::ClientOrderId(id) => o.client_order_id.as_ref() == Some(id),
                })
                .cloned()
                .ok_or_else(|| no_such_order(&key))
        })
    }

    fn balances(&self) -> BoxFuture<'_, Result<Vec<Balance>, ExchangeError>> {
        Box::pin(async {
            Ok(vec![Balance {
                asset: AssetName::new("USDT")?,
                free: Decimal::from(1_000),
                locked: Decimal::ZERO,
            }])
        })
    }

    fn open_private_session(&self) -> BoxFuture<'_, Result<String, ExchangeError>> {
        Box::pin(async move {
            let token = format!("session-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
            self.sessions().insert(token.clone());
            Ok(token)
        })
    }

    fn keep_private_session_alive<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ExchangeError>> {
        // An unknown session must be told apart: the private socket then opens a new one.
        let known = self.sessions().contains(token);
        Box::pin(async move {
            known.then_some(()).ok_or_else(|| {
                ExchangeError::Rest(RestError::ListenKeyInvalid(VenueError {
                    status: 400,
                    code: 730_708,
                    msg: "paper: no such session".to_owned(),
                }))
            })
        })
    }

    fn close_private_session<'a>(
        &'a self,
        token: &'a str,
        _deadline: Instant,
    ) -> BoxFuture<'a, Result<(), ExchangeError>> {
        self.sessions().remove(token);
        Box::pin(async { Ok(()) })
    }

    fn private_sessions(
        &self,
        _deadline: Instant,
    ) -> BoxFuture<'_, Result<Vec<String>, ExchangeError>> {
        let open = self.sessions().iter().cloned().collect();
        Box::pin(async move { Ok(open) })
    }

    fn private_socket_url(&self, ws_url: &str, token: &str) -> String {
        format!("{ws_url}?session={token}")
    }

    fn public_channels(&self, codes: &[&str], _interval: PushInterval) -> Vec<String> {
        codes.iter().map(|c| format!("book.{c}")).collect()
    }

    fn private_channels(&self) -> Vec<String> {
        vec!["orders".to_owned()]
    }

    fn push_decoder(&self) -> Box<dyn PushDecoder> {
        Box::new(PaperPushDecoder)
    }

    fn depth_sequencing(&self) -> Arc<dyn DepthSequencing> {
        Arc::new(PaperDepthVersions)
    }
}

/// The paper venue's push format: one JSON object per order change.
#[derive(Debug)]
struct PaperPushDecoder;

impl PushDecoder for PaperPushDecoder {
    // Order updates only: returned owned, no buffer needed (market data would be filled
    // into `buffers`: `PushBuffers::book_ticker`, `depth_diff`, `trades`).
    fn decode<'b>(
        &mut self,
        frame: &[u8],
        _buffers: &'b mut PushBuffers,
    ) -> Result<VenueEvent<'b>, DecodeError> {
        let bad = |field: &'static str| DecodeError::BadText {
            field,
            value: String::from_utf8_lossy(frame).chars().take(40).collect(),
        };
        let push: Value = serde_json::from_slice(frame).map_err(|_| bad("frame"))?;
        let text = |field: &'static str| push[field].as_str().ok_or_else(|| bad(field));
        let decimal = |field: &'static str| -> Result<Decimal, DecodeError> {
            text(field)?.parse().map_err(|_| bad(field))
        };
        let client_order_id = match push["client_id"].as_str() {
            Some(id) => Some(ClientOrderId::new(id).map_err(|_| bad("client_id"))?),
            None => None,
        };
        Ok(VenueEvent::Order(OrderUpdate {
            symbol_code: text("market")?.to_owned(),
            order_id: text("id")?.to_owned(),
            client_order_id,
            side: if text("side")? == "buy" {
                Side::Buy
            } else {
                Side::Sell
            },
            order_type: OrderType::Limit,
            price: decimal("price")?,
            quantity: decimal("quantity")?,
            filled_quantity: Decimal::ZERO,
            average_price: Decimal::ZERO,
            status: if push["open"].as_bool().ok_or_else(|| bad("open"))? {
                OrderStatus::New
            } else {
                OrderStatus::Canceled
            },
            time_ms: 0,
        }))
    }
}

/// The paper venue's depth versions are its order-id counter, and a diff (it pushes none yet)
/// would start right after the book: no overlap, unlike MEXC's.
#[derive(Debug)]
struct PaperDepthVersions;

impl DepthSequencing for PaperDepthVersions {
    fn place(&self, version: u64, diff: &DepthDiff) -> DiffPlace {
        let next = version.saturating_add(1);
        if diff.to_version <= version {
            DiffPlace::Stale
        } else if diff.from_version == next {
            DiffPlace::Next
        } else {
            DiffPlace::Gap { expected: next }
        }
    }
}

/// The venue's push socket: acks subscriptions and heartbeats as the composites' sockets
/// expect, and forwards every order change.
async fn serve_pushes(listener: TcpListener, venue: Arc<PaperVenue>) {
    while let Ok((tcp, _)) = listener.accept().await {
        tokio::spawn(serve_connection(tcp, venue.pushes.subscribe()));
    }
}

async fn serve_connection(tcp: TcpStream, mut pushes: broadcast::Receiver<Vec<u8>>) {
    let Ok(mut socket) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    loop {
        tokio::select! {
            inbound = socket.next() => {
                let Some(Ok(message)) = inbound else { return };
                let Message::Text(text) = message else { continue };
                let Ok(request) = serde_json::from_str::<Value>(&text) else { continue };
                let replies: Vec<String> = match request["method"].as_str() {
                    Some("PING") => vec!["PONG".to_owned()],
                    Some("SUBSCRIPTION" | "UNSUBSCRIPTION") => request["params"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|channel| channel.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                };
                for msg in replies {
                    let ack = json!({ "id": 0, "code": 0, "msg": msg }).to_string();
                    if socket.send(Message::text(ack)).await.is_err() {
                        return;
                    }
                }
            }
            push = pushes.recv() => {
                let Ok(frame) = push else { return };
                if socket.send(Message::binary(frame)).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let venue = Arc::new(PaperVenue::new());
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(serve_pushes(listener, venue.clone()));

    let hifi = Symbol::spot(AssetName::new("HIFI")?, AssetName::new("USDT")?);
    let mut config = ExchangeConfig::new(format!("http://{address}"), format!("ws://{address}/ws"))
        .symbol(hifi.clone());
    config.name = "paper".to_owned();
    // Left behind: one order of a previous run of ours (our prefix) and one of someone else.
    let resting = OrderRequest::limit_maker(hifi.clone(), Side::Buy, Decimal::new(5, 2), 30.into());
    let prefix = &config.client_order_id_prefix;
    venue.accept(
        &hifi,
        &resting,
        Some(ClientOrderId::new(&format!("{prefix}killed-1"))?),
    );
    venue.accept(&hifi, &resting, Some(ClientOrderId::new("someone-else-1")?));

    let private = ExchangeBuilder::new(&config)
        .venue(venue.clone())
        .private()?;
    private.start().await?;
    let mut updates = private.subscribe_order_updates()?;
    // The start does not wait for the push socket's link, and a push sent before the link is
    // up is lost: wait for it before relying on pushes.
    if !private
        .socket()
        .wait_connected(Duration::from_secs(5))
        .await
    {
        return Err("the push socket did not connect".into());
    }
    println!(
        "started on {}: {} order(s) of a previous run cancelled",
        venue.name(),
        private.stale_orders_cancelled()
    );

    // 25.001 at 0.09999999: rounded to the venue's precision, on the passive side.
    let bid = OrderRequest::limit_maker(
        hifi.clone(),
        Side::Buy,
        Decimal::new(9_999_999, 8),
        Decimal::new(25_001, 3),
    );
    let placed = private.place_order(bid).await?;
    println!(
        "placed {} {hifi} at {}: {}",
        placed.quantity, placed.price, placed.order_id
    );
    // The venue's push, decoded by the venue's `PushDecoder`, reaches the order stream.
    let pushed = tokio::time::timeout(Duration::from_secs(5), async {
        // `Err(Lagged)`: updates this subscriber was too slow to see (none here).
        while let Some(update) = updates.next().await {
            if let Ok(update) = update
                && update.order_id == placed.order_id
            {
                return Some(update);
            }
        }
        None
    })
    .await?
    .ok_or("the order stream ended")?;
    println!("pushed: {} is {}", pushed.order_id, pushed.status);

    let report = private.stop_within(Duration::from_secs(5)).await;
    println!("{report}");
    let left: Vec<String> = venue
        .open()
        .iter()
        .filter_map(|o| o.client_order_id.as_ref().map(ToString::to_string))
        .collect();
    let sessions = venue.sessions().len();
    println!("open on the venue after the stop: {left:?}; private sessions open: {sessions}");
    if !report.is_clean() || left != ["someone-else-1"] || sessions != 0 {
        return Err("the stop left orders or a session of ours behind".into());
    }
    Ok(())
}
