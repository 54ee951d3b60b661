//! The venue's own clean shutdown, with tokio primitives only: a `watch` shutdown signal
//! that every task selects on, a `JoinSet` of every task, and a deadline after which what is
//! still running is aborted.
//!
//! Why not lifecycle-core's `TaskManager`: the venue is the stack's independent oracle and
//! runs in the same process as the stack under test (the embedded venue of mm-demo, the
//! tests, the simulation's venue host). A `TaskManager`'s tasks count in the process-wide
//! lifecycle metrics and leak checks (`lifecycle_core::metrics().active_background_tasks`),
//! which the simulation and mm-demo read to prove that *the stack* left nothing running: the
//! venue's server, market and connections would be counted as the stack's. So the venue keeps
//! this small task set of its own, and only its deadline convention follows lifecycle-core's
//! (`SimVenue::stop` takes an `Instant`, `SimVenue::stop_within` a `Duration`).

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// What a shutdown did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VenueStopReport {
    /// Tasks that ended on their own after the signal.
    pub stopped: usize,
    /// Tasks aborted at the deadline.
    pub aborted: usize,
    /// How long it took.
    pub elapsed: Duration,
}

/// The shutdown signal plus every task of the venue.
#[derive(Debug)]
pub struct VenueTasks {
    signal: watch::Sender<bool>,
    done: watch::Sender<bool>,
    tasks: Mutex<Option<JoinSet<()>>>,
}

impl Default for VenueTasks {
    fn default() -> Self {
        Self {
            signal: watch::channel(false).0,
            done: watch::channel(false).0,
            tasks: Mutex::new(Some(JoinSet::new())),
        }
    }
}

impl VenueTasks {
    /// A receiver of the shutdown signal (`true` once shutdown began).
    pub fn signal(&self) -> watch::Receiver<bool> {
        self.signal.subscribe()
    }

    /// Whether shutdown began.
    pub fn is_shutting_down(&self) -> bool {
        *self.signal.borrow()
    }

    /// Spawn a tracked task; refused (returns `false`) once shutdown began.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> bool {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        match tasks.as_mut() {
            Some(set) if !self.is_shutting_down() => {
                // Reap finished tasks so the set does not grow with every connection.
                while set.try_join_next().is_some() {}
                set.spawn(task);
                true
            }
            _ => false,
        }
    }

    /// Number of tracked tasks still running.
    pub fn running_tasks(&self) -> usize {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        match tasks.as_mut() {
            Some(set) => {
                while set.try_join_next().is_some() {}
                set.len()
            }
            None => 0,
        }
    }

    /// Signal shutdown, wait for tasks until `deadline`, abort the rest. Idempotent: a
    /// concurrent or later caller waits (until its deadline) for the first one to finish.
    pub async fn shutdown(&self, deadline: Instant) -> VenueStopReport {
        let started = Instant::now();
        self.signal.send_replace(true);
        let taken = self.tasks.lock().unwrap_or_else(|e| e.into_inner()).take();
        let mut report = VenueStopReport::default();
        if taken.is_none() {
            let mut done = self.done.subscribe();
            let _ = tokio::time::timeout_at(deadline, done.wait_for(|d| *d)).await;
            report.elapsed = started.elapsed();
            return report;
        }
        if let Some(mut set) = taken {
            loop {
                match tokio::time::timeout_at(deadline, set.join_next()).await {
                    Ok(Some(_)) => report.stopped += 1,
                    Ok(None) => break,
                    Err(_) => {
                        report.aborted = set.len();
                        set.abort_all();
                        // Give aborted tasks a moment to unwind; never wait unboundedly.
                        let _ = tokio::time::timeout(Duration::from_millis(100), async {
                            while set.join_next().await.is_some() {}
                        })
                        .await;
                        break;
                    }
                }
            }
        }
        self.done.send_replace(true);
        report.elapsed = started.elapsed();
        report
    }

    /// Abort everything at once (safety net when the handle is dropped without `stop`).
    pub fn abort_all(&self) {
        self.signal.send_replace(true);
        let taken = self.tasks.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut set) = taken {
            set.abort_all();
        }
        self.done.send_replace(true);
    }
}

/// Wait until a watched flag equals `value` (or its sender is gone). Unlike
/// `watch::Receiver::wait_for` it holds no borrow afterwards, so it can sit in a `select!`
/// of a `Send` future.
pub async fn wait_until(flag: &mut watch::Receiver<bool>, value: bool) {
    let _ = flag.wait_for(|v| *v == value).await;
}
