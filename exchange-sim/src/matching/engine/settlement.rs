//! Settlement of fills: moving assets between accounts, fees, releasing locks.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use super::Budget;
use crate::accounts::Accounts;
use crate::config::SymbolConfig;
use crate::events::{BalanceChangeKind, Event, OrderUpdate, PrivateDeal};
use crate::matching::book::Book;
use crate::matching::order::{Order, OrderStatus, Side};

/// Decimals kept in fees.
const FEE_DECIMALS: u32 = 8;

/// One execution between a buy and a sell order.
#[derive(Debug)]
pub(super) struct Fill {
    pub(super) price: Decimal,
    pub(super) quantity: Decimal,
    pub(super) trade_id: u64,
    pub(super) buyer_is_maker: bool,
    pub(super) time: i64,
}

/// Move the assets of one fill between the two accounts, charge fees in the received asset.
pub(super) fn settle(
    accounts: &mut Accounts,
    fees: &mut BTreeMap<String, Decimal>,
    spec: &SymbolConfig,
    buy: &mut Order,
    sell: &mut Order,
    fill: &Fill,
    out: &mut Vec<Event>,
) {
    let quote_amount = fill.quantity * fill.price;
    let (buy_rate, sell_rate) = if fill.buyer_is_maker {
        (spec.maker_fee, spec.taker_fee)
    } else {
        (spec.taker_fee, spec.maker_fee)
    };
    let buy_fee =
        (fill.quantity * buy_rate).round_dp_with_strategy(FEE_DECIMALS, RoundingStrategy::ToZero);
    let sell_fee =
        (quote_amount * sell_rate).round_dp_with_strategy(FEE_DECIMALS, RoundingStrategy::ToZero);
    let kind = BalanceChangeKind::Entrust;
    let t = fill.time;
    buy.locked -= quote_amount;
    accounts.adjust(
        buy.account,
        &spec.quote_asset,
        Decimal::ZERO,
        -quote_amount,
        kind,
        t,
        out,
    );
    accounts.adjust(
        buy.account,
        &spec.base_asset,
        fill.quantity - buy_fee,
        Decimal::ZERO,
        kind,
        t,
        out,
    );
    sell.locked -= fill.quantity;
    accounts.adjust(
        sell.account,
        &spec.base_asset,
        Decimal::ZERO,
        -fill.quantity,
        kind,
        t,
        out,
    );
    accounts.adjust(
        sell.account,
        &spec.quote_asset,
        quote_amount - sell_fee,
        Decimal::ZERO,
        kind,
        t,
        out,
    );
    *fees.entry(spec.base_asset.clone()).or_default() += buy_fee;
    *fees.entry(spec.quote_asset.clone()).or_default() += sell_fee;
    let is_self_trade = buy.account == sell.account;
    for (order, fee, fee_asset, is_maker) in [
        (&mut *buy, buy_fee, &spec.base_asset, fill.buyer_is_maker),
        (
            &mut *sell,
            sell_fee,
            &spec.quote_asset,
            !fill.buyer_is_maker,
        ),
    ] {
        order.executed_qty += fill.quantity;
        order.cumulative_quote_qty += quote_amount;
        order.update_time = t;
        order.status = if order.orig_qty > Decimal::ZERO && order.remaining_qty().is_zero() {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        out.push(Event::Deal(Box::new(PrivateDeal {
            account: order.account,
            symbol: spec.symbol.clone(),
            price: fill.price,
            quantity: fill.quantity,
            amount: quote_amount,
            is_buy: order.side == Side::Buy,
            is_maker,
            is_self_trade,
            trade_id: fill.trade_id,
            order_id: order.id(),
            client_order_id: order.client_order_id.clone().unwrap_or_default(),
            fee,
            fee_asset: fee_asset.clone(),
            time: t,
        })));
    }
}

/// Release what a finished order still reserves.
pub(super) fn release(
    accounts: &mut Accounts,
    order: &mut Order,
    asset: &str,
    kind: BalanceChangeKind,
    now: i64,
    out: &mut Vec<Event>,
) {
    let amount = order.locked;
    if amount.is_zero() {
        return;
    }
    order.locked = Decimal::ZERO;
    accounts.adjust(order.account, asset, amount, -amount, kind, now, out);
}

pub(super) fn push_order(
    out: &mut Vec<Event>,
    order: &Order,
    last_deal_quantity: Option<Decimal>,
    is_maker: bool,
) {
    out.push(Event::Order(Box::new(OrderUpdate {
        order: order.clone(),
        last_deal_quantity,
        is_maker,
    })));
}

/// Walk the book as a MARKET taker would: `(base quantity, quote amount)` it would trade.
pub(super) fn simulate(
    book: &Book,
    side: Side,
    budget: Budget,
    quantity: Decimal,
    base_precision: u32,
) -> (Decimal, Decimal) {
    let mut base = Decimal::ZERO;
    let mut quote = Decimal::ZERO;
    for (price, level) in book.opposite_levels(side) {
        let take = match budget {
            Budget::Quantity => level.total.min(quantity - base),
            Budget::Quote(limit) => level.total.min(
                ((limit - quote) / *price)
                    .round_dp_with_strategy(base_precision, RoundingStrategy::ToZero),
            ),
        };
        if take <= Decimal::ZERO {
            break;
        }
        base += take;
        quote += take * *price;
    }
    (base, quote)
}
