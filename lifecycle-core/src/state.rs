//! The lifecycle state machine: [`LifecycleState`], the lock-free [`StateCell`] that holds it, and
//! the [`StateWatcher`] that observes its changes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::TransitionError;
use crate::sync::{AtomicU8, AtomicU64, Mutex, Ordering, lock};

/// Why a resource entered [`LifecycleState::Failed`].
///
/// Cheap to clone (one reference count).
#[derive(Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
pub struct FailureCause(Arc<str>);

impl FailureCause {
    /// Creates a cause from a message.
    pub fn new(message: impl Into<Arc<str>>) -> Self {
        Self(message.into())
    }

    /// The message describing the failure.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a resource is in its life: `Created -> Starting -> Running -> Stopping -> Stopped`, or
/// `Failed` (with the cause) from `Starting` or `Running`.
///
/// Whether it runs is derived from it ([`LifecycleState::is_running`]). Connection-level
/// health (a websocket that is reconnecting, say) is a separate status of the component, never
/// folded into this state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum LifecycleState {
    /// Built, never started.
    Created,
    /// `start` is in progress.
    Starting,
    /// Started and serving.
    Running,
    /// `stop` is in progress.
    Stopping,
    /// Stopped; terminal.
    Stopped,
    /// Start failed, or a critical task failed while running. `stop` is still required (and
    /// safe) to release whatever is left.
    Failed(FailureCause),
}

impl LifecycleState {
    /// `true` only in [`LifecycleState::Running`].
    pub fn is_running(&self) -> bool {
        matches!(self, Self::Running)
    }

    /// `true` in [`LifecycleState::Stopped`]: nothing of the resource is left.
    pub fn is_stopped(&self) -> bool {
        matches!(self, Self::Stopped)
    }

    /// `true` in [`LifecycleState::Failed`].
    pub fn is_failed(&self) -> bool {
        matches!(self, Self::Failed(_))
    }

    /// The short name of the state, as used in logs (`"running"`, `"failed"`, ...).
    pub fn as_str(&self) -> &'static str {
        self.tag().as_str()
    }

    pub(crate) fn tag(&self) -> StateTag {
        match self {
            Self::Created => StateTag::Created,
            Self::Starting => StateTag::Starting,
            Self::Running => StateTag::Running,
            Self::Stopping => StateTag::Stopping,
            Self::Stopped => StateTag::Stopped,
            Self::Failed(_) => StateTag::Failed,
        }
    }
}

impl fmt::Display for LifecycleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(cause) => write!(f, "failed: {cause}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// The discriminant of [`LifecycleState`], stored in one atomic byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum StateTag {
    /// See [`LifecycleState::Created`].
    Created = 0,
    /// See [`LifecycleState::Starting`].
    Starting = 1,
    /// See [`LifecycleState::Running`].
    Running = 2,
    /// See [`LifecycleState::Stopping`].
    Stopping = 3,
    /// See [`LifecycleState::Stopped`].
    Stopped = 4,
    /// See [`LifecycleState::Failed`].
    Failed = 5,
}

impl StateTag {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Created,
            1 => Self::Starting,
            2 => Self::Running,
            3 => Self::Stopping,
            4 => Self::Stopped,
            _ => Self::Failed,
        }
    }

    /// The short name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        }
    }

    /// Whether the lifecycle contract allows `self -> to`.
    ///
    /// `Starting -> Stopping` is the forced path of a `stop` that could not wait for a hung
    /// `start`; `Failed -> Stopping` releases what a failed resource still holds.
    pub fn can_become(self, to: StateTag) -> bool {
        use StateTag::*;
        matches!(
            (self, to),
            (Created, Starting)
                | (Starting, Running)
                | (Starting, Failed)
                | (Starting, Stopping)
                | (Running, Stopping)
                | (Running, Failed)
                | (Failed, Stopping)
                | (Stopping, Stopped)
        )
    }
}

impl fmt::Display for StateTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of one component: checked transitions, lock-free reads, watchable changes, and a
/// `tracing` event per transition (fields `component`, `from`, `to`, `state`, `duration_ms` =
/// time spent in the previous state).
///
/// ```
/// use lifecycle_core::{LifecycleState, StateCell, StateTag};
///
/// let cell = StateCell::new("orders");
/// assert_eq!(cell.get(), LifecycleState::Created);
/// cell.transition(StateTag::Created, StateTag::Starting).unwrap();
/// // An invalid transition is an error, never silent.
/// assert!(cell.transition(StateTag::Starting, StateTag::Stopped).is_err());
/// ```
pub struct StateCell {
    component: Arc<str>,
    tag: AtomicU8,
    /// Set, under this lock, by the one `fail` whose transition wins: a reader who sees the
    /// `Failed` tag and then takes the lock always finds the cause.
    cause: Mutex<Option<FailureCause>>,
    born: Instant,
    /// Nanoseconds after `born` of the last transition.
    since_nanos: AtomicU64,
    changes: watch::Sender<LifecycleState>,
}

impl fmt::Debug for StateCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateCell")
            .field("component", &self.component)
            .field("state", &self.get())
            .finish()
    }
}

impl StateCell {
    /// A cell in [`LifecycleState::Created`] for the named component.
    pub fn new(component: impl Into<Arc<str>>) -> Self {
        let (changes, _) = watch::channel(LifecycleState::Created);
        Self {
            component: component.into(),
            tag: AtomicU8::new(StateTag::Created as u8),
            cause: Mutex::new(None),
            born: Instant::now(),
            since_nanos: AtomicU64::new(0),
            changes,
        }
    }

    /// The component's name.
    pub fn component(&self) -> &str {
        &self.component
    }

