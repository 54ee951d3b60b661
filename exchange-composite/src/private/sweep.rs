//! The cancel-and-confirm sweep of the [`OrderGuard`](super::order_guard::OrderGuard): at its
//! stop, at a halt and at the start's reconciliation.
//!
//! The sweep works in rounds (list our open orders while cancelling every one known, until a
//! complete listing shows none). Two things make a round's evidence weaker than it looks:
//! - a call can be lost with no error ever coming back (a request sent into a partition):
//!   each call is re-sent while unanswered (see [`resent_until`]), so a lost request does not
//!   hold the sweep to its deadline;
//! - a placement whose answer never came (it timed out, or its caller gave up) may still be
//!   carried out by the venue until [`Venue::placement_window`](crate::venue::Venue::placement_window)
//!   has passed: only a listing that began after that proves it absent, and until then the
//!   sweep names it with that reason.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::future::join_all;
use tokio::time::Instant;

use super::order_guard::GuardCore;
use super::resend::resent_until;
use crate::domain::client_order_id::ClientOrderId;
use crate::domain::order::Order;
use crate::error::ExchangeError;
use crate::venue::OrderKey;

/// Longest pause between two rounds of a sweep (it starts at the configured retry interval
/// and doubles while rounds fail).
const MAX_SWEEP_PAUSE: Duration = Duration::from_millis(500);

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
#[must_use = "a sweep says which orders may still be open: read it or log it"]
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

/// A sweep under way: what its rounds learnt so far.
struct SweepRun<'a> {
    guard: &'a GuardCore,
    deadline: Instant,
    sweep: Sweep,
    /// Every order met, by key (the venue's order id, or our client id if it has none).
    seen: HashSet<String>,
    /// Orders the venue answered as closed.
    closed: HashSet<String>,
    /// The last error of each order not (yet) answered closed, by key.
    last_error: HashMap<String, String>,
    /// Why the last round's listing is incomplete (`None`: it was complete).
    listing_error: Option<String>,
    /// Our orders the last complete listing showed open (and not answered closed since).
    open: Vec<(String, Order)>,
    /// The wait before the next round after one that failed or learnt nothing new.
    pause: Duration,
}

impl<'a> SweepRun<'a> {
    fn new(guard: &'a GuardCore, deadline: Instant) -> Self {
        Self {
            guard,
            deadline,
            sweep: Sweep::default(),
            seen: HashSet::new(),
            closed: HashSet::new(),
            last_error: HashMap::new(),
            listing_error: None,
            open: Vec::new(),
            pause: guard.retry_interval,
        }
    }

