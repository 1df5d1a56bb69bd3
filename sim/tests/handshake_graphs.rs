//! One timing model: every exported block, on every back end, makes every
//! handshake in the cycle its handshake graph predicts, from valid/ready
//! probabilities 0.3 to 1 and several seeds; a graph that is wrong in one
//! unit (a stage more, a slot less, bubbles squeezed out) is caught; and a
//! FIFO depth the graph's search calls enough is enough on the RTL, one
//! slot less costing both the same cycles.

mod common;

use common::{export, run};
use hwformer_dataflow::handshake::blocks::{BlockGraph, BlockTiming};
use hwformer_dataflow::handshake::units::Stalling;
use hwformer_sim::check::{check, CycleChecks, MismatchKind};
use hwformer_sim::ports::PortMap;
use hwformer_sim::session::Backend;
use hwformer_sim::testbench::{Pacing, Stimulus};
use hwformer_sim::timing;
use hwformer_sim::workload::{Workload, WorkloadSize};

/// (block, d, keys or logits per inference, inferences): small designs
/// with short inferences, where stalls and the shared finishers interact.
/// The deep FIFO is the first with block-RAM storage
/// (`hwformer_hdl::fifo::BLOCK_RAM_FIFO_DEPTH`): 900 beats fill it and wrap
/// its addresses under back-pressure, and empty it under gaps (where a
/// word is read in the cycle after it is written, through the bypass).
const DESIGNS: [(&str, usize, usize, usize); 7] = [
    ("exp", 0, 9, 5),
    ("softmax", 0, 20, 8),
    ("sdpa", 2, 5, 8),
    ("sdpa", 8, 3, 6),
    ("fifo", 1, 12, 4),
    ("fifo", 5, 12, 4),
    ("fifo", 512, 300, 3),
];

const PROBABILITIES: [f64; 3] = [0.3, 0.6, 1.0];

#[test]
fn every_block_on_verilator_makes_every_handshake_when_its_graph_says() {
    for (block, d, n, inferences) in DESIGNS {
        let (dir, manifest) = export(block, d, "graph-sweep");
        for valid in PROBABILITIES {
            for ready in PROBABILITIES {
                for seed in 0..3 {
                    let pacing = Pacing {
                        valid_probability: valid,
                        ready_probability: ready,
                        seed,
                    };
                    let size = WorkloadSize {
                        n,
                        queries: inferences,
                        seed,
                    };
                    let verdict = run(&dir, &manifest, Backend::Verilator, size, pacing)
                        .result
                        .unwrap();
                    assert!(verdict.cycles_checked);
                    // at full speed the closed forms hold too (softmax rows
                    // have random lengths here: no closed form)
                    let full = pacing.is_full_speed() && block != "softmax";
                    assert_eq!(verdict.closed_form_checked, full, "{block} {pacing:?}");
                }
            }
        }
    }
}

#[test]
fn every_block_on_icarus_and_rust_hdl_makes_every_handshake_when_its_graph_says() {
    let pacings = [(0.3, 0.3), (1.0, 0.3), (0.3, 1.0), (1.0, 1.0)];
    for (block, d, n, inferences) in DESIGNS {
        let (dir, manifest) = export(block, d, "graph-slow");
        for (k, &(valid, ready)) in pacings.iter().enumerate() {
            let pacing = Pacing {
                valid_probability: valid,
                ready_probability: ready,
                seed: 11 + k as u64,
            };
            let size = WorkloadSize {
                n,
                queries: inferences.min(4),
                seed: 2,
            };
            for backend in [Backend::Icarus, Backend::RustHdl] {
                let verdict = run(&dir, &manifest, backend, size, pacing).result.unwrap();
                assert!(verdict.cycles_checked, "{block} on {}", backend.name());
            }
        }
    }
}

/// The RTL's trace of `block` under `pacing`, with what it was driven by.
struct Recorded {
    manifest: hwformer_hdl::manifest::Manifest,
    workload: Workload,
    expected: Vec<usize>,
    pacing: Pacing,
    trace: hwformer_sim::testbench::Trace,
}

/// `test` names the export folder: tests run in parallel.
fn record(test: &str, block: &str, d: usize, size: WorkloadSize, pacing: Pacing) -> Recorded {
    let (dir, manifest) = export(block, d, test);
    let outcome = run(&dir, &manifest, Backend::Verilator, size, pacing);
    let workload = Workload::new(&manifest, size).unwrap();
    Recorded {
        expected: workload.expected_beats(),
        manifest,
        workload,
        pacing,
        trace: outcome.trace,
    }
}

impl Recorded {
    fn stimulus(&self) -> Stimulus<'_> {
        Stimulus {
            inputs: &self.workload.inputs,
            expected: &self.expected,
            pacing: self.pacing,
            max_cycles: 1_000_000,
        }
    }

    /// The first mismatch between the RTL and `graph`, explained.
    fn mismatch(&self, graph: &BlockGraph) -> String {
        let ports = PortMap::new(&self.manifest);
        let stimulus = self.stimulus();
        let predicted = match timing::predict(graph, &ports, &stimulus) {
            Ok(p) => p,
            Err(e) => return format!("the graph failed: {e}"),
        };
        let cycles = CycleChecks {
            model: Some(&predicted),
            closed_form: false,
        };
        let m = check(&self.manifest, &self.workload, &self.trace, cycles)
            .expect_err("a wrong graph must differ from the RTL");
        assert!(
            matches!(m.kind, MismatchKind::Cycle | MismatchKind::InputCycle),
            "{m}"
        );
        let input = m.kind == MismatchKind::InputCycle;
        let why = timing::explain(graph, &stimulus, &m.stream, input, m.cycle);
        assert!(why.contains("decides this handshake"), "{why}");
        format!("{m}; {why}")
    }

    fn graph(&self) -> BlockGraph {
        timing::block_graph(&self.manifest).unwrap()
    }
}

