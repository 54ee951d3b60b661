//! [`SendLimit`] and the per-connection outbound limiter: a strict sliding-window limit, never
//! a burst above it.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// At most `messages` outbound messages in any window of length `window` (MEXC: 100 per second
/// per connection). Heartbeats, subscription replays and user sends all count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimit {
    /// Messages allowed per window (at least 1).
    pub messages: u32,
    /// The window.
    pub window: Duration,
}

impl SendLimit {
    /// `messages` per `window`.
    pub fn new(messages: u32, window: Duration) -> Self {
        Self {
            messages: messages.max(1),
            window,
        }
    }

    /// MEXC's limit: 100 messages per second per connection.
    pub fn mexc() -> Self {
        Self::new(100, Duration::from_secs(1))
    }
}

/// A sliding log of the last `messages` send instants: a send is allowed when fewer than
/// `messages` sends happened in the last `window`. One per connection, in its [`Link`](crate::link::Link).
#[derive(Debug)]
pub(crate) struct SendLimiter {
    limit: Option<SendLimit>,
    sent: VecDeque<Instant>,
}

impl SendLimiter {
    pub(crate) fn new(limit: Option<SendLimit>) -> Self {
        let capacity = limit.map_or(0, |l| l.messages as usize);
        Self {
            limit,
            sent: VecDeque::with_capacity(capacity),
        }
    }

    /// `None` if a message may go now, else the instant it may.
    pub(crate) fn ready_at(&mut self, now: Instant) -> Option<Instant> {
        let limit = self.limit?;
        while let Some(&oldest) = self.sent.front() {
            if now.saturating_duration_since(oldest) >= limit.window {
                self.sent.pop_front();
            } else {
                break;
            }
        }
        if self.sent.len() < limit.messages as usize {
            None
        } else {
            self.sent.front().map(|&oldest| oldest + limit.window)
        }
    }

    /// Records a send at `now` (call only after `ready_at(now)` returned `None`).
    pub(crate) fn record(&mut self, now: Instant) {
        if self.limit.is_some() {
            self.sent.push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_the_limit_in_any_window() {
        let limit = SendLimit::new(5, Duration::from_millis(100));
        let mut limiter = SendLimiter::new(Some(limit));
        let start = Instant::now();
        let mut now = start;
        let mut sends = Vec::new();
        // Try to send every 3 ms for 1 s; send whenever allowed.
        while now < start + Duration::from_secs(1) {
            if limiter.ready_at(now).is_none() {
                limiter.record(now);
                sends.push(now);
            }
            now += Duration::from_millis(3);
        }
        for (i, &t) in sends.iter().enumerate() {
            let in_window = sends[i..]
                .iter()
                .take_while(|&&s| s < t + limit.window)
                .count();
            assert!(in_window <= 5, "{in_window} sends within one window");
        }
        // And it is not needlessly slow: about 5 per 100 ms.
        assert!(sends.len() >= 45, "{}", sends.len());
    }

    #[test]
    fn reports_when_the_next_send_may_go() {
        let mut limiter = SendLimiter::new(Some(SendLimit::new(2, Duration::from_millis(100))));
        let t0 = Instant::now();
        limiter.record(t0);
        limiter.record(t0 + Duration::from_millis(10));
        assert_eq!(
            limiter.ready_at(t0 + Duration::from_millis(20)),
            Some(t0 + Duration::from_millis(100))
        );
        assert_eq!(limiter.ready_at(t0 + Duration::from_millis(100)), None);
    }

    #[test]
    fn unlimited_never_waits() {
        let mut limiter = SendLimiter::new(None);
        let now = Instant::now();
        for _ in 0..10_000 {
            assert!(limiter.ready_at(now).is_none());
            limiter.record(now);
        }
    }
}
