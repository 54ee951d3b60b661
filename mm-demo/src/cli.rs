//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use rust_decimal::Decimal;

const AFTER_HELP: &str = "\
VENUES:
  With no venue option, an embedded MEXC-compatible venue (exchange-sim) starts in-process
  with its demo account: the demo runs offline.
  --venue-url URL [--ws-url URL]   a standalone exchange-sim (cargo run -p exchange-sim prints
                                   its URL) or any MEXC-compatible venue; the websocket URL
                                   defaults to the REST URL's host with /ws.
  --mexc                           real MEXC spot (api.mexc.com, wbs-api.mexc.com). Real money:
                                   it places two small LIMIT_MAKER orders per cycle.
  Keys come from MEXC_API_KEY/MEXC_API_SECRET or --credentials-file (lines MEXC_API_KEY=...
  and MEXC_API_SECRET=..., a file only you can read). --api-secret works but is readable by
  every local user through ps: the demo warns when it is used. Keys, listen keys and
  signatures are never logged, at any --log level.

SIGNALS:
  The first SIGINT (Ctrl-C), SIGTERM, SIGHUP (a closed terminal or ssh session) or SIGQUIT
  (Ctrl-\\) starts an orderly shutdown: the cycle stops, every order of ours is cancelled and
  confirmed with the venue, sockets and clients close in order, the report is printed. A
  second signal forces the exit at once and lists what was abandoned. A signal during start
  stops what started and, if that is clean, exits 0. A closed stdout or stderr (a pipe into
  head, a log shipper that died) is not a crash: the run and its shutdown go on.

TRADING HALT:
  SIGUSR1 halts trading, which is not a shutdown: no new order, every order of ours
  cancelled and confirmed (one placed while the halt began too), while market data, the
  private stream and its listen key stay up. SIGUSR2 resumes quoting. Both are logged and
  counted in the report; a shutdown while halted is the usual orderly one.

ORDER GUARDIAN:
  Against an external venue or MEXC, a guardian child process (this binary, briefed over a
  pipe: no key on its command line or in its environment) watches this process. If this
  process dies without a clean end (SIGKILL, the OOM killer, an abort), the guardian cancels
  every open order with our prefix, confirms with a fresh listing, deletes our listen key and
  exits. After a clean end it touches nothing. If the guardian dies, it is restarted at once
  (--halt-on-guardian-loss halts trading instead). --no-guardian turns it off.

VENUE FAILURES:
  A failure that passes (HTTP 429 or 5xx, a timeout, an order whose outcome is unknown) is
  ridden out: the cycle quotes again with backoff, for at most --max-outage. A cycle never
  quotes while an order of ours is not confirmed closed: a failed cancel is retried, and if
  it keeps failing quoting halts (logged) until the order is confirmed closed.

EXIT CODES:
  0  the cycles ran (or a signal stopped them) and everything stopped cleanly
  1  start failed, a cycle failed, or the shutdown was not clean (see the report)
  2  invalid command line
  3  forced: a second signal, or the shutdown overran its budget (watchdog)";

