//! The subscription set: what the manager keeps subscribed across reconnects, and what the
//! venue said about each channel.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What is known of one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionState {
    /// Wanted; not sent on the current connection yet (or no connection).
    Pending,
    /// Sent on the current connection; no answer yet.
    Sent,
    /// Acknowledged by the venue on the current connection.
    Active,
    /// Refused by the venue (it is retried on the next connection).
    Refused {
        /// The venue's words.
        reason: String,
    },
}

impl fmt::Display for SubscriptionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pending => f.write_str("pending"),
            Self::Sent => f.write_str("sent"),
            Self::Active => f.write_str("active"),
            Self::Refused { reason } => write!(f, "refused: {reason}"),
        }
    }
}

#[derive(Debug)]
struct Entry {
    state: SubscriptionState,
    /// The connection it was last sent on (0: never).
    sent_on: u64,
}

/// The wanted channels, in name order (replayed in that order).
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    inner: Mutex<BTreeMap<String, Entry>>,
}

impl Subscriptions {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `channel`; `false` if it was already there.
    pub(crate) fn insert(&self, channel: String) -> bool {
        let mut map = self.lock();
        if map.contains_key(&channel) {
            return false;
        }
        map.insert(
            channel,
            Entry {
                state: SubscriptionState::Pending,
                sent_on: 0,
            },
        );
        true
    }

    /// Removes `channel`; the connection it was last sent on (0: never), `None` if it was not
    /// there.
    pub(crate) fn remove(&self, channel: &str) -> Option<u64> {
        self.lock().remove(channel).map(|e| e.sent_on)
    }

    pub(crate) fn contains(&self, channel: &str) -> bool {
        self.lock().contains_key(channel)
    }

    /// The channels not yet sent on `connection`, marked as sent.
    pub(crate) fn take_unsent(&self, connection: u64) -> Vec<String> {
        let mut map = self.lock();
        let mut out = Vec::new();
        for (channel, entry) in map.iter_mut() {
            if entry.sent_on != connection {
                entry.sent_on = connection;
                if !matches!(entry.state, SubscriptionState::Refused { .. }) {
                    entry.state = SubscriptionState::Sent;
                }
                out.push(channel.clone());
            }
        }
        out
    }

    /// The connection is gone: everything is pending again (refusals are kept until retried).
    pub(crate) fn connection_lost(&self) {
        for entry in self.lock().values_mut() {
            if !matches!(entry.state, SubscriptionState::Refused { .. }) {
                entry.state = SubscriptionState::Pending;
            }
        }
    }

    /// Marks an ack; `true` if the channel is wanted.
    pub(crate) fn acked(&self, channel: &str) -> bool {
        match self.lock().get_mut(channel) {
            Some(entry) => {
                entry.state = SubscriptionState::Active;
                true
            }
            None => false,
        }
    }

    /// Marks a refusal; `true` if the channel is wanted.
    pub(crate) fn refused(&self, channel: &str, reason: &str) -> bool {
        match self.lock().get_mut(channel) {
            Some(entry) => {
                entry.state = SubscriptionState::Refused {
                    reason: reason.to_owned(),
                };
                true
            }
            None => false,
        }
    }

    pub(crate) fn state(&self, channel: &str) -> Option<SubscriptionState> {
        self.lock().get(channel).map(|e| e.state.clone())
    }

    pub(crate) fn snapshot(&self) -> Vec<(String, SubscriptionState)> {
        self.lock()
            .iter()
            .map(|(c, e)| (c.clone(), e.state.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_sends_each_channel_once_per_connection() {
        let subs = Subscriptions::default();
        assert!(subs.insert("b".into()));
        assert!(subs.insert("a".into()));
        assert!(!subs.insert("a".into()));
        assert_eq!(subs.take_unsent(1), ["a", "b"]);
        assert!(subs.take_unsent(1).is_empty());
        assert!(subs.acked("a"));
        assert_eq!(subs.state("a"), Some(SubscriptionState::Active));
        assert!(subs.refused("b", "Blocked!"));
        subs.connection_lost();
        assert_eq!(subs.state("a"), Some(SubscriptionState::Pending));
        assert!(matches!(
            subs.state("b"),
            Some(SubscriptionState::Refused { .. })
        ));
        assert_eq!(subs.take_unsent(2), ["a", "b"]);
        assert_eq!(subs.remove("a"), Some(2));
        assert!(!subs.acked("a"));
    }
}
