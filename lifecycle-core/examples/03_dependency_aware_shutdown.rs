//! `DependencyAwareShutdown`: components in phases, "A uses B" dependencies, one global
//! deadline, and one report, here with a component whose stop hangs: it is reported, what it
//! uses still stops, and the whole shutdown stays within its budget.
//!
//! `cargo run -p lifecycle-core --example 03_dependency_aware_shutdown`
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::{
    AsyncResource, BoxFuture, DependencyAwareShutdown, Lifecycle, ShutdownPriority, StartError,
    StopDetails, StopReport,
};
use tokio::time::Instant;

/// A component whose stop hook may hang (its `Lifecycle` still returns by the deadline).
struct Component {
    lifecycle: Lifecycle,
    hangs: bool,
}

fn component(name: &str, hangs: bool) -> Arc<Component> {
    Arc::new(Component {
        lifecycle: Lifecycle::new(name),
        hangs,
    })
}

impl AsyncResource for Component {
    lifecycle_core::delegate_to_lifecycle!(lifecycle);

    fn start(&self) -> BoxFuture<'_, Result<(), StartError>> {
        Box::pin(self.lifecycle.start(|_| async { Ok(()) }))
    }
    fn stop(&self, deadline: Instant) -> BoxFuture<'_, StopReport> {
        let hangs = self.hangs;
        Box::pin(self.lifecycle.stop(deadline, move |_| async move {
            if hangs {
                std::future::pending::<()>().await;
            }
            StopDetails::new()
        }))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut system = DependencyAwareShutdown::new("trading");
    let orders = system.register(component("orders", false), ShutdownPriority::CriticalFirst);
    let private_ws = system.register(component("private-ws", true), ShutdownPriority::High);
    system.register(component("public-ws", false), ShutdownPriority::Medium);
    let http = system.register(component("http", false), ShutdownPriority::Cleanup);
    let limiter = system.register(component("limiter", false), ShutdownPriority::Cleanup);
    system.add_dependency(orders, http).unwrap();
    system.add_dependency(private_ws, http).unwrap();
    system.add_dependency(http, limiter).unwrap(); // same phase: http stops first

    system.start_all().await.unwrap();
    let budget = Duration::from_millis(500);
    let begun = Instant::now();
    let report = system.shutdown_all(budget).await;
    println!("{report}");
    assert!(begun.elapsed() <= budget + DependencyAwareShutdown::CONTRACT_SLACK);
    // The hung socket is reported; everything else stopped cleanly.
    assert_eq!(
        report.resource("private-ws").unwrap().outcome,
        lifecycle_core::StopOutcome::Incomplete
    );
    assert!(report.resource("limiter").unwrap().outcome.is_clean());
}
