//! [`OrderGuardian`]: the parent's side of the order guardian, an `AsyncResource`: launches
//! the guardian process at start, keeps it briefed on the listen key, notices at once when it
//! dies (and restarts it, or halts quoting), and at stop tells it the end is clean.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use lifecycle_core::{
    AsyncResource, Backoff, BoxFuture, Lifecycle, StartError, StopDetails, StopReport,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::guardian::brief::GuardianBrief;
use crate::guardian::message::ParentMessage;
use crate::guardian::process::{GuardianCommand, GuardianProcess};
use crate::private::ListenKey;

/// First pause before launching a lost guardian again after a failed launch.
const RELAUNCH_FIRST_PAUSE: Duration = Duration::from_millis(100);
/// Longest pause between two failed launches.
const RELAUNCH_MAX_PAUSE: Duration = Duration::from_secs(2);
/// Default time a launched guardian has to say it is armed.
pub const DEFAULT_ARM_TIMEOUT: Duration = Duration::from_secs(10);

/// What to do when the guardian process dies while we run.
#[derive(Clone)]
pub enum GuardianLossPolicy {
    /// Log it and launch a new guardian (with backoff while launches fail).
    Restart,
    /// Log it and call this (halt quoting, say): without a guardian a SIGKILL would leave our
    /// orders open. No new guardian is launched.
    Halt(Arc<dyn Fn() + Send + Sync>),
}

impl fmt::Debug for GuardianLossPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Restart => "Restart",
            Self::Halt(_) => "Halt",
        })
    }
}

/// How the parent's end is judged at stop: `true` if our orders are all confirmed closed
/// (then the guardian is told the end is clean and touches nothing).
pub type CleanCheck = Arc<dyn Fn() -> bool + Send + Sync>;

/// What the parent's guardian resource needs.
#[derive(Clone)]
pub struct OrderGuardianConfig {
    /// Component name (logs, reports).
    pub name: String,
    /// How to start the guardian process.
    pub command: GuardianCommand,
    /// What the guardian must know (credentials included; sent over its stdin only).
    pub brief: GuardianBrief,
    /// The listen key the private exchange holds
    /// ([`PrivateCompositeExchange::listen_key_watch`](crate::PrivateCompositeExchange::listen_key_watch)).
    pub listen_key: watch::Receiver<ListenKey>,
    /// What to do when the guardian dies.
    pub on_loss: GuardianLossPolicy,
    /// How long a launched guardian has to arm.
    pub arm_timeout: Duration,
    /// Judged at stop; `None` counts every stop as clean. If it says `false` the guardian is
    /// not told the end is clean, and sweeps as if we had died.
    pub clean_check: Option<CleanCheck>,
}

impl fmt::Debug for OrderGuardianConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderGuardianConfig")
            .field("name", &self.name)
            .field("command", &self.command)
            .field("brief", &self.brief)
            .field("on_loss", &self.on_loss)
            .field("arm_timeout", &self.arm_timeout)
            .finish_non_exhaustive()
    }
}

impl OrderGuardianConfig {
    /// A guardian launched by `command` for `brief`, following `listen_key`, restarted if it
    /// dies, every stop counted clean.
    pub fn new(
        command: GuardianCommand,
        brief: GuardianBrief,
        listen_key: watch::Receiver<ListenKey>,
    ) -> Self {
        Self {
            name: "order_guardian".to_owned(),
            command,
            brief,
            listen_key,
            on_loss: GuardianLossPolicy::Restart,
            arm_timeout: DEFAULT_ARM_TIMEOUT,
            clean_check: None,
        }
    }
}

/// The stop's word to the supervision task.
struct Finish {
    clean: bool,
    done: oneshot::Sender<()>,
}

struct Shared {
    config: OrderGuardianConfig,
    pid: AtomicU32,
    restarts: AtomicU64,
    lost: AtomicU64,
    finish: std::sync::Mutex<Option<mpsc::Sender<Finish>>>,
}

