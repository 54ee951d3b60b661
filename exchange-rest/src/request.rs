//! Typed requests: one type per endpoint, each naming its [`Endpoint`], its parameters and its
//! response type. [`MexcRestClient::execute`](crate::MexcRestClient::execute) runs any of them.

use serde::de::DeserializeOwned;

use crate::endpoint::Endpoint;
use crate::model::{
    AccountInfo, BookTicker, CoinConfig, ContractDetailResponse, Empty, ExchangeInfo, ListenKey,
    ListenKeys, NewOrderAck, NewOrderRequest, Order, OrderBookSnapshot, OrderRef, PriceTicker,
    ServerTime, Ticker24h,
};
use crate::params::Params;

/// A request to one endpoint.
pub trait RestRequest {
    /// The endpoint.
    const ENDPOINT: Endpoint;
    /// What it answers.
    type Response: DeserializeOwned;
    /// Its query parameters, in sending order (signed requests get `recvWindow`, `timestamp`
    /// and `signature` appended by the client).
    fn params(&self) -> Params {
        Params::new()
    }
}

macro_rules! unit_request {
    ($(#[$doc:meta])* $name:ident => $endpoint:ident, $response:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        impl RestRequest for $name {
            const ENDPOINT: Endpoint = Endpoint::$endpoint;
            type Response = $response;
        }
    };
}

unit_request!(
    /// `GET /api/v3/ping`.
    Ping => Ping, Empty
);
unit_request!(
    /// `GET /api/v3/time`.
    GetServerTime => Time, ServerTime
);
unit_request!(
    /// `GET /api/v3/ticker/bookTicker` without a symbol: every market.
    GetAllBookTickers => BookTicker, Vec<BookTicker>
);
unit_request!(
    /// `GET /api/v3/account`.
    GetAccount => Account, AccountInfo
);
unit_request!(
    /// `POST /api/v3/userDataStream`.
    CreateListenKey => CreateListenKey, ListenKey
);
unit_request!(
    /// `GET /api/v3/userDataStream`.
    GetListenKeys => ListListenKeys, ListenKeys
);
unit_request!(
    /// `GET /api/v3/capital/config/getall`.
    GetCoinConfig => CoinConfig, Vec<CoinConfig>
);

/// `GET /api/v3/exchangeInfo`, for some markets or (empty) all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetExchangeInfo {
    /// Markets to describe; empty for all.
    pub symbols: Vec<String>,
}

impl RestRequest for GetExchangeInfo {
    const ENDPOINT: Endpoint = Endpoint::ExchangeInfo;
    type Response = ExchangeInfo;
    fn params(&self) -> Params {
        let mut p = Params::new();
        match self.symbols.as_slice() {
            [] => {}
            [one] => {
                p.push("symbol", one);
            }
            many => {
                p.push("symbols", many.join(","));
            }
        }
        p
    }
}

/// `GET /api/v3/depth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetDepth {
    /// The market.
    pub symbol: String,
    /// Levels per side (venue default 100, max 5000).
    pub limit: Option<u32>,
}

impl RestRequest for GetDepth {
    const ENDPOINT: Endpoint = Endpoint::Depth;
    type Response = OrderBookSnapshot;
    fn params(&self) -> Params {
        let mut p = Params::new();
        p.push("symbol", &self.symbol)
            .push_opt_u64("limit", self.limit.map(u64::from));
        p
    }
}

macro_rules! symbol_request {
    ($(#[$doc:meta])* $name:ident => $endpoint:ident, $response:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The market.
            pub symbol: String,
        }

        impl RestRequest for $name {
            const ENDPOINT: Endpoint = Endpoint::$endpoint;
            type Response = $response;
            fn params(&self) -> Params {
                symbol_params(&self.symbol)
            }
        }
    };
}

symbol_request!(
    /// `GET /api/v3/ticker/bookTicker?symbol=`.
    GetBookTicker => BookTicker, BookTicker
);
symbol_request!(
    /// `GET /api/v3/ticker/price?symbol=`.
    GetPriceTicker => PriceTicker, PriceTicker
);
symbol_request!(
    /// `GET /api/v3/ticker/24hr?symbol=`.
    GetTicker24h => Ticker24h, Ticker24h
);

fn symbol_params(symbol: &str) -> Params {
    let mut p = Params::new();
    p.push("symbol", symbol);
    p
}

fn order_params(order: &NewOrderRequest) -> Params {
    let mut p = Params::new();
    p.push("symbol", &order.symbol)
        .push("side", order.side.as_str())
        .push("type", order.order_type.as_str())
        .push_opt_decimal("quantity", order.quantity)
        .push_opt_decimal("quoteOrderQty", order.quote_order_qty)
        .push_opt_decimal("price", order.price)
        .push_opt("newClientOrderId", order.client_order_id.as_deref());
    p
}

impl RestRequest for NewOrderRequest {
    const ENDPOINT: Endpoint = Endpoint::NewOrder;
    type Response = NewOrderAck;
    fn params(&self) -> Params {
        order_params(self)
    }
}

