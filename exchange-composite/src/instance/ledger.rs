//! [`ListenKeyLedger`]: which listen keys an instance created, by fingerprint, so the next
//! start or the orphan sweep can delete the ones a dead process left behind.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::instance::error::InstanceError;
use crate::instance::name::InstanceName;

/// The record of the listen keys an instance holds, in `<dir>/<name>.listen-keys`: one
/// SHA-256 fingerprint per line, never a key (a listen key is a credential). A key of the
/// account whose fingerprint is recorded was created by this instance; once no process of the
/// instance runs (its [`InstanceLock`](crate::instance::InstanceLock) is free) it is stale.
///
/// Written only by the process holding the instance's lock, each change written whole to a
/// temporary file and renamed over the record.
#[derive(Debug, Clone)]
pub struct ListenKeyLedger {
    path: PathBuf,
}

impl ListenKeyLedger {
    /// The ledger of `name` in `dir`.
    pub fn new(dir: &Path, name: &InstanceName) -> Self {
        Self {
            path: dir.join(format!("{name}.listen-keys")),
        }
    }

    /// The ledger's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A key's fingerprint: the first 128 bits of its SHA-256, in hex (not reversible: a
    /// listen key is 256 random bits).
    pub fn fingerprint(key: &str) -> String {
        hex::encode(&Sha256::digest(key.as_bytes())[..16])
    }

    /// The recorded fingerprints (none if the file does not exist).
    ///
    /// # Errors
    /// [`InstanceError::File`] if the file exists but cannot be read.
    pub fn recorded(&self) -> Result<BTreeSet<String>, InstanceError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
            Err(source) => Err(InstanceError::File {
                what: "cannot read the listen-key ledger",
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Records a key this instance created.
    ///
    /// # Errors
    /// [`InstanceError::File`].
    pub fn record(&self, key: &str) -> Result<(), InstanceError> {
        let mut recorded = self.recorded()?;
        if recorded.insert(Self::fingerprint(key)) {
            self.write(&recorded)?;
        }
        Ok(())
    }

    /// Forgets a key (deleted, or gone from the venue).
    ///
    /// # Errors
    /// [`InstanceError::File`].
    pub fn forget(&self, key: &str) -> Result<(), InstanceError> {
        self.forget_fingerprints(&BTreeSet::from([Self::fingerprint(key)]))
    }

    /// Forgets fingerprints.
    ///
    /// # Errors
    /// [`InstanceError::File`].
    pub fn forget_fingerprints(&self, gone: &BTreeSet<String>) -> Result<(), InstanceError> {
        let recorded = self.recorded()?;
        let kept: BTreeSet<String> = recorded.difference(gone).cloned().collect();
        if kept.len() != recorded.len() {
            self.write(&kept)?;
        }
        Ok(())
    }

    fn write(&self, recorded: &BTreeSet<String>) -> Result<(), InstanceError> {
        let file_error = |source| InstanceError::File {
            what: "cannot write the listen-key ledger",
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(file_error)?;
        }
        let temporary = self.path.with_extension("listen-keys.tmp");
        let mut file = std::fs::File::create(&temporary).map_err(file_error)?;
        let mut text = String::from(
            "# SHA-256 fingerprints (not the keys) of the listen keys this instance created\n",
        );
        for fingerprint in recorded {
            text.push_str(fingerprint);
            text.push('\n');
        }
        file.write_all(text.as_bytes()).map_err(file_error)?;
        file.sync_all().map_err(file_error)?;
        std::fs::rename(&temporary, &self.path).map_err(file_error)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn keys_are_recorded_by_fingerprint_only_and_forgotten() {
        let dir = std::env::temp_dir().join(format!("quiesce-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ledger = ListenKeyLedger::new(&dir, &InstanceName::new("hifi0001").unwrap());
        assert!(ledger.recorded().unwrap().is_empty());
        ledger.record("LISTENKEY-ONE").unwrap();
        ledger.record("LISTENKEY-TWO").unwrap();
        ledger.record("LISTENKEY-ONE").unwrap();
        let recorded = ledger.recorded().unwrap();
        assert_eq!(recorded.len(), 2);
        assert!(recorded.contains(&ListenKeyLedger::fingerprint("LISTENKEY-ONE")));
        let text = std::fs::read_to_string(ledger.path()).unwrap();
        assert!(!text.contains("LISTENKEY"), "a key in the file: {text}");
        ledger.forget("LISTENKEY-ONE").unwrap();
        assert_eq!(
            ledger.recorded().unwrap(),
            BTreeSet::from([ListenKeyLedger::fingerprint("LISTENKEY-TWO")])
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
