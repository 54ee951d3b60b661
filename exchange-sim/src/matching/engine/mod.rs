//! The engine: all books, all accounts and all orders, changed only through its methods so
//! balances and books stay consistent at every step.

mod invariants;
mod queries;
mod settlement;
mod taker;

use settlement::{push_order, release, simulate};

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use rust_decimal::Decimal;

use super::book::{Book, TopOfBook};
use super::order::{NewOrder, Order, OrderRef, OrderStatus, OrderType, Side};
use super::validate::validate;
use crate::accounts::{AccountId, Accounts, Balance};
use crate::config::SymbolConfig;
use crate::error::ApiError;
use crate::events::{BalanceChangeKind, Event, PublicTrade, PublicTrades};

/// One symbol's market: its rules, its book and the book's version.
#[derive(Debug, Clone)]
pub struct Market {
    /// Rules of the symbol.
    pub spec: SymbolConfig,
    /// The book.
    pub book: Book,
    /// Version of the book: +1 per operation that changed it (REST `lastUpdateId`).
    pub version: u64,
    /// Creation time of the newest order that touched the book, ms.
    pub last_order_time: i64,
}

/// Per-account limits of the engine.
#[derive(Debug, Clone, Copy)]
pub struct EngineLimits {
    /// Open orders per account.
    pub max_open_orders: usize,
    /// Closed orders remembered per account.
    pub closed_orders_kept: usize,
}

impl Default for EngineLimits {
    fn default() -> Self {
        Self {
            max_open_orders: 500,
            closed_orders_kept: 10_000,
        }
    }
}

#[derive(Debug, Default)]
struct AccountOrders {
    open: BTreeSet<u64>,
    known: BTreeSet<u64>,
    closed: VecDeque<u64>,
}

/// The matching engine.
#[derive(Debug)]
pub struct Engine {
    markets: BTreeMap<String, Market>,
    accounts: Accounts,
    orders: HashMap<u64, Order>,
    by_account: HashMap<AccountId, AccountOrders>,
    client_ids: HashMap<(AccountId, String), u64>,
    fees: BTreeMap<String, Decimal>,
    next_seq: u64,
    next_trade_id: u64,
    limits: EngineLimits,
}

/// How a taker is bounded while matching.
#[derive(Debug, Clone, Copy)]
enum Budget {
    /// Up to the order's remaining base quantity.
    Quantity,
    /// Up to a quote amount (MARKET with quoteOrderQty).
    Quote(Decimal),
}

impl Engine {
    /// An engine with these markets and no accounts.
    pub fn new(symbols: impl IntoIterator<Item = SymbolConfig>, limits: EngineLimits) -> Self {
        let markets = symbols
            .into_iter()
            .map(|spec| {
                (
                    spec.symbol.clone(),
                    Market {
                        spec,
                        book: Book::default(),
                        version: 1,
                        last_order_time: 0,
                    },
                )
            })
            .collect();
        Self {
            markets,
            accounts: Accounts::default(),
            orders: HashMap::new(),
            by_account: HashMap::new(),
            client_ids: HashMap::new(),
            fees: BTreeMap::new(),
            next_seq: 1,
            next_trade_id: 1,
            limits,
        }
    }

    /// Add an account with starting balances.
    pub fn add_account(
        &mut self,
        balances: impl IntoIterator<Item = (String, Decimal)>,
    ) -> AccountId {
        self.accounts.add(balances)
    }

    /// Credit `amount` of `asset` to an account's free balance.
    pub fn deposit(
        &mut self,
        account: AccountId,
        asset: &str,
        amount: Decimal,
        time: i64,
        out: &mut Vec<Event>,
    ) {
        self.accounts.adjust(
            account,
            asset,
            amount,
            Decimal::ZERO,
            BalanceChangeKind::Deposit,
            time,
            out,
        );
    }

    /// All markets by symbol.
    pub fn markets(&self) -> &BTreeMap<String, Market> {
        &self.markets
    }

    /// One market.
    pub fn market(&self, symbol: &str) -> Result<&Market, ApiError> {
        self.markets.get(symbol).ok_or_else(ApiError::bad_symbol)
    }

    /// The accounts.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Balances of one account, by asset.
    pub fn balances(&self, account: AccountId) -> BTreeMap<String, Balance> {
        self.accounts
            .get(account)
            .map(|a| a.balances.clone())
            .unwrap_or_default()
    }

    /// Fees collected by the venue, by asset.
    pub fn fees_collected(&self) -> &BTreeMap<String, Decimal> {
        &self.fees
    }

    /// Validate a new order without placing it (`/api/v3/order/test`).
    pub fn test_order(&self, account: AccountId, request: &NewOrder) -> Result<(), ApiError> {
        let market = self.market(&request.symbol)?;
        validate(&market.spec, request)?;
        if self.accounts.get(account).is_none() {
            return Err(ApiError::bad_request(401, "unknown account"));
        }
        Ok(())
    }

