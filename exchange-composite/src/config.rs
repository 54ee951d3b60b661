//! [`ExchangeConfig`]: where the venue is, which markets, whose keys, and how to stop.

use std::path::Path;
use std::time::Duration;

use exchange_rest::{Credentials, MEXC_SPOT_URL, RestTransport};
use exchange_ws::{WebSocketConfig, WsConnector};
use lifecycle_core::WallClock;

use crate::domain::push_interval::PushInterval;
use crate::domain::symbol::Symbol;

/// MEXC spot's public websocket endpoint.
pub const MEXC_SPOT_WS_URL: &str = "wss://wbs-api.mexc.com/ws";
/// Environment variable holding the API key ([`ExchangeConfig::credentials_from_env`]).
pub const API_KEY_ENV: &str = "MEXC_API_KEY";
/// Environment variable holding the API secret ([`ExchangeConfig::credentials_from_env`]).
pub const API_SECRET_ENV: &str = "MEXC_API_SECRET";

/// Why a configuration could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An environment variable is missing or empty.
    #[error("environment variable {0} is not set")]
    MissingEnv(&'static str),
    /// The credentials file could not be read.
    #[error("cannot read credentials file {path}: {source}")]
    ReadFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line of the credentials file is not `NAME=value` (or has an unclosed quote). The
    /// line itself is not shown: it may hold the secret.
    #[error("credentials file {path} has a line that is not NAME=value (an unclosed quote?)")]
    MalformedFile {
        /// The file.
        path: String,
    },
    /// The credentials file lacks a key.
    #[error("credentials file {path} has no {key}=... line")]
    MissingInFile {
        /// The file.
        path: String,
        /// The missing key.
        key: &'static str,
    },
}

/// Configuration of a venue connection: endpoints, markets, credentials and timing.
///
/// The same configuration serves the embedded venue (`exchange-sim`: pass its URLs), a
/// standalone simulator, and real MEXC ([`ExchangeConfig::mexc_spot`]). `Debug` output never
/// shows the secret.
///
/// ```
/// use exchange_composite::{AssetName, ExchangeConfig, Symbol};
///
/// let hifi = Symbol::spot(AssetName::new("HIFI").unwrap(), AssetName::new("USDT").unwrap());
/// let config = ExchangeConfig::new("http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws")
///     .symbol(hifi)
///     .credentials(exchange_rest::Credentials::new("key", "secret"));
/// assert!(!format!("{config:?}").contains("secret\""));
/// assert_eq!(config.symbols.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct ExchangeConfig {
    /// Name used in component names, logs and reports (default `mexc`).
    pub name: String,
    /// REST base URL.
    pub rest_url: String,
    /// Websocket URL (the private socket adds `?listenKey=...`).
    pub ws_url: String,
    /// API key and secret; a private exchange needs them.
    pub credentials: Option<Credentials>,
    /// The markets to trade and watch.
    pub symbols: Vec<Symbol>,
    /// Prefix of our client order ids (at most 12 characters of `[A-Za-z0-9_-]`): orders
    /// carrying it are ours, and are cancelled at start and at stop.
    pub client_order_id_prefix: String,
    /// Push interval of the public channels.
    pub push_interval: PushInterval,
    /// How often the listen key is kept alive (MEXC: it expires after 60 minutes).
    pub listen_key_keepalive: Duration,
    /// First reconnect delay of the sockets.
    pub reconnect_backoff: Duration,
    /// Time allowed for the start-up reconciliation of orders left by a previous run.
    pub reconcile_timeout: Duration,
    /// How long a start keeps retrying calls that fail for a passing reason (429, 5xx,
    /// timeouts) before it gives up.
    pub start_timeout: Duration,
    /// Pause between rounds of cancel-and-confirm when orders remain.
    pub cancel_retry_interval: Duration,
    /// Total shutdown budget of a context or a factory-made exchange (10 s by default).
    pub shutdown_budget: Duration,
    /// Per-request timeout of the REST client.
    pub request_timeout: Duration,
    /// How the sockets dial (default real TCP; a simulation passes its connector).
    pub ws_connector: WsConnector,
    /// The REST client's HTTP transport (default TCP; a simulation passes its own).
    pub rest_transport: RestTransport,
    /// The wall clock of signed requests and client order ids (default the system's).
    pub clock: WallClock,
    /// Seeds the sockets' reconnect jitter (default `None`: random), for reproducible runs.
    pub backoff_seed: Option<u64>,
}

