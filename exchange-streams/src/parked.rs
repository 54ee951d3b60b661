//! [`Parked`]: a receiver that is either at hand (for synchronous reads) or moved into the one
//! future that waits on it, so a subscription can be a `Stream` without self-references.

use std::fmt;
use std::future::Future;
use std::task::{Context, Poll, ready};

use tokio_util::sync::ReusableBoxFuture;

/// Holds a receiver `R`, lending it to a wait future that gives it back with the outcome `O`.
///
/// The wait future's box is allocated on the first wait and reused after (same future type),
/// so waiting does not allocate per value.
pub(crate) struct Parked<R, O> {
    at_hand: Option<R>,
    wait: Option<ReusableBoxFuture<'static, (O, R)>>,
}

impl<R, O> fmt::Debug for Parked<R, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parked")
            .field("waiting", &self.at_hand.is_none())
            .finish()
    }
}

impl<R: Send + 'static, O: Send + 'static> Parked<R, O> {
    pub(crate) fn new(receiver: R) -> Self {
        Self {
            at_hand: Some(receiver),
            wait: None,
        }
    }

    /// The receiver, unless a wait future holds it.
    pub(crate) fn at_hand(&mut self) -> Option<&mut R> {
        self.at_hand.as_mut()
    }

    /// Whether a wait future holds the receiver.
    pub(crate) fn is_parked(&self) -> bool {
        self.at_hand.is_none()
    }

    /// Polls the wait future, first creating it with `make` if the receiver is at hand. On
    /// `Ready` the receiver is back at hand.
    pub(crate) fn poll_wait<F, Fut>(&mut self, cx: &mut Context<'_>, make: F) -> Poll<O>
    where
        F: FnOnce(R) -> Fut,
        Fut: Future<Output = (O, R)> + Send + 'static,
    {
        if let Some(receiver) = self.at_hand.take() {
            let future = make(receiver);
            match &mut self.wait {
                Some(wait) => wait.set(future),
                None => self.wait = Some(ReusableBoxFuture::new(future)),
            }
        }
        let Some(wait) = self.wait.as_mut() else {
            // Unreachable: the receiver is either at hand or in the wait future.
            return Poll::Pending;
        };
        let (outcome, receiver) = ready!(wait.poll(cx));
        self.at_hand = Some(receiver);
        Poll::Ready(outcome)
    }
}
