//! A fixed workload for profilers: the streaming graph, d = 1, fixed
//! point, 65 536 keys, outputs counted not checked (the benchmark's
//! `d1_fixed_unchecked`), run `ITERS` times (default 8), every channel of
//! `CAPACITY` elements (default: the graph's, 2). With `model` as
//! the argument it runs the same arithmetic without the simulator, to
//! tell the two costs apart:
//!
//! ```text
//! cargo build --release -p hwformer-dataflow --example streaming_profile
//! valgrind --tool=callgrind target/release/examples/streaming_profile [model]
//! ```

use hwformer_dataflow::sdpa::arithmetic::{Arithmetic, FixedArithmetic};
use hwformer_dataflow::sdpa::{NumberFormat, SdpaRun, Variant};
use hwformer_quant::integer::sdpa::{SdpaConfig, StreamingSdpa};
use std::rc::Rc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n = 65536;
    let mut run = SdpaRun::new(Variant::Streaming, n, 1);
    run.format = NumberFormat::Fixed;
    run.check = false;
    run.fifo_depth = std::env::var("CAPACITY").ok().and_then(|s| s.parse().ok());
    let inputs = run.inputs()?;
    let iterations: usize = std::env::var("ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let model_only = std::env::args().nth(1).as_deref() == Some("model");
    let model = Rc::new(StreamingSdpa::new(SdpaConfig::with_d(1, n))?);
    let arithmetic = FixedArithmetic::new(inputs[0].clone(), model);
    let mut checksum = 0i64;
    for _ in 0..iterations {
        if model_only {
            let mut state = arithmetic.new_state();
            for k in 0..n {
                let s = arithmetic.score(0, k);
                arithmetic.accumulate(&mut state, s, k);
            }
            checksum += arithmetic.finish(&state)[0];
        } else {
            checksum += run.simulate_on(&inputs)?.cycles as i64;
        }
    }
    println!("{checksum}");
    Ok(())
}