impl ExchangeConfig {
    /// A venue at `rest_url` / `ws_url` (the embedded or a standalone simulator, say) with no
    /// markets and no credentials yet.
    pub fn new(rest_url: impl Into<String>, ws_url: impl Into<String>) -> Self {
        Self {
            name: "mexc".to_owned(),
            rest_url: rest_url.into(),
            ws_url: ws_url.into(),
            credentials: None,
            symbols: Vec::new(),
            client_order_id_prefix: "qsc-".to_owned(),
            push_interval: PushInterval::Ms100,
            listen_key_keepalive: Duration::from_secs(30 * 60),
            reconnect_backoff: Duration::from_millis(250),
            reconcile_timeout: Duration::from_secs(10),
            start_timeout: Duration::from_secs(15),
            cancel_retry_interval: Duration::from_millis(50),
            shutdown_budget: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            ws_connector: WsConnector::Tcp,
            rest_transport: RestTransport::Tcp,
            clock: WallClock::system(),
            backoff_seed: None,
        }
    }

    /// A socket's configuration: `name` on the websocket URL, with the reconnect backoff,
    /// connector and jitter seed of this configuration.
    pub(crate) fn websocket_config(&self, name: String) -> WebSocketConfig {
        let mut socket = WebSocketConfig::new(name, self.ws_url.clone());
        socket.backoff_initial = self.reconnect_backoff;
        socket.connector = self.ws_connector;
        socket.backoff_seed = self.backoff_seed;
        socket
    }

    /// Real MEXC spot (`https://api.mexc.com`, `wss://wbs-api.mexc.com/ws`).
    pub fn mexc_spot() -> Self {
        Self::new(MEXC_SPOT_URL, MEXC_SPOT_WS_URL)
    }

    /// Adds a market.
    #[must_use]
    pub fn symbol(mut self, symbol: Symbol) -> Self {
        if !self.symbols.contains(&symbol) {
            self.symbols.push(symbol);
        }
        self
    }

    /// Sets the credentials.
    #[must_use]
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sets the client-order-id prefix.
    #[must_use]
    pub fn client_order_id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.client_order_id_prefix = prefix.into();
        self
    }

    /// Sets the total shutdown budget.
    #[must_use]
    pub fn shutdown_budget(mut self, budget: Duration) -> Self {
        self.shutdown_budget = budget;
        self
    }

    /// Reads the credentials from `MEXC_API_KEY` and `MEXC_API_SECRET`.
    ///
    /// # Errors
    /// [`ConfigError::MissingEnv`] if either is unset or empty.
    pub fn credentials_from_env(self) -> Result<Self, ConfigError> {
        let read = |name: &'static str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::MissingEnv(name))
        };
        let key = read(API_KEY_ENV)?;
        let secret = read(API_SECRET_ENV)?;
        Ok(self.credentials(Credentials::new(key.trim(), secret.trim())))
    }

    /// Reads the credentials from a file of `MEXC_API_KEY=...` and `MEXC_API_SECRET=...`
    /// lines, in the dotenv format ([`dotenvy`]): blank lines and `#` comments are ignored,
    /// an `export ` prefix is allowed, values may be quoted. Single-quoted values are taken as
    /// written; unquoted and double-quoted ones expand `$NAME` and `${NAME}`, so quote a
    /// secret that contains `$` in single quotes. Lines of other names are ignored; the first
    /// line of a name counts.
    ///
    /// # Errors
    /// [`ConfigError::ReadFile`], [`ConfigError::MalformedFile`] or
    /// [`ConfigError::MissingInFile`]; the errors never contain the file's contents.
    pub fn credentials_from_file(self, path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let (mut key, mut secret) = (None, None);
        let lines = dotenvy::from_path_iter(path).map_err(|error| file_error(&shown, error))?;
        for line in lines {
            let (name, value) = line.map_err(|error| file_error(&shown, error))?;
            let slot = match name.as_str() {
                API_KEY_ENV => &mut key,
                API_SECRET_ENV => &mut secret,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        let value = |found: Option<String>, key: &'static str| {
            found
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
                .ok_or(ConfigError::MissingInFile {
                    path: shown.clone(),
                    key,
                })
        };
        let key = value(key, API_KEY_ENV)?;
        let secret = value(secret, API_SECRET_ENV)?;
        Ok(self.credentials(Credentials::new(key, secret)))
    }
}

/// A credentials file's error, without the line `dotenvy` quotes (it may hold the secret).
fn file_error(path: &str, error: dotenvy::Error) -> ConfigError {
    match error {
        dotenvy::Error::Io(source) => ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        },
        _ => ConfigError::MalformedFile {
            path: path.to_owned(),
        },
    }
}
