//! Price tickers: `ticker/price`, `ticker/24hr` and `avgPrice`, from the recent trades (the
//! book's mid price while a symbol has not traded).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::Reply;
use super::request::{Endpoint, RawRequest};
use crate::app::App;
use crate::error::ApiError;
use crate::format::dec;
use crate::history::{AVG_PRICE_MINUTES, DAY_MS};
use crate::params::Params;

const TICKER_PRICE: Endpoint = Endpoint::new("GET /api/v3/ticker/price", 1);
const TICKER_24HR: Endpoint = Endpoint::new("GET /api/v3/ticker/24hr", 1);
const AVG_PRICE: Endpoint = Endpoint::new("GET /api/v3/avgPrice", 1);

/// The symbols a ticker request names: `symbol` alone, or every symbol (`None`).
fn wanted_symbol(app: &App, params: &Params) -> Result<Option<String>, ApiError> {
    if params.get("symbol").is_none() {
        return Ok(None);
    }
    let symbol = params.symbol()?;
    app.engine().market(&symbol)?;
    Ok(Some(symbol))
}

/// Answer one symbol as an object, or every symbol as an array.
fn one_or_all(app: &App, params: &Params, each: impl Fn(&str) -> Value) -> Reply {
    match wanted_symbol(app, params)? {
        Some(symbol) => Ok(Json(each(&symbol))),
        None => Ok(Json(Value::Array(
            app.config.symbols.iter().map(|s| each(&s.symbol)).collect(),
        ))),
    }
}

/// The last trade price, else the book's mid, else zero.
fn last_price(app: &App, symbol: &str) -> Decimal {
    if let Some(price) = app.history().last_price(symbol) {
        return price;
    }
    mid_price(app, symbol).unwrap_or_default()
}

fn mid_price(app: &App, symbol: &str) -> Option<Decimal> {
    let engine = app.engine();
    let market = engine.market(symbol).ok()?;
    let (bid, _) = market.book.best_bid()?;
    let (ask, _) = market.book.best_ask()?;
    Some(((bid + ask) / Decimal::TWO).round_dp(market.spec.quote_precision))
}

pub(crate) async fn ticker_price(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let params = app.public_request(&req, TICKER_PRICE)?;
    one_or_all(
        &app,
        &params,
        |symbol| json!({ "symbol": symbol, "price": dec(last_price(&app, symbol)) }),
    )
}

/// One symbol's 24 h statistics, typed as MEXC sends them (c9s/bbgo quotes a live answer:
/// quantities of the touch and the last trade as strings, `quoteVolume` and `count` null).
fn ticker_24hr_of(app: &App, symbol: &str) -> Value {
    let now = app.now_ms();
    let stats = app
        .history()
        .stats_since(symbol, now.saturating_sub(DAY_MS));
    let last = stats
        .as_ref()
        .map_or_else(|| last_price(app, symbol), |s| s.last);
    let open = stats.as_ref().map_or(last, |s| s.open);
    let change = last - open;
    let change_ratio = if open.is_zero() {
        Decimal::ZERO
    } else {
        (change / open).round_dp(7)
    };
    let (bid, ask) = {
        let engine = app.engine();
        engine
            .market(symbol)
            .map(|m| (m.book.best_bid(), m.book.best_ask()))
            .unwrap_or_default()
    };
    let (bid_price, bid_qty) = bid.unwrap_or_default();
    let (ask_price, ask_qty) = ask.unwrap_or_default();
    json!({
        "symbol": symbol,
        "priceChange": dec(change),
        "priceChangePercent": dec(change_ratio),
        "prevClosePrice": dec(open),
        "lastPrice": dec(last),
        "lastQty": stats.as_ref().map(|s| dec(s.last_quantity)).unwrap_or_default(),
        "bidPrice": dec(bid_price),
        "bidQty": dec(bid_qty),
        "askPrice": dec(ask_price),
        "askQty": dec(ask_qty),
        "openPrice": dec(open),
        "highPrice": dec(stats.as_ref().map_or(last, |s| s.high)),
        "lowPrice": dec(stats.as_ref().map_or(last, |s| s.low)),
        "volume": dec(stats.as_ref().map_or(Decimal::ZERO, |s| s.volume)),
        "quoteVolume": null,
        "openTime": stats.as_ref().map_or(now.saturating_sub(DAY_MS), |s| s.open_time),
        "closeTime": now,
        "count": null,
    })
}

pub(crate) async fn ticker_24hr(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let params = app.public_request(&req, TICKER_24HR)?;
    one_or_all(&app, &params, |symbol| ticker_24hr_of(&app, symbol))
}

pub(crate) async fn avg_price(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let params = app.public_request(&req, AVG_PRICE)?;
    let symbol = params.symbol()?;
    let precision = app.engine().market(&symbol)?.spec.quote_precision;
    let since = app.now_ms().saturating_sub(AVG_PRICE_MINUTES * 60_000);
    let price = app
        .history()
        .stats_since(&symbol, since)
        .filter(|s| !s.volume.is_zero())
        .map(|s| (s.quote_volume / s.volume).round_dp(precision));
    let price = price.unwrap_or_else(|| last_price(&app, &symbol));
    Ok(Json(
        json!({ "mins": AVG_PRICE_MINUTES, "price": dec(price) }),
    ))
}
