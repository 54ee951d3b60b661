//! [`serve_guardian`]: the order guardian process's whole life, from its brief to its exit.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::time::Instant;

use crate::account_cleaner::AccountCleaner;
use crate::guardian::brief::GuardianBrief;
use crate::guardian::error::GuardianError;
use crate::guardian::message::{ARMED, ParentMessage};
use crate::guardian::parent_death::ParentDeath;
use crate::private::ListenKey;

/// How long the guardian waits for its brief (the parent writes it right after the spawn).
const BRIEF_WAIT: Duration = Duration::from_secs(30);

/// What the guardian came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardianExit {
    /// The parent said it ended cleanly: nothing was touched.
    ParentEndedCleanly,
    /// The parent died: our orders were cancelled and confirmed (`confirmed`), the listen
    /// key deleted if one was known (`listen_key_deleted`).
    Swept {
        /// Orders of ours found open.
        found: usize,
        /// Orders cancelled.
        cancelled: usize,
        /// A fresh listing confirmed none of ours remains.
        confirmed: bool,
        /// The parent's listen key was deleted (`false` if none was known, or it failed).
        listen_key_deleted: bool,
    },
    /// The guardian could not act (no brief, no REST client).
    Failed(String),
}

impl GuardianExit {
    /// The process exit code: 0 when there was nothing to do or everything was confirmed,
    /// 1 otherwise.
    pub fn code(&self) -> i32 {
        match self {
            Self::ParentEndedCleanly => 0,
            Self::Swept { confirmed, .. } if *confirmed => 0,
            _ => 1,
        }
    }
}

/// The guardian process: reads its [`GuardianBrief`] from `input` (its stdin, a pipe from
/// the parent), builds its own REST client, writes [`ARMED`] on `output`, then follows the
/// parent's messages (the current listen key). If the parent says
/// [`ParentMessage::Clean`], it exits touching nothing. If `input` ends (every end of the
/// parent, SIGKILL included, closes the pipe) or the parent's pidfd says it exited, it
/// cancels every open order with our prefix (through the rate limiter), confirms with a fresh
/// listing, deletes the parent's listen key, logs what it did and returns.
///
/// # Cancel safety
/// Not cancel safe: dropped during the clean-up, orders may stay open. Run it to completion
/// as the body of the guardian process.
pub async fn serve_guardian<R, W>(input: R, mut output: W) -> GuardianExit
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = BufReader::new(input).lines();
    let brief = match tokio::time::timeout(BRIEF_WAIT, lines.next_line()).await {
        Ok(Ok(Some(line))) => match ParentMessage::from_line(&line) {
            Ok(ParentMessage::Brief(brief)) => brief,
            Ok(other) => return failed(format!("expected a brief first, got {other:?}")),
            Err(error) => return failed(error.to_string()),
        },
        Ok(Ok(None)) => return failed("the parent closed the pipe before the brief".to_owned()),
        Ok(Err(error)) => return failed(GuardianError::Pipe(error).to_string()),
        Err(_) => return failed(format!("no brief within {BRIEF_WAIT:?}")),
    };
    let parent = ParentDeath::watch(brief.parent_pid);
    let armed = match Armed::new(&brief).await {
        Ok(armed) => armed,
        Err(error) => return failed(error.to_string()),
    };
    let said = async {
        output.write_all(format!("{ARMED}\n").as_bytes()).await?;
        output.flush().await
    };
    if let Err(error) = said.await {
        // The parent is gone already (or never listened): act.
        tracing::warn!(%error, "cannot tell the parent the guardian is armed");
    }
    tracing::info!(
        parent_pid = brief.parent_pid,
        prefix = brief.client_order_id_prefix.as_str(),
        "order guardian armed: watching the parent"
    );
    let mut listen_key = ListenKey::default();
    // The REST client starts (its first clock sync) while we watch: arming never waits for
    // the venue, and the clean-up waits for the start only if it is still under way.
    let start_rest = armed.start_client();
    tokio::pin!(start_rest);
    let mut rest_started = false;
    let why = loop {
        tokio::select! {
            biased;
            () = &mut start_rest, if !rest_started => rest_started = true,
            line = lines.next_line() => match line {
                Ok(Some(line)) => match ParentMessage::from_line(&line) {
                    Ok(ParentMessage::ListenKey(key)) => listen_key = key,
                    Ok(ParentMessage::Clean) => {
                        tracing::info!(
                            parent_pid = brief.parent_pid,
                            "the parent ended cleanly: the order guardian exits touching nothing"
                        );
                        // A start still under way is driven alongside the stop, which asks it
                        // to give up: left unpolled it could not, and the stop would wait for
                        // it and then override it.
                        let start = async {
                            if !rest_started {
                                (&mut start_rest).await;
                            }
                        };
                        tokio::join!(start, armed.stop());
                        return GuardianExit::ParentEndedCleanly;
                    }
                    Ok(ParentMessage::Brief(_)) => {
                        tracing::warn!("a second brief ignored");
                    }
                    Err(error) => tracing::warn!(%error, "message from the parent ignored"),
                },
                Ok(None) => break "its pipe closed",
                Err(_) => break "its pipe failed",
            },
            () = parent.exited() => break "it exited (pidfd)",
        }
    };
    tracing::warn!(
        parent_pid = brief.parent_pid,
        why,
        "the parent died without a clean end: the order guardian cancels our orders"
    );
    if !rest_started {
        start_rest.await;
    }
    let exit = armed.clean_up(&brief, &listen_key).await;
    armed.stop().await;
    exit
}

