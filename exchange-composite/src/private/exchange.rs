//! [`PrivateCompositeExchange`]: orders, balances and private streams of one account.

use std::fmt;
use std::sync::Arc;

use exchange_streams::{ObservableStreams, Subscription};
use exchange_ws::WebSocketManager;
use futures::future::join_all;
use lifecycle_core::{
    AsyncResource, BoxFuture, LifecycleState, ResourceGroup, StartError, StateTag, StateWatcher,
    StopReport,
};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::ExchangeConfig;
use crate::domain::asset::AssetName;
use crate::domain::balance::Balance;
use crate::domain::client_order_id::{ClientOrderId, ClientOrderIdGenerator};
use crate::domain::order::{Order, OrderStatus, OrderType};
use crate::domain::rules::SymbolRules;
use crate::domain::symbol::Symbol;
use crate::domain::updates::{BalanceUpdate, Fill, OrderUpdate};
use crate::error::ExchangeError;
use crate::markets::Markets;
use crate::parts::{ExchangeBuilder, ExchangeParts, Part};
use crate::private::handler::{Balances, PrivatePublishers, PrivateStreamHandler, seed_balances};
use crate::private::order_guard::{AfterReconcile, OrderGuard, Sweep};
use crate::private::order_request::OrderRequest;
use crate::private::socket::{PrivateSocket, SessionTiming};
use crate::push_decoder::{FrameCounts, FrameDecoder};
use crate::venue::{OrderKey, Venue};

/// Stream of our order updates.
pub const ORDERS_STREAM: &str = "orders";
/// Stream of our fills.
pub const FILLS_STREAM: &str = "fills";
/// Stream of balance changes.
pub const BALANCE_UPDATES_STREAM: &str = "balance_updates";
/// Latest balances by asset.
pub const BALANCES_STREAM: &str = "balances";

/// One account on a venue: place, cancel, cancel all, open orders, balances; the listen key's
/// whole life; private order, fill and balance streams.
///
/// **No orphan orders.** Every order it places carries a client order id with the configured
/// prefix. At start, before anything can be placed, it cancels the orders with that prefix a
/// previous run left behind. At stop it refuses new orders, waits for placements in flight,
/// cancels every open order with the prefix and confirms with the venue that none remain; the
/// stop report names each order it could not confirm.
///
/// Its parts stop in [the shutdown order](crate#the-shutdown-order): the order guard (`CriticalFirst`, while REST is alive),
/// the private socket and listen key (`High`), the streams (`Low`), and, if it owns them, the
/// REST client and rate limiter (`Cleanup`).
///
/// ```no_run
/// # #[allow(dead_code)]
/// # async fn demo(config: exchange_composite::ExchangeConfig, symbol: exchange_composite::Symbol) -> Result<(), exchange_composite::ExchangeError> {
/// use std::time::Duration;
/// use rust_decimal::Decimal;
/// use exchange_composite::{OrderRequest, PrivateCompositeExchange, Side};
/// use lifecycle_core::AsyncResource;
///
/// let private = PrivateCompositeExchange::new(&config)?;
/// private.start().await?;
/// let bid = private
///     .place_order(OrderRequest::limit_maker(symbol, Side::Buy, Decimal::new(9, 2), Decimal::from(25)))
///     .await?;
/// println!("resting: {}", bid.order_id);
/// // Stopping cancels the bid and confirms it is gone.
/// let report = private.stop_within(Duration::from_secs(5)).await;
/// assert!(report.is_clean());
/// # Ok(()) }
/// ```
pub struct PrivateCompositeExchange {
    group: ResourceGroup,
    parts: PrivateParts,
}

impl fmt::Debug for PrivateCompositeExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateCompositeExchange")
            .field("group", &self.group)
            .field("guard", &self.parts.guard)
            .field("socket", &self.parts.socket)
            .finish_non_exhaustive()
    }
}

