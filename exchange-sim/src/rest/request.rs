//! The raw request as MEXC verifies it (raw query, raw body, API key header, client IP), and
//! authentication of signed endpoints.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request};

use crate::accounts::AccountId;
use crate::app::App;
use crate::auth::{DEFAULT_RECV_WINDOW_MS, check_timestamp, split_signature, verify_signature};
use crate::error::ApiError;
use crate::params::Params;
use crate::rate_limit::Scope;

/// A request before any interpretation.
#[derive(Debug)]
pub(crate) struct RawRequest {
    pub(crate) ip: IpAddr,
    pub(crate) api_key: Option<String>,
    pub(crate) query: String,
    pub(crate) body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for RawRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let ip = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let query = req.uri().query().unwrap_or_default().to_owned();
        let api_key = req
            .headers()
            .get("X-MEXC-APIKEY")
            .map(|v| v.to_str().map(str::to_owned))
            .transpose()
            .map_err(|_| ApiError::bad_request(700001, "Api key info invalid"))?;
        let body = axum::body::to_bytes(req.into_body(), super::limits::MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::bad_request(700008, "Illegal request body"))?;
        Ok(Self {
            ip,
            api_key,
            query,
            body,
        })
    }
}

/// An endpoint's name (for rate limits) and weight.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint {
    pub(crate) name: &'static str,
    pub(crate) weight: u32,
}

impl Endpoint {
    /// The endpoint `name` (`"GET /api/v3/ping"`) of `weight`.
    pub(crate) const fn new(name: &'static str, weight: u32) -> Self {
        Self { name, weight }
    }
}

/// An authenticated signed request.
#[derive(Debug)]
pub(crate) struct Signed {
    pub(crate) account: AccountId,
    pub(crate) can_trade: bool,
    pub(crate) params: Params,
}

impl Signed {
    /// Fail with 700007 unless the key may trade.
    pub(crate) fn require_trading(&self) -> Result<(), ApiError> {
        if self.can_trade {
            Ok(())
        } else {
            Err(ApiError::bad_request(
                700007,
                "No permission to access the endpoint.",
            ))
        }
    }
}

impl App {
    /// Parse a public request and charge its weight to the client IP.
    pub(crate) fn public_request(
        &self,
        req: &RawRequest,
        endpoint: Endpoint,
    ) -> Result<Params, ApiError> {
        self.limiter
            .charge(Scope::Ip(req.ip), endpoint.name, endpoint.weight)?;
        Params::parse(&req.query, &req.body)
    }

    /// Authenticate a signed request the way MEXC does, then charge its weight to the account.
    pub(crate) fn signed_request(
        &self,
        req: &RawRequest,
        endpoint: Endpoint,
    ) -> Result<Signed, ApiError> {
        let key = self.keys.authenticate(req.api_key.as_deref(), req.ip)?;
        let params = Params::parse(&req.query, &req.body)?;
        let recv_window = params.int("recvWindow")?.unwrap_or(DEFAULT_RECV_WINDOW_MS);
        let timestamp = params
            .int("timestamp")?
            .ok_or_else(|| ApiError::missing_param("timestamp"))?;
        let body = std::str::from_utf8(&req.body)
            .map_err(|_| ApiError::bad_request(700008, "Illegal request body"))?;
        let signed = split_signature(&req.query, body)?;
        verify_signature(&key.secret, &signed.payload, signed.signature)?;
        check_timestamp(timestamp, recv_window, self.now_ms())?;
        self.limiter
            .charge(Scope::Account(key.account), endpoint.name, endpoint.weight)?;
        Ok(Signed {
            account: key.account,
            can_trade: key.can_trade,
            params,
        })
    }
}
