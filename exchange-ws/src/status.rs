//! [`ConnectionState`]: the health of the link, distinct from the lifecycle state, moved only by
//! compare-and-swap so that a reconnect can never revive a manager that is stopping.

use std::fmt;

use tokio::sync::watch;

/// Where the websocket link is. Observable through
/// [`WebSocketManager::watch_connection`](crate::WebSocketManager::watch_connection).
///
/// This is not the lifecycle state: a manager is `Running` while it reconnects. Once `Closing`
/// or `Closed`, no transition leads back to `Connecting`, `Connected` or `Reconnecting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "ConnectionStatus")]
pub enum ConnectionState {
    /// Not started yet.
    Idle,
    /// Dialling for the first time.
    Connecting,
    /// The link is up.
    Connected,
    /// The link was lost (or never came up) and this is the `attempt`-th try to restore it
    /// (counted from 1; in backoff or dialling).
    Reconnecting {
        /// Attempts since the link was last up.
        attempt: u32,
    },
    /// Stop requested: the close handshake is under way; no reconnect will happen.
    Closing,
    /// Stopped.
    Closed,
}

impl ConnectionState {
    /// `true` for `Closing` and `Closed`: the manager is going away.
    pub fn is_closing(self) -> bool {
        matches!(self, Self::Closing | Self::Closed)
    }

    /// `true` while the link is up.
    pub fn is_connected(self) -> bool {
        self == Self::Connected
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Idle => f.write_str("idle"),
            Self::Connecting => f.write_str("connecting"),
            Self::Connected => f.write_str("connected"),
            Self::Reconnecting { attempt } => write!(f, "reconnecting (attempt {attempt})"),
            Self::Closing => f.write_str("closing"),
            Self::Closed => f.write_str("closed"),
        }
    }
}

/// The connection state cell: a `watch` channel whose every change is a compare-and-swap under
/// the channel's lock.
#[derive(Debug)]
pub(crate) struct StatusCell {
    tx: watch::Sender<ConnectionState>,
}

impl StatusCell {
    pub(crate) fn new() -> Self {
        Self {
            tx: watch::Sender::new(ConnectionState::Idle),
        }
    }

    pub(crate) fn get(&self) -> ConnectionState {
        *self.tx.borrow()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<ConnectionState> {
        self.tx.subscribe()
    }

    /// Moves `expected -> new` if the state is still `expected`; refuses any move out of
    /// `Closing`/`Closed` except `Closing -> Closed`. Returns the state found on failure.
    pub(crate) fn compare_and_set(
        &self,
        expected: ConnectionState,
        new: ConnectionState,
    ) -> Result<(), ConnectionState> {
        let mut found = expected;
        let moved = self.tx.send_if_modified(|state| {
            found = *state;
            let allowed = *state == expected
                && (!state.is_closing()
                    || (*state == ConnectionState::Closing && new == ConnectionState::Closed));
            if allowed && *state != new {
                *state = new;
                true
            } else {
                false
            }
        });
        if moved || (found == expected && found == new) {
            Ok(())
        } else {
            Err(found)
        }
    }

    /// Moves any state but `Closed` to `Closing` (stop begins). Returns the previous state.
    pub(crate) fn begin_closing(&self) -> ConnectionState {
        let mut previous = ConnectionState::Closed;
        self.tx.send_if_modified(|state| {
            previous = *state;
            if state.is_closing() {
                false
            } else {
                *state = ConnectionState::Closing;
                true
            }
        });
        previous
    }

    /// Moves to `Closed` from anywhere (the stop is over).
    pub(crate) fn close(&self) {
        self.tx.send_if_modified(|state| {
            let changed = *state != ConnectionState::Closed;
            *state = ConnectionState::Closed;
            changed
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_cannot_be_revived() {
        let cell = StatusCell::new();
        assert!(
            cell.compare_and_set(ConnectionState::Idle, ConnectionState::Connecting)
                .is_ok()
        );
        assert_eq!(cell.begin_closing(), ConnectionState::Connecting);
        assert_eq!(
            cell.compare_and_set(ConnectionState::Connecting, ConnectionState::Connected),
            Err(ConnectionState::Closing)
        );
        assert_eq!(
            cell.compare_and_set(
                ConnectionState::Closing,
                ConnectionState::Reconnecting { attempt: 1 }
            ),
            Err(ConnectionState::Closing)
        );
        assert!(
            cell.compare_and_set(ConnectionState::Closing, ConnectionState::Closed)
                .is_ok()
        );
        assert_eq!(cell.get(), ConnectionState::Closed);
        assert_eq!(cell.begin_closing(), ConnectionState::Closed);
        assert_eq!(cell.get(), ConnectionState::Closed);
    }

    #[test]
    fn a_stale_expectation_fails() {
        let cell = StatusCell::new();
        assert_eq!(
            cell.compare_and_set(
                ConnectionState::Connected,
                ConnectionState::Reconnecting { attempt: 1 }
            ),
            Err(ConnectionState::Idle)
        );
    }
}
