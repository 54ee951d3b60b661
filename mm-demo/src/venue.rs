//! Where the demo trades: the embedded venue, an external one, or real MEXC.

use std::time::Duration;

use exchange_composite::Credentials;
use exchange_composite::instance::InstanceName;
use exchange_composite::{AssetName, ExchangeConfig, Symbol};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};

use crate::cli::Cli;

/// Closed orders and fills per account, and public trades per symbol, the embedded venue
/// keeps: enough for the demo's queries, small enough that its histories are full (and the
/// run's footprint flat) within minutes.
const EMBEDDED_HISTORY_KEPT: usize = 500;

/// Quote currencies recognised when a symbol is written without a slash (`HIFIUSDT`).
const QUOTES: [&str; 6] = ["USDT", "USDC", "USDE", "BTC", "ETH", "EUR"];

/// Why the venue could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VenueError {
    /// The symbol is not `BASEQUOTE` or `BASE/QUOTE`.
    #[error(
        "cannot read the symbol {0:?}: write it as BASE/QUOTE (HIFI/USDT) or BASEQUOTE with a known quote (USDT, USDC, BTC, ...)"
    )]
    Symbol(String),
    /// The embedded venue did not start.
    #[error("the embedded venue did not start: {0}")]
    Embedded(#[from] exchange_sim::SimError),
    /// Credentials are missing or unreadable.
    #[error("{0}")]
    Credentials(String),
    /// The venue URL is not an http(s) URL.
    #[error("cannot read the venue URL {0}")]
    Url(String),
    /// The instance name is not usable.
    #[error(transparent)]
    Instance(#[from] exchange_composite::instance::InstanceError),
}

/// How this run reaches its venue (the composite's `Venue` trait is the venue itself): the
/// connection configuration, the embedded venue if this run started one, its kind and the
/// deployment's name.
pub(crate) struct VenueSetup {
    /// The connection configuration.
    pub(crate) config: ExchangeConfig,
    /// The embedded venue, if this run started one (stopped after everything else).
    pub(crate) embedded: Option<SimVenue>,
    /// `embedded`, `external` or `mexc`, for the report.
    pub(crate) kind: &'static str,
    /// This deployment's name (its prefix is in `config`).
    pub(crate) instance: InstanceName,
}

/// Reads `HIFIUSDT` or `HIFI/USDT`.
pub(crate) fn parse_symbol(text: &str) -> Result<Symbol, VenueError> {
    let upper = text.trim().to_ascii_uppercase();
    let (base, quote) = match upper.split_once('/') {
        Some(parts) => parts,
        None => QUOTES
            .iter()
            .find(|q| upper.len() > q.len() && upper.ends_with(*q))
            .map(|q| upper.split_at(upper.len() - q.len()))
            .ok_or_else(|| VenueError::Symbol(text.to_owned()))?,
    };
    let asset = |name: &str| AssetName::new(name).map_err(|_| VenueError::Symbol(text.to_owned()));
    Ok(Symbol::spot(asset(base)?, asset(quote)?))
}

/// The websocket URL of a REST base URL: same host and path, `ws(s)://.../ws`.
fn derived_ws_url(rest_url: &str) -> Result<String, VenueError> {
    let unreadable = |why: &dyn std::fmt::Display| VenueError::Url(format!("{rest_url:?}: {why}"));
    let mut url = url::Url::parse(rest_url).map_err(|e| unreadable(&e))?;
    let scheme = match url.scheme() {
        "https" => "wss",
        "http" => "ws",
        other => return Err(unreadable(&format_args!("{other}: is not http or https"))),
    };
    // Both are special schemes: the swap cannot be refused.
    let _ = url.set_scheme(scheme);
    url.path_segments_mut()
        .map_err(|()| unreadable(&"has no path"))?
        .pop_if_empty()
        .push("ws");
    Ok(url.into())
}

impl VenueSetup {
    /// Sets up the venue the command line asks for (starting the embedded one by default).
    pub(crate) async fn prepare(cli: &Cli) -> Result<Self, VenueError> {
        let symbol = parse_symbol(&cli.symbol)?;
        let (config, embedded, kind) = match external(cli)? {
            Some((config, kind)) => (config, None, kind),
            None => {
                let sim = SimVenue::start(SimConfig {
                    closed_orders_kept_per_account: EMBEDDED_HISTORY_KEPT,
                    fills_kept_per_account: EMBEDDED_HISTORY_KEPT,
                    trades_kept_per_symbol: EMBEDDED_HISTORY_KEPT,
                    ..SimConfig::default()
                })
                .await?;
                tracing::info!(rest = %sim.rest_url(), "embedded venue started (exchange-sim, demo account)");
                let config = ExchangeConfig::new(sim.rest_url(), sim.ws_url())
                    .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET));
                (config, Some(sim), "embedded")
            }
        };
        let (config, instance) = finish(config, cli, &symbol)?;
        Ok(Self {
            config: config.symbol(symbol),
            embedded,
            kind,
            instance,
        })
    }
}

