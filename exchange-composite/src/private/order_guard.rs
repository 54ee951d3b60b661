//! [`OrderGuard`]: no orphan orders. At start it cancels orders a previous run left behind
//! (recognised by our client-order-id prefix); at stop (`CriticalFirst`, while REST and the
//! rate limiter are alive) it refuses new orders, lets placements in flight land, cancels
//! every open order of ours and confirms with the venue that none remain.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::join_all;
use lifecycle_core::{
    AsyncResource, BoxFuture, Lifecycle, LifecycleState, StartError, StateWatcher, StopDetails,
    StopReport,
};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::domain::client_order_id::{ClientOrderId, ClientOrderIdGenerator};
use crate::domain::order::Order;
use crate::domain::updates::OrderUpdate;
use crate::error::ExchangeError;
use crate::markets::Markets;
use crate::retry::retry_transient;
use crate::venue::{OrderKey, Venue};

/// An order we placed that may still be open.
#[derive(Debug, Clone)]
struct Tracked {
    symbol_code: String,
    order_id: Option<String>,
}

/// What one cancel-and-confirm sweep came to.
#[derive(Debug, Default)]
pub(crate) struct Sweep {
    /// Distinct orders of ours seen open.
    pub(crate) found: usize,
    /// Orders the venue confirmed cancelled.
    pub(crate) cancelled: usize,
    /// `true` once a complete listing showed none of ours open.
    pub(crate) confirmed: bool,
    /// Orders that could not be confirmed closed, each named with the last error.
    pub(crate) unconfirmed: Vec<String>,
}

/// Counters of the guard, for reports.
#[derive(Debug, Default)]
struct Counters {
    placed: AtomicU64,
    stale_cancelled: AtomicU64,
}

/// Tracks our orders and makes sure none outlives the exchange (see the module docs).
#[doc(alias = "OpenOrderCanceller")]
pub(crate) struct OrderGuard {
    lifecycle: Lifecycle,
    core: Arc<GuardCore>,
}

/// The guard's state, shared with its start and stop hooks.
struct GuardCore {
    name: String,
    venue: Arc<dyn Venue>,
    markets: Arc<Markets>,
    ids: Arc<ClientOrderIdGenerator>,
    /// Ordered: the cancels of a sweep go out, and its report names them, in the same order
    /// every run (a hash map's order differs from run to run).
    tracked: Mutex<BTreeMap<ClientOrderId, Tracked>>,
    accepting: AtomicBool,
    in_flight: AtomicUsize,
    landed: Notify,
    reconcile_timeout: Duration,
    retry_interval: Duration,
    counters: Counters,
}

impl fmt::Debug for OrderGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderGuard")
            .field("name", &self.lifecycle.name())
            .field("state", &self.lifecycle.state_tag())
            .field("prefix", &self.core.ids.prefix())
            .field("tracked", &self.core.tracked_count())
            .finish_non_exhaustive()
    }
}

/// Held while a placement is in flight: the stop waits for it to land before it sweeps.
pub(crate) struct Placement<'a> {
    guard: &'a GuardCore,
}

impl Drop for Placement<'_> {
    fn drop(&mut self) {
        if self.guard.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.guard.landed.notify_waiters();
        }
    }
}

impl OrderGuard {
    pub(crate) fn new(
        name: String,
        venue: Arc<dyn Venue>,
        markets: Arc<Markets>,
        ids: Arc<ClientOrderIdGenerator>,
        reconcile_timeout: Duration,
        retry_interval: Duration,
    ) -> Self {
        let core = Arc::new(GuardCore {
            name: name.clone(),
            venue,
            markets,
            ids,
            tracked: Mutex::default(),
            accepting: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            landed: Notify::new(),
            reconcile_timeout,
            retry_interval,
            counters: Counters::default(),
        });
        let closing = core.clone();
        // New orders are refused from the very moment the state says `Stopping`.
        let lifecycle = Lifecycle::builder(name)
            .on_stopping(move || closing.accepting.store(false, Ordering::Release))
            .build();
        Self { lifecycle, core }
    }

