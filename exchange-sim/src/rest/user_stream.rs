//! Listen keys: `POST/GET/PUT/DELETE /api/v3/userDataStream`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::json;

use super::Reply;
use super::request::{Endpoint, RawRequest};
use crate::app::App;

const CREATE: Endpoint = Endpoint::new("POST /api/v3/userDataStream", 1);
const LIST: Endpoint = Endpoint::new("GET /api/v3/userDataStream", 1);
const KEEP_ALIVE: Endpoint = Endpoint::new("PUT /api/v3/userDataStream", 1);
const DELETE: Endpoint = Endpoint::new("DELETE /api/v3/userDataStream", 1);

pub(crate) async fn create(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, CREATE)?;
    let key = app.listen_keys.create(signed.account)?;
    Ok(Json(json!({ "listenKey": key })))
}

pub(crate) async fn list(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, LIST)?;
    Ok(Json(
        json!({ "listenKey": app.listen_keys.list(signed.account) }),
    ))
}

pub(crate) async fn keep_alive(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, KEEP_ALIVE)?;
    let key = signed.params.required("listenKey")?;
    app.listen_keys.keep_alive(signed.account, key)?;
    Ok(Json(json!({ "listenKey": key })))
}

pub(crate) async fn delete(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, DELETE)?;
    let key = signed.params.required("listenKey")?;
    app.listen_keys.delete(signed.account, key)?;
    app.faults.notify_listen_key_expired(key);
    Ok(Json(json!({ "listenKey": key })))
}
