use hwformer_dataflow::sdpa::*;
use std::time::Instant;
fn main() {
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(1 << 22);
    let mut r = SdpaRun::new(Variant::Streaming, n, 1);
    r.format = if std::env::var("FIXED").is_ok() { NumberFormat::Fixed } else { NumberFormat::F64 }; r.check = std::env::args().nth(3).is_none(); r.fifo_depth = std::env::args().nth(2).map(|s| s.parse().unwrap());
    let t = Instant::now();
    let rep = r.simulate().unwrap();
    let s = t.elapsed().as_secs_f64();
    println!("{} cycles in {s:.2}s = {:.1} M cycles/s", rep.cycles, rep.cycles as f64 / s / 1e6);
}
