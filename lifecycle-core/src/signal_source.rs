//! Where the runner's stop requests come from: [`SignalSource`], the process's own signals
//! ([`OsSignals`]) or an injected channel ([`signal_channel`]) for tests.

use std::fmt;
use std::io;

use tokio::sync::mpsc;

use crate::resource::BoxFuture;

/// A request to stop the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (a supervisor's stop: systemd, Kubernetes, `kill`).
    Terminate,
    /// SIGHUP: the controlling terminal went away (a closed terminal, a dropped ssh session).
    Hangup,
    /// SIGQUIT (Ctrl-\\): handled as an orderly stop instead of a core dump.
    Quit,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
            Self::Hangup => "SIGHUP",
            Self::Quit => "SIGQUIT",
        })
    }
}

/// A stream of stop requests.
pub trait SignalSource: Send {
    /// The next signal; `None` when the source can deliver no more (then it is never
    /// awaited again).
    ///
    /// Must be cancel safe: a signal must not be lost when the future is dropped.
    fn recv(&mut self) -> BoxFuture<'_, Option<Signal>>;
}

/// The process's stop signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT, each one an orderly stop
/// (Ctrl-C only on non-unix platforms). Installing them replaces the default actions, so none
/// of them kills the process before the shutdown ran.
pub struct OsSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
    #[cfg(unix)]
    quit: tokio::signal::unix::Signal,
}

impl fmt::Debug for OsSignals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OsSignals").finish_non_exhaustive()
    }
}

impl OsSignals {
    /// Installs the handlers. Must be called inside a tokio runtime.
    pub fn new() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
                hangup: signal(SignalKind::hangup())?,
                quit: signal(SignalKind::quit())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }
}

impl SignalSource for OsSignals {
    fn recv(&mut self) -> BoxFuture<'_, Option<Signal>> {
        Box::pin(async move {
            #[cfg(unix)]
            {
                tokio::select! {
                    s = self.interrupt.recv() => s.map(|()| Signal::Interrupt),
                    s = self.terminate.recv() => s.map(|()| Signal::Terminate),
                    s = self.hangup.recv() => s.map(|()| Signal::Hangup),
                    s = self.quit.recv() => s.map(|()| Signal::Quit),
                }
            }
            #[cfg(not(unix))]
            {
                tokio::signal::ctrl_c()
                    .await
                    .ok()
                    .map(|()| Signal::Interrupt)
            }
        })
    }
}

/// Sends injected signals to an [`InjectedSignals`] source.
#[derive(Debug, Clone)]
pub struct SignalInjector {
    tx: mpsc::UnboundedSender<Signal>,
}

impl SignalInjector {
    /// Delivers `signal`; `false` if the source is gone.
    pub fn send(&self, signal: Signal) -> bool {
        self.tx.send(signal).is_ok()
    }
}

/// A [`SignalSource`] fed by a [`SignalInjector`], for driving the runner in tests.
#[derive(Debug)]
pub struct InjectedSignals {
    rx: mpsc::UnboundedReceiver<Signal>,
}

impl SignalSource for InjectedSignals {
    fn recv(&mut self) -> BoxFuture<'_, Option<Signal>> {
        Box::pin(self.rx.recv())
    }
}

/// A connected injector and source.
pub fn signal_channel() -> (SignalInjector, InjectedSignals) {
    let (tx, rx) = mpsc::unbounded_channel();
    (SignalInjector { tx }, InjectedSignals { rx })
}

/// A source that never signals.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSignals;

impl SignalSource for NoSignals {
    fn recv(&mut self) -> BoxFuture<'_, Option<Signal>> {
        Box::pin(std::future::pending())
    }
}
