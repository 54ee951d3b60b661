//! The stops an orchestrator has under way, for the report of a forced exit: an entry lives
//! exactly as long as the stop's future, so the list never shows a stop that no longer runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::priority::ShutdownPriority;

/// A resource whose stop is under way, as listed by
/// [`DependencyAwareShutdown::in_flight`](crate::DependencyAwareShutdown::in_flight).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InFlightStop {
    /// The resource.
    pub name: Arc<str>,
    /// Its phase.
    pub priority: ShutdownPriority,
    /// How long its stop has been running.
    pub elapsed: Duration,
    /// The shutdown gave up waiting for it (its stop broke its deadline). An abandoned stop is
    /// cancelled; it stays listed only while it still runs, for example when it is stuck in
    /// blocking code and cannot be dropped.
    pub abandoned: bool,
}

struct Entry {
    resource: usize,
    since: Instant,
    abandoned: bool,
}

#[derive(Default)]
struct Table {
    next_key: u64,
    entries: HashMap<u64, Entry>,
}

/// The table of stops under way, shared with the tasks that run them.
#[derive(Clone, Default)]
pub(super) struct InFlight {
    table: Arc<Mutex<Table>>,
}

impl InFlight {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lists the stop of `resource` as begun now; the entry goes when the guard is dropped.
    pub(super) fn begin(&self, resource: usize) -> InFlightGuard {
        let mut table = self.lock();
        let key = table.next_key;
        table.next_key += 1;
        table.entries.insert(
            key,
            Entry {
                resource,
                since: Instant::now(),
                abandoned: false,
            },
        );
        InFlightGuard {
            table: self.clone(),
            key,
        }
    }

    /// Marks the stop behind `key` as given up on.
    pub(super) fn mark_abandoned(&self, key: u64) {
        if let Some(entry) = self.lock().entries.get_mut(&key) {
            entry.abandoned = true;
        }
    }

    /// The stops under way: `(resource index, elapsed, abandoned)`.
    pub(super) fn list(&self) -> Vec<(usize, Duration, bool)> {
        let now = Instant::now();
        self.lock()
            .entries
            .values()
            .map(|e| {
                (
                    e.resource,
                    now.saturating_duration_since(e.since),
                    e.abandoned,
                )
            })
            .collect()
    }
}

/// Keeps one stop listed while it runs; travels with the stop's future.
pub(super) struct InFlightGuard {
    table: InFlight,
    key: u64,
}

impl InFlightGuard {
    /// The key to mark the stop abandoned with.
    pub(super) fn key(&self) -> u64 {
        self.key
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.table.lock().entries.remove(&self.key);
    }
}
