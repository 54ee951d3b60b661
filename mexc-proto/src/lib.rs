//! MEXC spot v3 websocket wire messages, hand-written for [`prost`].
//!
//! Every binary data frame MEXC pushes is one [`PushDataV3ApiWrapper`]: the channel name, the
//! symbol, timestamps and exactly one body (see [`push_data_v3_api_wrapper::Body`]). The field
//! numbers follow MEXC's published `websocket-proto` definitions. Bodies that are not modelled
//! here (klines, mini tickers, batch messages) are skipped as unknown fields when decoding, so a
//! frame carrying them still decodes (with `body == None`).
//!
//! ```
//! use mexc_proto::{PushDataV3ApiWrapper, PublicAggreBookTickerV3Api, push_data_v3_api_wrapper::Body};
//! use prost::Message;
//!
//! let frame = PushDataV3ApiWrapper {
//!     channel: "spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT".into(),
//!     symbol: Some("HIFIUSDT".into()),
//!     body: Some(Body::PublicAggreBookTicker(PublicAggreBookTickerV3Api {
//!         bid_price: "0.0999".into(),
//!         ..Default::default()
//!     })),
//!     ..Default::default()
//! };
//! let bytes = frame.encode_to_vec();
//! assert_eq!(PushDataV3ApiWrapper::decode(bytes.as_slice()).unwrap(), frame);
//! ```

#![doc(test(attr(deny(warnings))))]

pub use prost;

mod private;
mod public;

pub use private::{PrivateAccountV3Api, PrivateDealsV3Api, PrivateOrdersV3Api};
pub use public::{
    PublicAggreBookTickerV3Api, PublicAggreDealsV3Api, PublicAggreDealsV3ApiItem,
    PublicAggreDepthV3ApiItem, PublicAggreDepthsV3Api, PublicBookTickerV3Api, PublicDealsV3Api,
    PublicDealsV3ApiItem, PublicIncreaseDepthV3ApiItem, PublicIncreaseDepthsV3Api,
    PublicLimitDepthV3ApiItem, PublicLimitDepthsV3Api,
};

/// The envelope of every binary websocket push.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushDataV3ApiWrapper {
    /// The channel this push belongs to, e.g. `spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT`.
    #[prost(string, tag = "1")]
    pub channel: String,
    /// The typed payload.
    #[prost(
        oneof = "push_data_v3_api_wrapper::Body",
        tags = "301, 302, 303, 304, 305, 306, 307, 313, 314, 315"
    )]
    pub body: Option<push_data_v3_api_wrapper::Body>,
    /// The symbol (uppercase), set on public and private pushes about one market.
    #[prost(string, optional, tag = "3")]
    pub symbol: Option<String>,
    /// MEXC's internal symbol id.
    #[prost(string, optional, tag = "4")]
    pub symbol_id: Option<String>,
    /// Event creation time, ms since the Unix epoch.
    #[prost(int64, optional, tag = "5")]
    pub create_time: Option<i64>,
    /// Send time, ms since the Unix epoch.
    #[prost(int64, optional, tag = "6")]
    pub send_time: Option<i64>,
}

/// Nested types of [`PushDataV3ApiWrapper`].
pub mod push_data_v3_api_wrapper {
    use super::*;

    /// The `oneof body` of [`PushDataV3ApiWrapper`] (field number in brackets).
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Body {
        /// (301) Public trades (non-aggregated, legacy).
        #[prost(message, tag = "301")]
        PublicDeals(PublicDealsV3Api),
        /// (302) Incremental depth (non-aggregated, legacy).
        #[prost(message, tag = "302")]
        PublicIncreaseDepths(PublicIncreaseDepthsV3Api),
        /// (303) Partial book depth snapshot (top 5/10/20).
        #[prost(message, tag = "303")]
        PublicLimitDepths(PublicLimitDepthsV3Api),
        /// (304) Private order update.
        #[prost(message, tag = "304")]
        PrivateOrders(PrivateOrdersV3Api),
        /// (305) Book ticker (non-aggregated, legacy).
        #[prost(message, tag = "305")]
        PublicBookTicker(PublicBookTickerV3Api),
        /// (306) Private fill.
        #[prost(message, tag = "306")]
        PrivateDeals(PrivateDealsV3Api),
        /// (307) Private balance change.
        #[prost(message, tag = "307")]
        PrivateAccount(PrivateAccountV3Api),
        /// (313) Aggregated depth diff.
        #[prost(message, tag = "313")]
        PublicAggreDepths(PublicAggreDepthsV3Api),
        /// (314) Aggregated trades.
        #[prost(message, tag = "314")]
        PublicAggreDeals(PublicAggreDealsV3Api),
        /// (315) Aggregated book ticker.
        #[prost(message, tag = "315")]
        PublicAggreBookTicker(PublicAggreBookTickerV3Api),
    }
}