impl PrivateCompositeExchange {
    /// A private exchange (not started) on MEXC spot, which owns its REST client and rate
    /// limiter. For a shared REST client or another venue, see [`ExchangeBuilder`].
    ///
    /// # Errors
    /// No credentials, a bad client-order-id prefix, or the HTTP client cannot be built.
    pub fn new(config: &ExchangeConfig) -> Result<Self, ExchangeError> {
        ExchangeBuilder::new(config).private()
    }

    /// The configured markets.
    pub fn symbols(&self) -> Vec<Symbol> {
        self.parts.markets.symbols().cloned().collect()
    }

    /// A market's trading rules (loaded at start).
    ///
    /// # Errors
    /// [`ExchangeError::UnknownSymbol`] for a market not configured (or before start).
    pub fn rules(&self, symbol: &Symbol) -> Result<SymbolRules, ExchangeError> {
        self.parts.markets.rules(symbol)
    }

    /// The generator of our client order ids (its prefix marks our orders).
    pub fn client_order_ids(&self) -> &ClientOrderIdGenerator {
        &self.parts.ids
    }

    /// Places an order: rounds its price towards the passive side and its quantity to the
    /// market's precision, checks the minimums, and sends it with a fresh client order id.
    ///
    /// The order is tracked from before it is sent: if the outcome is unknown (5xx, timeout,
    /// stop in flight: [`ExchangeError::is_outcome_unknown`]) it may exist, and the stop's sweep
    /// finds and cancels it.
    ///
    /// # Errors
    /// Not running (or stopping), an unknown market, a value under the minimums, or the
    /// venue's refusal.
    ///
    /// # Cancel safety
    /// Cancel safe as far as orphans go: the order is tracked before it is sent, so a
    /// placement dropped in flight stays tracked as one that may exist (for the venue's
    /// placement window), and the stop's sweep, a [`halt`](Self::halt) or
    /// [`cancel_all_orders`](Self::cancel_all_orders) finds and cancels it if it landed. The
    /// caller gets no [`Order`] for it.
    pub async fn place_order(&self, request: OrderRequest) -> Result<Order, ExchangeError> {
        let code = self.parts.markets.code(&request.symbol)?;
        let rules = self.parts.markets.rules(&request.symbol)?;
        let quantity = rules.round_quantity(request.quantity);
        let price = match request.order_type {
            OrderType::Market => request.price,
            _ => {
                let price = rules.round_price(request.price, request.side);
                rules.check(quantity, price)?;
                price
            }
        };
        // Refused from the moment the exchange says `Stopping` (its order guard is told a
        // moment later, when the exchange's stop reaches it).
        if self.group.state_tag() != StateTag::Running {
            return Err(ExchangeError::NotRunning(self.group.name().to_owned()));
        }
        let mut placement = self.parts.guard.begin_placement()?;
        let id = self.parts.ids.next_id();
        let rounded = OrderRequest {
            price,
            quantity,
            ..request
        };
        placement.track(&id, code);
        match self.parts.venue.place_order(code, &rounded, &id).await {
            Ok(placed) => {
                self.parts.guard.placed(&id, &placed.order_id);
                tracing::info!(
                    symbol = code,
                    side = ?rounded.side,
                    %price,
                    %quantity,
                    order_id = %placed.order_id,
                    client_order_id = %id,
                    "order placed"
                );
                Ok(Order {
                    symbol: rounded.symbol,
                    order_id: placed.order_id,
                    client_order_id: Some(id),
                    side: rounded.side,
                    order_type: rounded.order_type,
                    price,
                    quantity,
                    filled_quantity: rust_decimal::Decimal::ZERO,
                    filled_quote: rust_decimal::Decimal::ZERO,
                    status: OrderStatus::New,
                    updated_ms: placed.time_ms,
                })
            }
            Err(error) if error.is_outcome_unknown() => {
                if matches!(
                    error,
                    ExchangeError::Rest(exchange_rest::RestError::OutcomeUnknown {
                        cause: exchange_rest::UnknownCause::ServerError { .. },
                        ..
                    })
                ) {
                    self.parts.guard.answered(&id);
                }
                tracing::warn!(client_order_id = %id, %error, "order outcome unknown: kept for reconciliation");
                Err(error)
            }
            Err(error) => {
                self.parts.guard.forget(&id);
                Err(error)
            }
        }
    }

