//! [`ExchangeBuilder`]: the one way the exchanges of a configuration are put together, and
//! [`Part::priority`], the one table of [the shutdown order](crate#the-shutdown-order): which
//! part stops in which [`ShutdownPriority`], for each exchange's own group and for the
//! context's orchestrator alike.

use std::sync::Arc;

use exchange_streams::ObservableStreams;
use lifecycle_core::{AsyncResource, DependencyAwareShutdown, ResourceGroup, ShutdownPriority};

use crate::config::ExchangeConfig;
use crate::context::{ExchangeContext, Exchanges};
use crate::error::ExchangeError;
use crate::mexc::{MexcRest, MexcSpot};
use crate::private::{PrivateCompositeExchange, PrivateParts};
use crate::public::{PublicCompositeExchange, PublicParts};
use crate::venue::Venue;

/// A part of the exchanges, by what its stop does (the crate docs' table of
/// [the shutdown order](crate#the-shutdown-order)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The private exchange's order guard: refuses new orders, cancels and confirms ours
    /// while REST is alive.
    OrderGuard,
    /// The private socket and its listen key.
    PrivateSocket,
    /// The public socket and its resync task.
    PublicSocket,
    /// An exchange's observable streams.
    Streams,
    /// The REST client and its rate limiter.
    Rest,
}

impl Part {
    /// The phase in which the part stops: lower phases stop first, so orders are cancelled
    /// while the sockets, the streams and REST still run, and REST, which every other part
    /// may call through, stops last.
    pub(crate) const fn priority(self) -> ShutdownPriority {
        match self {
            Self::OrderGuard => ShutdownPriority::CriticalFirst,
            Self::PrivateSocket => ShutdownPriority::High,
            Self::PublicSocket => ShutdownPriority::Medium,
            Self::Streams => ShutdownPriority::Low,
            Self::Rest => ShutdownPriority::Cleanup,
        }
    }
}

/// One exchange's parts before they are grouped: what [`group`] needs of either exchange.
pub(crate) trait ExchangeParts {
    /// The exchange they make.
    type Exchange;

    /// The exchange's name (its group's).
    fn name(&self) -> &str;

    /// Its own members, streams and REST aside, each with its part, in stop order.
    fn members(&self) -> Vec<(Part, Arc<dyn AsyncResource>)>;

    /// Its streams.
    fn streams(&self) -> Arc<ObservableStreams>;

    /// The exchange, on its `group`.
    fn into_exchange(self, group: ResourceGroup) -> Self::Exchange;
}

/// Groups an exchange's parts: its own members, its streams when `with_streams` (a context
/// stops them itself, after both sockets), and the REST client and limiter when it owns them.
fn group<P: ExchangeParts>(
    parts: P,
    with_streams: bool,
    owned_rest: Option<&MexcRest>,
) -> P::Exchange {
    let name = parts.name().to_owned();
    let mut members = DependencyAwareShutdown::new(name.clone());
    for (part, member) in parts.members() {
        members.register(member, part.priority());
    }
    if with_streams {
        members.register(parts.streams(), Part::Streams.priority());
    }
    if let Some(rest) = owned_rest {
        rest.register(&mut members);
    }
    parts.into_exchange(ResourceGroup::new(name, members))
}

/// Where the exchanges reach their venue.
#[derive(Debug, Clone)]
enum VenueChoice {
    /// MEXC spot on a REST client and rate limiter of their own: what is built owns them,
    /// and stops them last.
    OwnMexcRest,
    /// MEXC spot on a REST client and limiter whoever made them starts and stops.
    SharedMexcRest(MexcRest),
    /// Another venue: whatever it runs itself (an HTTP client, say), its owner starts and
    /// stops.
    Other(Arc<dyn Venue>),
}

/// The venue a build runs on, and the REST client it owns, if any.
struct ResolvedVenue {
    venue: Arc<dyn Venue>,
    /// MEXC's REST client and limiter, owned or shared.
    rest: Option<MexcRest>,
    /// Whether the build owns `rest` (and so registers it, to stop it last).
    owns_rest: bool,
}

