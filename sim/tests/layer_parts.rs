//! The encoder layer's glue in RTL against its handshake-graph units, in
//! rust-hdl's simulator under seeded gaps and back-pressure: the fork
//! (`StreamFork` / `Fork`), the head's serializer (`LaneSerializer` /
//! `Serialize`) and the residual add (`ResidualAdd` / `Join` and a
//! lock-step pipeline of `RESIDUAL_ADD_STAGES`): every handshake in the
//! graph's cycle and every value as the model says (the residual add bit
//! for bit against `quant::bert::integer::residual_add`, saturation
//! included). Each block's Verilog, and the sequence memory's, is linted
//! by Verilator.

use hwformer_dataflow::handshake::units::{Fork, Join, Pipeline, Serialize, Stalling};
use hwformer_dataflow::handshake::{Graph, RunOptions};
use hwformer_dataflow::pacing::{sink_ready, Pacing, SourcePacer};
use hwformer_hdl::lane_serializer::LaneSerializer;
use hwformer_hdl::residual_add::{ResidualAdd, RESIDUAL_ADD_STAGES};
use hwformer_hdl::stream_fork::StreamFork;
use hwformer_quant::bert::integer::residual_add;
use hwformer_quant::random::seeded;
use hwformer_quant::QFormat;
use rand::Rng;
use rust_hdl::prelude::*;

const PACINGS: [(f64, f64, u64); 4] = [(1.0, 1.0, 0), (0.5, 1.0, 1), (1.0, 0.4, 2), (0.6, 0.6, 3)];

fn pacing((valid, ready, seed): (f64, f64, u64)) -> Pacing {
    Pacing {
        valid_probability: valid,
        ready_probability: ready,
        seed,
    }
}

/// The handshake cycles of a graph run: inputs, outputs.
type Cycles = (Vec<Vec<u64>>, Vec<Vec<u64>>);

fn graph_cycles(g: &mut Graph, pacing: &Pacing) -> Cycles {
    let t = g.run(pacing, RunOptions::default()).unwrap();
    (t.input_cycles, t.output_cycles)
}

/// Paced sources and sinks for an RTL loop, as the graph's: `sources`
/// streams of `beats` each.
struct Bench {
    pacing: Pacing,
    pacers: Vec<SourcePacer>,
    next: Vec<usize>,
    beats: Vec<usize>,
    cycles: Cycles,
}

impl Bench {
    fn new(pacing: Pacing, beats: Vec<usize>, sinks: usize) -> Self {
        Self {
            pacing,
            pacers: vec![SourcePacer::default(); beats.len()],
            next: vec![0; beats.len()],
            cycles: (vec![Vec::new(); beats.len()], vec![Vec::new(); sinks]),
            beats,
        }
    }
    /// This cycle's valid of source `s`, and the index of its beat.
    fn offer(&mut self, s: usize, cycle: u64) -> (bool, usize) {
        let left = self.next[s] < self.beats[s];
        let valid = self.pacers[s].valid(&self.pacing, s, cycle, left);
        (valid, self.next[s].min(self.beats[s].saturating_sub(1)))
    }
    fn taken(&mut self, s: usize, cycle: u64) {
        self.cycles.0[s].push(cycle);
        self.next[s] += 1;
        self.pacers[s].taken();
    }
    fn ready(&self, sink: usize, cycle: u64) -> bool {
        sink_ready(&self.pacing, sink, cycle, false)
    }
}

/// Settles `uut` with its clock low (`clock` sets the clock port).
fn settle_low<B: Block>(uut: &mut B, cycle: u64, clock: impl Fn(&mut B)) {
    clock(uut);
    assert!(simulate(uut, 100), "did not settle at cycle {cycle}");
}

#[test]
fn the_fork_gives_every_branch_every_beat_at_the_graphs_cycles() {
    const N: usize = 3;
    let beats = 40;
    for p in PACINGS {
        let pacing = pacing(p);
        let mut g = Graph::new("fork");
        let x = g.source("x", (0..beats).map(|b| b % 5 == 4).collect()).unwrap();
        let outs: Vec<_> = (0..N).map(|i| g.link(&format!("out {i}"))).collect();
        g.add("fork", Fork::new(x, outs.clone())).unwrap();
        for (i, &o) in outs.iter().enumerate() {
            g.sink(&format!("out {i}"), o, beats).unwrap();
        }
        let expected = graph_cycles(&mut g, &pacing);
        let mut uut = StreamFork::<N>::default();
        uut.connect_all();
        let mut bench = Bench::new(pacing, vec![beats], N);
        let mut got: Vec<Vec<(u64, bool)>> = vec![Vec::new(); N];
        let mut cycle = 0;
        while got.iter().any(|g| g.len() < beats) {
            assert!(cycle < 10_000, "stuck");
            let (valid, b) = bench.offer(0, cycle);
            uut.in_valid.next = valid;
            uut.in_data.next = (b as u64 * 7 + 3).to_bits();
            uut.in_last.next = b % 5 == 4;
            let ready: Vec<bool> = (0..N).map(|i| bench.ready(i, cycle)).collect();
            for (port, &r) in uut.out_ready.iter_mut().zip(&ready) {
                port.next = r;
            }
            settle_low(&mut uut, cycle, |u| u.clock.next = false.into());
            if valid && uut.in_ready.val() {
                bench.taken(0, cycle);
            }
            for i in 0..N {
                if ready[i] && uut.out_valid[i].val() {
                    bench.cycles.1[i].push(cycle);
                    got[i].push((uut.out_data.val().to_u64(), uut.out_last.val()));
                }
            }
            uut.clock.next = true.into();
            assert!(simulate(&mut uut, 100));
            cycle += 1;
        }
        assert_eq!(bench.cycles, expected, "{p:?}");
        for branch in &got {
            let want: Vec<(u64, bool)> = (0..beats).map(|b| (b as u64 * 7 + 3, b % 5 == 4)).collect();
            assert_eq!(branch, &want, "{p:?}");
        }
    }
}

