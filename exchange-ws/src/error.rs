//! Errors of the manager's API.

/// Why an outbound message was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The manager is stopping or stopped: nothing more is sent.
    #[error("websocket manager '{0}' is closing or closed: message not sent")]
    Closed(String),
    /// The outbound queue is full (only from the `try_` methods; the async ones wait).
    #[error("websocket manager '{0}': outbound queue full")]
    QueueFull(String),
}

/// Why a connection attempt failed (internal: logged and counted, then retried).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("connect timed out")]
    Timeout,
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
    #[error(transparent)]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
}
