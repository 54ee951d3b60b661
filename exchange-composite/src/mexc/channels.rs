//! MEXC spot websocket channel names (protobuf `.pb` channels; the JSON ones were switched
//! off in August 2025).

use crate::domain::push_interval::PushInterval;

/// Aggregated depth diffs of `symbol_code` (e.g. `HIFIUSDT`).
///
/// ```
/// use exchange_composite::PushInterval;
/// use exchange_composite::mexc::aggregated_depth_channel;
/// assert_eq!(
///     aggregated_depth_channel("HIFIUSDT", PushInterval::Ms100),
///     "spot@public.aggre.depth.v3.api.pb@100ms@HIFIUSDT"
/// );
/// ```
pub fn aggregated_depth_channel(symbol_code: &str, interval: PushInterval) -> String {
    format!("spot@public.aggre.depth.v3.api.pb@{interval}@{symbol_code}")
}

/// Best bid and ask of `symbol_code`.
pub fn book_ticker_channel(symbol_code: &str, interval: PushInterval) -> String {
    format!("spot@public.aggre.bookTicker.v3.api.pb@{interval}@{symbol_code}")
}

/// Aggregated public trades of `symbol_code`.
pub fn trades_channel(symbol_code: &str, interval: PushInterval) -> String {
    format!("spot@public.aggre.deals.v3.api.pb@{interval}@{symbol_code}")
}

/// Top `levels` (5, 10 or 20) of the book of `symbol_code`.
pub fn partial_depth_channel(symbol_code: &str, levels: u8) -> String {
    format!("spot@public.limit.depth.v3.api.pb@{symbol_code}@{levels}")
}

/// Our order updates (listen-key connection).
pub const PRIVATE_ORDERS_CHANNEL: &str = "spot@private.orders.v3.api.pb";
/// Our fills (listen-key connection).
pub const PRIVATE_FILLS_CHANNEL: &str = "spot@private.deals.v3.api.pb";
/// Our balance changes (listen-key connection).
pub const PRIVATE_BALANCES_CHANNEL: &str = "spot@private.account.v3.api.pb";

/// The venue's code of a spot market: base then quote, uppercase (`HIFIUSDT`).
pub fn symbol_code(symbol: &crate::Symbol) -> String {
    format!("{}{}", symbol.base, symbol.quote)
}
