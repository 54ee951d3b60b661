//! Price tickers: the last price (`ticker/price`) and 24 h statistics (`ticker/24hr`).

use rust_decimal::Decimal;
use serde::Deserialize;

use super::de;

/// `GET /api/v3/ticker/price?symbol=`: the last price.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceTicker {
    /// The market.
    pub symbol: String,
    /// Last price.
    #[serde(deserialize_with = "de::decimal")]
    pub price: Decimal,
}

/// `GET /api/v3/ticker/24hr?symbol=`: statistics of the last 24 hours. MEXC leaves some
/// fields empty (`""`) or `null` (`quoteVolume`, `count` in a live answer): all are optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticker24h {
    /// The market.
    pub symbol: String,
    /// Last price minus open price.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub price_change: Option<Decimal>,
    /// Price change as a fraction of the open price (`0.01` is 1 %).
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub price_change_percent: Option<Decimal>,
    /// Last price.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub last_price: Option<Decimal>,
    /// Best bid price.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub bid_price: Option<Decimal>,
    /// Best ask price.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub ask_price: Option<Decimal>,
    /// Open price of the window.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub open_price: Option<Decimal>,
    /// Highest price.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub high_price: Option<Decimal>,
    /// Lowest price.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub low_price: Option<Decimal>,
    /// Base volume.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub volume: Option<Decimal>,
    /// Quote volume.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub quote_volume: Option<Decimal>,
    /// Window start, ms since the Unix epoch.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub open_time: Option<i64>,
    /// Window end, ms since the Unix epoch.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub close_time: Option<i64>,
}
