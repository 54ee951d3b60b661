//! Errors of the composite layer.

use rust_decimal::Decimal;

use crate::domain::mapping_error::MappingError;

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

/// Errors of the composite exchanges.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// A REST call failed (see [`exchange_rest::RestError`]; `OutcomeUnknown` on an order
    /// call means the order may exist: it stays tracked and is swept at stop).
    #[error(transparent)]
    Rest(#[from] exchange_rest::RestError),
    /// An invalid value (price, quantity, id...).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The venue answered something we cannot map.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// A stream could not be declared or subscribed.
    #[error(transparent)]
    Stream(#[from] exchange_streams::StreamError),
    /// The REST client could not be built.
    #[error(transparent)]
    Build(#[from] exchange_rest::ClientBuildError),
    /// The exchange failed to start (whatever had started was stopped again).
    #[error(transparent)]
    Start(#[from] lifecycle_core::StartError),
    /// A market this exchange was not configured for (or the venue does not list).
    #[error("unknown market {0}: not configured, or not listed by the venue")]
    UnknownSymbol(String),
    /// A private exchange needs an API key and secret.
    #[error("a private exchange needs credentials (API key and secret)")]
    MissingCredentials,
    /// The exchange is not running (not started yet, or stopping): nothing was sent.
    #[error("{0} is not running: nothing was sent")]
    NotRunning(String),
    /// Trading is halted ([`PrivateCompositeExchange::halt`](crate::PrivateCompositeExchange::halt)):
    /// no order is placed until it resumes. Nothing was sent.
    #[error("{0}: trading is halted, nothing was sent (resume to quote again)")]
    Halted(String),
    /// Waited too long for something (a first book ticker, say).
    #[error("timed out waiting for {0}")]
    Timeout(String),
}

impl ExchangeError {
    /// An order call whose outcome is unknown (the order may exist): reconcile, never treat
    /// as "not placed".
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(
            self,
            Self::Rest(exchange_rest::RestError::OutcomeUnknown { .. })
        )
    }

    /// The venue refused a new order as invalid (a post-only order that would have taken,
    /// a price off the market's limits...): definitely not placed.
    pub fn is_order_rejected(&self) -> bool {
        matches!(self, Self::Rest(exchange_rest::RestError::InvalidOrder(_)))
    }

    /// A failure that may pass: rate limited, a 5xx, a timeout or a broken connection on a
    /// call that changes nothing.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Rest(
                exchange_rest::RestError::RateLimited { .. }
                    | exchange_rest::RestError::Server { .. }
                    | exchange_rest::RestError::Timeout
                    | exchange_rest::RestError::Transport(_)
            )
        )
    }

    /// A placement refused because trading is halted.
    pub fn is_halted(&self) -> bool {
        matches!(self, Self::Halted(_))
    }

    /// The venue does not know the order (already closed, or never placed).
    pub fn is_unknown_order(&self) -> bool {
        matches!(self, Self::Rest(exchange_rest::RestError::UnknownOrder(_)))
    }
}
