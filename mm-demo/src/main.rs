//! `mm-demo`: the market-maker demo. With no arguments it starts an embedded MEXC-compatible
//! venue, runs one quoting cycle on HIFI/USDT for 2.1 USDT a side, prints both orders'
//! outcomes and the shutdown report, and exits 0. `mm-demo --help` explains the options,
//! venues, signals and exit codes.

mod app;
mod cli;
mod cycle_outcome;
mod market_maker_context;
mod report;
mod state_machine;
mod venue;

use std::time::Duration;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Bound on the runtime's own wind-down once the run returned (tasks stuck in blocking code
/// cannot hold the process).
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(500);

fn main() {
    let cli = cli::Cli::parse();
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cli.log))
        .unwrap_or_else(|_| EnvFilter::new("warn,mm_demo=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the tokio runtime");
            std::process::exit(1);
        }
    };
    let exit = runtime.block_on(app::run(cli));
    if exit.immediately {
        // A forced exit: do not wait for anything.
        std::process::exit(exit.code);
    }
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    std::process::exit(exit.code);
}