    /// The current state's discriminant: one atomic load.
    #[inline]
    pub fn tag(&self) -> StateTag {
        StateTag::from_u8(self.tag.load(Ordering::Acquire))
    }

    /// The current state. Lock-free: an atomic load, plus a clone of the cause when failed.
    pub fn get(&self) -> LifecycleState {
        self.state_of(self.tag())
    }

    /// The state `tag` names, with the recorded cause when it is `Failed`.
    #[inline]
    fn state_of(&self, tag: StateTag) -> LifecycleState {
        match tag {
            StateTag::Created => LifecycleState::Created,
            StateTag::Starting => LifecycleState::Starting,
            StateTag::Running => LifecycleState::Running,
            StateTag::Stopping => LifecycleState::Stopping,
            StateTag::Stopped => LifecycleState::Stopped,
            StateTag::Failed => LifecycleState::Failed(self.recorded_cause()),
        }
    }

    /// The cause of the failure, if the component ever failed (it stays readable after the
    /// failed component is stopped).
    pub fn failure(&self) -> Option<FailureCause> {
        lock(&self.cause).clone()
    }

    fn recorded_cause(&self) -> FailureCause {
        // Recorded under the lock by the `fail` that set the tag (see `fail`).
        self.failure()
            .unwrap_or_else(|| FailureCause::new("unrecorded failure"))
    }

    /// How long the component has been in its current state.
    pub fn time_in_state(&self) -> Duration {
        let since = Duration::from_nanos(self.since_nanos.load(Ordering::Relaxed));
        self.born.elapsed().saturating_sub(since)
    }

    /// Moves `from -> to` if the state is `from` and the contract allows it.
    ///
    /// For `to == Failed` use [`StateCell::fail`], which records the cause.
    pub fn transition(&self, from: StateTag, to: StateTag) -> Result<(), TransitionError> {
        if to == StateTag::Failed {
            return self.fail(from, FailureCause::new("failed without a recorded cause"));
        }
        let in_previous = self.cas(from, to)?;
        self.announce(from, to, self.state_of(to), in_previous);
        Ok(())
    }

    /// Moves `from -> Failed` with `cause`. Only the failure whose transition happens is
    /// recorded: a component fails at most once, and a refused `fail` leaves no trace.
    pub fn fail(&self, from: StateTag, cause: FailureCause) -> Result<(), TransitionError> {
        if !from.can_become(StateTag::Failed) {
            return Err(self.invalid(from, StateTag::Failed));
        }
        let mut recorded = lock(&self.cause);
        let in_previous = self.cas(from, StateTag::Failed)?;
        *recorded = Some(cause.clone());
        drop(recorded);
        self.announce(
            from,
            StateTag::Failed,
            LifecycleState::Failed(cause),
            in_previous,
        );
        Ok(())
    }

    fn invalid(&self, from: StateTag, to: StateTag) -> TransitionError {
        TransitionError {
            component: self.component.to_string(),
            from,
            to,
            actual: self.tag(),
        }
    }

    /// The compare-and-swap of `from -> to`; returns the time spent in `from`.
    fn cas(&self, from: StateTag, to: StateTag) -> Result<Duration, TransitionError> {
        if !from.can_become(to) {
            return Err(self.invalid(from, to));
        }
        self.tag
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .map_err(|_| self.invalid(from, to))?;
        let now = self.born.elapsed();
        let previous = self.since_nanos.swap(
            u64::try_from(now.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        Ok(now.saturating_sub(Duration::from_nanos(previous)))
    }

    /// The `tracing` event and the watchers' update of a transition that happened.
    fn announce(&self, from: StateTag, to: StateTag, state: LifecycleState, in_previous: Duration) {
        let duration_ms = in_previous.as_secs_f64() * 1e3;
        match &state {
            LifecycleState::Failed(cause) => tracing::warn!(
                component = %self.component, from = from.as_str(), to = to.as_str(),
                state = to.as_str(), duration_ms, cause = %cause, "lifecycle transition"
            ),
            _ => tracing::info!(
                component = %self.component, from = from.as_str(), to = to.as_str(),
                state = to.as_str(), duration_ms, "lifecycle transition"
            ),
        }
        self.changes.send_replace(state);
    }

    /// A watcher of this cell's state changes.
    pub fn watch(&self) -> StateWatcher {
        StateWatcher {
            rx: self.changes.subscribe(),
        }
    }
}

/// Observes a component's [`LifecycleState`] as it changes.
///
/// Watchers see the latest state; intermediate states may be skipped if several transitions
/// happen between two reads (the terminal states are never skipped, they do not change again).
#[derive(Debug, Clone)]
pub struct StateWatcher {
    rx: watch::Receiver<LifecycleState>,
}

impl StateWatcher {
    /// The latest state.
    pub fn current(&self) -> LifecycleState {
        self.rx.borrow().clone()
    }

    /// Waits for the next change and returns the new state. Returns `None` when the component
    /// is gone (its cell was dropped).
    ///
    /// # Cancel safety
    /// Cancel safe: a change that happened while the future was pending is seen by the next call.
    pub async fn changed(&mut self) -> Option<LifecycleState> {
        self.rx.changed().await.ok()?;
        Some(self.rx.borrow_and_update().clone())
    }

    /// Waits until the state satisfies `predicate` (checked against the current state first)
    /// and returns it; `None` if the component is gone first.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn wait_for(
        &mut self,
        mut predicate: impl FnMut(&LifecycleState) -> bool,
    ) -> Option<LifecycleState> {
        self.rx
            .wait_for(|state| predicate(state))
            .await
            .ok()
            .map(|state| state.clone())
    }
}
