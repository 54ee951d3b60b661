//! [`AccountCleaner`]: a REST client of its own that cancels and confirms our open orders and
//! deletes private sessions, for processes that act without the exchanges running: the order
//! guardian after its parent died, and the orphan sweep.

use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::AsyncResource;
use tokio::time::Instant;

use crate::config::ExchangeConfig;
use crate::domain::client_order_id::ClientOrderIdGenerator;
use crate::error::ExchangeError;
use crate::markets::Markets;
use crate::mexc::MexcRest;
use crate::mexc::MexcSpot;
use crate::private::Sweep;
use crate::private::order_guard::OrderGuard;
use crate::venue::Venue;

/// Time the cleaner's REST client and limiter get to stop.
const REST_STOP: Duration = Duration::from_secs(1);
/// First pause between two rounds of a sweep that left orders open.
const SWEEP_RETRY_INTERVAL: Duration = Duration::from_millis(50);

/// Its own REST client and rate limiter (so every call honours the venue's limits), and an
/// order guard over them used only for its cancel-and-confirm sweep.
pub(crate) struct AccountCleaner {
    rest: MexcRest,
    venue: Arc<dyn Venue>,
    guard: OrderGuard,
}

impl AccountCleaner {
    /// Builds the client and starts the limiter (local: it never waits for the venue).
    pub(crate) async fn new(
        config: &ExchangeConfig,
        sweep_timeout: Duration,
    ) -> Result<Self, ExchangeError> {
        let rest = MexcRest::new(config)?;
        rest.limiter.start().await?;
        let venue: Arc<dyn Venue> = Arc::new(MexcSpot::new(rest.client.clone()));
        let ids = ClientOrderIdGenerator::with_clock(&config.client_order_id_prefix, config.clock)?;
        let guard = OrderGuard::new(
            format!("{}.orders", config.name),
            venue.clone(),
            Arc::new(Markets::new(&*venue, &config.symbols)),
            Arc::new(ids),
            sweep_timeout,
            SWEEP_RETRY_INTERVAL,
            None,
        );
        Ok(Self { rest, venue, guard })
    }

    /// Starts the REST client (its first clock sync; a failure is logged: its calls then fail,
    /// and the sweep says so).
    ///
    /// # Cancel safety
    /// Cancel safe: a dropped start leaves the client not started.
    pub(crate) async fn start_client(&self) {
        if let Err(error) = self.rest.client.start().await {
            tracing::error!(%error, "the cleaner's REST client did not start");
        }
    }

    /// Cancels every open order with our prefix and confirms with a fresh listing, by
    /// `deadline` (the order guard's sweep).
    pub(crate) async fn sweep_orders(&self, deadline: Instant) -> Sweep {
        self.guard.sweep(deadline).await
    }

    /// The account's private sessions (listen keys).
    pub(crate) async fn sessions(&self, deadline: Instant) -> Result<Vec<String>, ExchangeError> {
        self.venue.private_sessions(deadline).await
    }

    /// Deletes a private session (listen key).
    pub(crate) async fn delete_session(
        &self,
        key: &str,
        deadline: Instant,
    ) -> Result<(), ExchangeError> {
        self.venue.close_private_session(key, deadline).await
    }

    /// Stops the client, then the limiter.
    pub(crate) async fn stop(&self) {
        let _ = self.rest.client.stop_within(REST_STOP).await;
        let _ = self.rest.limiter.stop_within(REST_STOP).await;
    }
}
