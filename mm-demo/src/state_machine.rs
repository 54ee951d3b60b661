//! [`MarketMakerStateMachine`]: one quoting cycle with explicit, logged states.

use std::fmt;
use std::time::Duration;

use exchange_composite::{ClientOrderId, ExchangeError, Order, OrderRequest, OrderUpdate, Side};
use futures::StreamExt;
use lifecycle_core::{Backoff, ShutdownSignal};
use rust_decimal::Decimal;
use serde::Serialize;
use tokio::time::Instant;
use tracing::Instrument;

use crate::cycle_outcome::{CycleOutcome, OrderOutcome};
use crate::market_maker_context::MarketMakerContext;

/// How long a cycle waits for the first book ticker (at most the outage limit, at least
/// [`MIN_BOOK_TIMEOUT`]).
const BOOK_TIMEOUT: Duration = Duration::from_secs(15);
/// The shortest wait for a book ticker.
const MIN_BOOK_TIMEOUT: Duration = Duration::from_secs(1);
/// First pause before retrying a failed cancel (doubling, at most [`CANCEL_MAX_PAUSE`]).
const CANCEL_FIRST_PAUSE: Duration = Duration::from_millis(100);
/// Longest pause between two attempts at a cancel.
const CANCEL_MAX_PAUSE: Duration = Duration::from_secs(1);
/// How long a cycle retries the cancel of one order before it leaves the order to the next
/// cycle's halt (which will not quote until the order is confirmed closed).
const CANCEL_PATIENCE: Duration = Duration::from_secs(3);
/// Attempts at learning an order's final state (query) on passing failures.
const QUERY_ATTEMPTS: u32 = 3;
/// Time one cancel-and-confirm sweep of a halt may take.
const HALT_SWEEP_WINDOW: Duration = Duration::from_secs(5);
/// First pause between two sweeps of a halt (doubling, at most [`HALT_MAX_PAUSE`]).
const HALT_FIRST_PAUSE: Duration = Duration::from_millis(250);
/// Longest pause between two sweeps of a halt.
const HALT_MAX_PAUSE: Duration = Duration::from_secs(5);
/// A quote's value may exceed `--quantity-usdt` by this factor at most (a coarse quantity step
/// rounds the quantity up): a venue price far off the market cannot turn a 2 USDT quote into
/// a large order.
const MAX_VALUE_FACTOR: Decimal = Decimal::TWO;

/// Where a cycle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum MarketMakerState {
    /// Between cycles.
    Idle,
    /// Quoting is halted: orders of ours are not confirmed closed; cancelling and confirming
    /// them before anything is placed again.
    Halted,
    /// Waiting for the book's touch.
    ReadingBook,
    /// Placing the buy and the sell.
    Quoting,
    /// Orders rest; following their updates until both close or the fill timeout.
    AwaitingFills,
    /// Cancelling what remains.
    Cancelling,
    /// Both orders are closed.
    Done,
}

impl fmt::Display for MarketMakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Idle => "idle",
            Self::Halted => "halted",
            Self::ReadingBook => "reading book",
            Self::Quoting => "quoting",
            Self::AwaitingFills => "awaiting fills",
            Self::Cancelling => "cancelling",
            Self::Done => "done",
        })
    }
}

/// Why a cycle failed. Orders it placed are left to the next cycle's halt or to the
/// exchange's shutdown, both of which cancel and confirm every order of ours.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CycleError {
    /// An exchange call failed.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// The book had no usable touch.
    #[error("the book of {0} has no usable touch (bid below ask)")]
    NoTouch(String),
    /// The venue's prices give a value our arithmetic cannot hold (never for prices the
    /// boundary accepts; kept so no overflow can ever panic).
    #[error("the book of {symbol} gives {what} out of range: not quoting")]
    OutOfRange {
        /// The market.
        symbol: String,
        /// What could not be computed.
        what: &'static str,
    },
    /// The quote would be worth far more than asked (a coarse quantity step at this price).
    #[error(
        "a {side} of {quantity} at {price} would be worth {value}, more than {MAX_VALUE_FACTOR} x the {asked} asked: not quoting"
    )]
    OrderValue {
        /// `buy` or `sell`.
        side: &'static str,
        /// The quantity.
        quantity: Decimal,
        /// The price.
        price: Decimal,
        /// Their product.
        value: Decimal,
        /// `--quantity-usdt`.
        asked: Decimal,
    },
    /// Quoting stayed halted: orders of ours could not be confirmed closed in time.
    #[error(
        "quoting halted for {waited_s:.1} s: {unconfirmed} order(s) of ours not confirmed closed ({detail}); giving up"
    )]
    Halted {
        /// Orders that may still be open.
        unconfirmed: usize,
        /// How long the halt lasted.
        waited_s: f64,
        /// The sweep's last word.
        detail: String,
    },
    /// A shutdown was requested before anything was placed.
    #[error("interrupted before quoting")]
    Interrupted,
}

