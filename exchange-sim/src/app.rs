//! The state shared by every part of a running venue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::accounts::AccountId;
use crate::auth::{ApiKey, KeyStore};
use crate::config::SimConfig;
use crate::error::SimError;
use crate::events::Event;
use crate::faults::Faults;
use crate::format::now_ms;
use crate::history::TradeHistory;
use crate::listen_keys::ListenKeys;
use crate::matching::{Engine, EngineLimits};
use crate::rate_limit::RateLimiter;
use crate::shutdown::Lifecycle;
use crate::ws::hub::Hub;

/// Balances of the internal accounts that make the synthetic market (never exhausted).
const MARKET_ACCOUNT_UNITS: i64 = 1_000_000_000_000;

/// Everything a running venue shares between its tasks.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) config: SimConfig,
    engine: Mutex<Engine>,
    history: Mutex<TradeHistory>,
    pub(crate) hub: Hub,
    pub(crate) keys: KeyStore,
    pub(crate) accounts_by_key: HashMap<String, AccountId>,
    pub(crate) listen_keys: Arc<ListenKeys>,
    pub(crate) limiter: RateLimiter,
    pub(crate) faults: Faults,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) market_paused: watch::Sender<bool>,
    /// The synthetic market maker and taker accounts.
    pub(crate) market_accounts: (AccountId, AccountId),
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

impl App {
    pub(crate) fn new(config: SimConfig) -> Result<Self, SimError> {
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
        let hub = Hub::new(
            &config.symbols,
            engine.accounts().len(),
            config.ws.channel_capacity,
        );
        let listen_keys = Arc::new(ListenKeys::new(config.listen_keys.clone()));
        Ok(Self {
            engine: Mutex::new(engine),
            history: Mutex::new(TradeHistory::new(
                config.trades_kept_per_symbol,
                config.fills_kept_per_account,
            )),
            hub,
            keys,
            accounts_by_key,
            faults: Faults::new(listen_keys.clone()),
            listen_keys,
            limiter: RateLimiter::new(config.rate_limits.clone()),
            lifecycle: Lifecycle::default(),
            market_paused: watch::channel(config.market.start_paused).0,
            market_accounts: (maker, taker),
            config,
        })
    }

    /// Read access to the engine.
    pub(crate) fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Recent trades and fills.
    pub(crate) fn history(&self) -> MutexGuard<'_, TradeHistory> {
        self.history.lock().unwrap_or_else(|e| e.into_inner())
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
        let result = operation(&mut engine, now_ms(), &mut events);
        self.history().record(&events);
        self.hub.publish(&engine, &events);
        result
    }
}
