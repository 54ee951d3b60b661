//! The MEXC spot venue: channel names, push decoding, the version rule of its depth diffs,
//! and its REST client with MEXC spot's rate limits ([`MexcRest`]).

mod channels;
mod decode;
mod depth_versions;
mod rest;
mod rest_mapping;
mod spot;

pub use channels::{
    PRIVATE_BALANCES_CHANNEL, PRIVATE_FILLS_CHANNEL, PRIVATE_ORDERS_CHANNEL,
    aggregated_depth_channel, book_ticker_channel, partial_depth_channel, symbol_code,
    trades_channel,
};
pub use decode::{MexcPushDecoder, decode_push};
pub use depth_versions::MexcDepthVersions;
pub use rest::MexcRest;
pub use rest_mapping::{
    order_from_rest, rules_from_info, side_from_rest, side_to_rest, snapshot_from_rest,
    symbol_from_info,
};
pub use spot::MexcSpot;
