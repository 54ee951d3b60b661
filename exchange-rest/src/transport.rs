//! The HTTP transport seam under [`MexcRestClient`](crate::MexcRestClient): one request in
//! (method, URI, the API-key header, the content type), status, headers and body out.
//!
//! One implementation: hyper-util's pooled HTTP/1.1 client, over TCP with rustls for `https`
//! (hyper-rustls; ring, the provider exchange-ws uses too) in production, or over turmoil's
//! simulated TCP (feature `simulation`, for deterministic network simulation). Everything
//! that makes a call a MEXC call stays above the seam and is the same code on both: the rate
//! limiter, the URL and its signature, the request timeout, the classification of statuses
//! and errors ("outcome unknown" for order calls that may have been written).
//!
//! Why not reqwest: on an order's path its layers cost more than the rest of our REST client
//! together (it parses each request's URL twice more for its redirect policy, clones the
//! header map, and runs a retry layer), measured in the `tick_to_order` bench; and a trading
//! client must neither follow a redirect (a 307 re-sends a signed order somewhere else) nor
//! retry on its own. So: redirects are answers (a 3xx is classified like any other status),
//! nothing that may have been written is retried below
//! [`MexcRestClient`](crate::MexcRestClient) (hyper-util re-sends a request only when the
//! idle pooled connection it was given turned out unusable before a byte of it was
//! written), and no proxy is used (`HTTP_PROXY` and the like are not read: the client
//! connects to the venue directly).
//!
//! The rule next to this seam: no code of the stack opens its own HTTP connection or calls
//! `tokio::net::TcpStream::connect` (`.ci/check-seams` fails CI on one outside the seam
//! modules); wall time comes from `lifecycle_core::WallClock`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{
    CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT as USER_AGENT_HEADER,
};
use hyper::{Method, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// The venue's API-key header, `X-MEXC-APIKEY` (header names are case-insensitive; a
/// constant name is neither parsed nor allocated per request).
const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-mexc-apikey");
/// The user agent of every request.
const USER_AGENT: &str = concat!("quiesce-exchange-rest/", env!("CARGO_PKG_VERSION"));

/// Which HTTP transport a [`MexcRestClient`](crate::MexcRestClient) sends through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestTransport {
    /// TCP, with rustls for `https` URLs: the default.
    #[default]
    Tcp,
    /// turmoil's simulated TCP: the base URL's host is a turmoil host name. Only inside a
    /// turmoil simulation; feature `simulation`.
    #[cfg(feature = "simulation")]
    Turmoil,
}

/// Settings the transports share (from the client's configuration).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TransportSettings {
    pub(crate) connect_timeout: Duration,
    pub(crate) pool_idle_timeout: Duration,
    pub(crate) pool_max_idle_per_host: usize,
}

/// One request.
#[derive(Debug)]
pub(crate) struct HttpRequest {
    pub(crate) method: Method,
    /// Carries the signature: never logged, never put in an error.
    pub(crate) uri: Uri,
    /// Sent as `X-MEXC-APIKEY` (signed endpoints).
    pub(crate) api_key: Option<HeaderValue>,
    /// Sends `Content-Type: application/json` (an empty body; MEXC's clients do).
    pub(crate) json: bool,
}

/// The answer: status, headers and the whole body.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Why a request got no answer.
#[derive(Debug)]
pub(crate) struct TransportError {
    /// The request cannot have reached the venue (connect or build failure).
    pub(crate) never_sent: bool,
    /// A timeout inside the transport (the connect timeout).
    pub(crate) timeout: bool,
    /// The error and its sources (hyper's errors carry no URI, so no signature).
    pub(crate) text: String,
}

/// The TLS configuration: rustls with ring (the provider exchange-ws uses too, so one is
/// built) and the webpki roots, with the provider passed explicitly so it never depends on a
/// process default.
fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A built transport (cheap to clone; dropping the last clone closes its connections).
#[derive(Debug, Clone)]
pub(crate) enum HttpTransport {
    Tcp(Client<BoundedConnect<HttpsConnector<HttpConnector>>, Empty<Bytes>>),
    #[cfg(feature = "simulation")]
    Turmoil(Client<BoundedConnect<turmoil_http::TurmoilConnector>, Empty<Bytes>>),
}

