//! [`OrderGuard`]: no orphan orders. At start it cancels orders a previous run left behind
//! (recognised by our client-order-id prefix); at stop (`CriticalFirst`, while REST and the
//! rate limiter are alive) it refuses new orders, lets placements in flight land, cancels
//! every open order of ours and confirms with the venue that none remain.
//!
//! The sweep works in rounds (list our open orders while cancelling every one known, until a
//! complete listing shows none). Two things make a round's evidence weaker than it looks:
//! - a call can be lost with no error ever coming back (a request sent into a partition):
//!   each call is re-sent while unanswered (see [`resent_until`]), so a lost request does not
//!   hold the sweep to its deadline;
//! - a placement whose answer never came (it timed out, or its caller gave up) may still be
//!   carried out by the venue until [`Venue::placement_window`] has passed: only a listing
//!   that began after that proves it absent, and until then the sweep names it with that
//!   reason.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use futures::future::join_all;
use futures::stream::FuturesUnordered;
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
use crate::venue::{OrderKey, Venue};

/// Longest pause between two rounds of a sweep (it starts at the configured retry interval
/// and doubles while rounds fail).
const MAX_SWEEP_PAUSE: Duration = Duration::from_millis(500);

/// The shortest a sweep's call (a cancel, a listing) goes unanswered before it is sent again,
/// the first still waiting; each further wait is twice the one before.
const SWEEP_RESEND_AFTER_MIN: Duration = Duration::from_millis(250);
/// The longest first wait before a re-send.
const SWEEP_RESEND_AFTER_MAX: Duration = Duration::from_secs(4);
/// The first wait before a re-send is this fraction of the time left to the deadline
/// (within [`SWEEP_RESEND_AFTER_MIN`] and [`SWEEP_RESEND_AFTER_MAX`]).
const SWEEP_RESEND_DIVISOR: u32 = 4;
/// Attempts of one sweep call at most, the first included.
const SWEEP_ATTEMPTS: usize = 3;

/// How long the first attempt of a sweep call goes unanswered before it is sent again, with
/// `left` until the sweep's deadline: a quarter of it, from 250 ms to 4 s. A short budget
/// re-sends soon (a lost request must not hold it to its end); a long one does not triple
/// the load on a venue that is only slow (every call 3 s: re-sent after 250 ms, each cancel
/// went out three times and a round lasted until its last copy answered).
fn first_resend_after(left: Duration) -> Duration {
    (left / SWEEP_RESEND_DIVISOR).clamp(SWEEP_RESEND_AFTER_MIN, SWEEP_RESEND_AFTER_MAX)
}

