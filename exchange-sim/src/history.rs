//! Recent trades, kept for the REST endpoints that report them (`trades`, `myTrades`,
//! `ticker/price`, `ticker/24hr`, `avgPrice`): public trades per symbol and fills per
//! account, each bounded so a long run keeps a constant footprint.

use std::collections::{HashMap, VecDeque};

use rust_decimal::Decimal;

use crate::accounts::AccountId;
use crate::events::{Event, PrivateDeal, PublicTrade};

/// Public trades kept per symbol.
pub(crate) const PUBLIC_TRADES_KEPT: usize = 5_000;
/// Fills kept per account.
pub(crate) const FILLS_KEPT: usize = 5_000;
/// The window of `ticker/24hr`, ms.
pub(crate) const DAY_MS: i64 = 24 * 3600 * 1000;
/// The window of `avgPrice`, minutes (MEXC: 5).
pub(crate) const AVG_PRICE_MINUTES: i64 = 5;

/// Trade statistics over a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WindowStats {
    /// Price of the first trade of the window.
    pub(crate) open: Decimal,
    /// Highest price.
    pub(crate) high: Decimal,
    /// Lowest price.
    pub(crate) low: Decimal,
    /// Price of the last trade.
    pub(crate) last: Decimal,
    /// Quantity of the last trade.
    pub(crate) last_quantity: Decimal,
    /// Base quantity traded.
    pub(crate) volume: Decimal,
    /// Quote amount traded.
    pub(crate) quote_volume: Decimal,
    /// Time of the first trade of the window, ms.
    pub(crate) open_time: i64,
}

/// Recent public trades and fills.
#[derive(Debug)]
pub(crate) struct TradeHistory {
    public: HashMap<String, VecDeque<PublicTrade>>,
    fills: HashMap<AccountId, VecDeque<PrivateDeal>>,
    trades_kept: usize,
    fills_kept: usize,
}

impl Default for TradeHistory {
    fn default() -> Self {
        Self::new(PUBLIC_TRADES_KEPT, FILLS_KEPT)
    }
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, kept: usize) {
    queue.push_back(item);
    while queue.len() > kept {
        queue.pop_front();
    }
}

impl TradeHistory {
    /// An empty history keeping `trades_kept` public trades per symbol and `fills_kept` fills
    /// per account.
    pub(crate) fn new(trades_kept: usize, fills_kept: usize) -> Self {
        Self {
            public: HashMap::new(),
            fills: HashMap::new(),
            trades_kept,
            fills_kept,
        }
    }

    /// Remember the trades and fills among the events of one engine operation.
    pub(crate) fn record(&mut self, events: &[Event]) {
        for event in events {
            match event {
                Event::Trades(trades) => {
                    let queue = self.public.entry(trades.symbol.clone()).or_default();
                    for trade in &trades.trades {
                        push_bounded(queue, trade.clone(), self.trades_kept);
                    }
                }
                Event::Deal(deal) => {
                    let queue = self.fills.entry(deal.account).or_default();
                    push_bounded(queue, (**deal).clone(), self.fills_kept);
                }
                _ => {}
            }
        }
    }

    /// The newest `limit` public trades of `symbol`, newest first.
    pub(crate) fn recent_trades(&self, symbol: &str, limit: usize) -> Vec<PublicTrade> {
        self.public
            .get(symbol)
            .map(|q| q.iter().rev().take(limit).cloned().collect())
            .unwrap_or_default()
    }

    /// The last trade price of `symbol`.
    pub(crate) fn last_price(&self, symbol: &str) -> Option<Decimal> {
        self.public.get(symbol)?.back().map(|t| t.price)
    }