fn failed(why: String) -> GuardianExit {
    tracing::error!(why = why.as_str(), "the order guardian cannot act");
    GuardianExit::Failed(why)
}

/// The guardian's means to act (see [`AccountCleaner`]).
struct Armed {
    cleaner: AccountCleaner,
}

impl Armed {
    async fn new(brief: &GuardianBrief) -> Result<Self, GuardianError> {
        let cleaner = AccountCleaner::new(&brief.exchange_config(), brief.sweep_timeout)
            .await
            .map_err(|e| GuardianError::Rest(e.to_string()))?;
        Ok(Self { cleaner })
    }

    async fn start_client(&self) {
        self.cleaner.start_client().await;
    }

    /// Cancels and confirms our orders, deletes the listen key, by the brief's timeout.
    async fn clean_up(&self, brief: &GuardianBrief, listen_key: &ListenKey) -> GuardianExit {
        let begun = Instant::now();
        let deadline = begun + brief.sweep_timeout;
        let sweep = self.cleaner.sweep_orders(deadline).await;
        let swept_ms = begun.elapsed().as_millis() as u64;
        for order in &sweep.unconfirmed {
            tracing::error!(
                order = order.as_str(),
                "order guardian: order not confirmed closed"
            );
        }
        if let Some(note) = &sweep.note {
            tracing::error!(note = note.as_str(), "order guardian: sweep not confirmed");
        }
        let listen_key_deleted = match listen_key.reveal() {
            Some(key) => match self.cleaner.delete_session(key, deadline).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::error!(%error, "order guardian: the parent's listen key not deleted");
                    false
                }
            },
            None => false,
        };
        tracing::warn!(
            parent_pid = brief.parent_pid,
            found = sweep.found,
            cancelled = sweep.cancelled,
            confirmed = sweep.confirmed,
            listen_key_deleted,
            swept_ms,
            took_ms = begun.elapsed().as_millis() as u64,
            "order guardian: cleaned up after the dead parent"
        );
        GuardianExit::Swept {
            found: sweep.found,
            cancelled: sweep.cancelled,
            confirmed: sweep.confirmed,
            listen_key_deleted,
        }
    }

    async fn stop(&self) {
        self.cleaner.stop().await;
    }
}