    /// Admits one placement, unless the guard is not running or is stopping.
    pub(crate) fn begin_placement(&self) -> Result<Placement<'_>, ExchangeError> {
        self.core.begin_placement()
    }

    /// Records an order about to be sent (so an unknown outcome stays tracked).
    pub(crate) fn track(&self, id: &ClientOrderId, symbol_code: &str) {
        self.core.track(id, symbol_code);
    }

    /// Records the venue's id of a placed order.
    pub(crate) fn placed(&self, id: &ClientOrderId, order_id: &str) {
        self.core.placed(id, order_id);
    }

    /// Forgets an order that is definitely closed (or was definitely not placed).
    pub(crate) fn forget(&self, id: &ClientOrderId) {
        self.core.forget(id);
    }

    /// Follows a pushed order update: a closed order of ours is forgotten.
    pub(crate) fn observe(&self, update: &OrderUpdate) {
        self.core.observe(update);
    }

    /// Orders of ours that may be open.
    pub(crate) fn tracked_count(&self) -> usize {
        self.core.tracked_count()
    }

    /// Orders placed since start.
    pub(crate) fn placed_count(&self) -> u64 {
        self.core.counters.placed.load(Ordering::Relaxed)
    }

    /// Stale orders cancelled at start.
    pub(crate) fn stale_cancelled(&self) -> u64 {
        self.core.counters.stale_cancelled.load(Ordering::Relaxed)
    }

    /// Whether `id` carries our prefix.
    pub(crate) fn is_ours(&self, id: &str) -> bool {
        id.starts_with(self.core.ids.prefix())
    }
}

