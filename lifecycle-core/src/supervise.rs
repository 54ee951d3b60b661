//! Supervised tasks: [`RestartPolicy`] and the restart loop behind
//! [`TaskSpawner::spawn_supervised`](crate::TaskSpawner::spawn_supervised).

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::catch_unwind::CatchUnwind;
use crate::error::TaskError;
use crate::task_manager::TaskSpawner;
use crate::task_name::TaskName;
use crate::task_result::TaskResult;

/// When and how often a supervised task is restarted.
///
/// Defaults: restart on failure or panic (not on success), at most 5 restarts within 60 s,
/// backoff from 100 ms doubling to 10 s with 20 % jitter.
#[derive(Debug, Clone)]
#[must_use]
pub struct RestartPolicy {
    max_restarts: u32,
    window: Duration,
    backoff: Backoff,
    restart_on_success: bool,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            max_restarts: 5,
            window: Duration::from_secs(60),
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(10)).jitter(0.2),
            restart_on_success: false,
        }
    }
}

impl RestartPolicy {
    /// The default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restart intensity: at most `restarts` restarts within any `window`; one more failure
    /// and the task fails as a critical task.
    pub fn max_restarts(mut self, restarts: u32, window: Duration) -> Self {
        self.max_restarts = restarts;
        self.window = window;
        self
    }

    /// The delays between restarts.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Also restart an attempt that ended successfully (a task that must always run).
    pub fn restart_on_success(mut self, restart: bool) -> Self {
        self.restart_on_success = restart;
        self
    }
}

/// Runs attempts built by `factory` until one ends well, shutdown is signalled, or the restart
/// intensity is exceeded (then `Err`, which the critical task wrapper escalates).
pub(crate) async fn supervise<M, F>(
    name: TaskName,
    spawner: TaskSpawner,
    mut policy: RestartPolicy,
    mut factory: M,
) -> Result<(), TaskError>
where
    M: FnMut() -> F + Send + 'static,
    F: Future + Send + 'static,
    F::Output: TaskResult,
{
    let signal = spawner.signal().clone();
    let mut recent: VecDeque<Instant> = VecDeque::new();
    loop {
        let outcome = CatchUnwind::new(factory()).await;
        if signal.is_triggered() {
            return Ok(());
        }
        let ended = match outcome {
            Ok(output) => match output.into_task_result() {
                Ok(()) if !policy.restart_on_success => return Ok(()),
                Ok(()) => "completed".to_owned(),
                Err(error) => format!("failed: {error}"),
            },
            Err(panic) => format!("panicked: {panic}"),
        };
        let now = Instant::now();
        while recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > policy.window)
        {
            recent.pop_front();
        }
        if recent.is_empty() {
            policy.backoff.reset();
        }
        if recent.len() >= policy.max_restarts as usize {
            return Err(TaskError::new(format!(
                "restart limit reached ({} restarts within {:?}); last attempt {ended}",
                policy.max_restarts, policy.window
            )));
        }
        recent.push_back(now);
        spawner.record_restart();
        let delay = policy.backoff.next_delay();
        tracing::warn!(
            manager = spawner.name(), task = %name, restart = recent.len(),
            delay_ms = delay.as_secs_f64() * 1e3, "supervised task {ended}; restarting"
        );
        tokio::select! {
            biased;
            () = signal.triggered() => return Ok(()),
            () = tokio::time::sleep(delay) => {}
        }
    }
}
