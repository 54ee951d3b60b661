//! One call: in-flight registration, rate limit, URL and signature, send, classification.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hyper::Uri;
use hyper::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::{Inner, MexcRestClient};
use crate::endpoint::{Endpoint, Method};
use crate::error::{RateLimitSource, RestError, UnknownCause, VenueError, excerpt};
use crate::limiter::AcquireError;
use crate::params::Params;
use crate::request::{GetServerTime, RestRequest};
use crate::telemetry::RestOutcome;
use crate::transport::{HttpRequest, HttpResponse, TransportError};

/// Room for what a signed call appends to its parameters (`recvWindow`, `timestamp` and
/// the 64 hex digits of `signature`, with their keys), so the URI is allocated once.
const SIGNED_SUFFIX_CAPACITY: usize = 128;
/// Pause applied after a 429 without a usable `Retry-After`.
const DEFAULT_429_PAUSE: Duration = Duration::from_secs(1);
/// Pause applied after a 418 without a usable `Retry-After` (MEXC bans for 2 min at least).
const DEFAULT_418_PAUSE: Duration = Duration::from_secs(120);

impl MexcRestClient {
    /// Runs a typed request, with the configured rate-limit wait and request timeout.
    ///
    /// # Errors
    /// See [`RestError`].
    ///
    /// # Cancel safety
    /// Cancel safe until the request is sent: dropped while it waits for the rate limiter,
    /// nothing reaches the venue (a grant it had just received stays counted, which errs on
    /// the safe side). Dropped once the request is on its way, the venue may still carry it
    /// out and nobody reads the answer: for an order call that is an unknown outcome, as
    /// [`RestError::OutcomeUnknown`] would have said. Look the order up by its client order
    /// id before assuming it was not placed (or not cancelled).
    pub async fn execute<R: RestRequest>(&self, request: &R) -> Result<R::Response, RestError> {
        self.inner
            .execute(R::ENDPOINT, request.params(), None)
            .await
    }

    /// Runs a typed request that must be done by `deadline` (rate-limit wait and HTTP call
    /// together; the request timeout still applies).
    ///
    /// # Errors
    /// See [`RestError`].
    ///
    /// # Cancel safety
    /// As [`execute`](Self::execute).
    pub async fn execute_until<R: RestRequest>(
        &self,
        request: &R,
        deadline: Instant,
    ) -> Result<R::Response, RestError> {
        self.inner
            .execute(R::ENDPOINT, request.params(), Some(deadline))
            .await
    }
}

