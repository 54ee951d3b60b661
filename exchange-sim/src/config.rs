//! Configuration of the simulated venue: symbols, accounts, timings, limits, synthetic market.

use std::net::SocketAddr;
use std::time::Duration;

use lifecycle_core::WallClock;
use rust_decimal::Decimal;

/// The demo account's API key (printed by the binary at start).
pub const DEMO_API_KEY: &str = "mx0vglDEMOKEYquiesce0001";
/// The demo account's API secret (32 lowercase hex characters).
pub const DEMO_API_SECRET: &str = "5f2b8e1c9d3a47b6a0e4c7d21f9b3e68";

/// Everything [`crate::SimVenue::start`] needs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to bind; the default is `127.0.0.1:0` (an ephemeral loopback port).
    pub listen: SocketAddr,
    /// Tradable symbols.
    pub symbols: Vec<SymbolConfig>,
    /// Accounts with API keys and starting balances.
    pub accounts: Vec<AccountConfig>,
    /// Websocket timings and limits.
    pub ws: WsConfig,
    /// HTTP connection limits and timeouts.
    pub http: HttpConfig,
    /// REST rate limits.
    pub rate_limits: RateLimitConfig,
    /// Listen-key lifetime and limits.
    pub listen_keys: ListenKeyConfig,
    /// Synthetic background market.
    pub market: MarketConfig,
    /// At most this many open orders per account (MEXC: 500).
    pub max_open_orders_per_account: usize,
    /// Closed orders kept per account for `allOrders` / queries (older ones are forgotten).
    pub closed_orders_kept_per_account: usize,
    /// Fills kept per account for `myTrades` (older ones are forgotten).
    pub fills_kept_per_account: usize,
    /// Public trades kept per symbol for `trades` and the 24 h / average-price statistics
    /// (older ones are forgotten).
    pub trades_kept_per_symbol: usize,
    /// The venue's wall clock: timestamps, the `recvWindow` check, listen-key expiry, push
    /// times (default the system's; a simulation passes one on tokio's clock).
    pub clock: WallClock,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            symbols: vec![SymbolConfig::hifiusdt(), SymbolConfig::btcusdt()],
            accounts: vec![AccountConfig::demo()],
            ws: WsConfig::default(),
            http: HttpConfig::default(),
            rate_limits: RateLimitConfig::default(),
            listen_keys: ListenKeyConfig::default(),
            market: MarketConfig::default(),
            max_open_orders_per_account: 500,
            closed_orders_kept_per_account: 10_000,
            fills_kept_per_account: crate::history::FILLS_KEPT,
            trades_kept_per_symbol: crate::history::PUBLIC_TRADES_KEPT,
            clock: WallClock::system(),
        }
    }
}

impl SimConfig {
    /// A configuration for deterministic tests: synthetic market paused at start, rate limits
    /// still on, default symbols and the demo account.
    pub fn paused() -> Self {
        let mut config = Self::default();
        config.market.start_paused = true;
        config
    }
}

/// One tradable market.
#[derive(Debug, Clone)]
pub struct SymbolConfig {
    /// Symbol name, uppercase, e.g. `HIFIUSDT`.
    pub symbol: String,
    /// Base asset, e.g. `HIFI`.
    pub base_asset: String,
    /// Quote asset, e.g. `USDT`.
    pub quote_asset: String,
    /// Decimals allowed in quantities (2 -> step 0.01).
    pub base_precision: u32,
    /// Decimals allowed in prices (5 -> tick 0.00001).
    pub quote_precision: u32,
    /// Minimum order quantity (`baseSizePrecision`).
    pub min_quantity: Decimal,
    /// Minimum order notional in quote asset (`quoteAmountPrecision`).
    pub min_notional: Decimal,
    /// Maximum order notional in quote asset (`maxQuoteAmount`).
    pub max_notional: Decimal,
    /// Maker fee rate, e.g. `0` or `0.001`.
    pub maker_fee: Decimal,
    /// Taker fee rate, e.g. `0.0005`.
    pub taker_fee: Decimal,
    /// Starting mid price of the synthetic market.
    pub initial_mid: Decimal,
    /// Quantity per level quoted by the synthetic market maker.
    pub market_quantity: Decimal,
}

