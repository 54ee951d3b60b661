//! `exchange-sim` standalone: serve the simulated MEXC venue until SIGINT/SIGTERM.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;
use exchange_sim::{
    AccountConfig, DEMO_API_KEY, DEMO_API_SECRET, RateLimitConfig, SimConfig, SimVenue,
    SymbolConfig,
};
use rust_decimal::Decimal;

/// An embedded MEXC-compatible spot venue (REST + protobuf websocket) on loopback.
///
/// Prints `listening on http://IP:PORT` as its first line, then serves MEXC's spot v3 REST
/// paths and the websocket at `/ws` on the same port until SIGINT or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "exchange-sim", version)]
struct Args {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, default_value = "127.0.0.1:8088")]
    listen: SocketAddr,
    /// API key of the trading account.
    #[arg(long, default_value = DEMO_API_KEY)]
    api_key: String,
    /// API secret of the trading account.
    #[arg(long, default_value = DEMO_API_SECRET)]
    api_secret: String,
    /// Seed of the synthetic market.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Symbols, comma separated: presets `HIFIUSDT`, `BTCUSDT`, or `BASE/QUOTE@MID` (e.g.
    /// `ETH/USDT@3000`).
    #[arg(long, value_delimiter = ',', default_value = "HIFIUSDT,BTCUSDT")]
    symbols: Vec<String>,
    /// Another account `API_KEY:API_SECRET` with the same starting balances (repeatable).
    #[arg(long = "account", value_name = "KEY:SECRET")]
    accounts: Vec<String>,
    /// Starting balance `ASSET=AMOUNT` of the account (repeatable; replaces the demo balances).
    #[arg(long = "balance", value_name = "ASSET=AMOUNT")]
    balances: Vec<String>,
    /// Start with the synthetic market paused.
    #[arg(long)]
    paused: bool,
    /// Disable REST rate limits.
    #[arg(long)]
    no_rate_limits: bool,
    /// Log filter (tracing `EnvFilter` syntax), logs go to stderr.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log: String,
}

fn parse_symbol(spec: &str) -> Result<SymbolConfig, String> {
    match spec.to_ascii_uppercase().as_str() {
        "HIFIUSDT" => return Ok(SymbolConfig::hifiusdt()),
        "BTCUSDT" => return Ok(SymbolConfig::btcusdt()),
        _ => {}
    }
    let (pair, mid) = spec
        .split_once('@')
        .ok_or(format!("bad symbol {spec}: use BASE/QUOTE@MID"))?;
    let (base, quote) = pair
        .split_once('/')
        .ok_or(format!("bad symbol {spec}: use BASE/QUOTE@MID"))?;
    let mid = Decimal::from_str(mid).map_err(|e| format!("bad mid price in {spec}: {e}"))?;
    Ok(SymbolConfig::generic(
        &base.to_ascii_uppercase(),
        &quote.to_ascii_uppercase(),
        mid,
    ))
}

fn parse_balance(spec: &str) -> Result<(String, Decimal), String> {
    let (asset, amount) = spec
        .split_once('=')
        .ok_or(format!("bad balance {spec}: use ASSET=AMOUNT"))?;
    let amount = Decimal::from_str(amount).map_err(|e| format!("bad amount in {spec}: {e}"))?;
    Ok((asset.to_ascii_uppercase(), amount))
}

fn config(args: &Args) -> Result<SimConfig, String> {
    let mut config = SimConfig {
        listen: args.listen,
        ..SimConfig::default()
    };
    config.market.seed = args.seed;
    config.market.start_paused = args.paused;
    if args.no_rate_limits {
        config.rate_limits = RateLimitConfig::disabled();
    }
    config.symbols = args
        .symbols
        .iter()
        .map(|s| parse_symbol(s))
        .collect::<Result<_, _>>()?;
    let mut account = AccountConfig::demo();
    account.api_key = args.api_key.clone();
    account.api_secret = args.api_secret.clone();
    if !args.balances.is_empty() {
        account.balances = args
            .balances
            .iter()
            .map(|b| parse_balance(b))
            .collect::<Result<_, _>>()?;
    }
    let mut accounts = vec![account.clone()];
    for extra in &args.accounts {
        let (key, secret) = extra
            .split_once(':')
            .ok_or(format!("bad account {extra}: use KEY:SECRET"))?;
        let mut other = account.clone();
        other.api_key = key.to_owned();
        other.api_secret = secret.to_owned();
        accounts.push(other);
    }
    config.accounts = accounts;
    Ok(config)
}

async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
        .with_writer(std::io::stderr)
        .init();
    let config = match config(&args) {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(2);
        }
    };
    let sim = match SimVenue::start(config).await {
        Ok(sim) => sim,
        Err(e) => {
            tracing::error!(error = %e, "cannot start exchange-sim");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {}", sim.rest_url());
    let _ = writeln!(stdout, "websocket: {}", sim.ws_url());
    let _ = writeln!(stdout, "api key: {}", args.api_key);
    let _ = writeln!(stdout, "api secret: {}", args.api_secret);
    let _ = stdout.flush();
    drop(stdout);
    if let Err(e) = wait_for_signal().await {
        tracing::error!(error = %e, "cannot wait for signals; stopping");
    }
    let report = sim.stop_within(Duration::from_millis(800)).await;
    tracing::info!(
        stopped = report.stopped,
        aborted = report.aborted,
        elapsed_ms = report.elapsed.as_millis() as u64,
        "shut down"
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_and_balance_flags() {
        assert_eq!(parse_symbol("hifiusdt").unwrap().symbol, "HIFIUSDT");
        let eth = parse_symbol("eth/usdt@3000").unwrap();
        assert_eq!(
            (
                eth.symbol.as_str(),
                eth.base_asset.as_str(),
                eth.initial_mid
            ),
            ("ETHUSDT", "ETH", Decimal::from(3000))
        );
        assert!(parse_symbol("ETHUSDT").is_err());
        assert!(parse_symbol("ETH/USDT@x").is_err());
        assert_eq!(
            parse_balance("usdt=12.5").unwrap(),
            ("USDT".to_owned(), Decimal::new(125, 1))
        );
        assert!(parse_balance("USDT").is_err());
        let args = Args::parse_from([
            "exchange-sim",
            "--listen",
            "127.0.0.1:0",
            "--balance",
            "USDT=5",
            "--symbols",
            "BTCUSDT",
            "--api-key",
            "k",
            "--paused",
            "--account",
            "k2:s2",
        ]);
        let config = config(&args).unwrap();
        assert_eq!(config.symbols.len(), 1);
        assert_eq!(config.accounts[0].api_key, "k");
        assert_eq!(
            (
                config.accounts[1].api_key.as_str(),
                config.accounts[1].api_secret.as_str()
            ),
            ("k2", "s2")
        );
        assert_eq!(config.accounts[1].balances, config.accounts[0].balances);
        assert_eq!(
            config.accounts[0].balances,
            vec![("USDT".to_owned(), Decimal::from(5))]
        );
        assert!(config.market.start_paused);
    }
}
