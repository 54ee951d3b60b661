//! Leak checks for tests (feature `testing`): a [`TaskManager`](crate::TaskManager)'s registry
//! is empty, and the runtime's alive-task count is back to its baseline. Exact, unlike
//! comparing a count of all tasks before and after (which races with tasks just ending).
//!
//! The checks poll with a deadline instead of sleeping a fixed time, and panic with the names
//! of what leaked.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::task_manager::TaskSpawner;

/// Runs a test body with a time limit, so a hang fails the test fast instead of stalling CI.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// let answer = lifecycle_core::testing::within(Duration::from_secs(10), async { 42 }).await;
/// assert_eq!(answer, 42);
/// # }
/// ```
///
/// # Panics
/// If `body` does not finish within `limit`.
#[allow(clippy::panic, reason = "an assertion helper for tests")]
pub async fn within<F: Future>(limit: Duration, body: F) -> F::Output {
    match tokio::time::timeout(limit, body).await {
        Ok(output) => output,
        Err(_) => panic!("test did not finish within {limit:?}"),
    }
}

/// Asserts that `tasks` has no live task and no registered running task, waiting up to
/// `within` for tasks that are just finishing.
///
/// # Panics
/// If tasks remain after `within`, naming them.
#[allow(clippy::panic, reason = "an assertion helper for tests")]
pub async fn assert_no_tasks(tasks: &TaskSpawner, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let running = tasks.running_tasks();
        if tasks.active_tasks() == 0 && running.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            panic!(
                "task manager '{}' leaked {} task(s): {:?}",
                tasks.name(),
                tasks.active_tasks(),
                running
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The runtime's alive-task count at one moment, to compare against later.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeTaskBaseline {
    alive: usize,
}

impl RuntimeTaskBaseline {
    /// Reads the current runtime's alive-task count.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn capture() -> Self {
        Self {
            alive: tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks(),
        }
    }

    /// The count captured.
    pub fn alive(&self) -> usize {
        self.alive
    }

    /// Asserts that the alive-task count is back to (at most) the baseline, waiting up to
    /// `within`.
    ///
    /// # Panics
    /// If more tasks are alive after `within`.
    #[allow(clippy::panic, reason = "an assertion helper for tests")]
    pub async fn assert_back(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let alive = tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks();
            if alive <= self.alive {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "runtime task leak: {alive} tasks alive, baseline {}",
                    self.alive
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}
