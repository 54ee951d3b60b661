//! [`OrderGuard`]: no orphan orders. At start it cancels orders a previous run left behind
//! (recognised by our client-order-id prefix); at stop (`CriticalFirst`, while REST and the
//! rate limiter are alive) it refuses new orders, lets placements in flight land, cancels
//! every open order of ours and confirms with the venue that none remain (the sweep:
//! [`super::sweep`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lifecycle_core::{
    AsyncResource, BoxError, BoxFuture, Lifecycle, StartError, StopDetails, StopReport,
};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::domain::client_order_id::{ClientOrderId, ClientOrderIdGenerator};
use crate::domain::order::{Order, OrderStatus};
use crate::domain::updates::OrderUpdate;
use crate::error::ExchangeError;
use crate::markets::Markets;
use crate::retry::{give_up_on_stop, retry_transient};
use crate::telemetry::OrderMetrics;
use crate::venue::Venue;

pub(crate) use super::sweep::Sweep;

/// An order we placed that may still be open.
#[derive(Debug, Clone)]
pub(super) struct TrackedOrder {
    pub(super) symbol_code: String,
    /// The venue's id, once it acknowledged the placement.
    pub(super) order_id: Option<String>,
    /// The placement call returned (acknowledged, refused, or outcome unknown), or was
    /// dropped.
    pub(super) landed: bool,
    /// For a placement that landed without the venue's answer (outcome unknown, or dropped
    /// in flight): the venue may still accept it until then ([`Venue::placement_window`]
    /// after it landed). Only a listing that began later and does not show the order proves
    /// it is not open (simulation seed 2287: two placements the venue held for 2 s, dropped
    /// with the body at its grace, were created after a sweep had confirmed none open).
    pub(super) may_land_until: Option<Instant>,
    /// The venue answered the placement (a 5xx: its outcome is unknown, but the venue has
    /// handled it, so a later listing shows it if it exists): no window to wait out.
    pub(super) answered: bool,
}

/// What the start does once the reconciliation is done (seed balances, say): never before,
/// so nothing it calls can delay the cancel of a previous run's orders.
pub(crate) type AfterReconcile = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

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
pub(super) struct GuardCore {
    pub(super) name: String,
    pub(super) venue: Arc<dyn Venue>,
    pub(super) markets: Arc<Markets>,
    pub(super) ids: Arc<ClientOrderIdGenerator>,
    /// Ordered: the cancels of a sweep go out, and its report names them, in the same order
    /// every run (a hash map's order differs from run to run).
    pub(super) tracked: Mutex<BTreeMap<ClientOrderId, TrackedOrder>>,
    pub(super) accepting: AtomicBool,
    /// Trading halted: placements refused until resumed (independent of the stop).
    pub(super) halted: tokio::sync::watch::Sender<bool>,
    pub(super) in_flight: AtomicUsize,
    pub(super) landed: Notify,
    pub(super) reconcile_timeout: Duration,
    pub(super) retry_interval: Duration,
    /// [`Venue::placement_window`].
    pub(super) placement_window: Duration,
    counters: Counters,
    /// Our orders as `metrics`, registered once for the exchange.
    pub(super) metrics: OrderMetrics,
    pub(super) after_reconcile: Option<AfterReconcile>,
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

/// Held while a placement is in flight: the stop waits for it to land before it sweeps. When
/// it goes (the call returned, or its future was dropped), the order it tracks has landed.
pub(crate) struct Placement<'a> {
    guard: &'a GuardCore,
    id: Option<ClientOrderId>,
}

impl Placement<'_> {
    /// Records the order about to be sent (so an unknown outcome stays tracked).
    pub(crate) fn track(&mut self, id: &ClientOrderId, symbol_code: &str) {
        self.guard.track(id, symbol_code);
        self.id = Some(id.clone());
    }
}

