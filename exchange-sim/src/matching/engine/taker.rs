//! Matching a taker against the book, and reporting the book change.

use rust_decimal::{Decimal, RoundingStrategy};

use super::settlement::{Fill, push_order, release, settle};
use super::{Budget, Engine};
use crate::events::{BalanceChangeKind, BookTickerUpdate, DepthDiff, Event, PublicTrade};
use crate::matching::book::TopOfBook;
use crate::matching::order::{Order, OrderStatus, Side};

impl Engine {
    /// Match `taker` against the book. Returns whether a quote budget ran out (rather than
    /// the book).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn match_taker(
        &mut self,
        taker: &mut Order,
        budget: Budget,
        limit_price: Option<Decimal>,
        now: i64,
        out: &mut Vec<Event>,
        touched: &mut Vec<(Side, Decimal)>,
        trades: &mut Vec<PublicTrade>,
    ) -> bool {
        let Engine {
            markets,
            accounts,
            orders,
            fees,
            next_trade_id,
            by_account,
            ..
        } = self;
        let Some(market) = markets.get_mut(&taker.symbol) else {
            return false;
        };
        let spec = &market.spec;
        let maker_side = match taker.side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        };
        loop {
            let Some((price, level)) = market.book.best_opposite(taker.side) else {
                return false;
            };
            if let Some(limit) = limit_price {
                let acceptable = match taker.side {
                    Side::Buy => price <= limit,
                    Side::Sell => price >= limit,
                };
                if !acceptable {
                    return false;
                }
            }
            let Some(&maker_seq) = level.queue.front() else {
                return false;
            };
            let Some(maker) = orders.get_mut(&maker_seq) else {
                // Never expected; drop the dangling entry so the book stays usable.
                market
                    .book
                    .fill_front(maker_side, price, Decimal::ZERO, true);
                continue;
            };
            let maker_remaining = maker.remaining_qty();
            let take = match budget {
                Budget::Quantity => maker_remaining.min(taker.remaining_qty()),
                Budget::Quote(quote) => {
                    let affordable = ((quote - taker.cumulative_quote_qty) / price)
                        .round_dp_with_strategy(spec.base_precision, RoundingStrategy::ToZero);
                    maker_remaining.min(affordable)
                }
            };
            if take <= Decimal::ZERO {
                return matches!(budget, Budget::Quote(_));
            }
            let trade_id = *next_trade_id;
            *next_trade_id += 1;
            let (buy, sell) = match taker.side {
                Side::Buy => (&mut *taker, &mut *maker),
                Side::Sell => (&mut *maker, &mut *taker),
            };
            let fill = Fill {
                price,
                quantity: take,
                trade_id,
                buyer_is_maker: maker_side == Side::Buy,
                time: now,
            };
            settle(accounts, fees, spec, buy, sell, &fill, out);
            let maker_done = maker.remaining_qty().is_zero();
            if maker_done {
                maker.status = OrderStatus::Filled;
                let maker_asset = match maker_side {
                    Side::Buy => &spec.quote_asset,
                    Side::Sell => &spec.base_asset,
                };
                release(
                    accounts,
                    maker,
                    maker_asset,
                    BalanceChangeKind::EntrustUnfrozen,
                    now,
                    out,
                );
                let orders_of = by_account.entry(maker.account).or_default();
                orders_of.open.remove(&maker_seq);
                orders_of.closed.push_back(maker_seq);
            }
            push_order(out, maker, Some(take), true);
            push_order(out, taker, Some(take), false);
            market.book.fill_front(maker_side, price, take, maker_done);
            touched.push((maker_side, price));
            trades.push(PublicTrade {
                price,
                quantity: take,
                taker_is_buyer: taker.side == Side::Buy,
                trade_id,
                time: now,
            });
        }
    }

    pub(super) fn finish_book_change(
        &mut self,
        symbol: &str,
        top_before: TopOfBook,
        touched: &[(Side, Decimal)],
        now: i64,
        out: &mut Vec<Event>,
    ) {
        if touched.is_empty() {
            return;
        }
        let Some(market) = self.markets.get_mut(symbol) else {
            return;
        };
        let mut bids: Vec<(Decimal, Decimal)> = Vec::new();
        let mut asks: Vec<(Decimal, Decimal)> = Vec::new();
        for &(side, price) in touched {
            let list = match side {
                Side::Buy => &mut bids,
                Side::Sell => &mut asks,
            };
            if !list.iter().any(|(p, _)| *p == price) {
                list.push((price, market.book.level_total(side, price)));
            }
        }
        let from_version = market.version + 1;
        market.version += 1;
        out.push(Event::Depth(DepthDiff {
            symbol: symbol.to_owned(),
            from_version,
            to_version: market.version,
            bids,
            asks,
            time: now,
        }));
        let top_after = (market.book.best_bid(), market.book.best_ask());
        if top_after != top_before {
            out.push(Event::BookTicker(BookTickerUpdate {
                symbol: symbol.to_owned(),
                bid: top_after.0,
                ask: top_after.1,
                version: market.version,
                time: now,
            }));
        }
    }
}