/// The market-maker demo: quotes both sides of a market with LIMIT_MAKER orders of about
/// `--quantity-usdt`, waits for fills, cancels what remains, and shuts down cleanly with a
/// report.
#[derive(Parser)]
#[command(name = "mm-demo", version, about, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// Cycles to run; 0 runs until interrupted.
    #[arg(long, default_value_t = 1)]
    pub(crate) cycles: u64,

    /// The market, as BASEQUOTE or BASE/QUOTE.
    #[arg(long, global = true, default_value = "HIFIUSDT")]
    pub(crate) symbol: String,

    /// Value of each order in the quote currency.
    #[arg(long, default_value = "2.1")]
    pub(crate) quantity_usdt: Decimal,

    /// How long a cycle waits for fills before cancelling what remains, in seconds.
    #[arg(long, default_value = "5", value_parser = parse_seconds)]
    pub(crate) fill_timeout: Duration,

    /// Total shutdown budget, in seconds (at least 2): the cycle's grace, the order sweep and
    /// every later phase. A shutdown still running 2 s past it is ended by the watchdog (exit
    /// 3): a service manager's stop timeout must be longer than the budget plus those 2 s.
    #[arg(long, default_value = "10", value_parser = parse_budget)]
    pub(crate) shutdown_budget: Duration,

    /// How long the cycle may take to finish after a stop request (its own cancels), in
    /// seconds; at most half the budget. What it leaves unused goes to the shutdown sweep.
    #[arg(long, default_value = "5", value_parser = parse_seconds)]
    pub(crate) app_grace: Duration,

    /// How long the start may take (markets, sockets, listen key, clearing a previous run's
    /// orders), in seconds, before the run gives up (exit 1).
    #[arg(long, default_value = "15", value_parser = parse_start_timeout)]
    pub(crate) start_timeout: Duration,

    /// How long venue failures that pass (429, 5xx, timeouts) are ridden out before the run
    /// gives up, in seconds.
    #[arg(long, default_value = "60", value_parser = parse_seconds)]
    pub(crate) max_outage: Duration,

    /// REST URL of an external venue (standalone exchange-sim or MEXC-compatible).
    #[arg(long, global = true, env = "MM_VENUE_URL", conflicts_with = "mexc")]
    pub(crate) venue_url: Option<String>,

    /// Websocket URL of the external venue (default: derived from --venue-url).
    #[arg(long, global = true, env = "MM_WS_URL", requires = "venue_url")]
    pub(crate) ws_url: Option<String>,

    /// Trade on real MEXC spot.
    #[arg(long, global = true)]
    pub(crate) mexc: bool,

    /// API key (external venues).
    #[arg(long, global = true, env = "MEXC_API_KEY", hide_env_values = true)]
    pub(crate) api_key: Option<String>,

    /// API secret (external venues). Prefer the environment variable or --credentials-file:
    /// a command line is readable by every local user (ps).
    #[arg(long, global = true, env = "MEXC_API_SECRET", hide_env_values = true)]
    pub(crate) api_secret: Option<String>,

    /// File with MEXC_API_KEY=... and MEXC_API_SECRET=... lines.
    #[arg(long, global = true, conflicts_with_all = ["api_key", "api_secret"])]
    pub(crate) credentials_file: Option<PathBuf>,

    /// Prefix of our client order ids (orders with it are cancelled at start and stop)
    /// [default: mm-INSTANCE-]. Another instance's prefix must not start with it.
    #[arg(long, global = true)]
    pub(crate) order_prefix: Option<String>,

    /// This deployment's name (1 to 8 characters of a-z, 0-9, _), part of the client-order-id
    /// prefix: the start only cancels orders of its own instance, and one process per name
    /// runs on a machine (an advisory lock file in --state-dir) [default: derived from the
    /// symbol and the API key, such as hifi3fa0].
    #[arg(long, global = true)]
    pub(crate) instance: Option<String>,

    /// Where the instance's lock file and the record of its listen keys (fingerprints, never
    /// the keys) live [default: $XDG_STATE_HOME/mm-demo, ~/.local/state/mm-demo, or the
    /// temporary directory].
    #[arg(long, global = true)]
    pub(crate) state_dir: Option<PathBuf>,

    /// Do not launch the order guardian (a child process that cancels our orders and deletes
    /// our listen key if this process dies without a clean end: SIGKILL, OOM, abort). The
    /// embedded venue never has one (it dies with us).
    #[arg(long)]
    pub(crate) no_guardian: bool,

    /// If the order guardian dies, halt trading (as SIGUSR1 does) instead of launching a new
    /// guardian: without one, a SIGKILL would leave our orders open.
    #[arg(long, conflicts_with = "no_guardian")]
    pub(crate) halt_on_guardian_loss: bool,

    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub(crate) report_json: Option<PathBuf>,

    /// Write the lifecycle timeline (start, run and shutdown of every component, their
    /// tasks, signals, reconnects, orders cancelled and confirmed) to this file as a Chrome
    /// trace (open it in Perfetto or chrome://tracing: one track per component). Written
    /// whole when the run ends, however it ends.
    #[arg(long, value_name = "PATH")]
    pub(crate) timeline: Option<PathBuf>,

    /// Draw the shutdown to this SVG file: phases as bands, components as bars, failures
    /// marked.
    #[arg(long, value_name = "PATH")]
    pub(crate) timeline_svg: Option<PathBuf>,

    /// Log filter (tracing env-filter syntax; RUST_LOG works too).
    #[arg(
        long,
        default_value = "warn,mm_demo=info,exchange_composite::guardian=info"
    )]
    pub(crate) log: String,

    /// How log lines are written to stderr: `text` for people (coloured only when stderr is
    /// a terminal and NO_COLOR is unset), `json` for log shippers (one object per line).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,

    /// Serve Prometheus metrics (GET /metrics), liveness (GET /livez), readiness (GET
    /// /readyz: 200 only while everything runs, the start's reconciliation is done and
    /// trading is not halted; 503 from the moment a shutdown or a halt begins) and the trading
    /// halt (POST /halt, POST /resume: as SIGUSR1 and SIGUSR2, from loopback peers only) over
    /// HTTP at this address, such as 127.0.0.1:9090 (port 0: any free port; the address bound
    /// is logged). A loopback address unless --metrics-allow-remote.
    #[arg(long)]
    pub(crate) metrics_addr: Option<SocketAddr>,

    /// Let --metrics-addr be an address other machines reach (a Kubernetes pod's probes come
    /// from its node): /metrics, /livez and /readyz then answer them; POST /halt and /resume
    /// still answer loopback peers only.
    #[arg(long, requires = "metrics_addr")]
    pub(crate) metrics_allow_remote: bool,

    /// A command other than quoting.
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// How the log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Readable lines.
    Text,
    /// One JSON object per line (tracing-subscriber's JSON format).
    Json,
}

