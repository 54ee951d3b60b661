//! [`InstanceError`]: why an instance's files or its sweep failed.

use std::path::PathBuf;

/// Why an instance could not be named, locked, recorded or swept.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// The name is not 1 to 8 characters of `[a-z0-9_]`.
    #[error(
        "invalid instance name {0:?}: 1 to 8 characters of a-z, 0-9 and _ (it is part of the client-order-id prefix)"
    )]
    InvalidName(String),
    /// Another live process holds the instance's lock.
    #[error(
        "instance {name:?} already runs on this machine ({holder}; lock file {path}): one instance name runs once"
    )]
    AlreadyRunning {
        /// The instance.
        name: String,
        /// Who holds it, as its lock file says (`pid N`), or `unknown holder`.
        holder: String,
        /// The lock file.
        path: PathBuf,
    },
    /// A file of the instance could not be read or written.
    #[error("{what} {path}: {source}")]
    File {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The venue could not be used.
    #[error(transparent)]
    Exchange(#[from] crate::error::ExchangeError),
}
