//! `mm-demo`: the market-maker demo. With no arguments it starts an embedded MEXC-compatible
//! venue, runs one quoting cycle on HIFI/USDT for 2.1 USDT a side, prints both orders'
//! outcomes and the shutdown report, and exits 0. `mm-demo --help` explains the options,
//! venues, signals and exit codes.

mod app;
mod cli;
#[cfg(feature = "console")]
mod console;
mod cycle_outcome;
mod guardian;
mod health;
mod instance;
mod logging;
mod market_maker_context;
mod metrics_export;
mod ops_server;
mod orphans;
mod output;
mod report;
mod state_machine;
mod systemd;
mod timeline;
mod trading_halt;
mod venue;

use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

/// Bound on the runtime's own wind-down once the run returned (tasks stuck in blocking code
/// cannot hold the process).
pub(crate) const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(500);

fn main() {
    if std::env::args_os().nth(1).as_deref() == Some(guardian::GUARDIAN_SUBCOMMAND.as_ref()) {
        guardian::run_child();
    }
    let matches = cli::Cli::command().get_matches();
    let cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    if let Err(message) = cli.check_metrics_addr() {
        cli::Cli::command()
            .error(clap::error::ErrorKind::ValueValidation, message)
            .exit();
    }
    // systemd's notifications are for the quoting run only (`cancel-orphans` runs as
    // `ExecStopPost=`, after the service stopped).
    let notifier =
        systemd::Notifier::from_env(cli.shutdown_budget, app::WATCHDOG_SLACK + RUNTIME_SHUTDOWN);
    let mut observers: Vec<logging::BoxedLayer> = match &cli.command {
        None => notifier.timeline_layer().into_iter().collect(),
        Some(_) => Vec::new(),
    };
    // The timeline files record the quoting run.
    let (timeline, timeline_error) = match &cli.command {
        None => {
            match timeline::Recorder::start(cli.timeline.as_deref(), cli.timeline_svg.as_deref()) {
                Ok(Some((layer, recorder))) => {
                    observers.push(layer);
                    (Some(recorder), None)
                }
                Ok(None) => (None, None),
                Err(error) => (None, Some(error)),
            }
        }
        Some(_) => (None, None),
    };
    #[cfg(feature = "console")]
    observers.push(console::layer());
    logging::init(&cli.log, cli.log_format, observers);
    if let Some(error) = timeline_error {
        tracing::error!(%error, "cannot record the timeline (--timeline, --timeline-svg)");
        std::process::exit(1);
    }
    if matches.value_source("api_secret") == Some(ValueSource::CommandLine) {
        tracing::warn!(
            "--api-secret on the command line is readable by every local user (ps, /proc/PID/cmdline): \
             set MEXC_API_SECRET or use --credentials-file instead"
        );
    }
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
    if let Some(cli::Command::CancelOrphans(args)) = &cli.command {
        let code = runtime.block_on(orphans::run(&cli, args));
        runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
        std::process::exit(code);
    }
    notifier.start_watchdog(runtime.handle().clone());
    let exit = runtime.block_on(app::run(cli, notifier.clone(), timeline.clone()));
    notifier.stopped(exit.code);
    if exit.immediately {
        // A forced exit: do not wait for anything but the timeline's files.
        timeline::finish_and_log(timeline.as_deref());
        std::process::exit(exit.code);
    }
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    // After the runtime's wind-down: the spans of tasks it dropped are closed.
    timeline::finish_and_log(timeline.as_deref());
    std::process::exit(exit.code);
}
