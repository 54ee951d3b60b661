//! Liveness and readiness, for `/livez` and `/readyz`.
//!
//! Ready means what systemd's `READY=1` means ([`crate::systemd`]): the start (markets,
//! sockets, listen key, the previous run's orders cleared) is done and the cycles run; and,
//! besides, every component is `Running` and trading is not halted. Not ready from the very
//! moment a shutdown or a halt begins: the readiness reads the runner's shutdown signal and the
//! exchange's halt flag themselves, which are set before the first cancel goes out (the cycle
//! cancels only once it sees the signal; a halt refuses placements and then sweeps).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use exchange_composite::PrivateCompositeExchange;
use lifecycle_core::{AsyncResource, DependencyAwareShutdown, ShutdownSignal};
use serde::Serialize;

use crate::trading_halt::HaltCounts;

/// What trading is: the private exchange and the halts' counts (the report's).
#[derive(Debug, Clone)]
pub(crate) struct Trading {
    pub(crate) private: Arc<PrivateCompositeExchange>,
    pub(crate) counts: Arc<HaltCounts>,
}

/// The run's health, filled in as the run gets there (shared with the HTTP listener).
#[derive(Debug, Default)]
pub(crate) struct Health {
    system: OnceLock<Arc<DependencyAwareShutdown>>,
    trading: OnceLock<Trading>,
    /// The application's shutdown signal: set once the start is done and the cycles begin.
    running: OnceLock<ShutdownSignal>,
    /// The cycles ended on their own (the shutdown follows).
    ended: AtomicBool,
}

/// Why the run is not ready, or that it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Readiness {
    /// Everything runs, the start's reconciliation is done, trading is on.
    Ready,
    /// Still starting (or the start failed).
    Starting,
    /// Trading is halted (SIGUSR1, `POST /halt`, a lost guardian).
    Halted,
    /// A shutdown began.
    ShuttingDown,
    /// A component is not `Running`.
    Degraded,
}

/// One component's state, as the bodies show it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ComponentState {
    pub(crate) name: String,
    pub(crate) state: &'static str,
}

/// The body of `/readyz` and `/livez`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HealthBody {
    /// `ready`, `starting`, `halted`, `shutting_down`, `degraded`.
    pub(crate) readiness: Readiness,
    /// Whether trading is halted.
    pub(crate) halted: bool,
    /// The exchanges' components and their states.
    pub(crate) components: Vec<ComponentState>,
}

impl Health {
    /// The exchanges' orchestrator, whose components must all be `Running`.
    pub(crate) fn follow(&self, system: Arc<DependencyAwareShutdown>) {
        let _ = self.system.set(system);
    }

    /// The private exchange (halt state, `POST /halt` and `/resume`).
    pub(crate) fn trade_with(&self, trading: Trading) {
        let _ = self.trading.set(trading);
    }

    /// The private exchange and the halts' counts, once known.
    pub(crate) fn trading(&self) -> Option<&Trading> {
        self.trading.get()
    }

    /// The start is done: the cycles run until `stop` is triggered.
    pub(crate) fn running(&self, stop: ShutdownSignal) {
        let _ = self.running.set(stop);
    }

    /// The cycles ended on their own: the shutdown begins.
    pub(crate) fn ended(&self) {
        self.ended.store(true, Ordering::Release);
    }

    fn components(&self) -> Vec<ComponentState> {
        self.system.get().map_or_else(Vec::new, |system| {
            system
                .resources()
                .map(|(resource, _)| ComponentState {
                    name: resource.name().to_owned(),
                    state: resource.state().as_str(),
                })
                .collect()
        })
    }

    fn halted(&self) -> bool {
        self.trading
            .get()
            .is_some_and(|trading| trading.private.is_halted())
    }

    /// The readiness now.
    pub(crate) fn readiness(&self) -> Readiness {
        let Some(stop) = self.running.get() else {
            return Readiness::Starting;
        };
        if stop.is_triggered() || self.ended.load(Ordering::Acquire) {
            return Readiness::ShuttingDown;
        }
        if self.halted() {
            return Readiness::Halted;
        }
        let all_running = self.system.get().is_some_and(|system| {
            system
                .resources()
                .all(|(resource, _)| resource.is_running())
        });
        if all_running {
            Readiness::Ready
        } else {
            Readiness::Degraded
        }
    }

    /// The body of `/readyz` and `/livez`.
    pub(crate) fn body(&self) -> HealthBody {
        HealthBody {
            readiness: self.readiness(),
            halted: self.halted(),
            components: self.components(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Health, Readiness};

    #[test]
    fn readiness_follows_the_start_and_the_shutdown_signal() {
        let health = Health::default();
        assert_eq!(health.readiness(), Readiness::Starting);
        let stop = lifecycle_core::ShutdownSignal::new();
        health.running(stop.clone());
        // No orchestrator followed: nothing is known to run.
        assert_eq!(health.readiness(), Readiness::Degraded);
        let system = std::sync::Arc::new(lifecycle_core::DependencyAwareShutdown::new("empty"));
        health.follow(system);
        assert_eq!(health.readiness(), Readiness::Ready);
        stop.trigger();
        assert_eq!(health.readiness(), Readiness::ShuttingDown);
        let ended = Health::default();
        ended.running(lifecycle_core::ShutdownSignal::new());
        ended.ended();
        assert_eq!(ended.readiness(), Readiness::ShuttingDown);
        assert_eq!(
            serde_json::to_value(health.body()).unwrap()["readiness"],
            "shutting_down"
        );
    }
}
