//! [`RestError`]: every way a REST call can fail, with MEXC's error codes mapped to what a
//! caller must do about them.

use std::fmt;
use std::time::Duration;

use crate::endpoint::Endpoint;

/// An error the venue reported: HTTP status and its `{"code","msg"}` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueError {
    /// HTTP status.
    pub status: u16,
    /// MEXC error code (the HTTP status if the body had none).
    pub code: i64,
    /// The venue's message.
    pub msg: String,
}

impl fmt::Display for VenueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} code {}: {}", self.status, self.code, self.msg)
    }
}

/// Who refused a call for rate reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitSource {
    /// The venue answered HTTP 429.
    Venue,
    /// The venue answered HTTP 418: the IP is banned for a while.
    VenueBan,
    /// Our own limiter: no capacity before the call's deadline (nothing was sent).
    Local,
}

/// Why the outcome of an order call is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnknownCause {
    /// HTTP 5xx: the venue may have acted before failing.
    ServerError {
        /// HTTP status.
        status: u16,
        /// The body, truncated.
        body: String,
    },
    /// No answer in time.
    Timeout,
    /// The connection failed after the request may have been written.
    Transport(String),
    /// The client was stopped while the call was in flight.
    Closed,
}

impl fmt::Display for UnknownCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServerError { status, body } => write!(f, "HTTP {status}: {body}"),
            Self::Timeout => f.write_str("timed out"),
            Self::Transport(e) => write!(f, "transport error: {e}"),
            Self::Closed => f.write_str("client stopped while in flight"),
        }
    }
}

/// A failed REST call.
///
/// The variants say what the caller must do: [`RestError::OutcomeUnknown`] (an order call
/// that may or may not have taken effect: reconcile, never assume "not placed"),
/// [`RestError::RateLimited`] (back off; the limiter already pauses the scope),
/// [`RestError::Timestamp`] (the clock is re-synchronised; retry), and so on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestError {
    /// The client (or its rate limiter) is stopping or stopped: the call was not sent.
    #[error("REST client closed")]
    Closed,
    /// The client was not started: the call was not sent.
    #[error("REST client not started")]
    NotStarted,
    /// A signed endpoint was called without credentials: the call was not sent.
    #[error("no API credentials configured for a signed endpoint")]
    MissingCredentials,
    /// Rate limited, by the venue (429/418) or by our limiter before sending.
    #[error("rate limited ({by:?}); retry after {retry_after:?}")]
    RateLimited {
        /// Who refused.
        by: RateLimitSource,
        /// How long to wait, if known.
        retry_after: Option<Duration>,
    },
    /// API key, signature, IP whitelist or permission refused (codes 400 (except on order
    /// calls), 401, 403, 602, 700001, 700002, 700006, 700007).
    #[error("authentication refused: {0}")]
    Authentication(VenueError),
    /// Timestamp outside `recvWindow` (700003) or `recvWindow` too large (700005).
    #[error("timestamp refused: {0}")]
    Timestamp(VenueError),
    /// Insufficient balance or position (10101, 30004, 30005).
    #[error("insufficient funds: {0}")]
    InsufficientFunds(VenueError),
    /// An order the venue refuses as invalid (bad symbol, amount, price, parameters, trading
    /// disabled, too many open orders...). Definitely not placed.
    #[error("invalid order: {0}")]
    InvalidOrder(VenueError),
    /// Unknown order: `-2011` (cancel of an unknown or closed order) or `-2013` (`Order does
    /// not exist.`, MEXC's answer to a query of an unknown order).
    #[error("unknown order: {0}")]
    UnknownOrder(VenueError),
    /// The listen key is unknown, expired or deleted (`730708`, `listen key information
    /// error`, MEXC's answer to a keep-alive of such a key): create a new one.
    #[error("listen key refused: {0}")]
    ListenKeyInvalid(VenueError),
    /// The account holds as many listen keys as the venue allows (`730001`, MEXC: 60): no
    /// private stream can start until stale keys are deleted (or expire, 60 minutes after
    /// their last keep-alive).
    #[error(
        "the account holds the most listen keys the venue allows ({0}): delete the stale ones (DELETE /api/v3/userDataStream for each key GET /api/v3/userDataStream lists) or wait until they expire, 60 minutes after their last keep-alive"
    )]
    ListenKeyLimit(VenueError),
    /// Any other refusal by the venue.
    #[error("refused by the venue: {0}")]
    Rejected(VenueError),
    /// An order call whose outcome is unknown (5xx, timeout, broken connection, stopped in
    /// flight): the order may exist. Reconcile; never treat as "not placed".
    #[error("outcome unknown for {endpoint}: {cause}")]
    OutcomeUnknown {
        /// The call.
        endpoint: Endpoint,
        /// Why.
        cause: UnknownCause,
    },
    /// HTTP 5xx on a call that changes nothing.
    #[error("server error HTTP {status}: {body}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The body, truncated.
        body: String,
    },
    /// No answer in time (a call that changes nothing).
    #[error("timed out")]
    Timeout,
    /// Connection failure (a call that changes nothing, or one that was never sent).
    #[error("transport error: {0}")]
    Transport(String),
    /// A body that does not parse as expected.
    #[error("unexpected response HTTP {status} ({reason}): {body}")]
    Decode {
        /// HTTP status.
        status: u16,
        /// What did not parse.
        reason: String,
        /// The body, truncated.
        body: String,
    },
    /// A request the client refuses to send (e.g. neither order id nor client order id).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl RestError {
    /// Whether this is an order call whose effect at the venue is unknown (reconcile).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// The venue's error, if it sent one.
    pub fn venue_error(&self) -> Option<&VenueError> {
        match self {
            Self::Authentication(e)
            | Self::Timestamp(e)
            | Self::InsufficientFunds(e)
            | Self::InvalidOrder(e)
            | Self::UnknownOrder(e)
            | Self::ListenKeyInvalid(e)
            | Self::ListenKeyLimit(e)
            | Self::Rejected(e) => Some(e),
            _ => None,
        }
    }

    /// Maps a venue's `{"code","msg"}` error for `endpoint`.
    pub fn from_venue(endpoint: Endpoint, error: VenueError) -> Self {
        match error.code {
            // MEXC's 400 is "API key required"; the client always sends one on signed calls,
            // so on an order call a 400 is taken as a refusal of the order's parameters.
            400 if endpoint.places_order() => Self::InvalidOrder(error),
            400 | 401 | 403 | 602 | 700001 | 700002 | 700006 | 700007 => {
                Self::Authentication(error)
            }
            700003 | 700005 => Self::Timestamp(error),
            10101 | 30004 | 30005 => Self::InsufficientFunds(error),
            -2011 | -2013 => Self::UnknownOrder(error),
            730708 => Self::ListenKeyInvalid(error),
            730001 => Self::ListenKeyLimit(error),
            _ if matches!(error.status, 401 | 403) => Self::Authentication(error),
            _ if endpoint.places_order() && error.status < 500 => Self::InvalidOrder(error),
            _ => Self::Rejected(error),
        }
    }
}