#[test]
fn the_serializer_gives_each_lane_in_order_at_the_graphs_cycles() {
    const L: usize = 4;
    let vectors = 12;
    for p in PACINGS {
        let pacing = pacing(p);
        let mut g = Graph::new("serialize");
        let x = g.source("x", vec![true; vectors]).unwrap();
        let y = g.link("y");
        g.add("serialize", Serialize::new(x, y, L as u32)).unwrap();
        g.sink("y", y, vectors * L).unwrap();
        let expected = graph_cycles(&mut g, &pacing);
        let mut uut = LaneSerializer::<L, { 16 * L }>::new();
        uut.connect_all();
        let mut bench = Bench::new(pacing, vec![vectors], 1);
        let mut got = Vec::new();
        let mut cycle = 0;
        let lane = |v: usize, l: usize| (v * 100 + l) as u64;
        while got.len() < vectors * L {
            assert!(cycle < 10_000, "stuck");
            let (valid, v) = bench.offer(0, cycle);
            let mut word = Bits::<{ 16 * L }>::default();
            for l in 0..L {
                word = word | (bit_cast::<{ 16 * L }, 16>(lane(v, l).to_bits()) << (16 * l as u64));
            }
            uut.in_valid.next = valid;
            uut.in_data.next = word;
            let ready = bench.ready(0, cycle);
            uut.out_ready.next = ready;
            settle_low(&mut uut, cycle, |u| u.clock.next = false.into());
            if valid && uut.in_ready.val() {
                bench.taken(0, cycle);
            }
            if ready && uut.out_valid.val() {
                assert!(uut.out_last.val());
                bench.cycles.1[0].push(cycle);
                got.push(uut.out_data.val().to_u64());
            }
            uut.clock.next = true.into();
            assert!(simulate(&mut uut, 100));
            cycle += 1;
        }
        assert_eq!(bench.cycles, expected, "{p:?}");
        let want: Vec<u64> = (0..vectors)
            .flat_map(|v| (0..L).map(move |l| lane(v, l)))
            .collect();
        assert_eq!(got, want, "{p:?}");
    }
}