/// `POST /api/v3/order/test`: validates an order without placing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOrder(pub NewOrderRequest);

impl RestRequest for TestOrder {
    const ENDPOINT: Endpoint = Endpoint::TestOrder;
    type Response = Empty;
    fn params(&self) -> Params {
        order_params(&self.0)
    }
}

fn order_ref_params(symbol: &str, order: &OrderRef) -> Params {
    let mut p = Params::new();
    p.push("symbol", symbol);
    match order {
        OrderRef::OrderId(id) => p.push("orderId", id),
        OrderRef::ClientOrderId(id) => p.push("origClientOrderId", id),
    };
    p
}

/// `DELETE /api/v3/order`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelOrder {
    /// The market.
    pub symbol: String,
    /// Which order.
    pub order: OrderRef,
}

impl RestRequest for CancelOrder {
    const ENDPOINT: Endpoint = Endpoint::CancelOrder;
    type Response = Order;
    fn params(&self) -> Params {
        order_ref_params(&self.symbol, &self.order)
    }
}

/// `GET /api/v3/order`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOrder {
    /// The market.
    pub symbol: String,
    /// Which order.
    pub order: OrderRef,
}

impl RestRequest for QueryOrder {
    const ENDPOINT: Endpoint = Endpoint::QueryOrder;
    type Response = Order;
    fn params(&self) -> Params {
        order_ref_params(&self.symbol, &self.order)
    }
}

/// `DELETE /api/v3/openOrders`: cancels every open order of up to 5 markets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelAllOrders {
    /// The markets (1 to 5).
    pub symbols: Vec<String>,
}

impl RestRequest for CancelAllOrders {
    const ENDPOINT: Endpoint = Endpoint::CancelAllOrders;
    type Response = Vec<Order>;
    fn params(&self) -> Params {
        let mut p = Params::new();
        p.push("symbol", self.symbols.join(","));
        p
    }
}

/// `GET /api/v3/openOrders`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetOpenOrders {
    /// The market.
    pub symbol: String,
}

impl RestRequest for GetOpenOrders {
    const ENDPOINT: Endpoint = Endpoint::OpenOrders;
    type Response = Vec<Order>;
    fn params(&self) -> Params {
        let mut p = Params::new();
        p.push("symbol", &self.symbol);
        p
    }
}

/// `GET /api/v3/allOrders`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetAllOrders {
    /// The market.
    pub symbol: String,
    /// How many (venue default 500, max 1000).
    pub limit: Option<u32>,
}

impl RestRequest for GetAllOrders {
    const ENDPOINT: Endpoint = Endpoint::AllOrders;
    type Response = Vec<Order>;
    fn params(&self) -> Params {
        let mut p = Params::new();
        p.push("symbol", &self.symbol)
            .push_opt_u64("limit", self.limit.map(u64::from));
        p
    }
}

/// `PUT /api/v3/userDataStream`: extends a listen key's life by 60 minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepAliveListenKey {
    /// The key.
    pub listen_key: String,
}

impl RestRequest for KeepAliveListenKey {
    const ENDPOINT: Endpoint = Endpoint::KeepAliveListenKey;
    type Response = ListenKey;
    fn params(&self) -> Params {
        let mut p = Params::new();
        p.push("listenKey", &self.listen_key);
        p
    }
}

/// `DELETE /api/v3/userDataStream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseListenKey {
    /// The key.
    pub listen_key: String,
}

impl RestRequest for CloseListenKey {
    const ENDPOINT: Endpoint = Endpoint::CloseListenKey;
    type Response = ListenKey;
    fn params(&self) -> Params {
        let mut p = Params::new();
        p.push("listenKey", &self.listen_key);
        p
    }
}

/// `GET /api/v1/contract/detail` (futures venue), for one contract or all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetContractDetail {
    /// One contract (e.g. `BTC_USDT`), or all.
    pub symbol: Option<String>,
}

impl RestRequest for GetContractDetail {
    const ENDPOINT: Endpoint = Endpoint::ContractDetail;
    type Response = ContractDetailResponse;
    fn params(&self) -> Params {
        let mut p = Params::new();
        p.push_opt("symbol", self.symbol.as_deref());
        p
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::model::Side;

    #[test]
    fn new_order_parameters_in_protocol_order() {
        let order = NewOrderRequest::limit("BTCUSDT", Side::Buy, Decimal::new(11, 0), Decimal::ONE);
        let pairs: Vec<_> = order
            .params()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            pairs.join("&"),
            "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11"
        );
        let cancel = CancelOrder {
            symbol: "HIFIUSDT".into(),
            order: OrderRef::ClientOrderId("mm-1".into()),
        };
        assert_eq!(
            cancel.params().as_query(),
            "symbol=HIFIUSDT&origClientOrderId=mm-1"
        );
        let info = GetExchangeInfo {
            symbols: vec!["A".into(), "B".into()],
        };
        assert_eq!(info.params().as_query(), "symbols=A%2CB");
    }
}
