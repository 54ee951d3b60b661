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

/// Where a task's entry lives. Copied into the task's guard.
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
        if self.fresh < self.entries.len() {
            self.fresh += 1;
            return (self.fresh - 1) as u32;
        }
        Slot::UNTRACKED.index
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
                if state & WAKER != 0 {
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
mod tests {
    use super::*;

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
    }
}
