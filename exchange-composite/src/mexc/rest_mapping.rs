//! MEXC REST models into domain types: a market's [`SymbolRules`] from exchange information,
//! orders, and book snapshots for the local book.

use exchange_rest::model;
use rust_decimal::Decimal;

use crate::domain::asset::AssetName;
use crate::domain::client_order_id::ClientOrderId;
use crate::domain::depth::DepthSnapshot;
use crate::domain::limits::VenueValue;
use crate::domain::mapping_error::MappingError;
use crate::domain::market::PriceLevel;
use crate::domain::order::{Order, OrderStatus, OrderType};
use crate::domain::rules::SymbolRules;
use crate::domain::side::Side;
use crate::domain::symbol::Symbol;

/// `value` of `what` (of market `symbol`), if it is in the range a venue may send.
pub(crate) fn in_range(
    symbol: &str,
    what: &'static str,
    kind: VenueValue,
    value: Decimal,
) -> Result<Decimal, MappingError> {
    kind.check(value).map_err(|problem| MappingError::Invalid {
        symbol: symbol.to_owned(),
        what,
        problem,
    })
}

/// Precision counts are decimal places: MEXC sends small non-negative integers.
fn precision(
    info: &model::SymbolInfo,
    what: &'static str,
    value: Option<i64>,
) -> Result<u32, MappingError> {
    value
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v <= 18)
        .ok_or_else(|| MappingError::Invalid {
            symbol: info.symbol.clone(),
            what,
            problem: format!("{value:?} is not a decimal count"),
        })
}

/// The market of an exchange-information entry.
pub fn symbol_from_info(info: &model::SymbolInfo) -> Result<Symbol, MappingError> {
    let asset = |what, name: &str| {
        AssetName::new(name).map_err(|e| MappingError::Invalid {
            symbol: info.symbol.clone(),
            what,
            problem: e.to_string(),
        })
    };
    Ok(Symbol::spot(
        asset("baseAsset", &info.base_asset)?,
        asset("quoteAsset", &info.quote_asset)?,
    ))
}

/// The trading rules of an exchange-information entry: prices to `quotePrecision` decimals,
/// quantities to `baseAssetPrecision`, minimum quantity `baseSizePrecision` (one step if
/// absent), minimum value `quoteAmountPrecision` (none if absent).
pub fn rules_from_info(info: &model::SymbolInfo) -> Result<SymbolRules, MappingError> {
    let price_precision = precision(info, "quotePrecision", info.quote_precision)?;
    let quantity_precision = precision(info, "baseAssetPrecision", info.base_asset_precision)?;
    let step = Decimal::new(1, quantity_precision);
    let min_quantity = info
        .base_size_precision
        .filter(|q| *q > Decimal::ZERO)
        .unwrap_or(step);
    let min_notional = info.quote_amount_precision.unwrap_or(Decimal::ZERO);
    Ok(SymbolRules {
        price_precision,
        quantity_precision,
        min_quantity: in_range(
            &info.symbol,
            "baseSizePrecision",
            VenueValue::Quantity,
            min_quantity,
        )?,
        min_notional: in_range(
            &info.symbol,
            "quoteAmountPrecision",
            VenueValue::Quantity,
            min_notional,
        )?,
    })
}

/// A REST order as a domain order of `symbol`.
pub fn order_from_rest(order: &model::Order, symbol: &Symbol) -> Result<Order, MappingError> {
    let unknown = |what| MappingError::Unknown {
        symbol: order.symbol.clone(),
        what,
    };
    let status = match order.status {
        model::OrderStatus::New => OrderStatus::New,
        model::OrderStatus::PartiallyFilled => OrderStatus::PartiallyFilled,
        model::OrderStatus::Filled => OrderStatus::Filled,
        model::OrderStatus::Canceled => OrderStatus::Canceled,
        model::OrderStatus::PartiallyCanceled => OrderStatus::PartiallyCanceled,
        model::OrderStatus::Unknown => return Err(unknown("order status")),
    };
    let order_type = match order.order_type {
        model::OrderType::Limit => OrderType::Limit,
        model::OrderType::LimitMaker => OrderType::LimitMaker,
        model::OrderType::Market => OrderType::Market,
        model::OrderType::ImmediateOrCancel => OrderType::ImmediateOrCancel,
        model::OrderType::FillOrKill => OrderType::FillOrKill,
        model::OrderType::Unknown => return Err(unknown("order type")),
    };
    let value = |what, kind, value: Option<Decimal>| {
        in_range(&order.symbol, what, kind, value.unwrap_or_default())
    };
    Ok(Order {
        symbol: symbol.clone(),
        order_id: order.order_id.clone(),
        // A client id we cannot use (another tool's format) is not ours: keep the order, drop
        // the id.
        client_order_id: order
            .client_order_id
            .as_deref()
            .and_then(|id| ClientOrderId::new(id).ok()),
        side: side_from_rest(order.side),
        order_type,
        price: value("price", VenueValue::Price, order.price)?,
        quantity: value("origQty", VenueValue::Quantity, order.orig_qty)?,
        filled_quantity: value("executedQty", VenueValue::Quantity, order.executed_qty)?,
        filled_quote: value(
            "cummulativeQuoteQty",
            VenueValue::Quantity,
            order.cumulative_quote_qty,
        )?,
        status,
        updated_ms: order.update_time.or(order.time).unwrap_or_default(),
    })
}

/// A domain side as MEXC's.
pub fn side_to_rest(side: Side) -> model::Side {
    match side {
        Side::Buy => model::Side::Buy,
        Side::Sell => model::Side::Sell,
    }
}

/// MEXC's side as a domain side.
pub fn side_from_rest(side: model::Side) -> Side {
    match side {
        model::Side::Buy => Side::Buy,
        model::Side::Sell => Side::Sell,
    }
}

/// A REST depth snapshot of `symbol_code` for the
/// [`LocalOrderBook`](crate::LocalOrderBook).
pub fn snapshot_from_rest(
    symbol_code: &str,
    snapshot: &model::OrderBookSnapshot,
) -> Result<DepthSnapshot, MappingError> {
    let last_update_id =
        u64::try_from(snapshot.last_update_id).map_err(|_| MappingError::Invalid {
            symbol: symbol_code.to_owned(),
            what: "lastUpdateId",
            problem: format!("{} is negative", snapshot.last_update_id),
        })?;
    let levels = |levels: &[model::PriceLevel]| {
        levels
            .iter()
            .map(|l| {
                Ok(PriceLevel {
                    price: in_range(symbol_code, "depth price", VenueValue::Price, l.price)?,
                    quantity: in_range(
                        symbol_code,
                        "depth quantity",
                        VenueValue::Quantity,
                        l.quantity,
                    )?,
                })
            })
            .collect::<Result<Vec<_>, MappingError>>()
    };
    Ok(DepthSnapshot {
        last_update_id,
        bids: levels(&snapshot.bids)?,
        asks: levels(&snapshot.asks)?,
    })
}
