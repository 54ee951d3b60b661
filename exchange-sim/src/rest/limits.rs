//! What one request may carry, checked before any route and answered in MEXC's JSON shape:
//! URI length, header count and size, and the whole body within a deadline. hyper's own
//! limits (`crate::server`) sit above these and answer with an empty body.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::error::ApiError;

/// Longest request target (path and query) answered normally.
pub(crate) const MAX_URI_BYTES: usize = 8 * 1024;
/// Most headers per request.
pub(crate) const MAX_HEADERS: usize = 100;
/// Largest total of header names and values.
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Largest request body.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Refuse oversized requests and read the whole body within the configured deadline, then
/// hand the request on with its body in memory.
pub(crate) async fn enforce(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if let Err(error) = check_head(&req) {
        return error.into_response();
    }
    let (parts, body) = req.into_parts();
    let deadline = app.config.http.body_read_timeout;
    let bytes =
        match tokio::time::timeout(deadline, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(_)) => {
                return ApiError::bad_request(700008, "Illegal request body").into_response();
            }
            Err(_) => {
                return ApiError::with_status(StatusCode::REQUEST_TIMEOUT, 408, "Request Timeout")
                    .into_response();
            }
        };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn check_head(req: &Request) -> Result<(), ApiError> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return Err(ApiError::with_status(
            StatusCode::URI_TOO_LONG,
            414,
            "URI Too Long",
        ));
    }
    let headers = req.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        return Err(ApiError::with_status(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            431,
            "Request Header Fields Too Large",
        ));
    }
    Ok(())
}
