//! The program's output: the report on stdout and the log on stderr, both written so that a
//! closed pipe (`mm-demo | head -1`, a log shipper that died) is never a crash. A failed write
//! is noted once and ignored; the run, and its orderly shutdown, go on.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Set once a write to stdout failed: later output is dropped without trying again.
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);
/// Log lines that could not be written to stderr.
static STDERR_LOST: AtomicU64 = AtomicU64::new(0);

/// Writes `text` and a newline to stdout. A write error (EPIPE, a full disk) is logged once
/// and ignored: the report is also in the log's last lines and in `--report-json`.
pub(crate) fn print(text: &str) {
    if STDOUT_FAILED.load(Ordering::Relaxed) {
        return;
    }
    if let Err(error) = write_line(&mut io::stdout().lock(), text)
        && !STDOUT_FAILED.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(%error, "stdout cannot be written (closed pipe?): the report is not printed; the run goes on");
    }
}

fn write_line(out: &mut impl Write, text: &str) -> io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Whether a write to stdout failed.
pub(crate) fn stdout_failed() -> bool {
    STDOUT_FAILED.load(Ordering::Relaxed)
}

/// Log lines lost because stderr could not be written.
pub(crate) fn log_lines_lost() -> u64 {
    STDERR_LOST.load(Ordering::Relaxed)
}

/// Counts a log line that could not be written (the log cannot report its own failure).
pub(crate) fn count_lost_log_line() {
    STDERR_LOST.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::write_line;

    /// A sink whose reader went away.
    struct ClosedPipe;

    impl io::Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
    }

    #[test]
    fn a_closed_pipe_is_an_error_not_a_panic() {
        let error = write_line(&mut ClosedPipe, "cycle 1").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        let mut open = Vec::new();
        write_line(&mut open, "cycle 1").unwrap();
        assert_eq!(open, b"cycle 1\n");
    }
}
