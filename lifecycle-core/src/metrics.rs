//! Process-wide lifecycle metrics, readable from code as a [`MetricsSnapshot`].
//!
//! The hot paths do not touch shared counters: the number of active background tasks is summed
//! from every live [`TaskManager`](crate::TaskManager) when a snapshot is taken.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, Weak};
use std::time::Duration;

use crate::task_manager::Shared;

static MANAGERS: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());
static RESTARTS: AtomicU64 = AtomicU64::new(0);
static COMPONENT_STOPS: AtomicU64 = AtomicU64::new(0);
static FAILED_COMPONENT_STOPS: AtomicU64 = AtomicU64::new(0);
static SHUTDOWNS: AtomicU64 = AtomicU64::new(0);
static FAILED_SHUTDOWNS: AtomicU64 = AtomicU64::new(0);
static LAST_SHUTDOWN_NANOS: AtomicU64 = AtomicU64::new(0);
static CRITICAL_FAILURES: AtomicU64 = AtomicU64::new(0);

/// A point-in-time reading of the lifecycle metrics of this process: active background tasks,
/// shutdown durations, failed shutdowns, restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MetricsSnapshot {
    /// Tasks alive now in every [`TaskManager`](crate::TaskManager) of the process.
    pub active_background_tasks: u64,
    /// Restarts performed by supervised tasks.
    pub restarts: u64,
    /// Critical task failures escalated to their owners.
    pub critical_failures: u64,
    /// Component stops completed (each [`Lifecycle`](crate::Lifecycle) stop).
    pub component_stops: u64,
    /// Component stops that were not clean.
    pub failed_component_stops: u64,
    /// Orchestrated shutdowns completed.
    pub shutdowns: u64,
    /// Orchestrated shutdowns that were not clean.
    pub failed_shutdowns: u64,
    /// Duration of the last orchestrated shutdown.
    pub last_shutdown_duration: Duration,
}

/// Reads the process-wide metrics.
///
/// ```
/// let snapshot = lifecycle_core::metrics();
/// assert!(snapshot.failed_shutdowns <= snapshot.shutdowns);
/// ```
pub fn metrics() -> MetricsSnapshot {
    let mut managers = MANAGERS.lock().unwrap_or_else(PoisonError::into_inner);
    let mut active = 0u64;
    managers.retain(|weak| match weak.upgrade() {
        Some(shared) => {
            active += shared.live() as u64;
            true
        }
        None => false,
    });
    drop(managers);
    MetricsSnapshot {
        active_background_tasks: active,
        restarts: RESTARTS.load(Ordering::Relaxed),
        critical_failures: CRITICAL_FAILURES.load(Ordering::Relaxed),
        component_stops: COMPONENT_STOPS.load(Ordering::Relaxed),
        failed_component_stops: FAILED_COMPONENT_STOPS.load(Ordering::Relaxed),
        shutdowns: SHUTDOWNS.load(Ordering::Relaxed),
        failed_shutdowns: FAILED_SHUTDOWNS.load(Ordering::Relaxed),
        last_shutdown_duration: Duration::from_nanos(LAST_SHUTDOWN_NANOS.load(Ordering::Relaxed)),
    }
}

pub(crate) fn register_manager(shared: Weak<Shared>) {
    let mut managers = MANAGERS.lock().unwrap_or_else(PoisonError::into_inner);
    // Keep the list from growing with dead entries in processes that churn managers.
    if managers.len() >= 64 && managers.len().is_power_of_two() {
        managers.retain(|weak| weak.strong_count() > 0);
    }
    managers.push(shared);
}

pub(crate) fn record_restart() {
    RESTARTS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn record_critical_failure() {
    CRITICAL_FAILURES.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn record_component_stop(clean: bool) {
    COMPONENT_STOPS.fetch_add(1, Ordering::Relaxed);
    if !clean {
        FAILED_COMPONENT_STOPS.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) fn record_shutdown(duration: Duration, clean: bool) {
    SHUTDOWNS.fetch_add(1, Ordering::Relaxed);
    if !clean {
        FAILED_SHUTDOWNS.fetch_add(1, Ordering::Relaxed);
    }
    LAST_SHUTDOWN_NANOS.store(
        u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
}
