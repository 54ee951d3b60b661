//! MEXC request signing: HMAC-SHA256 over the raw query (up to `&signature=`) plus the raw body,
//! lowercase hex; API-key lookup; the timestamp / recvWindow check.

use std::collections::HashMap;
use std::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::accounts::AccountId;
use crate::error::ApiError;

/// Default `recvWindow` in ms.
pub const DEFAULT_RECV_WINDOW_MS: i64 = 5000;
/// Largest accepted `recvWindow` in ms.
pub const MAX_RECV_WINDOW_MS: i64 = 60_000;

/// `lowercase_hex(HMAC_SHA256(secret, payload))`, the MEXC signature of `payload`.
///
/// ```
/// let sig = exchange_sim::auth::sign(
///     "45d0b3c26f2644f19bfb98b07741b2f5",
///     "symbol=HIFIUSDT&timestamp=1700000000000&recvWindow=5000",
/// );
/// assert_eq!(sig, "1ebaacd6b2af57caf8711fc3ba2157f8a18553e8aca27b7c871e97879f4194d5");
/// ```
pub fn sign(secret: &str, payload: &str) -> String {
    hex::encode(mac(secret, payload.as_bytes()).finalize().into_bytes())
}

fn mac(secret: &str, payload: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this never takes the fallback path.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => Hmac::<Sha256>::new(&Default::default()),
    };
    mac.update(payload);
    mac
}

/// The part of a request that was signed, and the signature that was sent.
#[derive(Debug, PartialEq, Eq)]
pub struct SignedPayload<'a> {
    /// `query-before-signature` + `body` (or `query` + `body-before-signature`).
    pub payload: String,
    /// The `signature` value as received.
    pub signature: &'a str,
}

/// Split a raw request into the signed payload and the signature, as MEXC does: the signature
/// is the last parameter of the query string (or of the body when everything is in the body).
pub fn split_signature<'a>(
    raw_query: &'a str,
    raw_body: &'a str,
) -> Result<SignedPayload<'a>, ApiError> {
    if let Some((before, signature)) = find_signature(raw_query) {
        return Ok(SignedPayload {
            payload: format!("{before}{raw_body}"),
            signature,
        });
    }
    if let Some((before, signature)) = find_signature(raw_body) {
        return Ok(SignedPayload {
            payload: format!("{raw_query}{before}"),
            signature,
        });
    }
    Err(ApiError::missing_signature())
}

fn find_signature(params: &str) -> Option<(&str, &str)> {
    let (before, rest) = if let Some(rest) = params.strip_prefix("signature=") {
        ("", rest)
    } else {
        let idx = params.find("&signature=")?;
        (&params[..idx], &params[idx + "&signature=".len()..])
    };
    let signature = rest.split('&').next().unwrap_or_default();
    Some((before, signature))
}

/// Check `signature` (64 lowercase hex digits) against `payload` in constant time.
pub fn verify_signature(secret: &str, payload: &str, signature: &str) -> Result<(), ApiError> {
    let well_formed = signature.len() == 64
        && signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !well_formed {
        return Err(ApiError::bad_request(602, "Signature verification failed"));
    }
    let expected = hex::decode(signature)
        .map_err(|_| ApiError::bad_request(602, "Signature verification failed"))?;
    mac(secret, payload.as_bytes())
        .verify_slice(&expected)
        .map_err(|_| ApiError::bad_request(700002, "Signature for this request is not valid."))
}

/// How far ahead of the server's clock a timestamp may be, ms.
const MAX_CLOCK_LEAD_MS: i64 = 1000;

/// `timestamp < server_time + 1000 && server_time - timestamp <= recv_window`, else 700003;
/// `recv_window` outside `1..=60000` is 700005. Computed without overflow for every value a
/// client can send: a difference that does not fit an `i64` is outside any window.
pub fn check_timestamp(timestamp: i64, recv_window: i64, server_time: i64) -> Result<(), ApiError> {
    if !(1..=MAX_RECV_WINDOW_MS).contains(&recv_window) {
        return Err(ApiError::bad_request(
            700005,
            "recvWindow must less than 60000",
        ));
    }
    let not_ahead = server_time
        .checked_add(MAX_CLOCK_LEAD_MS)
        .is_none_or(|limit| timestamp < limit);
    let age = server_time.checked_sub(timestamp);
    if not_ahead && age.is_some_and(|age| age <= recv_window) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            700003,
            "Timestamp for this request is outside of the recvWindow.",
        ))
    }
}

/// What an API key grants.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// The account the key belongs to.
    pub account: AccountId,
    /// The HMAC secret.
    pub secret: String,
    /// Whether the key may trade.
    pub can_trade: bool,
    /// Client IPs allowed, if restricted.
    pub ip_whitelist: Option<Vec<IpAddr>>,
}

/// All API keys of the venue (fixed at start).
#[derive(Debug, Default)]
pub struct KeyStore {
    keys: HashMap<String, ApiKey>,
}

impl KeyStore {
    /// Register a key.
    pub fn insert(&mut self, api_key: String, key: ApiKey) {
        self.keys.insert(api_key, key);
    }