/// The first success of `attempt`, sent again while no attempt has answered (after
/// [`first_resend_after`], then twice as long, up to [`SWEEP_ATTEMPTS`]), or an error;
/// `None` at `deadline` with no answer.
///
/// A request can be lost with no error ever coming back: sent into a partition on a
/// connection that does not recover, or a connect whose packets were dropped. Waiting for it
/// alone held a sweep's round, and so the whole sweep, until the deadline although the venue
/// was reachable again a moment later (simulation seeds 1442, 2992). A re-sent attempt goes
/// out on another connection; the earlier ones keep waiting, so a venue that is only slow
/// still answers the first. Every sweep call may be repeated: a cancel of a closed order is
/// answered "unknown order", a listing changes nothing.
///
/// Which error is returned:
/// - a passing one (a 429, a 5xx, a transport error) only once no attempt is left in flight:
///   another attempt may still succeed (the cancel that was carried out is the answer that
///   counts: an earlier 429 discarded it, and the 429-storm shutdown counted 0 cancelled);
/// - one that `settles` (the venue's "unknown order") ends the re-sending, and the copies
///   still in flight get a bounded wait: any of them may be the one that closed the order
///   (copies held together by the rate limiter reach the venue in any order: the later copy
///   cancelled, the earlier heard "unknown" and was counted closed, not cancelled, in a 429
///   storm under load). They are waited for until the latest of: half the settling
///   attempt's round trip from now, and for each, the time it was sent plus one and a half
///   of that round trip (a lost copy does not hold the call longer); then the settling error
///   stands.
async fn resent_until<V, E, F, Fut>(
    deadline: Instant,
    settles: impl Fn(&E) -> bool,
    attempt: F,
) -> Option<Result<V, E>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<V, E>>,
{
    /// An error that settles the call, and until when the copies in flight are waited for.
    struct Settled<E> {
        others_until: Instant,
        error: E,
    }
    let tagged = |index: usize| {
        let answer = attempt();
        async move { (index, answer.await) }
    };
    let mut attempts = FuturesUnordered::new();
    let mut sent_at = vec![Instant::now()];
    let mut in_flight: BTreeSet<usize> = BTreeSet::from([0]);
    attempts.push(tagged(0));
    let mut wait = first_resend_after(deadline.saturating_duration_since(Instant::now()));
    let mut resend_at = Instant::now() + wait;
    let mut last_error = None;
    let mut settled: Option<Settled<E>> = None;
    loop {
        let timer = settled
            .as_ref()
            .map_or(resend_at, |s| s.others_until)
            .min(deadline);
        tokio::select! {
            biased;
            Some((index, answer)) = attempts.next() => {
                in_flight.remove(&index);
                match answer {
                    Ok(value) => return Some(Ok(value)),
                    Err(error) if settled.is_none() && settles(&error) => {
                        let now = Instant::now();
                        let round_trip = sent_at.get(index).map_or(Duration::ZERO, |at| now - *at);
                        let others_until = in_flight
                            .iter()
                            .filter_map(|i| sent_at.get(*i))
                            .map(|at| *at + round_trip + round_trip / 2)
                            .fold(now + round_trip / 2, Instant::max);
                        settled = Some(Settled { others_until, error });
                    }
                    Err(error) if settled.is_none() => last_error = Some(error),
                    Err(_) => {}
                }
                if in_flight.is_empty() {
                    return settled.map(|s| Err(s.error)).or_else(|| last_error.map(Err));
                }
            },
            () = tokio::time::sleep_until(timer) => {
                let now = Instant::now();
                if now >= deadline || settled.as_ref().is_some_and(|s| now >= s.others_until) {
                    return settled.map(|s| Err(s.error)).or_else(|| last_error.map(Err));
                }
                if attempts.len() < SWEEP_ATTEMPTS {
                    in_flight.insert(sent_at.len());
                    attempts.push(tagged(sent_at.len()));
                    sent_at.push(now);
                }
                wait *= 2;
                resend_at = now + wait;
            }
        }
    }
}

/// Records the last error of an order's cancel. An attempt cut short by the deadline keeps the
/// error before it, which says more ("HTTP 503 ..., then no answer by the deadline").
fn note_error(
    last_error: &mut HashMap<String, String>,
    key: &str,
    error: String,
    deadline: Instant,
) {
    match last_error.get_mut(key) {
        Some(previous) if Instant::now() >= deadline && !previous.contains("by the deadline") => {
            previous.push_str(", then no answer by the deadline");
        }
        Some(_) if Instant::now() >= deadline => {}
        _ => {
            last_error.insert(key.to_owned(), error);
        }
    }
}

/// An order we placed that may still be open.
#[derive(Debug, Clone)]
struct Tracked {
    symbol_code: String,
    /// The venue's id, once it acknowledged the placement.
    order_id: Option<String>,
    /// The placement call returned (acknowledged, refused, or outcome unknown), or was
    /// dropped.
    landed: bool,
    /// For a placement that landed without the venue's answer (outcome unknown, or dropped
    /// in flight): the venue may still accept it until then ([`Venue::placement_window`]
    /// after it landed). Only a listing that began later and does not show the order proves
    /// it is not open (simulation seed 2287: two placements the venue held for 2 s, dropped
    /// with the body at its grace, were created after a sweep had confirmed none open).
    may_land_until: Option<Instant>,
    /// The venue answered the placement (a 5xx: its outcome is unknown, but the venue has
    /// handled it, so a later listing shows it if it exists): no window to wait out.
    answered: bool,
}

