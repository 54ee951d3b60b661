//! [`ParentDeath`]: the guardian's second sign that its parent is gone, besides the end of
//! its stdin. On Linux: a pidfd of the parent, which turns readable once the parent exited,
//! waited on by a small OS thread (`poll`) that then wakes the runtime. Through `rustix`: the
//! workspace forbids `unsafe` of our own, and tokio's `AsyncFd::new` is deprecated for
//! `unsafe` registration. A pidfd, not `PR_SET_PDEATHSIG`: the death signal fires when the
//! *thread* that spawned the child ends, and a tokio runtime's threads come and go.

use tokio::sync::oneshot;

/// Completes once the parent process has exited.
#[derive(Debug)]
pub(crate) struct ParentDeath {
    /// Fires (or closes) once the parent exited; `None` where the parent cannot be watched.
    exited: Option<tokio::sync::Mutex<oneshot::Receiver<()>>>,
}

impl ParentDeath {
    /// Watches `parent_pid`, which must be our parent: if our parent is another process now
    /// (the parent died and we were re-parented), it is gone already.
    pub(crate) fn watch(parent_pid: u32) -> Self {
        #[cfg(target_os = "linux")]
        {
            Self {
                exited: linux::watch(parent_pid).map(tokio::sync::Mutex::new),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = parent_pid;
            Self { exited: None }
        }
    }

    /// Completes once the parent exited (never, where it cannot be watched: the pipe's end
    /// is then the only sign).
    ///
    /// # Cancel safety
    /// Cancel safe: it only waits.
    pub(crate) async fn exited(&self) {
        match &self.exited {
            Some(exited) => {
                let mut exited = exited.lock().await;
                // A send or a closed channel both mean the watch ended: the parent exited (or
                // could not be watched any more, which we count the same: the safe side).
                let _ = (&mut *exited).await;
            }
            None => std::future::pending::<()>().await,
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use rustix::event::{PollFd, PollFlags, poll};
    use rustix::process::{Pid, PidfdFlags, getppid, pidfd_open};
    use tokio::sync::oneshot;

    /// A receiver that fires once `parent_pid` exited; `None` if no pidfd can be had (an old
    /// kernel): the pipe alone then tells.
    pub(super) fn watch(parent_pid: u32) -> Option<oneshot::Receiver<()>> {
        let pid = i32::try_from(parent_pid).ok().and_then(Pid::from_raw)?;
        let (tx, rx) = oneshot::channel();
        // Opened before the check: if the parent is still ours once the pidfd exists, the
        // pidfd is the parent's (its pid cannot be reused while we are its child).
        let Ok(fd) = pidfd_open(pid, PidfdFlags::empty()) else {
            if getppid() != Some(pid) {
                let _ = tx.send(());
                return Some(rx);
            }
            return None;
        };
        if getppid() != Some(pid) {
            let _ = tx.send(());
            return Some(rx);
        }
        let spawned = std::thread::Builder::new()
            .name("guardian-parent-watch".to_owned())
            .spawn(move || {
                let mut fds = [PollFd::new(&fd, PollFlags::IN)];
                // Interrupted by a signal: poll again; any other answer means it is over.
                while let Err(rustix::io::Errno::INTR) = poll(&mut fds, None) {}
                let _ = tx.send(());
            });
        spawned.ok().map(|_| rx)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::time::Duration;

    use super::ParentDeath;

    /// A pid that is not our parent (init, pid 1) counts as a parent gone already.
    #[tokio::test]
    async fn a_process_that_is_not_our_parent_is_gone_already() {
        let watch = ParentDeath::watch(1);
        let exited = tokio::time::timeout(Duration::from_secs(10), watch.exited()).await;
        assert!(exited.is_ok(), "pid 1 is not our parent: gone already");
    }

    /// Our real parent (the test harness's) is alive: no exit is seen.
    #[tokio::test]
    async fn a_live_parent_is_not_reported_gone() {
        let watch = ParentDeath::watch(std::os::unix::process::parent_id());
        let exited = tokio::time::timeout(Duration::from_millis(50), watch.exited()).await;
        assert!(exited.is_err(), "the live parent was reported gone");
    }
}
