//! The state shared by every part of a running venue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use lifecycle_core::WallClock;
use tokio::sync::watch;

use crate::accounts::AccountId;
use crate::auth::{ApiKey, KeyStore};
use crate::config::SimConfig;
use crate::error::SimError;
use crate::events::Event;
use crate::faults::Faults;
use crate::history::TradeHistory;
use crate::listen_keys::ListenKeys;
use crate::matching::{Engine, EngineLimits, Order, OrderRef};
use crate::probe::Probe;
use crate::rate_limit::RateLimiter;
use crate::shutdown::VenueTasks;
use crate::ws::hub::Hub;

/// Balances of the internal accounts that make the synthetic market (never exhausted).
const MARKET_ACCOUNT_UNITS: i64 = 1_000_000_000_000;

/// Everything a running venue shares between its tasks. The durable part (books, accounts,
/// listen keys, trade history, faults) comes from a [`SimState`] and outlives a restart; the
/// rest (push channels, rate-limit windows, tasks) is made anew by every start.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) config: SimConfig,
    engine: Arc<Mutex<Engine>>,
    history: Arc<Mutex<TradeHistory>>,
    pub(crate) hub: Hub,
    pub(crate) keys: Arc<KeyStore>,
    pub(crate) accounts_by_key: Arc<HashMap<String, AccountId>>,
    pub(crate) listen_keys: Arc<ListenKeys>,
    pub(crate) limiter: RateLimiter,
    pub(crate) faults: Faults,
    /// Latency instrumentation (of this run: a restarted venue has a new one).
    pub(crate) probe: Probe,
    pub(crate) tasks: VenueTasks,
    pub(crate) market_paused: watch::Sender<bool>,
    /// The synthetic market maker and taker accounts.
    pub(crate) market_accounts: (AccountId, AccountId),
    /// The venue's wall clock (timestamps, `recvWindow`, listen-key expiry, pushes).
    pub(crate) clock: WallClock,
}

/// What a venue keeps across a crash and restart: its books and orders, accounts and
/// balances, API keys, listen keys, trade history and fault settings. Cheap to clone (every
/// clone is the same state).
///
/// Made from a configuration with [`SimState::new`]; a venue started with
/// [`SimVenue::serve`](crate::SimVenue::serve) on a state another venue ran on (one that
/// crashed, say) goes on from where that one was.
#[derive(Debug, Clone)]
pub struct SimState {
    engine: Arc<Mutex<Engine>>,
    history: Arc<Mutex<TradeHistory>>,
    keys: Arc<KeyStore>,
    accounts_by_key: Arc<HashMap<String, AccountId>>,
    listen_keys: Arc<ListenKeys>,
    faults: Faults,
    market_accounts: (AccountId, AccountId),
    accounts: usize,
}

/// Reject symbol configurations the engine cannot trade safely.
fn validate_symbol(spec: &crate::config::SymbolConfig) -> Result<(), SimError> {
    let problem = if spec.symbol.is_empty()
        || !spec
            .symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        Some("symbol must be uppercase alphanumeric")
    } else if spec.base_precision > 18 || spec.quote_precision > 18 {
        Some("precisions must be at most 18 decimals")
    } else if spec.initial_mid <= rust_decimal::Decimal::ZERO
        || spec.market_quantity <= rust_decimal::Decimal::ZERO
    {
        Some("initial mid and market quantity must be positive")
    } else if spec.maker_fee < rust_decimal::Decimal::ZERO
        || spec.taker_fee < rust_decimal::Decimal::ZERO
        || spec.maker_fee >= rust_decimal::Decimal::ONE
        || spec.taker_fee >= rust_decimal::Decimal::ONE
    {
        Some("fees must be in [0, 1)")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(SimError::Config(format!("{}: {problem}", spec.symbol))),
        None => Ok(()),
    }
}

