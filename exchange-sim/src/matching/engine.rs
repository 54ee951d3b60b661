//! The engine: all books, all accounts and all orders, changed only through its methods so
//! balances and books stay consistent at every step.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use rust_decimal::{Decimal, RoundingStrategy};

use super::book::{Book, TopOfBook};
use super::order::{NewOrder, Order, OrderRef, OrderStatus, OrderType, Side, parse_order_id};
use super::validate::validate;
use crate::accounts::{AccountId, Accounts, Balance};
use crate::config::SymbolConfig;
use crate::error::ApiError;
use crate::events::{
    BalanceChangeKind, BookTickerUpdate, DepthDiff, Event, OrderUpdate, PrivateDeal, PublicTrade,
    PublicTrades,
};

/// Decimals kept in fees.
const FEE_DECIMALS: u32 = 8;

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

    /// Sum over all accounts of free + locked, plus fees collected, per asset. Constant under
    /// trading (it only changes through deposits).
    pub fn total_by_asset(&self) -> BTreeMap<String, Decimal> {
        let mut totals = self.fees.clone();
        for (_, account) in self.accounts.iter() {
            for (asset, balance) in &account.balances {
                *totals.entry(asset.clone()).or_default() += balance.free + balance.locked;
            }
        }
        totals
    }

    /// Check every internal invariant; returns a description of the first violation.
    ///
    /// Books are not crossed; level totals equal the remaining quantity of their orders; each
    /// account's locked balance equals what its open orders reserve; nothing is negative.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut reserved: BTreeMap<(AccountId, String), Decimal> = BTreeMap::new();
        for (symbol, market) in &self.markets {
            if market.book.is_crossed() {
                return Err(format!("{symbol}: book crossed"));
            }
            for side in [Side::Buy, Side::Sell] {
                for (price, level) in market.book.side(side) {
                    let mut sum = Decimal::ZERO;
                    for seq in &level.queue {
                        let order = self
                            .orders
                            .get(seq)
                            .ok_or(format!("{symbol}: order {seq} in book but unknown"))?;
                        if !order.status.is_open() || order.price != *price || order.side != side {
                            return Err(format!("{symbol}: order {seq} misplaced"));
                        }
                        sum += order.remaining_qty();
                    }
                    if sum != level.total || level.total <= Decimal::ZERO {
                        return Err(format!(
                            "{symbol}: level {price} total {} != {sum}",
                            level.total
                        ));
                    }
                }
            }
        }
        for order in self.orders.values() {
            if order.locked < Decimal::ZERO {
                return Err(format!("order {} locked negative", order.seq));
            }
            if order.status.is_open() {
                let market = self.market(&order.symbol).map_err(|e| e.msg)?;
                let asset = match order.side {
                    Side::Buy => &market.spec.quote_asset,
                    Side::Sell => &market.spec.base_asset,
                };
                *reserved.entry((order.account, asset.clone())).or_default() += order.locked;
            } else if !order.locked.is_zero() {
                return Err(format!(
                    "closed order {} still locks {}",
                    order.seq, order.locked
                ));
            }
        }
        for (id, account) in self.accounts.iter() {
            for (asset, balance) in &account.balances {
                if balance.free < Decimal::ZERO || balance.locked < Decimal::ZERO {
                    return Err(format!("account {id:?} {asset} negative: {balance:?}"));
                }
                let expected = reserved.remove(&(id, asset.clone())).unwrap_or_default();
                if expected != balance.locked {
                    return Err(format!(
                        "account {id:?} {asset} locked {} but orders reserve {expected}",
                        balance.locked
                    ));
                }
            }
        }
        if let Some(((id, asset), amount)) = reserved.into_iter().find(|(_, a)| !a.is_zero()) {
            return Err(format!(
                "account {id:?} {asset}: orders reserve {amount} without balance"
            ));
        }
        Ok(())
    }

    /// Number of open orders of an account.
    pub fn open_order_count(&self, account: AccountId) -> usize {
        self.by_account
            .get(&account)
            .map(|o| o.open.len())
            .unwrap_or(0)
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

    /// Look up an order of `account` on `symbol` (open or remembered closed).
    pub fn query(
        &self,
        account: AccountId,
        symbol: &str,
        order_ref: &OrderRef,
    ) -> Result<Order, ApiError> {
        self.market(symbol)?;
        self.resolve(account, order_ref)
            .and_then(|seq| self.orders.get(&seq))
            .filter(|o| o.symbol == symbol)
            .cloned()
            .ok_or_else(ApiError::unknown_order)
    }

    /// Open orders of `account`, optionally of one symbol, oldest first.
    pub fn open_orders(&self, account: AccountId, symbol: Option<&str>) -> Vec<Order> {
        self.by_account
            .get(&account)
            .map(|a| {
                a.open
                    .iter()
                    .filter_map(|seq| self.orders.get(seq))
                    .filter(|o| symbol.is_none_or(|s| o.symbol == s))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The newest `limit` orders of `account` on `symbol`, oldest first.
    pub fn all_orders(&self, account: AccountId, symbol: &str, limit: usize) -> Vec<Order> {
        let mut orders: Vec<Order> = self
            .by_account
            .get(&account)
            .map(|a| {
                a.known
                    .iter()
                    .rev()
                    .filter_map(|seq| self.orders.get(seq))
                    .filter(|o| o.symbol == symbol)
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        orders.reverse();
        orders
    }

    fn resolve(&self, account: AccountId, order_ref: &OrderRef) -> Option<u64> {
        let seq = match order_ref {
            OrderRef::Id(id) => parse_order_id(id)?,
            OrderRef::ClientId(client) => *self.client_ids.get(&(account, client.clone()))?,
        };
        self.orders
            .get(&seq)
            .filter(|o| o.account == account)
            .map(|o| o.seq)
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

    /// Match `taker` against the book. Returns whether a quote budget ran out (rather than
    /// the book).
    #[allow(clippy::too_many_arguments)]
    fn match_taker(
        &mut self,
        taker: &mut Order,
        budget: Budget,
        limit_price: Option<Decimal>,
        now: i64,
        out: &mut Vec<Event>,
        touched: &mut Vec<(Side, Decimal)>,
        trades: &mut Vec<PublicTrade>,
    ) -> bool {
        let Engine {
            markets,
            accounts,
            orders,
            fees,
            next_trade_id,
            by_account,
            ..
        } = self;
        let Some(market) = markets.get_mut(&taker.symbol) else {
            return false;
        };
        let spec = &market.spec;
        let maker_side = match taker.side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        };
        loop {
            let Some((price, level)) = market.book.best_opposite(taker.side) else {
                return false;
            };
            if let Some(limit) = limit_price {
                let acceptable = match taker.side {
                    Side::Buy => price <= limit,
                    Side::Sell => price >= limit,
                };
                if !acceptable {
                    return false;
                }
            }
            let Some(&maker_seq) = level.queue.front() else {
                return false;
            };
            let Some(maker) = orders.get_mut(&maker_seq) else {
                // Never expected; drop the dangling entry so the book stays usable.
                market
                    .book
                    .fill_front(maker_side, price, Decimal::ZERO, true);
                continue;
            };
            let maker_remaining = maker.remaining_qty();
            let take = match budget {
                Budget::Quantity => maker_remaining.min(taker.remaining_qty()),
                Budget::Quote(quote) => {
                    let affordable = ((quote - taker.cumulative_quote_qty) / price)
                        .round_dp_with_strategy(spec.base_precision, RoundingStrategy::ToZero);
                    maker_remaining.min(affordable)
                }
            };
            if take <= Decimal::ZERO {
                return matches!(budget, Budget::Quote(_));
            }
            let trade_id = *next_trade_id;
            *next_trade_id += 1;
            let (buy, sell) = match taker.side {
                Side::Buy => (&mut *taker, &mut *maker),
                Side::Sell => (&mut *maker, &mut *taker),
            };
            let fill = Fill {
                price,
                quantity: take,
                trade_id,
                buyer_is_maker: maker_side == Side::Buy,
                time: now,
            };
            settle(accounts, fees, spec, buy, sell, &fill, out);
            let maker_done = maker.remaining_qty().is_zero();
            if maker_done {
                maker.status = OrderStatus::Filled;
                let maker_asset = match maker_side {
                    Side::Buy => &spec.quote_asset,
                    Side::Sell => &spec.base_asset,
                };
                release(
                    accounts,
                    maker,
                    maker_asset,
                    BalanceChangeKind::EntrustUnfrozen,
                    now,
                    out,
                );
                let orders_of = by_account.entry(maker.account).or_default();
                orders_of.open.remove(&maker_seq);
                orders_of.closed.push_back(maker_seq);
            }
            push_order(out, maker, Some(take), true);
            push_order(out, taker, Some(take), false);
            market.book.fill_front(maker_side, price, take, maker_done);
            touched.push((maker_side, price));
            trades.push(PublicTrade {
                price,
                quantity: take,
                taker_is_buyer: taker.side == Side::Buy,
                trade_id,
                time: now,
            });
        }
    }

    fn finish_book_change(
        &mut self,
        symbol: &str,
        top_before: TopOfBook,
        touched: &[(Side, Decimal)],
        now: i64,
        out: &mut Vec<Event>,
    ) {
        if touched.is_empty() {
            return;
        }
        let Some(market) = self.markets.get_mut(symbol) else {
            return;
        };
        let mut bids: Vec<(Decimal, Decimal)> = Vec::new();
        let mut asks: Vec<(Decimal, Decimal)> = Vec::new();
        for &(side, price) in touched {
            let list = match side {
                Side::Buy => &mut bids,
                Side::Sell => &mut asks,
            };
            if !list.iter().any(|(p, _)| *p == price) {
                list.push((price, market.book.level_total(side, price)));
            }
        }
        let from_version = market.version + 1;
        market.version += 1;
        out.push(Event::Depth(DepthDiff {
            symbol: symbol.to_owned(),
            from_version,
            to_version: market.version,
            bids,
            asks,
            time: now,
        }));
        let top_after = (market.book.best_bid(), market.book.best_ask());
        if top_after != top_before {
            out.push(Event::BookTicker(BookTickerUpdate {
                symbol: symbol.to_owned(),
                bid: top_after.0,
                ask: top_after.1,
                version: market.version,
                time: now,
            }));
        }
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

/// One execution between a buy and a sell order.
#[derive(Debug)]
struct Fill {
    price: Decimal,
    quantity: Decimal,
    trade_id: u64,
    buyer_is_maker: bool,
    time: i64,
}

/// Move the assets of one fill between the two accounts, charge fees in the received asset.
fn settle(
    accounts: &mut Accounts,
    fees: &mut BTreeMap<String, Decimal>,
    spec: &SymbolConfig,
    buy: &mut Order,
    sell: &mut Order,
    fill: &Fill,
    out: &mut Vec<Event>,
) {
    let quote_amount = fill.quantity * fill.price;
    let (buy_rate, sell_rate) = if fill.buyer_is_maker {
        (spec.maker_fee, spec.taker_fee)
    } else {
        (spec.taker_fee, spec.maker_fee)
    };
    let buy_fee =
        (fill.quantity * buy_rate).round_dp_with_strategy(FEE_DECIMALS, RoundingStrategy::ToZero);
    let sell_fee =
        (quote_amount * sell_rate).round_dp_with_strategy(FEE_DECIMALS, RoundingStrategy::ToZero);
    let kind = BalanceChangeKind::Entrust;
    let t = fill.time;
    buy.locked -= quote_amount;
    accounts.adjust(
        buy.account,
        &spec.quote_asset,
        Decimal::ZERO,
        -quote_amount,
        kind,
        t,
        out,
    );
    accounts.adjust(
        buy.account,
        &spec.base_asset,
        fill.quantity - buy_fee,
        Decimal::ZERO,
        kind,
        t,
        out,
    );
    sell.locked -= fill.quantity;
    accounts.adjust(
        sell.account,
        &spec.base_asset,
        Decimal::ZERO,
        -fill.quantity,
        kind,
        t,
        out,
    );
    accounts.adjust(
        sell.account,
        &spec.quote_asset,
        quote_amount - sell_fee,
        Decimal::ZERO,
        kind,
        t,
        out,
    );
    *fees.entry(spec.base_asset.clone()).or_default() += buy_fee;
    *fees.entry(spec.quote_asset.clone()).or_default() += sell_fee;
    let is_self_trade = buy.account == sell.account;
    for (order, fee, fee_asset, is_maker) in [
        (&mut *buy, buy_fee, &spec.base_asset, fill.buyer_is_maker),
        (
            &mut *sell,
            sell_fee,
            &spec.quote_asset,
            !fill.buyer_is_maker,
        ),
    ] {
        order.executed_qty += fill.quantity;
        order.cumulative_quote_qty += quote_amount;
        order.update_time = t;
        order.status = if order.orig_qty > Decimal::ZERO && order.remaining_qty().is_zero() {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        out.push(Event::Deal(Box::new(PrivateDeal {
            account: order.account,
            symbol: spec.symbol.clone(),
            price: fill.price,
            quantity: fill.quantity,
            amount: quote_amount,
            is_buy: order.side == Side::Buy,
            is_maker,
            is_self_trade,
            trade_id: fill.trade_id,
            order_id: order.id(),
            client_order_id: order.client_order_id.clone().unwrap_or_default(),
            fee,
            fee_asset: fee_asset.clone(),
            time: t,
        })));
    }
}

/// Release what a finished order still reserves.
fn release(
    accounts: &mut Accounts,
    order: &mut Order,
    asset: &str,
    kind: BalanceChangeKind,
    now: i64,
    out: &mut Vec<Event>,
) {
    let amount = order.locked;
    if amount.is_zero() {
        return;
    }
    order.locked = Decimal::ZERO;
    accounts.adjust(order.account, asset, amount, -amount, kind, now, out);
}

fn push_order(
    out: &mut Vec<Event>,
    order: &Order,
    last_deal_quantity: Option<Decimal>,
    is_maker: bool,
) {
    out.push(Event::Order(Box::new(OrderUpdate {
        order: order.clone(),
        last_deal_quantity,
        is_maker,
    })));
}

/// Walk the book as a MARKET taker would: `(base quantity, quote amount)` it would trade.
fn simulate(
    book: &Book,
    side: Side,
    budget: Budget,
    quantity: Decimal,
    base_precision: u32,
) -> (Decimal, Decimal) {
    let mut base = Decimal::ZERO;
    let mut quote = Decimal::ZERO;
    for (price, level) in book.opposite_levels(side) {
        let take = match budget {
            Budget::Quantity => level.total.min(quantity - base),
            Budget::Quote(limit) => level.total.min(
                ((limit - quote) / *price)
                    .round_dp_with_strategy(base_precision, RoundingStrategy::ToZero),
            ),
        };
        if take <= Decimal::ZERO {
            break;
        }
        base += take;
        quote += take * *price;
    }
    (base, quote)
}
