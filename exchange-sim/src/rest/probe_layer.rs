//! The outermost middleware: notes when a new-order request arrives, for the latency
//! [`Probe`](crate::probe::Probe) (only while it records).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use tokio::time::Instant;

use crate::app::App;

pub(crate) async fn note_order_arrival(
    State(app): State<Arc<App>>,
    req: Request,
    next: Next,
) -> Response {
    if app.probe.is_recording_orders()
        && req.method() == Method::POST
        && req.uri().path() == "/api/v3/order"
    {
        app.probe.order_arrived(Instant::now());
    }
    next.run(req).await
}
