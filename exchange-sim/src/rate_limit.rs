//! REST rate limits: a weighted fixed-window budget per endpoint and per IP (public) or
//! account (signed), plus a per-second cap on the account endpoint.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::accounts::AccountId;
use crate::config::RateLimitConfig;
use crate::error::ApiError;

/// Who a budget belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A client IP (public endpoints).
    Ip(IpAddr),
    /// An account (signed endpoints).
    Account(AccountId),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    used: u32,
}

impl Window {
    /// Charge `weight` against `budget` per `length`; `Err(retry_after)` if over budget.
    fn charge(
        &mut self,
        now: Instant,
        length: Duration,
        weight: u32,
        budget: u32,
    ) -> Result<(), Duration> {
        if now.duration_since(self.start) >= length {
            self.start = now;
            self.used = 0;
        }
        if self.used + weight > budget {
            return Err(length.saturating_sub(now.duration_since(self.start)));
        }
        self.used += weight;
        Ok(())
    }
}

/// The venue's rate limiter.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    windows: Mutex<HashMap<(Scope, &'static str), Window>>,
}

impl RateLimiter {
    /// A limiter with this configuration.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Charge one request of `weight` to `endpoint` for `scope`; HTTP 429 with `Retry-After`
    /// when over budget.
    pub fn charge(
        &self,
        scope: Scope,
        endpoint: &'static str,
        weight: u32,
    ) -> Result<(), ApiError> {
        if !self.config.enabled {
            return Ok(());
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = Window {
            start: now,
            used: 0,
        };
        let result = windows.entry((scope, endpoint)).or_insert(fresh).charge(
            now,
            self.config.window,
            weight,
            self.config.budget,
        );
        let result = result.and_then(|()| {
            if endpoint == ACCOUNT_ENDPOINT {
                windows
                    .entry((scope, ACCOUNT_PER_SECOND))
                    .or_insert(fresh)
                    .charge(
                        now,
                        Duration::from_secs(1),
                        1,
                        self.config.account_per_second,
                    )
            } else {
                Ok(())
            }
        });
        result.map_err(|retry_after| {
            ApiError::too_many_requests(retry_after.as_secs_f64().ceil() as u64)
        })
    }
}

/// Endpoint key of `GET /api/v3/account`, which also has a per-second cap.
pub const ACCOUNT_ENDPOINT: &str = "GET /api/v3/account";
const ACCOUNT_PER_SECOND: &str = "GET /api/v3/account (per second)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_then_429() {
        let limiter = RateLimiter::new(RateLimitConfig::default());
        let scope = Scope::Ip(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..50 {
            limiter
                .charge(scope, "GET /api/v3/exchangeInfo", 10)
                .unwrap();
        }
        let err = limiter
            .charge(scope, "GET /api/v3/exchangeInfo", 10)
            .unwrap_err();
        assert_eq!(err.code, 429);
        assert!(err.retry_after_secs.unwrap() >= 1);
        // Other endpoints and scopes have their own budgets.
        limiter.charge(scope, "GET /api/v3/depth", 1).unwrap();
        limiter
            .charge(
                Scope::Ip(IpAddr::from([127, 0, 0, 2])),
                "GET /api/v3/exchangeInfo",
                10,
            )
            .unwrap();
    }

    #[test]
    fn account_two_per_second() {
        let limiter = RateLimiter::new(RateLimitConfig::default());
        let scope = Scope::Account(AccountId(0));
        limiter.charge(scope, ACCOUNT_ENDPOINT, 10).unwrap();
        limiter.charge(scope, ACCOUNT_ENDPOINT, 10).unwrap();
        assert_eq!(
            limiter
                .charge(scope, ACCOUNT_ENDPOINT, 10)
                .unwrap_err()
                .code,
            429
        );
    }

    #[test]
    fn disabled_never_limits() {
        let limiter = RateLimiter::new(RateLimitConfig::disabled());
        for _ in 0..1000 {
            limiter
                .charge(Scope::Account(AccountId(0)), ACCOUNT_ENDPOINT, 10)
                .unwrap();
        }
    }
}
