//! Middleware applying injected REST faults (stall, delay, failures) to MEXC paths.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::error::ApiError;

/// Paths that faults never touch.
fn is_exempt(path: &str) -> bool {
    path.starts_with("/_sim") || path == "/ws"
}

pub(crate) async fn apply_faults(
    State(app): State<Arc<App>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if is_exempt(&path) {
        return next.run(req).await;
    }
    let mut shutdown = app.tasks.signal();
    let unavailable = || {
        ApiError::with_status(StatusCode::SERVICE_UNAVAILABLE, 503, "Service Unavailable")
            .into_response()
    };
    let is_cancel = req.method() == axum::http::Method::DELETE
        && (path == "/api/v3/order" || path == "/api/v3/openOrders");
    if is_cancel {
        let mut held = app.faults.cancel_arrived();
        if *held.borrow() {
            tokio::select! {
                biased;
                () = crate::shutdown::wait_until(&mut held, false) => {}
                () = crate::shutdown::wait_until(&mut shutdown, true) => return unavailable(),
            }
        }
    }
    let mut stall = app.faults.watch_stall();
    if *stall.borrow() {
        tokio::select! {
            biased;
            () = crate::shutdown::wait_until(&mut stall, false) => {}
            () = crate::shutdown::wait_until(&mut shutdown, true) => return unavailable(),
        }
    }
    let delay = app.faults.rest_delay();
    if !delay.is_zero() {
        tokio::select! {
            biased;
            () = tokio::time::sleep(delay) => {}
            () = crate::shutdown::wait_until(&mut shutdown, true) => return unavailable(),
        }
    }
    if let Some(status) = app.faults.take_failure(&path) {
        let error = if status == 429 {
            ApiError::too_many_requests(1)
        } else {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            ApiError::with_status(
                status,
                i64::from(status.as_u16()),
                "Internal error (injected fault)",
            )
        };
        return error.into_response();
    }
    next.run(req).await
}
