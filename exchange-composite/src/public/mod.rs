//! The public side: market data.

mod exchange;
mod feed;
mod market_data;

pub use exchange::PublicCompositeExchange;
pub(crate) use exchange::PublicParts;
pub use market_data::{
    BOOK_TOP_DEPTH, MarketData, MarketDataHandler, OrderBookTop, book_ticker_stream,
    order_book_stream, trades_stream,
};
