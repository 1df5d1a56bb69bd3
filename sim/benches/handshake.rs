//! Simulated cycles per second of the blocks' handshake graphs (the one
//! timing model the RTL is checked against), at full speed and under gaps
//! and back-pressure. The graph is built outside the timed loop.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hwformer_dataflow::handshake::RunOptions;
use hwformer_dataflow::pacing::Pacing;
use hwformer_sim::timing::{block_graph_for, boundary_beats, LayerPlan};
use std::hint::black_box;

fn graphs(c: &mut Criterion) {
    let mut g = c.benchmark_group("handshake_graphs");
    g.sample_size(20);
    let paced = Pacing {
        valid_probability: 0.5,
        ready_probability: 0.5,
        seed: 1,
    };
    for (block, d, n, queries) in [
        ("exp", 0, 1024, 64),
        ("softmax", 0, 256, 256),
        ("sdpa", 1, 256, 256),
        ("sdpa", 64, 256, 256),
        ("fifo", 16, 1024, 64),
    ] {
        for (label, pacing) in [("full_speed", Pacing::FULL_SPEED), ("gaps_0.5", paced)] {
            let description = block_graph_for(block, d).unwrap();
            let (inputs, expected) = boundary_beats(block, n, queries).unwrap();
            let cycles = description
                .build(&inputs, &expected)
                .unwrap()
                .run(&pacing, RunOptions::default())
                .unwrap()
                .cycles;
            g.throughput(Throughput::Elements(cycles));
            g.bench_function(BenchmarkId::from_parameter(format!("{block}{d}_{label}")), |b| {
                b.iter_batched(
                    || description.build(&inputs, &expected).unwrap(),
                    |mut graph| black_box(graph.run(&pacing, RunOptions::default()).unwrap()),
                    criterion::BatchSize::LargeInput,
                )
            });
        }
    }
    g.finish();
}

/// A whole layer's FIFO search (every graph run it makes), two sequences
/// at full speed, as `hwformer dataflow min-depth --layer PRESET` runs it.
fn layer_depth_search(c: &mut Criterion) {
    let mut g = c.benchmark_group("layer_depth_search");
    g.sample_size(10);
    for preset in ["tiny", "jet-tagging"] {
        let plan = LayerPlan::preset(preset).unwrap();
        let graph = plan.graph().unwrap();
        let ample = 2 * plan.shape.sequence_elements();
        g.bench_function(BenchmarkId::from_parameter(preset), |b| {
            b.iter(|| black_box(graph.search_depths(2, ample).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, graphs, layer_depth_search);
criterion_main!(benches);