    /// Place a new order and match it; events describing every change are appended to `out`.
    pub fn place(
        &mut self,
        account: AccountId,
        request: &NewOrder,
        now: i64,
        out: &mut Vec<Event>,
    ) -> Result<Order, ApiError> {
        self.test_order(account, request)?;
        if self.open_order_count(account) >= self.limits.max_open_orders {
            return Err(ApiError::bad_request(
                30029,
                "Exceeded the maximum number of open orders",
            ));
        }
        let market = self.market(&request.symbol)?;
        let spec = &market.spec;
        let book = &market.book;
        let side = request.side;
        let base_precision = spec.base_precision;
        let limit_price = match request.order_type {
            OrderType::Market => None,
            _ => request.price,
        };
        let crosses = |price: Decimal| match book.best_opposite(side) {
            Some((best, _)) => match side {
                Side::Buy => best <= price,
                Side::Sell => best >= price,
            },
            None => false,
        };
        if request.order_type == OrderType::LimitMaker && limit_price.is_some_and(crosses) {
            return Err(ApiError::bad_request(
                -2010,
                "Order would immediately match and take.",
            ));
        }
        let quantity = request.quantity.unwrap_or_default();
        let budget = match request.quote_order_qty {
            Some(quote) if request.order_type == OrderType::Market => Budget::Quote(quote),
            _ => Budget::Quantity,
        };
        // What the order must reserve.
        let (lock_asset, lock_amount) = match (side, request.order_type, budget) {
            (Side::Buy, OrderType::Market, Budget::Quote(quote)) => {
                (spec.quote_asset.clone(), quote)
            }
            (Side::Buy, OrderType::Market, Budget::Quantity) => {
                let (_, cost) = simulate(book, side, Budget::Quantity, quantity, base_precision);
                (spec.quote_asset.clone(), cost)
            }
            (Side::Sell, OrderType::Market, Budget::Quote(quote)) => {
                let (base, _) = simulate(
                    book,
                    side,
                    Budget::Quote(quote),
                    Decimal::ZERO,
                    base_precision,
                );
                (spec.base_asset.clone(), base)
            }
            (Side::Buy, _, _) => (
                spec.quote_asset.clone(),
                quantity * request.price.unwrap_or_default(),
            ),
            (Side::Sell, _, _) => (spec.base_asset.clone(), quantity),
        };
        let fok_unfillable = request.order_type == OrderType::FillOrKill && {
            let within: Decimal = book
                .opposite_levels(side)
                .take_while(|(price, _)| {
                    limit_price.is_some_and(|limit| match side {
                        Side::Buy => **price <= limit,
                        Side::Sell => **price >= limit,
                    })
                })
                .map(|(_, level)| level.total)
                .sum();
            within < quantity
        };
        if self.accounts.balance(account, &lock_asset).free < lock_amount {
            return Err(ApiError::insufficient_balance());
        }

        let seq = self.next_seq;
        self.next_seq += 1;
        let mut order = Order {
            seq,
            account,
            symbol: request.symbol.clone(),
            client_order_id: request.client_order_id.clone(),
            side,
            order_type: request.order_type,
            price: limit_price.unwrap_or_default(),
            orig_qty: quantity,
            orig_quote_qty: match budget {
                Budget::Quote(q) => q,
                Budget::Quantity => quantity * limit_price.unwrap_or_default(),
            },
            executed_qty: Decimal::ZERO,
            cumulative_quote_qty: Decimal::ZERO,
            status: OrderStatus::New,
            time: now,
            update_time: now,
            locked: Decimal::ZERO,
        };
        if !fok_unfillable
            && self
                .accounts
                .lock(account, &lock_asset, lock_amount, now, out)
        {
            order.locked = lock_amount;
        }
        self.register(&order);
        push_order(out, &order, None, false);

        let top_before = self.top_of_book(&order.symbol);
        let mut touched: Vec<(Side, Decimal)> = Vec::new();
        let mut trades: Vec<PublicTrade> = Vec::new();
        let budget_exhausted = if fok_unfillable {
            false
        } else {
            self.match_taker(
                &mut order,
                budget,
                limit_price,
                now,
                out,
                &mut touched,
                &mut trades,
            )
        };

        let rests = matches!(order.order_type, OrderType::Limit | OrderType::LimitMaker)
            && order.remaining_qty() > Decimal::ZERO;
        if rests {
            if side == Side::Buy {
                // Fills at better prices leave a surplus; keep only what the rest needs.
                let surplus = order.locked - order.remaining_qty() * order.price;
                if surplus > Decimal::ZERO {
                    order.locked -= surplus;
                    self.accounts.adjust(
                        account,
                        &lock_asset,
                        surplus,
                        -surplus,
                        BalanceChangeKind::EntrustUnfrozen,
                        now,
                        out,
                    );
                }
            }
            if let Some(market) = self.markets.get_mut(&order.symbol) {
                market
                    .book
                    .insert(side, order.price, seq, order.remaining_qty());
                market.last_order_time = now;
            }
            touched.push((side, order.price));
            self.by_account.entry(account).or_default().open.insert(seq);
        } else {
            let done = match budget {
                Budget::Quantity => order.remaining_qty().is_zero(),
                Budget::Quote(_) => budget_exhausted && !order.executed_qty.is_zero(),
            };
            let final_status = if done {
                OrderStatus::Filled
            } else if order.executed_qty.is_zero() {
                OrderStatus::Canceled
            } else {
                OrderStatus::PartiallyCanceled
            };
            let status_changed = final_status != order.status;
            order.status = final_status;
            order.update_time = now;
            release(
                &mut self.accounts,
                &mut order,
                &lock_asset,
                BalanceChangeKind::EntrustUnfrozen,
                now,
                out,
            );
            if status_changed {
                push_order(out, &order, None, false);
            }
        }
        self.finish_book_change(&order.symbol, top_before, &touched, now, out);
        if !trades.is_empty() {
            out.push(Event::Trades(PublicTrades {
                symbol: order.symbol.clone(),
                trades,
            }));
        }
        self.store(order.clone());
        Ok(order)
    }