/// The order guardian, seen from the trading process: a child process that cancels our
/// orders and deletes our listen key if we die without a clean end (SIGKILL, OOM kill, an
/// abort), because MEXC spot has no dead-man's switch.
///
/// - **Start** launches the guardian (the configured command, an empty environment, its own
///   process group), sends it the brief over its stdin, and waits until it says it is armed.
///   Register it so it starts before the exchanges and stops after them
///   (`ShutdownPriority::Cleanup`): it is armed before the first order, and told the end is
///   clean only once the orders were cancelled and the listen key deleted.
/// - **While running** it forwards every change of the listen key. If the guardian dies it is
///   noticed at once (the child's exit), logged, and by [`GuardianLossPolicy`] a new one is
///   launched or quoting is halted.
/// - **Stop** tells the guardian the end is clean (unless the [`CleanCheck`] says orders may
///   be open: then the guardian sweeps them) and waits for it to exit.
///
/// If this process dies any other way, the guardian's stdin reaches its end (the kernel
/// closes the pipe) and, on Linux, its pidfd of us turns readable: it cancels every open
/// order with our prefix, confirms with a fresh listing, deletes the listen key it was last
/// told of, logs what it did and exits.
pub struct OrderGuardian {
    lifecycle: Lifecycle,
    shared: Arc<Shared>,
}

impl fmt::Debug for OrderGuardian {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderGuardian")
            .field("name", &self.lifecycle.name())
            .field("state", &self.lifecycle.state_tag())
            .field("pid", &self.pid())
            .field("restarts", &self.restarts())
            .finish_non_exhaustive()
    }
}

impl OrderGuardian {
    /// A guardian resource (not started).
    pub fn new(config: OrderGuardianConfig) -> Self {
        Self {
            lifecycle: Lifecycle::new(config.name.clone()),
            shared: Arc::new(Shared {
                config,
                pid: AtomicU32::new(0),
                restarts: AtomicU64::new(0),
                lost: AtomicU64::new(0),
                finish: std::sync::Mutex::new(None),
            }),
        }
    }

    /// The running guardian's process id (`None` when none runs).
    pub fn pid(&self) -> Option<u32> {
        Some(self.shared.pid.load(Ordering::Relaxed)).filter(|pid| *pid != 0)
    }

    /// Guardians launched again after one died.
    pub fn restarts(&self) -> u64 {
        self.shared.restarts.load(Ordering::Relaxed)
    }

    /// Guardians that died while we ran.
    pub fn losses(&self) -> u64 {
        self.shared.lost.load(Ordering::Relaxed)
    }
}

impl Shared {
    async fn launch(&self) -> Result<GuardianProcess, crate::guardian::GuardianError> {
        let key = self.config.listen_key.borrow().clone();
        let process = GuardianProcess::launch(
            &self.config.command,
            &self.config.brief,
            &key,
            self.config.arm_timeout,
        )
        .await?;
        self.pid.store(process.pid(), Ordering::Relaxed);
        Ok(process)
    }

