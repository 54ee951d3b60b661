//! The log: `tracing` to stderr, at the level `--log` (or `RUST_LOG`) asks, as text (coloured
//! only on a terminal) or JSON (`--log-format json`), with no secret at any level in either.
//!
//! Our crates never log a listen key, a signature or the API secret. Dependencies can: at
//! TRACE, tungstenite prints the handshake's request line, which carries `?listenKey=` on the
//! private socket. So the log has two guards: the targets known to print credentials are
//! filtered out at TRACE ([`exchange_ws::SECRET_BEARING_LOG_TARGETS`]), and every line is
//! redacted on its way out (`listenKey` and `signature` values, however quoted), in case a
//! dependency starts logging one somewhere new. Writing never fails the run: a line stderr
//! does not take is counted and dropped ([`crate::output`]).

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};

use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::Registry;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use crate::cli::LogFormat;

/// The filter used when neither `RUST_LOG` nor `--log` parses.
const FALLBACK_FILTER: &str = "warn,mm_demo=info,exchange_composite::guardian=info";

/// Names whose values are credentials wherever they appear in a line (`name=value`,
/// `"name":"value"`, `name: value`), compared without regard to case.
const SECRET_NAMES: [&str; 2] = ["listenkey", "signature"];

/// What a redacted value is replaced with.
pub(crate) const REDACTED: &str = "<redacted>";

/// A layer over the bare registry, as the log and its observers are installed.
pub(crate) type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the log: `RUST_LOG` if set and valid, else `directives` (`--log`), written in
/// `format`; `observers` (layers with their own filters, such as the systemd notifier's) see
/// the events and spans they ask for whatever the log's filter is.
pub(crate) fn init(directives: &str, format: LogFormat, observers: Vec<BoxedLayer>) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(directives))
        .unwrap_or_else(|_| EnvFilter::new(FALLBACK_FILTER));
    let no_credentials = filter_fn(|meta| {
        *meta.level() < Level::TRACE
            || !exchange_ws::SECRET_BEARING_LOG_TARGETS
                .iter()
                .any(|target| meta.target().starts_with(target))
    });
    let log: BoxedLayer = match format {
        LogFormat::Text => fmt::layer()
            .with_writer(RedactingStderr)
            .with_ansi(colours(
                io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            ))
            .with_target(false)
            .log_internal_errors(false)
            .with_filter(filter.and(no_credentials))
            .boxed(),
        // Never coloured; the target stays (a shipper filters on it).
        LogFormat::Json => fmt::layer()
            .json()
            .with_writer(RedactingStderr)
            .with_ansi(false)
            .log_internal_errors(false)
            .with_filter(filter.and(no_credentials))
            .boxed(),
    };
    let mut layers = observers;
    layers.insert(0, log);
    // `try_init` also routes the `log` records of dependencies (tungstenite) through the
    // same filters; it fails only if a logger is already installed.
    let _ = tracing_subscriber::registry().with(layers).try_init();
}

/// Whether the text log is coloured: only on a terminal, and not when `NO_COLOR` is set to
/// anything but the empty string (<https://no-color.org>). A pipe, a file or journald gets
/// plain text, never ANSI escapes.
fn colours(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

/// `line` with the value of every credential-bearing name replaced by [`REDACTED`].
pub(crate) fn redact(line: &str) -> Cow<'_, str> {
    let lower = line.to_ascii_lowercase();
    let bytes = line.as_bytes();
    // (start, end) of each value to hide, in order.
    let mut hidden: Vec<(usize, usize)> = Vec::new();
    for name in SECRET_NAMES {
        let mut from = 0;
        while let Some(found) = lower[from..].find(name) {
            let mut at = from + found + name.len();
            from = at;
            // Separators between the name and its value: quotes (escaped or not), blanks,
            // and one `=` or `:`.
            let mut assigned = false;
            while at < bytes.len() && at - from < 8 {
                match bytes[at] {
                    b'=' | b':' if !assigned => assigned = true,
                    b'"' | b'\'' | b'\\' | b' ' => {}
                    _ => break,
                }
                at += 1;
            }
            let start = at;
            while at < bytes.len()
                && (bytes[at].is_ascii_alphanumeric() || matches!(bytes[at], b'-' | b'_'))
            {
                at += 1;
            }
            if assigned && at > start && !line[start..].starts_with(REDACTED) {
                hidden.push((start, at));
            }
            from = at.max(from);
        }
    }
    if hidden.is_empty() {
        return Cow::Borrowed(line);
    }
    hidden.sort_unstable();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    for (start, end) in hidden {
        if start < copied {
            continue;
        }
        out.push_str(&line[copied..start]);
        out.push_str(REDACTED);
        copied = end;
    }
    out.push_str(&line[copied..]);
    Cow::Owned(out)
}