impl Inner {
    pub(super) async fn execute<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        params: Params,
        deadline: Option<Instant>,
    ) -> Result<T, RestError> {
        // Every call takes a unit of the task's cooperative budget, as a tokio socket or
        // channel would: a call refused at once (the limiter's wait too long, the client
        // stopped, a refused connection) completes without awaiting anything, and a caller
        // that retries at once would otherwise never yield, starving every other task of
        // its thread (on a current-thread runtime the signal that should stop it, and the
        // timers). Free while the budget lasts; a yield once it is spent.
        tokio::task::coop::consume_budget().await;
        let result = self
            .execute_bytes(endpoint, params, deadline)
            .await
            .and_then(|(status, body)| decode(endpoint, status, &body));
        self.metrics.ended(match &result {
            Ok(_) => RestOutcome::Ok,
            Err(error) => RestOutcome::of(error),
        });
        if let Err(error) = &result {
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            match error {
                RestError::OutcomeUnknown { .. } => {
                    self.counters
                        .outcome_unknown
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(component = self.config.name.as_str(), endpoint = endpoint.name(), %error, "order call outcome unknown: reconcile");
                }
                RestError::Timestamp(_) => {
                    self.resync.notify_one();
                }
                _ => {}
            }
        }
        result
    }

    /// The call up to a successful (2xx) status and its body.
    async fn execute_bytes(
        &self,
        endpoint: Endpoint,
        params: Params,
        deadline: Option<Instant>,
    ) -> Result<(u16, Bytes), RestError> {
        let _entered = self.in_flight.enter()?;
        if endpoint.is_signed() && self.signer.is_none() {
            return Err(RestError::MissingCredentials);
        }
        let sent = AtomicBool::new(false);
        let call = self.perform(endpoint, &params, deadline, &sent);
        tokio::select! {
            biased;
            () = self.abort.triggered() => {
                self.counters.cancelled_by_stop.fetch_add(1, Ordering::Relaxed);
                if sent.load(Ordering::SeqCst) && endpoint.mutates_orders() {
                    Err(RestError::OutcomeUnknown { endpoint, cause: UnknownCause::Closed })
                } else {
                    Err(RestError::Closed)
                }
            }
            result = call => result,
        }
    }

    async fn perform(
        &self,
        endpoint: Endpoint,
        params: &Params,
        deadline: Option<Instant>,
        sent: &AtomicBool,
    ) -> Result<(u16, Bytes), RestError> {
        let started = Instant::now();
        let limit_deadline = deadline.unwrap_or(started + self.config.max_rate_limit_wait);
        let draw = self.draws.get(endpoint).ok_or_else(|| {
            RestError::InvalidRequest(format!("no rate-limit draw for {endpoint}"))
        })?;
        self.limiter
            .acquire(draw, limit_deadline)
            .await
            .map_err(|e| match e {
                AcquireError::Closed => RestError::Closed,
                AcquireError::NotStarted => RestError::NotStarted,
                AcquireError::DeadlineExceeded { earliest } => RestError::RateLimited {
                    by: RateLimitSource::Local,
                    retry_after: earliest,
                },
                AcquireError::Unsatisfiable | AcquireError::WouldWait => RestError::RateLimited {
                    by: RateLimitSource::Local,
                    retry_after: None,
                },
            })?;
        let http = self.http().ok_or(RestError::Closed)?;
        let mut timeout = self.config.request_timeout;
        if let Some(deadline) = deadline {
            timeout = timeout.min(deadline.saturating_duration_since(Instant::now()));
            if timeout.is_zero() {
                return Err(RestError::Timeout);
            }
        }
        let uri = self.uri(endpoint, params)?;
        let method = endpoint.method();
        let request = HttpRequest {
            method: method.to_http(),
            uri,
            api_key: if endpoint.is_signed() {
                self.api_key.clone()
            } else {
                None
            },
            json: method != Method::Get,
        };
        sent.store(true, Ordering::SeqCst);
        self.counters.sent.fetch_add(1, Ordering::Relaxed);
        // One timer around answer and body.
        let HttpResponse {
            status,
            headers,
            body,
        } = match tokio::time::timeout(timeout, http.send(request)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => return Err(transport_error(endpoint, error)),
            Err(_elapsed) if endpoint.mutates_orders() => {
                return Err(RestError::OutcomeUnknown {
                    endpoint,
                    cause: UnknownCause::Timeout,
                });
            }
            Err(_elapsed) => return Err(RestError::Timeout),
        };
        let retry_after = retry_after(&headers);
        tracing::debug!(
            component = self.config.name.as_str(),
            endpoint = endpoint.name(),
            status,
            duration_ms = started.elapsed().as_secs_f64() * 1e3,
            "REST call"
        );
        match status {
            200..=299 => Ok((status, body)),
            429 | 418 => Err(self.rate_limited(endpoint, status, retry_after)),
            500..=599 => {
                let body = excerpt(&body);
                Err(if endpoint.mutates_orders() {
                    RestError::OutcomeUnknown {
                        endpoint,
                        cause: UnknownCause::ServerError { status, body },
                    }
                } else {
                    RestError::Server { status, body }
                })
            }
            _ => Err(venue_error(endpoint, status, &body)),
        }
    }

    /// The URI of a call: parameters, then (signed) `recvWindow`, `timestamp`, `signature`.
    ///
    /// Put together once, in one buffer, already encoded (the parameters are kept encoded;
    /// what is appended here is digits and hex) and signed exactly as it is sent.
    fn uri(&self, endpoint: Endpoint, params: &Params) -> Result<Uri, RestError> {
        let base = self
            .urls
            .get(endpoint.index())
            .ok_or_else(|| RestError::InvalidRequest(format!("no URL for {endpoint}")))?;
        let signer = if endpoint.is_signed() {
            Some(self.signer.as_ref().ok_or(RestError::MissingCredentials)?)
        } else {
            None
        };
        if params.is_empty() && signer.is_none() {
            return parsed(endpoint, base.as_str().to_owned());
        }
        // The endpoint's URL is the base joined with the endpoint's path: no query of its own.
        let mut text = String::with_capacity(
            base.as_str().len() + params.as_query().len() + SIGNED_SUFFIX_CAPACITY,
        );
        text.push_str(base.as_str());
        text.push('?');
        let query_start = text.len();
        text.push_str(params.as_query());
        if let Some(signer) = signer {
            if !params.is_empty() {
                text.push('&');
            }
            let _ = write!(
                text,
                "recvWindow={}&timestamp={}",
                self.recv_window,
                self.clock.now_ms()
            );
            let signature = signer.sign(&text.as_bytes()[query_start..], b"");
            text.push_str("&signature=");
            text.push_str(signature.as_str());
        }
        parsed(endpoint, text)
    }

    fn rate_limited(
        &self,
        endpoint: Endpoint,
        status: u16,
        retry_after: Option<Duration>,
    ) -> RestError {
        self.counters
            .rate_limited_by_venue
            .fetch_add(1, Ordering::Relaxed);
        let source = if status == 418 {
            self.limiter
                .pause_all(retry_after.unwrap_or(DEFAULT_418_PAUSE));
            RateLimitSource::VenueBan
        } else {
            self.limiter
                .pause_scope(endpoint.scope(), retry_after.unwrap_or(DEFAULT_429_PAUSE));
            RateLimitSource::Venue
        };
        tracing::warn!(
            component = self.config.name.as_str(),
            endpoint = endpoint.name(),
            status,
            ?retry_after,
            "rate limited by the venue"
        );
        RestError::RateLimited {
            by: source,
            retry_after,
        }
    }

    pub(super) async fn sync_clock(&self) -> Result<i64, RestError> {
        let sent_at = self.clock.local_ms();
        let time: crate::model::ServerTime = self
            .execute(GetServerTime::ENDPOINT, GetServerTime.params(), None)
            .await?;
        let received_at = self.clock.local_ms();
        self.clock
            .record_sample(sent_at, received_at, time.server_time);
        Ok(self.clock.offset_ms())
    }
}

