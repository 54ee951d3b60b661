//! The quiesce lifecycle contract: every async component starts, runs and **stops** cleanly,
//! fast, and provably.
//!
//! This crate is the foundation of the workspace. It knows nothing of exchanges or networks and
//! depends only on tokio and tracing (plus thiserror's derive and pin-project-lite, which tokio
//! itself uses). It provides:
//!
//! - [`AsyncResource`]: the object-safe interface of a component (`Arc<dyn AsyncResource>`).
//! - [`LifecycleState`] with checked transitions in a lock-free [`StateCell`], watchable
//!   through a [`StateWatcher`], each transition a `tracing` event.
//! - [`Lifecycle`]: the building block that gives a component the whole contract (idempotent
//!   start with rollback; idempotent, concurrent, deadline-bounded stop; drop safety net).
//! - [`TaskManager`]: named tasks tracked by id, critical or supervised, with a lock-free
//!   [`ShutdownSignal`] and a two-phase shutdown that reports every task's fate.
//! - [`DependencyAwareShutdown`] with [`ShutdownPriority`]: phase-ordered, dependency-aware
//!   start and shutdown under one global deadline, and one [`ShutdownReport`].
//! - [`ResourceGroup`]: an orchestrated set of resources that starts and stops as one.
//! - [`Runner`]: runs an application until a signal, a critical failure or its end, then shuts
//!   down in order; a second signal forces the exit; a [`Watchdog`] guards against code that
//!   blocks a thread.
//! - [`metrics()`]: active background tasks, restarts, shutdown durations and failures; the
//!   [`timeline`]: one tree of `tracing` spans for every start and shutdown.
//! - `testing` (feature): exact leak checks for tests.
//!
//! The numbered programs in `examples/` walk through them in order
//! (`cargo run -p lifecycle-core --example 01_task_manager`).
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//! use lifecycle_core::{TaskManager, TaskOutcome};
//!
//! let tasks = TaskManager::new("example");
//! let signal = tasks.signal().clone();
//! tasks.spawn("cooperative", async move { signal.triggered().await }).unwrap();
//! // This one ignores the signal: it is aborted after the grace period, and reported.
//! tasks.spawn("stubborn", std::future::pending::<()>()).unwrap();
//!
//! let report = tasks.shutdown(tokio::time::Instant::now() + Duration::from_secs(2)).await;
//! assert_eq!(report.counts.stopped, 1);
//! assert_eq!(report.counts.aborted, 1);
//! assert!(report.records.iter().any(|r| r.name.as_str() == "stubborn" && r.outcome == TaskOutcome::Aborted));
//! # }
//! ```
//!
//! # Features
//! - `testing`: the `testing` module's leak checks.
//! - `serde`: `serde::Serialize` for states and reports (for JSON output in binaries).
//!
#![doc = include_str!("../docs/contract.md")]
#![doc(test(attr(deny(warnings))))]

mod backoff;
mod catch_unwind;
mod clock;
mod error;
mod lifecycle;
mod metrics;
mod orchestrator;
mod priority;
mod resource;
mod resource_group;
mod runner;
mod shutdown_report;
mod shutdown_signal;
mod signal_source;
mod state;
mod stop_report;
mod supervise;
mod sync;
mod task_manager;
mod task_name;
mod task_report;
mod task_result;
pub mod timeline;
mod watchdog;

#[cfg(feature = "testing")]
pub mod testing;

pub use backoff::Backoff;
pub use clock::WallClock;
pub use error::{
    BoxError, DependencyError, SpawnError, StartAllError, StartError, TaskError, TransitionError,
};
pub use lifecycle::{Lifecycle, LifecycleBuilder, StartContext, StopContext};
pub use metrics::{ComponentTasks, MetricsSnapshot, component_tasks, metrics};
pub use orchestrator::{DependencyAwareShutdown, InFlightStop, ResourceId};
pub use priority::ShutdownPriority;
pub use resource::{AsyncResource, BoxFuture};
pub use resource_group::ResourceGroup;
pub use runner::{AppContext, ExitStatus, FORCED_EXIT_CODE, RunOutcome, Runner, ShutdownReason};
pub use shutdown_report::{PhaseReport, ResourceReport, ShutdownReport};
pub use shutdown_signal::ShutdownSignal;
pub use signal_source::{
    InjectedSignals, NoSignals, OsSignals, Signal, SignalInjector, SignalSource, signal_channel,
};
pub use state::{FailureCause, LifecycleState, StateCell, StateTag, StateWatcher};
pub use stop_report::{StopDetails, StopOutcome, StopReport};
pub use supervise::RestartPolicy;
pub use task_manager::{TaskManager, TaskManagerBuilder, TaskManagerConfig, TaskSpawner};
pub use task_name::TaskName;
pub use task_report::{
    RunningTask, TaskCounts, TaskFailure, TaskId, TaskOutcome, TaskRecord, TaskShutdownReport,
};
pub use task_result::TaskResult;
pub use watchdog::Watchdog;
