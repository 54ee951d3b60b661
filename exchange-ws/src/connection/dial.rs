//! Dial and backoff: the connection loop. Each round dials the current URL (bounded by
//! `connect_timeout`, cancelled by the stop), runs a session on the socket, and after a lost
//! connection or a failed dial waits out a capped, jittered backoff (reset only after a link
//! stayed up `backoff_reset_after`) that the stop cancels and `reconnect()` cuts short. A
//! proactive replacement (maximum age, `reconnect()`) dials again at once.

use tokio_tungstenite::Connector as TlsConnector;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig as ProtocolConfig;

use lifecycle_core::Backoff;

use super::ConnectionTask;
use crate::error::ConnectError;
use crate::event::{DisconnectReason, WsEvent};
use crate::link::Socket;
use crate::report::bump;
use crate::shared::{Control, Shared};
use crate::status::ConnectionState;

impl ConnectionTask {
    /// The connection loop: runs until the stop signal, then closes and accounts for what was
    /// left unsent.
    pub(crate) async fn run(mut self) {
        let shared = self.shared.clone();
        let config = &shared.config;
        let signal = self.signal.clone();
        let stop = signal.triggered();
        let mut stop = std::pin::pin!(stop);
        let mut backoff =
            Backoff::new(config.backoff_initial, config.backoff_max).jitter(config.backoff_jitter);
        let mut attempt: u32 = 0;
        'run: loop {
            self.handlers.refresh(&shared.handlers);
            if signal.is_triggered() {
                break;
            }
            let url = shared.url();
            let dial = tokio::time::timeout(config.connect_timeout, dial(&shared, &url));
            let dialled = tokio::select! {
                biased;
                () = &mut stop => break,
                dialled = dial => dialled,
            };
            let mut immediate = false;
            match dialled {
                Ok(Ok(socket)) => {
                    if !self.move_to(ConnectionState::Connected) {
                        let outcome = self.close_handshake(socket).await;
                        shared.counters.set_close_outcome(outcome);
                        break;
                    }
                    attempt = 0;
                    self.connection += 1;
                    bump(&shared.counters.connections);
                    tracing::info!(
                        component = config.name,
                        connection = self.connection,
                        url = %crate::redact::redacted_url(&url),
                        "websocket connected"
                    );
                    let (reason, up_for) = self.session(socket, &mut stop).await;
                    self.publish_counts();
                    shared.subscriptions.connection_lost();
                    self.handlers.event(&WsEvent::Disconnected {
                        connection: self.connection,
                        reason: reason.clone(),
                    });
                    if reason == DisconnectReason::Stopping {
                        break;
                    }
                    bump(&shared.counters.reconnects);
                    if up_for >= config.backoff_reset_after {
                        backoff.reset();
                    }
                    immediate = matches!(
                        reason,
                        DisconnectReason::MaxAge | DisconnectReason::Requested
                    );
                    tracing::warn!(component = config.name, connection = self.connection, %reason, up_ms = up_for.as_millis() as u64, "websocket connection lost: reconnecting");
                }
                Ok(Err(error)) => {
                    bump(&shared.counters.connect_failures);
                    tracing::warn!(component = config.name, url = %crate::redact::redacted_url(&url), %error, attempt, "websocket connect failed");
                }
                Err(_) => {
                    bump(&shared.counters.connect_failures);
                    tracing::warn!(component = config.name, url = %crate::redact::redacted_url(&url), error = %ConnectError::Timeout, attempt, "websocket connect failed");
                }
            }
            attempt = attempt.saturating_add(1);
            if !self.move_to(ConnectionState::Reconnecting { attempt }) {
                break;
            }
            if !immediate {
                let delay = backoff.next_delay();
                tracing::debug!(
                    component = config.name,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    "websocket backoff"
                );
                let sleep = tokio::time::sleep(delay);
                let mut sleep = std::pin::pin!(sleep);
                loop {
                    tokio::select! {
                        biased;
                        () = &mut stop => break 'run,
                        () = sleep.as_mut() => break,
                        // `reconnect()` (after `set_url`, say) cuts the wait; other requests
                        // are covered by the replay on the next connection.
                        Some(control) = self.control.recv() => {
                            if matches!(control, Control::Reconnect) {
                                break;
                            }
                        }
                    }
                }
            }
        }
        self.finish();
    }
}

/// Dials `url` (TCP_NODELAY; rustls for `wss://`).
async fn dial(shared: &Shared, url: &str) -> Result<Socket, ConnectError> {
    let size = shared.config.max_message_size;
    let protocol = ProtocolConfig::default()
        .read_buffer_size(shared.config.read_buffer_size.max(1024))
        .max_message_size(Some(size))
        .max_frame_size(Some(size));
    let connector = if url.starts_with("wss:") {
        Some(TlsConnector::Rustls(shared.tls()?))
    } else {
        None
    };
    let (socket, _response) =
        tokio_tungstenite::connect_async_tls_with_config(url, Some(protocol), true, connector)
            .await?;
    Ok(socket)
}