/// Runs market-making cycles: moves through [`MarketMakerState`] against the exchanges of its
/// [`MarketMakerContext`].
#[derive(Debug)]
pub(crate) struct MarketMakerStateMachine {
    context: MarketMakerContext,
    state: MarketMakerState,
}

impl CycleError {
    /// A failure the next attempt may not meet: the market moved between reading the book and
    /// quoting (a post-only order that would have crossed is refused), the book had no usable
    /// touch or no ticker for a moment, or the venue failed for a passing reason (rate
    /// limited, a 5xx, a timeout, a broken connection, an order whose outcome is unknown: the
    /// next cycle's halt reconciles it before quoting).
    pub(crate) fn is_passing(&self) -> bool {
        match self {
            Self::Exchange(error) => {
                error.is_order_rejected()
                    || error.is_transient()
                    || error.is_outcome_unknown()
                    || matches!(error, ExchangeError::Timeout(_))
            }
            Self::NoTouch(_) => true,
            Self::OutOfRange { .. }
            | Self::OrderValue { .. }
            | Self::Halted { .. }
            | Self::Interrupted => false,
        }
    }
}

/// Whether a failed cancel (or query) may succeed if tried again.
fn worth_retrying(error: &ExchangeError) -> bool {
    error.is_transient() || error.is_outcome_unknown()
}

impl MarketMakerStateMachine {
    pub(crate) fn new(context: MarketMakerContext) -> Self {
        Self {
            context,
            state: MarketMakerState::Idle,
        }
    }

    fn enter(&mut self, state: MarketMakerState) {
        tracing::info!(from = %self.state, to = %state, "market maker state");
        self.state = state;
    }

    /// Runs one cycle: makes sure no order of ours is unconfirmed (halting until they are
    /// cancelled and confirmed), reads the book, places a LIMIT_MAKER buy and sell of about
    /// `quantity_usdt` around the mid, follows their updates until both close, the fill
    /// timeout passes, or `stop` is triggered, cancels what remains (retrying with backoff),
    /// and returns both orders' final outcomes.
    ///
    /// # Cancel safety
    /// Not cancel safe in the sense that dropping it may leave its orders resting: the
    /// private exchange's shutdown cancels and confirms them.
    pub(crate) async fn run_cycle(
        &mut self,
        cycle: u64,
        stop: &ShutdownSignal,
    ) -> Result<CycleOutcome, CycleError> {
        let span = tracing::info_span!(parent: &self.context.logger, "cycle", cycle);
        let result = self.cycle(cycle, stop).instrument(span).await;
        self.state = MarketMakerState::Idle;
        result
    }