/// One order a sweep round cancels.
#[derive(Debug)]
struct Target {
    code: String,
    order: OrderKey,
    /// The venue's order id, or our client id for an order the venue never acknowledged.
    key: String,
    client_order_id: Option<ClientOrderId>,
    /// The venue acknowledged the order (it was listed, or its placement answered).
    acknowledged: bool,
}

/// What one cancel-and-confirm sweep came to.
#[derive(Debug, Clone, Default)]
pub struct Sweep {
    /// Distinct orders of ours seen open.
    pub found: usize,
    /// Orders the venue confirmed cancelled.
    pub cancelled: usize,
    /// `true` once a complete listing showed none of ours open, or the venue answered every
    /// order we know of as closed.
    pub confirmed: bool,
    /// The orders that could not be confirmed closed, one line per order with its last
    /// error: its length is the number of orders that may still be open.
    pub unconfirmed: Vec<String>,
    /// Why the sweep is not confirmed although no order is known open (no complete listing
    /// before the deadline, say); `None` otherwise.
    pub note: Option<String>,
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
struct GuardCore {
    name: String,
    venue: Arc<dyn Venue>,
    markets: Arc<Markets>,
    ids: Arc<ClientOrderIdGenerator>,
    /// Ordered: the cancels of a sweep go out, and its report names them, in the same order
    /// every run (a hash map's order differs from run to run).
    tracked: Mutex<BTreeMap<ClientOrderId, Tracked>>,
    accepting: AtomicBool,
    /// Trading halted: placements refused until resumed (independent of the stop).
    halted: tokio::sync::watch::Sender<bool>,
    in_flight: AtomicUsize,
    landed: Notify,
    reconcile_timeout: Duration,
    retry_interval: Duration,
    /// [`Venue::placement_window`].
    placement_window: Duration,
    counters: Counters,
    /// Our orders as `metrics`, registered once for the exchange.
    metrics: OrderMetrics,
    after_reconcile: Option<AfterReconcile>,
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
            Tracked {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<ClientOrderId, Tracked>> {
        self.tracked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_ours(&self, order: &Order) -> bool {
        order
            .client_order_id
            .as_ref()
            .is_some_and(|id| self.ids.is_ours(id))
    }

    /// Our open orders on every market, by `deadline`, and the first listing error (`None`
    /// if the listing is complete).
    async fn list_ours(&self, deadline: Instant) -> (Vec<(String, Order)>, Option<String>) {
        let listing = join_all(self.markets.entries().map(|(symbol, code)| async move {
            let answer = resent_until(
                deadline,
                |_| false,
                || self.venue.open_orders(symbol, code, Some(deadline)),
            )
            .await;
            (code, answer)
        }))
        .await;
        let mut open = Vec::new();
        let mut failed = None;
        for (code, answer) in listing {
            match answer {
                Some(Ok(orders)) => open.extend(
                    orders
                        .into_iter()
                        .filter(|o| self.is_ours(o) && o.status.is_open())
                        .map(|o| (code.to_owned(), o)),
                ),
                Some(Err(error)) => failed = Some(format!("listing {code}: {error}")),
                None => failed = Some(format!("listing {code}: no answer in time")),
            }
        }
        (open, failed)
    }

    /// Cancels every open order of ours and confirms none remains, by `deadline`.
    ///
    /// Each round cancels every order we know of (what we track, and what the last listing
    /// showed) **while** it lists our open orders on every market, so one round trip both
    /// cancels and confirms. The sweep is **confirmed** once every order we know of is
    /// answered closed by the venue (a cancel acknowledged, or "unknown order" for an order
    /// it had acknowledged: an acknowledged cancel is the venue's confirmation) and no
    /// listing of the round shows another order of ours open. A listing that shows orders we
    /// did not know starts another round at once; a failure backs off (from the retry
    /// interval, doubling to [`MAX_SWEEP_PAUSE`]). The sweep uses its whole deadline: rounds
    /// go on until confirmed or the deadline, whatever fails. What is not confirmed is named
    /// one line per order, with its last error.
    async fn sweep(&self, deadline: Instant) -> Sweep {
        let sweep = self.sweep_rounds(deadline).await;
        self.metrics.swept(sweep.cancelled, sweep.unconfirmed.len());
        sweep
    }

    /// The rounds of [`sweep`](Self::sweep).
    async fn sweep_rounds(&self, deadline: Instant) -> Sweep {
        let mut sweep = Sweep::default();
        // Every order met, by key (the venue's order id, or our client id if it has none).
        let mut seen: HashSet<String> = HashSet::new();
        // Orders the venue answered as closed.
        let mut closed: HashSet<String> = HashSet::new();
        let mut last_error: HashMap<String, String> = HashMap::new();
        let mut listing_error: Option<String>;
        // Our orders the last complete listing showed open (and not answered closed since).
        let mut open: Vec<(String, Order)> = Vec::new();
        let mut pause = self.retry_interval;
        loop {
            // Only orders tracked before the listing began, whose placement has landed, may
            // be pruned by it: an order placed meanwhile may not be listed yet.
            let round_started = Instant::now();
            let before: Vec<ClientOrderId> = self
                .lock()
                .iter()
                .filter(|(_, t)| {
                    t.landed
                        && (t.order_id.is_some()
                            || t.may_land_until.is_none_or(|until| until <= round_started))
                })
                .map(|(id, _)| id.clone())
                .collect();
            let targets = self.targets(&open, &closed);
            seen.extend(targets.iter().map(|t| t.key.clone()));
            let ((listed, failed), results) =
                tokio::join!(self.list_ours(deadline), self.cancel_all(targets, deadline));
            let mut failures = false;
            for (target, answer) in results {
                match answer {
                    Ok(true) => {
                        sweep.cancelled += 1;
                        tracing::info!(
                            name: "order cancelled",
                            target: lifecycle_core::timeline::TARGET,
                            component = self.name.as_str(),
                            order = target.key.as_str(),
                            "order cancelled"
                        );
                        self.close(&target, &mut closed, &mut last_error);
                    }
                    // "Unknown order": closed meanwhile, if the venue had acknowledged it.
                    Ok(false) if target.acknowledged => {
                        self.close(&target, &mut closed, &mut last_error);
                    }
                    Ok(false) => {
                        failures = true;
                        let until = target
                            .client_order_id
                            .as_ref()
                            .and_then(|id| self.lock().get(id).and_then(|t| t.may_land_until));
                        let why = match until {
                            Some(until) if until > Instant::now() => format!(
                                "unknown to the venue, which never answered its placement and may still accept it for {} ms",
                                until.saturating_duration_since(Instant::now()).as_millis()
                            ),
                            _ => "unknown to the venue, which never acknowledged it".to_owned(),
                        };
                        last_error.insert(target.key.clone(), why);
                    }
                    Err(error) => {
                        failures = true;
                        note_error(&mut last_error, &target.key, error, deadline);
                    }
                }
            }
            listing_error = failed;
            let mut news = false;
            if listing_error.is_none() {
                let listed_ids: HashSet<&ClientOrderId> = listed
                    .iter()
                    .filter_map(|(_, o)| o.client_order_id.as_ref())
                    .collect();
                let mut tracked = self.lock();
                for id in before.iter().filter(|id| !listed_ids.contains(id)) {
                    tracked.remove(id);
                }
                drop(tracked);
                // Listed but answered closed in this round: the listing came first.
                open = listed
                    .into_iter()
                    .filter(|(_, o)| !closed.contains(&o.order_id))
                    .collect();
                news = open.iter().any(|(_, o)| !seen.contains(&o.order_id));
            } else {
                failures = true;
                open.retain(|(_, o)| !closed.contains(&o.order_id));
            }
            let known_open = self.lock().len() + open.len();
            if known_open == 0 && (listing_error.is_none() || !closed.is_empty()) {
                sweep.confirmed = true;
                tracing::info!(
                    name: "orders confirmed",
                    target: lifecycle_core::timeline::TARGET,
                    component = self.name.as_str(),
                    cancelled = sweep.cancelled,
                    closed = closed.len(),
                    "every order of ours confirmed closed with the venue"
                );
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            if failures || !news {
                let round = Instant::now().saturating_duration_since(round_started);
                let resume = self
                    .next_round_at(Instant::now() + pause, round)
                    .min(deadline);
                tokio::time::sleep_until(resume).await;
                pause = (pause * 2).min(MAX_SWEEP_PAUSE);
            }
        }
        seen.extend(open.iter().map(|(_, o)| o.order_id.clone()));
        sweep.found = seen.len();
        if !sweep.confirmed {
            sweep.unconfirmed = self.name_unconfirmed(&open, &last_error);
            if sweep.unconfirmed.is_empty() {
                sweep.note = Some(format!(
                    "open orders not confirmed (none known open): {}",
                    listing_error
                        .as_deref()
                        .unwrap_or("no complete listing before the deadline")
                ));
            }
        }
        sweep
    }

    /// When the next sweep round begins, given the earliest (`resume`) and how long the last
    /// round took: a placement the venue may still carry out is proven absent only by a
    /// listing that begins after its window ([`Venue::placement_window`]); when that window
    /// ends during the round that would begin at `resume`, the round waits for it, so one
    /// round (not two) after the window confirms the sweep.
    fn next_round_at(&self, resume: Instant, round: Duration) -> Instant {
        let window_end = self
            .lock()
            .values()
            .filter(|t| t.landed && t.order_id.is_none())
            .filter_map(|t| t.may_land_until)
            .filter(|until| *until > resume)
            .min();
        match window_end {
            Some(end) if end <= resume + round => end,
            _ => resume,
        }
    }

    /// What a sweep round cancels: every order we track, and every order the last listing
    /// showed, that the venue has not answered closed.
    fn targets(&self, open: &[(String, Order)], closed: &HashSet<String>) -> Vec<Target> {
        let mut targets: Vec<Target> = open
            .iter()
            .filter(|(_, o)| !closed.contains(&o.order_id))
            .map(|(code, o)| Target {
                code: code.clone(),
                order: OrderKey::OrderId(o.order_id.clone()),
                key: o.order_id.clone(),
                client_order_id: o.client_order_id.clone(),
                acknowledged: true,
            })
            .collect();
        let listed: HashSet<String> = targets.iter().map(|t| t.key.clone()).collect();
        targets.extend(
            self.lock()
                .iter()
                .filter(|(_, t)| t.order_id.as_ref().is_none_or(|o| !listed.contains(o)))
                .map(|(id, t)| Target {
                    code: t.symbol_code.clone(),
                    order: OrderKey::ClientOrderId(id.clone()),
                    key: t.order_id.clone().unwrap_or_else(|| id.as_str().to_owned()),
                    client_order_id: Some(id.clone()),
                    acknowledged: t.order_id.is_some(),
                }),
        );
        targets
    }

    /// Cancels `targets` at once, by `deadline`: per target, `Ok(true)` if the venue answered
    /// it closed, `Ok(false)` if it does not know the order, `Err` with the error otherwise.
    async fn cancel_all(
        &self,
        targets: Vec<Target>,
        deadline: Instant,
    ) -> Vec<(Target, Result<bool, String>)> {
        join_all(targets.into_iter().map(|target| async move {
            let Some(symbol) = self.markets.symbol_of(&target.code) else {
                let unknown = ExchangeError::UnknownSymbol(target.code.clone()).to_string();
                return (target, Err(unknown));
            };
            let answer = resent_until(deadline, ExchangeError::is_unknown_order, || {
                self.venue
                    .cancel_order(symbol, &target.code, target.order.clone(), Some(deadline))
            })
            .await;
            let result = match answer {
                Some(Ok(order)) if !order.status.is_open() => Ok(true),
                Some(Ok(order)) => Err(format!("still {} after its cancel", order.status)),
                Some(Err(error)) if error.is_unknown_order() => Ok(false),
                Some(Err(error)) => Err(error.to_string()),
                None => Err("no answer before the deadline".to_owned()),
            };
            (target, result)
        }))
        .await
    }

    /// Records that the venue answered `target` closed.
    fn close(
        &self,
        target: &Target,
        closed: &mut HashSet<String>,
        last_error: &mut HashMap<String, String>,
    ) {
        last_error.remove(&target.key);
        closed.insert(target.key.clone());
        if let Some(id) = &target.client_order_id {
            self.lock().remove(id);
        }
    }

    /// One line per order that may still be open: listed open, or tracked.
    fn name_unconfirmed(
        &self,
        open: &[(String, Order)],
        last_error: &HashMap<String, String>,
    ) -> Vec<String> {
        let mut named = Vec::new();
        let mut listed: HashSet<&str> = HashSet::new();
        for (code, o) in open {
            listed.insert(o.order_id.as_str());
            let why = last_error
                .get(&o.order_id)
                .map_or("still open at the deadline", String::as_str);
            named.push(format!(
                "order {} ({code}, client id {}) not confirmed cancelled: {why}",
                o.order_id,
                o.client_order_id
                    .as_ref()
                    .map_or("-", ClientOrderId::as_str)
            ));
        }
        for (id, tracked) in self.lock().iter() {
            let key = tracked.order_id.clone().unwrap_or_else(|| id.to_string());
            if listed.contains(key.as_str()) {
                continue;
            }
            let why = last_error
                .get(&key)
                .map_or("state unknown at the deadline", String::as_str);
            named.push(format!(
                "order {key} ({}, client id {id}) not confirmed cancelled: {why}",
                tracked.symbol_code
            ));
        }
        named
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::sync::atomic::AtomicU32;

    use super::*;

    /// How one attempt of a call behaves: `None` never answers, else the answer after a delay.
    type Script = Vec<Option<(Duration, Result<u32, &'static str>)>>;

    /// Calls `resent_until` with attempts that behave as `script` says (attempts past its end
    /// never answer), an "unknown" error settling the call; returns the answer, the attempts
    /// sent and when it returned.
    async fn scripted(
        deadline_in: Duration,
        script: Script,
    ) -> (Option<Result<u32, &'static str>>, u32, Duration) {
        let sent = AtomicU32::new(0);
        let began = Instant::now();
        let answer = resent_until(
            began + deadline_in,
            |e: &&str| *e == "unknown",
            || {
                let n = sent.fetch_add(1, Ordering::SeqCst);
                let step = script.get(n as usize).cloned().flatten();
                async move {
                    let Some((after, answer)) = step else {
                        return std::future::pending().await;
                    };
                    tokio::time::sleep(after).await;
                    answer
                }
            },
        )
        .await;
        (answer, sent.load(Ordering::SeqCst), began.elapsed())
    }

    /// Attempts that each answer `Ok(n)` after `latency`, except the first `lost`.
    async fn run(
        deadline_in: Duration,
        latency: Duration,
        lost: u32,
    ) -> (Option<u32>, u32, Duration) {
        let script = (0..SWEEP_ATTEMPTS as u32)
            .map(|n| (n >= lost).then_some((latency, Ok(n))))
            .collect();
        let (answer, sent, took) = scripted(deadline_in, script).await;
        (answer.map(Result::unwrap), sent, took)
    }

    #[test]
    fn the_first_resend_is_a_quarter_of_what_is_left_within_bounds() {
        assert_eq!(first_resend_after(Duration::ZERO), SWEEP_RESEND_AFTER_MIN);
        assert_eq!(
            first_resend_after(Duration::from_millis(900)),
            SWEEP_RESEND_AFTER_MIN
        );
        assert_eq!(
            first_resend_after(Duration::from_secs(4)),
            Duration::from_secs(1)
        );
        assert_eq!(
            first_resend_after(Duration::from_secs(60)),
            SWEEP_RESEND_AFTER_MAX
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_venue_with_time_to_spare_gets_each_call_once() {
        // 1 s answers, 12 s left: the first re-send would be after 3 s.
        let (answer, sent, took) = run(Duration::from_secs(12), Duration::from_secs(1), 0).await;
        assert_eq!((answer, sent, took), (Some(0), 1, Duration::from_secs(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_call_is_sent_again_and_the_copy_answers() {
        // 1 s left: re-sent after 250 ms, answered 10 ms later.
        let (answer, sent, took) = run(Duration::from_secs(1), Duration::from_millis(10), 1).await;
        assert_eq!((answer, sent), (Some(1), 2));
        assert_eq!(took, Duration::from_millis(260));
    }

    #[tokio::test(start_paused = true)]
    async fn copies_stop_at_three_and_nothing_answers_after_the_deadline() {
        // 2 s left: copies at 0, 500 ms and 1.5 s.
        let (answer, sent, took) = run(Duration::from_secs(2), Duration::ZERO, u32::MAX).await;
        assert_eq!((answer, sent, took), (None, 3, Duration::from_secs(2)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_copy_s_cancel_outweighs_an_earlier_copy_s_unknown_order() {
        // Both copies are held (by the rate limiter) and reach the venue together: the copy
        // sent at 250 ms is carried out and answers at 510 ms, the first hears "unknown
        // order" at 505 ms. The cancel counts.
        let script = vec![
            Some((Duration::from_millis(505), Err("unknown"))),
            Some((Duration::from_millis(260), Ok(1))),
        ];
        let (answer, sent, took) = scripted(Duration::from_secs(1), script).await;
        assert_eq!(
            (answer, sent, took),
            (Some(Ok(1)), 2, Duration::from_millis(510))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_order_waits_for_the_copies_in_flight_a_bounded_time() {
        // The first copy is lost; the second (250 ms) hears "unknown" at 260 ms: the lost
        // copy gets half that round trip more (265 ms), and no third copy goes out.
        let script = vec![None, Some((Duration::from_millis(10), Err("unknown")))];
        let (answer, sent, took) = scripted(Duration::from_secs(1), script).await;
        assert_eq!(
            (answer, sent, took),
            (Some(Err("unknown")), 2, Duration::from_millis(265))
        );
        // The first copy hears "unknown" at 300 ms; the second, sent at 250 ms, is expected
        // by 250 + 450 ms and answers only at 1.25 s: the "unknown" stands at 700 ms.
        let script = vec![
            Some((Duration::from_millis(300), Err("unknown"))),
            Some((Duration::from_secs(1), Ok(1))),
        ];
        let (answer, sent, took) = scripted(Duration::from_secs(1), script).await;
        assert_eq!(
            (answer, sent, took),
            (Some(Err("unknown")), 2, Duration::from_millis(700))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_passing_error_waits_for_the_copies_still_in_flight() {
        // A 429 at 300 ms for the first copy; the second (250 ms) succeeds at 950 ms, the
        // third (750 ms) is still in flight then.
        let script = vec![
            Some((Duration::from_millis(300), Err("429"))),
            Some((Duration::from_millis(700), Ok(1))),
        ];
        let (answer, sent, took) = scripted(Duration::from_secs(1), script).await;
        assert_eq!(
            (answer, sent, took),
            (Some(Ok(1)), 3, Duration::from_millis(950))
        );
        // Every copy fails: the last error heard, once none is left.
        let script = vec![
            Some((Duration::from_millis(300), Err("429"))),
            Some((Duration::from_millis(100), Err("503"))),
        ];
        let (answer, sent, took) = scripted(Duration::from_secs(1), script).await;
        assert_eq!(
            (answer, sent, took),
            (Some(Err("503")), 2, Duration::from_millis(350))
        );
    }
}
