//! Shared set-up of the composite tests: an in-process exchange-sim and a configuration for it.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod guardian;

use std::time::Duration;

use exchange_composite::{AssetName, ExchangeConfig, Exchanges, MexcRest, Symbol};
use exchange_rest::Credentials;
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, NewOrder, Side as SimSide, SimConfig, SimVenue};
use rust_decimal::Decimal;

pub const SYMBOL_CODE: &str = "HIFIUSDT";

pub fn hifi() -> Symbol {
    Symbol::spot(
        AssetName::new("HIFI").unwrap(),
        AssetName::new("USDT").unwrap(),
    )
}

/// A venue with a live synthetic market (orders far from the touch never fill).
pub async fn venue() -> SimVenue {
    SimVenue::start(SimConfig::default()).await.unwrap()
}

/// The configuration of the demo account on `sim`, HIFI/USDT, fast reconnects.
pub fn config_for(sim: &SimVenue) -> ExchangeConfig {
    let mut config = ExchangeConfig::new(sim.rest_url(), sim.ws_url())
        .symbol(hifi())
        .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET))
        .shutdown_budget(Duration::from_secs(5));
    config.reconnect_backoff = Duration::from_millis(20);
    config.cancel_retry_interval = Duration::from_millis(20);
    config
}

/// The REST client and limiter a context on MEXC shares between its exchanges.
pub fn rest_of(exchanges: &Exchanges) -> &MexcRest {
    exchanges
        .rest
        .as_ref()
        .expect("a context on MEXC holds its REST client")
}

/// Open orders of the demo account on the venue.
pub fn venue_open_orders(sim: &SimVenue) -> Vec<exchange_sim::Order> {
    sim.open_orders(DEMO_API_KEY).unwrap_or_default()
}

/// Places an order directly on the venue, as a previous run (or another tool) would have.
pub fn place_directly(
    sim: &SimVenue,
    client_order_id: &str,
    price: Decimal,
) -> exchange_sim::Order {
    let mut order = NewOrder::limit(SYMBOL_CODE, SimSide::Buy, price, Decimal::from(30));
    order.client_order_id = Some(client_order_id.to_owned());
    sim.place_order(DEMO_API_KEY, &order).unwrap()
}

/// A bid well below the market: it rests and does not fill.
pub fn far_bid() -> Decimal {
    Decimal::new(5, 2) // 0.05
}

/// An ask well above the market.
pub fn far_ask() -> Decimal {
    Decimal::new(2, 1) // 0.2
}

#[allow(unused_imports, reason = "not every test binary polls")]
pub use test_support::eventually;

#[allow(unused_imports, reason = "not every test binary bounds its bodies")]
pub use test_support::bounded;