    /// Cancels one of our orders by its client order id and returns its final state.
    ///
    /// # Errors
    /// Not running, an unknown market, or the venue's refusal
    /// ([`ExchangeError::is_unknown_order`] if it is already closed).
    ///
    /// # Cancel safety
    /// Cancel safe as far as orphans go: the order stays tracked until the venue shows it
    /// closed (an answer or a pushed update), so if a dropped cancel did not land, the stop's
    /// sweep still cancels it.
    pub async fn cancel_order(
        &self,
        symbol: &Symbol,
        id: &ClientOrderId,
    ) -> Result<Order, ExchangeError> {
        self.cancel(symbol, OrderKey::ClientOrderId(id.clone()))
            .await
    }

    /// Cancels an order by the venue's order id and returns its final state.
    ///
    /// # Errors
    /// As [`PrivateCompositeExchange::cancel_order`].
    pub async fn cancel_order_by_id(
        &self,
        symbol: &Symbol,
        order_id: &str,
    ) -> Result<Order, ExchangeError> {
        self.cancel(symbol, OrderKey::OrderId(order_id.to_owned()))
            .await
    }

    async fn cancel(&self, symbol: &Symbol, key: OrderKey) -> Result<Order, ExchangeError> {
        let code = self.parts.markets.code(symbol)?;
        let order = self
            .parts
            .venue
            .cancel_order(symbol, code, key, None)
            .await?;
        if let Some(id) = order
            .client_order_id
            .as_ref()
            .filter(|_| !order.status.is_open())
        {
            self.parts.guard.closed(id, order.status, true);
        }
        Ok(order)
    }

    /// Cancels every open order **of ours** on a market (orders without our prefix are left
    /// alone) and returns them in their final state.
    ///
    /// # Errors
    /// Not running, an unknown market, or a failed listing. Orders that fail to cancel are
    /// left out of the result (and logged); the stop's sweep retries them.
    ///
    /// # Cancel safety
    /// Cancel safe as far as orphans go: the listing changes nothing, and every order whose
    /// cancel was dropped stays tracked until the venue shows it closed; call it again, or
    /// let the stop's sweep finish the work.
    pub async fn cancel_all_orders(&self, symbol: &Symbol) -> Result<Vec<Order>, ExchangeError> {
        let ours = self.our_open_orders(symbol).await?;
        let results = join_all(
            ours.iter()
                .map(|order| self.cancel(symbol, OrderKey::OrderId(order.order_id.clone()))),
        )
        .await;
        let mut cancelled = Vec::with_capacity(results.len());
        for (order, result) in ours.iter().zip(results) {
            match result {
                Ok(order) => cancelled.push(order),
                Err(error) => {
                    tracing::warn!(order_id = %order.order_id, %error, "cancel failed");
                }
            }
        }
        Ok(cancelled)
    }

    /// Every open order on a market (ours and others).
    ///
    /// # Errors
    /// Not running, an unknown market, or the venue's refusal.
    pub async fn open_orders(&self, symbol: &Symbol) -> Result<Vec<Order>, ExchangeError> {
        let code = self.parts.markets.code(symbol)?;
        self.parts.venue.open_orders(symbol, code, None).await
    }

    /// The open orders of ours (client order id with our prefix) on a market.
    ///
    /// # Errors
    /// As [`PrivateCompositeExchange::open_orders`].
    pub async fn our_open_orders(&self, symbol: &Symbol) -> Result<Vec<Order>, ExchangeError> {
        Ok(self
            .open_orders(symbol)
            .await?
            .into_iter()
            .filter(|o| {
                o.client_order_id
                    .as_ref()
                    .is_some_and(|id| self.parts.guard.is_ours(id.as_str()))
            })
            .collect())
    }

