//! [`resent_until`]: a sweep's call (a cancel, a listing) sent again while no copy has
//! answered, because a request can be lost with no error ever coming back (sent into a
//! partition): a lost request must not hold the sweep to its deadline.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::time::Instant;

/// The shortest a sweep's call (a cancel, a listing) goes unanswered before it is sent again,
/// the first still waiting; each further wait is twice the one before.
const SWEEP_RESEND_AFTER_MIN: Duration = Duration::from_millis(250);
/// The longest first wait before a re-send.
const SWEEP_RESEND_AFTER_MAX: Duration = Duration::from_secs(4);
/// The first wait before a re-send is this fraction of the time left to the deadline
/// (within [`SWEEP_RESEND_AFTER_MIN`] and [`SWEEP_RESEND_AFTER_MAX`]).
const SWEEP_RESEND_DIVISOR: u32 = 4;
/// Attempts of one sweep call at most, the first included.
const SWEEP_ATTEMPTS: usize = 3;

/// How long the first attempt of a sweep call goes unanswered before it is sent again, with
/// `left` until the sweep's deadline: a quarter of it, from 250 ms to 4 s. A short budget
/// re-sends soon (a lost request must not hold it to its end); a long one does not triple
/// the load on a venue that is only slow (every call 3 s: re-sent after 250 ms, each cancel
/// went out three times and a round lasted until its last copy answered).
fn first_resend_after(left: Duration) -> Duration {
    (left / SWEEP_RESEND_DIVISOR).clamp(SWEEP_RESEND_AFTER_MIN, SWEEP_RESEND_AFTER_MAX)
}