impl SymbolConfig {
    /// HIFIUSDT around 0.1 USDT: price tick 0.00001, quantity step 0.01, minimum notional 1 USDT.
    pub fn hifiusdt() -> Self {
        Self {
            symbol: "HIFIUSDT".into(),
            base_asset: "HIFI".into(),
            quote_asset: "USDT".into(),
            base_precision: 2,
            quote_precision: 5,
            min_quantity: Decimal::new(1, 2),
            min_notional: Decimal::ONE,
            max_notional: Decimal::from(2_000_000),
            maker_fee: Decimal::ZERO,
            taker_fee: Decimal::new(5, 4),
            initial_mid: Decimal::new(1, 1),
            market_quantity: Decimal::from(500),
        }
    }

    /// BTCUSDT around 95,000 USDT: price tick 0.01, quantity step 0.000001, minimum notional 1 USDT.
    pub fn btcusdt() -> Self {
        Self {
            symbol: "BTCUSDT".into(),
            base_asset: "BTC".into(),
            quote_asset: "USDT".into(),
            base_precision: 6,
            quote_precision: 2,
            min_quantity: Decimal::new(1, 6),
            min_notional: Decimal::ONE,
            max_notional: Decimal::from(2_000_000),
            maker_fee: Decimal::ZERO,
            taker_fee: Decimal::new(5, 4),
            initial_mid: Decimal::from(95_000),
            market_quantity: Decimal::new(5, 2),
        }
    }

    /// A generic market `BASE`+`QUOTE` around `mid`, 2 quantity decimals, 4 price decimals.
    pub fn generic(base: &str, quote: &str, mid: Decimal) -> Self {
        Self {
            symbol: format!("{base}{quote}"),
            base_asset: base.into(),
            quote_asset: quote.into(),
            base_precision: 2,
            quote_precision: 4,
            min_quantity: Decimal::new(1, 2),
            min_notional: Decimal::ONE,
            max_notional: Decimal::from(2_000_000),
            maker_fee: Decimal::ZERO,
            taker_fee: Decimal::new(5, 4),
            initial_mid: mid,
            market_quantity: Decimal::from(10),
        }
    }
}

/// One account reachable over the API.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// API key (`X-MEXC-APIKEY`).
    pub api_key: String,
    /// API secret used for HMAC-SHA256 signatures.
    pub api_secret: String,
    /// Starting balances `(asset, free amount)`.
    pub balances: Vec<(String, Decimal)>,
    /// Whether the key may trade (otherwise trading endpoints answer 700007).
    pub can_trade: bool,
    /// If set, only these client IPs may use the key (otherwise 700006).
    pub ip_whitelist: Option<Vec<std::net::IpAddr>>,
}

impl AccountConfig {
    /// The documented demo account ([`DEMO_API_KEY`] / [`DEMO_API_SECRET`]) with 100,000 USDT,
    /// 1,000,000 HIFI and 10 BTC.
    pub fn demo() -> Self {
        Self::new(DEMO_API_KEY, DEMO_API_SECRET).with_balances([
            ("USDT", Decimal::from(100_000)),
            ("HIFI", Decimal::from(1_000_000)),
            ("BTC", Decimal::from(10)),
        ])
    }

    /// An account with no balances.
    pub fn new(api_key: impl Into<String>, api_secret: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            api_secret: api_secret.into(),
            balances: Vec::new(),
            can_trade: true,
            ip_whitelist: None,
        }
    }

    /// Replace the starting balances.
    pub fn with_balances<'a>(
        mut self,
        balances: impl IntoIterator<Item = (&'a str, Decimal)>,
    ) -> Self {
        self.balances = balances
            .into_iter()
            .map(|(asset, amount)| (asset.to_owned(), amount))
            .collect();
        self
    }
}

