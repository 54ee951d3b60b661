//! MEXC's binary push frames (protobuf) into domain events, market data into the caller's
//! [`PushBuffers`]: [`decode_push`], and [`MexcPushDecoder`], the venue's [`PushDecoder`].

use std::str::FromStr;

use mexc_proto::prost::Message;
use mexc_proto::push_data_v3_api_wrapper::Body;
use mexc_proto::{
    PrivateAccountV3Api, PrivateDealsV3Api, PrivateOrdersV3Api, PublicAggreDealsV3ApiItem,
    PublicAggreDepthV3ApiItem, PushDataV3ApiWrapper,
};
use rust_decimal::Decimal;

use crate::domain::asset::AssetName;
use crate::domain::client_order_id::ClientOrderId;
use crate::domain::decode_error::DecodeError;
use crate::domain::limits::VenueValue;
use crate::domain::market::{BookTicker, PriceLevel, Trade};
use crate::domain::order::{OrderStatus, OrderType};
use crate::domain::push_buffers::PushBuffers;
use crate::domain::side::Side;
use crate::domain::updates::{BalanceUpdate, Fill, OrderUpdate};
use crate::domain::venue_event::VenueEvent;
use crate::push_decoder::PushDecoder;

/// Decodes one binary push frame, a public push into `buffers`.
///
/// Beyond what prost allocates for the message itself, a decoded push costs no allocation
/// once `buffers` have grown to the largest push seen: the symbol code and a push's levels or
/// trades are copied into them, prices and quantities are parsed from the message's strings
/// in place. `buffers` are emptied first: after an error they hold nothing.
pub fn decode_push<'b>(
    frame: &[u8],
    buffers: &'b mut PushBuffers,
) -> Result<VenueEvent<'b>, DecodeError> {
    buffers.clear();
    let PushDataV3ApiWrapper {
        channel,
        body,
        symbol,
        send_time,
        create_time,
        ..
    } = PushDataV3ApiWrapper::decode(frame).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    let time_ms = send_time.or(create_time).unwrap_or_default();
    match body {
        Some(Body::PublicAggreBookTicker(t)) => {
            let ticker = BookTicker {
                bid_price: price("bidPrice", &t.bid_price)?,
                bid_quantity: quantity("bidQuantity", &t.bid_quantity)?,
                ask_price: price("askPrice", &t.ask_price)?,
                ask_quantity: quantity("askQuantity", &t.ask_quantity)?,
                time_ms,
            };
            Ok(buffers.book_ticker(symbol_code(symbol.as_deref(), &channel)?, ticker))
        }
        Some(Body::PublicAggreDepths(d)) => {
            let from_version = version("fromVersion", &d.from_version)?;
            let to_version = version("toVersion", &d.to_version)?;
            buffers.depth_diff(
                symbol_code(symbol.as_deref(), &channel)?,
                from_version,
                to_version,
                d.bids.iter().map(level),
                d.asks.iter().map(level),
            )
        }
        Some(Body::PublicAggreDeals(d)) => buffers.trades(
            symbol_code(symbol.as_deref(), &channel)?,
            d.deals.iter().map(trade),
        ),
        Some(Body::PrivateOrders(o)) => Ok(VenueEvent::Order(order_update(
            symbol_code(symbol, &channel)?,
            &o,
            time_ms,
        )?)),
        Some(Body::PrivateDeals(d)) => {
            Ok(VenueEvent::Fill(fill(symbol_code(symbol, &channel)?, &d)?))
        }
        Some(Body::PrivateAccount(a)) => Ok(VenueEvent::Balance(balance(&a)?)),
        _ => Err(DecodeError::Unsupported {
            channel: channel.chars().take(120).collect(),
        }),
    }
}

/// The push's symbol (a `&str` for market data, the message's own `String` for an order or a
/// fill): every push but a balance's names one.
fn symbol_code<S: AsRef<str>>(symbol: Option<S>, channel: &str) -> Result<S, DecodeError> {
    symbol
        .filter(|s| !s.as_ref().is_empty())
        .ok_or_else(|| DecodeError::MissingSymbol(channel.to_owned()))
}

fn truncated(value: &str) -> String {
    value.chars().take(40).collect()
}

/// A decimal of `kind`, in the range a venue may send.
fn decimal(kind: VenueValue, field: &'static str, value: &str) -> Result<Decimal, DecodeError> {
    let parsed = Decimal::from_str(value)
        .or_else(|_| Decimal::from_scientific(value))
        .map_err(|_| DecodeError::BadDecimal {
            field,
            value: truncated(value),
        })?;
    // (A parsed decimal prints in at most about 30 characters: the message stays short.)
    kind.check(parsed)
        .map_err(|problem| DecodeError::OutOfRange { field, problem })
}

fn price(field: &'static str, value: &str) -> Result<Decimal, DecodeError> {
    decimal(VenueValue::Price, field, value)
}

fn quantity(field: &'static str, value: &str) -> Result<Decimal, DecodeError> {
    decimal(VenueValue::Quantity, field, value)
}

