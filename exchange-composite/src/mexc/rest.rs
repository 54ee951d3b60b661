//! [`MexcRest`]: MEXC's REST client and the rate limiter with MEXC spot's limits it draws from, registered
//! together in the `Cleanup` phase (the client stops before its limiter).

use std::sync::Arc;

use exchange_rest::{MexcRestClient, MexcRestConfig, RateLimiter, mexc_spot_limits};
use lifecycle_core::{DependencyAwareShutdown, ResourceId};

use crate::config::ExchangeConfig;
use crate::error::ExchangeError;
use crate::parts::Part;

/// A venue's REST client with its rate limiter.
///
/// Share one between the public and private exchanges of a venue (as [`ExchangeContext`]
/// does) so both draw from the same IP budget; whoever creates it registers it
/// ([`MexcRest::register`]) and so stops it, after everything that uses it.
///
/// [`ExchangeContext`]: crate::ExchangeContext
#[derive(Debug, Clone)]
pub struct MexcRest {
    /// The rate limiter (MEXC spot's published limits).
    pub limiter: Arc<RateLimiter>,
    /// The signed REST client.
    pub client: Arc<MexcRestClient>,
}

impl MexcRest {
    /// Builds (does not start) the client and limiter for `config`.
    ///
    /// # Errors
    /// [`ExchangeError::Build`] if the HTTP client cannot be built.
    pub fn new(config: &ExchangeConfig) -> Result<Self, ExchangeError> {
        let limiter = Arc::new(RateLimiter::new(mexc_spot_limits(format!(
            "rate_limiter.{}",
            config.name
        ))));
        let mut rest = MexcRestConfig::new(config.rest_url.clone())
            .name(format!("rest.{}", config.name))
            .request_timeout(config.request_timeout);
        rest.transport = config.rest_transport;
        rest.clock = config.clock;
        if let Some(credentials) = &config.credentials {
            rest = rest.credentials(credentials.clone());
        }
        let client = Arc::new(MexcRestClient::new(rest, limiter.clone())?);
        Ok(Self { limiter, client })
    }

    /// Registers the client and the limiter in the `Cleanup` phase (the client uses the
    /// limiter, so it stops first) and returns the client's id, for dependencies on it.
    pub fn register(&self, system: &mut DependencyAwareShutdown) -> ResourceId {
        // Registered in stop order, so reports list them that way too.
        let client = system.register(self.client.clone(), Part::Rest.priority());
        let limiter = system.register(self.limiter.clone(), Part::Rest.priority());
        // Same phase, fresh ids: neither a priority conflict nor a cycle is possible.
        let _ = system.add_dependency(client, limiter);
        client
    }
}
