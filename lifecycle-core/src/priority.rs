//! [`ShutdownPriority`]: the order of shutdown phases.

use std::fmt;

/// Shutdown phases; lower stops first.
///
/// For a trading stack: stop quoting and cancel orders while REST and the rate limiter still
/// work (`CriticalFirst`), then private sockets (`High`), public market data (`Medium`),
/// observable streams (`Low`), and last the rate limiters, HTTP clients and caches (`Cleanup`).
/// Start order is the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum ShutdownPriority {
    /// Trading operations, order cancellation.
    CriticalFirst = 0,
    /// Private websockets, account streams.
    High = 1,
    /// Public websockets, market data.
    Medium = 2,
    /// Observable streams, UI updates.
    Low = 3,
    /// Rate limiters, HTTP clients, caches, logging.
    Cleanup = 4,
}

impl ShutdownPriority {
    /// Every priority, in shutdown order.
    pub const ALL: [Self; 5] = [
        Self::CriticalFirst,
        Self::High,
        Self::Medium,
        Self::Low,
        Self::Cleanup,
    ];

    /// The short name used in tables and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CriticalFirst => "critical-first",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
            Self::Cleanup => "cleanup",
        }
    }
}

impl fmt::Display for ShutdownPriority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
