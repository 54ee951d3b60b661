//! A component built on `Lifecycle`: it gets the whole contract (idempotent start with
//! rollback, a stop that always returns by its deadline, a report) by writing only its start
//! and stop hooks.
//!
//! `cargo run -p lifecycle-core --example 02_resource_with_lifecycle`
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lifecycle_core::{
    AsyncResource, BoxFuture, Lifecycle, LifecycleState, StartError, StopDetails, StopReport,
};
use tokio::time::Instant;

/// Counts ticks in a background task until stopped.
struct Ticker {
    lifecycle: Lifecycle,
    ticks: Arc<AtomicU64>,
}

impl AsyncResource for Ticker {
    // `name`, `state` and `watch_state` come from the `Lifecycle` field.
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        let ticks = self.ticks.clone();
        Box::pin(self.lifecycle.start(|ctx| async move {
            let signal = ctx.tasks().signal().clone();
            // Critical: if it failed, the ticker would move to Failed and its supervisor learn.
            ctx.tasks().spawn_critical("tick", async move {
                let mut interval = tokio::time::interval(Duration::from_millis(10));
                loop {
                    tokio::select! {
                        biased;
                        () = signal.triggered() => return,
                        _ = interval.tick() => { ticks.fetch_add(1, Ordering::Relaxed); }
                    }
                }
            })?;
            // An undo step, run (in reverse order) if a later step of this start failed.
            ctx.on_rollback("forget ticks", |_deadline| async {});
            Ok(())
        }))
    }
    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let ticks = self.ticks.clone();
        Box::pin(self.lifecycle.stop(deadline, move |_ctx| async move {
            StopDetails::new().counter("ticks", ticks.load(Ordering::Relaxed))
        }))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ticker = Ticker {
        lifecycle: Lifecycle::new("ticker"),
        ticks: Arc::default(),
    };
    ticker.start().await.unwrap();
    ticker.start().await.unwrap(); // idempotent
    tokio::time::sleep(Duration::from_millis(50)).await;
    let report = ticker.stop_within(Duration::from_secs(1)).await;
    println!("{report}");
    assert!(report.is_clean());
    assert_eq!(ticker.state(), LifecycleState::Stopped);
    // A second stop returns the same report at once.
    assert_eq!(ticker.stop_within(Duration::from_secs(1)).await, report);
}
