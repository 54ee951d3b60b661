//! SIGUSR1 (or `POST /halt`) halts trading, SIGUSR2 (or `POST /resume`) resumes it: a halt is
//! not a shutdown (market data, the private socket and the listen key stay up; our orders are
//! cancelled and confirmed).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use exchange_composite::private::Sweep;
use exchange_composite::{ExchangeError, PrivateCompositeExchange};
use serde::Serialize;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::time::Instant;

/// Time a halt's cancel-and-confirm sweep may take.
const HALT_BUDGET: Duration = Duration::from_secs(10);

/// Halts and resumes of a run, for the report.
#[derive(Debug, Default, Serialize)]
pub(crate) struct HaltCounts {
    /// Halts asked for (SIGUSR1, `POST /halt`, or a lost guardian under
    /// `--halt-on-guardian-loss`).
    pub(crate) halts: AtomicU64,
    /// Resumes asked for (SIGUSR2, `POST /resume`).
    pub(crate) resumes: AtomicU64,
    /// Orders of ours the halts cancelled.
    pub(crate) orders_cancelled: AtomicU64,
    /// Orders of ours a halt could not confirm closed.
    pub(crate) orders_unconfirmed: AtomicU64,
}

/// Halts `private` (logging what the sweep did) and counts it; returns the sweep.
pub(crate) async fn halt(
    private: &PrivateCompositeExchange,
    counts: &HaltCounts,
    why: &str,
) -> Result<Sweep, ExchangeError> {
    counts.halts.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        why,
        "trading halt: no new order, ours cancelled and confirmed; market data and the private stream stay up (SIGUSR2 resumes)"
    );
    let result = private.halt(Instant::now() + HALT_BUDGET).await;
    match &result {
        Ok(sweep) => {
            counts
                .orders_cancelled
                .fetch_add(sweep.cancelled as u64, Ordering::Relaxed);
            counts
                .orders_unconfirmed
                .fetch_add(sweep.unconfirmed.len() as u64, Ordering::Relaxed);
            if sweep.confirmed {
                tracing::warn!(
                    cancelled = sweep.cancelled,
                    "trading halted: every order of ours is confirmed closed"
                );
            } else {
                for order in sweep.unconfirmed.iter().chain(&sweep.note) {
                    tracing::error!(
                        order = order.as_str(),
                        "trading halted, but not confirmed closed"
                    );
                }
            }
        }
        Err(error) => tracing::warn!(%error, "trading halt not applied"),
    }
    result
}

/// Resumes trading on `private` and counts it.
pub(crate) fn resume(private: &PrivateCompositeExchange, counts: &HaltCounts, why: &str) {
    counts.resumes.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(why, "trading resumes");
    private.resume();
}

/// Listens for SIGUSR1 (halt) and SIGUSR2 (resume) for the life of the process. Installed
/// before the exchanges start: from then on neither signal can kill the process.
pub(crate) fn listen(
    private: Arc<PrivateCompositeExchange>,
    counts: Arc<HaltCounts>,
) -> std::io::Result<()> {
    let mut halts = signal(SignalKind::user_defined1())?;
    let mut resumes = signal(SignalKind::user_defined2())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                got = halts.recv() => {
                    if got.is_none() { return; }
                    let _ = halt(&private, &counts, "SIGUSR1 received").await;
                }
                got = resumes.recv() => {
                    if got.is_none() { return; }
                    resume(&private, &counts, "SIGUSR2 received");
                }
            }
        }
    });
    Ok(())
}

/// Waits while trading is halted; `false` if `stop` came first.
///
/// # Cancel safety
/// Cancel safe.
pub(crate) async fn wait_while_halted(
    mut halted: watch::Receiver<bool>,
    stop: &lifecycle_core::ShutdownSignal,
) -> bool {
    if !*halted.borrow_and_update() {
        return true;
    }
    tracing::warn!("trading halted: not quoting until SIGUSR2");
    tokio::select! {
        biased;
        () = stop.triggered() => false,
        resumed = halted.wait_for(|h| !*h) => {
            if resumed.is_ok() {
                tracing::warn!("trading resumed: quoting again");
            }
            true
        }
    }
}
