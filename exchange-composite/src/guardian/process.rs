//! [`GuardianProcess`]: one running guardian child, seen from the parent: launched with an
//! empty environment, briefed over its stdin, armed when it says so on its stdout.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::Instant;

use crate::guardian::brief::GuardianBrief;
use crate::guardian::error::GuardianError;
use crate::guardian::message::{ARMED, ParentMessage};
use crate::private::ListenKey;

/// How to start the guardian: a program (typically this very binary, from
/// `std::env::current_exe`) and arguments that make it run
/// [`serve_guardian`](crate::guardian::serve_guardian). The arguments must hold nothing
/// secret: they are readable by every local user.
#[derive(Debug, Clone)]
pub struct GuardianCommand {
    /// The program.
    pub program: PathBuf,
    /// Its arguments (nothing secret).
    pub args: Vec<OsString>,
}

/// One guardian child process.
#[derive(Debug)]
pub(crate) struct GuardianProcess {
    child: Child,
    stdin: ChildStdin,
    /// Kept open: the guardian may write after `armed`, and a closed pipe would fail it.
    stdout: Lines<BufReader<ChildStdout>>,
    pid: u32,
    /// It said it is armed: from then on, dropping this handle closes the pipe and lets the
    /// guardian act. Before (a launch given up), dropping it kills the guardian.
    armed: bool,
}

impl Drop for GuardianProcess {
    fn drop(&mut self) {
        if !self.armed {
            let _ = self.child.start_kill();
        }
    }
}

impl GuardianProcess {
    /// Starts the guardian with no environment at all (no credential can leak through
    /// `/proc/PID/environ`), in its own process group (a Ctrl-C at the terminal is for the
    /// parent, whose orderly shutdown then tells the guardian), briefs it, tells it the
    /// current listen key, and waits until it says it is armed.
    pub(crate) async fn launch(
        command: &GuardianCommand,
        brief: &GuardianBrief,
        listen_key: &ListenKey,
        arm_within: Duration,
    ) -> Result<Self, GuardianError> {
        let mut spawn = Command::new(&command.program);
        spawn
            .args(&command.args)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // Dropped (a forced exit of ours): the pipe closes, and the guardian acts.
            .kill_on_drop(false);
        #[cfg(unix)]
        spawn.process_group(0);
        let mut child = spawn.spawn().map_err(GuardianError::Spawn)?;
        let pid = child.id().unwrap_or(0);
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.start_kill();
            return Err(GuardianError::Pipe(std::io::Error::other(
                "the guardian's pipes were not set up",
            )));
        };
        let mut process = Self {
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
            pid,
            armed: false,
        };
        let deadline = Instant::now() + arm_within;
        let briefed = async {
            process.send(&ParentMessage::Brief(brief.clone())).await?;
            process
                .send(&ParentMessage::ListenKey(listen_key.clone()))
                .await?;
            process.armed().await
        };
        match tokio::time::timeout_at(deadline, briefed).await {
            Ok(Ok(())) => {
                process.armed = true;
                Ok(process)
            }
            Ok(Err(error)) => {
                process.kill().await;
                Err(error)
            }
            Err(_) => {
                process.kill().await;
                Err(GuardianError::NotArmed(arm_within))
            }
        }
    }

    /// Waits for the guardian's `armed` line.
    async fn armed(&mut self) -> Result<(), GuardianError> {
        loop {
            match self.stdout.next_line().await {
                Ok(Some(line)) if line.trim() == ARMED => return Ok(()),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    let status = self.child.wait().await.map_err(GuardianError::Pipe)?;
                    return Err(GuardianError::ExitedBeforeArmed(status.to_string()));
                }
            }
        }
    }

    /// The guardian's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Writes one message on the guardian's stdin.
    pub(crate) async fn send(&mut self, message: &ParentMessage) -> Result<(), GuardianError> {
        self.stdin
            .write_all(message.to_line().as_bytes())
            .await
            .map_err(GuardianError::Pipe)?;
        self.stdin.flush().await.map_err(GuardianError::Pipe)
    }

    /// Completes when the guardian exits.
    ///
    /// # Cancel safety
    /// Cancel safe (tokio's `Child::wait`).
    pub(crate) async fn exited(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Tells the guardian we end cleanly and waits (until `deadline`) for it to exit; kills it
    /// if it does not. Returns its status, or `None` if it had to be killed.
    pub(crate) async fn finish_clean(mut self, deadline: Instant) -> Option<ExitStatus> {
        if self.send(&ParentMessage::Clean).await.is_err() {
            // Already gone: its status says how.
            return tokio::time::timeout_at(deadline, self.child.wait())
                .await
                .ok()
                .and_then(Result::ok);
        }
        match tokio::time::timeout_at(deadline, self.child.wait()).await {
            Ok(Ok(status)) => Some(status),
            _ => {
                self.kill().await;
                None
            }
        }
    }

    /// Closes the pipe without a clean word: the guardian acts as if we had died.
    pub(crate) fn abandon(self) {
        drop(self);
    }

    async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(1), self.child.wait()).await;
    }
}
