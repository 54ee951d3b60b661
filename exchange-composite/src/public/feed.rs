//! [`PublicFeed`]: the public socket with its market-data pipeline and snapshot resync task,
//! as one resource of the `Medium` phase.

use std::fmt;
use std::sync::Arc;

use exchange_ws::{WebSocketConfig, WebSocketManager};
use lifecycle_core::{AsyncResource, BoxFuture, Lifecycle, StartError, StopDetails, StopReport};
use tokio::time::Instant;

use crate::markets::Markets;
use crate::public::market_data::MarketData;
use crate::retry::{give_up_on_stop, retry_transient};
use crate::venue::Venue;

/// The public socket of an exchange: loads the markets' rules, connects, subscribes, keeps
/// every local book in sync; on stop closes the socket (bounded handshake) and ends the
/// resync task.
pub(crate) struct PublicFeed {
    lifecycle: Lifecycle,
    socket: Arc<WebSocketManager>,
    market: Arc<MarketData>,
    venue: Arc<dyn Venue>,
    markets: Arc<Markets>,
    start_timeout: std::time::Duration,
}

impl fmt::Debug for PublicFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicFeed")
            .field("name", &self.lifecycle.name())
            .field("state", &self.lifecycle.state_tag())
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

impl PublicFeed {
    pub(crate) fn new(
        name: String,
        socket_config: WebSocketConfig,
        market: Arc<MarketData>,
        venue: Arc<dyn Venue>,
        markets: Arc<Markets>,
        start_timeout: std::time::Duration,
    ) -> Self {
        let socket = Arc::new(WebSocketManager::new(socket_config));
        socket.add_handler(market.handler());
        for channel in market.channels() {
            // Before start, subscribing only records the channel (replayed on connect).
            let _ = socket.subscribe(channel);
        }
        Self {
            lifecycle: Lifecycle::new(name),
            socket,
            market,
            venue,
            markets,
            start_timeout,
        }
    }

    pub(crate) fn socket(&self) -> &Arc<WebSocketManager> {
        &self.socket
    }
}

impl AsyncResource for PublicFeed {
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let (socket, market, venue, markets) = (
            self.socket.clone(),
            self.market.clone(),
            self.venue.clone(),
            self.markets.clone(),
        );
        let retry_until = Instant::now() + self.start_timeout;
        let name = self.lifecycle.name().to_owned();
        Box::pin(self.lifecycle.start(move |ctx| async move {
            let body = async {
                retry_transient("loading market rules", retry_until, || {
                    markets.load(&*venue)
                })
                .await?;
                let signal = ctx.tasks().signal().clone();
                ctx.tasks().spawn_critical("book resync", async move {
                    market.run_resync(signal).await;
                })?;
                let undo = socket.clone();
                ctx.on_rollback("stop the public socket", move |deadline| async move {
                    undo.stop(deadline).await
                });
                socket.start().await?;
                Ok(())
            };
            give_up_on_stop(&ctx, &name, body).await
        }))
    }

    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let socket = self.socket.clone();
        Box::pin(self.lifecycle.stop(deadline, move |ctx| async move {
            // The socket first: no frame reaches the pipeline after this, so the resync task
            // has nothing left to serve when it is stopped.
            let report = socket.stop(ctx.deadline()).await;
            StopDetails::new().child(report)
        }))
    }
}
