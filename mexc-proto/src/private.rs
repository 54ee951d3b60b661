//! Private (listen-key) bodies: orders, fills, balances.

/// (304) Order update.
///
/// Enums: `order_type` 1 LIMIT, 2 POST_ONLY, 3 IOC, 4 FOK, 5 MARKET; `trade_type` 1 buy,
/// 2 sell; `status` 1 new, 2 filled, 3 partially filled, 4 canceled, 5 partially canceled.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PrivateOrdersV3Api {
    /// Order id.
    #[prost(string, tag = "1")]
    pub id: String,
    /// Client order id.
    #[prost(string, tag = "2")]
    pub client_id: String,
    /// Limit price.
    #[prost(string, tag = "3")]
    pub price: String,
    /// Original quantity.
    #[prost(string, tag = "4")]
    pub quantity: String,
    /// Original quote amount (price x quantity, or quoteOrderQty).
    #[prost(string, tag = "5")]
    pub amount: String,
    /// Average fill price.
    #[prost(string, tag = "6")]
    pub avg_price: String,
    /// Order type (see the type doc).
    #[prost(int32, tag = "7")]
    pub order_type: i32,
    /// Side: 1 buy, 2 sell.
    #[prost(int32, tag = "8")]
    pub trade_type: i32,
    /// Whether the last fill was as maker.
    #[prost(bool, tag = "9")]
    pub is_maker: bool,
    /// Quote amount not yet filled.
    #[prost(string, tag = "10")]
    pub remain_amount: String,
    /// Quantity not yet filled.
    #[prost(string, tag = "11")]
    pub remain_quantity: String,
    /// Quantity of the last fill, when this update is a fill.
    #[prost(string, optional, tag = "12")]
    pub last_deal_quantity: Option<String>,
    /// Cumulative filled quantity.
    #[prost(string, tag = "13")]
    pub cumulative_quantity: String,
    /// Cumulative filled quote amount.
    #[prost(string, tag = "14")]
    pub cumulative_amount: String,
    /// Status (see the type doc).
    #[prost(int32, tag = "15")]
    pub status: i32,
    /// Order creation time, ms.
    #[prost(int64, tag = "16")]
    pub create_time: i64,
    /// Market (quote asset), optional.
    #[prost(string, optional, tag = "17")]
    pub market: Option<String>,
}

/// (306) A fill of one of the account's orders.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PrivateDealsV3Api {
    /// Fill price.
    #[prost(string, tag = "1")]
    pub price: String,
    /// Fill quantity.
    #[prost(string, tag = "2")]
    pub quantity: String,
    /// Fill quote amount.
    #[prost(string, tag = "3")]
    pub amount: String,
    /// Side of the account's order: 1 buy, 2 sell.
    #[prost(int32, tag = "4")]
    pub trade_type: i32,
    /// Whether the account's order was the maker.
    #[prost(bool, tag = "5")]
    pub is_maker: bool,
    /// Whether both sides belong to the same account.
    #[prost(bool, tag = "6")]
    pub is_self_trade: bool,
    /// Trade id.
    #[prost(string, tag = "7")]
    pub trade_id: String,
    /// Client order id of the account's order.
    #[prost(string, tag = "8")]
    pub client_order_id: String,
    /// Order id of the account's order.
    #[prost(string, tag = "9")]
    pub order_id: String,
    /// Fee charged.
    #[prost(string, tag = "10")]
    pub fee_amount: String,
    /// Asset the fee was charged in.
    #[prost(string, tag = "11")]
    pub fee_currency: String,
    /// Fill time, ms.
    #[prost(int64, tag = "12")]
    pub time: i64,
}

/// (307) A balance change of one asset.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PrivateAccountV3Api {
    /// Asset name, e.g. `USDT`.
    #[prost(string, tag = "1")]
    pub vcoin_name: String,
    /// Asset id.
    #[prost(string, tag = "2")]
    pub coin_id: String,
    /// Free balance after the change.
    #[prost(string, tag = "3")]
    pub balance_amount: String,
    /// Change of the free balance.
    #[prost(string, tag = "4")]
    pub balance_amount_change: String,
    /// Locked (frozen) balance after the change.
    #[prost(string, tag = "5")]
    pub frozen_amount: String,
    /// Change of the locked balance.
    #[prost(string, tag = "6")]
    pub frozen_amount_change: String,
    /// Change type, e.g. `ENTRUST`, `ENTRUST_CANCEL`, `TRADE_FEE`.
    #[prost(string, tag = "7")]
    pub r#type: String,
    /// Change time, ms.
    #[prost(int64, tag = "8")]
    pub time: i64,
}
