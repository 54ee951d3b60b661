//! The run: venue, exchanges, runner, cycles, report.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use exchange_composite::guardian::GuardianLossPolicy;
use exchange_composite::instance::sweep_recorded_listen_keys;
use exchange_composite::{ExchangeContext, Exchanges};
use lifecycle_core::{AppContext, Backoff, ExitStatus, Runner, ShutdownPriority};
use tokio::time::Instant;

use crate::cli::Cli;
use crate::cycle_outcome::CycleHistory;
use crate::health::{Health, Trading};
use crate::instance::Instance;
use crate::market_maker_context::MarketMakerContext;
use crate::metrics_export::MetricsExport;
use crate::ops_server::OpsServer;
use crate::output;
use crate::report::{RunReport, Totals};
use crate::state_machine::{CycleError, MarketMakerStateMachine};
use crate::systemd::Notifier;
use crate::timeline::{self, Recorder};
use crate::trading_halt::{self, HaltCounts};
use crate::venue::VenueSetup;

/// How far past the budget the watchdog lets a shutdown run before it ends the process.
pub(crate) const WATCHDOG_SLACK: Duration = Duration::from_secs(2);
/// First pause before quoting again after a passing failure (doubling while failures last,
/// at most [`RETRY_MAX_PAUSE`]).
const RETRY_FIRST_PAUSE: Duration = Duration::from_millis(300);
/// Longest pause between two attempts while the venue keeps failing.
const RETRY_MAX_PAUSE: Duration = Duration::from_secs(5);
/// Longest the start spends deleting the listen keys a previous run left behind.
const STALE_KEY_SWEEP: Duration = Duration::from_secs(5);
/// Bound on stopping the embedded venue, after everything else.
const EMBEDDED_STOP: Duration = Duration::from_secs(1);
/// Bound on the metrics and health listener's stop, last of all (a scrape under way ends).
const OPS_STOP: Duration = Duration::from_millis(500);

/// What the run came to: the exit code, and whether to exit at once (a forced exit does not
/// wait for the runtime to wind down).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exit {
    pub(crate) code: i32,
    pub(crate) immediately: bool,
}

/// Runs the demo as the command line says, telling systemd how it goes through `notifier`,
/// and serving metrics and health at `--metrics-addr` from before the start to after the
/// shutdown; `timeline` (if recording) is finished before the shutdown watchdog ends the
/// process.
pub(crate) async fn run(
    cli: Cli,
    notifier: Arc<Notifier>,
    timeline: Option<Arc<Recorder>>,
) -> Exit {
    let health: Arc<Health> = Arc::default();
    let ops = match cli.metrics_addr {
        Some(addr) => match serve_ops(addr, health.clone()).await {
            Ok(ops) => Some(ops),
            Err(error) => {
                tracing::error!(%error, %addr, "cannot serve metrics and health (--metrics-addr)");
                return Exit {
                    code: 1,
                    immediately: false,
                };
            }
        },
        None => None,
    };
    let exit = run_exchanges(cli, notifier, timeline, health).await;
    if let Some(ops) = ops.filter(|_| !exit.immediately) {
        ops.stop(OPS_STOP).await;
    }
    exit
}

/// Installs the metrics recorder (before any component registers its counters) and starts
/// the listener.
async fn serve_ops(
    addr: std::net::SocketAddr,
    health: Arc<Health>,
) -> Result<OpsServer, Box<dyn std::error::Error>> {
    let metrics = MetricsExport::install()?;
    let server = OpsServer::start(addr, health, metrics).await?;
    tracing::debug!(address = %server.local_addr(), "operations listener up");
    Ok(server)
}

