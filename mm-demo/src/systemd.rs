//! systemd's service notifications (`sd_notify(3)`, through the `sd-notify` crate) for a
//! `Type=notify` unit: `STATUS=` at each step (start, quoting, halt, each shutdown phase, the
//! end), `READY=1` once the start (markets, sockets, listen key, the previous run's orders
//! cleared) is done, `STOPPING=1` the moment a shutdown begins, `EXTEND_TIMEOUT_USEC=` when
//! the order sweep begins (what is left of the budget, plus the watchdog's slack), and
//! `WATCHDOG=1` while a liveness check passes, when the unit sets `WatchdogSec=`.
//!
//! Without `NOTIFY_SOCKET` in the environment nothing at all is done: no socket, no thread, no
//! layer. The shutdown's phases are followed through lifecycle-core's timeline spans
//! ([`lifecycle_core::timeline`]), which a [`TimelineObserver`] layer sees whatever the log's
//! filter is. Status texts go through the log's redaction: no credential reaches them.
//!
//! The liveness check behind `WATCHDOG=1` (a thread of its own, outside the runtime it
//! checks): the tokio runtime runs a probe task within half the watchdog interval (a runtime
//! whose workers are all stuck, in blocking code or a deadlock, does not), and a shutdown has
//! not overrun its budget and slack. When it fails the pings stop and systemd ends the
//! service at `WatchdogSec=`.

use std::ffi::OsStr;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use lifecycle_core::ShutdownPriority;
use lifecycle_core::timeline::TARGET as TIMELINE;
use sd_notify::NotifyState;
use tokio::time::Instant;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::logging::{self, BoxedLayer};

/// The variable naming systemd's notification socket.
pub(crate) const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
/// The variable holding the watchdog interval in microseconds (set by `WatchdogSec=`).
const WATCHDOG_USEC: &str = "WATCHDOG_USEC";
/// The variable naming the process the watchdog interval is meant for.
const WATCHDOG_PID: &str = "WATCHDOG_PID";
/// The shortest interval between two watchdog pings.
const SHORTEST_PING: Duration = Duration::from_millis(10);

/// The notifications of one quoting run (shared by the run, the timeline layer and the
/// watchdog thread).
#[derive(Debug)]
pub(crate) struct Notifier {
    /// `NOTIFY_SOCKET` was set at start: without it every method does nothing.
    enabled: bool,
    /// The shutdown budget (`--shutdown-budget`).
    budget: Duration,
    /// How long past the budget the process may still run (the shutdown watchdog's slack and
    /// the runtime's wind-down).
    overrun: Duration,
    /// The orchestrator whose timeline is followed (the exchanges' system).
    system: OnceLock<String>,
    /// When the shutdown began.
    stopping_since: Mutex<Option<Instant>>,
    /// The run ended: the watchdog thread stops pinging.
    finished: AtomicBool,
    /// Notifications the socket did not take.
    undelivered: AtomicU64,
    /// Whether an undelivered notification was logged.
    undelivered_logged: AtomicBool,
}

impl Notifier {
    /// The notifier of this process: enabled only if `NOTIFY_SOCKET` is set (and not empty).
    pub(crate) fn from_env(budget: Duration, overrun: Duration) -> Arc<Self> {
        let socket = std::env::var_os(NOTIFY_SOCKET);
        Arc::new(Self::new(
            socket.as_deref().is_some_and(|path| !path.is_empty()),
            budget,
            overrun,
        ))
    }

    fn new(enabled: bool, budget: Duration, overrun: Duration) -> Self {
        Self {
            enabled,
            budget,
            overrun,
            system: OnceLock::new(),
            stopping_since: Mutex::new(None),
            finished: AtomicBool::new(false),
            undelivered: AtomicU64::new(0),
            undelivered_logged: AtomicBool::new(false),
        }
    }

    /// The layer that follows the timeline of the orchestrator named by
    /// [`follow`](Self::follow), or `None` when notifications are off.
    pub(crate) fn timeline_layer(self: &Arc<Self>) -> Option<BoxedLayer> {
        self.enabled.then(|| {
            TimelineObserver {
                notifier: self.clone(),
            }
            .with_filter(Targets::new().with_target(TIMELINE, Level::INFO))
            .boxed()
        })
    }

    /// Follows the shutdown (and start) of the orchestrator named `system`: the first call
    /// wins.
    pub(crate) fn follow(&self, system: &str) {
        let _ = self.system.set(system.to_owned());
    }

    /// `STATUS=text`.
    pub(crate) fn status(&self, text: &str) {
        self.send(&[NotifyState::Status(&logging::redact(text))], true);
    }