    /// The supervision loop: forwards listen keys, notices a lost guardian, ends on `finish`.
    async fn supervise(
        &self,
        mut process: Option<GuardianProcess>,
        mut finish: mpsc::Receiver<Finish>,
    ) {
        let name = self.config.name.as_str();
        let mut keys = self.config.listen_key.clone();
        let mut pause = Backoff::new(RELAUNCH_FIRST_PAUSE, RELAUNCH_MAX_PAUSE);
        loop {
            let Some(running) = process.as_mut() else {
                // No guardian: wait for the stop, relaunching on the way if the policy says so.
                let relaunch = matches!(self.config.on_loss, GuardianLossPolicy::Restart);
                let wait = pause.next_delay();
                tokio::select! {
                    biased;
                    word = finish.recv() => {
                        if let Some(word) = word {
                            let _ = word.done.send(());
                        }
                        return;
                    }
                    () = tokio::time::sleep(wait), if relaunch => {}
                }
                match self.launch().await {
                    Ok(new) => {
                        self.restarts.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            component = name,
                            pid = new.pid(),
                            "order guardian restarted"
                        );
                        pause.reset();
                        process = Some(new);
                    }
                    Err(error) => {
                        tracing::error!(component = name, %error, "order guardian not restarted: retrying");
                    }
                }
                continue;
            };
            tokio::select! {
                biased;
                word = finish.recv() => {
                    let Some(Finish { clean, done }) = word else { return };
                    let Some(running) = process.take() else { return };
                    let pid = running.pid();
                    if clean {
                        let deadline = Instant::now() + self.config.arm_timeout;
                        let status = running.finish_clean(deadline).await;
                        tracing::info!(component = name, pid, status = ?status, "order guardian told the end is clean, exited");
                    } else {
                        tracing::warn!(component = name, pid, "orders may be open: the order guardian is left to sweep them");
                        running.abandon();
                    }
                    self.pid.store(0, Ordering::Relaxed);
                    let _ = done.send(());
                    return;
                }
                status = running.exited() => {
                    self.lost.fetch_add(1, Ordering::Relaxed);
                    self.pid.store(0, Ordering::Relaxed);
                    let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                    process = None;
                    match &self.config.on_loss {
                        GuardianLossPolicy::Restart => {
                            tracing::error!(component = name, status = status.as_str(), "order guardian died: restarting it");
                            pause.reset();
                        }
                        GuardianLossPolicy::Halt(halt) => {
                            tracing::error!(component = name, status = status.as_str(), "order guardian died: halting quoting (no new guardian)");
                            halt();
                        }
                    }
                }
                changed = keys.changed() => {
                    if changed.is_err() {
                        // The exchange is gone: nothing more to forward.
                        keys = watch::channel(ListenKey::default()).1;
                        continue;
                    }
                    let key = keys.borrow_and_update().clone();
                    if let Err(error) = running.send(&ParentMessage::ListenKey(key)).await {
                        // The guardian is dying: its exit is noticed next.
                        tracing::warn!(component = name, %error, "listen key not forwarded to the order guardian");
                    }
                }
            }
        }
    }
}

impl AsyncResource for OrderGuardian {
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let shared = self.shared.clone();
        Box::pin(self.lifecycle.start(move |ctx| async move {
            // A stop during start gives up at once (the unarmed guardian is killed).
            let process = tokio::select! {
                biased;
                () = ctx.stop_signal() => {
                    return Err(format!("{}: start given up, a stop was requested", shared.config.name).into());
                }
                launched = shared.launch() => launched?,
            };
            tracing::info!(
                component = shared.config.name.as_str(),
                pid = process.pid(),
                "order guardian armed"
            );
            let (finish_tx, finish_rx) = mpsc::channel(1);
            *shared
                .finish
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(finish_tx);
            let task = shared.clone();
            ctx.tasks()
                .spawn("order guardian supervision", async move {
                    task.supervise(Some(process), finish_rx).await;
                })?;
            Ok(())
        }))
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let shared = self.shared.clone();
        Box::pin(self.lifecycle.stop(deadline, move |ctx| async move {
            let clean = shared
                .config
                .clean_check
                .as_ref()
                .is_none_or(|check| check());
            let finish = shared
                .finish
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            let mut details = StopDetails::new()
                .counter("guardian_restarts", shared.restarts.load(Ordering::Relaxed))
                .counter("guardians_lost", shared.lost.load(Ordering::Relaxed));
            if let Some(finish) = finish {
                let (done, told) = oneshot::channel();
                if finish.send(Finish { clean, done }).await.is_ok()
                    && tokio::time::timeout_at(ctx.deadline(), told).await.is_err()
                {
                    details = details.error("the order guardian did not confirm the end in time");
                }
            }
            if !clean {
                details = details.counter("guardian_left_to_sweep", 1);
            }
            ctx.shutdown_tasks(ctx.deadline()).await;
            details
        }))
    }
}
