//! [`AsyncResource`]: the interface every component with a lifecycle implements.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::StartError;
use crate::orchestrator::InFlightStop;
use crate::state::{LifecycleState, StateWatcher};
use crate::stop_report::StopReport;

/// A boxed, sendable future: what the object-safe [`AsyncResource`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A component that starts, runs and stops.
///
/// Object-safe: `Arc<dyn AsyncResource>` is how the orchestrator holds components. The contract
/// (the crate docs' "The lifecycle contract"), which [`Lifecycle`](crate::Lifecycle) implements so components need not:
///
/// - `start` is idempotent; a failed start undoes what it began and reports why.
/// - `stop(deadline)` is idempotent, safe to call concurrently (all callers get the one stop's
///   report), a no-op before start, safe after failure, and **always returns by `deadline`**.
/// - The state is readable lock-free and watchable.
///
/// ```
/// use std::sync::Arc;
/// use lifecycle_core::{AsyncResource, BoxFuture, Lifecycle, LifecycleState, StartError,
///     StateWatcher, StopDetails, StopReport};
/// use tokio::time::Instant;
///
/// struct Heartbeat {
///     lifecycle: Lifecycle,
/// }
///
/// impl AsyncResource for Heartbeat {
///     fn name(&self) -> &str { self.lifecycle.name() }
///     fn state(&self) -> LifecycleState { self.lifecycle.state() }
///     fn watch_state(&self) -> StateWatcher { self.lifecycle.watch() }
///     fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
///         Box::pin(self.lifecycle.start(|ctx| async move {
///             let signal = ctx.tasks().signal().clone();
///             ctx.tasks().spawn_critical("beat", async move { signal.triggered().await })?;
///             Ok(())
///         }))
///     }
///     fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
///         Box::pin(self.lifecycle.stop(deadline, |_ctx| async { StopDetails::new() }))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let resource: Arc<dyn AsyncResource> = Arc::new(Heartbeat { lifecycle: Lifecycle::new("heartbeat") });
/// resource.start().await.unwrap();
/// assert!(resource.is_running());
/// let report = resource.stop_within(std::time::Duration::from_secs(1)).await;
/// assert!(report.is_clean());
/// assert_eq!(resource.state(), LifecycleState::Stopped);
/// # }
/// ```
pub trait AsyncResource: Send + Sync {
    /// Name for logs, reports and metrics.
    #[doc(alias = "resource_name")]
    fn name(&self) -> &str;

    /// The current lifecycle state (lock-free).
    fn state(&self) -> LifecycleState;

    /// A watcher of state changes (supervisors use it to notice `Failed`).
    fn watch_state(&self) -> StateWatcher;

    /// Starts the resource and its background tasks.
    fn start(&self) -> BoxFuture<'_, Result<(), StartError>>;

    /// Stops the resource and everything it runs, returning by `deadline` with a report.
    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport>;

    /// `true` while the state is `Running` (derived from [`AsyncResource::state`]).
    fn is_running(&self) -> bool {
        self.state().is_running()
    }

    /// [`AsyncResource::stop`] with a deadline `budget` from now.
    fn stop_within(&self, budget: Duration) -> BoxFuture<'_, StopReport> {
        self.stop(Instant::now() + budget)
    }

    /// The parts of a composite resource whose stop is under way now (for the report of a
    /// forced exit); none by default. [`ResourceGroup`](crate::ResourceGroup) lists its
    /// members'.
    fn in_flight_parts(&self) -> Vec<InFlightStop> {
        Vec::new()
    }
}

impl<T: AsyncResource + ?Sized> AsyncResource for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn state(&self) -> LifecycleState {
        (**self).state()
    }

    fn watch_state(&self) -> StateWatcher {
        (**self).watch_state()
    }

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        (**self).start()
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        (**self).stop(deadline)
    }

    fn in_flight_parts(&self) -> Vec<InFlightStop> {
        (**self).in_flight_parts()
    }
}

/// Implements [`AsyncResource`]'s `name`, `state` and `watch_state` by delegating to a
/// [`Lifecycle`](crate::Lifecycle) field (named, or a tuple index: `delegate_to_lifecycle!(0)`),
/// the three methods every component built on `Lifecycle` writes the same way. Use it inside
/// the `impl AsyncResource` block, then write `start` and `stop`.
///
/// ```
/// use lifecycle_core::{AsyncResource, BoxFuture, Lifecycle, StartError, StopDetails, StopReport};
/// use tokio::time::Instant;
///
/// struct Feed {
///     lifecycle: Lifecycle,
/// }
///
/// impl AsyncResource for Feed {
///     lifecycle_core::delegate_to_lifecycle!(lifecycle);
///
///     fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
///         Box::pin(self.lifecycle.start(|_ctx| async { Ok(()) }))
///     }
///
///     fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
///         Box::pin(self.lifecycle.stop(deadline, |_ctx| async { StopDetails::new() }))
///     }
/// }
///
/// let feed = Feed { lifecycle: Lifecycle::new("feed") };
/// assert_eq!(feed.name(), "feed");
/// assert!(!feed.is_running());
/// ```
#[macro_export]
macro_rules! delegate_to_lifecycle {
    ($field:tt) => {
        fn name(&self) -> &str {
            $crate::Lifecycle::name(&self.$field)
        }

        fn state(&self) -> $crate::LifecycleState {
            $crate::Lifecycle::state(&self.$field)
        }

        fn watch_state(&self) -> $crate::StateWatcher {
            $crate::Lifecycle::watch(&self.$field)
        }
    };
}