/// Websocket timings and limits (MEXC's values by default; shorten them in tests).
#[derive(Debug, Clone)]
pub struct WsConfig {
    /// Disconnect a connection that has had no subscription for this long (MEXC: 30 s).
    pub no_subscription_timeout: Duration,
    /// Disconnect a connection from which nothing was received for this long (MEXC: 60 s).
    pub idle_timeout: Duration,
    /// Disconnect every connection after this long (MEXC: 24 h).
    pub max_lifetime: Duration,
    /// Subscriptions per connection (MEXC: 30).
    pub max_subscriptions: usize,
    /// Frames buffered per channel for slow subscribers before they lag.
    pub channel_capacity: usize,
    /// Frames a client may send per second before it is disconnected (MEXC: 100).
    pub max_inbound_per_second: u32,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            no_subscription_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(24 * 3600),
            max_subscriptions: 30,
            channel_capacity: 8192,
            max_inbound_per_second: 100,
        }
    }
}

/// HTTP connection limits and timeouts: what keeps slow or hostile clients from holding the
/// venue's connections.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// A connection whose request line and headers have not fully arrived this long after the
    /// venue started waiting for them is closed (idle keep-alive connections included).
    pub header_read_timeout: Duration,
    /// A request whose whole body has not arrived this long after its headers is answered
    /// with HTTP 408.
    pub body_read_timeout: Duration,
    /// Connections served at once; one more is answered HTTP 503 and closed.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// REST rate limits: a weighted budget per endpoint and IP (public) or account (signed).
#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    /// Whether limits are enforced at all.
    pub enabled: bool,
    /// Weight allowed per window per endpoint and scope (MEXC: 500).
    pub budget: u32,
    /// Window length (MEXC: 10 s).
    pub window: Duration,
    /// Requests per second allowed on `GET /api/v3/account` (MEXC: 2).
    pub account_per_second: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            budget: 500,
            window: Duration::from_secs(10),
            account_per_second: 2,
        }
    }
}

impl RateLimitConfig {
    /// No rate limits (benchmarks).
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

/// Listen keys.
#[derive(Debug, Clone)]
pub struct ListenKeyConfig {
    /// A key expires this long after creation or the last keep-alive (MEXC: 60 min).
    pub validity: Duration,
    /// At most this many keys per account (MEXC: 60).
    pub max_per_account: usize,
    /// How often expired keys are swept (and their connections closed).
    pub sweep_interval: Duration,
    /// Seeds the generator of new keys (default `None`: the OS's randomness). A simulation
    /// seeds it so that runs repeat.
    pub seed: Option<u64>,
}

impl Default for ListenKeyConfig {
    fn default() -> Self {
        Self {
            validity: Duration::from_secs(3600),
            max_per_account: 60,
            sweep_interval: Duration::from_secs(1),
            seed: None,
        }
    }
}

/// The synthetic background market.
#[derive(Debug, Clone)]
pub struct MarketConfig {
    /// Seed of the random walk and the flow (same seed, same decisions).
    pub seed: u64,
    /// Start paused (no background orders until [`crate::SimVenue::resume_market`]).
    pub start_paused: bool,
    /// Time between two market steps.
    pub tick: Duration,
    /// Price levels quoted on each side.
    pub levels: u32,
    /// Distance between quoted levels, in ticks of the symbol.
    pub level_spacing_ticks: u32,
    /// Half spread of the synthetic quotes, in ticks.
    pub half_spread_ticks: u32,
    /// Largest mid move per step, in basis points.
    pub max_step_bps: u32,
    /// Probability per step and symbol that a taker trades against the touch.
    pub taker_probability: f64,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            start_paused: false,
            tick: Duration::from_millis(200),
            levels: 10,
            level_spacing_ticks: 2,
            half_spread_ticks: 2,
            max_step_bps: 2,
            taker_probability: 0.5,
        }
    }
}