    /// Statistics of the trades of `symbol` at or after `since` (ms).
    pub(crate) fn stats_since(&self, symbol: &str, since: i64) -> Option<WindowStats> {
        let mut trades = self.public.get(symbol)?.iter().filter(|t| t.time >= since);
        let first = trades.next()?;
        let mut stats = WindowStats {
            open: first.price,
            high: first.price,
            low: first.price,
            last: first.price,
            last_quantity: first.quantity,
            volume: first.quantity,
            quote_volume: first.price * first.quantity,
            open_time: first.time,
        };
        for trade in trades {
            stats.high = stats.high.max(trade.price);
            stats.low = stats.low.min(trade.price);
            stats.last = trade.price;
            stats.last_quantity = trade.quantity;
            stats.volume += trade.quantity;
            stats.quote_volume += trade.price * trade.quantity;
        }
        Some(stats)
    }

    /// The fills of `account` on `symbol` within `start..=end` (ms, either open), oldest
    /// first, at most `limit` of the newest.
    pub(crate) fn fills(
        &self,
        account: AccountId,
        symbol: &str,
        range: (Option<i64>, Option<i64>),
        limit: usize,
    ) -> Vec<PrivateDeal> {
        let (start, end) = range;
        let mut fills: Vec<PrivateDeal> = self
            .fills
            .get(&account)
            .map(|q| {
                q.iter()
                    .rev()
                    .filter(|d| d.symbol == symbol)
                    .filter(|d| {
                        start.is_none_or(|s| d.time >= s) && end.is_none_or(|e| d.time <= e)
                    })
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        fills.reverse();
        fills
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::PublicTrades;

    fn trade(price: i64, quantity: i64, time: i64) -> PublicTrade {
        PublicTrade {
            price: Decimal::from(price),
            quantity: Decimal::from(quantity),
            taker_is_buyer: true,
            trade_id: u64::try_from(time).unwrap_or_default(),
            time,
        }
    }

    #[test]
    fn stats_cover_the_window_only() {
        let mut history = TradeHistory::default();
        history.record(&[Event::Trades(PublicTrades {
            symbol: "AAAUSDT".into(),
            trades: vec![
                trade(50, 1, 1),
                trade(10, 2, 10),
                trade(14, 1, 20),
                trade(12, 3, 30),
            ],
        })]);
        let stats = history
            .stats_since("AAAUSDT", 5)
            .unwrap_or_else(|| panic!("no stats"));
        assert_eq!(stats.open, Decimal::from(10));
        assert_eq!(stats.high, Decimal::from(14));
        assert_eq!(stats.low, Decimal::from(10));
        assert_eq!(stats.last, Decimal::from(12));
        assert_eq!(stats.volume, Decimal::from(6));
        assert_eq!(stats.quote_volume, Decimal::from(20 + 14 + 36));
        assert_eq!(stats.open_time, 10);
        assert_eq!(history.stats_since("AAAUSDT", 31), None);
        assert_eq!(history.last_price("AAAUSDT"), Some(Decimal::from(12)));
        let recent = history.recent_trades("AAAUSDT", 2);
        assert_eq!(
            recent.iter().map(|t| t.time).collect::<Vec<_>>(),
            vec![30, 20]
        );
    }

    #[test]
    fn history_is_bounded() {
        let mut history = TradeHistory::default();
        let many: Vec<PublicTrade> = (0..i64::try_from(PUBLIC_TRADES_KEPT).unwrap_or(0) + 10)
            .map(|i| trade(1, 1, i))
            .collect();
        history.record(&[Event::Trades(PublicTrades {
            symbol: "AAAUSDT".into(),
            trades: many,
        })]);
        assert_eq!(
            history.recent_trades("AAAUSDT", usize::MAX).len(),
            PUBLIC_TRADES_KEPT
        );
    }

    /// A venue embedded in a long run keeps a small history: the bound is its configuration's.
    #[test]
    fn the_trade_bound_is_configurable() {
        let mut history = TradeHistory::new(3, 2);
        let many: Vec<PublicTrade> = (0..10).map(|i| trade(1, 1, i)).collect();
        history.record(&[Event::Trades(PublicTrades {
            symbol: "AAAUSDT".into(),
            trades: many,
        })]);
        let kept = history.recent_trades("AAAUSDT", usize::MAX);
        assert_eq!(
            kept.iter().map(|t| t.time).collect::<Vec<_>>(),
            vec![9, 8, 7],
            "the newest three"
        );
    }
}