/// The first success of `attempt`, sent again while no attempt has answered (after
/// [`first_resend_after`], then twice as long, up to [`SWEEP_ATTEMPTS`]), or an error;
/// `None` at `deadline` with no answer.
///
/// A request can be lost with no error ever coming back: sent into a partition on a
/// connection that does not recover, or a connect whose packets were dropped. Waiting for it
/// alone held a sweep's round, and so the whole sweep, until the deadline although the venue
/// was reachable again a moment later (simulation seeds 1442, 2992). A re-sent attempt goes
/// out on another connection; the earlier ones keep waiting, so a venue that is only slow
/// still answers the first. Every sweep call may be repeated: a cancel of a closed order is
/// answered "unknown order", a listing changes nothing.
///
/// Which error is returned:
/// - a passing one (a 429, a 5xx, a transport error) only once no attempt is left in flight:
///   another attempt may still succeed (the cancel that was carried out is the answer that
///   counts: an earlier 429 discarded it, and the 429-storm shutdown counted 0 cancelled);
/// - one that `settles` (the venue's "unknown order") ends the re-sending, and the copies
///   still in flight get a bounded wait: any of them may be the one that closed the order
///   (copies held together by the rate limiter reach the venue in any order: the later copy
///   cancelled, the earlier heard "unknown" and was counted closed, not cancelled, in a 429
///   storm under load). They are waited for until the latest of: half the settling
///   attempt's round trip from now, and for each, the time it was sent plus one and a half
///   of that round trip (a lost copy does not hold the call longer); then the settling error
///   stands.
pub(super) async fn resent_until<V, E, F, Fut>(
    deadline: Instant,
    settles: impl Fn(&E) -> bool,
    attempt: F,
) -> Option<Result<V, E>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<V, E>>,
{
    /// An error that settles the call, and until when the copies in flight are waited for.
    struct Settled<E> {
        others_until: Instant,
        error: E,
    }
    let tagged = |index: usize| {
        let answer = attempt();
        async move { (index, answer.await) }
    };
    let mut attempts = FuturesUnordered::new();
    let mut sent_at = vec![Instant::now()];
    let mut in_flight: BTreeSet<usize> = BTreeSet::from([0]);
    attempts.push(tagged(0));
    let mut wait = first_resend_after(deadline.saturating_duration_since(Instant::now()));
    let mut resend_at = Instant::now() + wait;
    let mut last_error = None;
    let mut settled: Option<Settled<E>> = None;
    loop {
        let timer = settled
            .as_ref()
            .map_or(resend_at, |s| s.others_until)
            .min(deadline);
        tokio::select! {
            biased;
            Some((index, answer)) = attempts.next() => {
                in_flight.remove(&index);
                match answer {
                    Ok(value) => return Some(Ok(value)),
                    Err(error) if settled.is_none() && settles(&error) => {
                        let now = Instant::now();
                        let round_trip = sent_at.get(index).map_or(Duration::ZERO, |at| now - *at);
                        let others_until = in_flight
                            .iter()
                            .filter_map(|i| sent_at.get(*i))
                            .map(|at| *at + round_trip + round_trip / 2)
                            .fold(now + round_trip / 2, Instant::max);
                        settled = Some(Settled { others_until, error });
                    }
                    Err(error) if settled.is_none() => last_error = Some(error),
                    Err(_) => {}
                }
                if in_flight.is_empty() {
                    return settled.map(|s| Err(s.error)).or_else(|| last_error.map(Err));
                }
            },
            () = tokio::time::sleep_until(timer) => {
                let now = Instant::now();
                if now >= deadline || settled.as_ref().is_some_and(|s| now >= s.others_until) {
                    return settled.map(|s| Err(s.error)).or_else(|| last_error.map(Err));
                }
                if attempts.len() < SWEEP_ATTEMPTS {
                    in_flight.insert(sent_at.len());
                    attempts.push(tagged(sent_at.len()));
                    sent_at.push(now);
                }
                wait *= 2;
                resend_at = now + wait;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// How one attempt of a call behaves: `None` never answers, else the answer after a delay.
    type Script = Vec<Option<(Duration, Result<u32, &'static str>)>>;

    /// Calls `resent_until` with attempts that behave as `script` says (attempts past its end
    /// never answer), an "unknown" error settling the call; returns the answer, the attempts
    /// sent and when it returned.
    async fn scripted(
        deadline_in: Duration,
        script: Script,
    ) -> (Option<Result<u32, &'static str>>, u32, Duration) {
        let sent = AtomicU32::new(0);
        let began = Instant::now();
        let answer = resent_until(
            began + deadline_in,
            |e: &&str| *e == "unknown",
            || {
                let n = sent.fetch_add(1, Ordering::SeqCst);
                let step = script.get(n as usize).cloned().flatten();
                async move {
                    let Some((after, answer)) = step else {
                        return std::future::pending().await;
                    };
                    tokio::time::sleep(after).await;
                    answer
                }
            },
        )
        .await;
        (answer, sent.load(Ordering::SeqCst), began.elapsed())
    }

    /// Attempts that each answer `Ok(n)` after `latency`, except the first `lost`.
    async fn run(
        deadline_in: Duration,
        latency: Duration,
        lost: u32,
    ) -> (Option<u32>, u32, Duration) {
        let script = (0..SWEEP_ATTEMPTS as u32)
            .map(|n| (n >= lost).then_some((latency, Ok(n))))
            .collect();
        let (answer, sent, took) = scripted(deadline_in, script).await;
        (answer.map(Result::unwrap), sent, took)
    }

    #[test]
    fn the_first_resend_is_a_quarter_of_what_is_left_within_bounds() {
        assert_eq!(first_resend_after(Duration::ZERO), SWEEP_RESEND_AFTER_MIN);
        assert_eq!(
            first_resend_after(Duration::from_millis(900)),
            SWEEP_RESEND_AFTER_MIN
        );
        assert_eq!(
            first_resend_after(Duration::from_secs(4)),
            Duration::from_secs(1)
        );
        assert_eq!(
            first_resend_after(Duration::from_secs(60)),
            SWEEP_RESEND_AFTER_MAX
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_venue_with_time_to_spare_gets_each_call_once() {
        // 1 s answers, 12 s left: the first re-send would be after 3 s.
        let (answer, sent, took) = run(Duration::from_secs(12), Duration::from_secs(1), 0).await;
        assert_eq!((answer, sent, took), (Some(0), 1, Duration::from_secs(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_call_is_sent_again_and_the_copy_answers() {
        // 1 s left: re-sent after 250 ms, answered 10 ms later.
        let (answer, sent, took) = run(Duration::from_secs(1), Duration::from_millis(10), 1).await;
        assert_eq!((answer, sent), (Some(1), 2));
        assert_eq!(took, Duration::from_millis(260));
    }

    #[tokio::test(start_paused = true)]
    async fn copies_stop_at_three_and_nothing_answers_after_the_deadline() {
        // 2 s left: copies at 0, 500 ms and 1.5 s.
        let (answer, sent, took) = run(Duration::from_secs(2), Duration::ZERO, u32::MAX).await;
        assert_eq!((answer, sent, took), (None, 3, Duration::from_secs(2)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_copy_s_cancel_outweighs_an_earlier_copy_s_unknown_order() {
        // Both copies are held (by the rate limiter) and reach the venue together: the copy
        // sent at 250 ms is carried out and answers at 510 ms, the first hears "unknown
        // order" at 505 ms. The cancel counts.
        let script = vec![
            Some((Duration::from_millis(505), Err("unknown"))),
            Some((Duration::from_millis(260), Ok(1))),
        ];
        let (answer, sent, took) = scripted(Duration::from_secs(1), script).await;
        assert_eq!(
            (answer, sent, took),
            (Some(Ok(1)), 2, Duration::from_millis(510))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_order_waits_for_the_copies_in_flight_a_bounded_time() {
        // The first copy is lost; the second (250 ms) hears "unknown" at 260 ms: the lost
        // copy gets half that round trip more (265 ms), and no third copy goes out.
        let script = vec![None, Some((Duration::from_millis(10), Err("unknown")))];
        let (answer, sent, took) = scripted(Duration::from_secs(1), script).await;
        assert_eq!(
            (answer, sent, took),
            (Some(Err("unknown")), 2, Duration::from_millis(265))
        );
        // The first copy hears "unknown" at 300 ms; the second, sent at 250 ms, is expected
        // by 250 + 450 ms and answers only at 1.25 s: the "unknown" stands at 700 ms.
        let script = vec![
            Some((Duration::from_millis(300), Err("unknown"))),
            Some((Duration::from_secs(1), Ok(1))),
        ];
        let (answer, sent, took) = scripted(Duration::from_secs(1), script).await;
        assert_eq!(
            (answer, sent, took),
            (Some(Err("unknown")), 2, Duration::from_millis(700))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_passing_error_waits_for_the_copies_still_in_flight() {
        // A 429 at 300 ms for the first copy; the second (250 ms) succeeds at 950 ms, the
        // third (750 ms) is still in flight then.
        let script = vec![
            Some((Duration::from_millis(300), Err("429"))),
            Some((Duration::from_millis(700), Ok(1))),
        ];
        let (answer, sent, took) = scripted(Duration::from_secs(1), script).await;
        assert_eq!(
            (answer, sent, took),
            (Some(Ok(1)), 3, Duration::from_millis(950))
        );
        // Every copy fails: the last error heard, once none is left.
        let script = vec![
            Some((Duration::from_millis(300), Err("429"))),
            Some((Duration::from_millis(100), Err("503"))),
        ];
        let (answer, sent, took) = scripted(Duration::from_secs(1), script).await;
        assert_eq!(
            (answer, sent, took),
            (Some(Err("503")), 2, Duration::from_millis(350))
        );
    }
}
