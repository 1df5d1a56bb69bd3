//! One long run of a block's handshake graph, for instruction counts:
//! `valgrind --tool=callgrind target/release/examples/handshake_profile
//! BLOCK D N QUERIES VALID READY` (defaults: sdpa 1 256 4096 1 1). Prints
//! the simulated cycles, to divide the instruction count by.

use hwformer_dataflow::handshake::RunOptions;
use hwformer_dataflow::pacing::Pacing;
use hwformer_sim::timing::{block_graph_for, boundary_beats};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let block = arg(0, "sdpa");
    let number = |i: usize, default: &str| -> f64 { arg(i, default).parse().expect("a number") };
    let (d, n, queries) = (
        number(1, "1") as usize,
        number(2, "256") as usize,
        number(3, "4096") as usize,
    );
    let pacing = Pacing {
        valid_probability: number(4, "1"),
        ready_probability: number(5, "1"),
        seed: 1,
    };
    let description = block_graph_for(&block, d).expect("a block");
    let (inputs, expected) = boundary_beats(&block, n, queries).expect("sizes");
    let mut graph = description.build(&inputs, &expected).expect("a graph");
    let trace = graph.run(&pacing, RunOptions::default()).expect("runs");
    println!("{block}: {} cycles", trace.cycles);
}