#[test]
fn the_residual_add_is_the_models_bit_for_bit_at_the_graphs_cycles() {
    let q = |s: &str| s.parse::<QFormat>().unwrap();
    // (a, b, out): a right shift, an equal, and a finer output (left shift)
    let formats = [
        (q("Q3.12"), q("Q5.10"), q("Q4.11")),
        (q("Q1.14"), q("Q1.14"), q("Q1.14")),
        (q("Q8.7"), q("Q2.13"), q("Q0.15")),
        (q("Q9.6"), q("Q6.9"), q("Q9.6")),
    ];
    let beats = 60;
    for (k, &(fa, fb, fo)) in formats.iter().enumerate() {
        let mut rng = seeded(k as u64);
        // full-range values with the extremes first (they saturate in
        // every one of these formats), and small ones that never do
        let mut wide: Vec<(i64, i64)> = vec![(-32768, -32768), (32767, 32767), (-32768, 32767), (0, 0)];
        wide.extend((0..beats - 4).map(|_| (rng.gen_range(-32768..32768), rng.gen_range(-32768..32768))));
        let small: Vec<(i64, i64)> = (0..beats)
            .map(|_| (rng.gen_range(-64..64), rng.gen_range(-64..64)))
            .collect();
        for (values, saturates) in [(wide, true), (small, false)] {
            for p in PACINGS {
                let pacing = pacing(p);
                let mut g = Graph::new("residual add");
                let a = g.source("a", (0..beats).map(|b| b % 3 == 2).collect()).unwrap();
                let b = g.source("b", vec![false; beats]).unwrap();
                let (sum, y) = (g.link("sum"), g.link("y"));
                g.add("join", Join::new(a, b, sum)).unwrap();
                g.add(
                    "round",
                    Pipeline::new(sum, y, RESIDUAL_ADD_STAGES, Stalling::Lockstep),
                )
                .unwrap();
                g.sink("y", y, beats).unwrap();
                let expected = graph_cycles(&mut g, &pacing);
                let mut uut = ResidualAdd::new(fa, fb, fo);
                uut.connect_all();
                let mut bench = Bench::new(pacing, vec![beats, beats], 1);
                let mut got = Vec::new();
                let mut cycle = 0;
                while got.len() < beats {
                    assert!(cycle < 10_000, "stuck");
                    let (va, ia) = bench.offer(0, cycle);
                    let (vb, ib) = bench.offer(1, cycle);
                    uut.a_valid.next = va;
                    uut.a_data.next = (values[ia].0 as u16 as u64).to_bits();
                    uut.a_last.next = ia % 3 == 2;
                    uut.b_valid.next = vb;
                    uut.b_data.next = (values[ib].1 as u16 as u64).to_bits();
                    let ready = bench.ready(0, cycle);
                    uut.y_ready.next = ready;
                    settle_low(&mut uut, cycle, |u| u.clock.next = false.into());
                    if va && uut.a_ready.val() {
                        bench.taken(0, cycle);
                    }
                    if vb && uut.b_ready.val() {
                        bench.taken(1, cycle);
                    }
                    if ready && uut.y_valid.val() {
                        bench.cycles.1[0].push(cycle);
                        got.push((uut.y_data.val().to_u64() as u16 as i16 as i64, uut.y_last.val()));
                    }
                    uut.clock.next = true.into();
                    assert!(simulate(&mut uut, 100));
                    cycle += 1;
                }
                assert_eq!(bench.cycles, expected, "{fa} {fb} {fo} {p:?}");
                for (k, (&(a, b), &(y, last))) in values.iter().zip(&got).enumerate() {
                    assert_eq!(
                        y,
                        residual_add(a, fa, b, fb, fo),
                        "beat {k}: {a} {fa} + {b} {fb} -> {fo}"
                    );
                    assert_eq!(last, k % 3 == 2);
                }
                assert_eq!(
                    uut.saturated.val(),
                    saturates,
                    "the sticky status, {fa} {fb} {fo}"
                );
            }
        }
    }
}

/// Lints `verilog` with Verilator's -Wall; the only warnings allowed are
/// unused signals whose text contains one of `allowed`.
fn lint(name: &str, verilog: String, allowed: &[&str]) {
    let dir = std::env::temp_dir().join(format!("hwformer-layer-parts-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = format!("{name}.v");
    std::fs::write(dir.join(&file), verilog).unwrap();
    let verilator = hwformer_sim::verilator::verilator_program().unwrap();
    let out = std::process::Command::new(verilator)
        .current_dir(&dir)
        .args([
            "--lint-only",
            "-Wall",
            "-Wno-fatal",
            "-Wno-WIDTH",
            "-Wno-DECLFILENAME",
            &file,
        ])
        .output()
        .expect("verilator runs");
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{text}");
    for w in text.lines().filter(|l| l.starts_with("%Warning")) {
        assert!(
            w.starts_with("%Warning-UNUSEDSIGNAL") && allowed.iter().any(|a| w.contains(a)),
            "unexpected lint warning in {name}: {w}\n{text}"
        );
    }
}

#[test]
fn the_layer_parts_lint_clean_on_verilator() {
    let mut memory = hwformer_hdl::sequence_memory::SequenceMemoryUnit::<4, 64, 128>::new(5, 3);
    memory.connect_all();
    // the ignored input tlasts, and the stores' 16-bit addresses wider
    // than these 15 words need
    lint(
        "sequence_memory",
        hwformer_hdl::export::verilog("sequence_memory", &memory).unwrap(),
        &["_tlast'", "'read_address'[15:4]", "'write_address'[15:4]"],
    );
    let mut fork = StreamFork::<4>::default();
    fork.connect_all();
    lint(
        "stream_fork",
        hwformer_hdl::export::verilog("stream_fork", &fork).unwrap(),
        &[],
    );
    let mut serializer = LaneSerializer::<8, 128>::new();
    serializer.connect_all();
    lint(
        "lane_serializer",
        hwformer_hdl::export::verilog("lane_serializer", &serializer).unwrap(),
        &[],
    );
    let q = |s: &str| s.parse::<QFormat>().unwrap();
    let mut add = ResidualAdd::new(q("Q3.12"), q("Q5.10"), q("Q4.11"));
    add.connect_all();
    // inside the shared rounder: the 18-bit clamp's flag (the 16-bit
    // saturation gives `clipped`) and the bit the halving drops
    lint(
        "residual_add",
        hwformer_hdl::export::verilog("residual_add", &add).unwrap(),
        &["'clamp$clipped'", "'halved'[0]"],
    );
}
