//! [`Watchdog`]: a thread that ends the process if shutdown overruns its deadline, because
//! tokio cannot cancel code that blocks a thread.

use std::io;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Exits the process with a given code unless disarmed within a time limit.
///
/// It runs on its own OS thread, so it fires even when every runtime thread is blocked (a
/// component stuck in synchronous code on a `current_thread` runtime, say). Dropping it
/// disarms it.
///
/// ```
/// use std::time::Duration;
/// use lifecycle_core::Watchdog;
///
/// let watchdog = Watchdog::arm(Duration::from_secs(10), 3).unwrap();
/// // ... shutdown finished in time:
/// watchdog.disarm();
/// ```
#[derive(Debug)]
#[must_use = "dropping the watchdog disarms it"]
pub struct Watchdog {
    disarm: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Arms a watchdog that calls `std::process::exit(exit_code)` after `limit`.
    pub fn arm(limit: Duration, exit_code: i32) -> io::Result<Self> {
        Self::arm_with(limit, exit_code, || {})
    }

    /// Like [`arm`](Self::arm), running `before_exit` on the watchdog's thread when it fires,
    /// just before the exit (which runs no destructor): to flush a file that must be whole.
    pub fn arm_with(
        limit: Duration,
        exit_code: i32,
        before_exit: impl FnOnce() + Send + 'static,
    ) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name("lifecycle-watchdog".into())
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                    tracing::error!(
                        limit_ms = limit.as_millis() as u64, exit_code,
                        "shutdown overran its deadline (something blocks a thread): exiting the process"
                    );
                    before_exit();
                    std::process::exit(exit_code);
                }
            })?;
        Ok(Self {
            disarm: Some(tx),
            thread: Some(thread),
        })
    }

    /// Disarms it and joins its thread.
    pub fn disarm(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.disarm.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}
