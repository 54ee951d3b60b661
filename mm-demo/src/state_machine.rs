//! [`MarketMakerStateMachine`]: one quoting cycle with explicit, logged states.

use std::fmt;
use std::time::Duration;

use exchange_composite::{ClientOrderId, ExchangeError, Order, OrderRequest, OrderUpdate, Side};
use futures::StreamExt;
use lifecycle_core::ShutdownSignal;
use rust_decimal::Decimal;
use serde::Serialize;
use tokio::time::Instant;
use tracing::Instrument;

use crate::cycle_outcome::{CycleOutcome, OrderOutcome};
use crate::market_maker_context::MarketMakerContext;

/// How long a cycle waits for the first book ticker.
const BOOK_TIMEOUT: Duration = Duration::from_secs(15);

/// Where a cycle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum MarketMakerState {
    /// Between cycles.
    Idle,
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
            Self::ReadingBook => "reading book",
            Self::Quoting => "quoting",
            Self::AwaitingFills => "awaiting fills",
            Self::Cancelling => "cancelling",
            Self::Done => "done",
        })
    }
}

/// Why a cycle failed. Orders it placed are left to the exchange's shutdown, which cancels
/// and confirms every order of ours.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CycleError {
    /// An exchange call failed.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// The book had no usable touch.
    #[error("the book of {0} has no usable touch (bid below ask)")]
    NoTouch(String),
    /// A shutdown was requested before anything was placed.
    #[error("interrupted before quoting")]
    Interrupted,
}

/// The plan's `MarketMakerStateMachine`.
#[derive(Debug)]
pub(crate) struct MarketMakerStateMachine {
    context: MarketMakerContext,
    state: MarketMakerState,
}

impl CycleError {
    /// A failure the next attempt may not meet: the market moved between reading the book and
    /// quoting (a post-only order that would have crossed is refused), or the book had no
    /// usable touch for a moment.
    pub(crate) fn is_passing(&self) -> bool {
        match self {
            Self::Exchange(error) => error.is_order_rejected() || error.is_transient(),
            Self::NoTouch(_) => true,
            Self::Interrupted => false,
        }
    }
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

    /// Runs one cycle: reads the book, places a LIMIT_MAKER buy and sell of about
    /// `quantity_usdt` around the mid, follows their updates until both close, the fill
    /// timeout passes, or `stop` is triggered, cancels what remains, and returns both orders'
    /// final outcomes.
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

    async fn cycle(
        &mut self,
        cycle: u64,
        stop: &ShutdownSignal,
    ) -> Result<CycleOutcome, CycleError> {
        let begun = Instant::now();
        let ctx = self.context.clone();
        let symbol = &ctx.symbol;

        self.enter(MarketMakerState::ReadingBook);
        let ticker = tokio::select! {
            biased;
            () = stop.triggered() => return Err(CycleError::Interrupted),
            ticker = ctx.public_exchange.wait_for_book_ticker(symbol, BOOK_TIMEOUT) => ticker?,
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
        let mid = (best_bid + best_ask) / Decimal::TWO;
        // One tick inside the spread when there is room, else at the touch: both stay makers.
        let tick = Decimal::new(1, rules.price_precision);
        let (bid, ask) = if best_ask - best_bid > tick * Decimal::TWO {
            (best_bid + tick, best_ask - tick)
        } else {
            (best_bid, best_ask)
        };
        let bid_quantity = rules
            .quantity_for_notional(ctx.quantity_usdt, bid)
            .map_err(ExchangeError::from)?;
        let ask_quantity = rules
            .quantity_for_notional(ctx.quantity_usdt, ask)
            .map_err(ExchangeError::from)?;
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
                tracing::warn!(%error, "one side failed: cancelling the other");
                self.cancel_all(&[&placed]).await;
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
        let deadline = Instant::now() + ctx.fill_timeout;
        let mut interrupted = false;
        while outcomes.iter().any(|o| !o.closed) {
            tokio::select! {
                biased;
                () = stop.triggered() => {
                    interrupted = true;
                    break;
                }
                () = tokio::time::sleep_until(deadline) => break,
                update = updates.next() => match update {
                    Some(Ok(update)) => follow(&ids, &mut outcomes, &update),
                    Some(Err(lagged)) => tracing::warn!(%lagged, "order updates lagged: the final query corrects the outcome"),
                    None => break, // the stream ended: the exchange is stopping
                },
            }
        }

        self.enter(MarketMakerState::Cancelling);
        for (outcome, order) in outcomes.iter_mut().zip([&buy, &sell]) {
            if outcome.closed {
                continue;
            }
            match cancel_one(&ctx, order).await {
                Ok(cancelled) => outcome.update(cancelled.filled_quantity, cancelled.status),
                Err(error) if error.is_unknown_order() => {
                    // Closed meanwhile (filled): the query below tells how.
                }
                Err(error) => {
                    tracing::warn!(order_id = %order.order_id, %error, "cancel failed: the shutdown sweep will retry")
                }
            }
        }
        for (outcome, order) in outcomes.iter_mut().zip([&buy, &sell]) {
            let Some(id) = &order.client_order_id else {
                continue;
            };
            match ctx.private_exchange.query_order(symbol, id).await {
                Ok(latest) => outcome.update(latest.filled_quantity, latest.status),
                Err(error) => {
                    tracing::warn!(order_id = %order.order_id, %error, "final state unknown")
                }
            }
        }
        self.enter(MarketMakerState::Done);
        let [buy, sell] = outcomes;
        Ok(CycleOutcome {
            cycle,
            mid,
            buy,
            sell,
            interrupted,
            duration_ms: begun.elapsed().as_secs_f64() * 1e3,
        })
    }

    async fn cancel_all(&mut self, orders: &[&Order]) {
        self.enter(MarketMakerState::Cancelling);
        for order in orders {
            if let Err(error) = cancel_one(&self.context, order).await {
                tracing::warn!(order_id = %order.order_id, %error, "cancel failed: the shutdown sweep will retry");
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
    use exchange_rest::{RestError, VenueError};

    use super::CycleError;

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
            by: exchange_rest::RateLimitSource::Venue,
            retry_after: None,
        }));
        assert!(limited.is_passing());
        let keys = CycleError::Exchange(ExchangeError::Rest(RestError::Authentication(
            venue_error(700_002),
        )));
        assert!(!keys.is_passing());
        assert!(!CycleError::Interrupted.is_passing());
    }
}
