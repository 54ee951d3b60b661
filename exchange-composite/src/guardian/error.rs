//! [`GuardianError`]: why the order guardian could not be armed or could not act.

/// Why the order guardian could not be launched, armed, briefed or could not act.
#[derive(Debug, thiserror::Error)]
pub enum GuardianError {
    /// The exchanges have no credentials: there is nothing the guardian could cancel.
    #[error("the order guardian needs the account's credentials")]
    NoCredentials,
    /// The guardian process could not be started.
    #[error("cannot start the order guardian process: {0}")]
    Spawn(#[source] std::io::Error),
    /// The pipe to or from the guardian failed.
    #[error("the pipe to the order guardian failed: {0}")]
    Pipe(#[source] std::io::Error),
    /// The guardian ended before it said it was armed.
    #[error("the order guardian exited before it was armed ({0})")]
    ExitedBeforeArmed(String),
    /// The guardian did not say it was armed in time.
    #[error("the order guardian was not armed within {0:?}")]
    NotArmed(std::time::Duration),
    /// A message on the pipe could not be read.
    #[error("unreadable message from the parent: {0}")]
    Message(String),
    /// The guardian's REST client or rate limiter did not start.
    #[error("the order guardian's REST client did not start: {0}")]
    Rest(String),
}
