//! Public market-data bodies.

/// (313) Aggregated depth diff: absolute quantities per level, `0` removes the level.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicAggreDepthsV3Api {
    /// Changed ask levels.
    #[prost(message, repeated, tag = "1")]
    pub asks: Vec<PublicAggreDepthV3ApiItem>,
    /// Changed bid levels.
    #[prost(message, repeated, tag = "2")]
    pub bids: Vec<PublicAggreDepthV3ApiItem>,
    /// Event type, e.g. `spot@public.aggre.depth.v3.api.pb@100ms`.
    #[prost(string, tag = "3")]
    pub event_type: String,
    /// First book version covered by this diff (decimal string).
    #[prost(string, tag = "4")]
    pub from_version: String,
    /// Last book version covered by this diff (decimal string).
    #[prost(string, tag = "5")]
    pub to_version: String,
    /// Creation time of the newest order included, ms.
    #[prost(int64, tag = "6")]
    pub last_order_create_time: i64,
}

/// One price level of an aggregated depth diff.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicAggreDepthV3ApiItem {
    /// Price (decimal string).
    #[prost(string, tag = "1")]
    pub price: String,
    /// Absolute quantity at this price (decimal string); `0` removes the level.
    #[prost(string, tag = "2")]
    pub quantity: String,
}

/// (303) Partial depth snapshot of the top levels.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicLimitDepthsV3Api {
    /// Ask levels, best first.
    #[prost(message, repeated, tag = "1")]
    pub asks: Vec<PublicLimitDepthV3ApiItem>,
    /// Bid levels, best first.
    #[prost(message, repeated, tag = "2")]
    pub bids: Vec<PublicLimitDepthV3ApiItem>,
    /// Event type.
    #[prost(string, tag = "3")]
    pub event_type: String,
    /// Book version (decimal string).
    #[prost(string, tag = "4")]
    pub version: String,
    /// Creation time of the newest order included, ms.
    #[prost(int64, tag = "5")]
    pub last_order_create_time: i64,
}

/// One price level of a partial depth snapshot.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicLimitDepthV3ApiItem {
    /// Price (decimal string).
    #[prost(string, tag = "1")]
    pub price: String,
    /// Quantity (decimal string).
    #[prost(string, tag = "2")]
    pub quantity: String,
}

/// (315) Aggregated best bid / best ask.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicAggreBookTickerV3Api {
    /// Best bid price.
    #[prost(string, tag = "1")]
    pub bid_price: String,
    /// Quantity at the best bid.
    #[prost(string, tag = "2")]
    pub bid_quantity: String,
    /// Best ask price.
    #[prost(string, tag = "3")]
    pub ask_price: String,
    /// Quantity at the best ask.
    #[prost(string, tag = "4")]
    pub ask_quantity: String,
    /// Book version (decimal string).
    #[prost(string, tag = "5")]
    pub version: String,
    /// Creation time of the newest order included, ms.
    #[prost(int64, tag = "6")]
    pub last_order_create_time: i64,
}

/// (314) Aggregated public trades.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicAggreDealsV3Api {
    /// Trades, oldest first.
    #[prost(message, repeated, tag = "1")]
    pub deals: Vec<PublicAggreDealsV3ApiItem>,
    /// Event type.
    #[prost(string, tag = "2")]
    pub event_type: String,
}

/// One public trade.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicAggreDealsV3ApiItem {
    /// Trade price.
    #[prost(string, tag = "1")]
    pub price: String,
    /// Trade quantity.
    #[prost(string, tag = "2")]
    pub quantity: String,
    /// Taker side: 1 buy, 2 sell.
    #[prost(int32, tag = "3")]
    pub trade_type: i32,
    /// Trade time, ms.
    #[prost(int64, tag = "4")]
    pub time: i64,
    /// Trade id.
    #[prost(string, tag = "5")]
    pub trade_id: String,
}

/// (301) Public trades (legacy, non-aggregated).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicDealsV3Api {
    /// Trades.
    #[prost(message, repeated, tag = "1")]
    pub deals: Vec<PublicDealsV3ApiItem>,
    /// Event type.
    #[prost(string, tag = "2")]
    pub event_type: String,
}

/// One legacy public trade.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicDealsV3ApiItem {
    /// Trade price.
    #[prost(string, tag = "1")]
    pub price: String,
    /// Trade quantity.
    #[prost(string, tag = "2")]
    pub quantity: String,
    /// Taker side: 1 buy, 2 sell.
    #[prost(int32, tag = "3")]
    pub trade_type: i32,
    /// Trade time, ms.
    #[prost(int64, tag = "4")]
    pub time: i64,
}

/// (302) Incremental depth (legacy, non-aggregated).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicIncreaseDepthsV3Api {
    /// Changed ask levels.
    #[prost(message, repeated, tag = "1")]
    pub asks: Vec<PublicIncreaseDepthV3ApiItem>,
    /// Changed bid levels.
    #[prost(message, repeated, tag = "2")]
    pub bids: Vec<PublicIncreaseDepthV3ApiItem>,
    /// Event type.
    #[prost(string, tag = "3")]
    pub event_type: String,
    /// Book version.
    #[prost(string, tag = "4")]
    pub version: String,
}

/// One legacy incremental depth level.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicIncreaseDepthV3ApiItem {
    /// Price.
    #[prost(string, tag = "1")]
    pub price: String,
    /// Absolute quantity; `0` removes the level.
    #[prost(string, tag = "2")]
    pub quantity: String,
}

/// (305) Best bid / best ask (legacy, non-aggregated).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicBookTickerV3Api {
    /// Best bid price.
    #[prost(string, tag = "1")]
    pub bid_price: String,
    /// Quantity at the best bid.
    #[prost(string, tag = "2")]
    pub bid_quantity: String,
    /// Best ask price.
    #[prost(string, tag = "3")]
    pub ask_price: String,
    /// Quantity at the best ask.
    #[prost(string, tag = "4")]
    pub ask_quantity: String,
}
