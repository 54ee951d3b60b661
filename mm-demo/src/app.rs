//! The run: venue, exchanges, runner, cycles, report.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use exchange_composite::{ExchangeContext, Exchanges};
use lifecycle_core::{AppContext, ExitStatus, Runner};

use crate::cli::Cli;
use crate::cycle_outcome::CycleOutcome;
use crate::market_maker_context::MarketMakerContext;
use crate::report::{RunReport, Totals};
use crate::state_machine::{CycleError, MarketMakerStateMachine};
use crate::venue::Venue;

/// Time the cycle loop gets to wind down after a shutdown request (it cancels its own orders;
/// the shutdown sweep confirms).
const APP_GRACE: Duration = Duration::from_secs(2);
/// How far past the budget the watchdog lets a shutdown run before it ends the process.
const WATCHDOG_SLACK: Duration = Duration::from_secs(2);
/// Attempts at a cycle whose quote the market outran (a refused post-only order, say).
const CYCLE_ATTEMPTS: u32 = 3;
/// Pause before quoting again after such a failure.
const RETRY_PAUSE: Duration = Duration::from_millis(300);
/// Bound on stopping the embedded venue, after everything else.
const EMBEDDED_STOP: Duration = Duration::from_secs(1);

/// What the run came to: the exit code, and whether to exit at once (a forced exit does not
/// wait for the runtime to wind down).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exit {
    pub(crate) code: i32,
    pub(crate) immediately: bool,
}

/// Runs the demo as the command line says.
pub(crate) async fn run(cli: Cli) -> Exit {
    let venue = match Venue::prepare(&cli).await {
        Ok(venue) => venue,
        Err(error) => {
            tracing::error!(%error, "cannot set up the venue");
            return Exit {
                code: 1,
                immediately: false,
            };
        }
    };
    let symbol = venue.config.symbols[0].clone();
    let context = match ExchangeContext::new(&venue.config) {
        Ok(context) => context,
        Err(error) => {
            tracing::error!(%error, "cannot build the exchanges");
            stop_embedded(venue).await;
            return Exit {
                code: 1,
                immediately: false,
            };
        }
    };
    let (exchanges, system) = context.into_parts();
    let cycles: Arc<Mutex<Vec<CycleOutcome>>> = Arc::default();
    let logger = tracing::info_span!("market_maker", symbol = %symbol);
    let mm_context = MarketMakerContext {
        symbol: symbol.clone(),
        quantity_usdt: cli.quantity_usdt,
        fill_timeout: cli.fill_timeout,
        public_exchange: exchanges.public.clone(),
        private_exchange: exchanges.private.clone(),
        logger,
    };
    let runner = Runner::new(system)
        .shutdown_budget(cli.shutdown_budget)
        .app_grace(APP_GRACE)
        .watchdog(WATCHDOG_SLACK);
    let recorded = cycles.clone();
    let wanted = cli.cycles;
    tracing::info!(venue = venue.kind, %symbol, quantity_usdt = %cli.quantity_usdt, "starting exchanges");
    let outcome = runner
        .run(move |app| run_cycles(app, mm_context, wanted, recorded))
        .await;

    let cycles = std::mem::take(&mut *cycles.lock().unwrap_or_else(PoisonError::into_inner));
    let forced = outcome.status == ExitStatus::Forced;
    let totals = outcome.report.as_ref().map(Totals::of);
    let report = RunReport {
        venue: venue.kind,
        symbol: symbol.to_string(),
        exit_code: outcome.exit_code(),
        cycles: &cycles,
        totals,
        orders_possibly_open: possibly_open(&exchanges, totals),
        run: &outcome,
    };
    print_report(&report.render());
    if let Some(Err(error)) = cli.report_json.as_ref().map(|path| report.write_json(path)) {
        tracing::error!(%error, "report not written");
    }
    let code = outcome.exit_code();
    if !forced {
        drop(exchanges);
        stop_embedded(venue).await;
    }
    Exit {
        code,
        immediately: forced,
    }
}

/// The application: cycles until done or asked to stop.
async fn run_cycles(
    app: AppContext,
    context: MarketMakerContext,
    wanted: u64,
    recorded: Arc<Mutex<Vec<CycleOutcome>>>,
) -> Result<(), CycleError> {
    let stop = app.shutdown_signal().clone();
    let mut machine = MarketMakerStateMachine::new(context);
    let mut cycle = 0;
    let mut attempt = 0;
    while wanted == 0 || cycle < wanted {
        if stop.is_triggered() {
            break;
        }
        if attempt == 0 {
            cycle += 1;
        }
        attempt += 1;
        match machine.run_cycle(cycle, &stop).await {
            Ok(outcome) => {
                attempt = 0;
                print_report(&outcome.to_string());
                let interrupted = outcome.interrupted;
                recorded
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(outcome);
                if interrupted {
                    break;
                }
            }
            Err(CycleError::Interrupted) => break,
            Err(error) if error.is_passing() && attempt < CYCLE_ATTEMPTS => {
                tracing::warn!(cycle, attempt, %error, "cycle failed for a passing reason: quoting again");
                tokio::select! {
                    biased;
                    () = stop.triggered() => break,
                    () = tokio::time::sleep(RETRY_PAUSE) => {}
                }
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Orders of ours that may still be open: those the shutdown could not confirm closed, or,
/// after a forced exit (no report), those the exchange still tracks.
fn possibly_open(exchanges: &Exchanges, totals: Option<Totals>) -> usize {
    match totals {
        Some(totals) => usize::try_from(totals.orders_unconfirmed).unwrap_or(usize::MAX),
        None => exchanges.private.tracked_orders(),
    }
}

async fn stop_embedded(venue: Venue) {
    if let Some(sim) = venue.embedded {
        let report = sim.stop(EMBEDDED_STOP).await;
        tracing::info!(?report, "embedded venue stopped");
    }
}

/// The report goes to stdout: it is the program's output.
#[allow(clippy::print_stdout)]
fn print_report(text: &str) {
    println!("{text}");
}