impl SimState {
    /// A fresh venue state for `config`: its symbols with empty books, its accounts with
    /// their starting balances, and the synthetic market's accounts.
    ///
    /// # Errors
    /// [`SimError::Config`] for no symbols, an unusable symbol or a duplicate API key.
    pub fn new(config: &SimConfig) -> Result<Self, SimError> {
        if config.symbols.is_empty() {
            return Err(SimError::Config("at least one symbol is required".into()));
        }
        for spec in &config.symbols {
            validate_symbol(spec)?;
        }
        let mut engine = Engine::new(
            config.symbols.iter().cloned(),
            EngineLimits {
                max_open_orders: config.max_open_orders_per_account,
                closed_orders_kept: config.closed_orders_kept_per_account,
            },
        );
        let mut keys = KeyStore::default();
        let mut accounts_by_key = HashMap::new();
        for account in &config.accounts {
            if accounts_by_key.contains_key(&account.api_key) {
                return Err(SimError::Config(format!(
                    "duplicate api key {}",
                    account.api_key
                )));
            }
            let id = engine.add_account(account.balances.iter().cloned());
            accounts_by_key.insert(account.api_key.clone(), id);
            keys.insert(
                account.api_key.clone(),
                ApiKey {
                    account: id,
                    secret: account.api_secret.clone(),
                    can_trade: account.can_trade,
                    ip_whitelist: account.ip_whitelist.clone(),
                },
            );
        }
        let mut market_assets: Vec<String> = Vec::new();
        for s in &config.symbols {
            for asset in [&s.base_asset, &s.quote_asset] {
                if !market_assets.contains(asset) {
                    market_assets.push(asset.clone());
                }
            }
        }
        let funds = || {
            market_assets
                .iter()
                .map(|a| (a.clone(), rust_decimal::Decimal::from(MARKET_ACCOUNT_UNITS)))
                .collect::<Vec<_>>()
        };
        let maker = engine.add_account(funds());
        let taker = engine.add_account(funds());
        let accounts = engine.accounts().len();
        let listen_keys = Arc::new(ListenKeys::new(config.listen_keys.clone()));
        Ok(Self {
            engine: Arc::new(Mutex::new(engine)),
            history: Arc::new(Mutex::new(TradeHistory::new(
                config.trades_kept_per_symbol,
                config.fills_kept_per_account,
            ))),
            keys: Arc::new(keys),
            accounts_by_key: Arc::new(accounts_by_key),
            faults: Faults::new(listen_keys.clone()),
            listen_keys,
            market_accounts: (maker, taker),
            accounts,
        })
    }

    /// The fault-injection handle (the same for every venue started on this state).
    pub fn faults(&self) -> Faults {
        self.faults.clone()
    }

    /// Open orders of the account of `api_key`, oldest first.
    pub fn open_orders(&self, api_key: &str) -> Option<Vec<Order>> {
        let account = self.accounts_by_key.get(api_key).copied()?;
        Some(lock(&self.engine).open_orders(account, None))
    }

    /// The order of `api_key`'s account on `symbol` with client order id `client_order_id`
    /// (open, or closed and still remembered).
    pub fn order(&self, api_key: &str, symbol: &str, client_order_id: &str) -> Option<Order> {
        let account = self.accounts_by_key.get(api_key).copied()?;
        lock(&self.engine)
            .query(
                account,
                symbol,
                &OrderRef::ClientId(client_order_id.to_owned()),
            )
            .ok()
    }

    /// Check the engine's invariants (books not crossed, locks match open orders, ...).
    pub fn check_invariants(&self) -> Result<(), String> {
        lock(&self.engine).check_invariants()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl App {
    /// A venue of `config` on `state` (a fresh one, or one a previous venue ran on).
    pub(crate) fn new(config: SimConfig, state: SimState) -> Self {
        let clock = config.clock;
        state.listen_keys.set_clock(clock);
        let hub = Hub::new(
            &config.symbols,
            state.accounts,
            config.ws.channel_capacity,
            clock,
        );
        Self {
            engine: state.engine,
            history: state.history,
            hub,
            keys: state.keys,
            accounts_by_key: state.accounts_by_key,
            faults: state.faults,
            probe: Probe::new(),
            listen_keys: state.listen_keys,
            limiter: RateLimiter::new(config.rate_limits.clone()),
            tasks: VenueTasks::default(),
            market_paused: watch::channel(config.market.start_paused).0,
            market_accounts: state.market_accounts,
            clock,
            config,
        }
    }

    /// The durable part of this venue.
    pub(crate) fn state(&self) -> SimState {
        SimState {
            engine: self.engine.clone(),
            history: self.history.clone(),
            keys: self.keys.clone(),
            accounts_by_key: self.accounts_by_key.clone(),
            listen_keys: self.listen_keys.clone(),
            faults: self.faults.clone(),
            market_accounts: self.market_accounts,
            accounts: self.hub_accounts(),
        }
    }

    fn hub_accounts(&self) -> usize {
        self.engine().accounts().len()
    }

    /// The venue's wall clock now, ms since the Unix epoch.
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Read access to the engine.
    pub(crate) fn engine(&self) -> MutexGuard<'_, Engine> {
        lock(&self.engine)
    }

    /// Recent trades and fills.
    pub(crate) fn history(&self) -> MutexGuard<'_, TradeHistory> {
        lock(&self.history)
    }

    /// Pause or resume the synthetic market. Taken under the engine lock, so when this
    /// returns no market step is running and none starts until resumed.
    pub(crate) fn set_market_paused(&self, paused: bool) {
        let _engine = self.engine();
        self.market_paused.send_replace(paused);
    }

    /// Run one engine operation and publish its events while still holding the lock, so
    /// pushes leave in book-version order.
    pub(crate) fn execute<T>(
        &self,
        operation: impl FnOnce(&mut Engine, i64, &mut Vec<Event>) -> T,
    ) -> T {
        let mut engine = self.engine();
        let mut events = Vec::new();
        let result = operation(&mut engine, self.now_ms(), &mut events);
        self.history().record(&events);
        self.hub.publish(&engine, &events);
        result
    }
}
