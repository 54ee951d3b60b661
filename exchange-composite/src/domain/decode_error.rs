//! [`DecodeError`]: why a push frame could not be turned into a [`VenueEvent`](crate::VenueEvent).

/// Why a push frame could not be turned into an event. Every venue's decoder reports its
/// failures in these terms; the composites count and log them, never panic on them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a frame of the venue's push format at all (MEXC: not a valid
    /// `PushDataV3ApiWrapper`).
    #[error("malformed push frame: {0}")]
    Malformed(String),
    /// A frame of a kind this adapter does not handle (or with no body).
    #[error("unsupported push on channel {channel:?}")]
    Unsupported {
        /// The frame's channel.
        channel: String,
    },
    /// A public push without its symbol.
    #[error("push on channel {0:?} has no symbol")]
    MissingSymbol(String),
    /// A numeric field that is not a decimal.
    #[error("field {field} is not a decimal: {value:?}")]
    BadDecimal {
        /// The field.
        field: &'static str,
        /// Its text (truncated).
        value: String,
    },
    /// A price or quantity outside the range a venue may send
    /// ([`VenueValue`](crate::VenueValue)): negative, or so large that arithmetic on it
    /// could overflow.
    #[error("field {field} is out of range: {problem}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// What is wrong (the value, truncated).
        problem: String,
    },
    /// An enum field with an unknown code.
    #[error("field {field} has unknown code {value}")]
    BadCode {
        /// The field.
        field: &'static str,
        /// The code.
        value: i64,
    },
    /// A text field that is not valid for its type.
    #[error("field {field} is invalid: {value:?}")]
    BadText {
        /// The field.
        field: &'static str,
        /// Its text (truncated).
        value: String,
    },
}
