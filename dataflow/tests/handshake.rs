//! The handshake units on their own: cycle counts worked out by hand,
//! lock-step against elastic stalling, conservation of beats and tlast
//! under any pacing, FIFO depth monotone in cycles (what the depth search
//! assumes), deadlocks and malformed graphs reported, the VCD well formed.

use hwformer_dataflow::handshake::blocks::{BlockGraph, BlockTiming};
use hwformer_dataflow::handshake::units::{Fifo, HoldJoin, Pipeline, RingSize, RowReduce, Stalling};
use hwformer_dataflow::handshake::{Graph, GraphError, HandshakeTrace, RunOptions};
use hwformer_dataflow::pacing::Pacing;
use proptest::prelude::*;

fn lasts(n: usize, group: usize) -> Vec<bool> {
    (0..n).map(|k| k % group == group - 1).collect()
}

fn run(g: &mut Graph, pacing: Pacing) -> HandshakeTrace {
    g.run(&pacing, RunOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn fifo_graph(depth: usize, beats: usize) -> Graph {
    let mut g = Graph::new("fifo");
    let x = g.source("x", lasts(beats, 4)).unwrap();
    let y = g.link("y");
    g.add("fifo", Fifo::new(x, y, depth)).unwrap();
    g.sink("y", y, beats).unwrap();
    g
}

fn pipeline_graph(stages: u32, stalling: Stalling, beats: usize) -> Graph {
    let mut g = Graph::new("pipe");
    let x = g.source("x", lasts(beats, 3)).unwrap();
    let y = g.link("y");
    g.add("pipe", Pipeline::new(x, y, stages, stalling)).unwrap();
    g.sink("y", y, beats).unwrap();
    g
}

#[test]
fn a_fifo_of_one_passes_every_other_cycle_and_of_two_every_cycle() {
    let t1 = run(&mut fifo_graph(1, 5), Pacing::FULL_SPEED);
    assert_eq!(t1.input_cycles[0], vec![0, 2, 4, 6, 8]);
    assert_eq!(t1.output_cycles[0], vec![1, 3, 5, 7, 9]);
    let t2 = run(&mut fifo_graph(2, 5), Pacing::FULL_SPEED);
    assert_eq!(t2.input_cycles[0], vec![0, 1, 2, 3, 4]);
    assert_eq!(t2.output_cycles[0], vec![1, 2, 3, 4, 5]);
    assert_eq!(t2.cycles, 6);
    // a register slice is that FIFO of two
    let mut g = Graph::new("slice");
    let x = g.source("x", lasts(5, 4)).unwrap();
    let y = g.link("y");
    g.add("slice", Fifo::register_slice(x, y)).unwrap();
    g.sink("y", y, 5).unwrap();
    assert_eq!(run(&mut g, Pacing::FULL_SPEED), t2);
}

#[test]
fn a_lock_step_pipeline_keeps_its_bubbles_and_an_elastic_one_squeezes_them() {
    // beats arrive every other cycle (a FIFO of one in front passes one
    // per two cycles) into four stages whose sink is almost never ready:
    // count the beats each takes before the first leaves
    let sink_never_ready = Pacing {
        valid_probability: 1.0,
        ready_probability: 0.01,
        seed: 7,
    };
    let taken = |stalling| {
        let mut g = Graph::new("pipe");
        let x = g.source("x", lasts(20, 20)).unwrap();
        let (slow, y) = (g.link("slow"), g.link("y"));
        g.add("half rate", Fifo::new(x, slow, 1)).unwrap();
        g.add("pipe", Pipeline::new(slow, y, 4, stalling)).unwrap();
        g.sink("y", y, 20).unwrap();
        let t = run(&mut g, sink_never_ready);
        let first_out = t.output_cycles[0][0];
        t.input_cycles[0].iter().filter(|&&c| c < first_out).count()
    };
    // at half rate the lock-step stages stall with bubbles between the
    // beats; the elastic ones fill them
    let (lockstep, elastic) = (taken(Stalling::Lockstep), taken(Stalling::Elastic));
    assert!(elastic > lockstep, "lock-step {lockstep}, elastic {elastic}");
}

#[test]
fn a_pipeline_of_k_stages_offers_a_beat_k_cycles_after_it_took_it() {
    for k in [1, 5, 17, 64] {
        let t = run(&mut pipeline_graph(k, Stalling::Lockstep, 10), Pacing::FULL_SPEED);
        let delays: Vec<u64> = t.output_cycles[0]
            .iter()
            .zip(&t.input_cycles[0])
            .map(|(o, i)| o - i)
            .collect();
        assert!(delays.iter().all(|&d| d == u64::from(k)), "k = {k}: {delays:?}");
    }
}

#[test]
fn a_row_reduce_holds_a_last_beat_while_its_finisher_is_busy() {
    // rows of one beat, finisher busy 3: a row every 5 cycles (busy 3,
    // hold 1, idle 1), as sdpa's short queries
    let mut g = Graph::new("reduce");
    let x = g.source("x", vec![true; 4]).unwrap();
    let y = g.link("y");
    g.add("reduce", RowReduce::new(x, y, 3)).unwrap();
    g.sink("y", y, 4).unwrap();
    let t = run(&mut g, Pacing::FULL_SPEED);
    assert_eq!(t.input_cycles[0], vec![0, 5, 10, 15]);
    assert_eq!(t.output_cycles[0], vec![4, 9, 14, 19]);
}

#[test]
fn a_join_that_never_gets_its_held_beat_is_a_deadlock_naming_who_holds_what() {
    let mut g = Graph::new("join");
    let hold = g.source("query", vec![]).unwrap();
    let keys = g.source("keys", lasts(6, 3)).unwrap();
    let (joined, y) = (g.link("joined"), g.link("y"));
    g.add("join", HoldJoin::new(hold, keys, joined)).unwrap();
    g.add("pipe", Pipeline::new(joined, y, 2, Stalling::Lockstep))
        .unwrap();
    g.sink("y", y, 6).unwrap();
    let options = RunOptions {
        idle_limit: 50,
        ..RunOptions::default()
    };
    match g.run(&Pacing::FULL_SPEED, options) {
        Err(GraphError::Deadlock(stuck)) => {
            assert_eq!(stuck.inputs, vec!["query 0/0", "keys 0/6"]);
            assert_eq!(stuck.outputs, vec!["y 0/6"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_graphs_are_errors() {
    let mut g = Graph::new("bad");
    let x = g.source("x", vec![true]).unwrap();
    let y = g.link("y");
    g.add("a", Fifo::new(x, y, 2)).unwrap();
    // a second producer, a second consumer
    let z = g.link("z");
    assert!(matches!(
        g.add("b", Fifo::new(z, y, 2)),
        Err(GraphError::Invalid(_))
    ));
    assert!(matches!(
        g.add("c", Fifo::new(x, z, 2)),
        Err(GraphError::Invalid(_))
    ));
    // `y` has no consumer, `z` no producer
    match g.run(&Pacing::FULL_SPEED, RunOptions::default()) {
        Err(GraphError::Invalid(m)) => assert!(m.contains("no"), "{m}"),
        other => panic!("{other:?}"),
    }
    // a refused unit left nothing behind: `z` still has no producer
    let mut g = Graph::new("refused");
    let x = g.source("x", vec![true]).unwrap();
    let (y, z) = (g.link("y"), g.link("z"));
    g.add("a", Fifo::new(x, y, 2)).unwrap();
    assert!(g.add("b", Fifo::new(x, z, 2)).is_err());
    g.sink("y", y, 1).unwrap();
    match g.run(&Pacing::FULL_SPEED, RunOptions::default()) {
        Err(GraphError::Invalid(m)) => assert!(m.contains("`z` has no producer"), "{m}"),
        other => panic!("{other:?}"),
    }
    // a consumer added before its producer would read last cycle's wires
    let mut g = Graph::new("order");
    let x = g.source("x", vec![true]).unwrap();
    let y = g.link("y");
    g.sink("y", y, 1).unwrap();
    g.add("pipe", Pipeline::new(x, y, 2, Stalling::Lockstep)).unwrap();
    match g.run(&Pacing::FULL_SPEED, RunOptions::default()) {
        Err(GraphError::Invalid(m)) => assert!(m.contains("stream order"), "{m}"),
        other => panic!("{other:?}"),
    }
    let block = |timing| BlockGraph {
        block: "exp",
        timing,
        stalling: Stalling::Lockstep,
    };
    let exp = block(BlockTiming::Exp { stages: 5 });
    assert!(matches!(exp.build(&[], &[1]), Err(GraphError::Invalid(_))));
    // stage counts no unit can have are refused, not clamped
    let row = vec![true];
    for bad in [
        BlockTiming::Exp { stages: 0 },
        BlockTiming::Exp { stages: 65 },
        BlockTiming::Fifo { depth: 0 },
    ] {
        assert!(matches!(
            block(bad).build(std::slice::from_ref(&row), &[1]),
            Err(GraphError::Invalid(_))
        ));
    }
}

#[test]
fn the_vcd_has_every_link_and_ends_at_the_last_cycle() {
    let mut g = fifo_graph(3, 8);
    let mut out = Vec::new();
    let options = RunOptions {
        vcd: Some(&mut out),
        ..RunOptions::default()
    };
    let t = g.run(&Pacing::FULL_SPEED, options).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("$scope module x $end") && text.contains("$scope module y $end"));
    assert!(text.contains("fifo_occupancy"));
    assert!(
        text.trim_end().ends_with(&format!("#{}", 10 * t.cycles)),
        "{text}"
    );
}

fn block(timing: BlockTiming) -> BlockGraph {
    BlockGraph {
        block: "test",
        timing,
        stalling: Stalling::Lockstep,
    }
}

fn pacing() -> impl Strategy<Value = Pacing> {
    (0.2f64..=1.0, 0.2f64..=1.0, any::<u64>()).prop_map(|(v, r, seed)| Pacing {
        valid_probability: v,
        ready_probability: r,
        seed,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// No beat is lost or duplicated and tlast keeps its place, through
    /// every block graph, under any pacing.
    #[test]
    fn every_beat_and_its_tlast_comes_through(
        pacing in pacing(),
        group in 1usize..12,
        groups in 1usize..8,
        stages in 1u32..10,
        depth in 1usize..6,
        busy in 1u32..20,
    ) {
        let beats = group * groups;
        let row = lasts(beats, group);
        for timing in [BlockTiming::Exp { stages }, BlockTiming::Fifo { depth }] {
            let mut g = block(timing).build(std::slice::from_ref(&row), &[beats]).unwrap();
            let t = run(&mut g, pacing);
            prop_assert_eq!(t.input_cycles[0].len(), beats);
            // exactly the beats, in order, with their tlast (the drain
            // would have caught one more)
            prop_assert_eq!(&t.output_last[0], &row);
            // a beat leaves after it came
            for (o, i) in t.output_cycles[0].iter().zip(&t.input_cycles[0]) {
                prop_assert!(o > i);
            }
        }
        let sdpa = BlockTiming::Sdpa { score_stages: 3, exp_stages: stages, normalizer_cycles: busy };
        let mut g = block(sdpa).build(&[vec![true; groups], row.clone()], &[groups]).unwrap();
        let t = run(&mut g, pacing);
        prop_assert_eq!(t.input_cycles[0].len(), groups);
        prop_assert_eq!(t.input_cycles[1].len(), beats);
        prop_assert_eq!(t.output_cycles[0].len(), groups);
        // a query's output comes after its last key
        let key_ends: Vec<u64> = row.iter().zip(&t.input_cycles[1]).filter(|(l, _)| **l).map(|(_, &c)| c).collect();
        for (out, end) in t.output_cycles[0].iter().zip(&key_ends) {
            prop_assert!(out > end);
        }
        let softmax = BlockTiming::Softmax {
            exp_stages: stages,
            reciprocal_cycles: busy,
            output_stages: 1,
            ring: RingSize { rows: 3, beats: 16, row_max: 8 },
        };
        let mut g = block(softmax).build(std::slice::from_ref(&row), &[beats]).unwrap();
        let t = run(&mut g, pacing);
        // rows end at tlast or at row_max beats
        let mut want = Vec::new();
        let mut in_row = 0;
        for &l in &row {
            in_row += 1;
            let end = l || in_row == 8;
            want.push(end);
            if end {
                in_row = 0;
            }
        }
        prop_assert_eq!(&t.output_last[0], &want);
    }

    /// More depth never costs cycles (what the depth search's bisection
    /// assumes).
    #[test]
    fn fifo_cycles_do_not_grow_with_depth(pacing in pacing(), beats in 1usize..80) {
        let cycles: Vec<u64> = (1..=beats + 1).map(|d| run(&mut fifo_graph(d, beats), pacing).cycles).collect();
        prop_assert!(cycles.windows(2).all(|w| w[1] <= w[0]), "{:?}", cycles);
    }
}

mod layer_units {
    use super::*;
    use hwformer_dataflow::handshake::units::{Fork, Join, SequenceMemory, SequenceSize, Serialize};

    #[test]
    fn a_fork_passes_a_beat_a_cycle_to_every_branch_and_waits_for_the_slowest() {
        // two branches, one through a FIFO of one (it takes every other cycle)
        let mut g = Graph::new("fork");
        let x = g.source("x", lasts(4, 2)).unwrap();
        let (a, b) = (g.link("a"), g.link("b"));
        g.add("fork", Fork::new(x, vec![a, b])).unwrap();
        let slow = g.link("slow");
        g.add("slow", Fifo::new(b, slow, 1)).unwrap();
        g.sink("a", a, 4).unwrap();
        g.sink("b", slow, 4).unwrap();
        let t = run(&mut g, Pacing::FULL_SPEED);
        // the fast branch alone would take one a cycle: the slow one paces both
        assert_eq!(t.input_cycles[0], vec![0, 1, 3, 5]);
        assert_eq!(t.output_cycles[0], vec![1, 2, 4, 6]);
        assert_eq!(t.output_last[0], vec![false, true, false, true]);
        assert_eq!(t.output_cycles[1], vec![2, 4, 6, 8]);
    }

    #[test]
    fn a_join_takes_a_pair_when_both_are_there_and_keeps_the_first_inputs_last() {
        let mut g = Graph::new("join");
        let a = g.source("a", vec![false, true, false]).unwrap();
        let b0 = g.source("b", vec![true, true, true]).unwrap();
        // b comes through two pipeline stages: every pair waits for it
        let b = g.link("b late");
        g.add("late", Pipeline::new(b0, b, 2, Stalling::Lockstep))
            .unwrap();
        let y = g.link("y");
        g.add("join", Join::new(a, b, y)).unwrap();
        g.sink("y", y, 3).unwrap();
        let t = run(&mut g, Pacing::FULL_SPEED);
        assert_eq!(t.input_cycles[0], vec![2, 3, 4]);
        assert_eq!(t.output_cycles[0], vec![3, 4, 5]);
        assert_eq!(t.output_last[0], vec![false, true, false]);
    }

    #[test]
    fn a_serializer_gives_each_vectors_elements_one_a_cycle_back_to_back() {
        let mut g = Graph::new("serialize");
        let x = g.source("x", vec![true, true]).unwrap();
        let y = g.link("y");
        g.add("serialize", Serialize::new(x, y, 3)).unwrap();
        g.sink("y", y, 6).unwrap();
        let t = run(&mut g, Pacing::FULL_SPEED);
        // the second vector is taken as the first one's last element leaves
        assert_eq!(t.input_cycles[0], vec![0, 3]);
        assert_eq!(t.output_cycles[0], vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_sequence_memory_replays_every_query_with_all_keys_of_its_head_after_the_whole_sequence() {
        // 3 tokens of width 4 (2 heads of 2) on each of q, k, v
        let size = SequenceSize {
            tokens: 3,
            width: 4,
            heads: 2,
        };
        let mut g = Graph::new("memory");
        let q = g.source("q", vec![false; 12]).unwrap();
        let k = g.source("k", vec![false; 12]).unwrap();
        // v comes late: nothing is replayed before its last beat
        let v0 = g.source("v", vec![false; 12]).unwrap();
        let v = g.link("v late");
        g.add("late", Pipeline::new(v0, v, 5, Stalling::Lockstep))
            .unwrap();
        let (query, kv) = (g.link("query"), g.link("kv"));
        g.add("memory", SequenceMemory::new(q, k, v, query, kv, size))
            .unwrap();
        g.sink("query", query, 6).unwrap();
        g.sink("kv", kv, 18).unwrap();
        let t = run(&mut g, Pacing::FULL_SPEED);
        // v's last beat is written at cycle 16, the first reads issued at
        // 17, the replay offered from 18
        assert_eq!(*t.input_cycles[2].last().unwrap(), 11);
        assert_eq!(t.output_cycles[0], (18..24).collect::<Vec<u64>>());
        assert_eq!(t.output_cycles[1], (18..36).collect::<Vec<u64>>());
        // tlast on each query's last key: every third
        let expected: Vec<bool> = (0..18).map(|j| j % 3 == 2).collect();
        assert_eq!(t.output_last[1], expected);
    }
}
