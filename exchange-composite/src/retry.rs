//! [`retry_transient`]: retries a call that failed for a passing reason (rate limited, 5xx,
//! timeout, broken connection) until a deadline, so a start does not fail on one 429.

use std::future::Future;
use std::time::Duration;

use exchange_rest::RestError;
use tokio::time::Instant;

use crate::error::ExchangeError;

/// First pause between attempts (doubled each time, at most [`MAX_PAUSE`]).
const FIRST_PAUSE: Duration = Duration::from_millis(50);
/// Longest pause between attempts (a `Retry-After` may ask for more).
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// Runs `call` until it succeeds, fails for good, or `deadline` passes (the last error is
/// returned). Only for calls that change nothing on the venue.
pub(crate) async fn retry_transient<T, F, Fut>(
    what: &str,
    deadline: Instant,
    mut call: F,
) -> Result<T, ExchangeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ExchangeError>>,
{
    let mut pause = FIRST_PAUSE;
    loop {
        let error = match call().await {
            Ok(value) => return Ok(value),
            Err(error) if error.is_transient() => error,
            Err(error) => return Err(error),
        };
        let wait = match &error {
            ExchangeError::Rest(RestError::RateLimited {
                retry_after: Some(after),
                ..
            }) => (*after).max(pause),
            _ => pause,
        };
        let next = Instant::now() + wait;
        if next >= deadline {
            return Err(error);
        }
        tracing::warn!(%error, retry_in_ms = wait.as_millis() as u64, "{what} failed: retrying");
        tokio::time::sleep_until(next).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// Runs a start hook's `body` unless a stop is requested first. A stop during start makes
/// the body give up at once with an error (its REST retries, its listen-key creation, its
/// connection attempts are dropped): the lifecycle counts a start that gives up on a stop
/// request as cancelled, not failed, and the undo steps the body registered run.
pub(crate) async fn give_up_on_stop<F>(
    ctx: &lifecycle_core::StartContext,
    component: &str,
    body: F,
) -> Result<(), lifecycle_core::BoxError>
where
    F: Future<Output = Result<(), lifecycle_core::BoxError>>,
{
    tokio::select! {
        biased;
        () = ctx.stop_signal() => {
            tracing::info!(component, "start given up: a stop was requested");
            Err(format!("{component}: start given up, a stop was requested").into())
        }
        result = body => result,
    }
}
