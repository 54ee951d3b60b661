//! Trade lists: public `trades` and the account's `myTrades`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::Reply;
use super::request::{Endpoint, RawRequest};
use crate::app::App;
use crate::error::ApiError;
use crate::format::dec;
use crate::params::Params;

const TRADES: Endpoint = Endpoint::new("GET /api/v3/trades", 5);
const MY_TRADES: Endpoint = Endpoint::new("GET /api/v3/myTrades", 10);

/// `limit` clamped to `1..=max`, `default` when absent.
pub(crate) fn limit(params: &Params, default: i64, max: i64) -> Result<usize, ApiError> {
    let limit = params.int("limit")?.unwrap_or(default).clamp(1, max);
    Ok(usize::try_from(limit).unwrap_or(1))
}

pub(crate) async fn trades(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let params = app.public_request(&req, TRADES)?;
    let symbol = params.symbol()?;
    app.engine().market(&symbol)?;
    let limit = limit(&params, 500, 1000)?;
    let trades: Vec<Value> = app
        .history()
        .recent_trades(&symbol, limit)
        .iter()
        .map(|t| {
            json!({
                "id": null,
                "price": dec(t.price),
                "qty": dec(t.quantity),
                "quoteQty": dec(t.price * t.quantity),
                "time": t.time,
                "isBuyerMaker": !t.taker_is_buyer,
                "isBestMatch": true,
            })
        })
        .collect();
    Ok(Json(Value::Array(trades)))
}

pub(crate) async fn my_trades(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, MY_TRADES)?;
    let params = &signed.params;
    let symbol = params.symbol()?;
    app.engine().market(&symbol)?;
    let limit = limit(params, 100, 100)?;
    let range = (params.int("startTime")?, params.int("endTime")?);
    let order_id = params.get("orderId");
    let mut fills = app
        .history()
        .fills(signed.account, &symbol, range, usize::MAX);
    fills.retain(|f| order_id.is_none_or(|id| f.order_id == id));
    let newest = fills.split_off(fills.len().saturating_sub(limit));
    let fills: Vec<Value> = newest
        .into_iter()
        .map(|f| {
            json!({
                "symbol": f.symbol,
                "id": f.trade_id.to_string(),
                "orderId": f.order_id,
                "orderListId": -1,
                "price": dec(f.price),
                "qty": dec(f.quantity),
                "quoteQty": dec(f.amount),
                "commission": dec(f.fee),
                "commissionAsset": f.fee_asset,
                "time": f.time,
                "isBuyer": f.is_buy,
                "isMaker": f.is_maker,
                "isBestMatch": true,
                "isSelfTrade": f.is_self_trade,
                "clientOrderId": (!f.client_order_id.is_empty()).then_some(&f.client_order_id),
            })
        })
        .collect();
    Ok(Json(Value::Array(fills)))
}