    /// Cancel one open order of `account` on `symbol`.
    pub fn cancel(
        &mut self,
        account: AccountId,
        symbol: &str,
        order_ref: &OrderRef,
        now: i64,
        out: &mut Vec<Event>,
    ) -> Result<Order, ApiError> {
        self.market(symbol)?;
        let seq = self
            .resolve(account, order_ref)
            .ok_or_else(ApiError::unknown_order)?;
        let is_cancellable = self
            .orders
            .get(&seq)
            .is_some_and(|o| o.symbol == symbol && o.status.is_open());
        if !is_cancellable {
            return Err(ApiError::unknown_order());
        }
        let top_before = self.top_of_book(symbol);
        let Some(mut order) = self.orders.remove(&seq) else {
            return Err(ApiError::unknown_order());
        };
        let Some(market) = self.markets.get_mut(symbol) else {
            self.orders.insert(seq, order);
            return Err(ApiError::bad_symbol());
        };
        market
            .book
            .remove(order.side, order.price, seq, order.remaining_qty());
        let lock_asset = match order.side {
            Side::Buy => market.spec.quote_asset.clone(),
            Side::Sell => market.spec.base_asset.clone(),
        };
        order.status = if order.executed_qty.is_zero() {
            OrderStatus::Canceled
        } else {
            OrderStatus::PartiallyCanceled
        };
        order.update_time = now;
        release(
            &mut self.accounts,
            &mut order,
            &lock_asset,
            BalanceChangeKind::EntrustCancel,
            now,
            out,
        );
        push_order(out, &order, None, false);
        self.finish_book_change(symbol, top_before, &[(order.side, order.price)], now, out);
        self.store(order.clone());
        Ok(order)
    }

    /// Cancel every open order of `account` on each of `symbols`; returns the cancelled orders.
    pub fn cancel_all(
        &mut self,
        account: AccountId,
        symbols: &[String],
        now: i64,
        out: &mut Vec<Event>,
    ) -> Result<Vec<Order>, ApiError> {
        for symbol in symbols {
            self.market(symbol)?;
        }
        let targets: Vec<(String, u64)> = self
            .open_orders(account, None)
            .into_iter()
            .filter(|o| symbols.contains(&o.symbol))
            .map(|o| (o.symbol, o.seq))
            .collect();
        let mut cancelled = Vec::with_capacity(targets.len());
        for (symbol, seq) in targets {
            let id = OrderRef::Id(format!("{}{seq}", super::ORDER_ID_PREFIX));
            cancelled.push(self.cancel(account, &symbol, &id, now, out)?);
        }
        Ok(cancelled)
    }

    fn register(&mut self, order: &Order) {
        if let Some(client) = &order.client_order_id {
            self.client_ids
                .insert((order.account, client.clone()), order.seq);
        }
        self.by_account
            .entry(order.account)
            .or_default()
            .known
            .insert(order.seq);
    }

    /// Put an order back into the map; closed orders are remembered up to the limit.
    fn store(&mut self, order: Order) {
        let seq = order.seq;
        let account = order.account;
        let closed = !order.status.is_open();
        self.orders.insert(seq, order);
        if closed {
            let orders = self.by_account.entry(account).or_default();
            orders.open.remove(&seq);
            orders.closed.push_back(seq);
        }
        self.prune_closed();
    }

    fn top_of_book(&self, symbol: &str) -> TopOfBook {
        self.markets
            .get(symbol)
            .map(|m| (m.book.best_bid(), m.book.best_ask()))
            .unwrap_or_default()
    }

    fn prune_closed(&mut self) {
        let kept = self.limits.closed_orders_kept;
        for (account, orders_of) in self.by_account.iter_mut() {
            while orders_of.closed.len() > kept {
                let Some(old) = orders_of.closed.pop_front() else {
                    break;
                };
                orders_of.known.remove(&old);
                if let Some(forgotten) = self.orders.remove(&old)
                    && let Some(client) = forgotten.client_order_id
                {
                    let key = (*account, client);
                    if self.client_ids.get(&key) == Some(&old) {
                        self.client_ids.remove(&key);
                    }
                }
            }
        }
    }
}
