//! Public endpoints: ping, time, exchangeInfo, depth, bookTicker, and the start-up calls
//! common clients make (coin config, futures markets).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::Reply;
use super::json;
use super::request::{Endpoint, RawRequest};
use crate::app::App;
use crate::error::ApiError;
use crate::format::dec;

const PING: Endpoint = Endpoint::new("GET /api/v3/ping", 1);
const TIME: Endpoint = Endpoint::new("GET /api/v3/time", 1);
const EXCHANGE_INFO: Endpoint = Endpoint::new("GET /api/v3/exchangeInfo", 10);
const DEPTH: Endpoint = Endpoint::new("GET /api/v3/depth", 1);
const BOOK_TICKER: Endpoint = Endpoint::new("GET /api/v3/ticker/bookTicker", 1);
const CONTRACT_DETAIL: Endpoint = Endpoint::new("GET /api/v1/contract/detail", 1);

pub(crate) async fn ping(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    app.public_request(&req, PING)?;
    Ok(Json(json!({})))
}

pub(crate) async fn time(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    app.public_request(&req, TIME)?;
    Ok(Json(json!({ "serverTime": app.now_ms() })))
}

pub(crate) async fn exchange_info(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let params = app.public_request(&req, EXCHANGE_INFO)?;
    let wanted: Option<Vec<String>> = match (params.get("symbol"), params.get("symbols")) {
        (Some(one), _) => Some(vec![one.to_ascii_uppercase()]),
        (None, Some(many)) => Some(many.split(',').map(str::to_ascii_uppercase).collect()),
        (None, None) => None,
    };
    if let Some(wanted) = &wanted
        && wanted
            .iter()
            .any(|s| !app.config.symbols.iter().any(|c| &c.symbol == s))
    {
        return Err(ApiError::bad_symbol());
    }
    let symbols: Vec<Value> = app
        .config
        .symbols
        .iter()
        .filter(|s| wanted.as_ref().is_none_or(|w| w.contains(&s.symbol)))
        .map(json::symbol)
        .collect();
    Ok(Json(json!({
        "timezone": "CST",
        "serverTime": app.now_ms(),
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": symbols,
    })))
}

pub(crate) async fn depth(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let params = app.public_request(&req, DEPTH)?;
    let symbol = params.symbol()?;
    let limit = params.int("limit")?.unwrap_or(100).clamp(1, 5000);
    let limit = usize::try_from(limit).unwrap_or(100);
    let engine = app.engine();
    let market = engine.market(&symbol)?;
    let (bids, asks) = market.book.depth(limit);
    let levels = |l: Vec<(rust_decimal::Decimal, rust_decimal::Decimal)>| {
        l.into_iter()
            .map(|(p, q)| json!([dec(p), dec(q)]))
            .collect::<Vec<_>>()
    };
    Ok(Json(json!({
        "lastUpdateId": market.version,
        "bids": levels(bids),
        "asks": levels(asks),
        "timestamp": app.now_ms(),
    })))
}

pub(crate) async fn book_ticker(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let params = app.public_request(&req, BOOK_TICKER)?;
    let engine = app.engine();
    let ticker = |symbol: &str| -> Result<Value, ApiError> {
        let market = engine.market(symbol)?;
        let (bid, bid_qty) = market.book.best_bid().unwrap_or_default();
        let (ask, ask_qty) = market.book.best_ask().unwrap_or_default();
        Ok(json!({
            "symbol": symbol,
            "bidPrice": dec(bid),
            "bidQty": dec(bid_qty),
            "askPrice": dec(ask),
            "askQty": dec(ask_qty),
        }))
    };
    if params.get("symbol").is_some() {
        return Ok(Json(ticker(&params.symbol()?)?));
    }
    let all = engine
        .markets()
        .keys()
        .map(|s| ticker(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(Value::Array(all)))
}

pub(crate) async fn contract_detail(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    app.public_request(&req, CONTRACT_DETAIL)?;
    Ok(Json(json!({ "success": true, "code": 0, "data": [] })))
}