impl HttpTransport {
    /// Builds the transport `kind` with `settings`.
    pub(crate) fn build(kind: RestTransport, settings: TransportSettings) -> Result<Self, String> {
        let mut pool = Client::builder(TokioExecutor::new());
        pool.pool_idle_timeout(settings.pool_idle_timeout)
            .pool_max_idle_per_host(settings.pool_max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new());
        match kind {
            RestTransport::Tcp => {
                let mut tcp = HttpConnector::new();
                tcp.enforce_http(false);
                tcp.set_nodelay(true);
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(tls_config().map_err(|e| e.to_string())?)
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(tcp);
                Ok(Self::Tcp(pool.build(BoundedConnect {
                    inner: connector,
                    timeout: settings.connect_timeout,
                })))
            }
            #[cfg(feature = "simulation")]
            RestTransport::Turmoil => Ok(Self::Turmoil(pool.build(BoundedConnect {
                inner: turmoil_http::TurmoilConnector,
                timeout: settings.connect_timeout,
            }))),
        }
    }

    /// Sends `request` and reads the whole answer (the caller bounds the time).
    pub(crate) async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        match self {
            Self::Tcp(client) => exchange(client, request).await,
            #[cfg(feature = "simulation")]
            Self::Turmoil(client) => exchange(client, request).await,
        }
    }
}

/// A connector whose whole connect, TCP and (for `https`) the TLS handshake together, must
/// be done within `timeout`: a call that never got a connection fails as a connect error
/// ("never sent", so an order is known not to be placed) at the connect timeout, not at the
/// far longer request timeout as an unknown outcome.
#[derive(Debug, Clone)]
pub(crate) struct BoundedConnect<C> {
    inner: C,
    timeout: Duration,
}

/// What a connector's error becomes.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<C> tower_service::Service<Uri> for BoundedConnect<C>
where
    C: tower_service::Service<Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_elapsed) => Err(Box::new(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connect (TCP and TLS) timed out",
                )) as BoxError),
            }
        })
    }
}

/// One request and its whole answer on `client`.
async fn exchange<C>(
    client: &Client<C, Empty<Bytes>>,
    request: HttpRequest,
) -> Result<HttpResponse, TransportError>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let failed = |never_sent: bool, error: &(dyn std::error::Error + 'static)| TransportError {
        never_sent,
        timeout: is_timeout(error),
        text: error_chain(error),
    };
    let mut builder = hyper::Request::builder()
        .method(request.method)
        .uri(request.uri)
        .header(USER_AGENT_HEADER, HeaderValue::from_static(USER_AGENT));
    if let Some(key) = request.api_key {
        builder = builder.header(API_KEY_HEADER, key);
    }
    if request.json {
        builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let http_request = builder.body(Empty::new()).map_err(|e| failed(true, &e))?;
    let response = client
        .request(http_request)
        .await
        .map_err(|e| failed(e.is_connect(), &e))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| failed(false, &e))?
        .to_bytes();
    Ok(HttpResponse {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// Whether `error` or one of its sources is an I/O timeout (the connect timeout).
fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::TimedOut)
        {
            return true;
        }
        current = error.source();
    }
    false
}

/// An error and its sources, joined with `: `.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(feature = "simulation")]
mod turmoil_http {
    //! The simulated connection: turmoil's `TcpStream` under the same hyper-util client
    //! (turmoil's own axum example shows the connector).

    use std::future::Future;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use hyper::Uri;
    use hyper_util::client::legacy::connect::{Connected, Connection};
    use hyper_util::rt::TokioIo;

    /// Dials the URI's host (a turmoil host name) and port (bounded by the
    /// [`BoundedConnect`](super::BoundedConnect) around it).
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct TurmoilConnector;

    impl tower_service::Service<Uri> for TurmoilConnector {
        type Response = TurmoilIo;
        type Error = io::Error;
        type Future = Pin<Box<dyn Future<Output = io::Result<TurmoilIo>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, uri: Uri) -> Self::Future {
            Box::pin(async move {
                let host = uri
                    .host()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no host"))?;
                let port = uri.port_u16().unwrap_or(80);
                let stream = turmoil::net::TcpStream::connect(format!("{host}:{port}")).await?;
                stream.set_nodelay(true)?;
                Ok(TurmoilIo(TokioIo::new(stream)))
            })
        }
    }

    /// turmoil's stream as hyper's IO.
    #[derive(Debug)]
    pub(crate) struct TurmoilIo(TokioIo<turmoil::net::TcpStream>);

    impl Connection for TurmoilIo {
        fn connected(&self) -> Connected {
            Connected::new()
        }
    }

    impl hyper::rt::Read for TurmoilIo {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: hyper::rt::ReadBufCursor<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    impl hyper::rt::Write for TurmoilIo {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_shutdown(cx)
        }
    }
}
