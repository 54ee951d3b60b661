//! [`InstanceLock`]: the advisory lock that lets one live process per instance name run on a
//! machine.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::instance::error::InstanceError;
use crate::instance::name::InstanceName;

/// Held while a process of the instance runs: an exclusive advisory lock (`flock`) on
/// `<dir>/<name>.lock`, which holds the holder's pid. The kernel releases it when the
/// process ends, however it ends (a SIGKILL included): a stale file never blocks a start.
/// Not inherited by child processes (the file is opened close-on-exec).
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    path: PathBuf,
}

impl InstanceLock {
    /// Takes the lock of `name` in `dir` (created if missing).
    ///
    /// # Errors
    /// [`InstanceError::AlreadyRunning`] if another live process holds it (named by its pid),
    /// [`InstanceError::File`] if the directory or the file cannot be used.
    pub fn acquire(dir: &Path, name: &InstanceName) -> Result<Self, InstanceError> {
        let path = dir.join(format!("{name}.lock"));
        let file_error = |what, source| InstanceError::File {
            what,
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| InstanceError::File {
            what: "cannot create the state directory",
            path: dir.to_owned(),
            source: e,
        })?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| file_error("cannot open the lock file", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "unknown holder".to_owned(),
                    pid => format!("pid {pid}"),
                };
                return Err(InstanceError::AlreadyRunning {
                    name: name.to_string(),
                    holder,
                    path,
                });
            }
            Err(TryLockError::Error(error)) => {
                return Err(file_error("cannot lock the lock file", error));
            }
        }
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush());
        written.map_err(|e| file_error("cannot write the lock file", e))?;
        Ok(Self { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("quiesce-lock-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = scratch("second");
        let name = InstanceName::new("hifi0001").unwrap();
        let first = InstanceLock::acquire(&dir, &name).unwrap();
        match InstanceLock::acquire(&dir, &name) {
            Err(InstanceError::AlreadyRunning { holder, .. }) => {
                assert_eq!(holder, format!("pid {}", std::process::id()));
            }
            other => panic!("not refused: {other:?}"),
        }
        // Another name is another instance.
        let other = InstanceLock::acquire(&dir, &InstanceName::new("hifi0002").unwrap());
        assert!(other.is_ok());
        drop(first);
        assert!(InstanceLock::acquire(&dir, &name).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
