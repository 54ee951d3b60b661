//! Fault injection: drop or stall websocket connections, delay or fail REST calls, push
//! malformed frames, expire listen keys.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{broadcast, watch};

use crate::listen_keys::ListenKeys;

/// A command to every live websocket connection.
#[derive(Debug, Clone)]
pub enum WsControl {
    /// Close the TCP connection at once, without a close frame.
    DropAll,
    /// Close every connection with a close frame (1001 going away).
    CloseAll,
    /// Send these bytes as a binary frame (not a valid protobuf push).
    Malformed(Bytes),
    /// The listen key was expired: its connections close.
    ListenKeyExpired(String),
}

/// A rule failing upcoming REST calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailRule {
    /// Calls still to fail.
    pub remaining: u32,
    /// HTTP status to answer (5xx or 429).
    pub status: u16,
    /// Only calls to this path (e.g. `/api/v3/order`), or every call.
    pub path: Option<String>,
}

#[derive(Debug)]
struct FaultState {
    ws_control: broadcast::Sender<WsControl>,
    stalled: watch::Sender<bool>,
    refuse_websockets: AtomicBool,
    live_websockets: AtomicUsize,
    rest_delay_ms: AtomicU64,
    /// Cancels (`DELETE /api/v3/order`, `DELETE /api/v3/openOrders`) wait while set.
    hold_cancels: watch::Sender<bool>,
    /// Cancel calls that reached the venue, held or not.
    cancels_arrived: AtomicUsize,
    failures: Mutex<VecDeque<FailRule>>,
    listen_keys: Arc<ListenKeys>,
}

/// Handle to inject faults into a running venue (cheap to clone).
#[derive(Debug, Clone)]
pub struct Faults {
    state: Arc<FaultState>,
}

impl Faults {
    pub(crate) fn new(listen_keys: Arc<ListenKeys>) -> Self {
        Self {
            state: Arc::new(FaultState {
                ws_control: broadcast::channel(64).0,
                stalled: watch::channel(false).0,
                refuse_websockets: AtomicBool::new(false),
                live_websockets: AtomicUsize::new(0),
                rest_delay_ms: AtomicU64::new(0),
                hold_cancels: watch::channel(false).0,
                cancels_arrived: AtomicUsize::new(0),
                failures: Mutex::new(VecDeque::new()),
                listen_keys,
            }),
        }
    }

    /// Drop every websocket connection (no close frame); returns how many were told.
    pub fn drop_websockets(&self) -> usize {
        self.state.ws_control.send(WsControl::DropAll).unwrap_or(0)
    }

    /// Close every websocket connection with a close frame (code 1001); returns how many were
    /// told.
    pub fn close_websockets(&self) -> usize {
        self.state.ws_control.send(WsControl::CloseAll).unwrap_or(0)
    }

    /// Refuse (or accept again) new websocket connections: the upgrade answers HTTP 503.
    pub fn refuse_websockets(&self, refuse: bool) {
        self.state.refuse_websockets.store(refuse, Ordering::SeqCst);
    }

    /// Whether new websocket connections are refused.
    pub fn is_refusing_websockets(&self) -> bool {
        self.state.refuse_websockets.load(Ordering::SeqCst)
    }

    /// Number of websocket connections currently open.
    pub fn websocket_connections(&self) -> usize {
        self.state.live_websockets.load(Ordering::SeqCst)
    }

    /// Stall (or release) every connection: websockets neither read nor write, REST calls
    /// wait, while TCP stays open.
    pub fn stall_connections(&self, stalled: bool) {
        self.state.stalled.send_replace(stalled);
    }

    /// Whether connections are stalled.
    pub fn is_stalled(&self) -> bool {
        *self.state.stalled.borrow()
    }

    /// Delay every REST response by `delay` (zero to stop).
    pub fn delay_rest(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state.rest_delay_ms.store(ms, Ordering::Relaxed);
    }

    /// The current REST delay.
    pub fn rest_delay(&self) -> Duration {
        Duration::from_millis(self.state.rest_delay_ms.load(Ordering::Relaxed))
    }

    /// Hold (or release) every cancel call (`DELETE /api/v3/order`, `DELETE
    /// /api/v3/openOrders`) as it arrives: it is counted in
    /// [`cancels_arrived`](Self::cancels_arrived), then waits, unanswered and not yet acted
    /// on, until released (or the venue stops).
    pub fn hold_cancels(&self, hold: bool) {
        self.state.hold_cancels.send_replace(hold);
    }

    /// Cancel calls that reached the venue so far, held or not.
    pub fn cancels_arrived(&self) -> usize {
        self.state.cancels_arrived.load(Ordering::SeqCst)
    }

    /// Counts a cancel call arriving; a watch of the hold.
    pub(crate) fn cancel_arrived(&self) -> watch::Receiver<bool> {
        self.state.cancels_arrived.fetch_add(1, Ordering::SeqCst);
        self.state.hold_cancels.subscribe()
    }

