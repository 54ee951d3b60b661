//! [`PushInterval`]: how often a venue pushes its aggregated public channels.

use std::fmt;

/// Push interval of the aggregated channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PushInterval {
    /// Every 100 ms.
    #[default]
    Ms100,
    /// Every 10 ms.
    Ms10,
}

impl fmt::Display for PushInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ms100 => "100ms",
            Self::Ms10 => "10ms",
        })
    }
}