    /// Until every order of ours is confirmed closed, nothing is quoted: cancels and confirms
    /// them (sweeps with backoff), for at most the context's `max_outage`.
    async fn ensure_no_open_orders(&mut self, stop: &ShutdownSignal) -> Result<(), CycleError> {
        let ctx = self.context.clone();
        let tracked = ctx.private_exchange.tracked_orders();
        if tracked == 0 {
            return Ok(());
        }
        tracing::info!(
            orders = tracked,
            "orders of ours not confirmed closed: cancelling and confirming them before quoting"
        );
        let halted = Instant::now();
        let mut pause = Backoff::new(HALT_FIRST_PAUSE, HALT_MAX_PAUSE);
        let mut announced = false;
        loop {
            let window = HALT_SWEEP_WINDOW.min(ctx.max_outage);
            let sweep = tokio::select! {
                biased;
                () = stop.triggered() => return Err(CycleError::Interrupted),
                sweep = ctx.private_exchange.cancel_and_confirm_ours(Instant::now() + window) => sweep?,
            };
            if sweep.confirmed {
                if announced {
                    tracing::warn!(
                        halted_s = halted.elapsed().as_secs_f64(),
                        cancelled = sweep.cancelled,
                        "every order of ours is confirmed closed: quoting resumed"
                    );
                }
                return Ok(());
            }
            let unconfirmed = sweep
                .unconfirmed
                .len()
                .max(ctx.private_exchange.tracked_orders());
            let detail = sweep
                .unconfirmed
                .first()
                .cloned()
                .or(sweep.note)
                .unwrap_or_else(|| "no answer".to_owned());
            if halted.elapsed() >= ctx.max_outage {
                return Err(CycleError::Halted {
                    unconfirmed,
                    waited_s: halted.elapsed().as_secs_f64(),
                    detail,
                });
            }
            if !announced {
                self.enter(MarketMakerState::Halted);
                tracing::warn!(
                    orders = unconfirmed,
                    limit_s = ctx.max_outage.as_secs_f64(),
                    %detail,
                    "quoting halted: orders of ours are not confirmed closed; retrying their cancel until they are"
                );
                announced = true;
            }
            let wait = pause.next_delay();
            tokio::select! {
                biased;
                () = stop.triggered() => return Err(CycleError::Interrupted),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn cycle(
        &mut self,
        cycle: u64,
        stop: &ShutdownSignal,
    ) -> Result<CycleOutcome, CycleError> {
        let begun = Instant::now();
        let ctx = self.context.clone();
        let symbol = &ctx.symbol;
        self.ensure_no_open_orders(stop).await?;

        self.enter(MarketMakerState::ReadingBook);
        let book_timeout = BOOK_TIMEOUT.min(ctx.max_outage).max(MIN_BOOK_TIMEOUT);
        let ticker = tokio::select! {
            biased;
            () = stop.triggered() => return Err(CycleError::Interrupted),
            ticker = ctx.public_exchange.wait_for_book_ticker(symbol, book_timeout) => ticker?,
        };
        // The local book's top is the freshest touch; the ticker stands in while it syncs.
        let (best_bid, best_ask) = match ctx.public_exchange.order_book(symbol) {
            Some(top) if !top.bids.is_empty() && !top.asks.is_empty() => {
                (top.bids[0].price, top.asks[0].price)
            }
            _ => (ticker.bid_price, ticker.ask_price),
        };
        if best_bid <= Decimal::ZERO || best_bid >= best_ask {
            return Err(CycleError::NoTouch(symbol.to_string()));
        }
        let rules = ctx.public_exchange.rules(symbol)?;
        let quote = Quote::around(best_bid, best_ask, rules.price_precision).ok_or_else(|| {
            CycleError::OutOfRange {
                symbol: symbol.to_string(),
                what: "a mid or a quote",
            }
        })?;
        let (mid, bid, ask) = (quote.mid, quote.bid, quote.ask);
        let bid_quantity = rules
            .quantity_for_notional(ctx.quantity_usdt, bid)
            .map_err(ExchangeError::from)?;
        let ask_quantity = rules
            .quantity_for_notional(ctx.quantity_usdt, ask)
            .map_err(ExchangeError::from)?;
        check_value("buy", bid_quantity, bid, ctx.quantity_usdt)?;
        check_value("sell", ask_quantity, ask, ctx.quantity_usdt)?;
        tracing::info!(%mid, %bid, %ask, %bid_quantity, %ask_quantity, "book read");

        self.enter(MarketMakerState::Quoting);
        // Subscribed before placing, so no update can be missed.
        let mut updates = ctx.private_exchange.subscribe_order_updates()?;
        let (buy, sell) = tokio::join!(
            ctx.private_exchange.place_order(OrderRequest::limit_maker(
                symbol.clone(),
                Side::Buy,
                bid,
                bid_quantity
            )),
            ctx.private_exchange.place_order(OrderRequest::limit_maker(
                symbol.clone(),
                Side::Sell,
                ask,
                ask_quantity
            )),
        );
        let (buy, sell) = match (buy, sell) {
            (Ok(buy), Ok(sell)) => (buy, sell),
            (Ok(placed), Err(error)) | (Err(error), Ok(placed)) => {
                if !stop.is_triggered() {
                    tracing::warn!(%error, "one side failed: cancelling the other");
                    self.enter(MarketMakerState::Cancelling);
                    let mut outcome = OrderOutcome::from_order(&placed);
                    settle(&ctx, &placed, &mut outcome, CANCEL_PATIENCE).await;
                }
                return Err(error.into());
            }
            (Err(error), Err(_)) => return Err(error.into()),
        };
        let mut outcomes = [
            OrderOutcome::from_order(&buy),
            OrderOutcome::from_order(&sell),
        ];
        let ids = [buy.client_order_id.clone(), sell.client_order_id.clone()];
        tracing::info!(buy = %buy.order_id, sell = %sell.order_id, "orders resting");

        self.enter(MarketMakerState::AwaitingFills);
        let mut deadline = Instant::now() + ctx.fill_timeout;
        let mut interrupted = false;
        let mut halted = ctx.private_exchange.halt_watch();
        let mut halt_seen = false;
        while outcomes.iter().any(|o| !o.closed) {
            tokio::select! {
                biased;
                () = stop.triggered() => {
                    interrupted = true;
                    break;
                }
                // A trading halt cancels our orders itself: follow their updates a little
                // longer, then settle what the updates did not close.
                _ = halted.wait_for(|h| *h), if !halt_seen => {
                    halt_seen = true;
                    deadline = deadline.min(Instant::now() + CANCEL_PATIENCE);
                    tracing::warn!("trading halted while our orders rest: the halt cancels them");
                }
                () = tokio::time::sleep_until(deadline) => break,
                update = updates.next() => match update {
                    Some(Ok(update)) => follow(&ids, &mut outcomes, &update),
                    Some(Err(lagged)) => tracing::warn!(%lagged, "order updates lagged: the final query corrects the outcome"),
                    None => break, // the stream ended: the exchange is stopping
                },
            }
        }
        drop(updates);

        if interrupted || stop.is_triggered() {
            // The shutdown's sweep cancels and confirms every order of ours in one round trip
            // (cancels and listing at once): cancelling here first would only add one.
            for outcome in outcomes.iter_mut().filter(|o| !o.closed) {
                outcome.leave_to_shutdown();
            }
        } else {
            self.enter(MarketMakerState::Cancelling);
            // Both at once, each retried with backoff until confirmed or out of patience.
            let [buy_outcome, sell_outcome] = &mut outcomes;
            tokio::join!(
                settle(&ctx, &buy, buy_outcome, CANCEL_PATIENCE),
                settle(&ctx, &sell, sell_outcome, CANCEL_PATIENCE),
            );
        }
        self.enter(MarketMakerState::Done);
        let [buy, sell] = outcomes;
        if !interrupted && (!buy.closed || !sell.closed) {
            tracing::warn!(
                cycle,
                "an order of ours is not confirmed closed: the next cycle will not quote until it is"
            );
        }
        Ok(CycleOutcome {
            cycle,
            mid,
            buy,
            sell,
            interrupted,
            duration_ms: begun.elapsed().as_secs_f64() * 1e3,
        })
    }
}

/// The prices of one quote: one tick inside the spread when there is room, else at the
/// touch (both stay makers), computed with checked arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quote {
    mid: Decimal,
    bid: Decimal,
    ask: Decimal,
}

impl Quote {
    /// `None` if a value does not fit in a `Decimal`, or the precision is not one.
    fn around(best_bid: Decimal, best_ask: Decimal, price_precision: u32) -> Option<Self> {
        let mid = best_bid.checked_add(best_ask)?.checked_div(Decimal::TWO)?;
        let tick = Decimal::try_new(1, price_precision).ok()?;
        let spread = best_ask.checked_sub(best_bid)?;
        let (bid, ask) = if spread > tick.checked_mul(Decimal::TWO)? {
            (best_bid.checked_add(tick)?, best_ask.checked_sub(tick)?)
        } else {
            (best_bid, best_ask)
        };
        Some(Self { mid, bid, ask })
    }
}

/// Refuses a quote worth more than [`MAX_VALUE_FACTOR`] times what was asked.
fn check_value(
    side: &'static str,
    quantity: Decimal,
    price: Decimal,
    asked: Decimal,
) -> Result<(), CycleError> {
    let value = quantity.checked_mul(price);
    let limit = asked.checked_mul(MAX_VALUE_FACTOR);
    match (value, limit) {
        (Some(value), Some(limit)) if value <= limit => Ok(()),
        (value, _) => Err(CycleError::OrderValue {
            side,
            quantity,
            price,
            value: value.unwrap_or(Decimal::MAX),
            asked,
        }),
    }
}

/// Cancels `order` unless `outcome` says it is closed, retrying passing failures with backoff
/// for up to `patience` (zero: one attempt), then learns its final state. `outcome.closed`
/// is true afterwards only if the venue confirmed the order closed.
async fn settle(
    ctx: &MarketMakerContext,
    order: &Order,
    outcome: &mut OrderOutcome,
    patience: Duration,
) {
    if outcome.closed {
        return;
    }
    let give_up = Instant::now() + patience;
    let mut pause = Backoff::new(CANCEL_FIRST_PAUSE, CANCEL_MAX_PAUSE);
    let mut attempts = 0_u32;
    let mut needs_query = false;
    loop {
        attempts += 1;
        match cancel_one(ctx, order).await {
            Ok(cancelled) => {
                outcome.update(cancelled.filled_quantity, cancelled.status);
                if outcome.closed {
                    if attempts > 1 {
                        tracing::info!(order_id = %order.order_id, attempts, "cancel confirmed after retrying");
                    }
                    return;
                }
                // Acknowledged but still open (a venue that cancels asynchronously): ask.
                needs_query = true;
                break;
            }
            Err(error) if error.is_unknown_order() => {
                // Closed meanwhile (filled, most likely): the query below tells how.
                needs_query = true;
                break;
            }
            Err(error) if worth_retrying(&error) && Instant::now() < give_up => {
                let wait = pause
                    .next_delay()
                    .min(give_up.saturating_duration_since(Instant::now()));
                tracing::warn!(order_id = %order.order_id, attempt = attempts, %error, retry_in_ms = wait.as_millis() as u64, "cancel failed: retrying");
                tokio::time::sleep(wait).await;
            }
            Err(error) => {
                tracing::warn!(
                    order_id = %order.order_id,
                    attempts,
                    %error,
                    "cancel failed: the order is not confirmed closed (the next cycle, or the shutdown sweep, cancels it first)"
                );
                break;
            }
        }
    }
    if !needs_query {
        return;
    }
    let Some(id) = &order.client_order_id else {
        return;
    };
    for attempt in 1..=QUERY_ATTEMPTS {
        match ctx.private_exchange.query_order(&ctx.symbol, id).await {
            Ok(latest) => {
                outcome.update(latest.filled_quantity, latest.status);
                return;
            }
            Err(error) if worth_retrying(&error) && attempt < QUERY_ATTEMPTS => {
                tokio::time::sleep(CANCEL_FIRST_PAUSE).await;
            }
            Err(error) => {
                tracing::warn!(order_id = %order.order_id, %error, "final state unknown");
                return;
            }
        }
    }
}

/// Cancels an order by our id (by the venue's id if it has none).
async fn cancel_one(ctx: &MarketMakerContext, order: &Order) -> Result<Order, ExchangeError> {
    match &order.client_order_id {
        Some(id) => ctx.private_exchange.cancel_order(&ctx.symbol, id).await,
        None => {
            ctx.private_exchange
                .cancel_order_by_id(&ctx.symbol, &order.order_id)
                .await
        }
    }
}

/// Applies an order update to the outcome of the order it concerns, logging fills.
fn follow(
    ids: &[Option<ClientOrderId>; 2],
    outcomes: &mut [OrderOutcome; 2],
    update: &OrderUpdate,
) {
    let Some(index) = update
        .client_order_id
        .as_ref()
        .and_then(|id| ids.iter().position(|ours| ours.as_ref() == Some(id)))
    else {
        return;
    };
    let outcome = &mut outcomes[index];
    if update.filled_quantity > outcome.filled_quantity {
        tracing::info!(
            side = outcome.side,
            filled = %update.filled_quantity,
            of = %outcome.quantity,
            price = %update.average_price,
            "fill"
        );
    }
    outcome.update(update.filled_quantity, update.status);
}

#[cfg(test)]
mod tests {
    use exchange_composite::ExchangeError;
    use exchange_composite::rest::{RestError, VenueError};

    use rust_decimal::Decimal;

    use super::{CycleError, Quote, check_value};

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn venue_error(code: i64) -> VenueError {
        VenueError {
            status: 400,
            code,
            msg: "refused".to_owned(),
        }
    }

    #[test]
    fn a_quote_the_market_outran_is_a_passing_failure_and_bad_keys_are_not() {
        let crossed = CycleError::Exchange(ExchangeError::Rest(RestError::InvalidOrder(
            venue_error(30_002),
        )));
        assert!(crossed.is_passing());
        assert!(CycleError::NoTouch("HIFI/USDT".to_owned()).is_passing());
        let limited = CycleError::Exchange(ExchangeError::Rest(RestError::RateLimited {
            by: exchange_composite::rest::RateLimitSource::Venue,
            retry_after: None,
        }));
        assert!(limited.is_passing());
        let keys = CycleError::Exchange(ExchangeError::Rest(RestError::Authentication(
            venue_error(700_002),
        )));
        assert!(!keys.is_passing());
        assert!(!CycleError::Interrupted.is_passing());
    }

    /// A 503 on placing an order (its outcome unknown) or a missing book for a while passes:
    /// a long-running quoter rides it out instead of exiting.
    #[test]
    fn unknown_outcomes_and_missing_books_are_passing() {
        let unknown = CycleError::Exchange(ExchangeError::Rest(RestError::OutcomeUnknown {
            endpoint: exchange_composite::rest::Endpoint::NewOrder,
            cause: exchange_composite::rest::UnknownCause::ServerError {
                status: 503,
                body: String::new(),
            },
        }));
        assert!(unknown.is_passing());
        let no_book = CycleError::Exchange(ExchangeError::Timeout("a book ticker".to_owned()));
        assert!(no_book.is_passing());
        let halted = CycleError::Halted {
            unconfirmed: 1,
            waited_s: 60.0,
            detail: String::new(),
        };
        assert!(!halted.is_passing());
    }

    /// bid 7e28 / ask 7.9e28 made `(bid + ask) / 2` overflow ("Addition overflowed", exit
    /// 101): every step of the quote is checked.
    #[test]
    fn a_quote_that_does_not_fit_is_none_not_a_panic() {
        assert_eq!(
            Quote::around(
                dec("70000000000000000000000000000"),
                dec("79000000000000000000000000000"),
                5
            ),
            None
        );
        assert_eq!(Quote::around(Decimal::MIN, Decimal::MAX, 5), None);
        assert_eq!(
            Quote::around(dec("0.1"), dec("0.2"), 29),
            None,
            "not a precision"
        );
        let quote = Quote::around(dec("0.09990"), dec("0.10010"), 5).unwrap();
        assert_eq!(
            (quote.mid, quote.bid, quote.ask),
            (dec("0.1"), dec("0.09991"), dec("0.10009"))
        );
        // No room inside the spread: at the touch.
        let tight = Quote::around(dec("0.09999"), dec("0.10000"), 5).unwrap();
        assert_eq!((tight.bid, tight.ask), (dec("0.09999"), dec("0.10000")));
    }

    #[test]
    fn a_quote_worth_far_more_than_asked_is_refused() {
        assert!(check_value("buy", dec("21.01"), dec("0.09999"), dec("2.1")).is_ok());
        // One quantity step worth 10 USDT at this price: far above 2.1 asked.
        let error = check_value("buy", dec("0.01"), dec("1000"), dec("2.1")).unwrap_err();
        assert!(matches!(error, CycleError::OrderValue { .. }), "{error}");
        assert!(!error.is_passing());
        assert!(check_value("sell", Decimal::MAX, Decimal::MAX, dec("2.1")).is_err());
    }
}
