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

#[cfg(test)]
mod tests {
    use super::InFlight;

    fn listed(in_flight: &InFlight) -> Vec<(usize, bool)> {
        let mut list: Vec<(usize, bool)> = in_flight
            .list()
            .into_iter()
            .map(|(resource, _, abandoned)| (resource, abandoned))
            .collect();
        list.sort_unstable();
        list
    }

    #[test]
    fn concurrent_stops_are_listed_separately_and_leave_one_by_one() {
        let in_flight = InFlight::default();
        let first = in_flight.begin(7);
        let second = in_flight.begin(7);
        let third = in_flight.begin(9);
        assert_ne!(first.key(), second.key());
        assert_ne!(second.key(), third.key());
        assert_eq!(listed(&in_flight), vec![(7, false), (7, false), (9, false)]);
        drop(first);
        assert_eq!(listed(&in_flight), vec![(7, false), (9, false)]);
        drop(third);
        assert_eq!(listed(&in_flight), vec![(7, false)]);
        drop(second);
        assert!(listed(&in_flight).is_empty());
    }

    #[test]
    fn only_the_stop_marked_abandoned_is_listed_so() {
        let in_flight = InFlight::default();
        let guards: Vec<_> = (0..3).map(|resource| in_flight.begin(resource)).collect();
        in_flight.mark_abandoned(guards[0].key());
        in_flight.mark_abandoned(guards[2].key());
        assert_eq!(listed(&in_flight), vec![(0, true), (1, false), (2, true)]);
        // A key no longer listed marks nothing.
        let gone = guards[1].key();
        drop(guards);
        in_flight.mark_abandoned(gone);
        assert!(listed(&in_flight).is_empty());
    }
}
