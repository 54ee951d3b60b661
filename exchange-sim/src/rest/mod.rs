//! The REST API (MEXC spot v3 paths) and the operator endpoints under `/_sim/`.

mod admin;
mod batch;
mod fault_layer;
mod json;
pub(crate) mod limits;
mod probe_layer;
mod public;
mod request;
mod tickers;
mod trades;
mod trading;
mod user_stream;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::app::App;
use crate::error::ApiError;

/// What a JSON endpoint answers: its body, or an error in MEXC's shape.
type Reply = Result<axum::Json<serde_json::Value>, ApiError>;

/// Every route of the venue, websocket included.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api/v3/ping", get(public::ping))
        .route("/api/v3/time", get(public::time))
        .route("/api/v3/exchangeInfo", get(public::exchange_info))
        .route("/api/v3/depth", get(public::depth))
        .route("/api/v3/ticker/bookTicker", get(public::book_ticker))
        .route("/api/v3/ticker/price", get(tickers::ticker_price))
        .route("/api/v3/ticker/24hr", get(tickers::ticker_24hr))
        .route("/api/v3/avgPrice", get(tickers::avg_price))
        .route("/api/v3/trades", get(trades::trades))
        .route("/api/v3/myTrades", get(trades::my_trades))
        .route("/api/v3/batchOrders", post(batch::batch_orders))
        .route("/api/v3/uid", get(trading::uid))
        .route("/api/v1/contract/detail", get(public::contract_detail))
        .route(
            "/api/v3/order",
            post(trading::new_order)
                .delete(trading::cancel_order)
                .get(trading::query_order),
        )
        .route("/api/v3/order/test", post(trading::test_order))
        .route(
            "/api/v3/openOrders",
            get(trading::open_orders).delete(trading::cancel_all),
        )
        .route("/api/v3/allOrders", get(trading::all_orders))
        .route("/api/v3/account", get(trading::account))
        .route("/api/v3/capital/config/getall", get(trading::coin_config))
        .route(
            "/api/v3/userDataStream",
            post(user_stream::create)
                .get(user_stream::list)
                .put(user_stream::keep_alive)
                .delete(user_stream::delete),
        )
        .route("/ws", get(crate::ws::upgrade))
        .route("/_sim/ws/drop", post(admin::drop_websockets))
        .route("/_sim/ws/malformed", post(admin::push_malformed))
        .route("/_sim/ws/close", post(admin::close_websockets))
        .route("/_sim/ws/refuse", post(admin::refuse_websockets))
        .route("/_sim/ws/connections", get(admin::websocket_connections))
        .route("/_sim/stall", post(admin::stall))
        .route("/_sim/rest/delay", post(admin::delay_rest))
        .route("/_sim/rest/fail", post(admin::fail_rest))
        .route("/_sim/listenKey/expire", post(admin::expire_listen_key))
        .route("/_sim/faults/clear", post(admin::clear_faults))
        .route("/_sim/market/pause", post(admin::pause_market))
        .route("/_sim/market/resume", post(admin::resume_market))
        .route("/_sim/accounts/{api_key}/balances", get(admin::balances))
        .route(
            "/_sim/accounts/{api_key}/openOrders",
            get(admin::open_orders),
        )
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::with_status(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                405,
                "Method Not Allowed",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            fault_layer::apply_faults,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            limits::enforce,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            probe_layer::note_order_arrival,
        ))
        .with_state(app)
}