impl ResolvedVenue {
    fn owned_rest(&self) -> Option<&MexcRest> {
        self.rest.as_ref().filter(|_| self.owns_rest)
    }
}

/// Builds the exchanges of a configuration: a [`PublicCompositeExchange`], a
/// [`PrivateCompositeExchange`], or both in an [`ExchangeContext`], on MEXC spot with a REST
/// client and rate limiter of their own (the default), on a shared one
/// ([`shared_rest`](Self::shared_rest)), or on another [`Venue`] ([`venue`](Self::venue)).
///
/// Whatever it builds stops in [the shutdown order](crate#the-shutdown-order), the REST
/// client and limiter last when it owns them; a shared client or another venue is its
/// owner's to start and stop (after the exchanges). Nothing is started.
///
/// ```
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
///
/// use exchange_composite::{AssetName, ExchangeBuilder, ExchangeConfig, MexcRest, Symbol};
/// use exchange_sim::{SimConfig, SimVenue};
/// use lifecycle_core::AsyncResource;
///
/// let venue = SimVenue::start(SimConfig::default()).await?;
/// let hifi = Symbol::spot(AssetName::new("HIFI")?, AssetName::new("USDT")?);
/// let config = ExchangeConfig::new(venue.rest_url(), venue.ws_url()).symbol(hifi.clone());
///
/// // A public exchange on a REST client (and rate limiter) this code starts and stops.
/// let rest = MexcRest::new(&config)?;
/// rest.limiter.start().await?;
/// rest.client.start().await?;
/// let public = ExchangeBuilder::new(&config).shared_rest(&rest).public()?;
/// public.start().await?;
/// let ticker = public.wait_for_book_ticker(&hifi, Duration::from_secs(5)).await?;
/// assert!(ticker.is_sane());
/// let report = public.stop_within(Duration::from_secs(2)).await;
/// assert!(report.is_clean(), "{report}");
/// // The exchange left the shared client running: its owner stops it, after the exchange.
/// assert!(rest.client.state().is_running());
/// let _ = rest.client.stop_within(Duration::from_secs(1)).await;
/// let _ = rest.limiter.stop_within(Duration::from_secs(1)).await;
/// venue.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder builds nothing until `public`, `private` or `context` is called"]
pub struct ExchangeBuilder<'a> {
    config: &'a ExchangeConfig,
    venue: VenueChoice,
}

impl<'a> ExchangeBuilder<'a> {
    /// The exchanges of `config`, on MEXC spot with a REST client and rate limiter of their
    /// own.
    pub fn new(config: &'a ExchangeConfig) -> Self {
        Self {
            config,
            venue: VenueChoice::OwnMexcRest,
        }
    }

    /// On MEXC spot through `rest`, a REST client and limiter shared with others (so all draw
    /// from the same IP budget): whoever made it starts it before the exchanges and stops it
    /// after them. Replaces an earlier choice of venue.
    pub fn shared_rest(mut self, rest: &MexcRest) -> Self {
        self.venue = VenueChoice::SharedMexcRest(rest.clone());
        self
    }

    /// On another venue (which holds the credentials it needs): whatever it runs itself, its
    /// owner starts and stops. Replaces an earlier choice of venue.
    pub fn venue(mut self, venue: Arc<dyn Venue>) -> Self {
        self.venue = VenueChoice::Other(venue);
        self
    }

    /// A public exchange (not started).
    ///
    /// # Errors
    /// The HTTP client cannot be built, or a stream cannot be declared.
    pub fn public(self) -> Result<PublicCompositeExchange, ExchangeError> {
        let resolved = self.resolve()?;
        let parts = PublicParts::new(self.config, resolved.venue.clone())?;
        Ok(group(parts, true, resolved.owned_rest()))
    }

    /// A private exchange (not started).
    ///
    /// # Errors
    /// No credentials (on MEXC), a bad client-order-id prefix, the HTTP client cannot be
    /// built, or a stream cannot be declared.
    pub fn private(self) -> Result<PrivateCompositeExchange, ExchangeError> {
        self.require_credentials()?;
        let resolved = self.resolve()?;
        let parts = PrivateParts::new(self.config, resolved.venue.clone())?;
        Ok(group(parts, true, resolved.owned_rest()))
    }