    /// One of our orders, as the venue knows it now.
    ///
    /// # Errors
    /// Not running, an unknown market, or the venue's refusal.
    pub async fn query_order(
        &self,
        symbol: &Symbol,
        id: &ClientOrderId,
    ) -> Result<Order, ExchangeError> {
        let code = self.parts.markets.code(symbol)?;
        let order = self
            .parts
            .venue
            .query_order(symbol, code, OrderKey::ClientOrderId(id.clone()))
            .await?;
        if !order.status.is_open() {
            self.parts.guard.closed(id, order.status, false);
        }
        Ok(order)
    }

    /// A trading halt's cancel: cancels every open order of ours on every configured market
    /// and confirms with the venue that none remains, by `deadline`, while market data, the
    /// private socket and the listen key stay up. It is the stop's own sweep: an order whose
    /// cancel the venue acknowledged counts as confirmed; the others are named in
    /// [`Sweep::unconfirmed`]. Afterwards [`tracked_orders`](Self::tracked_orders) is 0 if
    /// and only if the sweep is confirmed.
    ///
    /// Call it when no placement of yours is in flight (an order placed meanwhile is not
    /// cancelled by this sweep, but stays tracked).
    ///
    /// # Errors
    /// [`ExchangeError::NotRunning`] unless the exchange is running.
    pub async fn cancel_and_confirm_ours(&self, deadline: Instant) -> Result<Sweep, ExchangeError> {
        if self.group.state_tag() != StateTag::Running {
            return Err(ExchangeError::NotRunning(self.group.name().to_owned()));
        }
        Ok(self.parts.guard.sweep(deadline).await)
    }

    /// Halts trading, which is not a shutdown: from now on [`place_order`](Self::place_order)
    /// refuses ([`ExchangeError::Halted`]); placements already in flight land (until
    /// `deadline`); then every open order of ours is cancelled and confirmed with the venue by
    /// `deadline` (the stop's own sweep: an order it cannot confirm is named in
    /// [`Sweep::unconfirmed`], and one whose placement was still in flight is cancelled or
    /// named too). Market data, the private socket, the listen key and the streams stay up;
    /// [`resume`](Self::resume) quotes again. Halting twice sweeps again. A stop while halted
    /// is the usual orderly stop.
    ///
    /// # Cancel safety
    /// Cancel safe as far as the halt goes: once called, placements stay refused until
    /// [`resume`](Self::resume) even if the future is dropped; only the sweep is cut short
    /// (the stop's sweep, or a later halt, cancels what it left).
    ///
    /// # Errors
    /// [`ExchangeError::NotRunning`] unless the exchange is running.
    pub async fn halt(&self, deadline: Instant) -> Result<Sweep, ExchangeError> {
        if self.group.state_tag() != StateTag::Running {
            return Err(ExchangeError::NotRunning(self.group.name().to_owned()));
        }
        tracing::warn!(
            component = self.group.name(),
            "trading halted: no new order; cancelling and confirming ours"
        );
        let sweep = self.parts.guard.halt(deadline).await;
        tracing::warn!(
            component = self.group.name(),
            found = sweep.found,
            cancelled = sweep.cancelled,
            confirmed = sweep.confirmed,
            unconfirmed = sweep.unconfirmed.len(),
            "trading halted: orders of ours swept"
        );
        Ok(sweep)
    }

    /// Ends a halt: orders may be placed again.
    pub fn resume(&self) {
        self.parts.guard.resume();
        tracing::warn!(component = self.group.name(), "trading resumed");
    }

    /// Whether trading is halted.
    pub fn is_halted(&self) -> bool {
        *self.parts.guard.halt_watch().borrow()
    }

