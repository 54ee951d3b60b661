//! [`MexcSpot`]: MEXC spot as a [`Venue`]: REST through exchange-rest, protobuf pushes, listen
//! keys.

use std::sync::Arc;

use exchange_rest::model::OrderType as RestOrderType;
use exchange_rest::request::{CancelOrder, CloseListenKey, GetListenKeys, GetOpenOrders};
use exchange_rest::{MexcRestClient, NewOrderRequest, OrderRef};
use lifecycle_core::BoxFuture;
use tokio::time::Instant;

use crate::domain::asset::AssetName;
use crate::domain::balance::Balance;
use crate::domain::client_order_id::ClientOrderId;
use crate::domain::depth::DepthSnapshot;
use crate::domain::depth_sequencing::DepthSequencing;
use crate::domain::limits::VenueValue;
use crate::domain::order::{Order, OrderType};
use crate::domain::push_interval::PushInterval;
use crate::domain::rules::SymbolRules;
use crate::domain::symbol::Symbol;
use crate::error::ExchangeError;
use crate::mexc::rest_mapping::in_range;
use crate::mexc::{
    MexcDepthVersions, MexcPushDecoder, PRIVATE_BALANCES_CHANNEL, PRIVATE_FILLS_CHANNEL,
    PRIVATE_ORDERS_CHANNEL, aggregated_depth_channel, book_ticker_channel, order_from_rest,
    rules_from_info, side_to_rest, snapshot_from_rest, symbol_code, trades_channel,
};
use crate::private::OrderRequest;
use crate::push_decoder::PushDecoder;
use crate::venue::{OrderKey, PlacedOrder, Venue};

/// MEXC spot over a [`MexcRestClient`] (which its owner starts and stops).
#[derive(Debug, Clone)]
pub struct MexcSpot {
    rest: Arc<MexcRestClient>,
}

impl MexcSpot {
    /// MEXC spot through `rest`.
    pub fn new(rest: Arc<MexcRestClient>) -> Self {
        Self { rest }
    }

    /// The REST client.
    pub fn rest(&self) -> &Arc<MexcRestClient> {
        &self.rest
    }
}

fn order_ref(key: OrderKey) -> OrderRef {
    match key {
        OrderKey::OrderId(id) => OrderRef::OrderId(id),
        OrderKey::ClientOrderId(id) => OrderRef::ClientOrderId(id.as_str().to_owned()),
    }
}

fn order_type_to_rest(order_type: OrderType) -> RestOrderType {
    match order_type {
        OrderType::Limit => RestOrderType::Limit,
        OrderType::LimitMaker => RestOrderType::LimitMaker,
        OrderType::Market => RestOrderType::Market,
        OrderType::ImmediateOrCancel => RestOrderType::ImmediateOrCancel,
        OrderType::FillOrKill => RestOrderType::FillOrKill,
    }
}

/// Bounds `call` by `deadline`, if any: no answer by then is a timeout (an unknown outcome
/// for order calls, which the caller reconciles).
async fn bounded<T>(
    deadline: Option<Instant>,
    call: impl Future<Output = Result<T, exchange_rest::RestError>>,
) -> Result<T, ExchangeError> {
    match deadline {
        None => Ok(call.await?),
        Some(deadline) => match tokio::time::timeout_at(deadline, call).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(ExchangeError::Rest(exchange_rest::RestError::Timeout)),
        },
    }
}

impl Venue for MexcSpot {
    fn name(&self) -> &str {
        "mexc.spot"
    }

    fn symbol_code(&self, symbol: &Symbol) -> String {
        symbol_code(symbol)
    }

    fn placement_window(&self) -> std::time::Duration {
        // A signed request is accepted while its timestamp is at most `recvWindow` old, and
        // up to a second ahead of the venue's clock.
        self.rest.config().recv_window + std::time::Duration::from_secs(1)
    }

    fn market_rules<'a>(
        &'a self,
        codes: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<(String, SymbolRules)>, ExchangeError>> {
        Box::pin(async move {
            let info = self.rest.exchange_info(codes).await?;
            codes
                .iter()
                .map(|code| {
                    let entry = info
                        .symbols
                        .iter()
                        .find(|s| s.symbol == *code)
                        .ok_or_else(|| ExchangeError::UnknownSymbol((*code).to_owned()))?;
                    Ok(((*code).to_owned(), rules_from_info(entry)?))
                })
                .collect()
        })
    }

    fn depth_snapshot<'a>(
        &'a self,
        code: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<DepthSnapshot, ExchangeError>> {
        Box::pin(async move {
            let depth = self.rest.depth(code, Some(limit)).await?;
            Ok(snapshot_from_rest(code, &depth)?)
        })
    }