/// At most this many bytes of a body are kept in an error.
pub(crate) const BODY_EXCERPT: usize = 512;

/// The first [`BODY_EXCERPT`] bytes of `body` as text (cut at a character boundary).
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= BODY_EXCERPT {
        return text.into_owned();
    }
    let mut end = BODY_EXCERPT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn venue(status: u16, code: i64) -> VenueError {
        VenueError {
            status,
            code,
            msg: "m".into(),
        }
    }

    #[test]
    fn codes_map_to_kinds() {
        let e = |status, code| RestError::from_venue(Endpoint::NewOrder, venue(status, code));
        assert!(matches!(e(400, 700002), RestError::Authentication(_)));
        assert!(matches!(e(400, 602), RestError::Authentication(_)));
        assert!(matches!(e(400, 400), RestError::InvalidOrder(_)));
        assert!(matches!(
            RestError::from_venue(Endpoint::Account, venue(400, 400)),
            RestError::Authentication(_)
        ));
        assert!(matches!(e(403, 12345), RestError::Authentication(_)));
        assert!(matches!(e(400, 700003), RestError::Timestamp(_)));
        assert!(matches!(e(400, 10101), RestError::InsufficientFunds(_)));
        assert!(matches!(e(400, 30005), RestError::InsufficientFunds(_)));
        assert!(matches!(e(400, 30087), RestError::InvalidOrder(_)));
        assert!(matches!(e(400, 10007), RestError::InvalidOrder(_)));
        // MEXC's code for a LIMIT_MAKER that would take is unverified (the simulator answers
        // Binance's -2010): any 4xx refusal of an order must read as "invalid, not placed".
        for code in [-2010, 30_000, 123_456_789, i64::MIN] {
            assert!(matches!(e(400, code), RestError::InvalidOrder(_)), "{code}");
        }
        assert!(matches!(e(400, -2011), RestError::UnknownOrder(_)));
        assert!(matches!(
            RestError::from_venue(Endpoint::QueryOrder, venue(400, -2013)),
            RestError::UnknownOrder(_)
        ));
        assert!(matches!(
            RestError::from_venue(Endpoint::KeepAliveListenKey, venue(400, 730708)),
            RestError::ListenKeyInvalid(_)
        ));
        assert!(matches!(
            RestError::from_venue(Endpoint::CreateListenKey, venue(400, 730001)),
            RestError::ListenKeyLimit(_)
        ));
        let other = RestError::from_venue(Endpoint::Depth, venue(400, 10007));
        assert!(matches!(other, RestError::Rejected(_)));
        assert!(!other.is_outcome_unknown());
        assert_eq!(other.venue_error().map(|v| v.code), Some(10007));
        let unknown = RestError::OutcomeUnknown {
            endpoint: Endpoint::NewOrder,
            cause: UnknownCause::Timeout,
        };
        assert!(unknown.is_outcome_unknown());
    }

    #[test]
    fn excerpts_are_bounded_and_cut_on_char_boundaries() {
        assert_eq!(excerpt(b"short"), "short");
        let long = "é".repeat(400);
        let cut = excerpt(long.as_bytes());
        assert!(cut.len() <= BODY_EXCERPT + 3);
        assert!(cut.ends_with("..."));
        assert_eq!(excerpt(&[0xff, b'a']), "\u{fffd}a");
    }
}
