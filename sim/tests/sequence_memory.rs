//! The layer's sequence memory (`hdl::sequence_memory`) in rust-hdl's
//! simulator against its handshake-graph unit
//! (`dataflow::handshake::units::SequenceMemory`): under seeded gaps and
//! back-pressure, every handshake on its five streams in the graph's
//! cycle, and every replayed beat the word the order says (query `(i, h)`,
//! then the keys and values of head `h` of every token). Its Verilog is
//! linted with the layer's other parts (`layer_parts.rs`).

use hwformer_dataflow::handshake::units::{SequenceMemory, SequenceSize};
use hwformer_dataflow::handshake::{Graph, RunOptions};
use hwformer_dataflow::pacing::{sink_ready, Pacing, SourcePacer};
use hwformer_hdl::sequence_memory::SequenceMemoryUnit;
use rust_hdl::prelude::*;

/// The element a stream (0 q, 1 k, 2 v) carries for sequence `s`, token
/// `t`, element `e`: distinct for every stream, sequence, token and
/// element of these small tests.
fn element(stream: usize, s: usize, t: usize, e: usize) -> u16 {
    (stream << 13 | s << 11 | t << 6 | e) as u16
}

/// The cycles of every handshake (inputs q, k, v; outputs query, kv) and
/// the replayed beats as lanes.
struct Run {
    input_cycles: Vec<Vec<u64>>,
    output_cycles: Vec<Vec<u64>>,
    queries: Vec<Vec<u16>>,
    kvs: Vec<(Vec<u16>, Vec<u16>, bool)>,
}

fn lanes<const N: usize>(word: Bits<N>, count: usize, from: usize) -> Vec<u16> {
    (0..count)
        .map(|i| word.get_bits::<16>(from + 16 * i).to_u64() as u16)
        .collect()
}

fn rtl<const HS: usize, const W: usize, const KV: usize>(
    tokens: usize,
    heads: usize,
    sequences: usize,
    pacing: &Pacing,
) -> Run {
    let mut uut = SequenceMemoryUnit::<HS, W, KV>::new(tokens, heads);
    uut.connect_all();
    let width = heads * HS;
    let beats = sequences * tokens * width;
    let (queries_expected, kvs_expected) = (sequences * tokens * heads, sequences * tokens * heads * tokens);
    let mut pacers = [SourcePacer::default(); 3];
    let mut next = [0usize; 3];
    let mut run = Run {
        input_cycles: vec![Vec::new(); 3],
        output_cycles: vec![Vec::new(); 2],
        queries: Vec::new(),
        kvs: Vec::new(),
    };
    let mut cycle = 0u64;
    while run.queries.len() < queries_expected || run.kvs.len() < kvs_expected {
        assert!(cycle < 100_000, "stuck at cycle {cycle}");
        let draining = false;
        let mut valid = [false; 3];
        for stream in 0..3 {
            valid[stream] = pacers[stream].valid(pacing, stream, cycle, next[stream] < beats);
            let b = next[stream].min(beats - 1);
            let (s, t, e) = (b / (tokens * width), b / width % tokens, b % width);
            let data: Bits<16> = u64::from(element(stream, s, t, e)).to_bits();
            match stream {
                0 => {
                    uut.s_axis_q_tvalid.next = valid[0];
                    uut.s_axis_q_tdata.next = data;
                }
                1 => {
                    uut.s_axis_k_tvalid.next = valid[1];
                    uut.s_axis_k_tdata.next = data;
                }
                _ => {
                    uut.s_axis_v_tvalid.next = valid[2];
                    uut.s_axis_v_tdata.next = data;
                }
            }
        }
        let ready = [0, 1].map(|sink| sink_ready(pacing, sink, cycle, draining));
        uut.m_axis_query_tready.next = ready[0];
        uut.m_axis_kv_tready.next = ready[1];
        uut.clock.next = false.into();
        assert!(simulate(&mut uut, 100), "did not settle at cycle {cycle}");
        let taken = [
            valid[0] && uut.s_axis_q_tready.val(),
            valid[1] && uut.s_axis_k_tready.val(),
            valid[2] && uut.s_axis_v_tready.val(),
        ];
        for stream in 0..3 {
            if taken[stream] {
                run.input_cycles[stream].push(cycle);
                next[stream] += 1;
                pacers[stream].taken();
            }
        }
        if ready[0] && uut.m_axis_query_tvalid.val() {
            assert!(uut.m_axis_query_tlast.val());
            run.output_cycles[0].push(cycle);
            run.queries.push(lanes(uut.m_axis_query_tdata.val(), HS, 0));
        }
        if ready[1] && uut.m_axis_kv_tvalid.val() {
            run.output_cycles[1].push(cycle);
            let kv = uut.m_axis_kv_tdata.val();
            run.kvs
                .push((lanes(kv, HS, 0), lanes(kv, HS, W), uut.m_axis_kv_tlast.val()));
        }
        uut.clock.next = true.into();
        assert!(simulate(&mut uut, 100), "did not settle after cycle {cycle}");
        cycle += 1;
    }
    run
}

