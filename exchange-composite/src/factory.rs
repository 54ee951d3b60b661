//! [`ExchangeFactory`]: builds a composite exchange from a configuration and starts it.

use std::sync::Arc;

use lifecycle_core::{
    AsyncResource, BoxFuture, LifecycleState, StartError, StateWatcher, StopReport,
};
use tokio::time::Instant;

use crate::config::ExchangeConfig;
use crate::error::ExchangeError;
use crate::private::PrivateCompositeExchange;
use crate::public::PublicCompositeExchange;

/// A started exchange from [`ExchangeFactory::create_exchange_with_lifecycle`]: public or
/// private. It is an [`AsyncResource`]: stop it (or register it with an orchestrator).
#[derive(Debug, Clone)]
pub enum CompositeExchange {
    /// Market data.
    Public(Arc<PublicCompositeExchange>),
    /// Orders and balances.
    Private(Arc<PrivateCompositeExchange>),
}

impl CompositeExchange {
    /// The public exchange, if this is one.
    pub fn as_public(&self) -> Option<&Arc<PublicCompositeExchange>> {
        match self {
            Self::Public(public) => Some(public),
            Self::Private(_) => None,
        }
    }

    /// The private exchange, if this is one.
    pub fn as_private(&self) -> Option<&Arc<PrivateCompositeExchange>> {
        match self {
            Self::Private(private) => Some(private),
            Self::Public(_) => None,
        }
    }

    /// As a resource handle for an orchestrator.
    pub fn into_resource(self) -> Arc<dyn AsyncResource> {
        match self {
            Self::Public(public) => public,
            Self::Private(private) => private,
        }
    }

    fn resource(&self) -> &dyn AsyncResource {
        match self {
            Self::Public(public) => &**public,
            Self::Private(private) => &**private,
        }
    }
}

impl AsyncResource for CompositeExchange {
    fn name(&self) -> &str {
        self.resource().name()
    }

    fn state(&self) -> LifecycleState {
        self.resource().state()
    }

    fn watch_state(&self) -> StateWatcher {
        self.resource().watch_state()
    }

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        self.resource().start()
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        self.resource().stop(deadline)
    }
}

/// Makes composite exchanges, each started and owning its REST client.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExchangeFactory;

impl ExchangeFactory {
    /// Creates the public (`is_private == false`) or private exchange of `config`, with its
    /// own REST client and rate limiter, and starts it. A failed start has already stopped
    /// whatever it had started.
    ///
    /// The caller stops the exchange ([`AsyncResource::stop`]); prefer
    /// [`ExchangeContext::run`](crate::ExchangeContext::run), which stops both exchanges in
    /// order on every exit path.
    ///
    /// # Errors
    /// The configuration is unusable (a private exchange without credentials, say), or the
    /// start failed.
    pub async fn create_exchange_with_lifecycle(
        config: &ExchangeConfig,
        is_private: bool,
    ) -> Result<CompositeExchange, ExchangeError> {
        let exchange = if is_private {
            CompositeExchange::Private(Arc::new(PrivateCompositeExchange::new(config)?))
        } else {
            CompositeExchange::Public(Arc::new(PublicCompositeExchange::new(config)?))
        };
        exchange.start().await?;
        Ok(exchange)
    }
}
