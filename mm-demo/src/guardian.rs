//! The order guardian of the demo: the same binary, started with the hidden subcommand
//! [`GUARDIAN_SUBCOMMAND`] (and nothing secret on its command line: it reads its brief from
//! its stdin). See [`exchange_composite::guardian`].

use std::sync::Arc;

use exchange_composite::guardian::{
    CleanCheck, GuardianBrief, GuardianCommand, GuardianLossPolicy, OrderGuardian,
    OrderGuardianConfig, serve_guardian,
};
use exchange_composite::{ExchangeConfig, PrivateCompositeExchange};

use crate::cli::LogFormat;

/// The hidden first argument that makes `mm-demo` the order guardian.
pub(crate) const GUARDIAN_SUBCOMMAND: &str = "__order-guardian";

/// The log filter of the guardian process (its lines go to the parent's stderr).
const GUARDIAN_LOG: &str = "warn,exchange_composite::guardian=info";

/// The guardian process's body: serves the guardian on stdin/stdout, then exits with its code.
pub(crate) fn run_child() -> ! {
    let log = std::env::args()
        .nth(2)
        .unwrap_or_else(|| GUARDIAN_LOG.to_owned());
    // The parent's format: the guardian's lines go to the same stderr (one JSON stream for a
    // shipper, not a mix).
    let format = std::env::args()
        .nth(3)
        .map_or(LogFormat::Text, |name| LogFormat::from_name(&name));
    crate::logging::init(&log, format, Vec::new());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "order guardian: cannot start the tokio runtime");
            std::process::exit(1);
        }
    };
    let exit = runtime.block_on(async {
        ignore_stop_signals();
        serve_guardian(tokio::io::stdin(), tokio::io::stdout()).await
    });
    std::process::exit(exit.code());
}

/// The guardian ends with its parent (a clean word, or the pipe's end), never on a stop
/// signal: `systemctl stop` signals the whole unit, and a guardian gone before its parent's
/// orderly shutdown ends would protect nothing if that shutdown is then killed. SIGINT,
/// SIGTERM, SIGHUP and SIGQUIT are logged and ignored (SIGKILL still ends it: then
/// `cancel-orphans` as `ExecStopPost=` is the backstop).
fn ignore_stop_signals() {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, name) in [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
        (SignalKind::quit(), "SIGQUIT"),
    ] {
        match signal(kind) {
            Ok(mut stream) => {
                tokio::spawn(async move {
                    while stream.recv().await.is_some() {
                        tracing::warn!(
                            signal = name,
                            "order guardian: signal ignored (it ends with its parent)"
                        );
                    }
                });
            }
            Err(error) => {
                tracing::warn!(%error, signal = name, "order guardian: signal not handled")
            }
        }
    }
}

/// The guardian resource of a run on `config`, following `private`'s listen key: told the end
/// is clean only if `private` tracks no order that may be open.
pub(crate) fn order_guardian(
    config: &ExchangeConfig,
    private: &Arc<PrivateCompositeExchange>,
    on_loss: GuardianLossPolicy,
    log_format: LogFormat,
) -> Result<OrderGuardian, String> {
    let program = std::env::current_exe()
        .map_err(|error| format!("cannot find our own binary to run the guardian: {error}"))?;
    let brief = GuardianBrief::for_config(config).map_err(|error| error.to_string())?;
    let command = GuardianCommand {
        program,
        args: vec![
            GUARDIAN_SUBCOMMAND.into(),
            GUARDIAN_LOG.into(),
            log_format.as_str().into(),
        ],
    };
    let mut guardian = OrderGuardianConfig::new(command, brief, private.listen_key_watch());
    guardian.name = format!("{}.order_guardian", config.name);
    guardian.on_loss = on_loss;
    let watched = private.clone();
    let clean: CleanCheck = Arc::new(move || watched.tracked_orders() == 0);
    guardian.clean_check = Some(clean);
    Ok(OrderGuardian::new(guardian))
}
