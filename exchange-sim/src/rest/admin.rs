//! Operator endpoints under `/_sim/` (not MEXC): fault injection, market control, inspection.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Reply;
use super::json;
use crate::app::App;
use crate::error::ApiError;

/// Body of `POST /_sim/stall`.
#[derive(Debug, Deserialize)]
pub(crate) struct StallBody {
    stalled: bool,
}

/// Body of `POST /_sim/rest/delay`.
#[derive(Debug, Deserialize)]
pub(crate) struct DelayBody {
    millis: u64,
}

/// Body of `POST /_sim/rest/fail`.
#[derive(Debug, Deserialize)]
pub(crate) struct FailBody {
    count: u32,
    status: u16,
    path: Option<String>,
}

/// Body of `POST /_sim/listenKey/expire`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExpireBody {
    listen_key: String,
}

pub(crate) async fn drop_websockets(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({ "connections": app.faults.drop_websockets() }))
}

/// Body of `POST /_sim/ws/refuse`.
#[derive(Debug, Deserialize)]
pub(crate) struct RefuseBody {
    refuse: bool,
}

pub(crate) async fn close_websockets(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({ "connections": app.faults.close_websockets() }))
}

pub(crate) async fn refuse_websockets(
    State(app): State<Arc<App>>,
    Json(body): Json<RefuseBody>,
) -> Json<Value> {
    app.faults.refuse_websockets(body.refuse);
    Json(json!({ "refuse": body.refuse }))
}

pub(crate) async fn websocket_connections(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({ "connections": app.faults.websocket_connections() }))
}

pub(crate) async fn stall(State(app): State<Arc<App>>, Json(body): Json<StallBody>) -> Json<Value> {
    app.faults.stall_connections(body.stalled);
    Json(json!({ "stalled": body.stalled }))
}

pub(crate) async fn delay_rest(
    State(app): State<Arc<App>>,
    Json(body): Json<DelayBody>,
) -> Json<Value> {
    app.faults.delay_rest(Duration::from_millis(body.millis));
    Json(json!({ "millis": body.millis }))
}

pub(crate) async fn fail_rest(State(app): State<Arc<App>>, Json(body): Json<FailBody>) -> Reply {
    if !(body.status == 429 || (500..=599).contains(&body.status)) {
        return Err(ApiError::bad_request(400, "status must be 429 or 5xx"));
    }
    app.faults
        .fail_next_rest(body.count, body.status, body.path.as_deref());
    Ok(Json(
        json!({ "count": body.count, "status": body.status, "path": body.path }),
    ))
}

pub(crate) async fn push_malformed(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({ "connections": app.faults.push_malformed_frame() }))
}

pub(crate) async fn expire_listen_key(
    State(app): State<Arc<App>>,
    Json(body): Json<ExpireBody>,
) -> Json<Value> {
    Json(json!({ "expired": app.faults.expire_listen_key(&body.listen_key) }))
}

pub(crate) async fn clear_faults(State(app): State<Arc<App>>) -> Json<Value> {
    app.faults.clear();
    Json(json!({ "cleared": true }))
}

pub(crate) async fn pause_market(State(app): State<Arc<App>>) -> Json<Value> {
    app.set_market_paused(true);
    Json(json!({ "paused": true }))
}

pub(crate) async fn resume_market(State(app): State<Arc<App>>) -> Json<Value> {
    app.set_market_paused(false);
    Json(json!({ "paused": false }))
}

fn account_of(app: &App, api_key: &str) -> Result<crate::accounts::AccountId, ApiError> {
    app.accounts_by_key.get(api_key).copied().ok_or_else(|| {
        ApiError::with_status(axum::http::StatusCode::NOT_FOUND, 404, "unknown api key")
    })
}

pub(crate) async fn balances(State(app): State<Arc<App>>, Path(api_key): Path<String>) -> Reply {
    let account = account_of(&app, &api_key)?;
    let balances = app.engine().balances(account);
    Ok(Json(Value::Array(
        balances
            .iter()
            .map(|(asset, b)| json::balance(asset, b))
            .collect(),
    )))
}

pub(crate) async fn open_orders(State(app): State<Arc<App>>, Path(api_key): Path<String>) -> Reply {
    let account = account_of(&app, &api_key)?;
    let orders = app.engine().open_orders(account, None);
    Ok(Json(Value::Array(orders.iter().map(json::order).collect())))
}
