//! [`PrivateSocket`]: the listen key's whole life and the private socket on it, as one
//! resource of the `High` phase.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use exchange_rest::RestError;
use exchange_ws::WebSocketManager;
use lifecycle_core::{
    AsyncResource, BoxFuture, Lifecycle, ShutdownSignal, StartError, StopDetails, StopReport,
};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::error::ExchangeError;
use crate::private::listen_key::ListenKey;
use crate::retry::{give_up_on_stop, retry_transient};
use crate::venue::Venue;

/// The shared state of the socket and its keep-alive task.
struct KeyState {
    venue: Arc<dyn Venue>,
    socket: Arc<WebSocketManager>,
    base_url: String,
    /// The key held now, watched by whoever must know it (the order guardian).
    key: watch::Sender<ListenKey>,
    created: AtomicU64,
    kept_alive: AtomicU64,
}

impl KeyState {
    fn current(&self) -> Option<String> {
        self.key.borrow().reveal().map(str::to_owned)
    }

    fn url_for(&self, key: &str) -> String {
        let separator = if self.base_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{separator}listenKey={key}", self.base_url)
    }

    /// Creates a key and points the socket at it; returns the key it replaced.
    async fn install_new_key(&self) -> Result<Option<String>, ExchangeError> {
        let key = self.venue.open_private_session().await?;
        self.created.fetch_add(1, Ordering::Relaxed);
        self.socket.set_url(self.url_for(&key));
        let mut old = self.key.send_replace(ListenKey::new(Some(key)));
        Ok(old.take())
    }

    /// Keeps the key alive every `period` (and after every disconnect); replaces an expired
    /// key and reconnects the socket on the new one.
    async fn keep_alive(&self, period: Duration, recheck: &Notify, signal: &ShutdownSignal) {
        loop {
            tokio::select! {
                biased;
                () = signal.triggered() => return,
                () = tokio::time::sleep(period) => {}
                () = recheck.notified() => {}
            }
            let Some(key) = self.current() else { continue };
            match self.venue.keep_private_session_alive(&key).await {
                Ok(()) => {
                    self.kept_alive.fetch_add(1, Ordering::Relaxed);
                }
                Err(ExchangeError::Rest(RestError::Closed)) => return,
                Err(error) => {
                    if matches!(error, ExchangeError::Rest(RestError::ListenKeyInvalid(_))) {
                        // MEXC's 730708: the key expired or was deleted.
                        tracing::info!("the venue no longer knows the listen key: replacing it");
                    } else {
                        tracing::warn!(%error, "listen key keep-alive failed: replacing the key");
                    }
                    match self.install_new_key().await {
                        Ok(old) => {
                            self.socket.reconnect();
                            if let Some(old) = old {
                                // Best effort: the old key may be gone already.
                                let deadline = Instant::now() + Duration::from_secs(5);
                                let _ = self.venue.close_private_session(&old, deadline).await;
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "no new listen key: retrying at the next keep-alive");
                        }
                    }
                }
            }
        }
    }
}

/// How the private session is kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionTiming {
    /// Keep-alive period of the session (listen key).
    pub(crate) keepalive: Duration,
    /// How long the start retries opening the session on passing failures.
    pub(crate) start_timeout: Duration,
}

/// The private socket: creates the listen key at start and connects on it, keeps the key
/// alive (replacing it if it expired), and at stop closes the socket first and deletes the
/// key after.
pub(crate) struct PrivateSocket {
    lifecycle: Lifecycle,
    state: Arc<KeyState>,
    keepalive: Duration,
    recheck: Arc<Notify>,
    start_timeout: Duration,
}

impl fmt::Debug for PrivateSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateSocket")
            .field("name", &self.lifecycle.name())
            .field("state", &self.lifecycle.state_tag())
            .field("socket", &self.state.socket)
            .field("listen_key", &*self.state.key.borrow())
            .finish_non_exhaustive()
    }
}