async fn run_exchanges(
    cli: Cli,
    notifier: Arc<Notifier>,
    timeline: Option<Arc<Recorder>>,
    health: Arc<Health>,
) -> Exit {
    notifier.status("starting: venue");
    let venue = match VenueSetup::prepare(&cli).await {
        Ok(venue) => venue,
        Err(error) => {
            tracing::error!(%error, "cannot set up the venue");
            return Exit {
                code: 1,
                immediately: false,
            };
        }
    };
    // One live process per instance name on this machine (the embedded venue's account is
    // ours alone: no lock).
    let instance = if venue.embedded.is_none() {
        match Instance::lock(&cli, venue.instance.clone()) {
            Ok(instance) => Some(instance),
            Err(error) => {
                tracing::error!(%error, "cannot start");
                return Exit {
                    code: 1,
                    immediately: false,
                };
            }
        }
    } else {
        None
    };
    if let Some(instance) = &instance {
        clear_stale_listen_keys(&venue, instance, cli.start_timeout).await;
    }
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
    let (exchanges, mut system) = context.into_parts();
    notifier.follow(system.name());
    let halts: Arc<HaltCounts> = Arc::default();
    health.trade_with(Trading {
        private: exchanges.private.clone(),
        counts: halts.clone(),
    });
    if let Some(instance) = &instance {
        tracing::info!(
            instance = %instance.name,
            prefix = venue.config.client_order_id_prefix.as_str(),
            lock = %instance.lock.path().display(),
            "instance locked: one process of this name runs on this machine"
        );
        crate::instance::record_listen_keys(&exchanges.private, instance.ledger.clone());
    }
    if let Err(error) = trading_halt::listen(exchanges.private.clone(), halts.clone()) {
        tracing::warn!(%error, "SIGUSR1/SIGUSR2 not handled: no trading halt by signal");
    }
    if venue.embedded.is_none() && !cli.no_guardian {
        let on_loss = if cli.halt_on_guardian_loss {
            let (private, counts) = (exchanges.private.clone(), halts.clone());
            GuardianLossPolicy::Halt(Arc::new(move || {
                let (private, counts) = (private.clone(), counts.clone());
                tokio::spawn(async move {
                    let _ = trading_halt::halt(&private, &counts, "the order guardian died").await;
                });
            }))
        } else {
            GuardianLossPolicy::Restart
        };
        match crate::guardian::order_guardian(
            &venue.config,
            &exchanges.private,
            on_loss,
            cli.log_format,
        ) {
            // Cleanup: it starts before everything else and stops after everything else
            // (told the end is clean once the orders are cancelled and the listen key gone).
            Ok(guardian) => {
                system.register(Arc::new(guardian), ShutdownPriority::Cleanup);
            }
            Err(error) => {
                tracing::error!(%error, "cannot set up the order guardian");
                stop_embedded(venue).await;
                return Exit {
                    code: 1,
                    immediately: false,
                };
            }
        }
    }
    let cycles: Arc<Mutex<CycleHistory>> = Arc::default();
    let logger = tracing::info_span!("market_maker", symbol = %symbol);
    let mm_context = MarketMakerContext {
        symbol: symbol.clone(),
        quantity_usdt: cli.quantity_usdt,
        fill_timeout: cli.fill_timeout,
        max_outage: cli.max_outage,
        public_exchange: exchanges.public.clone(),
        private_exchange: exchanges.private.clone(),
        logger,
    };
    let mut runner = Runner::new(system)
        .shutdown_budget(cli.shutdown_budget)
        .app_grace(cli.app_grace)
        .start_timeout(cli.start_timeout)
        .watchdog(WATCHDOG_SLACK);
    if let Some(timeline) = timeline {
        runner = runner.before_watchdog_exit(move || timeline::finish_and_log(Some(&timeline)));
    }
    health.follow(runner.orchestrator().clone());
    let recorded = cycles.clone();
    let wanted = cli.cycles;
    tracing::info!(venue = venue.kind, %symbol, quantity_usdt = %cli.quantity_usdt, "starting exchanges");
    notifier.status(&format!(
        "starting {symbol} on {}: markets, sockets, listen key, a previous run's orders cleared",
        venue.kind
    ));
    let quoting = format!("quoting {symbol} on {}", venue.kind);
    let app_notifier = notifier.clone();
    let outcome = runner
        .run(move |app| {
            announced(
                app.shutdown_signal().clone(),
                health,
                app_notifier.clone(),
                quoting.clone(),
                run_cycles(app, mm_context, wanted, recorded, app_notifier, quoting),
            )
        })
        .await;
    notifier.status(&format!("shut down: {}", outcome.reason));

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
        log_lines_lost: output::log_lines_lost(),
        stdout_failed: output::stdout_failed(),
        abandoned: &outcome.abandoned,
        halts: &halts,
        halted_at_exit: exchanges.private.is_halted(),
        run: &outcome,
    };
    output::print(&report.render());
    let said = format!(
        "{} {}",
        outcome.reason,
        outcome.app_error.as_deref().unwrap_or("")
    );
    if said.contains("730001") {
        tracing::error!(
            "the account's listen-key table is full (MEXC 730001): if nothing else uses the account, run `mm-demo cancel-orphans --delete-all-listen-keys` with the same venue and key options; otherwise wait until the stale keys expire (60 minutes after their last keep-alive)"
        );
    }
    if let Some(Err(error)) = cli.report_json.as_ref().map(|path| report.write_json(path)) {
        tracing::error!(%error, "report not written");
    }
    let code = outcome.exit_code();
    if !forced {
        drop(exchanges);
        stop_embedded(venue).await;
    }
    drop(instance);
    Exit {
        code,
        immediately: forced,
    }
}

/// Why the application ended in failure.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AppError {
    /// A cycle failed for good.
    #[error(transparent)]
    Cycle(#[from] CycleError),
    /// The venue kept failing for a passing reason for longer than `--max-outage`.
    #[error(
        "the venue kept failing for {failing_s:.1} s (--max-outage {limit_s:.1} s); last error: {last}"
    )]
    Outage {
        /// How long the failures lasted.
        failing_s: f64,
        /// `--max-outage`.
        limit_s: f64,
        /// The last failure.
        last: CycleError,
    },
}