const STALLS: Pacing = Pacing {
    valid_probability: 0.5,
    ready_probability: 0.3,
    seed: 4,
};

/// Gaps only: back-pressure could hide a cycle of latency (the sink not
/// ready in either cycle takes the beat in the same one).
const GAPS: Pacing = Pacing {
    valid_probability: 0.5,
    ready_probability: 1.0,
    seed: 4,
};

#[test]
fn a_graph_with_one_stage_more_is_caught() {
    let size = |n| WorkloadSize {
        n,
        queries: 6,
        seed: 1,
    };
    let exp = record("stage", "exp", 0, size(8), GAPS);
    let mut g = exp.graph();
    g.timing = BlockTiming::Exp {
        stages: hwformer_hdl::exp::EXP_LATENCY as u32 + 1,
    };
    exp.mismatch(&g);

    let sdpa = record("stage", "sdpa", 2, size(3), GAPS);
    let mut g = sdpa.graph();
    if let BlockTiming::Sdpa { score_stages, .. } = &mut g.timing {
        *score_stages += 1;
    }
    sdpa.mismatch(&g);
    let mut g = sdpa.graph();
    if let BlockTiming::Sdpa {
        normalizer_cycles, ..
    } = &mut g.timing
    {
        *normalizer_cycles += 1;
    }
    let why = sdpa.mismatch(&g);
    // the key waits behind the lock-step stages on the normalizer
    assert!(
        why.contains("held up along `q register`") && why.contains("-> `accumulate and normalize` (finisher"),
        "{why}"
    );
    // what a user sees (docs/DATAFLOW.md quotes it)
    eprintln!("{why}");

    // rows of one or two logits keep the reciprocal busy
    let softmax = record("stage", "softmax", 0, size(2), Pacing::FULL_SPEED);
    let mut g = softmax.graph();
    if let BlockTiming::Softmax {
        reciprocal_cycles, ..
    } = &mut g.timing
    {
        *reciprocal_cycles += 1;
    }
    softmax.mismatch(&g);
}

#[test]
fn a_graph_with_one_slot_less_is_caught() {
    let fifo = record(
        "slot",
        "fifo",
        3,
        WorkloadSize {
            n: 20,
            queries: 4,
            seed: 2,
        },
        STALLS,
    );
    let mut g = fifo.graph();
    assert_eq!(g.timing, BlockTiming::Fifo { depth: 3 });
    g.timing = BlockTiming::Fifo { depth: 2 };
    fifo.mismatch(&g);

    // 40 rows of up to 4 logits against a slow sink fill the 8 row slots
    let slow = Pacing {
        valid_probability: 1.0,
        ready_probability: 0.2,
        seed: 3,
    };
    let softmax = record(
        "slot",
        "softmax",
        0,
        WorkloadSize {
            n: 4,
            queries: 40,
            seed: 5,
        },
        slow,
    );
    let mut g = softmax.graph();
    if let BlockTiming::Softmax { ring, .. } = &mut g.timing {
        ring.rows -= 1;
    }
    let why = softmax.mismatch(&g);
    assert!(why.contains("logits") && why.contains("row ring"), "{why}");
}

#[test]
fn a_pipeline_modelled_as_elastic_instead_of_lock_step_is_caught() {
    let size = |n| WorkloadSize {
        n,
        queries: 12,
        seed: 3,
    };
    // softmax's passes leave bubbles only between rows, and a slow sink
    // keeps the output pass full: only some patterns show the difference
    // (12 of 30 seeds at ready 0.3 for these rows; one of them here)
    let slow = Pacing {
        valid_probability: 0.5,
        ready_probability: 0.3,
        seed: 7,
    };
    for (block, d, n, pacing) in [
        ("exp", 0, 10, STALLS),
        ("sdpa", 2, 6, STALLS),
        ("softmax", 0, 5, slow),
    ] {
        let recorded = record("elastic", block, d, size(n), pacing);
        let mut g = recorded.graph();
        g.stalling = Stalling::Elastic;
        recorded.mismatch(&g);
    }
}

#[test]
fn a_fifo_depth_the_graph_finds_enough_is_enough_on_the_rtl_and_one_less_slows_both_alike() {
    let pacing = Pacing {
        valid_probability: 0.5,
        ready_probability: 0.5,
        seed: 21,
    };
    let size = WorkloadSize {
        n: 50,
        queries: 8,
        seed: 6,
    };
    let search = timing::fifo_depth_search(size.n, size.queries, &pacing, 256).unwrap();
    let found = &search.fifos[0];
    let depth = found.full_throughput_depth;
    assert!(depth > 2, "the pacing should need a real buffer: {search:?}");
    let one_less = found.cycles_one_less.expect("a FIFO never deadlocks");
    assert!(one_less > search.full_throughput_cycles, "{search:?}");
    // the RTL, checked handshake by handshake, at both depths
    for (d, cycles) in [(depth, search.full_throughput_cycles), (depth - 1, one_less)] {
        let (dir, manifest) = export("fifo", d, "min-depth");
        let outcome = run(&dir, &manifest, Backend::Verilator, size, pacing);
        assert!(outcome.result.unwrap().cycles_checked);
        assert_eq!(outcome.trace.cycles, cycles, "depth {d}");
    }
}
