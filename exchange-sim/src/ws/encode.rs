//! Engine events -> `PushDataV3ApiWrapper` frames (encoded once, shared as `Bytes`).

use bytes::Bytes;
use mexc_proto::push_data_v3_api_wrapper::Body;
use mexc_proto::{
    PrivateAccountV3Api, PrivateDealsV3Api, PrivateOrdersV3Api, PublicAggreBookTickerV3Api,
    PublicAggreDealsV3Api, PublicAggreDealsV3ApiItem, PublicAggreDepthV3ApiItem,
    PublicAggreDepthsV3Api, PublicLimitDepthV3ApiItem, PublicLimitDepthsV3Api,
    PushDataV3ApiWrapper,
};
use prost::Message;
use rust_decimal::Decimal;

use crate::events::{
    BalanceChange, BookTickerUpdate, DepthDiff, OrderUpdate, PrivateDeal, PublicTrades,
};
use crate::format::dec;

fn frame(
    channel: &str,
    symbol: Option<&str>,
    create_time: i64,
    body: Body,
    send_time: i64,
) -> Bytes {
    Bytes::from(
        PushDataV3ApiWrapper {
            channel: channel.to_owned(),
            body: Some(body),
            symbol: symbol.map(str::to_owned),
            symbol_id: None,
            create_time: Some(create_time),
            send_time: Some(send_time),
        }
        .encode_to_vec(),
    )
}

/// The event type of a channel: its name without the trailing `@SYMBOL`.
fn event_type(channel: &str) -> String {
    channel
        .rsplit_once('@')
        .map(|(head, _)| head)
        .unwrap_or(channel)
        .to_owned()
}

fn levels(levels: &[(Decimal, Decimal)]) -> Vec<PublicAggreDepthV3ApiItem> {
    levels
        .iter()
        .map(|(p, q)| PublicAggreDepthV3ApiItem {
            price: dec(*p),
            quantity: dec(*q),
        })
        .collect()
}

/// An aggregated depth diff.
pub fn depth(channel: &str, diff: &DepthDiff, send_time: i64) -> Bytes {
    frame(
        channel,
        Some(&diff.symbol),
        diff.time,
        Body::PublicAggreDepths(PublicAggreDepthsV3Api {
            asks: levels(&diff.asks),
            bids: levels(&diff.bids),
            event_type: event_type(channel),
            from_version: diff.from_version.to_string(),
            to_version: diff.to_version.to_string(),
            last_order_create_time: diff.time,
        }),
        send_time,
    )
}

/// A partial depth snapshot.
pub fn limit_depth(
    channel: &str,
    symbol: &str,
    bids: &[(Decimal, Decimal)],
    asks: &[(Decimal, Decimal)],
    version: u64,
    time: i64,
    send_time: i64,
) -> Bytes {
    let items = |levels: &[(Decimal, Decimal)]| {
        levels
            .iter()
            .map(|(p, q)| PublicLimitDepthV3ApiItem {
                price: dec(*p),
                quantity: dec(*q),
            })
            .collect()
    };
    frame(
        channel,
        Some(symbol),
        time,
        Body::PublicLimitDepths(PublicLimitDepthsV3Api {
            asks: items(asks),
            bids: items(bids),
            event_type: event_type(channel),
            version: version.to_string(),
            last_order_create_time: time,
        }),
        send_time,
    )
}

/// A book ticker.
pub fn book_ticker(channel: &str, update: &BookTickerUpdate, send_time: i64) -> Bytes {
    let (bid_price, bid_quantity) = update.bid.unwrap_or_default();
    let (ask_price, ask_quantity) = update.ask.unwrap_or_default();
    frame(
        channel,
        Some(&update.symbol),
        update.time,
        Body::PublicAggreBookTicker(PublicAggreBookTickerV3Api {
            bid_price: dec(bid_price),
            bid_quantity: dec(bid_quantity),
            ask_price: dec(ask_price),
            ask_quantity: dec(ask_quantity),
            version: update.version.to_string(),
            last_order_create_time: update.time,
        }),
        send_time,
    )
}

/// Aggregated public trades.
pub fn deals(channel: &str, trades: &PublicTrades, send_time: i64) -> Bytes {
    let time = trades.trades.first().map(|t| t.time).unwrap_or_default();
    frame(
        channel,
        Some(&trades.symbol),
        time,
        Body::PublicAggreDeals(PublicAggreDealsV3Api {
            deals: trades
                .trades
                .iter()
                .map(|t| PublicAggreDealsV3ApiItem {
                    price: dec(t.price),
                    quantity: dec(t.quantity),
                    trade_type: if t.taker_is_buyer { 1 } else { 2 },
                    time: t.time,
                    trade_id: t.trade_id.to_string(),
                })
                .collect(),
            event_type: event_type(channel),
        }),
        send_time,
    )
}

/// A private order update.
pub fn order(channel: &str, update: &OrderUpdate, quote_asset: &str, send_time: i64) -> Bytes {
    let o = &update.order;
    let remain_quantity = o.remaining_qty();
    frame(
        channel,
        Some(&o.symbol),
        o.update_time,
        Body::PrivateOrders(PrivateOrdersV3Api {
            id: o.id(),
            client_id: o.client_order_id.clone().unwrap_or_default(),
            price: dec(o.price),
            quantity: dec(o.orig_qty),
            amount: dec(o.orig_quote_qty),
            avg_price: dec(o.avg_price().round_dp(12)),
            order_type: o.order_type.push_code(),
            trade_type: o.side.trade_type(),
            is_maker: update.is_maker,
            remain_amount: dec((o.orig_quote_qty - o.cumulative_quote_qty).max(Decimal::ZERO)),
            remain_quantity: dec(remain_quantity),
            last_deal_quantity: update.last_deal_quantity.map(dec),
            cumulative_quantity: dec(o.executed_qty),
            cumulative_amount: dec(o.cumulative_quote_qty),
            status: o.status.push_code(),
            create_time: o.time,
            market: Some(quote_asset.to_owned()),
        }),
        send_time,
    )
}

/// A private fill.
pub fn deal(channel: &str, deal: &PrivateDeal, send_time: i64) -> Bytes {
    frame(
        channel,
        Some(&deal.symbol),
        deal.time,
        Body::PrivateDeals(PrivateDealsV3Api {
            price: dec(deal.price),
            quantity: dec(deal.quantity),
            amount: dec(deal.amount),
            trade_type: if deal.is_buy { 1 } else { 2 },
            is_maker: deal.is_maker,
            is_self_trade: deal.is_self_trade,
            trade_id: deal.trade_id.to_string(),
            client_order_id: deal.client_order_id.clone(),
            order_id: deal.order_id.clone(),
            fee_amount: dec(deal.fee),
            fee_currency: deal.fee_asset.clone(),
            time: deal.time,
        }),
        send_time,
    )
}

/// A private balance change.
pub fn account(channel: &str, change: &BalanceChange, send_time: i64) -> Bytes {
    frame(
        channel,
        None,
        change.time,
        Body::PrivateAccount(PrivateAccountV3Api {
            vcoin_name: change.asset.clone(),
            coin_id: change.asset.clone(),
            balance_amount: dec(change.free),
            balance_amount_change: dec(change.free_change),
            frozen_amount: dec(change.locked),
            frozen_amount_change: dec(change.locked_change),
            r#type: change.kind.as_str().to_owned(),
            time: change.time,
        }),
        send_time,
    )
}
