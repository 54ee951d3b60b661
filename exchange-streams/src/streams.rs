//! [`ObservableStreams`]: the named streams as one [`AsyncResource`].

use std::fmt;
use std::sync::Arc;

use lifecycle_core::{
    AsyncResource, BoxFuture, Lifecycle, StartError, StateTag, StopDetails, StopReport,
};
use tokio::time::Instant;

use crate::counters::{StreamCounters, StreamKind};
use crate::error::StreamError;
use crate::events::{EventChannel, EventPublisher, MAX_EVENT_CAPACITY};
use crate::latest::{LatestChannel, LatestPublisher};
use crate::registry::Registry;
use crate::subscription::Subscription;

/// Named, typed streams with tracked subscriptions, as one lifecycle component.
///
/// - Declare streams with [`latest`](Self::latest) (a `BehaviorSubject`: book ticker,
///   balances) or [`events`](Self::events) (trades, order updates); each returns the stream's
///   publisher. Declaring is allowed before start and while running.
/// - While running, [`subscribe_tracked`](Self::subscribe_tracked) hands out
///   [`Subscription`]s, counted by [`active_subscriptions`](Self::active_subscriptions) until
///   dropped or disposed.
/// - [`stop`](AsyncResource::stop) closes every stream: subscribers receive what was published
///   before, then end; later publishes are ignored and counted; later subscribes are a
///   [`StreamError::Stopped`]. It runs no background task, so it stops at once, and its report
///   carries the counters `streams`, `published`, `lagged` and `subscriptions_open`.
/// - Dropping it without stopping closes the streams too (and `lifecycle-core` logs a warning).
///
/// Shutdown priority: `ShutdownPriority::Low` (after the websockets that publish into it).
#[doc(alias = "ObservableStreamsInterface")]
pub struct ObservableStreams {
    lifecycle: Lifecycle,
    registry: Arc<Registry>,
}

impl fmt::Debug for ObservableStreams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObservableStreams")
            .field("lifecycle", &self.lifecycle)
            .field("registry", &self.registry)
            .finish()
    }
}

impl ObservableStreams {
    /// No streams yet; `name` is the component's name in logs and reports (such as
    /// `"observable_streams"`).
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        let name = name.into();
        Self {
            lifecycle: Lifecycle::new(name.clone()),
            registry: Arc::new(Registry::new(name)),
        }
    }

    /// Declares a latest-value stream holding `initial`, and returns its publisher.
    ///
    /// # Errors
    /// [`StreamError::AlreadyExists`] for a taken name, [`StreamError::Stopped`] after stop.
    #[doc(alias = "BehaviorSubject")]
    pub fn latest<T>(
        &self,
        name: impl Into<Arc<str>>,
        initial: T,
    ) -> Result<LatestPublisher<T>, StreamError>
    where
        T: Clone + Send + Sync + 'static,
    {
        self.check_not_stopped()?;
        self.registry
            .declare(name.into(), StreamKind::Latest, |stats| {
                LatestChannel::new(initial, stats)
            })
    }

    /// Declares an event stream buffering up to `capacity` events per subscriber, and returns
    /// its publisher. A subscriber more than `capacity` events behind misses the oldest ones
    /// (and is told how many); the publisher never waits. The buffer is allocated up front
    /// (rounded up to a power of two) and holds the last `capacity` events.
    ///
    /// # Errors
    /// [`StreamError::InvalidCapacity`] unless `1 <= capacity <= MAX_EVENT_CAPACITY`,
    /// [`StreamError::AlreadyExists`] for a taken name, [`StreamError::Stopped`] after stop.
    pub fn events<T>(
        &self,
        name: impl Into<Arc<str>>,
        capacity: usize,
    ) -> Result<EventPublisher<T>, StreamError>
    where
        T: Clone + Send + Sync + 'static,
    {
        let name = name.into();
        if capacity == 0 || capacity > MAX_EVENT_CAPACITY {
            return Err(StreamError::InvalidCapacity { name, capacity });
        }
        self.check_not_stopped()?;
        self.registry.declare(name, StreamKind::Events, |stats| {
            EventChannel::new(capacity, stats)
        })
    }

    /// Subscribes to the named stream of `T` values, counted as active until it ends. See
    /// [`Subscription`] for what it yields.
    ///
    /// # Errors
    /// [`StreamError::UnknownStream`], [`StreamError::TypeMismatch`] if the stream carries
    /// another type, [`StreamError::NotStarted`] before start, [`StreamError::Stopped`] once
    /// stopping.
    pub fn subscribe_tracked<T>(&self, name: &str) -> Result<Subscription<T>, StreamError>
    where
        T: Clone + Send + Sync + 'static,
    {
        match self.lifecycle.state_tag() {
            StateTag::Running => {}
            state @ (StateTag::Created | StateTag::Starting) => {
                return Err(StreamError::NotStarted {
                    component: self.component(),
                    state,
                });
            }
            StateTag::Stopping | StateTag::Stopped | StateTag::Failed => {
                return Err(self.stopped());
            }
        }
        self.registry.with_stream(name, |stream| {
            let any = stream.as_any();
            if let Some(channel) = any.downcast_ref::<LatestChannel<T>>() {
                return Ok(Subscription::latest(channel.subscribe()));
            }
            if let Some(channel) = any.downcast_ref::<EventChannel<T>>() {
                return Ok(Subscription::events(channel.subscribe()));
            }
            Err(StreamError::TypeMismatch {
                name: name.into(),
                requested: std::any::type_name::<T>(),
                actual: stream.value_type(),
            })
        })
    }

    /// Subscriptions not yet dropped or disposed, over all streams.
    pub fn active_subscriptions(&self) -> usize {
        self.registry.active_subscriptions()
    }

    /// The named stream's counters, if it exists (also after stop).
    pub fn counters(&self, name: &str) -> Option<StreamCounters> {
        self.registry.counters(name)
    }

    /// Every stream's counters, by name.
    pub fn all_counters(&self) -> Vec<StreamCounters> {
        self.registry.all_counters()
    }

    fn component(&self) -> Arc<str> {
        Arc::from(self.lifecycle.name())
    }

    fn stopped(&self) -> StreamError {
        StreamError::Stopped {
            component: self.component(),
        }
    }

    fn check_not_stopped(&self) -> Result<(), StreamError> {
        match self.lifecycle.state_tag() {
            StateTag::Created | StateTag::Starting | StateTag::Running => Ok(()),
            StateTag::Stopping | StateTag::Stopped | StateTag::Failed => Err(self.stopped()),
        }
    }
}

impl AsyncResource for ObservableStreams {
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        // Nothing to spawn: the streams exist from their declaration.
        Box::pin(self.lifecycle.start(|_ctx| async { Ok(()) }))
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let registry = self.registry.clone();
        Box::pin(self.lifecycle.stop(deadline, move |_ctx| async move {
            let summary = registry.close_all().unwrap_or_default();
            StopDetails::new()
                .counter("streams", summary.streams)
                .counter("published", summary.published)
                .counter("lagged", summary.lagged)
                .counter("subscriptions_open", summary.subscriptions_open)
        }))
    }
}

impl Drop for ObservableStreams {
    fn drop(&mut self) {
        // Safety net: subscribers must not wait forever on streams nobody will stop.
        if self.registry.close_all().is_some() {
            tracing::debug!(
                component = self.lifecycle.name(),
                "observable streams dropped: streams closed"
            );
        }
    }
}
