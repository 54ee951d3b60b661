//! MEXC request signing: `lowercase_hex(HMAC_SHA256(secret, query ++ body))` over the exact
//! bytes sent.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::secret::ApiSecret;

/// A signature: 64 lowercase hex characters, on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    /// The hex text.
    pub fn as_str(&self) -> &str {
        // Always ASCII hex: written by `hex::encode_to_slice`.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.as_str())
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Signs requests with one secret. The keyed HMAC state is computed once and cloned per
/// signature; `Debug` shows nothing of it.
///
/// ```
/// use exchange_rest::{ApiSecret, Signer};
///
/// // The first test vector of the MEXC protocol notes.
/// let signer = Signer::new(&ApiSecret::new("45d0b3c26f2644f19bfb98b07741b2f5"));
/// let query = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000&timestamp=1644489390087";
/// assert_eq!(
///     signer.sign(query.as_bytes(), b"").as_str(),
///     "fd3e4e8543c5188531eb7279d68ae7d26a573d0fc5ab0d18eb692451654d837a"
/// );
/// ```
#[derive(Clone)]
pub struct Signer {
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer(<redacted>)")
    }
}

impl Signer {
    /// A signer keyed with `secret`.
    pub fn new(secret: &ApiSecret) -> Self {
        let keyed = match Hmac::<Sha256>::new_from_slice(secret.expose()) {
            Ok(keyed) => keyed,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        Self { keyed }
    }

    /// The signature of `query` followed directly by `body` (no separator), as MEXC defines
    /// `totalParams`.
    pub fn sign(&self, query: &[u8], body: &[u8]) -> Signature {
        let mut mac = self.keyed.clone();
        mac.update(query);
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        let mut hex = [0u8; 64];
        // 32 bytes always fit 64 hex characters.
        let _ = hex::encode_to_slice(digest, &mut hex);
        Signature(hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(&ApiSecret::new("45d0b3c26f2644f19bfb98b07741b2f5"))
    }

    #[test]
    fn vector_1_query_only() {
        let q = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000&timestamp=1644489390087";
        assert_eq!(
            signer().sign(q.as_bytes(), b"").as_str(),
            "fd3e4e8543c5188531eb7279d68ae7d26a573d0fc5ab0d18eb692451654d837a"
        );
    }

    #[test]
    fn vector_2_query_and_body_concatenated() {
        let q = "symbol=BTCUSDT&side=BUY&type=LIMIT";
        let body = "quantity=1&price=11&recvWindow=5000&timestamp=1644489390087";
        assert_eq!(
            signer().sign(q.as_bytes(), body.as_bytes()).as_str(),
            "d1a676610ceb39174c8039b3f548357994b2a34139a8addd33baadba65684592"
        );
    }

    #[test]
    fn vector_3_timestamp_before_recv_window() {
        let q = "symbol=HIFIUSDT&timestamp=1700000000000&recvWindow=5000";
        assert_eq!(
            signer().sign(q.as_bytes(), b"").as_str(),
            "1ebaacd6b2af57caf8711fc3ba2157f8a18553e8aca27b7c871e97879f4194d5"
        );
    }

    #[test]
    fn lowercase_and_debug_redacted() {
        let s = signer().sign(b"a=1", b"");
        assert!(
            s.as_str()
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        );
        assert_eq!(s.as_str().len(), 64);
        assert_eq!(format!("{:?}", signer()), "Signer(<redacted>)");
    }
}
