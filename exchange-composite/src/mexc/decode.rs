//! Binary push frames into domain events: [`decode_push`], and [`FrameDecoder`], which counts
//! and logs frames that fail so a bad frame is never a panic and never silent.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use mexc_proto::prost::Message;
use mexc_proto::push_data_v3_api_wrapper::Body;
use mexc_proto::{
    PrivateAccountV3Api, PrivateDealsV3Api, PrivateOrdersV3Api, PublicAggreDepthV3ApiItem,
    PushDataV3ApiWrapper,
};
use rust_decimal::Decimal;

use crate::domain::asset::AssetName;
use crate::domain::client_order_id::ClientOrderId;
use crate::domain::limits::VenueValue;
use crate::domain::market::{BookTicker, PriceLevel, Trade};
use crate::domain::order::{OrderStatus, OrderType};
use crate::domain::side::Side;
use crate::domain::updates::{BalanceUpdate, Fill, OrderUpdate};
use crate::mexc::local_book::DepthDiff;

/// Why a push frame could not be turned into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a valid `PushDataV3ApiWrapper`.
    #[error("not a MEXC push frame: {0}")]
    Protobuf(String),
    /// A frame of a kind this adapter does not handle (or with no body).
    #[error("unsupported push on channel {channel:?}")]
    Unsupported {
        /// The frame's channel.
        channel: String,
    },
    /// A public push without its symbol.
    #[error("push on channel {0:?} has no symbol")]
    MissingSymbol(String),
    /// A numeric field that is not a decimal.
    #[error("field {field} is not a decimal: {value:?}")]
    BadDecimal {
        /// The field.
        field: &'static str,
        /// Its text (truncated).
        value: String,
    },
    /// A price or quantity outside the range a venue may send
    /// ([`VenueValue`](crate::VenueValue)): negative, or so large that arithmetic on it
    /// could overflow.
    #[error("field {field} is out of range: {problem}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// What is wrong (the value, truncated).
        problem: String,
    },
    /// An enum field with an unknown code.
    #[error("field {field} has unknown code {value}")]
    BadCode {
        /// The field.
        field: &'static str,
        /// The code.
        value: i64,
    },
    /// A text field that is not valid for its type.
    #[error("field {field} is invalid: {value:?}")]
    BadText {
        /// The field.
        field: &'static str,
        /// Its text (truncated).
        value: String,
    },
}

/// One decoded push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MexcEvent {
    /// Best bid and ask.
    BookTicker {
        /// The symbol code.
        symbol_code: String,
        /// The touch.
        ticker: BookTicker,
    },
    /// Aggregated depth diff.
    DepthDiff {
        /// The symbol code.
        symbol_code: String,
        /// The diff.
        diff: DepthDiff,
    },
    /// Public trades.
    Trades {
        /// The symbol code.
        symbol_code: String,
        /// The trades, in order.
        trades: Vec<Trade>,
    },
    /// One of our orders changed.
    Order(OrderUpdate),
    /// One of our orders filled.
    Fill(Fill),
    /// One of our balances changed.
    Balance(BalanceUpdate),
}

/// Decodes one binary push frame.
///
/// Beyond what prost allocates for the message itself, a book ticker costs no allocation, a
/// depth diff one vector per side and a trades push one vector (each of its exact size): the
/// symbol is moved out of the decoded message, prices and quantities are parsed from its
/// strings in place.
pub fn decode_push(frame: &[u8]) -> Result<MexcEvent, DecodeError> {
    let PushDataV3ApiWrapper {
        channel,
        body,
        symbol,
        send_time,
        create_time,
        ..
    } = PushDataV3ApiWrapper::decode(frame).map_err(|e| DecodeError::Protobuf(e.to_string()))?;
    let time_ms = send_time.or(create_time).unwrap_or_default();
    let symbol = || {
        symbol
            .filter(|s| !s.is_empty())
            .ok_or_else(|| DecodeError::MissingSymbol(channel.clone()))
    };
    match body {
        Some(Body::PublicAggreBookTicker(t)) => Ok(MexcEvent::BookTicker {
            ticker: BookTicker {
                bid_price: price("bidPrice", &t.bid_price)?,
                bid_quantity: quantity("bidQuantity", &t.bid_quantity)?,
                ask_price: price("askPrice", &t.ask_price)?,
                ask_quantity: quantity("askQuantity", &t.ask_quantity)?,
                time_ms,
            },
            symbol_code: symbol()?,
        }),
        Some(Body::PublicAggreDepths(d)) => Ok(MexcEvent::DepthDiff {
            diff: DepthDiff {
                from_version: version("fromVersion", &d.from_version)?,
                to_version: version("toVersion", &d.to_version)?,
                bids: levels(&d.bids)?,
                asks: levels(&d.asks)?,
            },
            symbol_code: symbol()?,
        }),
        Some(Body::PublicAggreDeals(d)) => {
            let mut trades = Vec::with_capacity(d.deals.len());
            for deal in &d.deals {
                trades.push(Trade {
                    price: price("price", &deal.price)?,
                    quantity: quantity("quantity", &deal.quantity)?,
                    taker_side: trade_side(deal.trade_type)?,
                    time_ms: deal.time,
                });
            }
            Ok(MexcEvent::Trades {
                symbol_code: symbol()?,
                trades,
            })
        }
        Some(Body::PrivateOrders(o)) => Ok(MexcEvent::Order(order_update(symbol()?, &o, time_ms)?)),
        Some(Body::PrivateDeals(d)) => Ok(MexcEvent::Fill(fill(symbol()?, &d)?)),
        Some(Body::PrivateAccount(a)) => Ok(MexcEvent::Balance(balance(&a)?)),
        _ => Err(DecodeError::Unsupported {
            channel: channel.chars().take(120).collect(),
        }),
    }
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

/// The levels of a depth diff, in a vector of their exact size.
fn levels(items: &[PublicAggreDepthV3ApiItem]) -> Result<Vec<PriceLevel>, DecodeError> {
    let mut levels = Vec::with_capacity(items.len());
    for item in items {
        levels.push(PriceLevel {
            price: price("price", &item.price)?,
            quantity: quantity("quantity", &item.quantity)?,
        });
    }
    Ok(levels)
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

/// Decodes frames and keeps count: every failure is counted and logged (the first one of a
/// kind at `warn`, later ones at `debug`, so a flood of bad frames cannot flood the log).
#[derive(Debug, Default)]
pub struct FrameDecoder {
    decoded: AtomicU64,
    failed: AtomicU64,
}

impl FrameDecoder {
    /// A decoder with zeroed counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `frame`; `None` (counted and logged) if it is not a supported push.
    pub fn decode(&self, frame: &[u8]) -> Option<MexcEvent> {
        self.decode_with(frame, decode_push)
    }

    /// Decodes `frame` with a venue's `decode` function, counting and logging as
    /// [`FrameDecoder::decode`] does.
    pub fn decode_with(
        &self,
        frame: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<MexcEvent, DecodeError>,
    ) -> Option<MexcEvent> {
        match decode(frame) {
            Ok(event) => {
                self.decoded.fetch_add(1, Ordering::Relaxed);
                Some(event)
            }
            Err(error) => {
                let failed = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
                if failed == 1 || failed.is_power_of_two() {
                    tracing::warn!(%error, failed, bytes = frame.len(), "push frame dropped");
                } else {
                    tracing::debug!(%error, failed, "push frame dropped");
                }
                None
            }
        }
    }

    /// Frames decoded.
    pub fn decoded(&self) -> u64 {
        self.decoded.load(Ordering::Relaxed)
    }

    /// Frames that failed to decode.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}
