//! The embedded venue: start on a loopback port, inspect, inject faults, stop.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::serve::Listener;
use rust_decimal::Decimal;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::accounts::{AccountId, Balance};
use crate::app::{App, SimState};
use crate::config::SimConfig;
use crate::error::{ApiError, SimError};
use crate::faults::Faults;
use crate::matching::{Levels, NewOrder, Order, OrderRef};
use crate::probe::Probe;
use crate::shutdown::VenueStopReport;

/// A book snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthSnapshot {
    /// Book version (REST `lastUpdateId`).
    pub version: u64,
    /// Bids, best first.
    pub bids: Levels,
    /// Asks, best first.
    pub asks: Levels,
}

/// Default bound of [`SimVenue::shutdown`].
pub const DEFAULT_STOP_DEADLINE: Duration = Duration::from_secs(1);

/// A running venue. Stop it with [`SimVenue::stop`] or [`SimVenue::shutdown`]; dropping it
/// while running aborts its tasks (and logs a warning).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use exchange_sim::{SimConfig, SimVenue};
///
/// let sim = SimVenue::start(SimConfig::paused()).await?;
/// assert!(sim.rest_url().starts_with("http://127.0.0.1:"));
/// assert!(sim.ws_url().ends_with("/ws"));
/// let usdt = sim.balances(exchange_sim::DEMO_API_KEY).unwrap()["USDT"];
/// assert_eq!(usdt.free, 100_000.into());
/// let report = sim.shutdown().await;
/// assert_eq!(report.aborted, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SimVenue {
    app: Arc<App>,
    addr: SocketAddr,
    stopped: AtomicBool,
}

impl SimVenue {
    /// Bind `config.listen`, start the HTTP/websocket server, the synthetic market and the
    /// listen-key sweeper.
    pub async fn start(config: SimConfig) -> Result<Self, SimError> {
        let state = SimState::new(&config)?;
        let listener = TcpListener::bind(config.listen).await?;
        Self::serve(config, listener, Some(state)).await
    }

