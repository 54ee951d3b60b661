#![allow(clippy::unwrap_used)]
//! Bodies the venue should never send, from a tiny local server: typed errors carrying the
//! status and a truncated body, never a panic; 418 pauses every scope.

mod common;

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use exchange_rest::limiter::Scope;
use exchange_rest::{Endpoint, NewOrderRequest, RateLimitSource, RestError, Side, UnknownCause};
use lifecycle_core::testing::within;
use rust_decimal::Decimal;

async fn serve() -> (String, tokio::task::JoinHandle<()>) {
    let huge = "x".repeat(100_000);
    let app = Router::new()
        .route("/api/v3/ping", get(|| async { "[1,2" }))
        .route("/api/v3/time", get(|| async { r#"{"serverTime":"soon"}"# }))
        .route("/api/v3/depth", get(move || async move { huge }))
        .route(
            "/api/v3/ticker/bookTicker",
            get(|| async { (StatusCode::NOT_FOUND, "<html>nope</html>") }),
        )
        .route(
            "/api/v3/exchangeInfo",
            get(|| async {
                (
                    StatusCode::IM_A_TEAPOT,
                    [(header::RETRY_AFTER, "7")],
                    r#"{"code":418,"msg":"banned"}"#,
                )
            }),
        )
        .route(
            "/api/v3/order",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "<html>oops</html>") }),
        )
        .route(
            "/api/v3/account",
            get(|| async { r#"{"code":700002,"msg":"Signature for this request is not valid."}"# }),
        );
    common::serve_stub(app).await
}

#[tokio::test]
async fn malformed_answers_are_typed_errors() {
    within(Duration::from_secs(10), async {
        let (url, server) = serve().await;
        let (client, limiter) = common::client_of_stub(url).await;

        assert!(matches!(client.ping().await, Err(RestError::Decode { status: 200, ref body, .. }) if body == "[1,2"));
        assert!(matches!(client.server_time().await, Err(RestError::Decode { status: 200, .. })));
        match client.depth("HIFIUSDT", None).await {
            Err(RestError::Decode { status: 200, body, reason }) => {
                assert!(body.len() <= 515, "truncated: {}", body.len());
                assert!(body.ends_with("..."));
                assert!(!reason.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            client.book_ticker("HIFIUSDT").await,
            Err(RestError::Rejected(e)) if e.status == 404 && e.msg.contains("nope")
        ));
        // A MEXC error object inside a 200.
        assert!(matches!(client.account().await, Err(RestError::Authentication(e)) if e.code == 700002));
        // 5xx with an HTML body on an order: unknown outcome, body kept.
        let order = NewOrderRequest::limit("HIFIUSDT", Side::Buy, Decimal::new(1, 1), Decimal::TEN);
        assert_eq!(
            client.place_order(&order).await.unwrap_err(),
            RestError::OutcomeUnknown {
                endpoint: Endpoint::NewOrder,
                cause: UnknownCause::ServerError {
                    status: 500,
                    body: "<html>oops</html>".into()
                }
            }
        );
        // 418: an IP ban pauses every scope for its Retry-After.
        assert_eq!(
            client.exchange_info(&[]).await.unwrap_err(),
            RestError::RateLimited {
                by: RateLimitSource::VenueBan,
                retry_after: Some(Duration::from_secs(7))
            }
        );
        let stats = limiter.bucket_stats();
        assert!(stats.iter().all(|b| b.paused_for.is_some_and(|p| p > Duration::from_secs(6))));
        assert!(limiter.config().buckets().iter().any(|b| b.scope == Scope::Account));

        common::stop_cleanly(&client, &limiter).await;
        server.abort();
    })
    .await;
}
