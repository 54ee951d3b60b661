//! MEXC's JSON shapes for orders, balances and markets.

use serde_json::{Value, json};

use crate::accounts::Balance;
use crate::config::SymbolConfig;
use crate::format::dec;
use crate::matching::{Order, OrderStatus, OrderType};

/// The full order object (query, open orders, all orders, cancel).
pub(crate) fn order(o: &Order) -> Value {
    json!({
        "symbol": o.symbol,
        "orderId": o.id(),
        "orderListId": -1,
        "clientOrderId": o.client_order_id,
        "price": dec(o.price),
        "origQty": dec(o.orig_qty),
        "executedQty": dec(o.executed_qty),
        "cummulativeQuoteQty": dec(o.cumulative_quote_qty),
        "status": o.status.as_str(),
        // MEXC sends null for these three on spot orders (captures in
        // exchange-rest/tests/fixtures/mexc_answers.json).
        "timeInForce": null,
        "type": o.order_type.as_str(),
        "side": o.side.as_str(),
        "stopPrice": null,
        "icebergQty": null,
        "time": o.time,
        "updateTime": o.update_time,
        "isWorking": o.status.is_open(),
        "origQuoteOrderQty": dec(o.orig_quote_qty),
    })
}

/// An order as `openOrders` lists it. MEXC's live answers there (captures in c9s/bbgo and
/// elertan/mexc-rs) send `clientOrderId` `""` when the order has none and `updateTime` `null`
/// for an order never updated, where a query of the same order sends `null` and a number.
pub(crate) fn listed_order(o: &Order) -> Value {
    let mut value = order(o);
    if let Value::Object(map) = &mut value {
        if o.client_order_id.is_none() {
            map.insert("clientOrderId".into(), json!(""));
        }
        if o.status == OrderStatus::New {
            map.insert("updateTime".into(), Value::Null);
        }
    }
    value
}

/// The cancel answer: the order object plus `origClientOrderId`.
pub(crate) fn cancelled_order(o: &Order) -> Value {
    let mut value = order(o);
    if let Value::Object(map) = &mut value {
        map.insert("origClientOrderId".into(), json!(o.client_order_id));
    }
    value
}

/// The new-order answer (no status, as MEXC).
pub(crate) fn new_order(o: &Order) -> Value {
    json!({
        "symbol": o.symbol,
        "orderId": o.id(),
        "orderListId": -1,
        "price": dec(o.price),
        "origQty": dec(o.orig_qty),
        "type": o.order_type.as_str(),
        "side": o.side.as_str(),
        "transactTime": o.time,
    })
}

/// One balance entry.
pub(crate) fn balance(asset: &str, b: &Balance) -> Value {
    json!({ "asset": asset, "free": dec(b.free), "locked": dec(b.locked) })
}

/// One symbol of exchangeInfo.
pub(crate) fn symbol(s: &SymbolConfig) -> Value {
    json!({
        "symbol": s.symbol,
        "status": "1",
        "baseAsset": s.base_asset,
        "baseAssetPrecision": s.base_precision,
        "quoteAsset": s.quote_asset,
        "quotePrecision": s.quote_precision,
        "quoteAssetPrecision": s.quote_precision,
        "baseCommissionPrecision": s.base_precision,
        "quoteCommissionPrecision": s.quote_precision,
        "orderTypes": OrderType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "isSpotTradingAllowed": true,
        "isMarginTradingAllowed": false,
        "quoteAmountPrecision": dec(s.min_notional),
        "baseSizePrecision": dec(s.min_quantity),
        "permissions": ["SPOT"],
        "filters": [],
        "maxQuoteAmount": dec(s.max_notional),
        "makerCommission": dec(s.maker_fee),
        "takerCommission": dec(s.taker_fee),
        "quoteAmountPrecisionMarket": dec(s.min_notional),
        "maxQuoteAmountMarket": dec(s.max_notional),
        "fullName": s.base_asset,
        "tradeSideType": 1,
    })
}