/// `text` as the URI of a call to `endpoint`; never the text in the error (it carries the
/// signature).
fn parsed(endpoint: Endpoint, text: String) -> Result<Uri, RestError> {
    Uri::try_from(text).map_err(|_| {
        RestError::InvalidRequest(format!("{endpoint}: the request's URI does not parse"))
    })
}

/// Decodes a 2xx body; a MEXC error object in a 2xx body is reported as the error it is
/// (checked first: lenient response types would otherwise accept it). The check parses the
/// body only when it may hold a `code` key, so a normal answer is parsed once, not twice.
fn decode<T: DeserializeOwned>(
    endpoint: Endpoint,
    status: u16,
    body: &[u8],
) -> Result<T, RestError> {
    if body.first() == Some(&b'{')
        && may_hold_code_key(body)
        && let Ok(ErrorBody {
            code: Some(code),
            msg: Some(msg),
        }) = serde_json::from_slice::<ErrorBody>(body)
        && code != 0
        && code != 200
    {
        return Err(RestError::from_venue(
            endpoint,
            VenueError { status, code, msg },
        ));
    }
    serde_json::from_slice(body).map_err(|error| RestError::Decode {
        status,
        reason: error.to_string(),
        body: excerpt(body),
    })
}

/// Whether a JSON object may have a `code` key: it holds `"code"` as written, or an escape
/// (`\`), with which a key can spell `code` in other bytes.
fn may_hold_code_key(body: &[u8]) -> bool {
    body.contains(&b'\\') || body.windows(6).any(|window| window == b"\"code\"")
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, deserialize_with = "crate::model::de::opt_i64")]
    code: Option<i64>,
    #[serde(default)]
    msg: Option<String>,
}

/// A 4xx (other than 429/418): MEXC's `{"code","msg"}`, or whatever came.
fn venue_error(endpoint: Endpoint, status: u16, body: &[u8]) -> RestError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { code, msg }) if code.is_some() || msg.is_some() => RestError::from_venue(
            endpoint,
            VenueError {
                status,
                code: code.unwrap_or(i64::from(status)),
                msg: msg.unwrap_or_default(),
            },
        ),
        _ => {
            let error = VenueError {
                status,
                code: i64::from(status),
                msg: excerpt(body),
            };
            if matches!(status, 401 | 403) {
                RestError::Authentication(error)
            } else {
                RestError::Rejected(error)
            }
        }
    }
}

