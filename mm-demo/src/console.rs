//! tokio-console (the `console` feature): the console's layer, serving the runtime's tasks,
//! with their names (lifecycle-core names every managed task it spawns), on 127.0.0.1:6669
//! (`TOKIO_CONSOLE_BIND` and console-subscriber's other variables change it). tokio emits
//! what the console reads only when built with `--cfg tokio_unstable`:
//!
//! ```text
//! RUSTFLAGS="--cfg tokio_unstable" cargo run -p mm-demo --features console -- --cycles 0
//! tokio-console            # in another terminal
//! ```

#[cfg(not(tokio_unstable))]
compile_error!(
    "mm-demo's `console` feature needs tokio's instrumentation: build with RUSTFLAGS=\"--cfg tokio_unstable\""
);

use tracing_subscriber::Layer;

use crate::logging::BoxedLayer;

/// The console's layer (it starts its server thread now); it sees tokio's own spans whatever
/// the log's filter.
pub(crate) fn layer() -> BoxedLayer {
    console_subscriber::ConsoleLayer::builder()
        .with_default_env()
        .spawn()
        .boxed()
}