impl PrivateSocket {
    pub(crate) fn new(
        name: String,
        socket: Arc<WebSocketManager>,
        venue: Arc<dyn Venue>,
        base_url: String,
        timing: SessionTiming,
        recheck: Arc<Notify>,
    ) -> Self {
        let SessionTiming {
            keepalive,
            start_timeout,
        } = timing;
        Self {
            lifecycle: Lifecycle::new(name),
            state: Arc::new(KeyState {
                venue,
                socket,
                base_url,
                key: watch::Sender::new(ListenKey::default()),
                created: AtomicU64::new(0),
                kept_alive: AtomicU64::new(0),
            }),
            keepalive,
            recheck,
            start_timeout,
        }
    }

    pub(crate) fn socket(&self) -> &Arc<WebSocketManager> {
        &self.state.socket
    }

    /// Follows the listen key held (a new one after an expiry; `None` once deleted).
    pub(crate) fn listen_key_watch(&self) -> watch::Receiver<ListenKey> {
        self.state.key.subscribe()
    }

    /// Listen keys created so far (more than one after an expiry).
    pub(crate) fn listen_keys_created(&self) -> u64 {
        self.state.created.load(Ordering::Relaxed)
    }
}

impl AsyncResource for PrivateSocket {
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let state = self.state.clone();
        let (period, recheck) = (self.keepalive, self.recheck.clone());
        let retry_until = Instant::now() + self.start_timeout;
        let name = self.lifecycle.name().to_owned();
        Box::pin(self.lifecycle.start(move |ctx| async move {
            let body = async {
                // Registered first: whatever key the start installs, a failed or cancelled
                // start deletes it.
                let undo = state.clone();
                ctx.on_rollback(
                    "stop the socket and delete the listen key",
                    move |deadline| async move {
                        // The socket gets half of what is left, so a socket that hangs in its
                        // close still leaves the listen key's deletion time of its own.
                        let now = Instant::now();
                        let socket_by = now + deadline.saturating_duration_since(now) / 2;
                        let report = undo.socket.stop(socket_by).await;
                        let key = undo.key.send_replace(ListenKey::default()).take();
                        if let Some(key) = key {
                            undo.venue
                                .close_private_session(&key, deadline)
                                .await
                                .map_err(|error| format!("listen key not deleted: {error}"))?;
                        }
                        lifecycle_core::TaskResult::into_task_result(report)
                    },
                );
                retry_transient("opening the private session", retry_until, || {
                    state.install_new_key()
                })
                .await?;
                state.socket.start().await?;
                let (task_state, signal) = (state.clone(), ctx.tasks().signal().clone());
                ctx.tasks().spawn("listen key keep-alive", async move {
                    task_state.keep_alive(period, &recheck, &signal).await;
                })?;
                Ok(())
            };
            give_up_on_stop(&ctx, &name, body).await
        }))
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let state = self.state.clone();
        Box::pin(self.lifecycle.stop(deadline, move |ctx| async move {
            // The socket's close handshake and the key's deletion run at once: `join!` polls
            // the socket's stop first, whose first poll marks the manager stopping (it will
            // not reconnect) and queues its close frame; the key goes only after the
            // keep-alive task has stopped (it must not extend or re-create it).
            let close_key = async {
                ctx.shutdown_tasks(ctx.deadline()).await;
                match state.key.send_replace(ListenKey::default()).take() {
                    Some(key) => Some(
                        state
                            .venue
                            .close_private_session(&key, ctx.deadline())
                            .await,
                    ),
                    None => None,
                }
            };
            let (socket, key) = futures::join!(state.socket.stop(ctx.deadline()), close_key);
            let mut details = StopDetails::new().child(socket);
            match key {
                Some(Ok(_)) => details = details.counter("listen_keys_closed", 1),
                Some(Err(error)) => {
                    details = details.error(format!("listen key not deleted: {error}"));
                }
                None => {}
            }
            details
                .counter("listen_keys_created", state.created.load(Ordering::Relaxed))
                .counter(
                    "listen_key_keepalives",
                    state.kept_alive.load(Ordering::Relaxed),
                )
        }))
    }
}