impl LogFormat {
    /// The name on the command line (`text`, `json`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }

    /// The format named `name`, text for anything else.
    pub(crate) fn from_name(name: &str) -> Self {
        if name == Self::Json.as_str() {
            Self::Json
        } else {
            Self::Text
        }
    }
}

/// The commands besides quoting.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Cancel and confirm every open order with our prefix and delete the stale listen keys
    /// of this instance (those it recorded: see --state-dir), then exit: 0 if every order is
    /// confirmed closed, 1 if not. Refused while a process of the instance runs. For an
    /// external venue or MEXC (venue and key options as for quoting); a systemd
    /// ExecStopPost= backstop.
    CancelOrphans(OrphanArgs),
}

/// Options of `cancel-orphans`.
#[derive(Debug, clap::Args)]
pub(crate) struct OrphanArgs {
    /// The client-order-id prefix whose orders are cancelled (default: the instance's,
    /// mm-INSTANCE-, or --order-prefix).
    #[arg(long)]
    pub(crate) prefix: Option<String>,

    /// How long cancelling, confirming and deleting may take, in seconds.
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    pub(crate) sweep_timeout: Duration,

    /// Delete every listen key of the account, not only those this instance recorded: only
    /// when nothing else uses the account (the way out of "730001 The maximum number of
    /// listen keys (60) has been reached").
    #[arg(long)]
    pub(crate) delete_all_listen_keys: bool,
}
impl std::fmt::Debug for Cli {
    /// Every option but the secret, which shows only whether it is set.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cli")
            .field("cycles", &self.cycles)
            .field("symbol", &self.symbol)
            .field("quantity_usdt", &self.quantity_usdt)
            .field("fill_timeout", &self.fill_timeout)
            .field("shutdown_budget", &self.shutdown_budget)
            .field("app_grace", &self.app_grace)
            .field("start_timeout", &self.start_timeout)
            .field("max_outage", &self.max_outage)
            .field("venue_url", &self.venue_url)
            .field("ws_url", &self.ws_url)
            .field("mexc", &self.mexc)
            .field("api_key", &self.api_key)
            .field(
                "api_secret",
                &self.api_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("credentials_file", &self.credentials_file)
            .field("order_prefix", &self.order_prefix)
            .field("no_guardian", &self.no_guardian)
            .field("halt_on_guardian_loss", &self.halt_on_guardian_loss)
            .field("instance", &self.instance)
            .field("state_dir", &self.state_dir)
            .field("command", &self.command)
            .field("report_json", &self.report_json)
            .field("timeline", &self.timeline)
            .field("timeline_svg", &self.timeline_svg)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field("metrics_addr", &self.metrics_addr)
            .field("metrics_allow_remote", &self.metrics_allow_remote)
            .finish()
    }
}

