//! Public and private composite exchanges on the quiesce lifecycle: market data, orders and
//! balances of a venue (MEXC spot first), which start in order, stop in order, and leave no
//! orphan orders behind.
//!
//! - [`ExchangeContext::run`]: the scoped API. A public and a private exchange on one shared
//!   REST client; the body runs; everything stops in [the shutdown order](#the-shutdown-order)
//!   on success, error and panic alike (cancel and confirm our orders -> private socket and
//!   listen key -> public socket -> streams -> REST client and rate limiter), under one
//!   deadline, with one report.
//! - [`PublicCompositeExchange`]: book tickers, local order books and trades as observable
//!   streams. [`PrivateCompositeExchange`]: place, cancel, cancel all, open orders, balances,
//!   the listen key's whole life, order/fill/balance streams. Each is an `AsyncResource` made
//!   of parts ([`lifecycle_core::ResourceGroup`]) that stop in priority order.
//! - [`Venue`]: the seam between the exchanges and a venue's protocol (REST, channels, push
//!   decoding, private sessions): the venue hands out a [`PushDecoder`] per connection and
//!   the version rule ([`DepthSequencing`]) its markets' [`LocalOrderBook`]s follow; nothing
//!   outside [`mexc`] knows MEXC's formats. [`MexcSpot`] is the first venue.
//! - [`ExchangeFactory::create_exchange_with_lifecycle`]: one started exchange that owns its
//!   REST client. [`ExchangeConfig`]: embedded or standalone simulator, or real MEXC (keys
//!   from the environment or a file; never logged).
//!
//! - [`guardian`]: the order guardian, a child process that cancels our orders and deletes
//!   our listen key if the trading process dies without a clean end (MEXC spot has no
//!   dead-man's switch).
//!
//! - [`instance`]: one deployment's name, its advisory lock, the record of its listen keys,
//!   and the sweep of what a dead process of it left behind (`mm-demo cancel-orphans`).
//!
//! - Domain types: [`Symbol`], [`AssetName`], [`Side`], [`OrderType`], [`OrderStatus`],
//!   [`Order`], [`BookTicker`], [`OrderBook`], [`Trade`], [`Balance`], private updates,
//!   [`SymbolRules`] for exact rounding to a market's precision, and what every venue's
//!   pushes decode into: [`VenueEvent`] (or a [`DecodeError`]; market data borrows the
//!   [`PushBuffers`] its caller reuses frame after frame), [`DepthSnapshot`] and
//!   [`DepthDiff`] for the [`LocalOrderBook`] (resynchronised on any gap), [`PushInterval`].
//!   Money is `Decimal`, never `f64`.
//! - [`ClientOrderIdGenerator`]: our orders carry a recognisable prefix, so orders a killed
//!   run left behind can be found and cancelled at the next start.
//! - [`mexc`]: MEXC spot: channel names, protobuf push decoding into [`VenueEvent`]s
//!   ([`mexc::MexcPushDecoder`]; a frame that fails is counted and logged by the
//!   [`FrameDecoder`], never a panic), MEXC's version rule of depth diffs
//!   ([`mexc::MexcDepthVersions`]), and the REST client with MEXC spot's limits
//!   ([`MexcRest`]).
//!
//! # Example
//!
//! A context on the embedded venue (`exchange-sim`, on 127.0.0.1 with ephemeral ports): read
//! the market, rest an order, and let the shutdown cancel it. Against MEXC the configuration is
//! [`ExchangeConfig::mexc_spot`] with credentials from the environment or a file.
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! use exchange_composite::{
//!     AssetName, Credentials, ExchangeConfig, ExchangeContext, ExchangeError, OrderRequest, Side,
//!     Symbol,
//! };
//! use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
//! use rust_decimal::Decimal;
//!
//! let venue = SimVenue::start(SimConfig::default()).await?;
//! let hifi = Symbol::spot(AssetName::new("HIFI")?, AssetName::new("USDT")?);
//! let config = ExchangeConfig::new(venue.rest_url(), venue.ws_url())
//!     .symbol(hifi.clone())
//!     .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET));
//!
//! let done = ExchangeContext::run(&config, |exchanges| async move {
//!     let ticker = exchanges
//!         .public
//!         .wait_for_book_ticker(&hifi, Duration::from_secs(5))
//!         .await?;
//!     let bid = OrderRequest::limit_maker(
//!         hifi,
//!         Side::Buy,
//!         ticker.bid_price / Decimal::TWO,
//!         Decimal::from(50),
//!     );
//!     let order = exchanges.private.place_order(bid).await?;
//!     Ok::<_, ExchangeError>(order)
//! })
//! .await?;
//! // One report for the whole stop; the resting bid was cancelled and confirmed.
//! assert!(done.report.is_clean(), "{}", done.report);
//! assert!(venue.open_orders(DEMO_API_KEY).is_some_and(|open| open.is_empty()));
//! assert!(!done.value.order_id.is_empty());
//! venue.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! `examples/` has two more: `01_context_on_embedded_venue` (this, with the report printed)
//! and `02_custom_venue` (a venue of your own behind the [`Venue`] seam).

#![doc = include_str!("../docs/shutdown-order.md")]
#![doc(test(attr(deny(warnings))))]

mod account_cleaner;
mod config;
mod context;
mod domain;
mod error;
mod factory;
pub mod guardian;
pub mod instance;
mod markets;
pub mod mexc;
mod parts;
pub mod private;
pub mod public;
mod push_decoder;
mod retry;
pub mod telemetry;
mod venue;

pub use config::{API_KEY_ENV, API_SECRET_ENV, ConfigError, ExchangeConfig, MEXC_SPOT_WS_URL};
pub use context::{ContextError, ContextOutcome, ExchangeContext, Exchanges};
pub use factory::{CompositeExchange, ExchangeFactory};
pub use mexc::{MexcRest, MexcSpot};
pub use parts::ExchangeBuilder;
pub use private::{ListenKey, OrderRequest, PrivateCompositeExchange, Sweep};
pub use public::PublicCompositeExchange;
pub use push_decoder::{FrameCounts, FrameDecoder, PushDecoder};
pub use venue::{OrderKey, PlacedOrder, Venue};

/// The REST layer under the exchanges (exchange-rest), for what the composite's API hands
/// out of it (an [`ExchangeError::Rest`] carries a [`RestError`]): callers need no direct
/// dependency on it.
pub use exchange_rest as rest;
pub use exchange_rest::{Credentials, RateLimitSource, RestError};

pub use domain::asset::AssetName;
pub use domain::balance::Balance;
pub use domain::client_order_id::{ClientOrderId, ClientOrderIdGenerator};
pub use domain::decode_error::DecodeError;
pub use domain::depth::{DepthDiff, DepthSnapshot};
pub use domain::depth_sequencing::{DepthSequencing, DiffPlace};
pub use domain::limits::{MAX_PRICE, MAX_QUANTITY, VenueValue};
pub use domain::local_order_book::{DiffOutcome, LocalOrderBook};
pub use domain::mapping_error::MappingError;
pub use domain::market::{BookTicker, PriceLevel, Trade};
pub use domain::order::{Order, OrderStatus, OrderType};
pub use domain::order_book::OrderBook;
pub use domain::push_buffers::PushBuffers;
pub use domain::push_interval::PushInterval;
pub use domain::rules::SymbolRules;
pub use domain::side::Side;
pub use domain::symbol::Symbol;
pub use domain::updates::{BalanceUpdate, Fill, OrderUpdate};
pub use domain::venue_event::VenueEvent;
pub use error::{DomainError, ExchangeError};
