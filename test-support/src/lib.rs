//! Dev-only helpers shared by the workspace's tests and benches.
//!
//! - [`bounded`]: every async test's body runs under [`TEST_LIMIT`], so a hang fails.
//! - [`eventually`]: polls a condition (or a value) with a deadline instead of sleeping.
//! - [`signal`]: sends a child process a signal by name (`"-TERM"`, `"-INT"`, ...).
//! - [`captured_logs!`]: the log of a `#[tracing_test::traced_test]` test as one string.
//! - `http` feature: the workspace builds one TLS crypto provider, ring, and reqwest without
//!   a provider of its own, so a `reqwest::Client::new()` would find none and panic. Tests
//!   and benches that talk HTTP directly (to the embedded venue, or as a bare anchor) build
//!   their clients here (`http_client`, with that feature).

#![doc(test(attr(deny(warnings))))]
#![allow(
    clippy::panic,
    reason = "dev-only helpers: a broken test set-up panics at once"
)]

use std::future::Future;
use std::time::Duration;

/// How long any test body may take: generous for the slowest (process tests that start the
/// binary several times) on a loaded 2-core machine, so only a hang reaches it.
pub const TEST_LIMIT: Duration = Duration::from_secs(120);

/// Runs a test body, failing the test if it takes longer than [`TEST_LIMIT`] (on a paused
/// clock a hang reaches the limit at once).
///
/// # Panics
/// If `body` does not finish within [`TEST_LIMIT`].
pub async fn bounded<F: Future>(body: F) -> F::Output {
    match tokio::time::timeout(TEST_LIMIT, body).await {
        Ok(output) => output,
        Err(_) => panic!("test did not finish within {TEST_LIMIT:?}"),
    }
}

/// What [`eventually`] polls: a condition (`bool`) or a value that may not be there yet
/// (`Option<T>`).
pub trait Poll {
    /// What a satisfied poll gives: `()` for a condition, `T` for an `Option<T>`.
    type Value;
    /// The value, once there.
    fn ready(self) -> Option<Self::Value>;
}

impl Poll for bool {
    type Value = ();
    fn ready(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> Poll for Option<T> {
    type Value = T;
    fn ready(self) -> Option<T> {
        self
    }
}

/// How often [`eventually`] polls.
const POLL_EVERY: Duration = Duration::from_millis(2);

/// Polls `check` (every 2 ms) until it holds or gives a value, failing the test after `limit`
/// with `what` it waited for.
///
/// # Panics
/// If `check` does not hold within `limit`.
pub async fn eventually<C: Poll>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> C,
) -> C::Value {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().ready() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Sends process `pid` the signal named as `kill` names it (`"-INT"`, `"TERM"`, `"-SIGKILL"`,
/// ...): HUP, INT, QUIT, KILL, TERM, USR1, USR2, PIPE, STOP, CONT.
///
/// # Panics
/// On an unknown name, a pid beyond the platform's range, or if the signal cannot be sent
/// (the process is gone, say).
pub fn signal(pid: u32, name: &str) {
    use rustix::process::{Pid, Signal, kill_process};
    let bare = name.trim_start_matches('-');
    let bare = bare.strip_prefix("SIG").unwrap_or(bare);
    let signal = match bare {
        "HUP" => Signal::HUP,
        "INT" => Signal::INT,
        "QUIT" => Signal::QUIT,
        "KILL" => Signal::KILL,
        "TERM" => Signal::TERM,
        "USR1" => Signal::USR1,
        "USR2" => Signal::USR2,
        "PIPE" => Signal::PIPE,
        "STOP" => Signal::STOP,
        "CONT" => Signal::CONT,
        other => panic!("unknown signal {other:?}"),
    };
    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .unwrap_or_else(|| panic!("pid {pid} out of range"));
    if let Err(error) = kill_process(pid, signal) {
        panic!("cannot send {name} to {pid:?}: {error}");
    }
}

/// The value of the sample `name{labels}` in a Prometheus text scrape (`labels` as they are
/// written: `component="rest.mexc",outcome="ok"`).
///
/// # Panics
/// If the scrape has no such sample, or its value is not a number.
#[must_use]
pub fn prometheus_sample(scrape: &str, name: &str, labels: &str) -> f64 {
    let key = format!("{name}{{{labels}}} ");
    let value = scrape
        .lines()
        .find_map(|line| line.strip_prefix(&key))
        .unwrap_or_else(|| panic!("no {key:?} in:\n{scrape}"))
        .trim();
    value
        .parse()
        .unwrap_or_else(|_| panic!("{key:?} is not a number: {value:?}"))
}

/// rustls with ring and the webpki roots, the provider passed explicitly.
///
/// # Panics
/// If rustls refuses its own safe default protocol versions with ring (it does not).
#[cfg(feature = "http")]
#[must_use]
pub fn tls_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("ring supports rustls' default protocol versions: {e}"))
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A reqwest client builder with [`tls_config`], for tests that set more options.
#[cfg(feature = "http")]
pub fn http_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(tls_config())
}

/// A plain reqwest client (what `reqwest::Client::new()` gives, with [`tls_config`]).
///
/// # Panics
/// If reqwest cannot build a client (it fails only on a broken TLS configuration).
#[cfg(feature = "http")]
#[must_use]
pub fn http_client() -> reqwest::Client {
    http_client_builder()
        .build()
        .unwrap_or_else(|e| panic!("a reqwest client builds: {e}"))
}

/// `GET url` with a fresh [`http_client`] (what `reqwest::get` does).
///
/// # Errors
/// What `reqwest` returns for the request.
#[cfg(feature = "http")]
pub async fn get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    http_client().get(url).send().await
}

/// The log lines of the calling `#[tracing_test::traced_test]` test so far, as one string, for
/// assertions that read the whole log (counts, order, absence). Expands to a call of the
/// `logs_assert` function that `traced_test` defines in the test's body.
///
/// tracing-test scopes a test's lines by a span it enters on the test's thread: on a
/// current-thread runtime (`#[tokio::test]`, or one the test builds) the spawned tasks'
/// lines are the test's too; a multi-thread runtime's workers are not in the span.
#[macro_export]
macro_rules! captured_logs {
    () => {{
        let text = ::std::cell::RefCell::new(::std::string::String::new());
        logs_assert(|lines| {
            *text.borrow_mut() = lines.join("\n");
            Ok(())
        });
        text.into_inner()
    }};
}
