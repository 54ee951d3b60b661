//! Helpers shared by the benchmarks in `benches/`.

/// Whether the command line asks for a paired check named `check`: not when listing or
/// testing, and only if every name filter (criterion's positional argument) is absent or is a
/// part of `check`.
pub fn paired_requested(check: &str) -> bool {
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--list" || arg == "--test") {
        return false;
    }
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