/// The graph unit's handshake cycles for the same sizes and pacing.
fn graph(
    hs: usize,
    tokens: usize,
    heads: usize,
    sequences: usize,
    pacing: &Pacing,
) -> (Vec<Vec<u64>>, Vec<Vec<u64>>) {
    let beats = sequences * tokens * heads * hs;
    let mut g = Graph::new("sequence memory");
    let q = g.source("q", vec![false; beats]).unwrap();
    let k = g.source("k", vec![false; beats]).unwrap();
    let v = g.source("v", vec![false; beats]).unwrap();
    let (query, kv) = (g.link("query"), g.link("kv"));
    let size = SequenceSize {
        tokens: tokens as u32,
        width: (heads * hs) as u32,
        heads: heads as u32,
    };
    g.add("memory", SequenceMemory::new(q, k, v, query, kv, size))
        .unwrap();
    g.sink("query", query, sequences * tokens * heads).unwrap();
    g.sink("kv", kv, sequences * tokens * heads * tokens).unwrap();
    let trace = g.run(pacing, RunOptions::default()).unwrap();
    (trace.input_cycles, trace.output_cycles)
}

fn check<const HS: usize, const W: usize, const KV: usize>(tokens: usize, heads: usize) {
    let sequences = 2;
    for (valid, ready, seed) in [(1.0, 1.0, 0), (0.5, 1.0, 1), (1.0, 0.4, 2), (0.6, 0.6, 3)] {
        let pacing = Pacing {
            valid_probability: valid,
            ready_probability: ready,
            seed,
        };
        let what = format!("HS {HS}, {tokens} tokens, {heads} heads, pacing {valid}/{ready} seed {seed}");
        let run = rtl::<HS, W, KV>(tokens, heads, sequences, &pacing);
        let (inputs, outputs) = graph(HS, tokens, heads, sequences, &pacing);
        assert_eq!(run.input_cycles, inputs, "input handshakes, {what}");
        // the graph stops at the last expected beat; so does the RTL run
        assert_eq!(run.output_cycles, outputs, "output handshakes, {what}");
        // the order of the replay, word by word
        let word = |stream: usize, s: usize, t: usize, h: usize| -> Vec<u16> {
            (0..HS).map(|l| element(stream, s, t, h * HS + l)).collect()
        };
        let mut at = (0, 0);
        for s in 0..sequences {
            for i in 0..tokens {
                for h in 0..heads {
                    assert_eq!(run.queries[at.0], word(0, s, i, h), "query ({i}, {h}), {what}");
                    at.0 += 1;
                    for j in 0..tokens {
                        let (k, v, last) = &run.kvs[at.1];
                        assert_eq!(k, &word(1, s, j, h), "key {j} of ({i}, {h}), {what}");
                        assert_eq!(v, &word(2, s, j, h), "value {j} of ({i}, {h}), {what}");
                        assert_eq!(*last, j == tokens - 1, "tlast, {what}");
                        at.1 += 1;
                    }
                }
            }
        }
    }
}

#[test]
fn the_sequence_memory_replays_in_order_at_the_graphs_cycles() {
    check::<2, 32, 64>(3, 2);
    check::<4, 64, 128>(5, 1);
    check::<1, 16, 32>(1, 1);
    check::<8, 128, 256>(4, 3);
}
