//! MEXC-shaped API errors: an HTTP status plus a `{"code":N,"msg":"..."}` body.
//!
//! Codes the venue answers (HTTP 400 unless noted):
//!
//! | code | when |
//! |---|---|
//! | 400 | no `X-MEXC-APIKEY`; precision (scale) of price/quantity too fine |
//! | 401 (HTTP 401) | unknown API key |
//! | 404 (HTTP 404) | unknown path; 405 (HTTP 405) wrong method |
//! | 429 (HTTP 429, `Retry-After`) | rate limit, or an injected 429 |
//! | 5xx (same HTTP) | injected failures; 503 while shutting down |
//! | 602 | `signature` not 64 lowercase hex digits (e.g. uppercase) |
//! | -1102 | mandatory parameter missing (`timestamp`, `symbol`, ...) |
//! | -1128 | more than 5 symbols in cancel-all |
//! | -2010 | LIMIT_MAKER would take (Binance's code and text: MEXC's is unverified) |
//! | -2011 | cancel of an unknown or closed order |
//! | -2013 | query of an unknown order (`Order does not exist.`, with `"_extend":null`) |
//! | 10007 | unknown symbol |
//! | 10101 | insufficient balance |
//! | 30002 / 30003 | below minimum / above maximum quantity or notional |
//! | 30029 | too many open orders (500 per account) |
//! | 30087 | price not positive or absurdly large |
//! | 700001 | malformed API key |
//! | 700002 | signature does not match |
//! | 700003 | timestamp outside `recvWindow` |
//! | 700004 | no `signature` (MEXC's answer quoted in hummingbot/hummingbot#7255), or neither `orderId` nor `origClientOrderId` |
//! | 700005 | `recvWindow` above 60000 |
//! | 700006 | client IP not whitelisted for the key |
//! | 700007 | key may not trade |
//! | 700008 | illegal characters / unparseable parameter or body |
//! | 730001 | more than 60 listen keys for the account |
//! | 730708 | unknown, expired or deleted listen key (`listen key information error`; the code is a JSON string, as MEXC sends it) |

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// How the error body is spelled: real MEXC is not uniform across endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyStyle {
    /// `{"code":N,"msg":"..."}`.
    #[default]
    Plain,
    /// `{"msg":"...","code":N,"_extend":null}`, as MEXC answers a query of an unknown order
    /// (ccxt/ccxt#21614).
    WithExtend,
    /// `{"code":"N","msg":"..."}` with the code as a JSON string, as MEXC answers a keep-alive
    /// of an unknown listen key (mexcdevelop/mexc-api-demo#35).
    StringCode,
}

/// An error as the venue reports it to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {msg}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// MEXC error code.
    pub code: i64,
    /// Human readable message.
    pub msg: String,
    /// `Retry-After` seconds, for 429 answers.
    pub retry_after_secs: Option<u64>,
    /// How the body is spelled.
    pub style: BodyStyle,
}

impl ApiError {
    /// An error with HTTP 400.
    pub fn bad_request(code: i64, msg: impl Into<String>) -> Self {
        Self::with_status(StatusCode::BAD_REQUEST, code, msg)
    }

    /// An error with an explicit HTTP status.
    pub fn with_status(status: StatusCode, code: i64, msg: impl Into<String>) -> Self {
        Self {
            status,
            code,
            msg: msg.into(),
            retry_after_secs: None,
            style: BodyStyle::Plain,
        }
    }

    /// HTTP 429 `{"code":429,"msg":"Too Many Requests"}` with `Retry-After`.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: 429,
            msg: "Too Many Requests".into(),
            retry_after_secs: Some(retry_after_secs.max(1)),
            style: BodyStyle::Plain,
        }
    }

    /// `-1102`: a mandatory parameter is missing.
    pub fn missing_param(name: &str) -> Self {
        Self::bad_request(
            -1102,
            format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
        )
    }

    /// `700004`: no `signature` was sent; MEXC's own answer, quoted in
    /// hummingbot/hummingbot#7255.
    pub fn missing_signature() -> Self {
        Self::bad_request(
            700004,
            "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
        )
    }

    /// `700008`: illegal characters / unparseable value in a parameter.
    pub fn illegal_param(name: &str) -> Self {
        Self::bad_request(
            700008,
            format!(
                "Illegal characters found in parameter '{name}'; legal range is '^[\\w\\-._~=,]{{1,100}}$'."
            ),
        )
    }

    /// `10007`: unknown symbol.
    pub fn bad_symbol() -> Self {
        Self::bad_request(10007, "symbol not support api")
    }

    /// `-2011`: cancel of an unknown or already closed order.
    pub fn unknown_order() -> Self {
        Self::bad_request(-2011, "Unknown order sent.")
    }

    /// `-2013`: query of an order that does not exist (ccxt/ccxt#21614 quotes MEXC's answer
    /// `{"msg":"Order does not exist.","code":-2013,"_extend":null}`).
    pub fn order_does_not_exist() -> Self {
        Self {
            style: BodyStyle::WithExtend,
            ..Self::bad_request(-2013, "Order does not exist.")
        }
    }

    /// `10101`: insufficient balance.
    pub fn insufficient_balance() -> Self {
        Self::bad_request(10101, "Insufficient balance")
    }

    /// `700004`: neither `orderId` nor `origClientOrderId` was sent.
    pub fn missing_order_ref() -> Self {
        Self::bad_request(
            700004,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null",
        )
    }

    /// `730708`: the listen key is unknown, expired or deleted. MEXC answers a keep-alive of
    /// such a key `{"code":"730708","msg":"listen key information error"}`
    /// (mexcdevelop/mexc-api-demo#35); the same answer is used for delete and for a websocket
    /// on such a key, where MEXC's answer is unverified.
    pub fn invalid_listen_key() -> Self {
        Self {
            style: BodyStyle::StringCode,
            ..Self::bad_request(730_708, "listen key information error")
        }
    }

    /// HTTP 404 for paths the venue does not serve.
    pub fn not_found() -> Self {
        Self::with_status(StatusCode::NOT_FOUND, 404, "Not Found")
    }

    /// The JSON body `{"code":N,"msg":"..."}`, spelled as [`ApiError::style`] says.
    pub fn body(&self) -> serde_json::Value {
        match self.style {
            BodyStyle::Plain => serde_json::json!({ "code": self.code, "msg": self.msg }),
            BodyStyle::WithExtend => {
                serde_json::json!({ "msg": self.msg, "code": self.code, "_extend": null })
            }
            BodyStyle::StringCode => {
                serde_json::json!({ "code": self.code.to_string(), "msg": self.msg })
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Failures of starting or running the venue itself (not client errors).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Binding or using the listener failed.
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
    /// The configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
}
