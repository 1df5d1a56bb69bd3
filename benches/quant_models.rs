//! Speed of the bit-exact integer models (the oracles every simulation
//! calls): softmax rows and streaming attention key steps.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hwformer_quant::integer::quantize_all;
use hwformer_quant::integer::sdpa::{SdpaConfig, StreamingSdpa};
use hwformer_quant::integer::softmax::SoftmaxModel;
use hwformer_quant::random::{normal_vec, seeded};
use std::hint::black_box;

fn softmax_rows(c: &mut Criterion) {
    let model = SoftmaxModel::default_design();
    let mut group = c.benchmark_group("softmax_row");
    for n in [16usize, 256] {
        let row = quantize_all("logit", &normal_vec(&mut seeded(1), n, 2.0), model.input()).unwrap();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &row, |b, row| {
            b.iter(|| model.run(black_box(row)).unwrap())
        });
    }
    group.finish();
}

fn sdpa_keys(c: &mut Criterion) {
    let mut group = c.benchmark_group("streaming_sdpa_keys");
    let keys = 1024;
    for d in [1usize, 16, 64] {
        let model = StreamingSdpa::new(SdpaConfig::with_d(d, keys)).unwrap();
        let f = model.config().key;
        let mut rng = seeded(2);
        let mut draw = || quantize_all("x", &normal_vec(&mut rng, d, 1.0), f).unwrap();
        let q = draw();
        let k: Vec<_> = (0..keys).map(|_| draw()).collect();
        let v: Vec<_> = (0..keys).map(|_| draw()).collect();
        group.throughput(Throughput::Elements(keys as u64));
        group.bench_function(BenchmarkId::from_parameter(d), |b| {
            b.iter(|| {
                let mut state = model.start(&q).unwrap();
                for (kj, vj) in k.iter().zip(&v) {
                    model.push_unchecked(&mut state, kj, vj);
                }
                black_box(model.finish(&state))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, softmax_rows, sdpa_keys);
criterion_main!(benches);