    fn place_order<'a>(
        &'a self,
        code: &'a str,
        order: &'a OrderRequest,
        id: &'a ClientOrderId,
    ) -> BoxFuture<'a, Result<PlacedOrder, ExchangeError>> {
        Box::pin(async move {
            let side = side_to_rest(order.side);
            let wire = match order.order_type {
                OrderType::Market => NewOrderRequest::market(code, side, order.quantity),
                other => NewOrderRequest::priced(
                    code,
                    side,
                    order_type_to_rest(other),
                    order.price,
                    order.quantity,
                ),
            }
            .client_order_id(id.as_str());
            let ack = self.rest.place_order(&wire).await?;
            Ok(PlacedOrder {
                order_id: ack.order_id,
                time_ms: ack.transact_time.unwrap_or_default(),
            })
        })
    }

    fn cancel_order<'a>(
        &'a self,
        symbol: &'a Symbol,
        code: &'a str,
        key: OrderKey,
        deadline: Option<Instant>,
    ) -> BoxFuture<'a, Result<Order, ExchangeError>> {
        Box::pin(async move {
            let request = CancelOrder {
                symbol: code.to_owned(),
                order: order_ref(key),
            };
            let order = match deadline {
                Some(deadline) => {
                    bounded(Some(deadline), self.rest.execute_until(&request, deadline)).await?
                }
                None => self.rest.execute(&request).await?,
            };
            Ok(order_from_rest(&order, symbol)?)
        })
    }

    fn open_orders<'a>(
        &'a self,
        symbol: &'a Symbol,
        code: &'a str,
        deadline: Option<Instant>,
    ) -> BoxFuture<'a, Result<Vec<Order>, ExchangeError>> {
        Box::pin(async move {
            let request = GetOpenOrders {
                symbol: code.to_owned(),
            };
            let orders = match deadline {
                Some(deadline) => {
                    bounded(Some(deadline), self.rest.execute_until(&request, deadline)).await?
                }
                None => self.rest.execute(&request).await?,
            };
            orders
                .iter()
                .map(|order| order_from_rest(order, symbol).map_err(ExchangeError::from))
                .collect()
        })
    }

    fn query_order<'a>(
        &'a self,
        symbol: &'a Symbol,
        code: &'a str,
        key: OrderKey,
    ) -> BoxFuture<'a, Result<Order, ExchangeError>> {
        Box::pin(async move {
            let order = self.rest.query_order(code, order_ref(key)).await?;
            Ok(order_from_rest(&order, symbol)?)
        })
    }

    fn balances(&self) -> BoxFuture<'_, Result<Vec<Balance>, ExchangeError>> {
        Box::pin(async move {
            let account = self.rest.account().await?;
            account
                .balances
                .iter()
                .map(|b| {
                    Ok(Balance {
                        asset: AssetName::new(&b.asset)?,
                        free: in_range(&b.asset, "free", VenueValue::Quantity, b.free)?,
                        locked: in_range(&b.asset, "locked", VenueValue::Quantity, b.locked)?,
                    })
                })
                .collect()
        })
    }

    fn open_private_session(&self) -> BoxFuture<'_, Result<String, ExchangeError>> {
        Box::pin(async move { Ok(self.rest.create_listen_key().await?) })
    }

    fn keep_private_session_alive<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ExchangeError>> {
        Box::pin(async move { Ok(self.rest.keep_alive_listen_key(token).await?) })
    }

    fn close_private_session<'a>(
        &'a self,
        token: &'a str,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<(), ExchangeError>> {
        Box::pin(async move {
            let request = CloseListenKey {
                listen_key: token.to_owned(),
            };
            bounded(Some(deadline), self.rest.execute_until(&request, deadline))
                .await
                .map(|_| ())
        })
    }

    fn private_sessions(
        &self,
        deadline: Instant,
    ) -> BoxFuture<'_, Result<Vec<String>, ExchangeError>> {
        Box::pin(async move {
            bounded(
                Some(deadline),
                self.rest.execute_until(&GetListenKeys, deadline),
            )
            .await
            .map(|keys| keys.listen_keys)
        })
    }

    fn private_socket_url(&self, ws_url: &str, token: &str) -> String {
        let separator = if ws_url.contains('?') { '&' } else { '?' };
        format!("{ws_url}{separator}listenKey={token}")
    }

    fn public_channels(&self, codes: &[&str], interval: PushInterval) -> Vec<String> {
        let mut channels: Vec<String> = codes
            .iter()
            .flat_map(|code| {
                [
                    aggregated_depth_channel(code, interval),
                    book_ticker_channel(code, interval),
                    trades_channel(code, interval),
                ]
            })
            .collect();
        channels.sort();
        channels
    }

    fn private_channels(&self) -> Vec<String> {
        [
            PRIVATE_ORDERS_CHANNEL,
            PRIVATE_FILLS_CHANNEL,
            PRIVATE_BALANCES_CHANNEL,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn push_decoder(&self) -> Box<dyn PushDecoder> {
        Box::new(MexcPushDecoder)
    }

    fn depth_sequencing(&self) -> Arc<dyn DepthSequencing> {
        Arc::new(MexcDepthVersions)
    }
}
