//! [`InFlight`]: counts calls in flight so stop can refuse new ones, let running ones finish
//! for a bounded time, then cancel them.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::RestError;

#[derive(Debug, Default)]
pub(crate) struct InFlight {
    open: AtomicBool,
    closing: AtomicBool,
    count: AtomicUsize,
    idle: Notify,
}

/// One call in flight; leaving it (drop) lets stop know.
#[derive(Debug)]
pub(crate) struct Entered<'a>(&'a InFlight);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl InFlight {
    pub(crate) fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// Registers a call, unless the client is not started or is closing.
    ///
    /// The count is raised *before* `closing` is read, and stop sets `closing` before reading
    /// the count (both `SeqCst`): either the call sees `closing`, or stop sees the call.
    pub(crate) fn enter(&self) -> Result<Entered<'_>, RestError> {
        if !self.open.load(Ordering::SeqCst) {
            return Err(RestError::NotStarted);
        }
        self.count.fetch_add(1, Ordering::SeqCst);
        let entered = Entered(self);
        if self.closing.load(Ordering::SeqCst) {
            return Err(RestError::Closed);
        }
        Ok(entered)
    }

    /// Refuses new calls from now on.
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits until no call is in flight, or `deadline`; whether it got there.
    pub(crate) async fn wait_idle(&self, deadline: Instant) -> bool {
        loop {
            let notified = self.idle.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.count() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.count() == 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn enter_close_and_drain() {
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            let in_flight = InFlight::default();
            assert_eq!(in_flight.enter().err(), Some(RestError::NotStarted));
            in_flight.open();
            let call = in_flight.enter().unwrap();
            in_flight.close();
            assert_eq!(in_flight.enter().err(), Some(RestError::Closed));
            assert_eq!(in_flight.count(), 1);
            assert!(!in_flight.wait_idle(Instant::now()).await);
            drop(call);
            assert!(in_flight.wait_idle(Instant::now()).await);
        })
        .await
        .expect("test timed out");
    }
}