/// Makes [`RedactingWriter`]s: the log's sink.
#[derive(Debug, Clone, Copy)]
struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter
    }
}

/// Writes redacted lines to stderr; never returns an error (a lost line is counted).
#[derive(Debug)]
struct RedactingWriter;

impl Write for RedactingWriter {
    /// The formatter hands over one whole event per call, so a value is never split between
    /// two calls.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let clean = redact(&text);
        if io::stderr().lock().write_all(clean.as_bytes()).is_err() {
            crate::output::count_lost_log_line();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{REDACTED, colours, redact};

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(colours(true, None));
        assert!(colours(true, Some(OsStr::new(""))));
        assert!(!colours(true, Some(OsStr::new("1"))));
        assert!(!colours(false, None));
        assert!(!colours(false, Some(OsStr::new("1"))));
    }

    /// The JSON log escapes quotes in the message: `\"listenKey\":\"...\"` is redacted too.
    #[test]
    fn credentials_inside_a_json_log_line_are_redacted() {
        let key = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1";
        let message = format!("body {{\"listenKey\":\"{key}\"}} and url=/ws?listenKey={key}");
        let line = serde_json::json!({ "level": "TRACE", "fields": { "message": message, "signature": key } })
            .to_string();
        let clean = redact(&line);
        assert!(!clean.contains(key), "{line} -> {clean}");
        assert_eq!(clean.matches(REDACTED).count(), 3, "{clean}");
        let parsed: serde_json::Value = serde_json::from_str(&clean).unwrap();
        assert!(
            parsed["fields"]["message"]
                .as_str()
                .unwrap()
                .contains(REDACTED)
        );
    }

    #[test]
    fn listen_keys_and_signatures_are_redacted_however_they_are_written() {
        let key = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1";
        let lines = [
            format!("Request: \"GET /ws?listenKey={key} HTTP/1.1\\r\\nHost: 127.0.0.1\""),
            format!("url=ws://h/ws?a=1&listenKey={key}&b=2"),
            format!("body {{\"listenKey\":\"{key}\"}}"),
            format!("body {{\\\"listenKey\\\": \\\"{key}\\\"}}"),
            format!("LISTENKEY: {key}"),
            format!("GET /api/v3/order?symbol=HIFIUSDT&timestamp=1&signature={key}"),
        ];
        for line in &lines {
            let clean = redact(line);
            assert!(!clean.contains(key), "{line} -> {clean}");
            assert!(clean.contains(REDACTED), "{clean}");
        }
        assert_eq!(
            redact(&format!("a listenKey={key} and a signature={key}.")),
            format!("a listenKey={REDACTED} and a signature={REDACTED}.")
        );
    }

    #[test]
    fn lines_without_credentials_are_untouched() {
        for line in [
            "cycle 1: mid 0.1, 12 ms",
            "listen key keep-alive failed: replacing the key",
            "listen_keys_closed=1 listenKey",
            "ws://127.0.0.1:1/ws?<redacted>",
            "",
        ] {
            assert_eq!(redact(line), line);
        }
        // Already redacted stays as it is.
        let once = redact("listenKey=abc").into_owned();
        assert_eq!(redact(&once), once);
    }
}