    /// Both exchanges and their orchestrated shutdown (not started): the private exchange
    /// (its order guard, then its socket and listen key), the public exchange (its socket),
    /// both exchanges' streams, then the REST client and limiter if the context owns them, all
    /// under the configuration's `shutdown_budget`.
    ///
    /// # Errors
    /// As [`public`](Self::public) and [`private`](Self::private).
    pub fn context(self) -> Result<ExchangeContext, ExchangeError> {
        let config = self.config;
        self.require_credentials()?;
        let resolved = self.resolve()?;
        let public = PublicParts::new(config, resolved.venue.clone())?;
        let private = PrivateParts::new(config, resolved.venue.clone())?;
        let (public_streams, private_streams) = (public.streams(), private.streams());
        // Each exchange's group holds its own members only: the context stops the streams
        // and REST in their own phases, after both sockets.
        let public = Arc::new(group(public, false, None));
        let private = Arc::new(group(private, false, None));
        let mut system = DependencyAwareShutdown::new(config.name.clone());
        system.set_rollback_budget(config.shutdown_budget);
        // The private exchange's group begins with its order guard, the public one's is its
        // socket: each stops whole in the phase of its first part.
        let private_id = system.register(private.clone(), Part::OrderGuard.priority());
        let public_id = system.register(public.clone(), Part::PublicSocket.priority());
        let private_streams = system.register(private_streams, Part::Streams.priority());
        let public_streams = system.register(public_streams, Part::Streams.priority());
        let mut uses = vec![(private_id, private_streams), (public_id, public_streams)];
        if let Some(rest) = resolved.owned_rest() {
            let client = rest.register(&mut system);
            uses.extend([(private_id, client), (public_id, client)]);
        }
        // Phases already order these; the dependencies make the "uses" explicit.
        for (user, used) in uses {
            let _ = system.add_dependency(user, used);
        }
        let exchanges = Exchanges {
            public,
            private,
            rest: resolved.rest,
        };
        Ok(ExchangeContext::from_parts(
            exchanges,
            system,
            config.shutdown_budget,
        ))
    }

    /// A private exchange on MEXC signs its calls: it needs the configuration's credentials
    /// (another venue holds its own).
    fn require_credentials(&self) -> Result<(), ExchangeError> {
        let on_mexc = !matches!(self.venue, VenueChoice::Other(_));
        if on_mexc && self.config.credentials.is_none() {
            return Err(ExchangeError::MissingCredentials);
        }
        Ok(())
    }

    /// The venue, building the REST client and limiter the build will own.
    fn resolve(&self) -> Result<ResolvedVenue, ExchangeError> {
        let on_mexc = |rest: MexcRest, owns_rest| {
            let venue: Arc<dyn Venue> = Arc::new(MexcSpot::new(rest.client.clone()));
            ResolvedVenue {
                venue,
                rest: Some(rest),
                owns_rest,
            }
        };
        Ok(match &self.venue {
            VenueChoice::OwnMexcRest => on_mexc(MexcRest::new(self.config)?, true),
            VenueChoice::SharedMexcRest(rest) => on_mexc(rest.clone(), false),
            VenueChoice::Other(venue) => ResolvedVenue {
                venue: venue.clone(),
                rest: None,
                owns_rest: false,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Part;

    /// The crate docs' table of the shutdown order says what [`Part::priority`] does.
    #[test]
    fn the_documented_shutdown_order_is_the_table() {
        let documented: Vec<&str> = include_str!("../docs/shutdown-order.md")
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|row| row.split('`').next())
            .collect();
        let table: Vec<String> = [
            Part::OrderGuard,
            Part::PrivateSocket,
            Part::PublicSocket,
            Part::Streams,
            Part::Rest,
        ]
        .iter()
        .map(|part| format!("{:?}", part.priority()))
        .collect();
        assert_eq!(documented, table);
    }
}