    /// Fail the next `count` REST calls (only those to `path`, if given) with HTTP `status`
    /// (a 5xx, or 429 with `Retry-After`).
    pub fn fail_next_rest(&self, count: u32, status: u16, path: Option<&str>) {
        if count == 0 {
            return;
        }
        self.lock_failures().push_back(FailRule {
            remaining: count,
            status,
            path: path.map(str::to_owned),
        });
    }

    /// Push a malformed binary frame to every websocket connection; returns how many were told.
    pub fn push_malformed_frame(&self) -> usize {
        let garbage = Bytes::from_static(&[0xff, 0xff, 0xff, 0x0a, 0x7f, 0x00, 0x12]);
        self.state
            .ws_control
            .send(WsControl::Malformed(garbage))
            .unwrap_or(0)
    }

    /// Push these exact bytes as a binary frame to every websocket connection (e.g. a
    /// truncated push); returns how many were told.
    pub fn push_raw_frame(&self, bytes: Bytes) -> usize {
        self.state
            .ws_control
            .send(WsControl::Malformed(bytes))
            .unwrap_or(0)
    }

    /// Expire a listen key now and close its connections; whether it existed.
    pub fn expire_listen_key(&self, key: &str) -> bool {
        let existed = self.state.listen_keys.expire(key);
        self.notify_listen_key_expired(key);
        existed
    }

    /// Expire every listen key now and close their connections; how many there were.
    pub fn expire_listen_keys(&self) -> usize {
        let keys = self.state.listen_keys.expire_all();
        for key in &keys {
            self.notify_listen_key_expired(key);
        }
        keys.len()
    }

    /// Clear every REST fault and release stalled connections.
    pub fn clear(&self) {
        self.lock_failures().clear();
        self.delay_rest(Duration::ZERO);
        self.hold_cancels(false);
        self.stall_connections(false);
        self.refuse_websockets(false);
    }

    /// Count a websocket connection as open until the guard is dropped.
    pub(crate) fn track_websocket(&self) -> LiveWebsocket {
        self.state.live_websockets.fetch_add(1, Ordering::SeqCst);
        LiveWebsocket {
            faults: self.clone(),
        }
    }

    pub(crate) fn notify_listen_key_expired(&self, key: &str) {
        let _ = self
            .state
            .ws_control
            .send(WsControl::ListenKeyExpired(key.to_owned()));
    }

    pub(crate) fn subscribe_ws_control(&self) -> broadcast::Receiver<WsControl> {
        self.state.ws_control.subscribe()
    }

    pub(crate) fn watch_stall(&self) -> watch::Receiver<bool> {
        self.state.stalled.subscribe()
    }

    /// Take one failure for a call to `path`, if a rule applies.
    pub(crate) fn take_failure(&self, path: &str) -> Option<u16> {
        let mut failures = self.lock_failures();
        let index = failures
            .iter()
            .position(|r| r.path.as_deref().is_none_or(|p| p == path))?;
        let rule = failures.get_mut(index)?;
        rule.remaining -= 1;
        let status = rule.status;
        if rule.remaining == 0 {
            failures.remove(index);
        }
        Some(status)
    }

    fn lock_failures(&self) -> std::sync::MutexGuard<'_, VecDeque<FailRule>> {
        self.state
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// Keeps one websocket counted in [`Faults::websocket_connections`] while alive.
#[derive(Debug)]
pub(crate) struct LiveWebsocket {
    faults: Faults,
}

impl Drop for LiveWebsocket {
    fn drop(&mut self) {
        self.faults
            .state
            .live_websockets
            .fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ListenKeyConfig;

    #[test]
    fn cancels_are_counted_as_they_arrive_and_held_until_released() {
        let faults = Faults::new(Arc::new(ListenKeys::new(ListenKeyConfig::default())));
        assert_eq!(faults.cancels_arrived(), 0);
        let first = faults.cancel_arrived();
        assert!(!*first.borrow(), "not held unless asked");
        faults.hold_cancels(true);
        let second = faults.cancel_arrived();
        assert!(*second.borrow() && *first.borrow());
        assert_eq!(faults.cancels_arrived(), 2);
        // Clearing the faults releases the held cancels.
        faults.clear();
        assert!(!*second.borrow());
    }

    #[test]
    fn failures_count_down_per_path() {
        let faults = Faults::new(Arc::new(ListenKeys::new(ListenKeyConfig::default())));
        faults.fail_next_rest(2, 503, Some("/api/v3/order"));
        assert_eq!(faults.take_failure("/api/v3/time"), None);
        assert_eq!(faults.take_failure("/api/v3/order"), Some(503));
        assert_eq!(faults.take_failure("/api/v3/order"), Some(503));
        assert_eq!(faults.take_failure("/api/v3/order"), None);
        faults.fail_next_rest(1, 429, None);
        assert_eq!(faults.take_failure("/api/v3/time"), Some(429));
        assert_eq!(faults.take_failure("/api/v3/time"), None);
    }
}
