//! Simulated cycles per second of the attention graphs. Throughput is
//! counted in simulated cycles (the closed-form count of each run); the
//! inputs are drawn once, outside the timed loop.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hwformer_dataflow::sdpa::{NumberFormat, SdpaRun, Variant};
use std::hint::black_box;

fn run(variant: Variant, n: usize, d: usize, queries: usize, format: NumberFormat, check: bool) -> SdpaRun {
    let mut r = SdpaRun::new(variant, n, d);
    r.queries = queries;
    r.format = format;
    r.check = check;
    r
}

fn bench(c: &mut Criterion, group: &str, runs: Vec<(String, SdpaRun)>, samples: usize) {
    let mut g = c.benchmark_group(group);
    g.sample_size(samples);
    for (label, r) in runs {
        let cycles = r.latencies().cycles(r.variant, r.n, r.queries);
        g.throughput(Throughput::Elements(cycles));
        let inputs = r.inputs().expect("valid run");
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| black_box(r.simulate_on(&inputs).expect("runs")))
        });
    }
    g.finish();
}

/// The streaming graph by head dimension, simulator alone (outputs
/// counted, not checked) and with every output checked bit for bit.
fn streaming_by_d(c: &mut Criterion) {
    let mut runs = Vec::new();
    for d in [1, 16, 64] {
        for (format, f) in [(NumberFormat::F64, "f64"), (NumberFormat::Fixed, "fixed")] {
            runs.push((
                format!("d{d}_{f}_unchecked"),
                run(Variant::Streaming, 65536, d, 1, format, false),
            ));
        }
    }
    runs.push((
        "d1_fixed_checked".into(),
        run(Variant::Streaming, 65536, 1, 1, NumberFormat::Fixed, true),
    ));
    runs.push((
        "d1_f64_checked".into(),
        run(Variant::Streaming, 65536, 1, 1, NumberFormat::F64, true),
    ));
    bench(c, "streaming_by_d", runs, 20);
}

/// Run time against N (d = 1, one query, fixed point, unchecked), and the
/// naive graph for comparison.
fn by_n(c: &mut Criterion) {
    let mut runs = Vec::new();
    for n in [1024usize, 16384, 262144] {
        runs.push((
            format!("streaming_n{n}"),
            run(Variant::Streaming, n, 1, 1, NumberFormat::Fixed, false),
        ));
        runs.push((
            format!("naive_n{n}"),
            run(Variant::Naive, n, 1, 1, NumberFormat::Fixed, false),
        ));
    }
    bench(c, "by_n", runs, 10);
}

/// A full N x N head at N = 4096 (16.7 M key steps), d = 1.
fn full_head(c: &mut Criterion) {
    let runs = vec![
        (
            "n4096_fixed_unchecked".into(),
            run(Variant::Streaming, 4096, 1, 4096, NumberFormat::Fixed, false),
        ),
        (
            "n4096_fixed_checked".into(),
            run(Variant::Streaming, 4096, 1, 4096, NumberFormat::Fixed, true),
        ),
    ];
    bench(c, "full_head", runs, 10);
}

criterion_group!(benches, streaming_by_d, by_n, full_head);
criterion_main!(benches);
