//! [`Registry`]: the named streams of one `ObservableStreams`, type-erased, behind a lock that
//! only declaring, subscribing, closing and counter reads take (never publishing).

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::counters::{StreamCounters, StreamKind, StreamStats};
use crate::error::StreamError;

/// What the registry needs of a stream, whatever its value type.
pub(crate) trait ErasedStream: Send + Sync + 'static {
    /// The value type's name (for type-mismatch errors and counters).
    fn value_type(&self) -> &'static str;
    /// Closes the stream: publishes are rejected from now on, subscribers end.
    fn close(&self);
    /// A snapshot of the stream's counters.
    fn counters(&self) -> StreamCounters;
    /// For downcasting to the typed channel.
    fn as_any(&self) -> &dyn Any;
}

/// Totals over all streams, taken when they close.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CloseSummary {
    pub(crate) streams: u64,
    pub(crate) published: u64,
    pub(crate) lagged: u64,
    pub(crate) subscriptions_open: u64,
}

/// The named streams.
pub(crate) struct Registry {
    component: Arc<str>,
    all_active: Arc<AtomicUsize>,
    inner: Mutex<Inner>,
}

struct Inner {
    closed: bool,
    streams: BTreeMap<Arc<str>, Box<dyn ErasedStream>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("Registry")
            .field("closed", &inner.closed)
            .field("streams", &inner.streams.keys().collect::<Vec<_>>())
            .field("active_subscriptions", &self.active_subscriptions())
            .finish()
    }
}

impl Registry {
    pub(crate) fn new(component: Arc<str>) -> Self {
        Self {
            component,
            all_active: Arc::new(AtomicUsize::new(0)),
            inner: Mutex::new(Inner {
                closed: false,
                streams: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; recover the data if something ever did.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopped(&self) -> StreamError {
        StreamError::Stopped {
            component: self.component.clone(),
        }
    }

    /// Adds a stream built by `make`, returning what `make` hands back (its publisher).
    pub(crate) fn declare<C, P>(
        &self,
        name: Arc<str>,
        kind: StreamKind,
        make: impl FnOnce(Arc<StreamStats>) -> (C, P),
    ) -> Result<P, StreamError>
    where
        C: ErasedStream,
    {
        let mut inner = self.lock();
        if inner.closed {
            return Err(self.stopped());
        }
        if inner.streams.contains_key(&name) {
            return Err(StreamError::AlreadyExists { name });
        }
        let stats = Arc::new(StreamStats::new(
            name.clone(),
            kind,
            self.all_active.clone(),
        ));
        let (channel, publisher) = make(stats);
        inner.streams.insert(name, Box::new(channel));
        Ok(publisher)
    }

    /// Runs `f` on the named stream, unless the registry closed or has no such stream.
    pub(crate) fn with_stream<R>(
        &self,
        name: &str,
        f: impl FnOnce(&dyn ErasedStream) -> Result<R, StreamError>,
    ) -> Result<R, StreamError> {
        let inner = self.lock();
        if inner.closed {
            return Err(self.stopped());
        }
        match inner.streams.get(name) {
            Some(stream) => f(stream.as_ref()),
            None => Err(StreamError::UnknownStream { name: name.into() }),
        }
    }

    /// Closes every stream (idempotent): `Some` totals for the call that closed them.
    pub(crate) fn close_all(&self) -> Option<CloseSummary> {
        let mut inner = self.lock();
        if inner.closed {
            return None;
        }
        inner.closed = true;
        let mut summary = CloseSummary::default();
        for stream in inner.streams.values() {
            stream.close();
            let counters = stream.counters();
            summary.streams += 1;
            summary.published += counters.published;
            summary.lagged += counters.lagged;
            summary.subscriptions_open += counters.active_subscriptions as u64;
        }
        Some(summary)
    }

    pub(crate) fn counters(&self, name: &str) -> Option<StreamCounters> {
        self.lock()
            .streams
            .get(name)
            .map(|stream| stream.counters())
    }

    pub(crate) fn all_counters(&self) -> Vec<StreamCounters> {
        self.lock()
            .streams
            .values()
            .map(|stream| stream.counters())
            .collect()
    }

    pub(crate) fn active_subscriptions(&self) -> usize {
        self.all_active.load(Ordering::Acquire)
    }
}