/// `cycles` (the application), with systemd and the readiness told: ready as it begins (the
/// start, and with it the reconciliation, is done), stopping the moment the runner asks it to
/// stop (the readiness reads that signal itself) or it ends.
async fn announced<F>(
    stop: lifecycle_core::ShutdownSignal,
    health: Arc<Health>,
    notifier: Arc<Notifier>,
    quoting: String,
    cycles: F,
) -> Result<(), AppError>
where
    F: Future<Output = Result<(), AppError>>,
{
    health.running(stop.clone());
    notifier.ready(&quoting);
    let mut cycles = std::pin::pin!(cycles);
    // The request first: an interrupted cycle may end in the same poll.
    tokio::select! {
        biased;
        () = stop.triggered() => notifier.stopping("shutdown requested"),
        result = cycles.as_mut() => {
            health.ended();
            notifier.stopping("the cycles ended");
            return result;
        }
    }
    // The cycle finishes within its grace (its own cancels), then the shutdown goes on.
    cycles.await
}

/// The application: cycles until done or asked to stop. A failure that passes is ridden out
/// (the cycle is tried again with backoff) for at most the context's `max_outage`.
async fn run_cycles(
    app: AppContext,
    context: MarketMakerContext,
    wanted: u64,
    recorded: Arc<Mutex<CycleHistory>>,
    notifier: Arc<Notifier>,
    quoting: String,
) -> Result<(), AppError> {
    let stop = app.shutdown_signal().clone();
    let max_outage = context.max_outage;
    let halted = context.private_exchange.halt_watch();
    let mut machine = MarketMakerStateMachine::new(context);
    let mut pause = Backoff::new(RETRY_FIRST_PAUSE, RETRY_MAX_PAUSE);
    let mut failing_since: Option<Instant> = None;
    let mut cycle = 0;
    let mut retrying = false;
    while wanted == 0 || cycle < wanted {
        if stop.is_triggered() {
            break;
        }
        let was_halted = *halted.borrow();
        if was_halted {
            notifier.status("halted (SIGUSR1): no quoting until SIGUSR2");
        }
        if !trading_halt::wait_while_halted(halted.clone(), &stop).await {
            break;
        }
        if was_halted {
            notifier.status(&quoting);
        }
        if !retrying {
            cycle += 1;
        }
        match machine.run_cycle(cycle, &stop).await {
            Ok(outcome) => {
                retrying = false;
                if let Some(since) = failing_since.take() {
                    tracing::warn!(
                        cycle,
                        failed_for_s = since.elapsed().as_secs_f64(),
                        "the venue answers again: quoting normally"
                    );
                    pause.reset();
                }
                output::print(&outcome.to_string());
                let interrupted = outcome.interrupted;
                recorded
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .record(outcome);
                if interrupted {
                    break;
                }
            }
            Err(CycleError::Interrupted) => break,
            // A halt came while quoting: the halt's sweep cancels what was placed; quote again
            // (the same cycle) once resumed.
            Err(CycleError::Exchange(error)) if error.is_halted() => retrying = true,
            Err(error) if error.is_passing() => {
                let since = *failing_since.get_or_insert_with(Instant::now);
                let failing_for = since.elapsed();
                if failing_for >= max_outage {
                    tracing::error!(
                        cycle,
                        failing_for_s = failing_for.as_secs_f64(),
                        limit_s = max_outage.as_secs_f64(),
                        %error,
                        "the venue kept failing for longer than --max-outage: giving up"
                    );
                    return Err(AppError::Outage {
                        failing_s: failing_for.as_secs_f64(),
                        limit_s: max_outage.as_secs_f64(),
                        last: error,
                    });
                }
                let wait = pause.next_delay();
                tracing::warn!(
                    cycle,
                    %error,
                    failing_for_s = failing_for.as_secs_f64(),
                    limit_s = max_outage.as_secs_f64(),
                    retry_in_ms = wait.as_millis() as u64,
                    "cycle failed for a passing reason: riding it out, quoting again"
                );
                retrying = true;
                tokio::select! {
                    biased;
                    () = stop.triggered() => break,
                    () = tokio::time::sleep(wait) => {}
                }
            }
            Err(error) => return Err(error.into()),
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

/// Deletes the listen keys a dead process of this instance left behind (recorded in its
/// ledger, so ours; stale, as we hold the instance's lock), before the start creates its own:
/// a crash-looping run must not fill the account's key table.
async fn clear_stale_listen_keys(venue: &VenueSetup, instance: &Instance, start_timeout: Duration) {
    match instance.ledger.recorded() {
        Ok(recorded) if recorded.is_empty() => return,
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(%error, "listen-key ledger unreadable: stale keys not cleared");
            return;
        }
    }
    let timeout = start_timeout.min(STALE_KEY_SWEEP);
    match sweep_recorded_listen_keys(&venue.config, &instance.ledger, timeout).await {
        Ok(keys) if keys.deleted > 0 || !keys.is_complete() => {
            tracing::warn!(%keys, "listen keys a previous run of this instance left behind");
        }
        Ok(keys) => tracing::info!(%keys, "no listen key of a previous run left behind"),
        Err(error) => tracing::warn!(%error, "stale listen keys not cleared"),
    }
}

async fn stop_embedded(venue: VenueSetup) {
    if let Some(sim) = venue.embedded {
        let report = sim.stop_within(EMBEDDED_STOP).await;
        tracing::info!(?report, "embedded venue stopped");
    }
}
