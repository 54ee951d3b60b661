//! [`GuardianBrief`]: what the order guardian must know to clean up after its parent.

use std::time::Duration;

use exchange_rest::Credentials;

use crate::config::ExchangeConfig;
use crate::domain::symbol::Symbol;
use crate::guardian::error::GuardianError;

/// Default time the guardian gives itself to cancel and confirm our orders and delete the
/// listen key once its parent died.
pub const DEFAULT_GUARDIAN_SWEEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the order guardian needs to act for its parent: the venue, the account's
/// credentials, which orders are ours (the client-order-id prefix) on which markets, and who
/// the parent is. It travels over the guardian's stdin (an inherited pipe), never through
/// argv or the environment. `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub struct GuardianBrief {
    /// REST base URL of the venue.
    pub rest_url: String,
    /// The account's API key and secret.
    pub credentials: Credentials,
    /// Prefix of our client order ids: only orders carrying it are cancelled.
    pub client_order_id_prefix: String,
    /// The markets our orders may rest on.
    pub symbols: Vec<Symbol>,
    /// The parent's process id (a second sign of its death besides the pipe's end).
    pub parent_pid: u32,
    /// How long the clean-up after the parent's death may take.
    pub sweep_timeout: Duration,
    /// Per-request timeout of the guardian's REST client.
    pub request_timeout: Duration,
}

impl GuardianBrief {
    /// The brief of this process for the exchanges of `config`.
    ///
    /// # Errors
    /// [`GuardianError::NoCredentials`] if `config` has none.
    pub fn for_config(config: &ExchangeConfig) -> Result<Self, GuardianError> {
        let credentials = config
            .credentials
            .clone()
            .ok_or(GuardianError::NoCredentials)?;
        Ok(Self {
            rest_url: config.rest_url.clone(),
            credentials,
            client_order_id_prefix: config.client_order_id_prefix.clone(),
            symbols: config.symbols.clone(),
            parent_pid: std::process::id(),
            sweep_timeout: DEFAULT_GUARDIAN_SWEEP_TIMEOUT,
            request_timeout: config.request_timeout,
        })
    }

    /// The configuration of the guardian's own REST client (no websocket: it only cancels,
    /// lists and deletes).
    pub(crate) fn exchange_config(&self) -> ExchangeConfig {
        let mut config = ExchangeConfig::new(self.rest_url.clone(), String::new())
            .credentials(self.credentials.clone())
            .client_order_id_prefix(self.client_order_id_prefix.clone());
        config.name = "guardian".to_owned();
        config.symbols = self.symbols.clone();
        config.request_timeout = self.request_timeout;
        config
    }
}
