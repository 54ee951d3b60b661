//! Prometheus metrics for `/metrics`: the process's `metrics` recorder
//! (metrics-exporter-prometheus), which the library crates' counters report to (exchange-ws
//! frames and reconnects, exchange-rest calls and limiter grants, exchange-composite orders),
//! and the bridge that publishes lifecycle-core's task counts and shutdown metrics (that crate
//! depends on no metrics crate: it exposes snapshots, read here at each scrape).
//!
//! Lifecycle metrics, each labelled `component` (the task manager's name) where it is one
//! component's:
//!
//! | name | what |
//! | --- | --- |
//! | `quiesce_tasks_active` | tasks alive now |
//! | `quiesce_tasks_started_total` | tasks spawned |
//! | `quiesce_tasks_finished_total` | tasks that returned before a shutdown asked them to |
//! | `quiesce_tasks_stopped_total` | tasks that returned once a shutdown asked them to |
//! | `quiesce_tasks_aborted_total` | tasks aborted after their grace period |
//! | `quiesce_tasks_panicked_total` | tasks that panicked |
//! | `quiesce_tasks_failed_total` | tasks that returned an error |
//! | `quiesce_task_restarts_total` | restarts of supervised tasks |
//! | `quiesce_shutdowns_total` | orchestrated shutdowns completed (no label) |
//! | `quiesce_failed_shutdowns_total` | of those, the ones not clean (no label) |
//! | `quiesce_last_shutdown_duration_seconds` | how long the last one took (no label) |
//!
//! Secrets never reach a metric: labels are component names and fixed outcome words.

use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};

/// Tasks alive now.
pub(crate) const TASKS_ACTIVE: &str = "quiesce_tasks_active";

/// The installed recorder, rendered at each scrape.
#[derive(Clone)]
pub(crate) struct MetricsExport {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for MetricsExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsExport").finish_non_exhaustive()
    }
}

impl MetricsExport {
    /// Installs the Prometheus recorder as the process's `metrics` recorder. Must come
    /// before the components are built: a counter registered before it counts nowhere.
    pub(crate) fn install() -> Result<Self, BuildError> {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).map_err(BuildError::FailedToSetGlobalRecorder)?;
        describe_lifecycle();
        Ok(Self { handle })
    }

    /// The Prometheus text exposition of every metric now (lifecycle-core's read first).
    pub(crate) fn render(&self) -> String {
        publish_lifecycle();
        // Histograms' samples are folded in at render time: no upkeep thread.
        self.handle.run_upkeep();
        self.handle.render()
    }
}

fn describe_lifecycle() {
    metrics::describe_gauge!(TASKS_ACTIVE, "Tasks alive now");
    metrics::describe_counter!("quiesce_tasks_started_total", "Tasks spawned");
    metrics::describe_counter!(
        "quiesce_tasks_finished_total",
        "Tasks that returned before a shutdown asked them to"
    );
    metrics::describe_counter!(
        "quiesce_tasks_stopped_total",
        "Tasks that returned once a shutdown asked them to"
    );
    metrics::describe_counter!(
        "quiesce_tasks_aborted_total",
        "Tasks aborted after their grace period"
    );
    metrics::describe_counter!("quiesce_tasks_panicked_total", "Tasks that panicked");
    metrics::describe_counter!("quiesce_tasks_failed_total", "Tasks that returned an error");
    metrics::describe_counter!(
        "quiesce_task_restarts_total",
        "Restarts of supervised tasks"
    );
    metrics::describe_counter!(
        "quiesce_shutdowns_total",
        "Orchestrated shutdowns completed"
    );
    metrics::describe_counter!(
        "quiesce_failed_shutdowns_total",
        "Orchestrated shutdowns that were not clean"
    );
    metrics::describe_gauge!(
        "quiesce_last_shutdown_duration_seconds",
        metrics::Unit::Seconds,
        "How long the last orchestrated shutdown took"
    );
}

/// Publishes lifecycle-core's snapshots through the `metrics` facade. Counters are set with
/// `absolute`, which never lowers them.
fn publish_lifecycle() {
    for tasks in lifecycle_core::component_tasks() {
        let component = tasks.component.to_string();
        let counts = tasks.counts;
        metrics::gauge!(TASKS_ACTIVE, "component" => component.clone()).set(tasks.active as f64);
        for (name, value) in [
            ("quiesce_tasks_started_total", counts.spawned),
            ("quiesce_tasks_finished_total", counts.finished),
            ("quiesce_tasks_stopped_total", counts.stopped),
            ("quiesce_tasks_aborted_total", counts.aborted),
            ("quiesce_tasks_panicked_total", counts.panicked),
            ("quiesce_tasks_failed_total", counts.failed),
            ("quiesce_task_restarts_total", counts.restarts),
        ] {
            metrics::counter!(name, "component" => component.clone()).absolute(value);
        }
    }
    let process = lifecycle_core::metrics();
    metrics::counter!("quiesce_shutdowns_total").absolute(process.shutdowns);
    metrics::counter!("quiesce_failed_shutdowns_total").absolute(process.failed_shutdowns);
    metrics::gauge!("quiesce_last_shutdown_duration_seconds")
        .set(process.last_shutdown_duration.as_secs_f64());
}

#[cfg(test)]
impl MetricsExport {
    /// A recorder that is not the process's (for the handlers' tests).
    pub(crate) fn unrecorded() -> Self {
        Self {
            handle: PrometheusBuilder::new().build_recorder().handle(),
        }
    }
}
