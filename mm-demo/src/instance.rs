//! The instance of a run: its name, its lock (one live process per name on a machine), and
//! the record of the listen keys it creates.

use std::path::PathBuf;

use exchange_composite::instance::{InstanceLock, InstanceName, ListenKeyLedger};
use exchange_composite::{ListenKey, PrivateCompositeExchange};

use crate::cli::Cli;

/// The state directory: `--state-dir`, else `$XDG_STATE_HOME/mm-demo`, else
/// `~/.local/state/mm-demo`, else the temporary directory's `mm-demo`.
pub(crate) fn state_dir(cli: &Cli) -> PathBuf {
    if let Some(dir) = &cli.state_dir {
        return dir.clone();
    }
    let from_env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(state) = from_env("XDG_STATE_HOME") {
        return PathBuf::from(state).join("mm-demo");
    }
    if let Some(home) = from_env("HOME") {
        return PathBuf::from(home).join(".local/state/mm-demo");
    }
    std::env::temp_dir().join("mm-demo")
}

/// The instance this command line names, locked: refused while another process of it runs.
pub(crate) struct Instance {
    pub(crate) name: InstanceName,
    pub(crate) ledger: ListenKeyLedger,
    pub(crate) lock: InstanceLock,
}

impl Instance {
    /// Locks the instance `name`.
    pub(crate) fn lock(cli: &Cli, name: InstanceName) -> Result<Self, String> {
        let dir = state_dir(cli);
        let lock = InstanceLock::acquire(&dir, &name).map_err(|e| e.to_string())?;
        let ledger = ListenKeyLedger::new(&dir, &name);
        Ok(Self { name, ledger, lock })
    }
}

/// Records every listen key `private` creates in `ledger` and forgets it once replaced or
/// deleted, until the exchange is gone. Returns at once; the recording runs as a task.
pub(crate) fn record_listen_keys(private: &PrivateCompositeExchange, ledger: ListenKeyLedger) {
    let mut keys = private.listen_key_watch();
    tokio::spawn(async move {
        let mut held = ListenKey::default();
        loop {
            let now = keys.borrow_and_update().clone();
            if now != held {
                if let Some(old) = held.reveal()
                    && let Err(error) = ledger.forget(old)
                {
                    tracing::warn!(%error, "listen-key ledger not updated");
                }
                if let Some(new) = now.reveal()
                    && let Err(error) = ledger.record(new)
                {
                    tracing::warn!(%error, "listen-key ledger not updated");
                }
                held = now;
            }
            if keys.changed().await.is_err() {
                return;
            }
        }
    });
}