/// A transport failure; for order calls that may have been written, the outcome is unknown.
fn transport_error(endpoint: Endpoint, error: TransportError) -> RestError {
    if endpoint.mutates_orders() && !error.never_sent {
        let cause = if error.timeout {
            UnknownCause::Timeout
        } else {
            UnknownCause::Transport(error.text)
        };
        return RestError::OutcomeUnknown { endpoint, cause };
    }
    if error.timeout {
        RestError::Timeout
    } else {
        RestError::Transport(error.text)
    }
}

/// `Retry-After` in seconds (integer or decimal); HTTP dates are not used by MEXC.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds: f64 = text.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::from_secs_f64(seconds.min(86_400.0 * 7.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn retry_after_parsing() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn an_error_object_in_a_2xx_body_is_an_error_however_its_key_is_spelled() {
        #[derive(Debug, Deserialize)]
        struct Lenient {
            #[serde(default)]
            #[allow(dead_code, reason = "only whether it decodes matters")]
            symbol: Option<String>,
        }
        for body in [
            &br#"{"code":30004,"msg":"Insufficient position"}"#[..],
            br#"{"msg":"Insufficient position","\u0063ode":30004}"#,
        ] {
            let decoded = decode::<Lenient>(Endpoint::NewOrder, 200, body);
            assert!(
                matches!(
                    decoded,
                    Err(RestError::InsufficientFunds(VenueError { code: 30004, .. }))
                ),
                "{decoded:?}"
            );
        }
        // A normal answer (no code key, no escape) is decoded as the type it is.
        let ok = decode::<Lenient>(Endpoint::NewOrder, 200, br#"{"symbol":"HIFIUSDT"}"#);
        assert_eq!(ok.unwrap().symbol.as_deref(), Some("HIFIUSDT"));
        assert!(!may_hold_code_key(
            br#"{"symbol":"HIFIUSDT","orderId":"C02__1"}"#
        ));
        assert!(may_hold_code_key(br#"{"code":0}"#));
        assert!(may_hold_code_key(br#"{"a":"\n"}"#));
    }

    #[test]
    fn error_bodies() {
        let e = venue_error(
            Endpoint::NewOrder,
            400,
            br#"{"code":10101,"msg":"Insufficient balance"}"#,
        );
        assert!(matches!(
            e,
            RestError::InsufficientFunds(VenueError { code: 10101, .. })
        ));
        let e = venue_error(Endpoint::Depth, 404, b"<html>not found</html>");
        assert!(matches!(
            e,
            RestError::Rejected(VenueError {
                status: 404,
                code: 404,
                ..
            })
        ));
        let e = venue_error(Endpoint::Account, 403, b"");
        assert!(matches!(e, RestError::Authentication(_)));
        let e = decode::<crate::model::ServerTime>(
            Endpoint::Time,
            200,
            br#"{"code":700003,"msg":"late"}"#,
        )
        .unwrap_err();
        assert!(matches!(e, RestError::Timestamp(_)));
        let e = decode::<crate::model::ServerTime>(Endpoint::Time, 200, b"garbage").unwrap_err();
        assert!(matches!(e, RestError::Decode { status: 200, .. }));
    }

    /// MEXC's answers as captured in public sources: the code may be a JSON string
    /// (mexcdevelop/mexc-api-demo#35) and extra fields may follow (ccxt/ccxt#21614); the HTTP
    /// status of the keep-alive refusal is not known, so both a 4xx and a 2xx are handled.
    #[test]
    fn real_mexc_error_bodies() {
        let keep_alive = br#"{"code":"730708","msg":"listen key information error"}"#;
        for status in [200, 400] {
            let e = if status == 200 {
                decode::<crate::model::ListenKey>(Endpoint::KeepAliveListenKey, status, keep_alive)
                    .unwrap_err()
            } else {
                venue_error(Endpoint::KeepAliveListenKey, status, keep_alive)
            };
            assert!(
                matches!(
                    &e,
                    RestError::ListenKeyInvalid(VenueError { code: 730708, .. })
                ),
                "{e:?}"
            );
        }
        let e = venue_error(
            Endpoint::QueryOrder,
            400,
            br#"{"msg":"Order does not exist.","code":-2013,"_extend":null}"#,
        );
        assert!(matches!(
            e,
            RestError::UnknownOrder(VenueError { code: -2013, .. })
        ));
    }
}
