//! [`PrivateStreamHandler`]: decodes the private socket's pushes into order updates, fills and
//! balances, on the read loop.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use exchange_streams::{EventPublisher, LatestPublisher};
use exchange_ws::{Frame, FrameHandler, WsEvent};
use tokio::sync::Notify;

use crate::domain::asset::AssetName;
use crate::domain::balance::Balance;
use crate::domain::updates::{BalanceUpdate, Fill, OrderUpdate};
use crate::domain::venue_event::VenueEvent;
use crate::private::order_guard::OrderGuard;
use crate::push_decoder::FrameDecoder;
use crate::venue::Venue;

/// Balances by asset, as the private balance stream publishes them.
pub type Balances = BTreeMap<AssetName, Balance>;

/// The publishers the private socket feeds.
#[derive(Clone)]
pub(crate) struct PrivatePublishers {
    pub(crate) orders: EventPublisher<OrderUpdate>,
    pub(crate) fills: EventPublisher<Fill>,
    pub(crate) balance_updates: EventPublisher<BalanceUpdate>,
    pub(crate) balances: LatestPublisher<Balances>,
}

/// The private socket's frame handler.
pub(crate) struct PrivateStreamHandler {
    pub(crate) publishers: PrivatePublishers,
    /// The venue's decoder, counting into the exchange's frame counts.
    pub(crate) decoder: FrameDecoder,
    pub(crate) venue: Arc<dyn Venue>,
    pub(crate) guard: Arc<OrderGuard>,
    /// Poked on every disconnect: the listen key may have expired.
    pub(crate) recheck_listen_key: Arc<Notify>,
}

impl fmt::Debug for PrivateStreamHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateStreamHandler")
            .field("decoder", &self.decoder)
            .finish_non_exhaustive()
    }
}

impl FrameHandler for PrivateStreamHandler {
    fn on_frame(&mut self, frame: Frame<'_>) -> Result<(), String> {
        let Some(event) = self.decoder.decode_frame(frame) else {
            return Ok(()); // a control reply, or a bad frame (counted and logged)
        };
        match event {
            VenueEvent::Order(update) => {
                self.guard.observe(&update);
                tracing::debug!(
                    order_id = %update.order_id,
                    status = %update.status,
                    filled = %update.filled_quantity,
                    "order update"
                );
                self.publishers.orders.publish(update);
            }
            VenueEvent::Fill(fill) => {
                tracing::info!(
                    order_id = %fill.order_id,
                    side = ?fill.side,
                    price = %fill.price,
                    quantity = %fill.quantity,
                    "fill"
                );
                self.publishers.fills.publish(fill);
            }
            VenueEvent::Balance(update) => {
                self.publishers.balances.modify(|balances| {
                    balances.insert(
                        update.asset.clone(),
                        Balance {
                            asset: update.asset.clone(),
                            free: update.free,
                            locked: update.locked,
                        },
                    );
                });
                self.publishers.balance_updates.publish(update);
            }
            VenueEvent::BookTicker { .. }
            | VenueEvent::DepthDiff { .. }
            | VenueEvent::Trades { .. } => {}
        }
        Ok(())
    }

    fn on_event(&mut self, event: &WsEvent) {
        match event {
            // A new connection, a new decoder.
            WsEvent::Connected { .. } => self.decoder.restart(self.venue.push_decoder()),
            WsEvent::Disconnected { .. } => self.recheck_listen_key.notify_one(),
            _ => {}
        }
    }
}

/// Seeds the balance stream from the account (REST), once the private socket is up and the
/// start's reconciliation is done (the account endpoint is limited to 2 calls per second: a
/// 429 on it pauses every signed call, and must not delay the cancel of a previous run's
/// orders). An asset a push already updated keeps the pushed (newer) value.
pub(crate) async fn seed_balances(
    venue: &dyn crate::venue::Venue,
    balances: &exchange_streams::LatestPublisher<Balances>,
) {
    match venue.balances().await {
        Ok(account) => {
            balances.modify(|known| {
                for balance in account {
                    known.entry(balance.asset.clone()).or_insert(balance);
                }
            });
        }
        Err(error) => {
            tracing::warn!(%error, "balances not seeded from the account: they follow pushes only");
        }
    }
}
