//! Process-wide lifecycle metrics, readable from code as a [`MetricsSnapshot`], and the task
//! counts of every component as [`ComponentTasks`] (what a bridge to a metrics system such as
//! Prometheus publishes: this crate depends on none).
//!
//! The hot paths do not touch shared counters: the number of active background tasks is summed
//! from every live [`TaskManager`](crate::TaskManager) when a snapshot is taken.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use crate::task_manager::Shared;
use crate::task_report::TaskCounts;

static MANAGERS: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());
/// The counts of task managers that are gone, by name: a component's counters never go back
/// when one of its managers is dropped (a restart builds a new one).
static RETIRED: Mutex<BTreeMap<Arc<str>, TaskCounts>> = Mutex::new(BTreeMap::new());
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

/// The tasks of one component (every [`TaskManager`](crate::TaskManager) of that name, those
/// dropped included), since the process started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentTasks {
    /// The task managers' name (the component's).
    pub component: Arc<str>,
    /// Tasks alive now.
    pub active: u64,
    /// What the component's tasks came to: spawned, and how those that ended ended.
    pub counts: TaskCounts,
}

/// The tasks of every component of the process, by name; counts only grow (a dropped task
/// manager's stay counted under its name).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let tasks = lifecycle_core::TaskManager::new("doc.component_tasks");
/// tasks.spawn("one", async {}).unwrap();
/// let ours = lifecycle_core::component_tasks()
///     .into_iter()
///     .find(|c| &*c.component == "doc.component_tasks")
///     .unwrap();
/// assert_eq!(ours.counts.spawned, 1);
/// # }
/// ```
pub fn component_tasks() -> Vec<ComponentTasks> {
    let managers = MANAGERS.lock().unwrap_or_else(PoisonError::into_inner);
    let mut by_name: BTreeMap<Arc<str>, ComponentTasks> = BTreeMap::new();
    let retired = RETIRED.lock().unwrap_or_else(PoisonError::into_inner);
    for (name, counts) in retired.iter() {
        by_name.insert(
            name.clone(),
            ComponentTasks {
                component: name.clone(),
                active: 0,
                counts: *counts,
            },
        );
    }
    drop(retired);
    for shared in managers.iter().filter_map(Weak::upgrade) {
        let entry = by_name
            .entry(shared.name.clone())
            .or_insert_with(|| ComponentTasks {
                component: shared.name.clone(),
                active: 0,
                counts: TaskCounts::default(),
            });
        entry.active += shared.live() as u64;
        add_counts(&mut entry.counts, &shared.counts());
    }
    by_name.into_values().collect()
}

fn add_counts(total: &mut TaskCounts, more: &TaskCounts) {
    total.spawned = total.spawned.saturating_add(more.spawned);
    total.finished = total.finished.saturating_add(more.finished);
    total.stopped = total.stopped.saturating_add(more.stopped);
    total.aborted = total.aborted.saturating_add(more.aborted);
    total.panicked = total.panicked.saturating_add(more.panicked);
    total.failed = total.failed.saturating_add(more.failed);
    total.restarts = total.restarts.saturating_add(more.restarts);
}

/// Keeps the counts of a task manager that is going away under its name.
pub(crate) fn retire_manager(name: &Arc<str>, counts: &TaskCounts) {
    let mut retired = RETIRED.lock().unwrap_or_else(PoisonError::into_inner);
    add_counts(retired.entry(name.clone()).or_default(), counts);
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
