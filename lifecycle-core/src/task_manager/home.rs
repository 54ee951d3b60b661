//! A thread's home in every manager: the index of its registry shard and counters, and
//! whether it has that index to itself.
//!
//! The first [`HOMES`] threads to touch any manager each claim an index of their own for
//! their lifetime (released when the thread ends); later threads share indices round robin.
//! A thread alone at its index may bump its counters with a plain load and store instead of
//! an atomic read-modify-write ([`SpreadCounter`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Indices: registry shards and counter lanes per manager.
pub(super) const HOMES: usize = 8;

static CLAIMED: [AtomicBool; HOMES] = [const { AtomicBool::new(false) }; HOMES];
static NEXT_SHARED: AtomicUsize = AtomicUsize::new(0);

/// The calling thread's index, and whether no other thread uses it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Home {
    pub(super) index: usize,
    pub(super) exclusive: bool,
}

/// A thread's claim, released by the thread's end.
struct Claim(Cell<Option<Home>>);

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(home) = self.0.get()
            && home.exclusive
        {
            CLAIMED[home.index].store(false, Ordering::Release);
        }
    }
}

thread_local! {
    static HOME: Claim = const { Claim(Cell::new(None)) };
}

fn claim() -> Home {
    for (index, claimed) in CLAIMED.iter().enumerate() {
        if claimed
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return Home {
                index,
                exclusive: true,
            };
        }
    }
    Home {
        index: NEXT_SHARED.fetch_add(1, Ordering::Relaxed) % HOMES,
        exclusive: false,
    }
}

/// The calling thread's home (claimed at its first call). A thread whose thread-locals are
/// being destroyed gets a shared index.
#[inline]
pub(super) fn home() -> Home {
    HOME.try_with(|home| match home.0.get() {
        Some(home) => home,
        None => {
            let claimed = claim();
            home.0.set(Some(claimed));
            claimed
        }
    })
    .unwrap_or(Home {
        index: 0,
        exclusive: false,
    })
}

/// Keeps each lane on cache lines of its own.
#[repr(align(128))]
#[derive(Default)]
struct Lane(AtomicU64);

/// A counter bumped from many threads without a read-modify-write on the common path: each
/// thread with an index of its own adds to its own lane with a load and a store.
#[derive(Default)]
pub(super) struct SpreadCounter {
    lanes: [Lane; HOMES],
    shared: AtomicU64,
}

impl SpreadCounter {
    /// Adds one (relaxed: publish it with a later release, as the end of a task does).
    #[inline]
    pub(super) fn add_one(&self) {
        let home = home();
        if home.exclusive {
            // Only this thread writes this lane while it holds the index; a thread that held
            // it before released it (and its writes) when it ended.
            let lane = &self.lanes[home.index].0;
            lane.store(
                lane.load(Ordering::Relaxed).wrapping_add(1),
                Ordering::Relaxed,
            );
        } else {
            self.shared.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The sum of every lane.
    pub(super) fn sum(&self) -> u64 {
        self.lanes
            .iter()
            .map(|lane| lane.0.load(Ordering::Relaxed))
            .fold(self.shared.load(Ordering::Relaxed), u64::wrapping_add)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Barrier;

    use super::*;
    use crate::task_manager::lock;
    use crate::task_manager::registry::tests::SERIAL;

    #[test]
    fn a_thread_that_ends_gives_its_index_back() {
        let _serial = lock(&SERIAL);
        let home = std::thread::spawn(home).join().unwrap();
        assert!(home.exclusive, "no other thread holds a claim here");
        assert!(
            CLAIMED[home.index]
                .compare_exchange(true, false, Ordering::AcqRel, Ordering::Relaxed)
                .is_err(),
            "index {} still claimed after its thread ended",
            home.index
        );
    }

    #[test]
    fn threads_beyond_the_homes_share_indices_in_range() {
        let _serial = lock(&SERIAL);
        const THREADS: usize = HOMES * 10;
        let all_in = Barrier::new(THREADS);
        let homes: Vec<Home> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        let home = home();
                        // Hold the claim until every thread has one.
                        all_in.wait();
                        home
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(homes.iter().all(|h| h.index < HOMES), "{homes:?}");
        let exclusive: Vec<usize> = homes
            .iter()
            .filter(|h| h.exclusive)
            .map(|h| h.index)
            .collect();
        let distinct: BTreeSet<usize> = exclusive.iter().copied().collect();
        assert_eq!(exclusive.len(), HOMES, "{homes:?}");
        assert_eq!(distinct.len(), HOMES, "an index claimed twice: {homes:?}");
    }

    #[test]
    fn a_thread_keeps_its_home_and_counts_from_many_threads_add_up() {
        let _serial = lock(&SERIAL);
        let counter = SpreadCounter::default();
        let first = home();
        assert_eq!(home().index, first.index);
        std::thread::scope(|scope| {
            // More threads than homes: some share an index and take the atomic path.
            for _ in 0..HOMES * 2 {
                scope.spawn(|| {
                    for _ in 0..1_000 {
                        counter.add_one();
                    }
                });
            }
        });
        assert_eq!(counter.sum(), (HOMES * 2 * 1_000) as u64);
    }
}
