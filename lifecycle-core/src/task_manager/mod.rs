//! [`TaskManager`]: spawns named tasks, tracks them by id, and shuts them down in two phases
//! (signal -> grace -> abort -> short wait) with a report of every task's fate.
//!
//! - [`manager`]: the owner, [`TaskManager`], and its shutdown.
//! - [`spawner`]: [`TaskSpawner`], the cloneable handle that spawns and inspects.
//! - [`builder`]: [`TaskManagerBuilder`] and the timings of [`TaskManagerConfig`].
//! - [`registry`]: who is running, sharded by spawning thread.
//! - [`home`]: each thread's index in every manager (its shard and counter lane).
//! - [`shared`]: what a manager and its tasks share: the live count, the counters and records,
//!   the escalation of critical failures.
//! - [`tracked`]: the wrapper around every task, which does the accounting at its end.

mod builder;
mod home;
mod manager;
mod registry;
mod shared;
mod spawner;
mod tracked;

use std::sync::{Mutex, MutexGuard, PoisonError};

pub use builder::{TaskManagerBuilder, TaskManagerConfig};
pub use manager::TaskManager;
pub(crate) use shared::Shared;
pub use spawner::TaskSpawner;

/// Locks `mutex`, ignoring poisoning: every critical section here leaves its data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
