//! Signed trading endpoints: orders, cancels, queries, account, coin config.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::Reply;
use super::json;
use super::request::{Endpoint, RawRequest};
use crate::app::App;
use crate::error::ApiError;
use crate::matching::{NewOrder, OrderRef, OrderType, Side};
use crate::params::Params;
use crate::rate_limit::ACCOUNT_ENDPOINT;

const NEW_ORDER: Endpoint = Endpoint::new("POST /api/v3/order", 1);
const TEST_ORDER: Endpoint = Endpoint::new("POST /api/v3/order/test", 1);
const CANCEL: Endpoint = Endpoint::new("DELETE /api/v3/order", 1);
const CANCEL_ALL: Endpoint = Endpoint::new("DELETE /api/v3/openOrders", 1);
const OPEN_ORDERS: Endpoint = Endpoint::new("GET /api/v3/openOrders", 3);
const QUERY: Endpoint = Endpoint::new("GET /api/v3/order", 2);
const ALL_ORDERS: Endpoint = Endpoint::new("GET /api/v3/allOrders", 10);
const ACCOUNT: Endpoint = Endpoint::new(ACCOUNT_ENDPOINT, 10);
const UID: Endpoint = Endpoint::new("GET /api/v3/uid", 1);
const COIN_CONFIG: Endpoint = Endpoint::new("GET /api/v3/capital/config/getall", 10);

/// Read a new-order request from parameters.
pub(crate) fn parse_new_order(params: &Params) -> Result<NewOrder, ApiError> {
    let symbol = params.symbol()?;
    let side =
        Side::parse(params.required("side")?).ok_or_else(|| ApiError::illegal_param("side"))?;
    let order_type = OrderType::parse(params.required("type")?)
        .ok_or_else(|| ApiError::illegal_param("type"))?;
    Ok(NewOrder {
        symbol,
        side,
        order_type,
        quantity: params.decimal("quantity")?,
        quote_order_qty: params.decimal("quoteOrderQty")?,
        price: params.decimal("price")?,
        client_order_id: params.get("newClientOrderId").map(str::to_owned),
    })
}

fn order_ref(params: &Params) -> Result<OrderRef, ApiError> {
    match (params.get("orderId"), params.get("origClientOrderId")) {
        (Some(id), _) => Ok(OrderRef::Id(id.to_owned())),
        (None, Some(client)) => Ok(OrderRef::ClientId(client.to_owned())),
        (None, None) => Err(ApiError::missing_order_ref()),
    }
}

pub(crate) async fn new_order(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, NEW_ORDER)?;
    signed.require_trading()?;
    let request = parse_new_order(&signed.params)?;
    let order = app.execute(|engine, now, out| engine.place(signed.account, &request, now, out))?;
    Ok(Json(json::new_order(&order)))
}

pub(crate) async fn test_order(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, TEST_ORDER)?;
    signed.require_trading()?;
    let request = parse_new_order(&signed.params)?;
    app.engine().test_order(signed.account, &request)?;
    Ok(Json(json!({})))
}

pub(crate) async fn cancel_order(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, CANCEL)?;
    signed.require_trading()?;
    let symbol = signed.params.symbol()?;
    let target = order_ref(&signed.params)?;
    let order =
        app.execute(|engine, now, out| engine.cancel(signed.account, &symbol, &target, now, out))?;
    Ok(Json(json::cancelled_order(&order)))
}

pub(crate) async fn cancel_all(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, CANCEL_ALL)?;
    signed.require_trading()?;
    let symbols: Vec<String> = signed
        .params
        .required("symbol")?
        .split(',')
        .map(str::to_ascii_uppercase)
        .collect();
    if symbols.len() > 5 {
        return Err(ApiError::bad_request(
            -1128,
            "At most 5 symbols may be sent",
        ));
    }
    let cancelled =
        app.execute(|engine, now, out| engine.cancel_all(signed.account, &symbols, now, out))?;
    Ok(Json(Value::Array(
        cancelled.iter().map(json::cancelled_order).collect(),
    )))
}

pub(crate) async fn open_orders(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, OPEN_ORDERS)?;
    let engine = app.engine();
    let symbol = match signed.params.get("symbol") {
        Some(_) => {
            let symbol = signed.params.symbol()?;
            engine.market(&symbol)?;
            Some(symbol)
        }
        None => None,
    };
    let orders = engine.open_orders(signed.account, symbol.as_deref());
    Ok(Json(Value::Array(
        orders.iter().map(json::listed_order).collect(),
    )))
}

pub(crate) async fn query_order(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, QUERY)?;
    let symbol = signed.params.symbol()?;
    let target = order_ref(&signed.params)?;
    let order = app.engine().query(signed.account, &symbol, &target)?;
    Ok(Json(json::order(&order)))
}

pub(crate) async fn all_orders(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, ALL_ORDERS)?;
    let symbol = signed.params.symbol()?;
    let limit = super::trades::limit(&signed.params, 500, 1000)?;
    let engine = app.engine();
    engine.market(&symbol)?;
    let orders = engine.all_orders(signed.account, &symbol, limit);
    Ok(Json(Value::Array(orders.iter().map(json::order).collect())))
}

pub(crate) async fn account(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, ACCOUNT)?;
    let balances: Vec<Value> = app
        .engine()
        .balances(signed.account)
        .iter()
        .filter(|(_, b)| !(b.free.is_zero() && b.locked.is_zero()))
        .map(|(asset, b)| json::balance(asset, b))
        .collect();
    Ok(Json(json!({
        "makerCommission": null,
        "takerCommission": null,
        "buyerCommission": null,
        "sellerCommission": null,
        "canTrade": signed.can_trade,
        "canWithdraw": false,
        "canDeposit": false,
        "updateTime": null,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
    })))
}

/// The numeric user id of an account, as a string (`{"uid":"..."}`).
pub(crate) async fn uid(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, UID)?;
    Ok(Json(
        json!({ "uid": (10_000_000 + signed.account.0).to_string() }),
    ))
}

pub(crate) async fn coin_config(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    app.signed_request(&req, COIN_CONFIG)?;
    Ok(Json(json!([])))
}