/// A decimal that may be absent (empty string) in a push: zero then.
fn decimal_or_zero(
    kind: VenueValue,
    field: &'static str,
    value: &str,
) -> Result<Decimal, DecodeError> {
    if value.is_empty() {
        Ok(Decimal::ZERO)
    } else {
        decimal(kind, field, value)
    }
}

fn version(field: &'static str, value: &str) -> Result<u64, DecodeError> {
    value.parse().map_err(|_| DecodeError::BadText {
        field,
        value: truncated(value),
    })
}

/// One level of a depth diff.
fn level(item: &PublicAggreDepthV3ApiItem) -> Result<PriceLevel, DecodeError> {
    Ok(PriceLevel {
        price: price("price", &item.price)?,
        quantity: quantity("quantity", &item.quantity)?,
    })
}

/// One public trade of a deals push.
fn trade(deal: &PublicAggreDealsV3ApiItem) -> Result<Trade, DecodeError> {
    Ok(Trade {
        price: price("price", &deal.price)?,
        quantity: quantity("quantity", &deal.quantity)?,
        taker_side: trade_side(deal.trade_type)?,
        time_ms: deal.time,
    })
}

fn trade_side(code: i32) -> Result<Side, DecodeError> {
    match code {
        1 => Ok(Side::Buy),
        2 => Ok(Side::Sell),
        other => Err(DecodeError::BadCode {
            field: "tradeType",
            value: other.into(),
        }),
    }
}

fn client_id(value: &str) -> Result<Option<ClientOrderId>, DecodeError> {
    if value.is_empty() {
        return Ok(None);
    }
    ClientOrderId::new(value)
        .map(Some)
        .map_err(|_| DecodeError::BadText {
            field: "clientId",
            value: truncated(value),
        })
}

fn order_update(
    symbol_code: String,
    o: &PrivateOrdersV3Api,
    time_ms: i64,
) -> Result<OrderUpdate, DecodeError> {
    let order_type = match o.order_type {
        1 => OrderType::Limit,
        2 => OrderType::LimitMaker,
        3 => OrderType::ImmediateOrCancel,
        4 => OrderType::FillOrKill,
        5 => OrderType::Market,
        other => {
            return Err(DecodeError::BadCode {
                field: "orderType",
                value: other.into(),
            });
        }
    };
    let status = match o.status {
        1 => OrderStatus::New,
        2 => OrderStatus::Filled,
        3 => OrderStatus::PartiallyFilled,
        4 => OrderStatus::Canceled,
        5 => OrderStatus::PartiallyCanceled,
        other => {
            return Err(DecodeError::BadCode {
                field: "status",
                value: other.into(),
            });
        }
    };
    Ok(OrderUpdate {
        symbol_code,
        order_id: o.id.clone(),
        client_order_id: client_id(&o.client_id)?,
        side: trade_side(o.trade_type)?,
        order_type,
        price: decimal_or_zero(VenueValue::Price, "price", &o.price)?,
        quantity: decimal_or_zero(VenueValue::Quantity, "quantity", &o.quantity)?,
        filled_quantity: decimal_or_zero(
            VenueValue::Quantity,
            "cumulativeQuantity",
            &o.cumulative_quantity,
        )?,
        average_price: decimal_or_zero(VenueValue::Price, "avgPrice", &o.avg_price)?,
        status,
        time_ms: if o.create_time > 0 && time_ms == 0 {
            o.create_time
        } else {
            time_ms
        },
    })
}

fn fill(symbol_code: String, d: &PrivateDealsV3Api) -> Result<Fill, DecodeError> {
    Ok(Fill {
        symbol_code,
        order_id: d.order_id.clone(),
        client_order_id: client_id(&d.client_order_id)?,
        side: trade_side(d.trade_type)?,
        price: price("price", &d.price)?,
        quantity: quantity("quantity", &d.quantity)?,
        is_maker: d.is_maker,
        fee: decimal_or_zero(VenueValue::Quantity, "feeAmount", &d.fee_amount)?,
        fee_asset: AssetName::new(&d.fee_currency).ok(),
        trade_id: d.trade_id.clone(),
        time_ms: d.time,
    })
}

fn balance(a: &PrivateAccountV3Api) -> Result<BalanceUpdate, DecodeError> {
    Ok(BalanceUpdate {
        asset: AssetName::new(&a.vcoin_name).map_err(|_| DecodeError::BadText {
            field: "vcoinName",
            value: truncated(&a.vcoin_name),
        })?,
        free: quantity("balanceAmount", &a.balance_amount)?,
        locked: decimal_or_zero(VenueValue::Quantity, "frozenAmount", &a.frozen_amount)?,
        time_ms: a.time,
    })
}

/// MEXC's [`PushDecoder`]: [`decode_push`] for every frame (it keeps no state of its
/// connection).
#[derive(Debug, Clone, Copy, Default)]
pub struct MexcPushDecoder;

impl PushDecoder for MexcPushDecoder {
    fn decode<'b>(
        &mut self,
        frame: &[u8],
        buffers: &'b mut PushBuffers,
    ) -> Result<VenueEvent<'b>, DecodeError> {
        decode_push(frame, buffers)
    }
}
