//! [`MappingError`]: a venue's answer that cannot be mapped into the domain.

/// A venue answer that cannot be mapped into the domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// A required field is missing or out of range.
    #[error("{what} of {symbol}: {problem}")]
    Invalid {
        /// The market.
        symbol: String,
        /// The field.
        what: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A status or type this adapter does not know.
    #[error("{symbol}: unknown {what}")]
    Unknown {
        /// The market.
        symbol: String,
        /// The field.
        what: &'static str,
    },
}
