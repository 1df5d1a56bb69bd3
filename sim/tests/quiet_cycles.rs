//! Jumping over quiet cycles (`RunOptions::skip_quiet`) is an
//! optimisation only: every block graph and every layer graph, at full
//! speed and under gaps and back-pressure, makes the same handshakes at
//! the same cycles, with the same counters, and deadlocks the same way,
//! whether the graph steps every cycle or jumps.

use hwformer_dataflow::handshake::layer::LayerDepths;
use hwformer_dataflow::handshake::{Graph, RunOptions};
use hwformer_dataflow::pacing::Pacing;
use hwformer_sim::timing::{block_graph_for, boundary_beats, ffn_timing, LayerPlan};

const PACINGS: [Pacing; 3] = [
    Pacing::FULL_SPEED,
    Pacing {
        valid_probability: 0.7,
        ready_probability: 0.8,
        seed: 3,
    },
    Pacing {
        valid_probability: 1.0,
        ready_probability: 0.4,
        seed: 5,
    },
];

/// Runs `build()` twice under `pacing`, stepping and jumping; both must
/// agree on everything they report.
fn agree(what: &str, pacing: &Pacing, options: impl Fn() -> RunOptions<'static>, build: impl Fn() -> Graph) {
    let mut stepped = build();
    let mut jumped = build();
    let step = stepped.run(
        pacing,
        RunOptions {
            skip_quiet: false,
            ..options()
        },
    );
    let jump = jumped.run(
        pacing,
        RunOptions {
            skip_quiet: true,
            ..options()
        },
    );
    match (step, jump) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "{what} {pacing:?}: the handshakes differ");
            assert_eq!(
                stepped.report(a.cycles),
                jumped.report(b.cycles),
                "{what} {pacing:?}: the counters differ"
            );
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what} {pacing:?}"),
        (a, b) => panic!("{what} {pacing:?}: stepping gave {a:?}, jumping {b:?}"),
    }
}

#[test]
fn every_block_graph_runs_the_same_stepping_or_jumping() {
    for (block, size, n, inferences) in [
        ("exp", 0, 32, 4),
        ("softmax", 0, 24, 6),
        ("sdpa", 8, 40, 5),
        ("binary_attention", 16, 17, 3),
        ("fifo", 3, 32, 4),
    ] {
        let description = block_graph_for(block, size).unwrap();
        let (inputs, expected) = boundary_beats(block, n, inferences).unwrap();
        for pacing in &PACINGS {
            agree(block, pacing, RunOptions::default, || {
                description.build(&inputs, &expected).unwrap()
            });
        }
    }
    // the FFNs: two matrix-vector engines (the ternary one with its
    // per-token setup) and the hidden FIFO between them
    for (block, hidden_depth) in [("ffn", 1), ("ffn", 2), ("ffn", 64), ("ternary_ffn", 2)] {
        let engine = hwformer_sim::timing::ffn_engine(block).unwrap().1;
        let timing = ffn_timing(16, 64, 4, hidden_depth, &engine).unwrap();
        let graph = hwformer_dataflow::handshake::blocks::BlockGraph {
            block: "ffn",
            timing,
            stalling: hwformer_dataflow::handshake::units::Stalling::Lockstep,
        };
        let (inputs, expected) = boundary_beats("ffn", 16, 5).unwrap();
        for pacing in &PACINGS {
            agree(block, pacing, RunOptions::default, || {
                graph.build(&inputs, &expected).unwrap()
            });
        }
    }
}

#[test]
fn every_layer_graph_runs_the_same_stepping_or_jumping_and_deadlocks_alike() {
    // the presets, and a layer bound by its FFN (as minilm-layer is): the
    // engines before it wait frozen behind full banks for long stretches
    let mut ffn_bound = LayerPlan::preset("small").unwrap();
    (ffn_bound.d_ff, ffn_bound.lanes, ffn_bound.shape.tokens) = (256, 2, 12);
    let plans = ["tiny", "small", "jet-tagging"]
        .map(|p| (p.to_string(), LayerPlan::preset(p).unwrap()))
        .into_iter()
        .chain([("ffn-bound".to_string(), ffn_bound)]);
    for (preset, plan) in plans {
        let graph = plan.graph().unwrap();
        let ample = 2 * graph.shape.sequence_elements();
        let search = graph.search_depths(2, ample).unwrap();
        let found: Vec<usize> = search.fifos.iter().map(|f| f.full_throughput_depth).collect();
        let mut starved = found.clone();
        starved[0] = search.fifos[0].deadlock_free_depth - 1;
        for depths in [vec![ample; 3], found, starved] {
            for pacing in &PACINGS {
                let options = || RunOptions {
                    idle_limit: 50_000,
                    ..RunOptions::default()
                };
                agree(&format!("{preset} {depths:?}"), pacing, options, || {
                    graph.build(2, LayerDepths::from_slice(&depths)).unwrap()
                });
            }
        }
    }
}