    /// `READY=1` with the status `text`: the start is done.
    pub(crate) fn ready(&self, text: &str) {
        self.send(
            &[
                NotifyState::Ready,
                NotifyState::Status(&logging::redact(text)),
            ],
            true,
        );
    }

    /// `STOPPING=1` with the status `stopping: why`, once: the shutdown began now.
    pub(crate) fn stopping(&self, why: &str) {
        self.stopping_quietly(why, true);
    }

    fn stopping_quietly(&self, why: &str, may_log: bool) {
        {
            let mut since = self
                .stopping_since
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if since.is_some() {
                return;
            }
            *since = Some(Instant::now());
        }
        let status = format!("stopping: {why}");
        self.send(
            &[
                NotifyState::Stopping,
                NotifyState::Status(&logging::redact(&status)),
            ],
            may_log,
        );
    }

    /// A phase of the followed orchestrator's start or stop began: its status, and for the
    /// stop's first phase (our orders: cancel and confirm) the time the rest may take.
    fn phase(&self, op: &str, priority: &str) {
        if op == "start" {
            let status = format!("starting: phase {priority}");
            self.send(&[NotifyState::Status(&status)], false);
            return;
        }
        let status = format!("stopping: phase {priority} ({})", stop_phase_says(priority));
        if priority == ShutdownPriority::CriticalFirst.as_str() {
            let extend = self.stop_time_left(Instant::now());
            let usec = u32::try_from(extend.as_micros()).unwrap_or(u32::MAX);
            self.send(
                &[
                    NotifyState::ExtendTimeoutUsec(usec),
                    NotifyState::Status(&status),
                ],
                false,
            );
        } else {
            self.send(&[NotifyState::Status(&status)], false);
        }
    }

    /// How long the process may still take to stop at `now`: what is left of the budget, plus
    /// the overrun allowed, rounded up to a whole second.
    fn stop_time_left(&self, now: Instant) -> Duration {
        let since = *self
            .stopping_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let used = since.map_or(Duration::ZERO, |since| now.saturating_duration_since(since));
        let left = self.budget.saturating_sub(used) + self.overrun;
        Duration::from_secs(left.as_secs() + u64::from(left.subsec_nanos() > 0))
    }

    /// `STATUS=stopped: ...`: the run is over (the watchdog thread stops pinging).
    pub(crate) fn stopped(&self, code: i32) {
        self.finished.store(true, Ordering::Release);
        let outcome = match code {
            0 => "clean",
            3 => "forced",
            _ => "failed",
        };
        self.status(&format!("stopped: exit code {code} ({outcome})"));
        let lost = self.undelivered.load(Ordering::Relaxed);
        if lost > 0 && !self.undelivered_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                undelivered = lost,
                "systemd notifications were not delivered (NOTIFY_SOCKET)"
            );
        }
    }

    /// Sends `states` in one datagram. A failure is counted and, if `may_log` (not from
    /// inside a tracing layer), logged once.
    fn send(&self, states: &[NotifyState<'_>], may_log: bool) {
        if !self.enabled {
            return;
        }
        if let Err(error) = sd_notify::notify(false, states) {
            self.undelivered.fetch_add(1, Ordering::Relaxed);
            if may_log && !self.undelivered_logged.swap(true, Ordering::Relaxed) {
                tracing::warn!(%error, "systemd notification not delivered (NOTIFY_SOCKET): further failures are counted, not logged");
            }
        }
    }

    /// Starts pinging systemd's watchdog (`WATCHDOG=1` every half interval, while
    /// [`liveness`](Self::liveness) passes) on a thread of its own, if notifications are on
    /// and the unit set `WatchdogSec=`. Returns whether it started.
    pub(crate) fn start_watchdog(self: &Arc<Self>, runtime: tokio::runtime::Handle) -> bool {
        if !self.enabled {
            return false;
        }
        let Some(interval) = watchdog_interval(
            std::env::var_os(WATCHDOG_USEC).as_deref(),
            std::env::var_os(WATCHDOG_PID).as_deref(),
            std::process::id(),
        ) else {
            return false;
        };
        let notifier = self.clone();
        let period = (interval / 2).max(SHORTEST_PING);
        let spawned = std::thread::Builder::new()
            .name("systemd-watchdog".into())
            .spawn(move || notifier.ping_while_alive(&runtime, period));
        match spawned {
            Ok(_) => {
                tracing::info!(
                    interval_ms = interval.as_millis() as u64,
                    "systemd watchdog on: pinging while the runtime answers"
                );
                true
            }
            Err(error) => {
                tracing::error!(%error, "cannot start the systemd watchdog thread: no pings (systemd will end the service at WatchdogSec=)");
                false
            }
        }
    }

    /// The watchdog thread: a liveness check and a ping every `period`, until the run ends
    /// or the runtime is gone.
    fn ping_while_alive(&self, runtime: &tokio::runtime::Handle, period: Duration) {
        let mut unwell = false;
        loop {
            let begun = Instant::now();
            if self.finished.load(Ordering::Acquire) {
                return;
            }
            match self.liveness(runtime, period / 2) {
                Liveness::Alive => {
                    if unwell {
                        tracing::warn!(
                            "liveness check passes again: systemd watchdog pings resume"
                        );
                        unwell = false;
                    }
                    self.send(&[NotifyState::Watchdog], true);
                }
                Liveness::RuntimeGone => return,
                failing => {
                    if !unwell {
                        tracing::error!(check = %failing, "liveness check failed: no systemd watchdog ping (systemd ends the service at WatchdogSec=)");
                        unwell = true;
                    }
                }
            }
            std::thread::sleep(period.saturating_sub(begun.elapsed()));
        }
    }

    /// Whether the process is alive: `runtime` runs a probe task within `wait`, and no
    /// shutdown overran its budget and slack.
    pub(crate) fn liveness(&self, runtime: &tokio::runtime::Handle, wait: Duration) -> Liveness {
        let now = Instant::now();
        let since = *self
            .stopping_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(since) = since
            && now.saturating_duration_since(since) > self.budget + self.overrun
        {
            return Liveness::ShutdownOverran;
        }
        let (ran, probe) = std::sync::mpsc::sync_channel::<()>(1);
        // Dropped unrun (the sender with it) if the runtime is shut down.
        drop(runtime.spawn(async move {
            let _ = ran.try_send(());
        }));
        match probe.recv_timeout(wait) {
            Ok(()) => Liveness::Alive,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Liveness::RuntimeStalled,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Liveness::RuntimeGone,
        }
    }
}

