//! What the matching engine reports after each operation; the websocket hub turns these into
//! protobuf pushes.

use rust_decimal::Decimal;

use crate::accounts::AccountId;
use crate::matching::Order;

/// One observable consequence of an engine operation.
#[derive(Debug, Clone)]
pub enum Event {
    /// Book levels changed (absolute quantities, zero removes a level).
    Depth(DepthDiff),
    /// The best bid or ask changed.
    BookTicker(BookTickerUpdate),
    /// Public trades of one taker order.
    Trades(PublicTrades),
    /// An order was created, filled or cancelled.
    Order(Box<OrderUpdate>),
    /// A fill of an account's order.
    Deal(Box<PrivateDeal>),
    /// A balance changed.
    Balance(BalanceChange),
}

/// Changed levels of one symbol's book, covering versions `from_version..=to_version`.
#[derive(Debug, Clone)]
pub struct DepthDiff {
    /// Symbol.
    pub symbol: String,
    /// First version covered.
    pub from_version: u64,
    /// Last version covered (the book's version after the change).
    pub to_version: u64,
    /// Changed bid levels `(price, absolute quantity)`.
    pub bids: Vec<(Decimal, Decimal)>,
    /// Changed ask levels `(price, absolute quantity)`.
    pub asks: Vec<(Decimal, Decimal)>,
    /// Event time, ms.
    pub time: i64,
}

/// New top of book.
#[derive(Debug, Clone)]
pub struct BookTickerUpdate {
    /// Symbol.
    pub symbol: String,
    /// Best bid `(price, quantity)`, if any.
    pub bid: Option<(Decimal, Decimal)>,
    /// Best ask `(price, quantity)`, if any.
    pub ask: Option<(Decimal, Decimal)>,
    /// Book version.
    pub version: u64,
    /// Event time, ms.
    pub time: i64,
}

/// Public trades of one symbol.
#[derive(Debug, Clone)]
pub struct PublicTrades {
    /// Symbol.
    pub symbol: String,
    /// Trades, oldest first.
    pub trades: Vec<PublicTrade>,
}

/// One public trade.
#[derive(Debug, Clone)]
pub struct PublicTrade {
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub quantity: Decimal,
    /// Whether the taker bought.
    pub taker_is_buyer: bool,
    /// Trade id.
    pub trade_id: u64,
    /// Time, ms.
    pub time: i64,
}

/// An order's state after a change.
#[derive(Debug, Clone)]
pub struct OrderUpdate {
    /// The order after the change.
    pub order: Order,
    /// Quantity of the fill that caused this update, if any.
    pub last_deal_quantity: Option<Decimal>,
    /// Whether that fill was as maker.
    pub is_maker: bool,
}

/// A fill seen from one account's side.
#[derive(Debug, Clone)]
pub struct PrivateDeal {
    /// Account of the order.
    pub account: AccountId,
    /// Symbol.
    pub symbol: String,
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub quantity: Decimal,
    /// Quote amount.
    pub amount: Decimal,
    /// Whether the account's order bought.
    pub is_buy: bool,
    /// Whether the account's order was maker.
    pub is_maker: bool,
    /// Whether both orders belong to the same account.
    pub is_self_trade: bool,
    /// Trade id.
    pub trade_id: u64,
    /// Order id string.
    pub order_id: String,
    /// Client order id (empty if none).
    pub client_order_id: String,
    /// Fee charged.
    pub fee: Decimal,
    /// Fee asset.
    pub fee_asset: String,
    /// Time, ms.
    pub time: i64,
}

/// Why a balance changed (MEXC's account-change `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceChangeKind {
    /// Funds locked by a new order.
    EntrustPlace,
    /// Funds moved by a fill.
    Entrust,
    /// Funds released by a cancel.
    EntrustCancel,
    /// Surplus lock released when an order completed.
    EntrustUnfrozen,
    /// Funds credited by the venue operator.
    Deposit,
}

impl BalanceChangeKind {
    /// MEXC's name for the change type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EntrustPlace => "ENTRUST_PLACE",
            Self::Entrust => "ENTRUST",
            Self::EntrustCancel => "ENTRUST_CANCEL",
            Self::EntrustUnfrozen => "ENTRUST_UNFROZEN",
            Self::Deposit => "DEPOSIT",
        }
    }
}

/// A balance change of one asset.
#[derive(Debug, Clone)]
pub struct BalanceChange {
    /// Account.
    pub account: AccountId,
    /// Asset.
    pub asset: String,
    /// Free after the change.
    pub free: Decimal,
    /// Locked after the change.
    pub locked: Decimal,
    /// Change of free.
    pub free_change: Decimal,
    /// Change of locked.
    pub locked_change: Decimal,
    /// Change type.
    pub kind: BalanceChangeKind,
    /// Time, ms.
    pub time: i64,
}
