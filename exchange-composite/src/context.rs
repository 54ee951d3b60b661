//! [`ExchangeContext`]: the scoped way to use a venue: a public and a private exchange that
//! stop in order on success, error and panic alike.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use lifecycle_core::{DependencyAwareShutdown, ShutdownReport, StartAllError};

use crate::config::ExchangeConfig;
use crate::error::ExchangeError;
use crate::mexc::MexcRest;
use crate::parts::ExchangeBuilder;
use crate::private::PrivateCompositeExchange;
use crate::public::PublicCompositeExchange;

/// The exchanges a context body works with.
#[derive(Debug, Clone)]
pub struct Exchanges {
    /// Market data.
    pub public: Arc<PublicCompositeExchange>,
    /// Orders and balances.
    pub private: Arc<PrivateCompositeExchange>,
    /// The MEXC REST client and rate limiter both share (`None` on a venue of your own,
    /// [`ExchangeBuilder::venue`]).
    pub rest: Option<MexcRest>,
}

/// What a context run returned.
#[derive(Debug)]
#[must_use = "the outcome carries the body's result and the shutdown report"]
pub struct ContextOutcome<T> {
    /// The body's value.
    pub value: T,
    /// The shutdown report.
    pub report: ShutdownReport,
}

/// Why a context run failed.
#[derive(Debug, thiserror::Error)]
pub enum ContextError<E> {
    /// The configuration is unusable; nothing was started.
    #[error("cannot build the exchanges: {0}")]
    Build(#[source] ExchangeError),
    /// An exchange failed to start; everything that had started was stopped again (the
    /// rollback report is in the error).
    #[error(transparent)]
    Start(StartAllError),
    /// The body failed; everything was stopped in order.
    #[error("the body failed: {error}")]
    Body {
        /// The body's error.
        error: E,
        /// The shutdown report.
        report: ShutdownReport,
    },
}

/// A venue's public and private exchanges on one shared REST client and rate limiter, with
/// one orchestrated shutdown.
///
/// [The shutdown order](crate#the-shutdown-order): the private exchange (`CriticalFirst`: cancel and
/// confirm our orders, then its socket and listen key), the public exchange (`Medium`: its
/// socket), both exchanges' streams (`Low`), and last the shared REST client and rate limiter
/// (`Cleanup`), all under the configuration's one `shutdown_budget`. Start runs the other way round: if the
/// private exchange fails to start, the public one and the REST client are stopped before the
/// error returns.
///
/// ```
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() {
/// use std::time::Duration;
/// use exchange_composite::{AssetName, ExchangeConfig, ExchangeContext, ExchangeError, OrderRequest, Side, Symbol};
/// use exchange_rest::Credentials;
/// use exchange_sim::{SimConfig, SimVenue, DEMO_API_KEY, DEMO_API_SECRET};
/// use rust_decimal::Decimal;
///
/// // The embedded venue and its demo account (real MEXC: `ExchangeConfig::mexc_spot()`).
/// let venue = SimVenue::start(SimConfig::default()).await.unwrap();
/// let hifi = Symbol::spot(AssetName::new("HIFI").unwrap(), AssetName::new("USDT").unwrap());
/// let config = ExchangeConfig::new(venue.rest_url(), venue.ws_url())
///     .symbol(hifi.clone())
///     .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET));
///
/// let done = ExchangeContext::run(&config, |exchanges| async move {
///     let ticker = exchanges.public.wait_for_book_ticker(&hifi, Duration::from_secs(5)).await?;
///     // A bid far below the touch: it rests until the shutdown cancels it.
///     let bid = OrderRequest::limit_maker(hifi, Side::Buy, ticker.bid_price / Decimal::TWO, Decimal::from(50));
///     exchanges.private.place_order(bid).await?;
///     Ok::<_, ExchangeError>(())
/// })
/// .await
/// .unwrap();
/// assert!(done.report.is_clean(), "{}", done.report);
/// assert!(venue.open_orders(DEMO_API_KEY).unwrap().is_empty(), "the shutdown cancelled the bid");
/// venue.shutdown().await;
/// # }
/// ```
pub struct ExchangeContext {
    exchanges: Exchanges,
    system: DependencyAwareShutdown,
    budget: Duration,
}

impl fmt::Debug for ExchangeContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeContext")
            .field("exchanges", &self.exchanges)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl ExchangeContext {
    /// Builds (does not start) the exchanges of `config` on MEXC spot, on one REST client and
    /// rate limiter of the context's own, and their orchestrated shutdown. For a shared REST
    /// client or another venue, see [`ExchangeBuilder::context`].
    ///
    /// # Errors
    /// The configuration is unusable (no credentials, a bad prefix, no HTTP client).
    pub fn new(config: &ExchangeConfig) -> Result<Self, ExchangeError> {
        ExchangeBuilder::new(config).context()
    }

    /// A context of exchanges and the orchestrator that starts and stops them
    /// ([`ExchangeBuilder`] registers them).
    pub(crate) fn from_parts(
        exchanges: Exchanges,
        system: DependencyAwareShutdown,
        budget: Duration,
    ) -> Self {
        Self {
            exchanges,
            system,
            budget,
        }
    }

    /// The exchanges.
    pub fn exchanges(&self) -> &Exchanges {
        &self.exchanges
    }

    /// The exchanges and their (unstarted) orchestrator, to hand to a
    /// [`Runner`](lifecycle_core::Runner) that adds signals, a watchdog and exit codes.
    pub fn into_parts(self) -> (Exchanges, DependencyAwareShutdown) {
        (self.exchanges, self.system)
    }

    /// Starts both exchanges, runs `body`, and stops everything in order, whether the body
    /// returns `Ok`, returns `Err`, or panics (the panic resumes after the shutdown).
    ///
    /// # Errors
    /// [`ContextError::Build`], [`ContextError::Start`] (rolled back), or
    /// [`ContextError::Body`] (with the shutdown report).
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future (a `select!` or a timeout around it) drops the
    /// body and skips the orderly shutdown. The exchanges are then dropped running: their
    /// tasks are aborted with a warning, and **our open orders are not cancelled** nor the
    /// listen key deleted. Run it to its end; to stop early, end the body (have it watch a
    /// signal and return). Dropped during the shutdown itself, the stops already begun finish
    /// in their own tasks, but the ones not yet begun never start.
    pub async fn run<F, Fut, T, E>(
        config: &ExchangeConfig,
        body: F,
    ) -> Result<ContextOutcome<T>, ContextError<E>>
    where
        F: FnOnce(Exchanges) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let context = Self::new(config).map_err(ContextError::Build)?;
        context.run_body(body).await
    }

    /// As [`ExchangeContext::run`], on a context already built.
    ///
    /// # Errors
    /// [`ContextError::Start`] or [`ContextError::Body`].
    ///
    /// # Cancel safety
    /// Not cancel safe, as [`ExchangeContext::run`].
    pub async fn run_body<F, Fut, T, E>(self, body: F) -> Result<ContextOutcome<T>, ContextError<E>>
    where
        F: FnOnce(Exchanges) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.system.start_all().await.map_err(ContextError::Start)?;
        let result = AssertUnwindSafe(body(self.exchanges.clone()))
            .catch_unwind()
            .await;
        let report = self.system.shutdown_all(self.budget).await;
        match result {
            Ok(Ok(value)) => Ok(ContextOutcome { value, report }),
            Ok(Err(error)) => Err(ContextError::Body { error, report }),
            Err(panic) => {
                tracing::error!(
                    "exchange context body panicked: stopped everything, resuming the panic"
                );
                std::panic::resume_unwind(panic)
            }
        }
    }
}