impl Drop for Placement<'_> {
    fn drop(&mut self) {
        if let Some(id) = &self.id
            && let Some(tracked) = self.guard.lock().get_mut(id)
        {
            tracked.landed = true;
            if tracked.order_id.is_none() && !tracked.answered {
                tracked.may_land_until = Some(Instant::now() + self.guard.placement_window);
            }
        }
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
        after_reconcile: Option<AfterReconcile>,
    ) -> Self {
        let placement_window = venue.placement_window();
        let core = Arc::new(GuardCore {
            venue,
            markets,
            ids,
            tracked: Mutex::default(),
            accepting: AtomicBool::new(false),
            halted: tokio::sync::watch::Sender::new(false),
            in_flight: AtomicUsize::new(0),
            landed: Notify::new(),
            reconcile_timeout,
            retry_interval,
            placement_window,
            counters: Counters::default(),
            metrics: OrderMetrics::register(&name),
            after_reconcile,
            name: name.clone(),
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

    /// Records the venue's id of a placed order.
    pub(crate) fn placed(&self, id: &ClientOrderId, order_id: &str) {
        self.core.placed(id, order_id);
    }

    /// Records that the venue answered a placement whose outcome is unknown (a 5xx).
    pub(crate) fn answered(&self, id: &ClientOrderId) {
        self.core.answered(id);
    }

    /// Forgets an order that is definitely closed (or was definitely not placed).
    pub(crate) fn forget(&self, id: &ClientOrderId) {
        self.core.forget(id);
    }

    /// Forgets an order the venue answered closed as `status` (to a cancel of ours if
    /// `by_cancel`, else to a query), counting a fill or a cancel once.
    pub(crate) fn closed(&self, id: &ClientOrderId, status: OrderStatus, by_cancel: bool) {
        self.core.closed(id, status, by_cancel);
    }

    /// Follows a pushed order update: a closed order of ours is forgotten.
    pub(crate) fn observe(&self, update: &OrderUpdate) {
        self.core.observe(update);
    }

    /// Orders of ours that may be open.
    pub(crate) fn tracked_count(&self) -> usize {
        self.core.tracked_count()
    }

    /// Cancels every open order of ours and confirms none remains, by `deadline`.
    pub(crate) async fn sweep(&self, deadline: Instant) -> Sweep {
        self.core.sweep(deadline).await
    }

    /// Halts trading: refuses new placements from now on, lets those in flight land (until
    /// `deadline`), then cancels and confirms every order of ours (each one it cannot confirm
    /// is named). An order whose placement was in flight is tracked from before it was sent,
    /// so the sweep cancels it or names it.
    pub(crate) async fn halt(&self, deadline: Instant) -> Sweep {
        self.core.halted.send_replace(true);
        let landed = self.core.placements_landed(deadline).await;
        let mut sweep = self.core.sweep(deadline).await;
        if !landed && sweep.note.is_none() {
            sweep.note = Some("a placement was still in flight at the deadline".to_owned());
            sweep.confirmed = false;
        }
        sweep
    }

    /// Lets placements in again after a halt.
    pub(crate) fn resume(&self) {
        self.core.halted.send_replace(false);
    }

    /// Follows whether trading is halted.
    pub(crate) fn halt_watch(&self) -> tokio::sync::watch::Receiver<bool> {
        self.core.halted.subscribe()
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
        let placement = Placement {
            guard: self,
            id: None,
        };
        // Checked after counting ourselves in: a stop that flips `accepting` (or a halt that
        // flips `halted`) then waits for `in_flight` to reach zero cannot miss this placement.
        if !self.accepting.load(Ordering::Acquire) {
            Err(ExchangeError::NotRunning(self.name.clone()))
        } else if *self.halted.borrow() {
            Err(ExchangeError::Halted(self.name.clone()))
        } else {
            Ok(placement)
        }
    }

    /// Records an order about to be sent (so an unknown outcome stays tracked).
    fn track(&self, id: &ClientOrderId, symbol_code: &str) {
        self.counters.placed.fetch_add(1, Ordering::Relaxed);
        self.metrics.placed.increment(1);
        self.lock().insert(
            id.clone(),
            TrackedOrder {
                symbol_code: symbol_code.to_owned(),
                order_id: None,
                landed: false,
                may_land_until: None,
                answered: false,
            },
        );
    }

    /// Records that the venue answered a placement whose outcome is still unknown (a 5xx).
    fn answered(&self, id: &ClientOrderId) {
        if let Some(tracked) = self.lock().get_mut(id) {
            tracked.answered = true;
        }
    }

    /// Records the venue's id of a placed order.
    fn placed(&self, id: &ClientOrderId, order_id: &str) {
        if let Some(tracked) = self.lock().get_mut(id) {
            tracked.order_id = Some(order_id.to_owned());
            tracked.landed = true;
        }
    }

    /// Forgets an order that is definitely closed (or was definitely not placed).
    fn forget(&self, id: &ClientOrderId) {
        self.lock().remove(id);
    }

    /// Forgets an order closed as `status`; counted only if it was still tracked (a fill
    /// pushed and then queried is one fill).
    fn closed(&self, id: &ClientOrderId, status: OrderStatus, by_cancel: bool) {
        if self.lock().remove(id).is_some() {
            self.metrics.closed(status, by_cancel);
        }
    }

    /// Follows a pushed order update: a closed order of ours is forgotten.
    fn observe(&self, update: &OrderUpdate) {
        if let Some(id) = update
            .client_order_id
            .as_ref()
            .filter(|_| !update.status.is_open())
        {
            self.closed(id, update.status, false);
        }
    }

    /// Orders of ours that may be open.
    fn tracked_count(&self) -> usize {
        self.lock().len()
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<ClientOrderId, TrackedOrder>> {
        self.tracked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn is_ours(&self, order: &Order) -> bool {
        order
            .client_order_id
            .as_ref()
            .is_some_and(|id| self.ids.is_ours(id))
    }

    /// The start's reconciliation: cancels the orders a previous run left behind (ours by the
    /// prefix) and confirms none remains, then admits placements.
    async fn clear_stale_orders(&self) -> Result<(), BoxError> {
        let sweep = self.sweep(Instant::now() + self.reconcile_timeout).await;
        if !sweep.confirmed {
            let mut problems = sweep.unconfirmed;
            problems.extend(sweep.note);
            return Err(format!(
                "orders left by a previous run could not be cleared: {}",
                problems.join("; ")
            )
            .into());
        }
        self.counters
            .stale_cancelled
            .store(sweep.cancelled as u64, Ordering::Relaxed);
        if sweep.found > 0 {
            tracing::warn!(
                component = self.name.as_str(),
                cancelled = sweep.cancelled,
                "cancelled orders a previous run left behind"
            );
        }
        self.accepting.store(true, Ordering::Release);
        Ok(())
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
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let guard = self.core.clone();
        let name = self.lifecycle.name().to_owned();
        Box::pin(self.lifecycle.start(|ctx| async move {
            let body = async {
                let retry_until = Instant::now() + guard.reconcile_timeout;
                retry_transient("loading market rules", retry_until, || {
                    guard.markets.load(&*guard.venue)
                })
                .await?;
                guard.clear_stale_orders().await?;
                if let Some(after) = &guard.after_reconcile {
                    after().await;
                }
                Ok(())
            };
            give_up_on_stop(&ctx, &name, body).await
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
                .chain(sweep.note)
                .fold(details, StopDetails::error)
        }))
    }
}
