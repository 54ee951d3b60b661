//! The operations listener (`--metrics-addr`, axum): `GET /metrics` (Prometheus text),
//! `GET /livez` (200 while the runtime answers), `GET /readyz` (200 only while ready, 503
//! otherwise: [`crate::health`]), `POST /halt` and `POST /resume` (the trading halt, as
//! SIGUSR1 and SIGUSR2). The health bodies are small JSON documents of component states.
//!
//! The listener is loopback-only unless `--metrics-allow-remote`; `/halt` and `/resume`
//! answer loopback peers only, always, and never a request a browser sent (one with an
//! `Origin` header: a web page must not halt trading through a local port).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lifecycle_core::ShutdownSignal;
use serde::Serialize;

use crate::health::{Health, HealthBody, Readiness};
use crate::metrics_export::MetricsExport;
use crate::trading_halt;

/// The content type of the Prometheus text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the handlers share.
#[derive(Debug, Clone)]
struct Ops {
    health: Arc<Health>,
    metrics: MetricsExport,
}

/// The running listener.
#[derive(Debug)]
pub(crate) struct OpsServer {
    local: SocketAddr,
    stop: ShutdownSignal,
    task: tokio::task::JoinHandle<()>,
}

/// Whether `peer` is this machine (IPv4-mapped IPv6 loopback included).
pub(crate) fn is_loopback(peer: SocketAddr) -> bool {
    peer.ip().to_canonical().is_loopback()
}

impl OpsServer {
    /// Binds `addr` and serves the endpoints until [`stop`](Self::stop).
    ///
    /// # Errors
    /// The address cannot be bound.
    pub(crate) async fn start(
        addr: SocketAddr,
        health: Arc<Health>,
        metrics: MetricsExport,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let stop = ShutdownSignal::new();
        let stopping = stop.clone();
        let app =
            router(Ops { health, metrics }).into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopping.triggered().await })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "the metrics and health listener failed");
            }
        });
        tracing::info!(
            address = %local,
            "metrics and health listening: GET /metrics, /livez, /readyz; POST /halt, /resume (loopback peers only)"
        );
        Ok(Self { local, stop, task })
    }

    /// The address bound.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stops accepting, lets requests under way finish within `within`, then drops the rest.
    pub(crate) async fn stop(mut self, within: Duration) {
        self.stop.trigger();
        if tokio::time::timeout(within, &mut self.task).await.is_err() {
            self.task.abort();
            let _ = self.task.await;
            tracing::warn!(
                within_ms = within.as_millis() as u64,
                "metrics and health listener: connections still open at its stop were closed"
            );
        }
    }
}

fn router(ops: Ops) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/halt", post(halt))
        .route("/resume", post(resume))
        .with_state(ops)
}