impl GuardCore {
    fn begin_placement(&self) -> Result<Placement<'_>, ExchangeError> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let placement = Placement { guard: self };
        // Checked after counting ourselves in: a stop that flips `accepting` then waits for
        // `in_flight` to reach zero cannot miss this placement.
        if self.accepting.load(Ordering::Acquire) {
            Ok(placement)
        } else {
            Err(ExchangeError::NotRunning(self.name.clone()))
        }
    }

    /// Records an order about to be sent (so an unknown outcome stays tracked).
    fn track(&self, id: &ClientOrderId, symbol_code: &str) {
        self.counters.placed.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            id.clone(),
            Tracked {
                symbol_code: symbol_code.to_owned(),
                order_id: None,
            },
        );
    }

    /// Records the venue's id of a placed order.
    fn placed(&self, id: &ClientOrderId, order_id: &str) {
        if let Some(tracked) = self.lock().get_mut(id) {
            tracked.order_id = Some(order_id.to_owned());
        }
    }

    /// Forgets an order that is definitely closed (or was definitely not placed).
    fn forget(&self, id: &ClientOrderId) {
        self.lock().remove(id);
    }

    /// Follows a pushed order update: a closed order of ours is forgotten.
    fn observe(&self, update: &OrderUpdate) {
        if let Some(id) = update
            .client_order_id
            .as_ref()
            .filter(|_| !update.status.is_open())
        {
            self.forget(id);
        }
    }

    /// Orders of ours that may be open.
    fn tracked_count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<ClientOrderId, Tracked>> {
        self.tracked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_ours(&self, order: &Order) -> bool {
        order
            .client_order_id
            .as_ref()
            .is_some_and(|id| self.ids.is_ours(id))
    }

    /// Cancels every open order of ours and confirms none remain, by `deadline`.
    async fn sweep(&self, deadline: Instant) -> Sweep {
        let mut sweep = Sweep::default();
        let mut seen = HashSet::new();
        let mut last_error: HashMap<String, String> = HashMap::new();
        // What was open at the last complete listing (or, if listing failed, what we track).
        let mut open: Vec<(String, Order)>;
        loop {
            let listing = join_all(self.markets.entries().map(|(symbol, code)| async move {
                let answer = tokio::time::timeout_at(
                    deadline,
                    self.venue.open_orders(symbol, code, Some(deadline)),
                )
                .await;
                (code, answer)
            }))
            .await;
            let mut listing_failed = None;
            open = Vec::new();
            for (code, answer) in listing {
                match answer {
                    Ok(Ok(orders)) => open.extend(
                        orders
                            .into_iter()
                            .filter(|o| self.is_ours(o) && o.status.is_open())
                            .map(|o| (code.to_owned(), o)),
                    ),
                    Ok(Err(error)) => listing_failed = Some(format!("listing {code}: {error}")),
                    Err(_) => listing_failed = Some(format!("listing {code}: no answer in time")),
                }
            }
            if listing_failed.is_none() {
                // A complete listing: whatever we tracked and is not listed is closed.
                let listed: HashSet<&ClientOrderId> = open
                    .iter()
                    .filter_map(|(_, o)| o.client_order_id.as_ref())
                    .collect();
                self.lock().retain(|id, _| listed.contains(id));
                if open.is_empty() {
                    sweep.confirmed = true;
                    break;
                }
            }
            if Instant::now() >= deadline {
                if let Some(error) = listing_failed {
                    last_error.insert(String::new(), error);
                }
                break;
            }
            // Cancel what is listed open, and (if the listing failed) what we track.
            let mut targets: Vec<(String, OrderKey, String)> = open
                .iter()
                .map(|(code, o)| {
                    (
                        code.clone(),
                        OrderKey::OrderId(o.order_id.clone()),
                        o.order_id.clone(),
                    )
                })
                .collect();
            if listing_failed.is_some() {
                let listed: HashSet<String> = targets.iter().map(|(_, _, id)| id.clone()).collect();
                targets.extend(
                    self.lock()
                        .iter()
                        .filter(|(_, t)| t.order_id.as_ref().is_none_or(|o| !listed.contains(o)))
                        .map(|(id, t)| {
                            (
                                t.symbol_code.clone(),
                                OrderKey::ClientOrderId(id.clone()),
                                t.order_id.clone().unwrap_or_else(|| id.as_str().to_owned()),
                            )
                        }),
                );
            }
            for (_, _, key) in &targets {
                seen.insert(key.clone());
            }
            let results = join_all(targets.into_iter().map(|(code, order, key)| async move {
                let Some(symbol) = self.markets.symbol_of(&code) else {
                    return (key, Ok(Err(ExchangeError::UnknownSymbol(code))));
                };
                let answer = tokio::time::timeout_at(
                    deadline,
                    self.venue
                        .cancel_order(symbol, &code, order, Some(deadline)),
                )
                .await;
                (key, answer)
            }))
            .await;
            let mut retry = false;
            for (key, answer) in results {
                match answer {
                    Ok(Ok(order)) => {
                        sweep.cancelled += 1;
                        last_error.remove(&key);
                        if let Some(id) = &order.client_order_id {
                            self.lock().remove(id);
                        }
                    }
                    // Gone already (filled or cancelled meanwhile): the next listing confirms.
                    Ok(Err(error)) if error.is_unknown_order() => {
                        last_error.remove(&key);
                    }
                    Ok(Err(error)) => {
                        retry = true;
                        last_error.insert(key, error.to_string());
                    }
                    Err(_) => {
                        retry = true;
                        last_error.insert(key, "no answer before the deadline".to_owned());
                    }
                }
            }
            if retry || listing_failed.is_some() {
                let pause = (Instant::now() + self.retry_interval).min(deadline);
                tokio::time::sleep_until(pause).await;
            }
        }
        sweep.found = seen.len();
        if !sweep.confirmed {
            let mut named: Vec<String> = open
                .iter()
                .map(|(code, o)| {
                    let why = last_error
                        .get(&o.order_id)
                        .map_or("still open at the deadline", String::as_str);
                    format!(
                        "order {} ({code}, client id {}) not confirmed cancelled: {why}",
                        o.order_id,
                        o.client_order_id
                            .as_ref()
                            .map_or("-", ClientOrderId::as_str)
                    )
                })
                .collect();
            let listed: HashSet<&str> = open.iter().map(|(_, o)| o.order_id.as_str()).collect();
            for (id, tracked) in self.lock().iter() {
                if tracked
                    .order_id
                    .as_deref()
                    .is_none_or(|o| !listed.contains(o))
                {
                    let key = tracked.order_id.clone().unwrap_or_else(|| id.to_string());
                    let why = last_error
                        .get(&key)
                        .or_else(|| last_error.get(""))
                        .map_or("state unknown at the deadline", String::as_str);
                    named.push(format!(
                        "order {key} ({}, client id {id}) not confirmed cancelled: {why}",
                        tracked.symbol_code
                    ));
                }
            }
            if named.is_empty() {
                let why = last_error
                    .get("")
                    .map_or("no complete listing before the deadline", String::as_str);
                named.push(format!("open orders not confirmed: {why}"));
            }
            sweep.unconfirmed = named;
        }
        sweep
    }

    /// Waits (until `deadline`) for placements in flight to land.
    async fn placements_landed(&self, deadline: Instant) -> bool {
        loop {
            let landed = self.landed.notified();
            if self.in_flight.load(Ordering::Acquire) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, landed).await.is_err() {
                return self.in_flight.load(Ordering::Acquire) == 0;
            }
        }
    }
}

