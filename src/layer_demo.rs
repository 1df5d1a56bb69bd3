//! The main job's section on the layer blocks: a linear layer, an FFN, the
//! same FFN with ternary weights and a layer norm, each written as a
//! configuration file, exported with its weights file, checked on
//! Verilator against the integer model and the handshake graph, and
//! synthesized with yosys; and the layer norm's error across input spreads
//! at d_model = 384.

use crate::config::BlockConfig;
use crate::sim_command::{self, checked_pacing, SimArgs};
use hwformer_bitstreams::text_table::TextTable;
use hwformer_bitstreams::yosys::{synthesize, Family};
use hwformer_hdl::manifest::Manifest;
use hwformer_sim::session::{simulate, Backend, SimRequest};
use hwformer_sim::timing::ffn_depth_search;
use hwformer_sim::workload::WorkloadSize;
use std::path::Path;
use std::process::ExitCode;

/// The layer blocks the main job builds: a file name and its configuration.
const LAYER_CONFIGS: [(&str, &str); 4] = [
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
    (
        "ternary_ffn",
        "block = \"ternary_ffn\"\nd_model = 16\nd_ff = 64\nlanes = 4\nactivation = \"gelu\"\n\n\
         [weights]\nseed = 7\n\n[sim]\nqueries = 8\n",
    ),
    (
        "layernorm",
        "block = \"layernorm\"\nd_model = 16\neps = 1e-5\n\n[weights]\nseed = 7\n\n[sim]\nqueries = 16\n",
    ),
];