impl Cli {
    /// Refuses a `--metrics-addr` other machines reach unless `--metrics-allow-remote`.
    pub(crate) fn check_metrics_addr(&self) -> Result<(), String> {
        match self.metrics_addr {
            Some(addr) if !crate::ops_server::is_loopback(addr) && !self.metrics_allow_remote => {
                Err(format!(
                    "--metrics-addr {addr} is not a loopback address: other machines could read \
                     the metrics and health; add --metrics-allow-remote if they should \
                     (POST /halt and /resume still answer loopback peers only)"
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The smallest shutdown budget accepted: below it the sweep cannot list, cancel and confirm
/// our orders and still leave the later phases (listen key, sockets, REST) their share.
pub(crate) const MIN_SHUTDOWN_BUDGET: Duration = Duration::from_secs(2);
/// The smallest start timeout accepted.
pub(crate) const MIN_START_TIMEOUT: Duration = Duration::from_secs(1);

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.0..=86_400.0).contains(&seconds) {
        return Err(format!("{seconds} s is out of range (0 to 86400)"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn at_least(text: &str, minimum: Duration, why: &str) -> Result<Duration, String> {
    let value = parse_seconds(text)?;
    if value < minimum {
        return Err(format!(
            "{} s is below the minimum of {} s: {why}",
            value.as_secs_f64(),
            minimum.as_secs_f64()
        ));
    }
    Ok(value)
}

fn parse_budget(text: &str) -> Result<Duration, String> {
    at_least(
        text,
        MIN_SHUTDOWN_BUDGET,
        "a shorter shutdown cannot cancel and confirm our orders",
    )
}

fn parse_start_timeout(text: &str) -> Result<Duration, String> {
    at_least(
        text,
        MIN_START_TIMEOUT,
        "a shorter start cannot reach the venue",
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::Cli;

    #[test]
    fn defaults_are_the_plan_s_demo() {
        let cli = Cli::try_parse_from(["mm-demo"]).unwrap();
        assert_eq!(cli.cycles, 1);
        assert_eq!(cli.symbol, "HIFIUSDT");
        assert_eq!(cli.quantity_usdt.to_string(), "2.1");
        assert!(cli.venue_url.is_none() && !cli.mexc);
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let cli = Cli::try_parse_from([
            "mm-demo",
            "--venue-url",
            "http://127.0.0.1:1",
            "--api-key",
            "k",
            "--api-secret",
            "TOPSECRET",
        ])
        .unwrap();
        let shown = format!("{cli:?}");
        assert!(
            !shown.contains("TOPSECRET") && shown.contains("<redacted>"),
            "{shown}"
        );
    }

    /// The deploy files' stop timeouts are checked against what `--help` says of the watchdog
    /// (`mm-demo/tests/deploy_files.rs`): it must say what the watchdog does.
    #[test]
    fn the_help_states_the_watchdog_s_slack() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        let said = format!(
            "A shutdown still running {} s past it is ended by the watchdog",
            crate::app::WATCHDOG_SLACK.as_secs()
        );
        assert!(help.contains(&said), "{help}");
        assert_eq!(crate::app::WATCHDOG_SLACK.subsec_nanos(), 0);
    }

    #[test]
    fn a_metrics_address_beyond_loopback_needs_the_explicit_flag() {
        let parse = |args: &[&str]| {
            let mut all = vec!["mm-demo"];
            all.extend(args);
            Cli::try_parse_from(all).unwrap()
        };
        assert!(
            parse(&["--metrics-addr", "127.0.0.1:9090"])
                .check_metrics_addr()
                .is_ok()
        );
        assert!(
            parse(&["--metrics-addr", "[::1]:0"])
                .check_metrics_addr()
                .is_ok()
        );
        let error = parse(&["--metrics-addr", "0.0.0.0:9090"])
            .check_metrics_addr()
            .unwrap_err();
        assert!(error.contains("--metrics-allow-remote"), "{error}");
        assert!(
            parse(&["--metrics-addr", "10.0.0.1:9090"])
                .check_metrics_addr()
                .is_err()
        );
        assert!(
            parse(&["--metrics-addr", "0.0.0.0:9090", "--metrics-allow-remote"])
                .check_metrics_addr()
                .is_ok()
        );
        assert!(parse(&[]).check_metrics_addr().is_ok());
        // The flag alone means nothing.
        assert!(Cli::try_parse_from(["mm-demo", "--metrics-allow-remote"]).is_err());
        assert!(Cli::try_parse_from(["mm-demo", "--metrics-addr", "localhost:1"]).is_err());
    }

    #[test]
    fn log_formats_round_trip_by_name() {
        for format in [super::LogFormat::Text, super::LogFormat::Json] {
            assert_eq!(super::LogFormat::from_name(format.as_str()), format);
        }
        assert_eq!(super::LogFormat::from_name("yaml"), super::LogFormat::Text);
        let cli = Cli::try_parse_from(["mm-demo", "--log-format", "json"]).unwrap();
        assert_eq!(cli.log_format, super::LogFormat::Json);
        assert!(Cli::try_parse_from(["mm-demo", "--log-format", "xml"]).is_err());
    }

    #[test]
    fn bad_durations_are_refused() {
        assert!(Cli::try_parse_from(["mm-demo", "--fill-timeout", "soon"]).is_err());
        assert!(Cli::try_parse_from(["mm-demo", "--shutdown-budget", "-1"]).is_err());
        assert!(Cli::try_parse_from(["mm-demo", "--mexc", "--venue-url", "http://x"]).is_err());
        for value in ["NaN", "inf", "1e9", ""] {
            assert!(
                Cli::try_parse_from(["mm-demo", "--app-grace", value]).is_err(),
                "{value}"
            );
        }
    }

    /// `--shutdown-budget 0` was accepted and always left the orders open.
    #[test]
    fn budgets_below_the_minimum_are_usage_errors() {
        for value in ["0", "0.5", "1.99"] {
            let error = Cli::try_parse_from(["mm-demo", "--shutdown-budget", value])
                .err()
                .unwrap_or_else(|| panic!("{value} accepted"));
            assert_eq!(error.exit_code(), 2);
            assert!(error.to_string().contains("minimum of 2 s"), "{error}");
        }
        assert!(Cli::try_parse_from(["mm-demo", "--start-timeout", "0"]).is_err());
        let cli = Cli::try_parse_from([
            "mm-demo",
            "--shutdown-budget",
            "2",
            "--app-grace",
            "0",
            "--start-timeout",
            "3",
            "--max-outage",
            "0",
        ])
        .unwrap();
        assert_eq!(cli.shutdown_budget, Duration::from_secs(2));
        assert_eq!(cli.app_grace, Duration::ZERO);
        assert_eq!(cli.start_timeout, Duration::from_secs(3));
        assert_eq!(cli.max_outage, Duration::ZERO);
    }
}
