//! lifecycle-core benchmarks (being written).
#![allow(missing_docs)]
use criterion::{Criterion, criterion_group, criterion_main};

fn signal_check(c: &mut Criterion) {
    let signal = lifecycle_core::ShutdownSignal::new();
    c.bench_function("signal_check", |b| b.iter(|| std::hint::black_box(&signal).is_triggered()));
}

criterion_group!(benches, signal_check);
criterion_main!(benches);
