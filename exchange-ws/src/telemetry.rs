//! The manager's counters as `metrics` (the facade crate): registered once per manager,
//! labelled `component` (the manager's name), a no-op unless the process installed a
//! recorder. The connection task adds its counts once per read batch, not once per frame.
//!
//! | name | what |
//! | --- | --- |
//! | `quiesce_ws_frames_received_total` | data frames read |
//! | `quiesce_ws_frames_sent_total` | frames written (heartbeats, subscriptions, user messages) |
//! | `quiesce_ws_connections_total` | connections established |
//! | `quiesce_ws_reconnects_total` | connections lost or replaced while running |
//! | `quiesce_ws_connect_failures_total` | dial attempts that failed |
//! | `quiesce_ws_messages_dropped_total` | messages never handled or never sent |

use metrics::Counter;

/// Data frames read.
pub const FRAMES_RECEIVED: &str = "quiesce_ws_frames_received_total";
/// Frames written.
pub const FRAMES_SENT: &str = "quiesce_ws_frames_sent_total";
/// Connections established.
pub const CONNECTIONS: &str = "quiesce_ws_connections_total";
/// Connections lost or replaced while running.
pub const RECONNECTS: &str = "quiesce_ws_reconnects_total";
/// Dial attempts that failed.
pub const CONNECT_FAILURES: &str = "quiesce_ws_connect_failures_total";
/// Inbound frames not handled and outbound messages never sent.
pub const MESSAGES_DROPPED: &str = "quiesce_ws_messages_dropped_total";

/// One manager's registered counters.
#[derive(Debug)]
pub(crate) struct WsMetrics {
    pub(crate) frames_received: Counter,
    pub(crate) frames_sent: Counter,
    pub(crate) connections: Counter,
    pub(crate) reconnects: Counter,
    pub(crate) connect_failures: Counter,
    pub(crate) messages_dropped: Counter,
}

impl WsMetrics {
    /// Registers the counters of the manager named `component`.
    pub(crate) fn register(component: &str) -> Self {
        let counter =
            |name: &'static str| metrics::counter!(name, "component" => component.to_owned());
        metrics::describe_counter!(FRAMES_RECEIVED, "Websocket data frames read");
        metrics::describe_counter!(FRAMES_SENT, "Websocket frames written");
        metrics::describe_counter!(CONNECTIONS, "Websocket connections established");
        metrics::describe_counter!(
            RECONNECTS,
            "Websocket connections lost or replaced while running"
        );
        metrics::describe_counter!(CONNECT_FAILURES, "Websocket dial attempts that failed");
        metrics::describe_counter!(
            MESSAGES_DROPPED,
            "Websocket messages never handled or never sent"
        );
        Self {
            frames_received: counter(FRAMES_RECEIVED),
            frames_sent: counter(FRAMES_SENT),
            connections: counter(CONNECTIONS),
            reconnects: counter(RECONNECTS),
            connect_failures: counter(CONNECT_FAILURES),
            messages_dropped: counter(MESSAGES_DROPPED),
        }
    }
}
