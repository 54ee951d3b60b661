//! The HTTP transport seam under [`MexcRestClient`](crate::MexcRestClient) (a seam so the real
//! client can run inside a deterministic network simulation: the `simulation` feature's
//! turmoil transport; reqwest is the default): one request in (method, URL, the API-key header, the content type),
//! status, headers and body out.
//!
//! reqwest takes no custom transport, so the seam sits under the client instead: production
//! sends through reqwest (rustls, pooled keep-alive connections), a simulation through a
//! hyper-util client over turmoil's `TcpStream` (feature `simulation`). Everything that
//! makes a call a MEXC call stays above the seam and is the same code on both: the rate
//! limiter, the URL and its signature, the request timeout, the classification of statuses
//! and errors ("outcome unknown" for order calls that may have been written).
//!
//! The rule next to this seam: no code of the stack opens its own HTTP connection or calls
//! `tokio::net::TcpStream::connect` (`.ci/check-seams` fails CI on one outside the seam
//! modules); wall time comes from `lifecycle_core::WallClock`.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Url};

/// The venue's API-key header.
const API_KEY_HEADER: &str = "X-MEXC-APIKEY";
/// The user agent of every request.
const USER_AGENT: &str = concat!("quiesce-exchange-rest/", env!("CARGO_PKG_VERSION"));

/// Which HTTP transport a [`MexcRestClient`](crate::MexcRestClient) sends through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestTransport {
    /// reqwest over rustls: the default.
    #[default]
    Reqwest,
    /// A hyper-util client over turmoil's simulated TCP: the base URL's host is a turmoil
    /// host name. Only inside a turmoil simulation; feature `simulation`.
    #[cfg(feature = "simulation")]
    Turmoil,
}

/// Settings the transports share (from the client's configuration).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TransportSettings {
    pub(crate) connect_timeout: Duration,
    pub(crate) pool_idle_timeout: Duration,
    pub(crate) pool_max_idle_per_host: usize,
    /// Every base URL is on this machine: no proxy.
    pub(crate) loopback: bool,
}

/// One request.
#[derive(Debug)]
pub(crate) struct HttpRequest {
    pub(crate) method: Method,
    pub(crate) url: Url,
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
    /// The error and its sources, without the URL (it carries the signature).
    pub(crate) text: String,
}

/// The TLS configuration of the reqwest transport: rustls with ring (the provider exchange-ws
/// uses too, so one is built) and the webpki roots, with the provider passed explicitly so it
/// never depends on a process default.
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
    Reqwest(reqwest::Client),
    #[cfg(feature = "simulation")]
    Turmoil(turmoil_http::TurmoilHttp),
}

impl HttpTransport {
    /// Builds the transport `kind` with `settings`.
    pub(crate) fn build(kind: RestTransport, settings: TransportSettings) -> Result<Self, String> {
        match kind {
            RestTransport::Reqwest => {
                let mut builder = reqwest::Client::builder()
                    .connect_timeout(settings.connect_timeout)
                    .pool_idle_timeout(settings.pool_idle_timeout)
                    .pool_max_idle_per_host(settings.pool_max_idle_per_host)
                    .tcp_nodelay(true)
                    .user_agent(USER_AGENT)
                    .tls_backend_preconfigured(tls_config().map_err(|e| e.to_string())?);
                if settings.loopback {
                    builder = builder.no_proxy();
                }
                builder
                    .build()
                    .map(Self::Reqwest)
                    .map_err(|e| e.to_string())
            }
            #[cfg(feature = "simulation")]
            RestTransport::Turmoil => Ok(Self::Turmoil(turmoil_http::TurmoilHttp::new(settings))),
        }
    }

    /// Sends `request` and reads the whole answer (the caller bounds the time).
    pub(crate) async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        match self {
            Self::Reqwest(client) => {
                let mut builder = client.request(request.method, request.url);
                if let Some(key) = request.api_key {
                    builder = builder.header(API_KEY_HEADER, key);
                }
                if request.json {
                    builder =
                        builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                let exchange = async {
                    let mut response = builder.send().await?;
                    let status = response.status().as_u16();
                    let headers = std::mem::take(response.headers_mut());
                    let body = response.bytes().await?;
                    Ok::<_, reqwest::Error>(HttpResponse {
                        status,
                        headers,
                        body,
                    })
                };
                exchange.await.map_err(|error| {
                    let error = error.without_url();
                    TransportError {
                        never_sent: error.is_connect() || error.is_builder(),
                        timeout: error.is_timeout(),
                        text: error_chain(&error),
                    }
                })
            }
            #[cfg(feature = "simulation")]
            Self::Turmoil(client) => client.send(request).await,
        }
    }
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
    //! The simulated transport: hyper-util's pooled client over turmoil's `TcpStream`
    //! (turmoil's own axum example shows the connector).

    use std::future::Future;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty};
    use hyper::Uri;
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::{Connected, Connection};
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use reqwest::header::{CONTENT_TYPE, HeaderValue, USER_AGENT as USER_AGENT_HEADER};

    use super::{
        API_KEY_HEADER, HttpRequest, HttpResponse, TransportError, TransportSettings, USER_AGENT,
        error_chain,
    };

    /// hyper-util's client over turmoil.
    #[derive(Debug, Clone)]
    pub(crate) struct TurmoilHttp {
        client: Client<TurmoilConnector, Empty<Bytes>>,
    }

    impl TurmoilHttp {
        pub(crate) fn new(settings: TransportSettings) -> Self {
            let client = Client::builder(TokioExecutor::new())
                .pool_idle_timeout(settings.pool_idle_timeout)
                .pool_max_idle_per_host(settings.pool_max_idle_per_host)
                .pool_timer(TokioTimer::new())
                .timer(TokioTimer::new())
                .build(TurmoilConnector {
                    connect_timeout: settings.connect_timeout,
                });
            Self { client }
        }

        pub(crate) async fn send(
            &self,
            request: HttpRequest,
        ) -> Result<HttpResponse, TransportError> {
            let failed =
                |never_sent: bool, error: &(dyn std::error::Error + 'static)| TransportError {
                    never_sent,
                    timeout: is_timeout(error),
                    text: error_chain(error),
                };
            let uri: Uri = request
                .url
                .as_str()
                .parse()
                .map_err(|e: hyper::http::uri::InvalidUri| failed(true, &e))?;
            let mut builder = hyper::Request::builder()
                .method(request.method)
                .uri(uri)
                .header(USER_AGENT_HEADER, HeaderValue::from_static(USER_AGENT));
            if let Some(key) = request.api_key {
                builder = builder.header(API_KEY_HEADER, key);
            }
            if request.json {
                builder =
                    builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            let http_request = builder.body(Empty::new()).map_err(|e| failed(true, &e))?;
            let response = self
                .client
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
    }

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

    /// Dials the URI's host (a turmoil host name) and port within the connect timeout.
    #[derive(Debug, Clone)]
    pub(crate) struct TurmoilConnector {
        connect_timeout: std::time::Duration,
    }

    impl tower_service::Service<Uri> for TurmoilConnector {
        type Response = TurmoilIo;
        type Error = io::Error;
        type Future = Pin<Box<dyn Future<Output = io::Result<TurmoilIo>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, uri: Uri) -> Self::Future {
            let timeout = self.connect_timeout;
            Box::pin(async move {
                let host = uri
                    .host()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no host"))?;
                let port = uri.port_u16().unwrap_or(80);
                let address = format!("{host}:{port}");
                let connect = turmoil::net::TcpStream::connect(address);
                let stream = tokio::time::timeout(timeout, connect)
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
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
