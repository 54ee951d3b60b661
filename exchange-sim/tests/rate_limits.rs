//! REST rate limits: per endpoint and IP (public), per account (signed), 2/s on account.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn public_budget_per_endpoint() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let client = Client::demo(&sim);
        // exchangeInfo weighs 10: 50 calls use the 500 budget.
        for _ in 0..50 {
            assert_eq!(client.get("/api/v3/exchangeInfo").await.0, StatusCode::OK);
        }
        let response = test_support::get(format!("{}/api/v3/exchangeInfo", sim.rest_url()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=10).contains(&retry_after));
        assert_eq!(
            response.json::<serde_json::Value>().await.unwrap(),
            json!({"code": 429, "msg": "Too Many Requests"})
        );
        // Another endpoint has its own budget.
        assert_eq!(client.get("/api/v3/time").await.0, StatusCode::OK);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn signed_budget_per_account() {
    bounded(async {
        let sim = start_with(|c| c.rate_limits.budget = 6).await;
        let client = Client::demo(&sim);
        // openOrders weighs 3.
        for _ in 0..2 {
            assert_eq!(
                client
                    .signed(Method::GET, "/api/v3/openOrders", "symbol=HIFIUSDT")
                    .await
                    .0,
                StatusCode::OK
            );
        }
        let (status, body) = client
            .signed(Method::GET, "/api/v3/openOrders", "symbol=HIFIUSDT")
            .await;
        assert_eq!(
            (status, body["code"].clone()),
            (StatusCode::TOO_MANY_REQUESTS, json!(429))
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn account_two_per_second() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let client = Client::demo(&sim);
        assert_eq!(
            client.signed(Method::GET, "/api/v3/account", "").await.0,
            StatusCode::OK
        );
        let mut limited = false;
        for _ in 0..6 {
            if client.signed(Method::GET, "/api/v3/account", "").await.0
                == StatusCode::TOO_MANY_REQUESTS
            {
                limited = true;
            }
        }
        assert!(limited);
        sim.shutdown().await;
    })
    .await;
}
