//! The main job's section on binary attention: one head (d = 8) for code
//! lengths of 8, 16, 32 and 64 bits, each written as a configuration file,
//! checked on Verilator against the integer model and the handshake graph
//! and synthesized with yosys, beside how closely each code length (and
//! int16 sdpa) follows float attention at d = 32, N = 128.

use crate::sim_command::{self, SimArgs};
use hwformer_bitstreams::text_table::TextTable;
use hwformer_bitstreams::yosys::{synthesize, Family};
use hwformer_hdl::manifest::Manifest;
use hwformer_quant::accuracy::attention_vs_float;
use std::path::Path;
use std::process::ExitCode;

/// Code lengths the section builds.
pub const CODE_BITS: [usize; 4] = [8, 16, 32, 64];

/// Head size of the RTL the section builds.
const RTL_D: usize = 8;

/// Queries of the accuracy comparison (d = 32, N = 128).
const QUERIES: usize = 64;

/// Writes, checks and synthesizes binary attention at each of
/// [`CODE_BITS`] under `out`; prints one table.
pub fn run(
    out: &Path,
    seed: u64,
    synthesis: &mut Vec<crate::report::SynthesisRow>,
) -> Result<ExitCode, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut table = TextTable::new([
        "head",
        "vs float attention: max / RMS error",
        "cosine mean / min",
        "RTL d = 8: LUT",
        "FF",
        "DSP",
        "Fmax estimate",
    ]);
    let agreement = |bits| {
        attention_vs_float(32, 128, bits, QUERIES, seed).map_err(|e| format!("accuracy, bits {bits:?}: {e}"))
    };
    let mut status = ExitCode::SUCCESS;
    for bits in CODE_BITS {
        let name = format!("binary_attention_b{bits}");
        let config = out.join(format!("{name}.toml"));
        let text = format!(
            "block = \"binary_attention\"\nd = {RTL_D}\nbits = {bits}\n\n[weights]\nseed = 7\n\n[sim]\nn = 64\nqueries = 4\n"
        );
        std::fs::write(&config, &text).map_err(|e| format!("{}: {e}", config.display()))?;
        println!("\n{name} (hwformer sim --config {}):", config.display());
        let dir = out.join(&name);
        let verdict = sim_command::sim(&SimArgs::from_config(config, seed).with_out(dir.clone()))?;
        if verdict != ExitCode::SUCCESS {
            status = verdict;
        }
        let manifest = Manifest::read(&dir.join("binary_attention.json"))?;
        crate::progress::note!("synthesizing {} with yosys ...", manifest.module);
        let s =
            synthesize(&dir, &manifest.verilog, &manifest.module, Family::Xc7).map_err(|e| e.to_string())?;
        synthesis.push(crate::report::SynthesisRow::new(
            "binary_attention",
            &format!("d = {RTL_D}, {bits} bits"),
            &s,
        ));
        let a = agreement(Some(bits))?;
        table.add_row([
            format!("binary, {bits} bits"),
            format!("{:.3} / {:.3}", a.max_abs, a.rms),
            format!("{:.4} / {:.4}", a.mean_cosine, a.min_cosine),
            s.resources.luts.to_string(),
            s.resources.flip_flops.to_string(),
            s.resources.dsp.to_string(),
            format!("{:.0} MHz", s.logic_depth.fmax_mhz),
        ]);
    }
    let a = agreement(None)?;
    table.add_row([
        "sdpa (int16)".to_string(),
        format!("{:.4} / {:.4}", a.max_abs, a.rms),
        format!("{:.5} / {:.5}", a.mean_cosine, a.min_cosine),
        "(section 4)".into(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    println!(
        "\n{}\naccuracy: {QUERIES} queries of 128 keys, d = 32, q, k, v ~ N(0, 1) in Q3.12, against f64 \
         softmax(q.k / sqrt(d)) v (the approximation binarizing makes; each block's own bound against its \
         float reference is in its manifest); resources: yosys synth_xilinx (xc7) of the d = {RTL_D} head; \
         Fmax: {} (an estimate from the netlist, not a timing analysis)",
        table.render(),
        Family::Xc7.delays().name
    );
    Ok(status)
}
