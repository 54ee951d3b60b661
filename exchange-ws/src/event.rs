//! [`WsEvent`]: what happens to the link and the subscriptions, told to handlers in order with
//! the frames.

use std::fmt;

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The server sent a close frame or closed the TCP connection.
    ServerClosed,
    /// A read or write failed.
    Error(String),
    /// Nothing at all arrived for the dead-peer timeout.
    DeadPeer,
    /// No data frame arrived for the idle-data timeout.
    IdleData,
    /// The connection reached its maximum age and was replaced.
    MaxAge,
    /// [`WebSocketManager::reconnect`](crate::WebSocketManager::reconnect) was called.
    Requested,
    /// The manager is stopping.
    Stopping,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServerClosed => f.write_str("server closed the connection"),
            Self::Error(error) => write!(f, "error: {error}"),
            Self::DeadPeer => f.write_str("dead peer: nothing received within the timeout"),
            Self::IdleData => f.write_str("no data received within the idle timeout"),
            Self::MaxAge => f.write_str("maximum connection age reached"),
            Self::Requested => f.write_str("reconnect requested"),
            Self::Stopping => f.write_str("manager stopping"),
        }
    }
}

/// An event of the connection, delivered to every handler's
/// [`FrameHandler::on_event`](crate::FrameHandler::on_event) on the read loop, in order with the
/// frames (so a handler knows that frames after a `Connected` come from a new connection and,
/// for example, resyncs an order book).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    /// A connection is up (`connection` counts from 1). Subscriptions are being replayed.
    Connected {
        /// Which connection this is.
        connection: u64,
    },
    /// A connection ended.
    Disconnected {
        /// Which connection it was.
        connection: u64,
        /// Why.
        reason: DisconnectReason,
    },
    /// The venue accepted a subscription.
    SubscriptionAcked {
        /// The channel.
        channel: String,
    },
    /// The venue refused a subscription (also counted and logged).
    SubscriptionRefused {
        /// The channel (empty if the venue did not name it).
        channel: String,
        /// The venue's words.
        reason: String,
    },
}