/// Writes, checks and synthesizes each layer block under `out`; prints a
/// table of cycles per token, error and resources.
pub fn run(
    out: &Path,
    seed: u64,
    synthesis: &mut Vec<crate::report::SynthesisRow>,
) -> Result<ExitCode, String> {
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
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    for (name, text) in LAYER_CONFIGS {
        let config = out.join(format!("{name}.toml"));
        std::fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
        println!(
            "\n{} (hwformer sim --config {}):\n\n{}\n",
            name,
            config.display(),
            text.trim_end()
        );
        let dir = out.join(name);
        crate::progress::note!("building the Verilator model (cached after the first run) ...");
        let verdict = sim_command::sim(&SimArgs::from_config(config, seed).with_out(dir.clone()))?;
        if verdict != ExitCode::SUCCESS {
            status = verdict;
        }
        let manifest = Manifest::read(&dir.join(format!("{name}.json")))?;
        crate::progress::note!("synthesizing {} with yosys ...", manifest.module);
        let s =
            synthesize(&dir, &manifest.verilog, &manifest.module, Family::Xc7).map_err(|e| e.to_string())?;
        let size = match name {
            "layernorm" => manifest.number("d_model")?.to_string(),
            "linear" => format!("{} x {}", manifest.number("d_in")?, manifest.number("d_out")?),
            _ => format!("{} x {}", manifest.number("d_model")?, manifest.number("d_ff")?),
        };
        synthesis.push(crate::report::SynthesisRow::new(name, &size, &s));
        let r = &s.resources;
        table.add_row([
            name.to_string(),
            size,
            manifest.number("lanes").map_or("-".into(), |l| l.to_string()),
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
    layer_norm_across_spreads(seed)?;
    let sized = hidden_fifo(out, seed)?;
    Ok(if sized == ExitCode::SUCCESS { status } else { sized })
}

/// The demo ffn's hidden FIFO sized by the handshake graph's search, then
/// built at d_ff, at that depth and one slot less and run on Verilator:
/// the depth keeps full throughput, one less costs the cycles the graph
/// said.
fn hidden_fifo(out: &Path, seed: u64) -> Result<ExitCode, String> {
    let base = out.join("ffn.toml");
    let config = BlockConfig::load(&base)?;
    let settings = config.layer_settings()?;
    let (d_model, d_ff, lanes) = hwformer_hdl::ffn::sizes(&settings)?;
    let tokens = config.sim.queries.unwrap_or(4);
    let pacing = checked_pacing(0.8, 0.8, seed)?;
    let start = std::time::Instant::now();
    let search =
        ffn_depth_search("ffn", (d_model, d_ff, lanes), tokens, &pacing, d_ff).map_err(|e| e.to_string())?;
    let found = search.fifos.first().ok_or("the ffn graph has no FIFO")?;
    println!(
        "\nthe ffn's hidden FIFO (hwformer dataflow min-depth --block ffn --config {} --queries {tokens} \
         --valid 0.8 --ready 0.8 --seed {seed}): depth {} of {d_ff} keeps full throughput ({} cycles; {} graph \
         runs in {:.3} s); the config key hidden_depth builds it\n",
        base.display(),
        found.full_throughput_depth,
        search.full_throughput_cycles,
        search.simulations,
        start.elapsed().as_secs_f64()
    );
    let mut table = TextTable::new([
        "hidden_depth",
        "graph cycles",
        "RTL cycles (Verilator, every handshake checked)",
    ]);
    let mut status = ExitCode::SUCCESS;
    let depth = found.full_throughput_depth;
    for (d, graph_cycles) in [
        (d_ff, Some(search.full_throughput_cycles)),
        (depth, Some(search.full_throughput_cycles)),
        (depth - 1, found.cycles_one_less),
    ] {
        if d == 0 {
            continue;
        }
        let mut sized = settings.clone();
        sized.hidden_depth = Some(d);
        let dir = out.join(format!("ffn_hidden{d}"));
        let built = hwformer_hdl::build_block_with("ffn", 0, &Default::default(), &sized)
            .map_err(|e| e.to_string())?;
        built.write(&dir).map_err(|e| e.to_string())?;
        crate::progress::note!("building the Verilator model of the ffn with hidden_depth {d} ...");
        let outcome = simulate(&SimRequest {
            dir,
            manifest: built.manifest,
            backend: Backend::Verilator,
            size: WorkloadSize {
                n: 1,
                queries: tokens,
                seed,
            },
            pacing,
            vcd: None,
            saif: None,
            build: Default::default(),
        })
        .map_err(|e| format!("ffn, hidden_depth {d}: {e}"))?;
        let same = graph_cycles == Some(outcome.cycles) && outcome.result.is_ok();
        if !same {
            status = ExitCode::FAILURE;
        }
        table.add_row([
            d.to_string(),
            graph_cycles.map_or("-".into(), |c| c.to_string()),
            format!("{}{}", outcome.cycles, if same { "" } else { "  MISMATCH" }),
        ]);
    }
    print!("{}", table.render());
    Ok(status)
}

/// The spreads of [`layer_norm_across_spreads`]; each is drawn in a
/// narrow band (1 % wide) around the value.
pub const LAYER_NORM_SIGMAS: [f64; 7] = [1e-3, 1e-2, 0.1, 1.0, 2.0, 4.0, 8.0];

/// Layer norm at d_model = 384 (MiniLM's width): the integer model's
/// error against float64 for tokens `mean + N(0, sigma)`, sigma from 1e-3
/// to 8, in Q3.12, Q5.10 and Q7.8 inputs (a spread whose 4 sigma leave the
/// format's range is not drawn: the input would saturate).
pub fn layer_norm_across_spreads(seed: u64) -> Result<(), String> {
    use hwformer_quant::accuracy::layer_norm_errors_at;
    use hwformer_quant::QFormat;
    let formats = [
        QFormat::signed(16, 12),
        QFormat::signed(16, 10),
        QFormat::signed(16, 8),
    ]
    .into_iter()
    .collect::<Result<Vec<_>, _>>()
    .map_err(|e| e.to_string())?;
    let mut table = TextTable::new([
        "sigma",
        "Q3.12 in: max error",
        "bound",
        "Q5.10 in: max error",
        "bound",
        "Q7.8 in: max error",
        "bound",
    ]);
    for sigma in LAYER_NORM_SIGMAS {
        let mut row = vec![format!("{sigma}")];
        for &input in &formats {
            if 1.0 + 4.0 * sigma > input.max_value() {
                row.extend(["(saturates)".to_string(), String::new()]);
                continue;
            }
            let e =
                layer_norm_errors_at(384, input, sigma..sigma * 1.01, 32, seed).map_err(|e| e.to_string())?;
            row.extend([format!("{:.2e}", e.max_abs), format!("{:.2e}", e.bound)]);
        }
        table.add_row(row);
    }
    println!(
        "\nlayer norm, d_model = 384, Q3.12 out, eps 1e-5, 32 tokens mean + N(0, sigma) per row (mean in [-1, 1]), \
         against float64 on the same quantized gamma and beta:\n\n{}",
        table.render()
    );
    Ok(())
}
