//! Dial and backoff: the connection loop, and the connector seam ([`WsConnector`]). Each round dials the current URL (bounded by
//! `connect_timeout`, cancelled by the stop), runs a session on the socket, and after a lost
//! connection or a failed dial waits out a capped, jittered backoff (reset only after a link
//! stayed up `backoff_reset_after`) that the stop cancels and `reconnect()` cuts short. A
//! proactive replacement (maximum age, `reconnect()`) dials again at once.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use lifecycle_core::Backoff;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::Connector as TlsConnector;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::UrlError;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig as ProtocolConfig;

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
        if let Some(seed) = config.backoff_seed {
            backoff = backoff.seed(seed);
        }
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
                    shared.metrics.connections.increment(1);
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
                    shared.metrics.reconnects.increment(1);
                    if up_for >= config.backoff_reset_after {
                        backoff.reset();
                    }
                    immediate = matches!(
                        reason,
                        DisconnectReason::MaxAge | DisconnectReason::Requested
                    );
                    tracing::warn!(component = config.name, connection = self.connection, %reason, up_ms = up_for.as_millis() as u64, "websocket connection lost: reconnecting");
                    tracing::info!(
                        name: "reconnect",
                        target: lifecycle_core::timeline::TARGET,
                        component = config.name,
                        connection = self.connection,
                        cause = %reason,
                        up_ms = up_for.as_millis() as u64,
                        "reconnecting"
                    );
                }
                Ok(Err(error)) => {
                    bump(&shared.counters.connect_failures);
                    shared.metrics.connect_failures.increment(1);
                    tracing::warn!(component = config.name, url = %crate::redact::redacted_url(&url), %error, attempt, "websocket connect failed");
                }
                Err(_) => {
                    bump(&shared.counters.connect_failures);
                    shared.metrics.connect_failures.increment(1);
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

/// How a [`WebSocketManager`](crate::WebSocketManager) reaches the venue: the connector seam
/// (tokio's TCP by default; the `simulation` feature adds turmoil's, so the real manager can
/// run inside a deterministic network simulation).
///
/// The manager dials the URL's host and port through its connector and hands the stream to
/// tokio-tungstenite (`client_async_tls_with_config`: TLS for `wss://`, then the upgrade), so
/// the same connection code runs over real TCP in production and over a simulated network
/// under test. Production pays one `match` per read or write of the socket.
///
/// The rule next to this seam: no code of the stack dials `tokio::net::TcpStream::connect`
/// itself (`.ci/check-seams` fails CI on one outside the seam modules); see
/// `lifecycle_core::WallClock` for the clock half of the rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsConnector {
    /// Real TCP (`tokio::net::TcpStream`, TCP_NODELAY): the default.
    #[default]
    Tcp,
    /// turmoil's simulated TCP (`turmoil::net::TcpStream`): the URL's host is a turmoil host
    /// name. Only inside a turmoil simulation; feature `simulation`.
    #[cfg(feature = "simulation")]
    Turmoil,
}

/// The stream a connector dialled.
#[derive(Debug)]
pub(crate) enum WsStream {
    /// Real TCP.
    Tcp(tokio::net::TcpStream),
    /// turmoil's simulated TCP.
    #[cfg(feature = "simulation")]
    Turmoil(turmoil::net::TcpStream),
}

macro_rules! each_stream {
    ($self:ident, $stream:ident => $body:expr) => {
        match $self.get_mut() {
            WsStream::Tcp($stream) => $body,
            #[cfg(feature = "simulation")]
            WsStream::Turmoil($stream) => $body,
        }
    };
}

impl AsyncRead for WsStream {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_stream!(self, stream => Pin::new(stream).poll_read(cx, buf))
    }
}

impl AsyncWrite for WsStream {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self, stream => Pin::new(stream).poll_write(cx, buf))
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, stream => Pin::new(stream).poll_flush(cx))
    }

    #[inline]
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, stream => Pin::new(stream).poll_shutdown(cx))
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self, stream => Pin::new(stream).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WsStream::Tcp(stream) => stream.is_write_vectored(),
            #[cfg(feature = "simulation")]
            WsStream::Turmoil(stream) => stream.is_write_vectored(),
        }
    }
}

impl WsConnector {
    /// Opens a stream to `host:port` (TCP_NODELAY).
    async fn connect(self, address: &str) -> io::Result<WsStream> {
        match self {
            Self::Tcp => {
                let stream = tokio::net::TcpStream::connect(address).await?;
                stream.set_nodelay(true)?;
                Ok(WsStream::Tcp(stream))
            }
            #[cfg(feature = "simulation")]
            Self::Turmoil => {
                let stream = turmoil::net::TcpStream::connect(address).await?;
                stream.set_nodelay(true)?;
                Ok(WsStream::Turmoil(stream))
            }
        }
    }
}

/// `host:port` of a websocket URL (the port defaults to 80 for `ws://`, 443 for `wss://`).
fn address_of(request: &Request) -> Result<String, ConnectError> {
    let uri = request.uri();
    let host = uri.host().ok_or(WsError::Url(UrlError::NoHostName))?;
    let port = uri
        .port_u16()
        .or_else(|| match uri.scheme_str() {
            Some("wss") => Some(443),
            Some("ws") => Some(80),
            _ => None,
        })
        .ok_or(WsError::Url(UrlError::UnsupportedUrlScheme))?;
    Ok(format!("{host}:{port}"))
}

/// Dials `url` through the configured connector (TCP_NODELAY), then TLS for `wss://` (rustls)
/// and the websocket upgrade.
async fn dial(shared: &Shared, url: &str) -> Result<Socket, ConnectError> {
    let size = shared.config.max_message_size;
    let protocol = ProtocolConfig::default()
        .read_buffer_size(shared.config.read_buffer_size.max(1024))
        .max_message_size(Some(size))
        .max_frame_size(Some(size));
    let request = url.into_client_request()?;
    let address = address_of(&request)?;
    let tls = if url.starts_with("wss:") {
        Some(TlsConnector::Rustls(shared.tls()?))
    } else {
        None
    };
    let stream = shared
        .config
        .connector
        .connect(&address)
        .await
        .map_err(WsError::Io)?;
    let (socket, _response) =
        tokio_tungstenite::client_async_tls_with_config(request, stream, Some(protocol), tls)
            .await?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(url: &str) -> String {
        address_of(&url.into_client_request().unwrap()).unwrap()
    }

    #[test]
    fn the_address_dialled_is_the_urls_host_and_port() {
        assert_eq!(address("ws://127.0.0.1:9000/ws"), "127.0.0.1:9000");
        assert_eq!(address("ws://venue/ws?listenKey=k"), "venue:80");
        assert_eq!(address("wss://wbs-api.mexc.com/ws"), "wbs-api.mexc.com:443");
        // IPv6 keeps its brackets, so the address parses.
        assert_eq!(address("ws://[::1]:9000/ws"), "[::1]:9000");
    }
}
