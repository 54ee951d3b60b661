//! Public market data: server time, exchange info, depth, book ticker, futures contracts.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::de;

/// `GET /api/v3/time`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerTime {
    /// The venue's time, ms since the Unix epoch.
    pub server_time: i64,
}

/// `GET /api/v3/exchangeInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeInfo {
    /// The venue's time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// The venue's time, ms since the Unix epoch.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub server_time: Option<i64>,
    /// The markets.
    #[serde(default)]
    pub symbols: Vec<SymbolInfo>,
}

/// One market of [`ExchangeInfo`]. Precisions are decimal counts (2 means a step of 0.01).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolInfo {
    /// e.g. `HIFIUSDT`.
    pub symbol: String,
    /// `"1"` online, `"2"` paused, `"3"` offline.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub status: Option<String>,
    /// e.g. `HIFI`.
    #[serde(default)]
    pub base_asset: String,
    /// Decimals of base quantities.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub base_asset_precision: Option<i64>,
    /// e.g. `USDT`.
    #[serde(default)]
    pub quote_asset: String,
    /// Decimals of prices.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub quote_precision: Option<i64>,
    /// Decimals of quote amounts.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub quote_asset_precision: Option<i64>,
    /// Decimals of base-asset commissions.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub base_commission_precision: Option<i64>,
    /// Decimals of quote-asset commissions.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub quote_commission_precision: Option<i64>,
    /// Order types accepted.
    #[serde(default)]
    pub order_types: Vec<String>,
    /// Whether spot trading is allowed.
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub is_spot_trading_allowed: bool,
    /// Permissions, e.g. `SPOT`.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Minimum base quantity.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub base_size_precision: Option<Decimal>,
    /// Minimum order notional in the quote asset.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub quote_amount_precision: Option<Decimal>,
    /// Maximum order notional in the quote asset.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub max_quote_amount: Option<Decimal>,
    /// Maker fee rate.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub maker_commission: Option<Decimal>,
    /// Taker fee rate.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub taker_commission: Option<Decimal>,
}

impl SymbolInfo {
    /// Whether the market is online (`status == "1"`) and open to spot trading.
    pub fn is_trading(&self) -> bool {
        self.status.as_deref() == Some("1") && self.is_spot_trading_allowed
    }
}

/// One price level of a book: price and quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<de::LenientDecimal>")]
pub struct PriceLevel {
    /// Price.
    pub price: Decimal,
    /// Quantity at that price.
    pub quantity: Decimal,
}

impl TryFrom<Vec<de::LenientDecimal>> for PriceLevel {
    type Error = String;

    fn try_from(values: Vec<de::LenientDecimal>) -> Result<Self, Self::Error> {
        match values.as_slice() {
            [price, quantity, ..] => Ok(Self {
                price: price.0,
                quantity: quantity.0,
            }),
            _ => Err(format!(
                "a price level needs [price, quantity], got {} value(s)",
                values.len()
            )),
        }
    }
}

/// `GET /api/v3/depth`: a book snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderBookSnapshot {
    /// Book version of the snapshot (compare with websocket `fromVersion`/`toVersion`).
    pub last_update_id: i64,
    /// Bids, best first.
    #[serde(default)]
    pub bids: Vec<PriceLevel>,
    /// Asks, best first.
    #[serde(default)]
    pub asks: Vec<PriceLevel>,
    /// Venue time of the snapshot, if sent.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub timestamp: Option<i64>,
}

/// `GET /api/v3/ticker/bookTicker`: best bid and ask.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookTicker {
    /// The market.
    pub symbol: String,
    /// Best bid price (`None` if the side is empty).
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub bid_price: Option<Decimal>,
    /// Quantity at the best bid.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub bid_qty: Option<Decimal>,
    /// Best ask price.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub ask_price: Option<Decimal>,
    /// Quantity at the best ask.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub ask_qty: Option<Decimal>,
}

/// `GET /api/v1/contract/detail` (futures venue): `{"success","code","data"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractDetailResponse {
    /// Whether the call succeeded.
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub success: bool,
    /// 0 on success.
    #[serde(default)]
    pub code: i64,
    /// The contracts (one object when a symbol was asked for, a list otherwise).
    #[serde(default)]
    pub data: ContractList,
}

/// One contract or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(from = "OneOrMany")]
pub struct ContractList(pub Vec<ContractDetail>);

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<ContractDetail>),
    One(Box<ContractDetail>),
    Nothing(()),
}

impl From<OneOrMany> for ContractList {
    fn from(value: OneOrMany) -> Self {
        match value {
            OneOrMany::Many(list) => Self(list),
            OneOrMany::One(one) => Self(vec![*one]),
            OneOrMany::Nothing(()) => Self(Vec::new()),
        }
    }
}

/// A futures contract (the fields common clients read; others are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractDetail {
    /// e.g. `BTC_USDT`.
    pub symbol: String,
    /// Base coin.
    #[serde(default)]
    pub base_coin: Option<String>,
    /// Quote coin.
    #[serde(default)]
    pub quote_coin: Option<String>,
    /// Contract size in base coin.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub contract_size: Option<Decimal>,
    /// Price tick.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub price_unit: Option<Decimal>,
    /// State (0 enabled).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub state: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_levels_and_unknown_fields() {
        let snapshot: OrderBookSnapshot = serde_json::from_str(
            r#"{"lastUpdateId":7,"bids":[["0.0999","500"]],"asks":[[0.1001,"400.5"]],"extra":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(snapshot.last_update_id, 7);
        assert_eq!(snapshot.bids[0].price, Decimal::new(999, 4));
        assert_eq!(snapshot.asks[0].quantity, Decimal::new(4005, 1));
        assert!(
            serde_json::from_str::<OrderBookSnapshot>(r#"{"lastUpdateId":1,"bids":[["1"]]}"#)
                .is_err()
        );
    }

    #[test]
    fn contract_detail_one_many_or_none() {
        let many: ContractDetailResponse = serde_json::from_str(
            r#"{"success":true,"code":0,"data":[{"symbol":"BTC_USDT","contractSize":"0.0001"}]}"#,
        )
        .unwrap();
        assert_eq!(many.data.0.len(), 1);
        let one: ContractDetailResponse =
            serde_json::from_str(r#"{"success":true,"code":0,"data":{"symbol":"BTC_USDT"}}"#)
                .unwrap();
        assert_eq!(one.data.0[0].symbol, "BTC_USDT");
        let none: ContractDetailResponse =
            serde_json::from_str(r#"{"success":true,"code":0,"data":[]}"#).unwrap();
        assert!(none.success && none.data.0.is_empty());
    }

    #[test]
    fn symbol_info_defensive() {
        let info: ExchangeInfo = serde_json::from_str(
            r#"{"timezone":"CST","serverTime":1,"symbols":[{"symbol":"HIFIUSDT","status":"1","baseAsset":"HIFI","quoteAsset":"USDT","isSpotTradingAllowed":true,"baseSizePrecision":"0.01","quoteAmountPrecision":"1","makerCommission":"0","filters":[],"newField":[1,2]}]}"#,
        )
        .unwrap();
        let s = &info.symbols[0];
        assert!(s.is_trading());
        assert_eq!(s.base_size_precision, Some(Decimal::new(1, 2)));
        assert_eq!(s.quote_precision, None);
    }
}