/// What the liveness check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// The runtime ran the probe; no shutdown overran.
    Alive,
    /// The runtime did not run the probe in time: its workers are stuck.
    RuntimeStalled,
    /// A shutdown has been running for longer than its budget and slack.
    ShutdownOverran,
    /// The runtime is shut down (the process is exiting).
    RuntimeGone,
}

impl fmt::Display for Liveness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Alive => "alive",
            Self::RuntimeStalled => "the tokio runtime did not run a probe task in time",
            Self::ShutdownOverran => "the shutdown overran its budget and slack",
            Self::RuntimeGone => "the tokio runtime is shut down",
        })
    }
}

/// The watchdog interval `WATCHDOG_USEC` asks for, if it is meant for the process `pid`
/// (`WATCHDOG_PID` unset or equal, as `sd_watchdog_enabled(3)` checks).
fn watchdog_interval(usec: Option<&OsStr>, for_pid: Option<&OsStr>, pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.to_str()?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    if let Some(for_pid) = for_pid {
        let for_pid: u32 = for_pid.to_str()?.trim().parse().ok()?;
        if for_pid != pid {
            return None;
        }
    }
    Some(Duration::from_micros(usec))
}

/// What the exchanges' stop does in each phase (their registration in
/// `exchange_composite::ExchangeContext`).
fn stop_phase_says(priority: &str) -> &'static str {
    const SAYS: [(ShutdownPriority, &str); 5] = [
        (
            ShutdownPriority::CriticalFirst,
            "our orders cancelled and confirmed, private stream and listen key closed",
        ),
        (ShutdownPriority::High, "private streams closed"),
        (ShutdownPriority::Medium, "market data closed"),
        (ShutdownPriority::Low, "streams completed"),
        (
            ShutdownPriority::Cleanup,
            "REST client, rate limiter and order guardian closed",
        ),
    ];
    SAYS.iter()
        .find(|(phase, _)| phase.as_str() == priority)
        .map_or("", |(_, says)| *says)
}

/// Follows lifecycle-core's timeline spans of the orchestrator the [`Notifier`] follows: its
/// `shutdown` span means the shutdown began (`STOPPING=1`, also for a shutdown the
/// application never saw: a signal during start, a start that timed out), each `phase` span
/// under it is a status. Spans of nested orchestrators (a resource's own group) and of other
/// orchestrators (the embedded venue's) are ignored.
#[derive(Debug)]
struct TimelineObserver {
    notifier: Arc<Notifier>,
}

