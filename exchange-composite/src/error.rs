//! Errors of the composite layer.

use rust_decimal::Decimal;

/// Invalid domain values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Not an asset name.
    #[error("invalid asset name {0:?}")]
    InvalidAsset(String),
    /// Not a usable client order id.
    #[error("invalid client order id {0:?} (at most 32 characters of [A-Za-z0-9_-])")]
    InvalidClientOrderId(String),
    /// A price that cannot be used.
    #[error("invalid price {0}")]
    InvalidPrice(Decimal),
    /// Quantity under the market's minimum.
    #[error("quantity {quantity} is below the minimum {minimum}")]
    BelowMinimumQuantity {
        /// Asked.
        quantity: Decimal,
        /// Minimum.
        minimum: Decimal,
    },
    /// Order value under the market's minimum.
    #[error("order value {notional} is below the minimum {minimum}")]
    BelowMinimumNotional {
        /// Asked.
        notional: Decimal,
        /// Minimum.
        minimum: Decimal,
    },
}
