//! Orders: sides, types, statuses, the order record and new-order requests.

use rust_decimal::Decimal;

use crate::accounts::AccountId;

/// Prefix of every order id string (MEXC ids look like `C02__413321238354677760`).
pub const ORDER_ID_PREFIX: &str = "C02__";

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy base with quote.
    Buy,
    /// Sell base for quote.
    Sell,
}

impl Side {
    /// `BUY` / `SELL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
        }
    }

    /// Parse `BUY` / `SELL` (uppercase, as MEXC requires).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "BUY" => Some(Self::Buy),
            "SELL" => Some(Self::Sell),
            _ => None,
        }
    }

    /// MEXC's numeric trade type: 1 buy, 2 sell.
    pub fn trade_type(self) -> i32 {
        match self {
            Self::Buy => 1,
            Self::Sell => 2,
        }
    }
}

/// Order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Rests in the book until filled or cancelled.
    Limit,
    /// Post-only: rejected if it would take.
    LimitMaker,
    /// Takes liquidity at any price; quantity or quoteOrderQty.
    Market,
    /// Takes what it can at its limit price, the rest is cancelled.
    ImmediateOrCancel,
    /// Fills completely at its limit price or not at all.
    FillOrKill,
}

impl OrderType {
    /// MEXC's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Limit => "LIMIT",
            Self::LimitMaker => "LIMIT_MAKER",
            Self::Market => "MARKET",
            Self::ImmediateOrCancel => "IMMEDIATE_OR_CANCEL",
            Self::FillOrKill => "FILL_OR_KILL",
        }
    }

    /// Parse MEXC's name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "LIMIT" => Self::Limit,
            "LIMIT_MAKER" => Self::LimitMaker,
            "MARKET" => Self::Market,
            "IMMEDIATE_OR_CANCEL" => Self::ImmediateOrCancel,
            "FILL_OR_KILL" => Self::FillOrKill,
            _ => return None,
        })
    }

    /// All types, for exchangeInfo.
    pub const ALL: [OrderType; 5] = [
        Self::Limit,
        Self::Market,
        Self::LimitMaker,
        Self::ImmediateOrCancel,
        Self::FillOrKill,
    ];

    /// MEXC's numeric order type in private pushes: 1 LIMIT, 2 POST_ONLY, 3 IOC, 4 FOK, 5 MARKET.
    pub fn push_code(self) -> i32 {
        match self {
            Self::Limit => 1,
            Self::LimitMaker => 2,
            Self::ImmediateOrCancel => 3,
            Self::FillOrKill => 4,
            Self::Market => 5,
        }
    }
}

/// Order status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Open, nothing filled.
    New,
    /// Open, partly filled.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled with nothing filled.
    Canceled,
    /// Cancelled after a partial fill.
    PartiallyCanceled,
}

impl OrderStatus {
    /// MEXC's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::PartiallyFilled => "PARTIALLY_FILLED",
            Self::Filled => "FILLED",
            Self::Canceled => "CANCELED",
            Self::PartiallyCanceled => "PARTIALLY_CANCELED",
        }
    }

    /// MEXC's numeric status in private pushes.
    pub fn push_code(self) -> i32 {
        match self {
            Self::New => 1,
            Self::Filled => 2,
            Self::PartiallyFilled => 3,
            Self::Canceled => 4,
            Self::PartiallyCanceled => 5,
        }
    }

    /// Whether the order can still trade.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::PartiallyFilled)
    }
}

/// A request for a new order (already parsed, not yet validated against the symbol).
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    /// Symbol, uppercase.
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Base quantity.
    pub quantity: Option<Decimal>,
    /// Quote amount (MARKET only).
    pub quote_order_qty: Option<Decimal>,
    /// Limit price.
    pub price: Option<Decimal>,
    /// Client order id.
    pub client_order_id: Option<String>,
}

impl NewOrder {
    /// A LIMIT order.
    pub fn limit(symbol: &str, side: Side, price: Decimal, quantity: Decimal) -> Self {
        Self {
            symbol: symbol.to_owned(),
            side,
            order_type: OrderType::Limit,
            quantity: Some(quantity),
            quote_order_qty: None,
            price: Some(price),
            client_order_id: None,
        }
    }

    /// A MARKET order for a base quantity.
    pub fn market(symbol: &str, side: Side, quantity: Decimal) -> Self {
        Self {
            symbol: symbol.to_owned(),
            side,
            order_type: OrderType::Market,
            quantity: Some(quantity),
            quote_order_qty: None,
            price: None,
            client_order_id: None,
        }
    }

    /// Same order with another type.
    pub fn with_type(mut self, order_type: OrderType) -> Self {
        self.order_type = order_type;
        self
    }

    /// Same order with a client order id.
    pub fn with_client_id(mut self, id: impl Into<String>) -> Self {
        self.client_order_id = Some(id.into());
        self
    }
}

/// How a request names an existing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    /// By `orderId`.
    Id(String),
    /// By `origClientOrderId`.
    ClientId(String),
}

/// An order as the venue keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// Internal sequence number (the id string is `C02__<seq>`).
    pub seq: u64,
    /// Owner.
    pub account: AccountId,
    /// Symbol.
    pub symbol: String,
    /// Client order id, if given.
    pub client_order_id: Option<String>,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Limit price (zero for MARKET).
    pub price: Decimal,
    /// Requested base quantity (zero for a MARKET order by quote amount).
    pub orig_qty: Decimal,
    /// Requested quote amount (`price x qty` for limit orders, quoteOrderQty for MARKET).
    pub orig_quote_qty: Decimal,
    /// Filled base quantity.
    pub executed_qty: Decimal,
    /// Filled quote amount.
    pub cumulative_quote_qty: Decimal,
    /// Status.
    pub status: OrderStatus,
    /// Creation time, ms.
    pub time: i64,
    /// Last change, ms.
    pub update_time: i64,
    /// Amount still reserved for this order (quote for buys, base for sells).
    pub locked: Decimal,
}

impl Order {
    /// The public id string.
    pub fn id(&self) -> String {
        format!("{ORDER_ID_PREFIX}{}", self.seq)
    }

    /// Base quantity not yet filled (zero for quote-amount MARKET orders).
    pub fn remaining_qty(&self) -> Decimal {
        (self.orig_qty - self.executed_qty).max(Decimal::ZERO)
    }

    /// Average fill price (zero before the first fill).
    pub fn avg_price(&self) -> Decimal {
        if self.executed_qty.is_zero() {
            Decimal::ZERO
        } else {
            self.cumulative_quote_qty / self.executed_qty
        }
    }
}

/// Parse an order id string into its sequence number.
pub fn parse_order_id(id: &str) -> Option<u64> {
    id.strip_prefix(ORDER_ID_PREFIX)?.parse().ok()
}
