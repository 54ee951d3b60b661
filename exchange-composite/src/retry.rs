//! [`retry_transient`]: retries a call that failed for a passing reason (rate limited, 5xx,
//! timeout, broken connection) until a deadline, so a start does not fail on one 429.

use std::future::Future;
use std::time::Duration;

use exchange_rest::RestError;
use lifecycle_core::Backoff;
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
    // No jitter: a start's retries are few, and the simulation search replays them exactly.
    let mut backoff = Backoff::new(FIRST_PAUSE, MAX_PAUSE);
    loop {
        let error = match call().await {
            Ok(value) => return Ok(value),
            Err(error) if error.is_transient() => error,
            Err(error) => return Err(error),
        };
        let pause = backoff.next_delay();
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use exchange_rest::RateLimitSource;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pauses_double_from_50_ms_to_2_s_and_a_longer_retry_after_wins() {
        lifecycle_core::testing::within(LIMIT, pauses_double()).await;
    }

    /// What a test may take (paused clock: a hang would reach it at once).
    const LIMIT: Duration = Duration::from_secs(600);

    async fn pauses_double() {
        let begun = Instant::now();
        let calls = Mutex::new(Vec::new());
        let result = retry_transient("probe", begun + Duration::from_secs(60), || {
            let mut calls = calls
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            calls.push(Instant::now() - begun);
            let attempt = calls.len();
            async move {
                match attempt {
                    1..=7 => Err(ExchangeError::Rest(RestError::Timeout)),
                    8 => Err(ExchangeError::Rest(RestError::RateLimited {
                        by: RateLimitSource::Venue,
                        retry_after: Some(Duration::from_secs(5)),
                    })),
                    _ => Ok(attempt),
                }
            }
        })
        .await;
        assert_eq!(result.ok(), Some(9));
        let calls = calls
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let gaps: Vec<u64> = calls
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).as_millis() as u64)
            .collect();
        assert_eq!(gaps, [50, 100, 200, 400, 800, 1600, 2000, 5000]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_past_the_deadline_returns_the_last_error_and_a_lasting_one_at_once() {
        lifecycle_core::testing::within(LIMIT, past_the_deadline()).await;
    }

    async fn past_the_deadline() {
        let begun = Instant::now();
        let mut attempts = 0;
        let result: Result<(), _> =
            retry_transient("probe", begun + Duration::from_millis(120), || {
                attempts += 1;
                async { Err(ExchangeError::Rest(RestError::Timeout)) }
            })
            .await;
        assert!(matches!(
            result,
            Err(ExchangeError::Rest(RestError::Timeout))
        ));
        assert_eq!(
            attempts, 2,
            "at 0 and 50 ms; the next, at 150 ms, is past the deadline"
        );
        assert_eq!(Instant::now() - begun, Duration::from_millis(50));

        let mut attempts = 0;
        let lasting: Result<(), _> =
            retry_transient("probe", begun + Duration::from_secs(60), || {
                attempts += 1;
                async { Err(ExchangeError::Rest(RestError::Closed)) }
            })
            .await;
        assert!(matches!(
            lasting,
            Err(ExchangeError::Rest(RestError::Closed))
        ));
        assert_eq!(attempts, 1);
    }
}
