//! The exit report: readable (a table of components by shutdown phase) and as JSON.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::Ordering;

use lifecycle_core::{InFlightStop, RunOutcome, ShutdownReport, StopReport};
use serde::Serialize;

use crate::cycle_outcome::CycleHistory;
use crate::trading_halt::HaltCounts;

/// Totals over every component of a shutdown report (nested parts included).
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub(crate) struct Totals {
    /// Tasks that stopped on the signal.
    pub(crate) tasks_stopped: u64,
    /// Tasks aborted after their grace.
    pub(crate) tasks_aborted: u64,
    /// Messages dropped at stop.
    pub(crate) messages_dropped: u64,
    /// Orders cancelled by the shutdown sweep.
    pub(crate) orders_cancelled: u64,
    /// Orders the shutdown could not confirm closed.
    pub(crate) orders_unconfirmed: u64,
}

impl Totals {
    pub(crate) fn of(report: &ShutdownReport) -> Self {
        let mut totals = Self::default();
        for resource in report.resources() {
            if let Some(stop) = &resource.report {
                totals.add(stop);
            }
        }
        totals
    }

    fn add(&mut self, report: &StopReport) {
        if let Some(tasks) = &report.tasks {
            self.tasks_stopped += tasks.counts.stopped;
            self.tasks_aborted += tasks.counts.aborted;
        }
        self.messages_dropped += report.details.messages_dropped;
        for (name, value) in &report.details.counters {
            match *name {
                "orders_cancelled" => self.orders_cancelled += value,
                "orders_unconfirmed" => self.orders_unconfirmed += value,
                _ => {}
            }
        }
        for child in &report.details.children {
            self.add(child);
        }
    }
}

/// Everything the run reports, as written by `--report-json`.
#[derive(Debug, Serialize)]
pub(crate) struct RunReport<'a> {
    /// `embedded`, `external` or `mexc`.
    pub(crate) venue: &'a str,
    /// The market.
    pub(crate) symbol: String,
    /// The process exit code.
    pub(crate) exit_code: i32,
    /// The cycles: aggregates over all of them and the most recent ones in full.
    pub(crate) cycles: &'a CycleHistory,
    /// Totals over the shutdown report.
    pub(crate) totals: Option<Totals>,
    /// Orders of ours still possibly open at exit (0 unless the shutdown was cut short): a
    /// count of orders, each one the sweep could not confirm closed.
    pub(crate) orders_possibly_open: usize,
    /// Log lines lost because stderr could not be written (a closed pipe).
    pub(crate) log_lines_lost: u64,
    /// Whether stdout could not be written (the readable report was then not printed).
    pub(crate) stdout_failed: bool,
    /// What a forced exit left behind: the stops under way (`group/member` for the parts of
    /// a composite), then every component whose stop had not begun.
    pub(crate) abandoned: &'a [InFlightStop],
    /// Trading halts (SIGUSR1) and resumes (SIGUSR2) of the run.
    pub(crate) halts: &'a HaltCounts,
    /// Trading was halted when the run ended.
    pub(crate) halted_at_exit: bool,
    /// The runner's outcome: status, reason, errors, the shutdown report, what a forced exit
    /// abandoned.
    pub(crate) run: &'a RunOutcome,
}

impl RunReport<'_> {
    /// The human-readable report.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let run = self.run;
        let _ = writeln!(
            out,
            "\nmm-demo: {:?} (exit code {}) - {}",
            run.status, self.exit_code, run.reason
        );
        if let Some(error) = &run.app_error {
            let _ = writeln!(out, "application error: {error}");
        }
        let t = &self.cycles.totals;
        let _ = writeln!(
            out,
            "venue: {}, market {}, cycles completed: {} ({} orders: {} filled, {} partially filled, {} not confirmed closed at their cycle's end)",
            self.venue,
            self.symbol,
            t.completed,
            t.orders,
            t.orders_filled,
            t.orders_partially_filled,
            t.orders_unconfirmed
        );
        let halts = self.halts.halts.load(Ordering::Relaxed);
        if halts > 0 || self.halted_at_exit {
            let _ = writeln!(
                out,
                "trading halts: {halts} (SIGUSR1, POST /halt), resumes: {} (SIGUSR2, POST /resume); orders cancelled by halts {}, unconfirmed {}; {}",
                self.halts.resumes.load(Ordering::Relaxed),
                self.halts.orders_cancelled.load(Ordering::Relaxed),
                self.halts.orders_unconfirmed.load(Ordering::Relaxed),
                if self.halted_at_exit {
                    "halted at exit"
                } else {
                    "trading at exit"
                }
            );
        }
        match &run.report {
            Some(report) => {
                let _ = writeln!(out, "\n{report}");
                if let Some(t) = self.totals {
                    let _ = writeln!(
                        out,
                        "tasks stopped {}, aborted {}; messages dropped {}; orders cancelled at shutdown {}, unconfirmed {}",
                        t.tasks_stopped,
                        t.tasks_aborted,
                        t.messages_dropped,
                        t.orders_cancelled,
                        t.orders_unconfirmed
                    );
                }
            }
            None => {
                let _ = writeln!(out, "\nshutdown FORCED: abandoned while stopping:");
                if run.abandoned.is_empty() {
                    let _ = writeln!(out, "  (nothing was still running)");
                }
                for stop in &run.abandoned {
                    let state = if stop.elapsed.is_zero() {
                        "still running: its stop had not begun".to_owned()
                    } else {
                        format!("stopping for {:.1} ms", stop.elapsed.as_secs_f64() * 1e3)
                    };
                    let _ = writeln!(
                        out,
                        "  {:<15} {:<40} {state}",
                        stop.priority.as_str(),
                        stop.name,
                    );
                }
            }
        }
        if self.log_lines_lost > 0 {
            let _ = writeln!(
                out,
                "note: {} log line(s) could not be written (stderr closed)",
                self.log_lines_lost
            );
        }
        if self.orders_possibly_open > 0 {
            let _ = writeln!(
                out,
                "WARNING: {} order(s) of ours may still be open on the venue; the next run cancels them at start",
                self.orders_possibly_open
            );
        }
        out
    }

    /// Writes the JSON form to `path`.
    pub(crate) fn write_json(&self, path: &Path) -> Result<(), String> {
        let json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}
