//! [`ApiSecret`] and [`Credentials`]: an API secret that no `Debug`, `Display` or log line can
//! reveal, and that is wiped from memory when dropped.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// An API secret. Its `Debug` prints `ApiSecret(<redacted>)`; it has no `Display`, no
/// `Serialize`, and no accessor outside this crate but the guardian's hand-off
/// ([`reveal_for_handoff`](Self::reveal_for_handoff)): the only other use of its bytes is the
/// request signer's key. It is held in a [`secrecy::SecretString`], so its memory (every
/// clone's) is zeroized when dropped.
///
/// ```
/// use exchange_rest::ApiSecret;
///
/// let secret = ApiSecret::new("45d0b3c26f2644f19bfb98b07741b2f5");
/// assert_eq!(format!("{secret:?}"), "ApiSecret(<redacted>)");
/// ```
#[derive(Clone)]
pub struct ApiSecret(SecretString);

impl ApiSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(SecretString::from(secret.into()))
    }

    /// The secret's bytes, for the signer only.
    pub(crate) fn expose(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }

    /// The secret itself, to hand it to a process of ours over a private channel (an
    /// inherited pipe: the order guardian of `exchange-composite`). Never log it, never put
    /// it in an argument list or an environment variable (both are readable by other local
    /// users through `/proc`), never write it to a file.
    pub fn reveal_for_handoff(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiSecret(<redacted>)")
    }
}

/// An API key (public: it is sent in the `X-MEXC-APIKEY` header) and its secret.
///
/// ```
/// use exchange_rest::Credentials;
///
/// let credentials = Credentials::new("mx0aBYs33eIilxBWC5", "45d0b3c26f2644f19bfb98b07741b2f5");
/// assert!(!format!("{credentials:?}").contains("45d0b3c2"));
/// assert_eq!(credentials.api_key(), "mx0aBYs33eIilxBWC5");
/// ```
#[derive(Clone)]
pub struct Credentials {
    api_key: String,
    secret: ApiSecret,
}

impl Credentials {
    /// Credentials from an API key and its secret.
    pub fn new(api_key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            secret: ApiSecret::new(secret),
        }
    }

    /// The API key.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The secret (redacted in every output).
    pub fn secret(&self) -> &ApiSecret {
        &self.secret
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key)
            .field("secret", &self.secret)
            .finish()
    }
}
