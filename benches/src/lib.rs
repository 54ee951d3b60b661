//! Helpers shared by the benchmarks in `benches/`.

#![doc(test(attr(deny(warnings))))]

/// Whether this is a measuring run (`cargo bench`), not `--list` or a test-mode run.
pub fn bench_mode() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    args.iter().any(|arg| arg == "--bench")
        && !args.iter().any(|arg| arg == "--list" || arg == "--test")
}

/// Whether the command line asks for the check named `check` that a bench runs after
/// criterion: only under `cargo bench` (not `--list`, not test mode), and only if every name
/// filter (criterion's positional argument) is absent or is a part of `check`.
///
/// This reads criterion's command line again because criterion 0.8 keeps what it parsed to
/// itself: `Criterion::configure_from_args` stores the mode (bench, `--list`, `--test`) and
/// the name filter in private fields, and its `filter_matches` is private too. Running a
/// check as a criterion benchmark instead (which criterion would filter) does not fit: a
/// check is one paired loop, alternating anchor and ours and reporting a ratio, which must
/// run once, not be sampled and warmed up by criterion. What is read here is only what tells
/// a filter from an option's value.
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

/// The medians of a paired check: `anchor` and `ours` in seconds per sample.
#[derive(Debug, Clone, Copy)]
pub struct Paired {
    /// Median seconds per sample of the anchor.
    pub anchor: f64,
    /// Median seconds per sample of ours.
    pub ours: f64,
}

impl Paired {
    /// `ours / anchor`.
    pub fn ratio(&self) -> f64 {
        self.ours / self.anchor
    }
}

/// Alternates samples of `anchor` and `ours` in one loop, `rounds` pairs after `warmup` pairs
/// left out, flipping which side goes first every round, and returns the median of each. Both
/// sides see the same drift of a shared machine, which separate criterion runs do not.
/// Each closure runs one sample and returns the time it measured.
pub fn paired(
    warmup: usize,
    rounds: usize,
    mut anchor: impl FnMut() -> std::time::Duration,
    mut ours: impl FnMut() -> std::time::Duration,
) -> Paired {
    let (mut anchor_s, mut ours_s) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..warmup + rounds {
        let (a, o) = if round % 2 == 0 {
            let a = anchor();
            (a, ours())
        } else {
            let o = ours();
            (anchor(), o)
        };
        if round >= warmup {
            anchor_s.push(a.as_secs_f64());
            ours_s.push(o.as_secs_f64());
        }
    }
    Paired {
        anchor: median(anchor_s),
        ours: median(ours_s),
    }
}
