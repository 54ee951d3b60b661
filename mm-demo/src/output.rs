//! The program's output: the report on stdout and the log on stderr, both written so that a
//! closed pipe (`mm-demo | head -1`, a log shipper that died) or a full disk is never a crash.
//! A failed write is noted once and ignored; the run, and its orderly shutdown, go on, and
//! later writes are tried again (a disk that filled up may have room again).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Set once a write to stdout failed (the warning is logged only then).
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);
/// Log lines that could not be written to stderr.
static STDERR_LOST: AtomicU64 = AtomicU64::new(0);

/// Writes `text` and a newline to stdout. The first write error (EPIPE, a full disk) is logged
/// and every error is ignored: the report is also in `--report-json`.
pub(crate) fn print(text: &str) {
    print_to(&mut io::stdout().lock(), text, &STDOUT_FAILED);
}

/// Writes `text` and a newline to `out`; on an error, warns unless `failed` says it was done.
fn print_to(out: &mut impl Write, text: &str, failed: &AtomicBool) {
    if let Err(error) = write_line(out, text)
        && !failed.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(%error, "stdout cannot be written (closed pipe? full disk?): output is dropped while it lasts; the run goes on");
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
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::{print_to, write_line};

    /// A sink that refuses its first `failures` writes (a closed pipe, a full disk), then
    /// takes everything.
    struct Flaky {
        failures: usize,
        written: Vec<u8>,
    }

    impl io::Write for Flaky {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.failures > 0 {
                self.failures -= 1;
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_is_an_error_not_a_panic() {
        let mut closed = Flaky {
            failures: usize::MAX,
            written: Vec::new(),
        };
        let error = write_line(&mut closed, "cycle 1").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }

    /// A full disk that frees up again: output resumes, the failure is noted once.
    #[test]
    fn writes_are_tried_again_after_a_failure() {
        let failed = AtomicBool::new(false);
        let mut sink = Flaky {
            failures: 2,
            written: Vec::new(),
        };
        print_to(&mut sink, "cycle 1", &failed);
        assert!(failed.load(Ordering::Relaxed));
        print_to(&mut sink, "cycle 2", &failed);
        print_to(&mut sink, "cycle 3", &failed);
        assert_eq!(sink.written, b"cycle 3\n");
    }
}
