#![allow(clippy::unwrap_used)]
//! A call that cannot reach the venue is a definite failure, never an "outcome unknown"
//! order: a refused connection, and a TLS handshake that never completes (bounded by the
//! connect timeout, which covers TCP and TLS together, not by the much longer request
//! timeout).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use exchange_rest::{MexcRestClient, NewOrderRequest, RateLimiter, RestError, Side};
use lifecycle_core::testing::within;
use rust_decimal::Decimal;

const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);
/// Far longer than the test's bound: a call that waits for it fails the test.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The whole test's bound on a loaded machine (the connect timeout plus a wide slack).
const BOUND: Duration = Duration::from_secs(20);

async fn client(base_url: String) -> (MexcRestClient, Arc<RateLimiter>) {
    common::client_of_stub_with(base_url, |config| {
        config.connect_timeout = CONNECT_TIMEOUT;
        config.request_timeout = REQUEST_TIMEOUT;
    })
    .await
}

fn order() -> NewOrderRequest {
    NewOrderRequest::limit("HIFIUSDT", Side::Buy, Decimal::new(1, 1), Decimal::TEN)
}

#[tokio::test]
async fn an_order_to_a_refused_connection_is_a_transport_error_not_an_unknown_outcome() {
    within(BOUND, async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let (client, limiter) = client(format!("http://{address}")).await;
        match client.place_order(&order()).await {
            Err(RestError::Transport(text)) => assert!(!text.contains("signature"), "{text}"),
            other => panic!("expected a transport error, got {other:?}"),
        }
        common::stop_cleanly(&client, &limiter).await;
    })
    .await;
}

#[tokio::test]
async fn a_tls_handshake_that_never_completes_ends_at_the_connect_timeout_as_never_sent() {
    within(BOUND, async {
        // Accepts the TCP connection and never answers the TLS client hello.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let (client, limiter) = client(format!("https://{address}")).await;
        let started = Instant::now();
        let outcome = client.place_order(&order()).await;
        assert_eq!(
            outcome.unwrap_err(),
            RestError::Timeout,
            "the order was never written: a definite failure, not an unknown outcome"
        );
        assert!(
            started.elapsed() < REQUEST_TIMEOUT,
            "ended by the connect timeout, not the request timeout"
        );
        common::stop_cleanly(&client, &limiter).await;
        silent.abort();
    })
    .await;
}