/// The configuration of an external venue or MEXC with its credentials (for commands that
/// never start the embedded venue).
pub(crate) fn external_config(
    cli: &Cli,
) -> Result<(ExchangeConfig, &'static str, InstanceName), VenueError> {
    let symbol = parse_symbol(&cli.symbol)?;
    let (config, kind) = external(cli)?.ok_or_else(|| {
        VenueError::Credentials(
            "this command acts on an external venue: give --venue-url or --mexc".to_owned(),
        )
    })?;
    let (config, instance) = finish(config, cli, &symbol)?;
    Ok((config.symbol(symbol), kind, instance))
}

/// The external venue the command line names (with its credentials), or `None` for the
/// embedded one.
fn external(cli: &Cli) -> Result<Option<(ExchangeConfig, &'static str)>, VenueError> {
    let (config, kind) = if cli.mexc {
        (ExchangeConfig::mexc_spot(), "mexc")
    } else if let Some(url) = &cli.venue_url {
        let ws = match &cli.ws_url {
            Some(ws) => ws.clone(),
            None => derived_ws_url(url)?,
        };
        (ExchangeConfig::new(url.clone(), ws), "external")
    } else {
        return Ok(None);
    };
    let config = match (&cli.credentials_file, &cli.api_key, &cli.api_secret) {
        (Some(path), _, _) => config
            .credentials_from_file(path)
            .map_err(|e| VenueError::Credentials(e.to_string()))?,
        (None, Some(key), Some(secret)) => {
            config.credentials(Credentials::new(key.clone(), secret.clone()))
        }
        _ => {
            return Err(VenueError::Credentials(
                "an external venue needs --api-key and --api-secret (or MEXC_API_KEY and MEXC_API_SECRET, or --credentials-file)".to_owned(),
            ));
        }
    };
    Ok(Some((config, kind)))
}

/// The settings every venue of the demo shares, and the instance: `--instance`, or derived
/// from the symbol and the API key; its prefix unless `--order-prefix` says otherwise.
fn finish(
    mut config: ExchangeConfig,
    cli: &Cli,
    symbol: &Symbol,
) -> Result<(ExchangeConfig, InstanceName), VenueError> {
    let instance = match &cli.instance {
        Some(name) => InstanceName::new(name)?,
        None => {
            let key = config.credentials.as_ref().map_or("", |c| c.api_key());
            InstanceName::derived(symbol, key)
        }
    };
    config.name = "mexc".to_owned();
    config.client_order_id_prefix = cli
        .order_prefix
        .clone()
        .unwrap_or_else(|| instance.order_prefix());
    config.shutdown_budget = cli.shutdown_budget;
    // Every retry loop of the start stays within the start's own limit (the runner bounds the
    // whole start by it too).
    config.start_timeout = cli.start_timeout;
    config.reconcile_timeout = cli.start_timeout;
    config.reconnect_backoff = Duration::from_millis(100);
    Ok((config, instance))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_read_with_or_without_a_slash() {
        for text in ["HIFIUSDT", "hifi/usdt", "HIFI/USDT"] {
            let symbol = parse_symbol(text).unwrap();
            assert_eq!(symbol.to_string(), "HIFI/USDT");
        }
        assert_eq!(parse_symbol("BTCUSDC").unwrap().to_string(), "BTC/USDC");
        assert!(parse_symbol("USDT").is_err());
        assert!(parse_symbol("HIFIXYZ").is_err());
    }

    #[test]
    fn websocket_urls_follow_the_rest_url() {
        for (rest, ws) in [
            ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws"),
            ("https://venue.example/", "wss://venue.example/ws"),
            ("https://venue.example/api/", "wss://venue.example/api/ws"),
            ("HTTP://127.0.0.1:8080/api", "ws://127.0.0.1:8080/api/ws"),
        ] {
            assert_eq!(derived_ws_url(rest).unwrap(), ws, "{rest}");
        }
        for bad in ["127.0.0.1:8080", "ftp://venue.example", "not a url"] {
            assert!(
                matches!(derived_ws_url(bad), Err(VenueError::Url(_))),
                "{bad}"
            );
        }
    }
}