/// Marks the followed orchestrator's own `start` or `shutdown` span.
#[derive(Debug, Clone, Copy)]
struct Followed;

/// The timeline fields a span is recognised by.
#[derive(Debug, Default)]
struct TimelineFields {
    component: Option<String>,
    op: Option<String>,
    priority: Option<String>,
}

impl Visit for TimelineFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            "component" => &mut self.component,
            "op" => &mut self.op,
            "priority" => &mut self.priority,
            _ => return,
        };
        *slot = Some(value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

impl<S> Layer<S> for TimelineObserver
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if meta.target() != TIMELINE {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut fields = TimelineFields::default();
        attrs.record(&mut fields);
        match meta.name() {
            "start" | "shutdown" => {
                let ours = self
                    .notifier
                    .system
                    .get()
                    .is_some_and(|system| fields.component.as_deref() == Some(system.as_str()));
                let nested = span
                    .scope()
                    .skip(1)
                    .any(|outer| outer.metadata().target() == TIMELINE);
                if !ours || nested {
                    return;
                }
                span.extensions_mut().insert(Followed);
                if meta.name() == "shutdown" {
                    self.notifier.stopping_quietly("shutdown begun", false);
                }
            }
            "phase" => {
                let followed = span
                    .parent()
                    .is_some_and(|parent| parent.extensions().get::<Followed>().is_some());
                if let (true, Some(op), Some(priority)) = (followed, fields.op, fields.priority) {
                    self.notifier.phase(&op, &priority);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::time::Duration;

    use tokio::time::Instant;

    use super::{Liveness, Notifier, stop_phase_says, watchdog_interval};

    #[test]
    fn the_watchdog_interval_is_read_as_sd_watchdog_enabled_does() {
        let us = |text: &'static str| Some(OsStr::new(text));
        assert_eq!(
            watchdog_interval(us("30000000"), None, 7),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            watchdog_interval(us("200000"), us("7"), 7),
            Some(Duration::from_millis(200))
        );
        // Meant for another process (a child that inherited it), unset, zero, or garbage.
        assert_eq!(watchdog_interval(us("200000"), us("8"), 7), None);
        assert_eq!(watchdog_interval(None, None, 7), None);
        assert_eq!(watchdog_interval(us("0"), None, 7), None);
        assert_eq!(watchdog_interval(us("soon"), None, 7), None);
        assert_eq!(watchdog_interval(us("200000"), us("x"), 7), None);
    }

    #[test]
    fn the_stop_time_left_counts_from_the_shutdown_s_start_and_rounds_up() {
        let notifier = Notifier::new(false, Duration::from_secs(10), Duration::from_millis(2500));
        let now = Instant::now();
        // Before a shutdown: the whole budget and the overrun.
        assert_eq!(notifier.stop_time_left(now), Duration::from_secs(13));
        notifier.stopping("test");
        let since = notifier.stopping_since.lock().unwrap().unwrap();
        assert_eq!(
            notifier.stop_time_left(since + Duration::from_millis(4000)),
            Duration::from_secs(9)
        );
        assert_eq!(
            notifier.stop_time_left(since + Duration::from_secs(60)),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn every_stop_phase_is_described() {
        for priority in lifecycle_core::ShutdownPriority::ALL {
            assert!(!stop_phase_says(priority.as_str()).is_empty(), "{priority}");
        }
        assert_eq!(stop_phase_says("no such phase"), "");
    }

    /// A runtime whose workers run answers the probe; one nothing drives (a current-thread
    /// runtime outside `block_on`: as stuck as workers blocked in a deadlock) does not; a shut
    /// down runtime is gone.
    #[test]
    fn the_liveness_check_sees_a_stuck_runtime_and_an_overrun_shutdown() {
        let notifier = Notifier::new(false, Duration::from_secs(2), Duration::from_secs(1));
        let wait = Duration::from_secs(5);
        let running = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        assert_eq!(notifier.liveness(running.handle(), wait), Liveness::Alive);
        let undriven = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(
            notifier.liveness(undriven.handle(), Duration::from_millis(50)),
            Liveness::RuntimeStalled
        );
        let handle = running.handle().clone();
        running.shutdown_timeout(Duration::from_secs(1));
        assert_eq!(notifier.liveness(&handle, wait), Liveness::RuntimeGone);
        // A shutdown that began longer ago than its budget and slack.
        let alive = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        *notifier.stopping_since.lock().unwrap() =
            Instant::now().checked_sub(Duration::from_secs(4));
        assert_eq!(
            notifier.liveness(alive.handle(), wait),
            Liveness::ShutdownOverran
        );
    }
}