async fn metrics(State(ops): State<Ops>) -> Response {
    (
        [(header::CONTENT_TYPE, PROMETHEUS_TEXT)],
        ops.metrics.render(),
    )
        .into_response()
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_string(body) {
        Ok(text) => (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            text + "\n",
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Answered by the runtime: alive. The body says what the components are doing.
async fn livez(State(ops): State<Ops>) -> Response {
    #[derive(Serialize)]
    struct Live {
        live: bool,
        #[serde(flatten)]
        health: HealthBody,
    }
    json(
        StatusCode::OK,
        &Live {
            live: true,
            health: ops.health.body(),
        },
    )
}

async fn readyz(State(ops): State<Ops>) -> Response {
    let body = ops.health.body();
    let status = if body.readiness == Readiness::Ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(status, &body)
}

#[derive(Serialize)]
struct Refusal {
    error: &'static str,
}

/// Refuses a control request from another machine or from a browser.
fn refused(peer: SocketAddr, headers: &HeaderMap) -> Option<Response> {
    if !is_loopback(peer) {
        tracing::warn!(%peer, "trading control refused: not a loopback peer");
        return Some(json(
            StatusCode::FORBIDDEN,
            &Refusal {
                error: "trading control is for loopback peers only",
            },
        ));
    }
    if headers.contains_key(header::ORIGIN) {
        tracing::warn!(%peer, "trading control refused: sent by a browser (Origin header)");
        return Some(json(
            StatusCode::FORBIDDEN,
            &Refusal {
                error: "trading control is not for browsers (Origin header)",
            },
        ));
    }
    None
}

fn not_trading() -> Response {
    json(
        StatusCode::SERVICE_UNAVAILABLE,
        &Refusal {
            error: "not trading yet: the exchanges are still being set up",
        },
    )
}

/// The answer to `POST /halt`, once the sweep is done.
#[derive(Serialize)]
struct Halted {
    halted: bool,
    /// Orders of ours the halt's sweep cancelled.
    cancelled: usize,
    /// Whether every order of ours is confirmed closed.
    confirmed: bool,
    /// Orders that may still be open (one line each).
    unconfirmed: Vec<String>,
}

/// Halts trading as SIGUSR1 does and answers once the sweep is done. The halt runs in a
/// task of its own: a client that goes away does not cut the sweep short.
async fn halt(
    State(ops): State<Ops>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refused(peer, &headers) {
        return refusal;
    }
    let Some(trading) = ops.health.trading().cloned() else {
        return not_trading();
    };
    let swept = tokio::spawn(async move {
        trading_halt::halt(&trading.private, &trading.counts, "POST /halt").await
    })
    .await;
    match swept {
        Ok(Ok(sweep)) => json(
            StatusCode::OK,
            &Halted {
                halted: true,
                cancelled: sweep.cancelled,
                confirmed: sweep.confirmed,
                unconfirmed: sweep.unconfirmed.into_iter().chain(sweep.note).collect(),
            },
        ),
        Ok(Err(error)) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({ "error": crate::logging::redact(&error.to_string()) }),
        ),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Resumes trading as SIGUSR2 does.
async fn resume(
    State(ops): State<Ops>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refused(peer, &headers) {
        return refusal;
    }
    let Some(trading) = ops.health.trading() else {
        return not_trading();
    };
    trading_halt::resume(&trading.private, &trading.counts, "POST /resume");
    json(StatusCode::OK, &serde_json::json!({ "halted": false }))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use axum::body::Body;
    use axum::extract::connect_info::MockConnectInfo;
    use axum::http::{Request, StatusCode};
    use tower_service::Service;

    use super::{Ops, is_loopback, router};
    use crate::health::Health;
    use crate::metrics_export::MetricsExport;

    #[test]
    fn loopback_peers_are_this_machine_only() {
        for peer in [
            "127.0.0.1:1",
            "127.8.9.10:1",
            "[::1]:1",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(is_loopback(peer.parse().unwrap()), "{peer}");
        }
        for peer in [
            "10.0.0.7:1",
            "0.0.0.0:1",
            "[::ffff:10.0.0.7]:1",
            "[fe80::1]:1",
        ] {
            assert!(!is_loopback(peer.parse().unwrap()), "{peer}");
        }
    }

    async fn answer(peer: &str, request: Request<Body>) -> StatusCode {
        let peer: SocketAddr = peer.parse().unwrap();
        let ops = Ops {
            health: Arc::new(Health::default()),
            metrics: MetricsExport::unrecorded(),
        };
        let mut app = router(ops).layer(MockConnectInfo(peer));
        app.call(request).await.unwrap().status()
    }

    fn post(path: &str) -> Request<Body> {
        Request::post(path).body(Body::empty()).unwrap()
    }

    /// A remote peer (the listener bound beyond loopback with --metrics-allow-remote) may
    /// read the health, never halt or resume; a browser on this machine neither.
    #[tokio::test]
    async fn halt_and_resume_refuse_remote_peers_and_browsers() {
        for path in ["/halt", "/resume"] {
            assert_eq!(
                answer("10.1.2.3:4000", post(path)).await,
                StatusCode::FORBIDDEN
            );
            assert_eq!(
                answer("[::ffff:192.168.1.9]:4000", post(path)).await,
                StatusCode::FORBIDDEN
            );
            let from_a_page = Request::post(path)
                .header("origin", "https://example.com")
                .body(Body::empty())
                .unwrap();
            assert_eq!(
                answer("127.0.0.1:4000", from_a_page).await,
                StatusCode::FORBIDDEN
            );
            // From this machine, before the exchanges exist: not refused, not trading yet.
            assert_eq!(
                answer("127.0.0.1:4000", post(path)).await,
                StatusCode::SERVICE_UNAVAILABLE
            );
            // Only POST.
            let get = Request::get(path).body(Body::empty()).unwrap();
            assert_eq!(
                answer("127.0.0.1:4000", get).await,
                StatusCode::METHOD_NOT_ALLOWED
            );
        }
        let readyz = Request::get("/readyz").body(Body::empty()).unwrap();
        assert_eq!(
            answer("10.1.2.3:4000", readyz).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let livez = Request::get("/livez").body(Body::empty()).unwrap();
        assert_eq!(answer("10.1.2.3:4000", livez).await, StatusCode::OK);
    }
}
