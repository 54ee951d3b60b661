//! [`Link`]: the live connection's socket and send limiter, shared by the connection task and
//! the senders.
//!
//! The connection task reads the socket and writes what is queued (heartbeats, subscriptions,
//! user messages that had to wait). A sender whose message has nothing queued ahead of it writes
//! it straight to the socket instead ([`Link::try_send_now`]): no queue and no task switch on
//! the way out. Order holds because a sender writes directly only while no user message is
//! queued (`backlog` is zero, checked under the lock) and the connection task takes user
//! messages off the backlog under that same lock as it writes them.
//!
//! A direct write never waits: if the socket cannot take the bytes at once they stay in
//! tungstenite's buffer and the connection task is told to flush them (the write waker handed
//! to the socket is the connection task's [`Attention`], so a later "writable" wakes the task
//! that flushes, never a sender that went away).

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::task::{Context, Poll, Wake, Waker};

use futures::Sink;
use futures::task::AtomicWaker;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::connection::WsStream;
use crate::send_limiter::{SendLimit, SendLimiter};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<WsStream>>;

/// A direct write left bytes in tungstenite's buffer (or the socket became writable).
pub(crate) const FLUSH: u8 = 1;
/// A direct write failed: the connection is broken.
pub(crate) const BROKEN: u8 = 2;

/// The open connection, while the connection task runs a session on it.
pub(crate) struct Open {
    pub(crate) socket: Socket,
    /// The connection's outbound limit, shared by every message whoever writes it.
    pub(crate) limiter: SendLimiter,
    /// The connection task waits for the socket to take its writes: senders queue meanwhile.
    pub(crate) task_flushing: bool,
    /// Why a direct write failed (read by the connection task on [`BROKEN`]).
    pub(crate) write_error: Option<String>,
}

/// What the connection task has to look at, and its waker.
#[derive(Debug, Default)]
struct Attention {
    flags: AtomicU8,
    task: AtomicWaker,
}

impl Wake for Attention {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.raise(FLUSH);
    }
}

impl Attention {
    fn raise(&self, flag: u8) {
        self.flags.fetch_or(flag, Ordering::AcqRel);
        self.task.wake();
    }
}

/// The result of [`Link::try_send_now`].
pub(crate) enum DirectSend {
    /// Written to the socket (flushed, or left for the connection task to flush).
    Written,
    /// The connection broke under the write: the message is lost with it.
    Lost,
    /// Not written: queue it behind the others.
    Queue(Message),
}

/// The socket slot with its backlog count and the connection task's attention flags.
pub(crate) struct Link {
    slot: Mutex<Option<Open>>,
    /// User messages queued for the connection task (in the channel or its pending list).
    backlog: AtomicUsize,
    attention: Arc<Attention>,
    /// Wakes the connection task with [`FLUSH`]: the write waker of direct writes.
    flush_waker: Waker,
    limit: Option<SendLimit>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("backlog", &self.backlog.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Link {
    pub(crate) fn new(limit: Option<SendLimit>) -> Self {
        let attention = Arc::new(Attention::default());
        let flush_waker = Waker::from(attention.clone());
        Self {
            slot: Mutex::new(None),
            backlog: AtomicUsize::new(0),
            attention,
            flush_waker,
            limit,
        }
    }

    /// Locks the slot (the connection task's side; the senders only ever try).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Option<Open>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts a new connection's socket in the slot, with a fresh send budget.
    pub(crate) fn install(&self, socket: Socket) {
        self.attention.flags.store(0, Ordering::Release);
        *self.lock() = Some(Open {
            socket,
            limiter: SendLimiter::new(self.limit),
            task_flushing: false,
            write_error: None,
        });
    }

    /// Takes the socket back (end of a session): senders queue from now on.
    pub(crate) fn take(&self) -> Option<Socket> {
        self.lock().take().map(|open| open.socket)
    }

    /// Counts a user message about to be queued for the connection task.
    #[inline]
    pub(crate) fn queued(&self) {
        self.backlog.fetch_add(1, Ordering::AcqRel);
    }

    /// Takes back [`Link::queued`] for a message that was not queued after all, or that the
    /// connection task wrote (under the lock) or dropped.
    #[inline]
    pub(crate) fn dequeued(&self) {
        self.backlog.fetch_sub(1, Ordering::AcqRel);
    }

    /// Registers the connection task's waker; the flags raised since the last call, if any.
    #[inline]
    pub(crate) fn poll_attention(&self, cx: &mut Context<'_>) -> Poll<u8> {
        self.attention.task.register(cx.waker());
        if self.attention.flags.load(Ordering::Acquire) == 0 {
            return Poll::Pending;
        }
        Poll::Ready(self.attention.flags.swap(0, Ordering::AcqRel))
    }

    /// Writes `message` now if nothing is queued ahead of it, the connection is up and idle,
    /// and the send limit allows it; never waits.
    pub(crate) fn try_send_now(&self, message: Message) -> DirectSend {
        if self.backlog.load(Ordering::Acquire) != 0 {
            return DirectSend::Queue(message);
        }
        let mut guard = match self.slot.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return DirectSend::Queue(message),
        };
        let Some(open) = guard.as_mut() else {
            return DirectSend::Queue(message);
        };
        // Checked again under the lock: the connection task dequeues under it.
        if open.task_flushing
            || open.write_error.is_some()
            || self.backlog.load(Ordering::Acquire) != 0
        {
            return DirectSend::Queue(message);
        }
        let mut cx = Context::from_waker(&self.flush_waker);
        let mut socket = std::pin::Pin::new(&mut open.socket);
        match socket.as_mut().poll_ready(&mut cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Pending => return DirectSend::Queue(message),
            Poll::Ready(Err(error)) => {
                open.write_error = Some(error.to_string());
                self.attention.raise(BROKEN);
                return DirectSend::Queue(message);
            }
        }
        if self.limit.is_some() {
            let now = Instant::now();
            if open.limiter.ready_at(now).is_some() {
                return DirectSend::Queue(message);
            }
            open.limiter.record(now);
        }
        if let Err(error) = socket.as_mut().start_send(message) {
            open.write_error = Some(error.to_string());
            self.attention.raise(BROKEN);
            return DirectSend::Lost;
        }
        match socket.poll_flush(&mut cx) {
            Poll::Ready(Ok(())) => DirectSend::Written,
            // In tungstenite's buffer; the socket wakes the connection task (through the flush
            // waker) when it can take more. Raised now too, in case it never registered.
            Poll::Pending => {
                self.attention.raise(FLUSH);
                DirectSend::Written
            }
            Poll::Ready(Err(error)) => {
                open.write_error = Some(error.to_string());
                self.attention.raise(BROKEN);
                DirectSend::Lost
            }
        }
    }
}
