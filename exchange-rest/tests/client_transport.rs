#![allow(clippy::unwrap_used)]
//! What the transport does with a venue's answers about the request and the connection: a
//! redirect is an answer, never followed (a 307 on an order would otherwise re-send the
//! signed order to wherever `Location` points, as reqwest, the transport before, did up to
//! ten times; a 302 on a query would read another resource's body as ours), and a venue that
//! closes each connection after its answer is reached again on a new one.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::{any, get, post};
use exchange_rest::{NewOrderRequest, RestError, Side};
use lifecycle_core::testing::within;
use rust_decimal::Decimal;

/// A venue whose order and depth endpoints redirect to `/elsewhere`, which counts its hits.
async fn serve(hits: Arc<AtomicUsize>) -> (String, tokio::task::JoinHandle<()>) {
    let app = Router::new()
        .route(
            "/api/v3/order",
            post(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, "/elsewhere")],
                    "",
                )
            }),
        )
        .route(
            "/api/v3/depth",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/elsewhere")], "") }),
        )
        .route(
            "/elsewhere",
            any(move || async move {
                hits.fetch_add(1, Ordering::SeqCst);
                r#"{"orderId":"1","symbol":"HIFIUSDT","bids":[],"asks":[],"lastUpdateId":1}"#
            }),
        );
    common::serve_stub(app).await
}

#[tokio::test]
async fn a_redirect_is_reported_as_the_answer_and_nothing_is_sent_to_its_location() {
    within(Duration::from_secs(10), async {
        let hits = Arc::new(AtomicUsize::new(0));
        let (url, server) = serve(hits.clone()).await;
        let (client, limiter) = common::client_of_stub(url).await;

        let order = NewOrderRequest::limit("HIFIUSDT", Side::Buy, Decimal::new(1, 1), Decimal::TEN);
        match client.place_order(&order).await {
            Err(RestError::Rejected(error)) => assert_eq!(error.status, 307),
            other => panic!("expected the 307 itself, got {other:?}"),
        }
        match client.depth("HIFIUSDT", None).await {
            Err(RestError::Rejected(error)) => assert_eq!(error.status, 302),
            other => panic!("expected the 302 itself, got {other:?}"),
        }
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "no request followed a redirect"
        );

        common::stop_cleanly(&client, &limiter).await;
        server.abort();
    })
    .await;
}

#[tokio::test]
async fn a_venue_that_closes_every_connection_after_its_answer_is_still_reached() {
    within(Duration::from_secs(10), async {
        let answers = Arc::new(AtomicUsize::new(0));
        let counted = answers.clone();
        let app = Router::new().route(
            "/api/v3/ping",
            get(move || async move {
                counted.fetch_add(1, Ordering::SeqCst);
                ([(header::CONNECTION, "close")], "{}")
            }),
        );
        let (url, server) = common::serve_stub(app).await;
        let (client, limiter) = common::client_of_stub(url).await;
        for _ in 0..3 {
            client.ping().await.unwrap();
        }
        assert_eq!(
            answers.load(Ordering::SeqCst),
            3,
            "each call on a fresh connection"
        );
        common::stop_cleanly(&client, &limiter).await;
        server.abort();
    })
    .await;
}
