//! The registry of a manager's live tasks: who runs (id, name, criticality, start time), and
//! how to wake each one for an abort.
//!
//! It sits on every spawn, so its costs are chosen:
//! - **Sharded by spawning thread.** A thread's shard is its [`home`](super::home) index, so it
//!   locks only that shard's table to enter a task and spawners on different threads do not
//!   contend. The worker that finishes a task takes no lock at all: it clears the task's slot
//!   with one atomic store.
//! - **Freed slots are reclaimed by the shard's owner**, in bulk, when its free list and its
//!   never-used slots run out: one sweep of the table either reclaims a quarter of it or grows
//!   it by a segment, so the sweeps cost O(1) per spawn, amortised. The waker a parked task
//!   left in its slot is dropped then (or when the slot is registered again).
//! - **Storage is recycled.** Shards of dropped managers go back to a small process-wide pool
//!   (trimmed to [`POOLED_SLOTS`]), so a fresh manager does not regrow its table, nor fault in
//!   new pages, on its first spawns.
//! - **Ids come in blocks** of a manager-wide counter, handed out under the shard lock already
//!   held: unique, increasing per thread, one shared atomic operation per [`ID_BLOCK`] spawns.
//!
//! Listing, aborting and the stuck report walk every shard under its lock: they are rare.
//! No `unsafe`: the per-slot cells that finishers touch live in segments that never move once
//! allocated ([`OnceLock`]), so they are reachable without the table's lock.

#[cfg(test)]
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::Waker;

use tokio::time::Instant;

use super::home::{HOMES, home};
use super::lock;
use crate::task_name::TaskName;
use crate::task_report::TaskId;

/// Shards per manager: one per home; threads sharing a home share its shard (correct,
/// merely contended).
const SHARDS: usize = HOMES;
/// Ids a shard takes from its manager's counter at a time.
const ID_BLOCK: u64 = 256;
/// Slots in a shard's first segment; segment `k` holds `FIRST_SEGMENT << k`.
const FIRST_SEGMENT: usize = 64;
/// Segments per shard: `FIRST_SEGMENT * (2^SEGMENTS - 1)` slots, just under `u32::MAX`.
const SEGMENTS: usize = 26;
/// Segments a pooled shard keeps: its first five, 1,984 slots.
const POOLED_SEGMENTS: usize = 5;
/// Slots a pooled shard keeps.
const POOLED_SLOTS: usize = FIRST_SEGMENT * ((1 << POOLED_SEGMENTS) - 1);
/// Shards kept in the pool for new managers.
const POOL_MAX: usize = 16;

#[allow(
    clippy::vec_box,
    reason = "shards move between the pool and managers as boxes, never by value"
)]
static POOL: Mutex<Vec<Box<Shard>>> = Mutex::new(Vec::new());

/// Where a task's entry lives. Copied into the task's guard. Not packed: a packed slot makes
/// the guard two words instead of three, but its unaligned fields cost more on every spawn
/// than the word saves (1.37x against 1.25x TaskTracker in paired runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    shard: u8,
    index: u32,
}

impl Slot {
    /// A task the registry had no room for (past four billion live tasks in one shard): it is
    /// counted, not named.
    const UNTRACKED: Self = Self {
        shard: 0,
        index: u32::MAX,
    };
}

/// A live task's identity and age.
pub(super) struct Entry {
    pub(super) id: TaskId,
    pub(super) name: TaskName,
    pub(super) critical: bool,
    pub(super) started: Instant,
}

/// `SlotCell::state`: the task is running.
const LIVE: u8 = 1;
/// `SlotCell::state`: the ended task left its waker in the slot.
const WAKER: u8 = 2;

/// What the finishing worker and an abort touch without the table's lock.
#[derive(Default)]
struct SlotCell {
    /// `LIVE` from spawn (set under the table lock) to the task's end, which stores `0` or
    /// `WAKER` (no lock).
    state: AtomicU8,
    /// The task's waker, from its first `Pending`, so an abort can wake it.
    waker: Mutex<Option<Waker>>,
}

impl SlotCell {
    fn is_live(&self) -> bool {
        self.state.load(Ordering::Acquire) & LIVE != 0
    }
}

