//! The encoder layer's handshake graph with hwformer-hdl's stage counts:
//! it runs every preset's sequences through, its first residual FIFO must
//! hold almost a sequence (the search finds the depth below which it
//! deadlocks, and one slot less does deadlock), and a plan the hardware
//! does not build is an error naming the block.

use hwformer_dataflow::handshake::layer::{LayerDepths, LAYER_FIFOS};
use hwformer_dataflow::handshake::GraphError;
use hwformer_sim::timing::LayerPlan;

#[test]
fn the_tiny_layers_fifos_are_sized_by_the_search() {
    let plan = LayerPlan::preset("tiny").unwrap();
    let graph = plan.graph().unwrap();
    let s = plan.shape;
    let sequence = s.sequence_elements();
    let search = graph.search_depths(2, 2 * sequence).unwrap();
    assert_eq!(search.fifos.len(), LAYER_FIFOS.len());
    let residual1 = &search.fifos[0];
    assert!(residual1.deadlock_free_depth <= residual1.full_throughput_depth);
    // a sequence's last token enters before its first output leaves
    assert!(residual1.deadlock_free_depth > sequence / 2, "{search:?}");
    assert!(residual1.deadlock_free_depth <= sequence, "{search:?}");
    // one slot less deadlocks, and the found depths at once keep full speed
    let mut depths: Vec<usize> = search.fifos.iter().map(|f| f.full_throughput_depth).collect();
    assert_eq!(search.joint_cycles, Some(search.full_throughput_cycles));
    depths[0] = residual1.deadlock_free_depth - 1;
    assert!(matches!(
        graph.cycles(2, LayerDepths::from_slice(&depths)),
        Err(GraphError::Deadlock(_))
    ));
}

#[test]
fn the_search_finds_what_running_every_depth_finds() {
    // the search starts below each FIFO's peak and bisects; running every
    // depth from 1 to the ample one, each FIFO alone, must give the same
    for preset in ["tiny", "jet-tagging"] {
        let graph = LayerPlan::preset(preset).unwrap().graph().unwrap();
        let ample = 2 * graph.shape.sequence_elements();
        let search = graph.search_depths(2, ample).unwrap();
        for (i, found) in search.fifos.iter().enumerate() {
            let cycles: Vec<Option<u64>> = (1..=ample)
                .map(|k| {
                    let mut depths = vec![ample; 3];
                    depths[i] = k;
                    graph.cycles(2, LayerDepths::from_slice(&depths)).ok()
                })
                .collect();
            let first = |ok: &dyn Fn(&Option<u64>) -> bool| cycles.iter().position(ok).unwrap() + 1;
            assert_eq!(
                found.full_throughput_depth,
                first(&|c| *c == Some(search.full_throughput_cycles)),
                "{preset} {}",
                found.name
            );
            assert_eq!(
                found.deadlock_free_depth,
                first(&|c| c.is_some()),
                "{preset} {}",
                found.name
            );
            let less = found.full_throughput_depth.checked_sub(2).and_then(|k| cycles[k]);
            assert_eq!(found.cycles_one_less, less, "{preset} {}", found.name);
        }
        // fewer runs than one bisection a bound over 1..=ample would make
        let bisections = 3 * 2 * (usize::BITS - ample.leading_zeros()) as usize;
        assert!(search.simulations < bisections, "{preset}: {search:?}");
    }
}

#[test]
fn every_preset_builds_and_jet_tagging_runs_its_sequences_through() {
    for (name, plan) in LayerPlan::PRESETS {
        let graph = plan.graph().unwrap_or_else(|e| panic!("{name}: {e}"));
        graph
            .build(1, LayerDepths::from_slice(&[1, 1, 1]))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let plan = LayerPlan::preset("jet-tagging").unwrap();
    let sequence = plan.shape.sequence_elements();
    let ample = LayerDepths::from_slice(&[sequence; 3]);
    let one = plan.graph().unwrap().cycles(1, ample).unwrap();
    let two = plan.graph().unwrap().cycles(2, ample).unwrap();
    // the second sequence overlaps the first's tail, never costs more than a whole one
    assert!(two > one && two < 2 * one, "{one} {two}");
}

#[test]
fn a_plan_the_hardware_does_not_build_is_an_error_naming_the_block() {
    let tiny = LayerPlan::preset("tiny").unwrap();
    // 3 lanes divide no output width of the tiny layer
    let e = LayerPlan { lanes: 3, ..tiny }.graph().unwrap_err().to_string();
    assert!(
        e.contains("the q, k, v projections") && e.contains("lanes"),
        "{e}"
    );
    // a head of 12 is no sdpa size
    let mut shape = tiny.shape;
    shape.head_size = 12;
    let e = LayerPlan { shape, ..tiny }.graph().unwrap_err().to_string();
    assert!(e.contains("the attention head"), "{e}");
    let e = LayerPlan::preset("huge").unwrap_err().to_string();
    assert!(e.contains("tiny, small, jet-tagging, minilm-layer"), "{e}");
    // a graph whose blocks disagree with its shape is refused, not run
    let mut graph = tiny.graph().unwrap();
    graph.shape.d_model = 32;
    let e = graph
        .build(1, LayerDepths::from_slice(&[8, 2, 8]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("projection"), "{e}");
}