    /// Look up the key sent in `X-MEXC-APIKEY`, checking its format and the client IP.
    pub fn authenticate(
        &self,
        api_key: Option<&str>,
        client_ip: IpAddr,
    ) -> Result<&ApiKey, ApiError> {
        let Some(api_key) = api_key.filter(|k| !k.is_empty()) else {
            return Err(ApiError::bad_request(400, "api key required"));
        };
        if api_key.len() > 64 || !api_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApiError::bad_request(700001, "Api key info invalid"));
        }
        let key = self.keys.get(api_key).ok_or_else(|| {
            ApiError::with_status(
                axum::http::StatusCode::UNAUTHORIZED,
                401,
                "Api key info invalid",
            )
        })?;
        if let Some(allowed) = &key.ip_whitelist
            && !allowed.contains(&client_ip)
        {
            return Err(ApiError::bad_request(
                700006,
                format!("IP [{client_ip}] not in the ip white list"),
            ));
        }
        Ok(key)
    }

    /// The account of an API key, if it exists.
    pub fn account_of(&self, api_key: &str) -> Option<AccountId> {
        self.keys.get(api_key).map(|k| k.account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "45d0b3c26f2644f19bfb98b07741b2f5";

    #[test]
    fn protocol_vectors() {
        assert_eq!(
            sign(
                SECRET,
                "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000&timestamp=1644489390087"
            ),
            "fd3e4e8543c5188531eb7279d68ae7d26a573d0fc5ab0d18eb692451654d837a"
        );
        assert_eq!(
            sign(
                SECRET,
                "symbol=BTCUSDT&side=BUY&type=LIMITquantity=1&price=11&recvWindow=5000&timestamp=1644489390087"
            ),
            "d1a676610ceb39174c8039b3f548357994b2a34139a8addd33baadba65684592"
        );
        assert_eq!(
            sign(
                SECRET,
                "symbol=HIFIUSDT&timestamp=1700000000000&recvWindow=5000"
            ),
            "1ebaacd6b2af57caf8711fc3ba2157f8a18553e8aca27b7c871e97879f4194d5"
        );
    }

    #[test]
    fn split_query_and_body() {
        let q = "symbol=BTCUSDT&side=BUY&type=LIMIT&signature=abc";
        let s = split_signature(q, "quantity=1").unwrap();
        assert_eq!(s.payload, "symbol=BTCUSDT&side=BUY&type=LIMITquantity=1");
        assert_eq!(s.signature, "abc");
        let s = split_signature("symbol=X", "a=1&signature=def").unwrap();
        assert_eq!(s.payload, "symbol=Xa=1");
        assert_eq!(s.signature, "def");
        let s = split_signature("signature=ff&x=1", "").unwrap();
        assert_eq!(s.payload, "");
        assert_eq!(s.signature, "ff");
        assert_eq!(split_signature("a=1", "").unwrap_err().code, 700004);
    }

    #[test]
    fn verify_rejects_uppercase_and_wrong() {
        let payload = "symbol=HIFIUSDT&timestamp=1700000000000&recvWindow=5000";
        let good = sign(SECRET, payload);
        assert!(verify_signature(SECRET, payload, &good).is_ok());
        assert_eq!(
            verify_signature(SECRET, payload, &good.to_uppercase())
                .unwrap_err()
                .code,
            602
        );
        assert_eq!(
            verify_signature(SECRET, payload, "zz").unwrap_err().code,
            602
        );
        let mut wrong = good.into_bytes();
        wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
        let wrong = String::from_utf8(wrong).unwrap();
        assert_eq!(
            verify_signature(SECRET, payload, &wrong).unwrap_err().code,
            700002
        );
    }

    #[test]
    fn timestamp_window() {
        let now = 1_000_000;
        assert!(check_timestamp(now, 5000, now).is_ok());
        assert!(check_timestamp(now + 999, 5000, now).is_ok());
        assert_eq!(
            check_timestamp(now + 1000, 5000, now).unwrap_err().code,
            700003
        );
        assert!(check_timestamp(now - 5000, 5000, now).is_ok());
        assert_eq!(
            check_timestamp(now - 5001, 5000, now).unwrap_err().code,
            700003
        );
        assert_eq!(check_timestamp(now, 60_001, now).unwrap_err().code, 700005);
        // The replay: i64::MIN used to wrap `now - timestamp` to a negative age (release) or
        // panic (debug).
        assert_eq!(
            check_timestamp(i64::MIN, 5000, now).unwrap_err().code,
            700003
        );
        assert!(check_timestamp(i64::MAX, 5000, i64::MAX).is_ok());
    }

    proptest::proptest! {
        /// Over the full ranges of all three values, the check never panics and accepts
        /// exactly what the formula accepts when computed without overflow.
        #[test]
        fn timestamp_window_over_full_ranges(
            timestamp in proptest::prelude::any::<i64>(),
            recv_window in proptest::prelude::any::<i64>(),
            server_time in proptest::prelude::any::<i64>(),
        ) {
            let (t, w, s) = (i128::from(timestamp), i128::from(recv_window), i128::from(server_time));
            let expected = if !(1..=i128::from(MAX_RECV_WINDOW_MS)).contains(&w) {
                Some(700005)
            } else if t < s + 1000 && s - t <= w {
                None
            } else {
                Some(700003)
            };
            let got = check_timestamp(timestamp, recv_window, server_time).err().map(|e| e.code);
            proptest::prop_assert_eq!(got, expected);
        }

        /// Near the server's clock (where the interesting boundaries are), the same holds.
        #[test]
        fn timestamp_window_near_now(
            offset in -70_000i64..70_000,
            recv_window in -5i64..70_000,
        ) {
            let now = 1_700_000_000_000i64;
            let expected = if !(1..=MAX_RECV_WINDOW_MS).contains(&recv_window) {
                Some(700005)
            } else if offset < 1000 && -offset <= recv_window {
                None
            } else {
                Some(700003)
            };
            let got = check_timestamp(now + offset, recv_window, now).err().map(|e| e.code);
            proptest::prop_assert_eq!(got, expected);
        }
    }
}
