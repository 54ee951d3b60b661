//! Helpers shared by the benchmarks in `benches/`.

/// Whether this is a measuring run (`cargo bench`), not `--list` or a test-mode run.
pub fn bench_mode() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    args.iter().any(|arg| arg == "--bench")
        && !args.iter().any(|arg| arg == "--list" || arg == "--test")
}

/// Whether the command line asks for the check named `check` that a bench runs after
/// criterion: only under `cargo bench` (not `--list`, not test mode), and only if every name
/// filter (criterion's positional argument) is absent or is a part of `check`.
pub fn check_requested(check: &str) -> bool {
    const TAKES_VALUE: [&str; 14] = [
        "--warm-up-time",
        "--measurement-time",
        "--sample-size",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--save-baseline",
        "--baseline",
        "--baseline-lenient",
        "--load-baseline",
        "--profile-time",
        "--output-format",
        "--plotting-backend",
    ];
    if !bench_mode() {
        return false;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filters = args.iter().enumerate().filter(|(i, arg)| {
        !arg.starts_with('-') && (*i == 0 || !TAKES_VALUE.contains(&args[i - 1].as_str()))
    });
    filters.all(|(_, filter)| check.contains(filter.as_str()))
}

/// The median of `values` (the upper one of an even count); NaN for none.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