impl AsyncResource for OrderGuard {
    fn name(&self) -> &str {
        self.lifecycle.name()
    }

    fn state(&self) -> LifecycleState {
        self.lifecycle.state()
    }

    fn watch_state(&self) -> StateWatcher {
        self.lifecycle.watch()
    }

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let guard = self.core.clone();
        Box::pin(self.lifecycle.start(|_ctx| async move {
            let retry_until = Instant::now() + guard.reconcile_timeout;
            retry_transient("loading market rules", retry_until, || {
                guard.markets.load(&*guard.venue)
            })
            .await?;
            let sweep = guard.sweep(Instant::now() + guard.reconcile_timeout).await;
            if !sweep.confirmed {
                return Err(format!(
                    "orders left by a previous run could not be cleared: {}",
                    sweep.unconfirmed.join("; ")
                )
                .into());
            }
            guard
                .counters
                .stale_cancelled
                .store(sweep.cancelled as u64, Ordering::Relaxed);
            if sweep.found > 0 {
                tracing::warn!(
                    component = guard.name.as_str(),
                    cancelled = sweep.cancelled,
                    "cancelled orders a previous run left behind"
                );
            }
            guard.accepting.store(true, Ordering::Release);
            Ok(())
        }))
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let guard = self.core.clone();
        Box::pin(self.lifecycle.stop(deadline, move |ctx| async move {
            // Placements were refused from the move to `Stopping` (`on_stopping`); the sweep
            // may use the whole deadline: the lifecycle keeps the time to hand the report over.
            let sweep_deadline = ctx.deadline();
            let mut details = StopDetails::new();
            if !guard.placements_landed(sweep_deadline).await {
                details = details.error("placements still in flight at the deadline");
            }
            let sweep = guard.sweep(sweep_deadline).await;
            tracing::info!(
                component = guard.name.as_str(),
                found = sweep.found,
                cancelled = sweep.cancelled,
                confirmed = sweep.confirmed,
                "open orders swept"
            );
            details = details
                .counter("orders_found_open", sweep.found as u64)
                .counter("orders_cancelled", sweep.cancelled as u64)
                .counter("orders_unconfirmed", sweep.unconfirmed.len() as u64);
            sweep
                .unconfirmed
                .into_iter()
                .fold(details, StopDetails::error)
        }))
    }
}
