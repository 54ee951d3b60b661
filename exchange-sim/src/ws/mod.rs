//! The websocket endpoint `/ws` (public) and `/ws?listenKey=...` (public + private).

pub mod channel;
mod connection;
pub mod encode;
pub mod hub;

use std::sync::Arc;

use axum::extract::{State, WebSocketUpgrade};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::error::ApiError;
use crate::params::Params;

/// Upgrade to a websocket; a `listenKey` must be live.
pub(crate) async fn upgrade(
    State(app): State<Arc<App>>,
    uri: Uri,
    upgrade: WebSocketUpgrade,
) -> Response {
    if app.faults.is_refusing_websockets() {
        return ApiError::with_status(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            503,
            "Service Unavailable (websockets refused)",
        )
        .into_response();
    }
    let params = match Params::parse(uri.query().unwrap_or_default(), b"") {
        Ok(params) => params,
        Err(e) => return e.into_response(),
    };
    let private = match params.get("listenKey") {
        Some(key) => match app.listen_keys.lookup(key) {
            Some(account) => Some((account, key.to_owned())),
            None => return ApiError::invalid_listen_key().into_response(),
        },
        None => None,
    };
    upgrade.on_upgrade(move |socket| async move {
        let tracked = app.clone();
        let connection = connection::run(app, socket, private);
        if !tracked.lifecycle.spawn(connection) {
            tracing::debug!("websocket refused: venue is shutting down");
        }
    })
}
