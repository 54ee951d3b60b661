//! Websocket channel names: which ones exist, which are refused.

/// Private channel names (only on a listen-key connection).
pub const PRIVATE_ORDERS: &str = "spot@private.orders.v3.api.pb";
/// Private fills.
pub const PRIVATE_DEALS: &str = "spot@private.deals.v3.api.pb";
/// Private balance changes.
pub const PRIVATE_ACCOUNT: &str = "spot@private.account.v3.api.pb";

/// Aggregation intervals offered by the aggregated channels.
pub const INTERVALS: [&str; 2] = ["100ms", "10ms"];
/// The length of each of [`INTERVALS`]' windows.
pub const INTERVAL_PERIODS: [std::time::Duration; 2] = [
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(10),
];
/// Levels offered by the partial-depth channel.
pub const LIMIT_LEVELS: [usize; 3] = [5, 10, 20];

/// Aggregated depth channel of a symbol.
pub fn aggre_depth(interval: &str, symbol: &str) -> String {
    format!("spot@public.aggre.depth.v3.api.pb@{interval}@{symbol}")
}

/// Partial depth channel of a symbol.
pub fn limit_depth(symbol: &str, levels: usize) -> String {
    format!("spot@public.limit.depth.v3.api.pb@{symbol}@{levels}")
}

/// Aggregated book ticker channel of a symbol.
pub fn book_ticker(interval: &str, symbol: &str) -> String {
    format!("spot@public.aggre.bookTicker.v3.api.pb@{interval}@{symbol}")
}

/// Aggregated deals channel of a symbol.
pub fn deals(interval: &str, symbol: &str) -> String {
    format!("spot@public.aggre.deals.v3.api.pb@{interval}@{symbol}")
}

/// Which private stream a channel name denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrivateStream {
    /// Order updates.
    Orders,
    /// Fills.
    Deals,
    /// Balance changes.
    Account,
}

impl PrivateStream {
    /// Parse a private channel name.
    pub fn parse(channel: &str) -> Option<Self> {
        match channel {
            PRIVATE_ORDERS => Some(Self::Orders),
            PRIVATE_DEALS => Some(Self::Deals),
            PRIVATE_ACCOUNT => Some(Self::Account),
            _ => None,
        }
    }

    /// The channel name.
    pub fn channel(self) -> &'static str {
        match self {
            Self::Orders => PRIVATE_ORDERS,
            Self::Deals => PRIVATE_DEALS,
            Self::Account => PRIVATE_ACCOUNT,
        }
    }
}

/// Whether a channel name is one of MEXC's legacy JSON channels (no `.pb`), which are refused
/// with "Blocked!".
pub fn is_legacy_json(channel: &str) -> bool {
    channel.starts_with("spot@") && !channel.contains(".pb")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            aggre_depth("100ms", "BTCUSDT"),
            "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"
        );
        assert_eq!(
            limit_depth("BTCUSDT", 5),
            "spot@public.limit.depth.v3.api.pb@BTCUSDT@5"
        );
        assert!(is_legacy_json("spot@public.deals.v3.api@BTCUSDT"));
        assert!(!is_legacy_json(&deals("10ms", "BTCUSDT")));
        assert_eq!(
            PrivateStream::parse(PRIVATE_DEALS),
            Some(PrivateStream::Deals)
        );
        assert_eq!(PrivateStream::Account.channel(), PRIVATE_ACCOUNT);
    }
}
