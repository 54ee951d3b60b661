//! Dev-only helpers shared by the workspace's tests and benches.
//!
//! The workspace builds one TLS crypto provider, ring, and reqwest without a provider of its
//! own: a `reqwest::Client::new()` would find none and panic. Tests and benches that talk
//! HTTP directly (to the embedded venue, or as a bare anchor) build their clients here.
#![allow(
    clippy::panic,
    reason = "dev-only helpers: a broken test set-up panics at once"
)]

/// rustls with ring and the webpki roots, the provider passed explicitly.
///
/// # Panics
/// If rustls refuses its own safe default protocol versions with ring (it does not).
#[must_use]
pub fn tls_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("ring supports rustls' default protocol versions: {e}"))
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A reqwest client builder with [`tls_config`], for tests that set more options.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(tls_config())
}

/// A plain reqwest client (what `reqwest::Client::new()` gives, with [`tls_config`]).
///
/// # Panics
/// If reqwest cannot build a client (it fails only on a broken TLS configuration).
#[must_use]
pub fn http_client() -> reqwest::Client {
    http_client_builder()
        .build()
        .unwrap_or_else(|e| panic!("a reqwest client builds: {e}"))
}

/// `GET url` with a fresh [`http_client`] (what `reqwest::get` does).
///
/// # Errors
/// What `reqwest` returns for the request.
pub async fn get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    http_client().get(url).send().await
}
