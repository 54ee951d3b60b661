//! Liveness of one connection: heartbeat schedule, dead-peer and idle-data timers, maximum age.
//!
//! The read loop only counts frames (no clock read, no timer reset per frame); a periodic tick
//! turns changed counts into "last seen" instants. Timers are therefore exact to one tick (a
//! quarter of the shortest timer).

use tokio::time::Instant;

use crate::config::WebSocketConfig;
use crate::event::DisconnectReason;

/// What the tick asks the connection to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LivenessAction {
    /// Nothing.
    Continue,
    /// Send the application heartbeat.
    Heartbeat,
    /// Give the connection up.
    Expire(DisconnectReason),
}

#[derive(Debug)]
pub(crate) struct Liveness {
    connected_at: Instant,
    last_inbound_at: Instant,
    last_data_at: Instant,
    last_heartbeat_at: Instant,
    seen_inbound: u64,
    seen_data: u64,
}

impl Liveness {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            connected_at: now,
            last_inbound_at: now,
            last_data_at: now,
            last_heartbeat_at: now,
            seen_inbound: 0,
            seen_data: 0,
        }
    }

    /// Called every tick with the connection's running counts of inbound frames (any kind) and
    /// data frames.
    pub(crate) fn tick(
        &mut self,
        now: Instant,
        inbound: u64,
        data: u64,
        config: &WebSocketConfig,
    ) -> LivenessAction {
        if inbound != self.seen_inbound {
            self.seen_inbound = inbound;
            self.last_inbound_at = now;
        }
        if data != self.seen_data {
            self.seen_data = data;
            self.last_data_at = now;
        }
        if let Some(max_age) = config.max_connection_age
            && now.saturating_duration_since(self.connected_at) >= max_age
        {
            return LivenessAction::Expire(DisconnectReason::MaxAge);
        }
        if let Some(timeout) = config.dead_peer_timeout
            && now.saturating_duration_since(self.last_inbound_at) >= timeout
        {
            return LivenessAction::Expire(DisconnectReason::DeadPeer);
        }
        if let Some(timeout) = config.idle_data_timeout
            && now.saturating_duration_since(self.last_data_at) >= timeout
        {
            return LivenessAction::Expire(DisconnectReason::IdleData);
        }
        if let Some(interval) = config.heartbeat_interval
            && now.saturating_duration_since(self.last_heartbeat_at) >= interval
        {
            self.last_heartbeat_at = now;
            return LivenessAction::Heartbeat;
        }
        LivenessAction::Continue
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn config() -> WebSocketConfig {
        WebSocketConfig {
            heartbeat_interval: Some(Duration::from_secs(4)),
            dead_peer_timeout: Some(Duration::from_secs(10)),
            idle_data_timeout: Some(Duration::from_secs(20)),
            max_connection_age: Some(Duration::from_secs(100)),
            ..WebSocketConfig::new("t", "ws://127.0.0.1:1")
        }
    }

    #[test]
    fn tick_is_a_quarter_of_the_shortest_timer() {
        assert_eq!(config().liveness_tick(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn heartbeat_then_dead_peer() {
        let config = config();
        let t0 = Instant::now();
        let mut live = Liveness::new(t0);
        let at = |s| t0 + Duration::from_secs(s);
        assert_eq!(live.tick(at(1), 0, 0, &config), LivenessAction::Continue);
        assert_eq!(live.tick(at(4), 0, 0, &config), LivenessAction::Heartbeat);
        assert_eq!(live.tick(at(5), 0, 0, &config), LivenessAction::Continue);
        assert_eq!(
            live.tick(at(10), 0, 0, &config),
            LivenessAction::Expire(DisconnectReason::DeadPeer)
        );
    }

    #[test]
    fn control_frames_keep_the_peer_alive_but_not_the_data() {
        let config = config();
        let t0 = Instant::now();
        let mut live = Liveness::new(t0);
        for s in 1..20 {
            let action = live.tick(t0 + Duration::from_secs(s), s, 0, &config);
            assert!(
                !matches!(action, LivenessAction::Expire(_)),
                "{s}: {action:?}"
            );
        }
        assert_eq!(
            live.tick(t0 + Duration::from_secs(20), 20, 0, &config),
            LivenessAction::Expire(DisconnectReason::IdleData)
        );
    }

    #[test]
    fn max_age_replaces_a_healthy_connection() {
        let config = config();
        let t0 = Instant::now();
        let mut live = Liveness::new(t0);
        assert_eq!(
            live.tick(t0 + Duration::from_secs(100), 1, 1, &config),
            LivenessAction::Expire(DisconnectReason::MaxAge)
        );
    }
}
