//! The main job's section on the layer blocks: a linear layer and an FFN,
//! each written as a configuration file, exported with its weights file,
//! checked on Verilator against the integer model and the handshake graph,
//! and synthesized with yosys.

use crate::sim_command::{self, SimArgs};
use hwformer_bitstreams::text_table::TextTable;
use hwformer_bitstreams::yosys::{synthesize, Family};
use hwformer_hdl::manifest::Manifest;
use std::path::Path;
use std::process::ExitCode;

/// The layer blocks the main job builds: a file name and its configuration.
const LAYER_CONFIGS: [(&str, &str); 2] = [
    (
        "linear",
        "block = \"linear\"\nd_in = 16\nd_out = 16\nlanes = 4\nactivation = \"gelu\"\n\n\
         [weights]\nseed = 7\n\n[sim]\nqueries = 16\n",
    ),
    (
        "ffn",
        "block = \"ffn\"\nd_model = 16\nd_ff = 64\nlanes = 4\nactivation = \"gelu\"\n\n\
         [weights]\nseed = 7\n\n[sim]\nqueries = 8\n",
    ),
];

/// Writes, checks and synthesizes each layer block under `out`; prints a
/// table of cycles per token, error and resources.
pub fn run(out: &Path, seed: u64) -> Result<ExitCode, String> {
    let mut table = TextTable::new([
        "block",
        "size",
        "lanes",
        "cycles/token",
        "error max / RMS",
        "bound",
        "LUT",
        "FF",
        "DSP",
        "RAMB18",
        "RAMB36",
        "Fmax estimate",
    ]);
    let mut status = ExitCode::SUCCESS;
    for (name, text) in LAYER_CONFIGS {
        let config = out.join(format!("{name}.toml"));
        std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
        std::fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
        println!(
            "\n{} (hwformer sim --config {}):\n\n{}\n",
            name,
            config.display(),
            text.trim_end()
        );
        let dir = out.join(name);
        eprintln!("building the Verilator model (cached after the first run) ...");
        let verdict = sim_command::sim(&SimArgs::from_config(config, seed).with_out(dir.clone()))?;
        if verdict != ExitCode::SUCCESS {
            status = verdict;
        }
        let manifest_file = dir.join(format!("{name}.json"));
        let manifest: Manifest = std::fs::read_to_string(&manifest_file)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            .map_err(|e| format!("{}: {e}", manifest_file.display()))?;
        eprintln!("synthesizing {} with yosys ...", manifest.module);
        let s =
            synthesize(&dir, &manifest.verilog, &manifest.module, Family::Xc7).map_err(|e| e.to_string())?;
        let size = if name == "ffn" {
            format!("{} x {}", manifest.number("d_model")?, manifest.number("d_ff")?)
        } else {
            format!("{} x {}", manifest.number("d_in")?, manifest.number("d_out")?)
        };
        let r = &s.resources;
        table.add_row([
            name.to_string(),
            size,
            manifest.number("lanes")?.to_string(),
            manifest.number("cycles_per_token")?.to_string(),
            format!(
                "{:.2e} / {:.2e}",
                manifest.number("error_measured_max")?,
                manifest.number("error_measured_rms")?
            ),
            manifest
                .error_bound
                .as_ref()
                .map_or("none".into(), |b| format!("{:.2e}", b.value)),
            r.luts.to_string(),
            r.flip_flops.to_string(),
            r.dsp.to_string(),
            r.ramb18.to_string(),
            r.ramb36.to_string(),
            format!("{:.0} MHz", s.logic_depth.fmax_mhz),
        ]);
    }
    println!(
        "\n{}\nresources: yosys synth_xilinx (xc7); error: max and RMS vs float64 over 64 random tokens at \
         export, and the manifest's bound; Fmax: {} (an estimate from the netlist, not a timing analysis)",
        table.render(),
        Family::Xc7.delays().name
    );
    println!(
        "Verilog, manifests and weights files (safetensors): {}",
        out.display()
    );
    Ok(status)
}
