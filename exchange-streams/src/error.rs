//! Typed errors: declaring, subscribing, and receiving.

use std::sync::Arc;

use lifecycle_core::StateTag;

/// Why a stream could not be declared or subscribed to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// No stream of that name was declared.
    #[error("unknown stream `{name}`")]
    UnknownStream {
        /// The name asked for.
        name: Arc<str>,
    },
    /// The stream exists but carries another value type.
    #[error("stream `{name}` carries `{actual}`, not the requested `{requested}`")]
    TypeMismatch {
        /// The stream.
        name: Arc<str>,
        /// The type the caller asked for.
        requested: &'static str,
        /// The type the stream was declared with.
        actual: &'static str,
    },
    /// A stream of that name was already declared.
    #[error("stream `{name}` already exists")]
    AlreadyExists {
        /// The stream.
        name: Arc<str>,
    },
    /// An event stream needs a buffer of at least one event (and at most
    /// [`MAX_EVENT_CAPACITY`](crate::MAX_EVENT_CAPACITY)).
    #[error("event stream `{name}`: capacity {capacity} is outside 1..={max}", max = crate::MAX_EVENT_CAPACITY)]
    InvalidCapacity {
        /// The stream.
        name: Arc<str>,
        /// The capacity asked for.
        capacity: usize,
    },
    /// Subscriptions are served only while the streams are running.
    #[error("observable streams `{component}` are not running yet (state: {})", state.as_str())]
    NotStarted {
        /// The [`ObservableStreams`](crate::ObservableStreams) component.
        component: Arc<str>,
        /// Its state.
        state: StateTag,
    },
    /// The streams are stopping or stopped: nothing new is accepted.
    #[error("observable streams `{component}` are stopped")]
    Stopped {
        /// The [`ObservableStreams`](crate::ObservableStreams) component.
        component: Arc<str>,
    },
}

/// A subscriber fell behind an event stream and missed exactly `missed` events (the oldest
/// ones were overwritten in the bounded buffer). It goes on with the oldest event still held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("subscriber fell behind and missed {missed} event(s)")]
pub struct Lagged {
    /// How many events this subscriber missed.
    pub missed: u64,
}

/// Why [`Subscription::try_recv`](crate::Subscription::try_recv) returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum TryRecvError {
    /// Nothing new yet.
    #[error("no new value yet")]
    Empty,
    /// The subscriber fell behind an event stream; see [`Lagged`].
    #[error(transparent)]
    Lagged(#[from] Lagged),
    /// The stream ended (the streams stopped): nothing more will come.
    #[error("the stream ended")]
    Ended,
}