    /// Serve on `listener` (any [`axum::serve::Listener`]: tokio's `TcpListener`, or
    /// `TurmoilListener` (feature `simulation`) inside a simulation) instead of binding
    /// `config.listen`; on `state` if given (the books, accounts and listen keys of a venue
    /// that ran before, say one that crashed), else on a fresh state of `config`.
    ///
    /// # Errors
    /// An unusable configuration, or a listener without a local address.
    pub async fn serve<L>(
        config: SimConfig,
        listener: L,
        state: Option<SimState>,
    ) -> Result<Self, SimError>
    where
        L: Listener<Addr = SocketAddr>,
    {
        let state = match state {
            Some(state) => state,
            None => SimState::new(&config)?,
        };
        let app = Arc::new(App::new(config, state));
        let market = crate::market::SyntheticMarket::start(&app);
        let addr = listener.local_addr()?;
        let router = crate::rest::router(app.clone());
        let server = crate::server::serve(
            listener,
            router,
            app.config.http.clone(),
            app.tasks.signal(),
        );
        let spawned = app.tasks.spawn(server)
            && app.tasks.spawn(market.run(app.clone()))
            && app.tasks.spawn(sweep_listen_keys(app.clone()))
            && (0..crate::ws::channel::INTERVALS.len())
                .all(|i| app.tasks.spawn(crate::ws::flush_aggregated(app.clone(), i)));
        if !spawned {
            app.tasks.abort_all();
            return Err(SimError::Config("venue shut down while starting".into()));
        }
        tracing::info!(%addr, "exchange-sim listening");
        Ok(Self {
            app,
            addr,
            stopped: AtomicBool::new(false),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The fault-injection handle.
    pub fn faults(&self) -> Faults {
        self.app.faults.clone()
    }

    /// The latency instrumentation of this run: pushes on demand with the instant each is
    /// written, and the arrival instant of every new-order request (see [`Probe`]).
    pub fn probe(&self) -> Probe {
        self.app.probe.clone()
    }

    /// The venue's durable state (books, accounts, listen keys, faults), to serve again after
    /// a restart with [`SimVenue::serve`].
    pub fn state(&self) -> SimState {
        self.app.state()
    }

    /// The configuration the venue runs with.
    pub fn config(&self) -> &SimConfig {
        &self.app.config
    }

    /// Stop the synthetic market: when this returns no background order is being placed and
    /// none will be until [`SimVenue::resume_market`].
    pub fn pause_market(&self) {
        self.app.set_market_paused(true);
    }

    /// Resume the synthetic market.
    pub fn resume_market(&self) {
        self.app.set_market_paused(false);
    }

    /// Whether the synthetic market is paused.
    pub fn is_market_paused(&self) -> bool {
        *self.app.market_paused.borrow()
    }

    /// The account of an API key.
    pub fn account_id(&self, api_key: &str) -> Option<AccountId> {
        self.app.accounts_by_key.get(api_key).copied()
    }

    /// Balances of the account of `api_key`, by asset.
    pub fn balances(&self, api_key: &str) -> Option<BTreeMap<String, Balance>> {
        let account = self.account_id(api_key)?;
        Some(self.app.engine().balances(account))
    }

    /// Open orders of the account of `api_key`, oldest first.
    pub fn open_orders(&self, api_key: &str) -> Option<Vec<Order>> {
        let account = self.account_id(api_key)?;
        Some(self.app.engine().open_orders(account, None))
    }

    /// The live listen keys of the account of `api_key` (a client that stopped cleanly leaves
    /// none).
    pub fn listen_keys(&self, api_key: &str) -> Option<Vec<String>> {
        let account = self.account_id(api_key)?;
        Some(self.app.listen_keys.list(account))
    }

    /// Credit `amount` of `asset` to the account of `api_key` (pushed as a `DEPOSIT` change).
    pub fn deposit(&self, api_key: &str, asset: &str, amount: Decimal) -> Result<(), ApiError> {
        let account = self
            .account_id(api_key)
            .ok_or_else(|| ApiError::bad_request(401, "unknown api key"))?;
        self.app
            .execute(|engine, now, out| engine.deposit(account, asset, amount, now, out));
        Ok(())
    }

    /// Place an order in-process for the account of `api_key` (no HTTP, no signature, no rate
    /// limit); pushes go out as for a REST order.
    pub fn place_order(&self, api_key: &str, order: &NewOrder) -> Result<Order, ApiError> {
        let account = self
            .account_id(api_key)
            .ok_or_else(|| ApiError::bad_request(401, "unknown api key"))?;
        self.app
            .execute(|engine, now, out| engine.place(account, order, now, out))
    }

    /// Cancel an order in-process.
    pub fn cancel_order(
        &self,
        api_key: &str,
        symbol: &str,
        order: &OrderRef,
    ) -> Result<Order, ApiError> {
        let account = self
            .account_id(api_key)
            .ok_or_else(|| ApiError::bad_request(401, "unknown api key"))?;
        self.app
            .execute(|engine, now, out| engine.cancel(account, symbol, order, now, out))
    }

    /// Book snapshot, best first, up to `limit` levels per side.
    pub fn depth(&self, symbol: &str, limit: usize) -> Option<DepthSnapshot> {
        let engine = self.app.engine();
        let market = engine.market(symbol).ok()?;
        let (bids, asks) = market.book.depth(limit);
        Some(DepthSnapshot {
            version: market.version,
            bids,
            asks,
        })
    }

    /// Sum per asset of all balances plus fees collected (constant under trading).
    pub fn total_by_asset(&self) -> BTreeMap<String, Decimal> {
        self.app.engine().total_by_asset()
    }

    /// Check the engine's invariants (books not crossed, locks match open orders, ...).
    pub fn check_invariants(&self) -> Result<(), String> {
        self.app.engine().check_invariants()
    }

    /// Tasks of the venue still running (server, market, sweeper, one per websocket).
    pub fn running_tasks(&self) -> usize {
        self.app.tasks.running_tasks()
    }

    /// Stop: close the listener, send close frames on every websocket, end every task; what
    /// is still running at `deadline` is aborted. Idempotent: a later or concurrent call waits
    /// (until its own deadline) for the first one.
    ///
    /// # Cancel safety
    /// Not cancel safe: a stop dropped half-way leaves the venue shutting down with its tasks
    /// running until they end or the handle is dropped (which aborts them).
    pub async fn stop(&self, deadline: Instant) -> VenueStopReport {
        self.stopped.store(true, Ordering::SeqCst);
        let report = self.app.tasks.shutdown(deadline).await;
        tracing::info!(?report, "exchange-sim stopped");
        report
    }

    /// [`SimVenue::stop`] within `budget` from now.
    ///
    /// # Cancel safety
    /// As [`SimVenue::stop`].
    pub async fn stop_within(&self, budget: Duration) -> VenueStopReport {
        self.stop(Instant::now() + budget).await
    }

    /// [`SimVenue::stop_within`] [`DEFAULT_STOP_DEADLINE`], consuming the handle.
    pub async fn shutdown(self) -> VenueStopReport {
        self.stop_within(DEFAULT_STOP_DEADLINE).await
    }
}

impl Drop for SimVenue {
    fn drop(&mut self) {
        if !self.stopped.load(Ordering::SeqCst) {
            tracing::warn!(addr = %self.addr, "SimVenue dropped while running: aborting its tasks");
        }
        self.app.tasks.abort_all();
    }
}

/// Expire listen keys that were not kept alive, and close their connections.
async fn sweep_listen_keys(app: Arc<App>) {
    let mut shutdown = app.tasks.signal();
    let mut interval = tokio::time::interval(app.config.listen_keys.sweep_interval);
    loop {
        tokio::select! {
            biased;
            () = crate::shutdown::wait_until(&mut shutdown, true) => return,
            _ = interval.tick() => {
                for key in app.listen_keys.sweep() {
                    tracing::debug!("listen key expired");
                    app.faults.notify_listen_key_expired(&key);
                }
            }
        }
    }
}
