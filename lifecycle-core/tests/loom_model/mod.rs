//! The loom model checks' one setting, shared by `loom_signal` and `loom_state`.

/// Explores interleavings with at most three preemptions per execution (what tokio's own loom
/// runs use; `LOOM_MAX_PREEMPTIONS` overrides it), so a run stays within seconds.
pub fn model(check: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(check);
}
