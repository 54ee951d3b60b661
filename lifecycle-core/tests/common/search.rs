//! Settings shared by the property tests: how many cases (`QUIESCE_PROPTEST_CASES`, for a
//! soak) and which seed (`QUIESCE_PROPTEST_SEED`, to replay a failure). The seed is printed
//! at the start of each property test; the test harness shows it when the test fails.

use proptest::test_runner::{Config, RngSeed};

/// A proptest configuration with `default_cases` cases (or `QUIESCE_PROPTEST_CASES`) and a
/// printed seed (`QUIESCE_PROPTEST_SEED`, or a fresh one).
pub fn config(test: &str, default_cases: u32) -> Config {
    let cases = std::env::var("QUIESCE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    let seed = std::env::var("QUIESCE_PROPTEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
    eprintln!(
        "{test}: {cases} cases, seed {seed} (replay: QUIESCE_PROPTEST_SEED={seed} cargo test -p lifecycle-core --test {test})"
    );
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        // Replays come from the printed seed, not from a file in the tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Keeps the panics a property test plans (their message contains `marker`) out of the test
/// output; every other panic still prints.
pub fn quiet_planned_panics(marker: &'static str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
                .unwrap_or("");
            if !message.contains(marker) {
                default(info);
            }
        }));
    });
}
