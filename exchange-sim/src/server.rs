//! The HTTP server: an accept loop over hyper's HTTP/1 connection driver, with a cap on
//! connections served at once and hyper's header-read timeout (the body-read deadline and the
//! size limits MEXC's JSON shape can still answer live in [`crate::rest`]).
//!
//! It serves over any [`axum::serve::Listener`] whose address is a [`SocketAddr`]: tokio's
//! `TcpListener` in production and in tests, `TurmoilListener` (feature `simulation`) inside
//! a turmoil simulation (feature `simulation`): the listener is the venue's simulation seam.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, watch};

use crate::config::HttpConfig;
use crate::error::ApiError;

/// hyper's read buffer: requests up to this size reach the routes (which answer oversized
/// URIs and headers in MEXC's shape); beyond it hyper itself answers with an empty body.
const MAX_BUF_BYTES: usize = 256 * 1024;
/// Headers per request hyper parses (the routes answer more than `rest::limits::MAX_HEADERS`).
const MAX_PARSED_HEADERS: usize = 512;
/// How long a refused connection's request is read (and dropped) before the socket closes,
/// so the client reads the refusal instead of a reset.
const REFUSAL_DRAIN: Duration = Duration::from_millis(200);

/// Serve `router` on `listener` until `shutdown` turns true, then let the open connections
/// finish (the caller bounds that wait).
pub(crate) async fn serve<L>(
    mut listener: L,
    router: Router,
    config: HttpConfig,
    mut shutdown: watch::Receiver<bool>,
) where
    L: Listener<Addr = SocketAddr>,
{
    let max_connections = config.max_connections.min(Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(MAX_BUF_BYTES)
        .max_headers(MAX_PARSED_HEADERS);
    loop {
        // The listener retries failed accepts itself (axum's TcpListener pauses on errors
        // other than a refused or reset connection instead of spinning).
        let (stream, peer) = tokio::select! {
            biased;
            () = crate::shutdown::wait_until(&mut shutdown, true) => break,
            accepted = listener.accept() => accepted,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "connection refused: too many connections");
            tokio::spawn(refuse(stream));
            continue;
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            async move { tower_service::Service::call(&mut router, request).await }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                biased;
                result = connection.as_mut() => result,
                () = crate::shutdown::wait_until(&mut stop, true) => {
                    // Finish the request in flight, then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    // Every permit back means every connection has ended.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// Answer a connection over the cap with HTTP 503 in MEXC's shape, then close it.
async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let body = ApiError::with_status(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        503,
        "Too many connections",
    )
    .body()
    .to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(REFUSAL_DRAIN, async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}
