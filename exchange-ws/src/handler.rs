//! [`FrameHandler`]: the code that consumes frames, called inline on the read loop, and the
//! set of handlers that isolates their errors and panics.

use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::event::WsEvent;
use crate::frame::Frame;

/// Consumes inbound data frames (and connection events). Called synchronously on the
/// connection's read loop, in order, with no task or allocation per frame: keep it short and
/// non-blocking (heavy work is the handler's business: hand it to a channel or a stream).
///
/// Errors and panics are counted and logged; they never stop the read loop.
///
/// Closures `FnMut(Frame<'_>)` returning `()` or `Result<(), E: Display>` are handlers:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use exchange_ws::{Frame, FrameHandler};
///
/// let bytes = Arc::new(AtomicUsize::new(0));
/// let counted = bytes.clone();
/// let mut handler = move |frame: Frame<'_>| { counted.fetch_add(frame.len(), Ordering::Relaxed); };
/// assert!(handler.on_frame(Frame::Text("hello")).is_ok());
/// assert_eq!(bytes.load(Ordering::Relaxed), 5);
///
/// let mut strict = |frame: Frame<'_>| if frame.is_text() { Ok(()) } else { Err("binary") };
/// assert!(strict.on_frame(Frame::Text("ok")).is_ok());
/// ```
pub trait FrameHandler: Send + 'static {
    /// Handles one data frame.
    ///
    /// # Errors
    /// An error is counted (`handler_errors`) and logged; the loop goes on.
    fn on_frame(&mut self, frame: Frame<'_>) -> Result<(), String>;

    /// Handles a connection event (default: ignores it).
    fn on_event(&mut self, _event: &WsEvent) {}
}

/// What a closure handler may return: `()` or `Result<(), E: Display>`.
pub trait HandlerResult {
    /// `Ok(())` or the error's message.
    fn into_handler_result(self) -> Result<(), String>;
}

impl HandlerResult for () {
    #[inline]
    fn into_handler_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Display> HandlerResult for Result<(), E> {
    #[inline]
    fn into_handler_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

impl<F, R> FrameHandler for F
where
    F: for<'a> FnMut(Frame<'a>) -> R + Send + 'static,
    R: HandlerResult,
{
    #[inline]
    fn on_frame(&mut self, frame: Frame<'_>) -> Result<(), String> {
        self(frame).into_handler_result()
    }
}

/// Handlers registered while the loop runs wait here until the loop picks them up.
#[derive(Default)]
pub(crate) struct HandlerInbox {
    added: AtomicBool,
    pending: Mutex<Vec<Box<dyn FrameHandler>>>,
}

impl std::fmt::Debug for HandlerInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerInbox")
            .field("added", &self.added.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl HandlerInbox {
    pub(crate) fn push(&self, handler: Box<dyn FrameHandler>) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(handler);
        self.added.store(true, Ordering::Release);
    }
}

/// The handlers the read loop calls, with their error and panic counts.
pub(crate) struct Handlers {
    list: Vec<Box<dyn FrameHandler>>,
    pub(crate) errors: u64,
    pub(crate) panics: u64,
}

impl Handlers {
    pub(crate) fn new() -> Self {
        Self {
            list: Vec::new(),
            errors: 0,
            panics: 0,
        }
    }

    /// Picks up handlers added since the last call (one atomic load when there are none).
    #[inline]
    pub(crate) fn refresh(&mut self, inbox: &HandlerInbox) {
        if inbox.added.load(Ordering::Acquire) {
            inbox.added.store(false, Ordering::Release);
            let mut pending = inbox.pending.lock().unwrap_or_else(PoisonError::into_inner);
            self.list.append(&mut pending);
        }
    }

    /// Gives `frame` to every handler, isolating errors and panics.
    #[inline]
    pub(crate) fn deliver(&mut self, frame: Frame<'_>) {
        for handler in &mut self.list {
            match catch_unwind(AssertUnwindSafe(|| handler.on_frame(frame))) {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    self.errors += 1;
                    if self.errors.is_power_of_two() {
                        tracing::warn!(errors = self.errors, %error, "websocket handler returned an error (logged at powers of two)");
                    }
                }
                Err(payload) => {
                    self.panics += 1;
                    if self.panics.is_power_of_two() {
                        let message = panic_message(&*payload);
                        tracing::error!(
                            panics = self.panics,
                            panic = message,
                            "websocket handler panicked (logged at powers of two)"
                        );
                    }
                }
            }
        }
    }

    /// Gives `event` to every handler, isolating panics.
    pub(crate) fn event(&mut self, event: &WsEvent) {
        for handler in &mut self.list {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| handler.on_event(event))) {
                self.panics += 1;
                tracing::error!(
                    panic = panic_message(&*payload),
                    ?event,
                    "websocket handler panicked on an event"
                );
            }
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "panic with a non-string payload"
    }
}