/// The entries of one shard, guarded by its lock.
#[derive(Default)]
struct Table {
    /// `Some` from spawn until the owner reclaims the slot after the task's end.
    entries: Vec<Option<Entry>>,
    /// Slots below `fresh` whose entry is `None`.
    free: Vec<u32>,
    /// Slots from here on have not been used since the shard was last reset.
    fresh: usize,
    next_id: u64,
    id_end: u64,
    spawned: u64,
}

struct Shard {
    table: Mutex<Table>,
    /// Segment `k` holds the cells of slots `FIRST_SEGMENT * (2^k - 1)` and on.
    cells: [OnceLock<Box<[SlotCell]>>; SEGMENTS],
}

/// The live tasks of one manager.
pub(crate) struct Registry {
    shards: [OnceLock<Box<Shard>>; SHARDS],
    /// The start of the next id block.
    next_block: AtomicU64,
}

/// Segment and offset of slot `index`.
fn locate(index: u32) -> (usize, usize) {
    let index = index as usize;
    let q = index / FIRST_SEGMENT + 1;
    let segment = (usize::BITS - 1 - q.leading_zeros()) as usize;
    let base = FIRST_SEGMENT * ((1 << segment) - 1);
    (segment, index - base)
}

impl Shard {
    fn new() -> Self {
        Self {
            table: Mutex::new(Table::default()),
            cells: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    fn cell(&self, index: u32) -> Option<&SlotCell> {
        let (segment, offset) = locate(index);
        self.cells.get(segment)?.get()?.get(offset)
    }

    /// Empties the shard for its next manager and trims it to the pooled size. Touches only
    /// the slots used since the last reset.
    fn reset(&mut self) {
        for segment in self.cells.iter_mut().skip(POOLED_SEGMENTS) {
            segment.take();
        }
        let table = self
            .table
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let used = table.fresh.min(POOLED_SLOTS);
        let mut base = 0;
        for segment in self.cells.iter_mut().filter_map(OnceLock::get_mut) {
            if base >= used {
                break;
            }
            let end = segment.len().min(used - base);
            for cell in segment.iter_mut().take(end) {
                *cell.state.get_mut() = 0;
                let waker = cell
                    .waker
                    .get_mut()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                *waker = None;
            }
            base += segment.len();
        }
        table.entries.truncate(POOLED_SLOTS);
        table
            .entries
            .iter_mut()
            .take(used)
            .for_each(|entry| *entry = None);
        table.free.clear();
        table.fresh = 0;
        table.next_id = 0;
        table.id_end = 0;
        table.spawned = 0;
    }
}

impl Table {
    /// A free slot: a freed one, else a never-used one, else one reclaimed from ended tasks
    /// (growing when few are); `UNTRACKED` when the shard is full.
    fn acquire(&mut self, cells: &[OnceLock<Box<[SlotCell]>>; SEGMENTS]) -> u32 {
        if let Some(index) = self.free.pop() {
            return index;
        }
        if self.fresh == self.entries.len() {
            self.reclaim(cells);
            if let Some(index) = self.free.pop() {
                return index;
            }
        }
        match self.entries.get(self.fresh) {
            Some(_) => {
                self.fresh += 1;
                (self.fresh - 1) as u32
            }
            None => Slot::UNTRACKED.index,
        }
    }

    /// Frees the slots of tasks that ended (dropping the wakers they left); adds a segment of
    /// never-used slots if that freed under a quarter of the table.
    fn reclaim(&mut self, cells: &[OnceLock<Box<[SlotCell]>>; SEGMENTS]) {
        let mut base = 0;
        let mut segments = 0;
        for segment in cells.iter().map_while(OnceLock::get) {
            let Some(entries) = self.entries.get_mut(base..base + segment.len()) else {
                break;
            };
            for (offset, (entry, cell)) in entries.iter_mut().zip(segment.iter()).enumerate() {
                if entry.is_none() {
                    continue;
                }
                let state = cell.state.load(Ordering::Acquire);
                if state & LIVE != 0 {
                    continue;
                }
                // Ended: `state` is 0, or `WAKER` if the task left its waker here.
                if state == WAKER {
                    let waker = lock(&cell.waker).take();
                    cell.state.store(0, Ordering::Relaxed);
                    drop(waker);
                }
                *entry = None;
                self.free.push((base + offset) as u32);
            }
            base += segment.len();
            segments += 1;
        }
        if self.free.len() * 4 >= base.max(1) || segments >= SEGMENTS {
            return;
        }
        let size = FIRST_SEGMENT << segments;
        let _ = cells[segments].get_or_init(|| (0..size).map(|_| SlotCell::default()).collect());
        self.entries.resize_with(base + size, || None);
    }

    /// The next id, taking a new block from `next_block` when this one is used up.
    fn next_id(&mut self, next_block: &AtomicU64) -> TaskId {
        if self.next_id == self.id_end {
            self.next_id = next_block.fetch_add(ID_BLOCK, Ordering::Relaxed);
            self.id_end = self.next_id.wrapping_add(ID_BLOCK);
        }
        let id = self.next_id;
        self.next_id = id.wrapping_add(1);
        TaskId(id)
    }
}

impl Registry {
    pub(super) fn new() -> Self {
        Self {
            shards: std::array::from_fn(|_| OnceLock::new()),
            next_block: AtomicU64::new(0),
        }
    }

    fn shard(&self, slot: Slot) -> Option<&Shard> {
        self.shards
            .get(usize::from(slot.shard))?
            .get()
            .map(|s| &**s)
    }

    fn cell(&self, slot: Slot) -> Option<&SlotCell> {
        self.shard(slot)?.cell(slot.index)
    }

    /// Enters a task spawned now by the calling thread.
    #[inline]
    pub(super) fn register(
        &self,
        name: TaskName,
        critical: bool,
        started: Instant,
    ) -> (TaskId, Slot) {
        let home = home().index;
        let shard = self.shards[home]
            .get_or_init(|| lock(&POOL).pop().unwrap_or_else(|| Box::new(Shard::new())));
        let mut table = lock(&shard.table);
        let id = table.next_id(&self.next_block);
        table.spawned = table.spawned.wrapping_add(1);
        let index = table.acquire(&shard.cells);
        let Some(cell) = shard.cell(index) else {
            return (id, Slot::UNTRACKED);
        };
        if let Some(entry) = table.entries.get_mut(index as usize) {
            *entry = Some(Entry {
                id,
                name,
                critical,
                started,
            });
        }
        cell.state.store(LIVE, Ordering::Relaxed);
        drop(table);
        (
            id,
            Slot {
                shard: home as u8,
                index,
            },
        )
    }

    /// Records the waker of the task in `slot` (at its first `Pending`).
    pub(super) fn register_waker(&self, slot: Slot, waker: &Waker) {
        if let Some(cell) = self.cell(slot) {
            *lock(&cell.waker) = Some(waker.clone());
        }
    }

    /// The task in `slot` ended: its slot is free for the owner to reclaim (with the waker it
    /// left, if `had_waker`). No use of `slot` may follow.
    #[inline]
    pub(super) fn deregister(&self, slot: Slot, had_waker: bool) {
        if let Some(cell) = self.cell(slot) {
            let left = if had_waker { WAKER } else { 0 };
            cell.state.store(left, Ordering::Release);
        }
    }

    /// The id, name and criticality of the live task in `slot`.
    pub(super) fn identity(&self, slot: Slot) -> Option<(TaskId, TaskName, bool)> {
        let shard = self.shard(slot)?;
        let table = lock(&shard.table);
        let entry = table.entries.get(slot.index as usize)?.as_ref()?;
        Some((entry.id, entry.name.clone(), entry.critical))
    }

    /// Tasks registered so far.
    pub(super) fn spawned(&self) -> u64 {
        self.shards
            .iter()
            .filter_map(OnceLock::get)
            .map(|shard| lock(&shard.table).spawned)
            .sum()
    }

    /// Calls `f` with every live task's entry and cell, shard by shard under each shard's lock.
    fn for_each_live(&self, mut f: impl FnMut(&Entry, &SlotCell)) {
        for shard in self.shards.iter().filter_map(OnceLock::get) {
            let table = lock(&shard.table);
            let mut base = 0;
            for segment in shard.cells.iter().map_while(OnceLock::get) {
                let Some(entries) = table.entries.get(base..base + segment.len()) else {
                    break;
                };
                for (entry, cell) in entries.iter().zip(segment.iter()) {
                    if let Some(entry) = entry
                        && cell.is_live()
                    {
                        f(entry, cell);
                    }
                }
                base += segment.len();
            }
        }
    }

    /// Every live task's entry, mapped by `f`, oldest first.
    pub(super) fn collect_live<T>(&self, mut f: impl FnMut(&Entry) -> T) -> Vec<T> {
        let mut live = Vec::new();
        self.for_each_live(|entry, _| live.push(((entry.started, entry.id), f(entry))));
        live.sort_by_key(|(order, _)| *order);
        live.into_iter().map(|(_, item)| item).collect()
    }

    /// Wakes every live task that parked; returns how many tasks are live.
    pub(super) fn wake_all(&self) -> usize {
        let mut live = 0;
        self.for_each_live(|_, cell| {
            live += 1;
            if let Some(waker) = lock(&cell.waker).as_ref() {
                waker.wake_by_ref();
            }
        });
        live
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        for slot in &mut self.shards {
            if let Some(mut shard) = slot.take() {
                shard.reset();
                let mut pool = lock(&POOL);
                if pool.len() < POOL_MAX {
                    pool.push(shard);
                }
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    use super::*;

    /// Serialises the tests that use the process-wide pool and thread homes.
    pub(in crate::task_manager) static SERIAL: Mutex<()> = Mutex::new(());

    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn enter(registry: &Registry, name: &'static str) -> (TaskId, Slot) {
        registry.register(TaskName::from(name), false, Instant::now())
    }

    fn table_of(registry: &Registry, slot: Slot) -> std::sync::MutexGuard<'_, Table> {
        lock(&registry.shard(slot).unwrap().table)
    }

    fn segments_in_use(shard: &Shard) -> usize {
        shard.cells.iter().filter(|s| s.get().is_some()).count()
    }

    #[test]
    fn slots_map_to_segments_without_gaps() {
        let mut expected = (0, 0);
        for index in 0..(FIRST_SEGMENT * 15) as u32 {
            assert_eq!(locate(index), expected, "slot {index}");
            expected.1 += 1;
            if expected.1 == FIRST_SEGMENT << expected.0 {
                expected = (expected.0 + 1, 0);
            }
        }
        assert_eq!(
            locate(u32::MAX).0,
            SEGMENTS,
            "the untracked slot has no cell"
        );
        assert_eq!(POOLED_SLOTS, 1984);
    }

    #[test]
    fn ended_tasks_slots_are_reused_without_growing() {
        let _serial = lock(&SERIAL);
        let registry = Registry::new();
        let mut ids = BTreeSet::new();
        for _ in 0..100 {
            let slots: Vec<_> = (0..10).map(|_| enter(&registry, "t")).collect();
            for (id, slot) in slots {
                assert!(ids.insert(id), "id {id} handed out twice");
                registry.deregister(slot, false);
            }
        }
        let (_, slot) = enter(&registry, "last");
        let table = table_of(&registry, slot);
        assert!(
            table.entries.len() <= POOLED_SLOTS,
            "{}",
            table.entries.len()
        );
        drop(table);
        assert_eq!(registry.spawned(), 1001);
        // Ids of one thread are consecutive within and across blocks.
        assert_eq!(ids.iter().map(|id| id.0).max(), Some(999));
    }

    #[test]
    fn a_full_table_grows_by_a_segment_and_keeps_every_live_task() {
        let _serial = lock(&SERIAL);
        // A fresh shard, not one recycled by an earlier test.
        lock(&POOL).clear();
        let registry = Registry::new();
        let slots: Vec<_> = (0..3 * FIRST_SEGMENT)
            .map(|_| enter(&registry, "live"))
            .collect();
        let distinct: BTreeSet<_> = slots.iter().map(|(_, slot)| slot.index).collect();
        assert_eq!(distinct.len(), slots.len());
        assert_eq!(registry.collect_live(|e| e.id).len(), slots.len());
        let shard = registry.shard(slots[0].1).unwrap();
        let entries = lock(&shard.table).entries.len();
        let capacity: usize = shard
            .cells
            .iter()
            .filter_map(OnceLock::get)
            .map(|s| s.len())
            .sum();
        assert_eq!(entries, capacity);
        assert!(
            entries >= slots.len() && entries < 2 * slots.len() + FIRST_SEGMENT,
            "{entries}"
        );
    }

    #[test]
    fn a_sweep_that_frees_too_little_grows_and_one_that_frees_enough_does_not() {
        let _serial = lock(&SERIAL);
        let mut shard = Shard::new();
        let table = shard.table.get_mut().unwrap();
        // First use: grows the first segment.
        let first = table.acquire(&shard.cells);
        assert_eq!((first, table.entries.len()), (0, FIRST_SEGMENT));
        table.entries[0] = Some(Entry {
            id: TaskId(0),
            name: TaskName::from("x"),
            critical: false,
            started: Instant::now(),
        });
        shard.cells[0].get().unwrap()[0]
            .state
            .store(LIVE, Ordering::Relaxed);
        for index in 1..FIRST_SEGMENT {
            assert_eq!(table.acquire(&shard.cells), index as u32);
            table.entries[index] = table.entries[0].as_ref().map(|e| Entry {
                id: TaskId(index as u64),
                name: e.name.clone(),
                critical: false,
                started: e.started,
            });
            let state = if index < FIRST_SEGMENT / 2 {
                LIVE
            } else {
                WAKER
            };
            shard.cells[0].get().unwrap()[index]
                .state
                .store(state, Ordering::Relaxed);
        }
        // Half the slots ended: the sweep frees them, no growth.
        let freed = table.acquire(&shard.cells) as usize;
        assert!(freed >= FIRST_SEGMENT / 2, "{freed}");
        assert_eq!(table.entries.len(), FIRST_SEGMENT);
        assert_eq!(table.free.len(), FIRST_SEGMENT / 2 - 1);
        // The slots that ended with a waker had it dropped, and are clean.
        for cell in &shard.cells[0].get().unwrap()[FIRST_SEGMENT / 2..] {
            assert_eq!(cell.state.load(Ordering::Relaxed), 0);
        }
        // Only one more ends: the next sweep frees under a quarter and grows.
        let table = shard.table.get_mut().unwrap();
        while let Some(index) = table.free.pop() {
            shard.cells[0].get().unwrap()[index as usize]
                .state
                .store(LIVE, Ordering::Relaxed);
            table.entries[index as usize] = table.entries[0].as_ref().map(|e| Entry {
                id: e.id,
                name: e.name.clone(),
                critical: false,
                started: e.started,
            });
        }
        shard.cells[0].get().unwrap()[freed]
            .state
            .store(LIVE, Ordering::Relaxed);
        table.entries[freed] = table.entries[0].as_ref().map(|e| Entry {
            id: e.id,
            name: e.name.clone(),
            critical: false,
            started: e.started,
        });
        shard.cells[0].get().unwrap()[3]
            .state
            .store(0, Ordering::Relaxed);
        let next = table.acquire(&shard.cells);
        assert_eq!(next, 3, "the one freed slot first");
        assert_eq!(table.entries.len(), FIRST_SEGMENT + 2 * FIRST_SEGMENT);
        assert_eq!(
            table.acquire(&shard.cells) as usize,
            FIRST_SEGMENT,
            "then a fresh one"
        );
    }

    #[test]
    fn a_reclaimed_slot_drops_the_waker_its_task_left() {
        let _serial = lock(&SERIAL);
        let registry = Registry::new();
        let parked = Arc::new(CountingWaker::default());
        let waker = Waker::from(parked.clone());
        let (_, slot) = enter(&registry, "parked");
        registry.register_waker(slot, &waker);
        assert_eq!(registry.wake_all(), 1);
        assert_eq!(parked.0.load(Ordering::SeqCst), 1);
        registry.deregister(slot, true);
        // Ended: not listed, not woken, but its waker waits in the slot for the owner.
        assert_eq!(registry.wake_all(), 0);
        assert!(registry.collect_live(|e| e.id).is_empty());
        assert_eq!(Arc::strong_count(&parked), 3);
        drop(waker);
        let shard = registry.shard(slot).unwrap();
        lock(&shard.table).reclaim(&shard.cells);
        assert_eq!(Arc::strong_count(&parked), 1, "reclaim drops the waker");
        assert_eq!(
            shard
                .cell(slot.index)
                .unwrap()
                .state
                .load(Ordering::Relaxed),
            0
        );
        assert!(lock(&shard.table).free.contains(&slot.index));
    }

    #[test]
    fn a_live_task_is_listed_and_an_ended_one_is_not_until_its_slot_is_reused() {
        let _serial = lock(&SERIAL);
        let registry = Registry::new();
        let (running, _) = enter(&registry, "running");
        let (ended, slot) = enter(&registry, "ended");
        assert_eq!(registry.identity(slot).map(|(id, ..)| id), Some(ended));
        registry.deregister(slot, false);
        assert_eq!(registry.collect_live(|e| e.id), vec![running]);
        assert_eq!(registry.identity(Slot::UNTRACKED), None);
        assert_eq!(registry.spawned(), 2);
    }

    #[test]
    fn a_pooled_shard_is_trimmed_clean_and_reused_by_the_next_manager() {
        let _serial = lock(&SERIAL);
        lock(&POOL).clear();
        let registry = Registry::new();
        let parked = Arc::new(CountingWaker::default());
        let waker = Waker::from(parked.clone());
        let slots: Vec<_> = (0..3 * POOLED_SLOTS / 2)
            .map(|_| enter(&registry, "many"))
            .collect();
        for (_, slot) in &slots {
            registry.register_waker(*slot, &waker);
            registry.deregister(*slot, true);
        }
        drop(registry);
        assert_eq!(Arc::strong_count(&parked), 2, "the pool keeps no waker");
        let mut pool = lock(&POOL);
        assert_eq!(pool.len(), 1);
        let shard = pool.last_mut().unwrap();
        assert_eq!(segments_in_use(shard), POOLED_SEGMENTS);
        let table = shard.table.get_mut().unwrap();
        assert_eq!(table.entries.len(), POOLED_SLOTS);
        assert!(table.entries.iter().all(Option::is_none));
        assert_eq!((table.free.len(), table.fresh, table.spawned), (0, 0, 0));
        for cell in shard
            .cells
            .iter()
            .filter_map(OnceLock::get)
            .flat_map(|s| s.iter())
        {
            assert_eq!(cell.state.load(Ordering::Relaxed), 0);
        }
        drop(pool);

        let next = Registry::new();
        let (id, slot) = enter(&next, "reused");
        assert_eq!((id, slot.index), (TaskId(0), 0), "ids and slots start over");
        assert_eq!(
            table_of(&next, slot).entries.len(),
            POOLED_SLOTS,
            "no regrowth"
        );
        assert!(lock(&POOL).is_empty());
    }

    #[test]
    fn the_pool_keeps_at_most_its_share_of_shards() {
        let _serial = lock(&SERIAL);
        lock(&POOL).clear();
        for round in 0..POOL_MAX + 3 {
            // Each on its own thread, so each takes a fresh shard (the pool is drained first).
            std::thread::spawn(move || {
                let held: Vec<Registry> = (0..=round).map(|_| Registry::new()).collect();
                for registry in &held {
                    enter(registry, "t");
                }
            })
            .join()
            .unwrap();
            assert_eq!(lock(&POOL).len(), (round + 1).min(POOL_MAX));
        }
    }

    #[test]
    fn a_small_shard_is_reset_only_where_it_was_used() {
        let _serial = lock(&SERIAL);
        let mut shard = Shard::new();
        let table = shard.table.get_mut().unwrap();
        for _ in 0..FIRST_SEGMENT + 10 {
            let index = table.acquire(&shard.cells);
            let (segment, offset) = locate(index);
            shard.cells[segment].get().unwrap()[offset]
                .state
                .store(LIVE, Ordering::Relaxed);
            table.entries[index as usize] = Some(Entry {
                id: TaskId(u64::from(index)),
                name: TaskName::from("x"),
                critical: false,
                started: Instant::now(),
            });
        }
        for segment in shard.cells.iter().filter_map(OnceLock::get) {
            for cell in segment.iter() {
                cell.state.store(WAKER, Ordering::Relaxed);
            }
        }
        shard.reset();
        let used = FIRST_SEGMENT + 10;
        let states: Vec<u8> = shard
            .cells
            .iter()
            .filter_map(OnceLock::get)
            .flat_map(|s| s.iter())
            .map(|cell| cell.state.load(Ordering::Relaxed))
            .collect();
        assert!(
            states[..used].iter().all(|s| *s == 0),
            "used slots are reset"
        );
        assert!(
            states[used..].iter().all(|s| *s == WAKER),
            "unused ones are not touched"
        );
        let table = shard.table.get_mut().unwrap();
        assert!(table.entries.iter().all(Option::is_none));
        assert_eq!(table.entries.len(), FIRST_SEGMENT * 3);
    }
}
