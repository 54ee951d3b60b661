//! One method per endpoint (each a typed request run through
//! [`MexcRestClient::execute`]).

use super::MexcRestClient;
use crate::error::RestError;
use crate::model::{
    AccountInfo, BookTicker, CoinConfig, ContractDetail, ExchangeInfo, NewOrderAck,
    NewOrderRequest, Order, OrderBookSnapshot, OrderRef, PriceTicker, Ticker24h,
};
use crate::request::{
    CancelAllOrders, CancelOrder, CloseListenKey, CreateListenKey, GetAccount, GetAllBookTickers,
    GetAllOrders, GetBookTicker, GetCoinConfig, GetContractDetail, GetDepth, GetExchangeInfo,
    GetListenKeys, GetOpenOrders, GetPriceTicker, GetServerTime, GetTicker24h, KeepAliveListenKey,
    Ping, QueryOrder, TestOrder,
};

fn owned(symbols: &[&str]) -> Vec<String> {
    symbols.iter().map(|s| (*s).to_owned()).collect()
}

impl MexcRestClient {
    /// `GET /api/v3/ping`.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn ping(&self) -> Result<(), RestError> {
        self.execute(&Ping).await.map(|_| ())
    }

    /// `GET /api/v3/time`: the venue's time, ms since the Unix epoch.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn server_time(&self) -> Result<i64, RestError> {
        self.execute(&GetServerTime).await.map(|t| t.server_time)
    }

    /// `GET /api/v3/exchangeInfo` for `symbols` (empty: every market).
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn exchange_info(&self, symbols: &[&str]) -> Result<ExchangeInfo, RestError> {
        self.execute(&GetExchangeInfo {
            symbols: owned(symbols),
        })
        .await
    }

    /// `GET /api/v3/depth`: a book snapshot of `limit` levels per side (venue default 100).
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn depth(
        &self,
        symbol: &str,
        limit: Option<u32>,
    ) -> Result<OrderBookSnapshot, RestError> {
        self.execute(&GetDepth {
            symbol: symbol.to_owned(),
            limit,
        })
        .await
    }

    /// `GET /api/v3/ticker/bookTicker?symbol=`.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn book_ticker(&self, symbol: &str) -> Result<BookTicker, RestError> {
        self.execute(&GetBookTicker {
            symbol: symbol.to_owned(),
        })
        .await
    }

    /// `GET /api/v3/ticker/price?symbol=`: the last price.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn price_ticker(&self, symbol: &str) -> Result<PriceTicker, RestError> {
        self.execute(&GetPriceTicker {
            symbol: symbol.to_owned(),
        })
        .await
    }

    /// `GET /api/v3/ticker/24hr?symbol=`: statistics of the last 24 hours.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn ticker_24h(&self, symbol: &str) -> Result<Ticker24h, RestError> {
        self.execute(&GetTicker24h {
            symbol: symbol.to_owned(),
        })
        .await
    }

    /// `GET /api/v3/ticker/bookTicker`: every market.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn book_tickers(&self) -> Result<Vec<BookTicker>, RestError> {
        self.execute(&GetAllBookTickers).await
    }

    /// `POST /api/v3/order`. A 5xx, timeout or broken connection is
    /// [`RestError::OutcomeUnknown`]: the order may exist.
    ///
    /// # Errors
    /// See [`RestError`].
    ///
    /// # Cancel safety
    /// As [`execute`](Self::execute): once sent, a dropped placement may still create the
    /// order. Give it a client order id to find it again.
    pub async fn place_order(&self, order: &NewOrderRequest) -> Result<NewOrderAck, RestError> {
        self.execute(order).await
    }

    /// `POST /api/v3/order/test`: validates without placing.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn test_order(&self, order: &NewOrderRequest) -> Result<(), RestError> {
        self.execute(&TestOrder(order.clone())).await.map(|_| ())
    }

    /// `DELETE /api/v3/order`: the cancelled order.
    ///
    /// # Errors
    /// [`RestError::UnknownOrder`] if it does not exist or is already closed; see
    /// [`RestError`].
    ///
    /// # Cancel safety
    /// As [`execute`](Self::execute): once sent, a dropped cancel may still cancel the order;
    /// query it to know.
    pub async fn cancel_order(&self, symbol: &str, order: OrderRef) -> Result<Order, RestError> {
        self.execute(&CancelOrder {
            symbol: symbol.to_owned(),
            order,
        })
        .await
    }

    /// `DELETE /api/v3/openOrders`: cancels every open order of up to 5 markets.
    ///
    /// # Errors
    /// See [`RestError`].
    ///
    /// # Cancel safety
    /// As [`execute`](Self::execute): once sent, any of the orders may have been cancelled;
    /// list the open orders to know.
    pub async fn cancel_all_orders(&self, symbols: &[&str]) -> Result<Vec<Order>, RestError> {
        if symbols.is_empty() || symbols.len() > 5 {
            return Err(RestError::InvalidRequest(format!(
                "cancel all takes 1 to 5 symbols, not {}",
                symbols.len()
            )));
        }
        self.execute(&CancelAllOrders {
            symbols: owned(symbols),
        })
        .await
    }

    /// `GET /api/v3/openOrders`.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn open_orders(&self, symbol: &str) -> Result<Vec<Order>, RestError> {
        self.execute(&GetOpenOrders {
            symbol: symbol.to_owned(),
        })
        .await
    }

    /// `GET /api/v3/order`.
    ///
    /// # Errors
    /// [`RestError::UnknownOrder`] if the venue does not know the order (MEXC's `-2013`); see
    /// [`RestError`].
    pub async fn query_order(&self, symbol: &str, order: OrderRef) -> Result<Order, RestError> {
        self.execute(&QueryOrder {
            symbol: symbol.to_owned(),
            order,
        })
        .await
    }

    /// `GET /api/v3/allOrders`: recent orders, open and closed.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn all_orders(
        &self,
        symbol: &str,
        limit: Option<u32>,
    ) -> Result<Vec<Order>, RestError> {
        self.execute(&GetAllOrders {
            symbol: symbol.to_owned(),
            limit,
        })
        .await
    }

    /// `GET /api/v3/account`.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn account(&self) -> Result<AccountInfo, RestError> {
        self.execute(&GetAccount).await
    }

    /// `POST /api/v3/userDataStream`: a new listen key.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn create_listen_key(&self) -> Result<String, RestError> {
        self.execute(&CreateListenKey).await.map(|k| k.listen_key)
    }

    /// `GET /api/v3/userDataStream`: the account's listen keys.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn listen_keys(&self) -> Result<Vec<String>, RestError> {
        self.execute(&GetListenKeys).await.map(|k| k.listen_keys)
    }

    /// `PUT /api/v3/userDataStream`: extends a listen key by 60 minutes.
    ///
    /// # Errors
    /// See [`RestError`]; an unknown, expired or deleted key is
    /// [`RestError::ListenKeyInvalid`] (MEXC's `730708`): create a new key.
    pub async fn keep_alive_listen_key(&self, listen_key: &str) -> Result<(), RestError> {
        self.execute(&KeepAliveListenKey {
            listen_key: listen_key.to_owned(),
        })
        .await
        .map(|_| ())
    }

    /// `DELETE /api/v3/userDataStream`.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn close_listen_key(&self, listen_key: &str) -> Result<(), RestError> {
        self.execute(&CloseListenKey {
            listen_key: listen_key.to_owned(),
        })
        .await
        .map(|_| ())
    }

    /// `GET /api/v3/capital/config/getall`.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn coin_config(&self) -> Result<Vec<CoinConfig>, RestError> {
        self.execute(&GetCoinConfig).await
    }

    /// `GET /api/v1/contract/detail` (futures venue): every contract.
    ///
    /// # Errors
    /// See [`RestError`]; a `{"success":false}` answer is [`RestError::Rejected`].
    pub async fn contract_details(&self) -> Result<Vec<ContractDetail>, RestError> {
        let response = self.execute(&GetContractDetail::default()).await?;
        if !response.success {
            return Err(RestError::Rejected(crate::error::VenueError {
                status: 200,
                code: response.code,
                msg: "contract detail: success=false".to_owned(),
            }));
        }
        Ok(response.data.0)
    }
}