    /// The tracked orders a listing that begins at `round_started` may prune when it does
    /// not show them: only orders tracked before it began, whose placement has landed (an
    /// order placed meanwhile may not be listed yet) and, for one the venue never answered,
    /// whose placement window is over.
    fn prunable(&self, round_started: Instant) -> Vec<ClientOrderId> {
        self.guard
            .lock()
            .iter()
            .filter(|(_, t)| {
                t.landed
                    && (t.order_id.is_some()
                        || t.may_land_until.is_none_or(|until| until <= round_started))
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Takes in the answers to a round's cancels; `true` if any failed.
    fn take_cancels(&mut self, cancels: Vec<(Target, Result<bool, String>)>) -> bool {
        let guard = self.guard;
        let mut failures = false;
        for (target, answer) in cancels {
            match answer {
                Ok(true) => {
                    self.sweep.cancelled += 1;
                    tracing::info!(
                        name: "order cancelled",
                        target: lifecycle_core::timeline::TARGET,
                        component = guard.name.as_str(),
                        order = target.key.as_str(),
                        "order cancelled"
                    );
                    guard.close(&target, &mut self.closed, &mut self.last_error);
                }
                // "Unknown order": closed meanwhile, if the venue had acknowledged it.
                Ok(false) if target.acknowledged => {
                    guard.close(&target, &mut self.closed, &mut self.last_error);
                }
                Ok(false) => {
                    failures = true;
                    let until = target
                        .client_order_id
                        .as_ref()
                        .and_then(|id| guard.lock().get(id).and_then(|t| t.may_land_until));
                    let why = match until {
                        Some(until) if until > Instant::now() => format!(
                            "unknown to the venue, which never answered its placement and may still accept it for {} ms",
                            until.saturating_duration_since(Instant::now()).as_millis()
                        ),
                        _ => "unknown to the venue, which never acknowledged it".to_owned(),
                    };
                    self.last_error.insert(target.key.clone(), why);
                }
                Err(error) => {
                    failures = true;
                    note_error(&mut self.last_error, &target.key, error, self.deadline);
                }
            }
        }
        failures
    }

    /// Takes in a round's listing (`listing_error` if incomplete): a complete one prunes the
    /// `prunable` orders it does not show and becomes what is known open. Returns whether the
    /// listing failed, and whether it showed an order never met before.
    fn take_listing(
        &mut self,
        listed: Vec<(String, Order)>,
        listing_error: Option<String>,
        prunable: &[ClientOrderId],
    ) -> (bool, bool) {
        self.listing_error = listing_error;
        if self.listing_error.is_some() {
            self.open
                .retain(|(_, o)| !self.closed.contains(&o.order_id));
            return (true, false);
        }
        let listed_ids: HashSet<&ClientOrderId> = listed
            .iter()
            .filter_map(|(_, o)| o.client_order_id.as_ref())
            .collect();
        let mut tracked = self.guard.lock();
        for id in prunable.iter().filter(|id| !listed_ids.contains(id)) {
            tracked.remove(id);
        }
        drop(tracked);
        // Listed but answered closed in this round: the listing came first.
        self.open = listed
            .into_iter()
            .filter(|(_, o)| !self.closed.contains(&o.order_id))
            .collect();
        let news = self
            .open
            .iter()
            .any(|(_, o)| !self.seen.contains(&o.order_id));
        (false, news)
    }

    /// No order of ours is known open, and that rests on a complete listing or on the
    /// venue's answers.
    fn is_confirmed(&self) -> bool {
        let known_open = self.guard.lock().len() + self.open.len();
        known_open == 0 && (self.listing_error.is_none() || !self.closed.is_empty())
    }

    /// Records the confirmation (and puts it on the timeline).
    fn confirm(&mut self) {
        self.sweep.confirmed = true;
        tracing::info!(
            name: "orders confirmed",
            target: lifecycle_core::timeline::TARGET,
            component = self.guard.name.as_str(),
            cancelled = self.sweep.cancelled,
            closed = self.closed.len(),
            "every order of ours confirmed closed with the venue"
        );
    }

    /// Waits before the next round (the pause, doubling to [`MAX_SWEEP_PAUSE`], moved to the
    /// end of a placement window that ends during the next round), at most to the deadline.
    async fn pause_after(&mut self, round_started: Instant) {
        let round = Instant::now().saturating_duration_since(round_started);
        let resume = self
            .guard
            .next_round_at(Instant::now() + self.pause, round)
            .min(self.deadline);
        tokio::time::sleep_until(resume).await;
        self.pause = (self.pause * 2).min(MAX_SWEEP_PAUSE);
    }

    /// What the sweep came to: the orders met, and, unless confirmed, one line per order
    /// that may still be open (or why none is named).
    fn finish(mut self) -> Sweep {
        self.seen
            .extend(self.open.iter().map(|(_, o)| o.order_id.clone()));
        self.sweep.found = self.seen.len();
        if !self.sweep.confirmed {
            self.sweep.unconfirmed = self.guard.name_unconfirmed(&self.open, &self.last_error);
            if self.sweep.unconfirmed.is_empty() {
                self.sweep.note = Some(format!(
                    "open orders not confirmed (none known open): {}",
                    self.listing_error
                        .as_deref()
                        .unwrap_or("no complete listing before the deadline")
                ));
            }
        }
        self.sweep
    }
}

impl GuardCore {
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
    pub(super) async fn sweep(&self, deadline: Instant) -> Sweep {
        let sweep = self.sweep_rounds(deadline).await;
        self.metrics.swept(sweep.cancelled, sweep.unconfirmed.len());
        sweep
    }

    /// The rounds of [`sweep`](Self::sweep): each lists while it cancels, takes in the
    /// answers and the listing, and either confirms or waits for the next.
    async fn sweep_rounds(&self, deadline: Instant) -> Sweep {
        let mut run = SweepRun::new(self, deadline);
        loop {
            let round_started = Instant::now();
            let prunable = run.prunable(round_started);
            let targets = self.targets(&run.open, &run.closed);
            run.seen.extend(targets.iter().map(|t| t.key.clone()));
            let ((listed, listing_error), cancels) =
                tokio::join!(self.list_ours(deadline), self.cancel_all(targets, deadline));
            let cancels_failed = run.take_cancels(cancels);
            let (listing_failed, news) = run.take_listing(listed, listing_error, &prunable);
            if run.is_confirmed() {
                run.confirm();
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            if cancels_failed || listing_failed || !news {
                run.pause_after(round_started).await;
            }
        }
        run.finish()
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
}