    /// Follows whether trading is halted (`true` from the moment a halt begins).
    pub fn halt_watch(&self) -> tokio::sync::watch::Receiver<bool> {
        self.parts.guard.halt_watch()
    }

    /// The account's balances, from the venue (REST).
    ///
    /// # Errors
    /// Not running, or the venue's refusal.
    pub async fn balances(&self) -> Result<Vec<Balance>, ExchangeError> {
        self.parts.venue.balances().await
    }

    /// The balance of `asset` as last known: seeded from the account at start, then kept by
    /// the venue's pushes (`None` for an asset the account never held).
    pub fn balance(&self, asset: &AssetName) -> Option<Balance> {
        self.parts.balances.current().get(asset).cloned()
    }

    /// Our order updates, as pushed (events).
    ///
    /// # Errors
    /// The exchange is not running.
    pub fn subscribe_order_updates(&self) -> Result<Subscription<OrderUpdate>, ExchangeError> {
        Ok(self.parts.streams.subscribe_tracked(ORDERS_STREAM)?)
    }

    /// Our fills (events).
    ///
    /// # Errors
    /// The exchange is not running.
    pub fn subscribe_fills(&self) -> Result<Subscription<Fill>, ExchangeError> {
        Ok(self.parts.streams.subscribe_tracked(FILLS_STREAM)?)
    }

    /// Balance changes (events).
    ///
    /// # Errors
    /// The exchange is not running.
    pub fn subscribe_balance_updates(&self) -> Result<Subscription<BalanceUpdate>, ExchangeError> {
        Ok(self
            .parts
            .streams
            .subscribe_tracked(BALANCE_UPDATES_STREAM)?)
    }

    /// Balances by asset (latest value: seeded from the account at start, then updated by
    /// pushes).
    ///
    /// # Errors
    /// The exchange is not running.
    pub fn subscribe_balances(&self) -> Result<Subscription<Balances>, ExchangeError> {
        Ok(self.parts.streams.subscribe_tracked(BALANCES_STREAM)?)
    }

    /// Orders of ours that may still be open (placed and not seen closed).
    pub fn tracked_orders(&self) -> usize {
        self.parts.guard.tracked_count()
    }

    /// Orders placed since start.
    pub fn orders_placed(&self) -> u64 {
        self.parts.guard.placed_count()
    }

    /// Orders a previous run left behind that the start cancelled.
    pub fn stale_orders_cancelled(&self) -> u64 {
        self.parts.guard.stale_cancelled()
    }

    /// Private frames decoded and dropped (undecodable).
    pub fn frame_counts(&self) -> (u64, u64) {
        (self.parts.frames.decoded(), self.parts.frames.failed())
    }

    /// Follows the listen key this exchange holds: a new key after an expiry, `None` before
    /// start and once the stop deleted it. Hand it to the order guardian
    /// ([`crate::guardian::OrderGuardian`]) so it can delete the key if this process dies.
    pub fn listen_key_watch(&self) -> tokio::sync::watch::Receiver<crate::private::ListenKey> {
        self.parts.socket.listen_key_watch()
    }

    /// Listen keys created so far (more than one after an expiry).
    pub fn listen_keys_created(&self) -> u64 {
        self.parts.socket.listen_keys_created()
    }

    /// The private socket (connection state, statistics).
    pub fn socket(&self) -> &WebSocketManager {
        self.parts.socket.socket()
    }

    /// The streams (counters, active subscriptions).
    pub fn streams(&self) -> &ObservableStreams {
        &self.parts.streams
    }
}

/// A private exchange's parts, before they are grouped ([`ExchangeBuilder`] groups them).
pub(crate) struct PrivateParts {
    name: String,
    venue: Arc<dyn Venue>,
    streams: Arc<ObservableStreams>,
    guard: Arc<OrderGuard>,
    socket: Arc<PrivateSocket>,
    markets: Arc<Markets>,
    ids: Arc<ClientOrderIdGenerator>,
    frames: FrameCounts,
    balances: exchange_streams::LatestPublisher<Balances>,
}

impl PrivateParts {
    /// The parts of `config`'s private exchange on `venue`.
    pub(crate) fn new(
        config: &ExchangeConfig,
        venue: Arc<dyn Venue>,
    ) -> Result<Self, ExchangeError> {
        let name = format!("{}.private", config.name);
        let ids = Arc::new(ClientOrderIdGenerator::with_clock(
            &config.client_order_id_prefix,
            config.clock,
        )?);
        let markets = Arc::new(Markets::new(&*venue, &config.symbols));
        let streams = Arc::new(ObservableStreams::new(format!("{name}.streams")));
        let publishers = PrivatePublishers {
            orders: streams.events(ORDERS_STREAM, 4096)?,
            fills: streams.events(FILLS_STREAM, 4096)?,
            balance_updates: streams.events(BALANCE_UPDATES_STREAM, 4096)?,
            balances: streams.latest(BALANCES_STREAM, Balances::new())?,
        };
        // Balances are seeded once the previous run's orders are cleared (the socket is up by
        // then: it starts before the guard).
        let seed: AfterReconcile = {
            let (venue, balances) = (venue.clone(), publishers.balances.clone());
            Arc::new(move || {
                let (venue, balances) = (venue.clone(), balances.clone());
                Box::pin(async move { seed_balances(&*venue, &balances).await })
            })
        };
        let guard = Arc::new(OrderGuard::new(
            format!("{name}.orders"),
            venue.clone(),
            markets.clone(),
            ids.clone(),
            config.reconcile_timeout,
            config.cancel_retry_interval,
            Some(seed),
        ));
        let socket_config = config.websocket_config(format!("{name}.socket"));
        let manager = Arc::new(WebSocketManager::new(socket_config));
        let recheck = Arc::new(Notify::new());
        let frames = FrameCounts::default();
        manager.add_handler(PrivateStreamHandler {
            publishers: publishers.clone(),
            decoder: FrameDecoder::new(venue.push_decoder(), frames.clone()),
            venue: venue.clone(),
            guard: guard.clone(),
            recheck_listen_key: recheck.clone(),
        });
        for channel in venue.private_channels() {
            // Before start, subscribing only records the channel (replayed on connect).
            let _ = manager.subscribe(channel);
        }
        let socket = Arc::new(PrivateSocket::new(
            format!("{name}.socket+listen_key"),
            manager,
            venue.clone(),
            config.ws_url.clone(),
            SessionTiming {
                keepalive: config.listen_key_keepalive,
                start_timeout: config.start_timeout,
            },
            recheck,
        ));
        Ok(Self {
            name,
            venue,
            streams,
            guard,
            socket,
            markets,
            ids,
            frames,
            balances: publishers.balances,
        })
    }
}

impl ExchangeParts for PrivateParts {
    type Exchange = PrivateCompositeExchange;

    fn name(&self) -> &str {
        &self.name
    }

    fn members(&self) -> Vec<(Part, Arc<dyn AsyncResource>)> {
        vec![
            (Part::OrderGuard, self.guard.clone()),
            (Part::PrivateSocket, self.socket.clone()),
        ]
    }

    fn streams(&self) -> Arc<ObservableStreams> {
        self.streams.clone()
    }

    fn into_exchange(self, group: ResourceGroup) -> PrivateCompositeExchange {
        PrivateCompositeExchange { group, parts: self }
    }
}

impl AsyncResource for PrivateCompositeExchange {
    fn name(&self) -> &str {
        self.group.name()
    }

    fn state(&self) -> LifecycleState {
        self.group.state()
    }

    fn watch_state(&self) -> StateWatcher {
        self.group.watch_state()
    }

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        self.group.start()
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        self.group.stop(deadline)
    }
}
