//! `hwformer layer gen|sim`: a whole encoder layer of a preset as one
//! Verilog design (seeded weights, formats calibrated on seeded tokens,
//! FIFOs sized on the layer's handshake graph), and its check on Verilator
//! or Icarus against the int16 layer model, the float layer and the graph.

use clap::{Args, Subcommand, ValueEnum};
use hwformer_hdl::manifest::Manifest;
use hwformer_sim::layer::{check_layer, LayerDesign, SEARCH_SEQUENCES};
use hwformer_sim::session::Backend;
use hwformer_sim::testbench::Pacing;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The layer commands.
#[derive(Subcommand)]
pub enum LayerCommand {
    /// Write a preset's encoder layer: Verilog, its weights' memory files
    /// and a manifest, the FIFOs at the depths the layer graph finds.
    Gen(LayerArgs),
    /// Write it and run it on a simulator: every output against the int16
    /// layer model bit for bit and against float, every handshake against
    /// the layer graph.
    Sim(LayerSimArgs),
    /// Write it and synthesize it with yosys: resources and an Fmax
    /// estimate (from the netlist, not a timing analysis).
    Synth(LayerSynthArgs),
}

/// The layer through yosys.
#[derive(Args)]
pub struct LayerSynthArgs {
    #[command(flatten)]
    layer: LayerArgs,
    /// Target family.
    #[arg(long, value_enum, default_value = "xc7")]
    family: crate::xilinx_command::FamilyArg,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Which layer and where.
#[derive(Args)]
pub struct LayerArgs {
    /// The preset: tiny (the only one with hardware yet), jet-tagging,
    /// minilm-layer.
    #[arg(long, default_value = "tiny")]
    preset: String,
    /// Seed of the weights (and of the calibration and evaluation tokens).
    #[arg(long, default_value_t = 7)]
    weights_seed: u64,
    /// Output folder (default target/hwformer-layer/<preset>).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// A simulator for the layer.
#[derive(Clone, Copy, ValueEnum)]
enum LayerBackend {
    /// Verilator, compiled at run time and cached.
    Verilator,
    /// Icarus Verilog (an independent simulator; slower).
    Iverilog,
}

/// The layer on a simulator.
#[derive(Args)]
pub struct LayerSimArgs {
    #[command(flatten)]
    layer: LayerArgs,
    /// The simulator.
    #[arg(long, value_enum, default_value = "verilator")]
    backend: LayerBackend,
    /// Sequences run through, back to back.
    #[arg(long, default_value_t = 2)]
    sequences: usize,
    /// Probability that the input offers an element in a cycle.
    #[arg(long, default_value_t = 1.0)]
    valid: f64,
    /// Probability that the output is taken in a cycle.
    #[arg(long, default_value_t = 1.0)]
    ready: f64,
    /// Seed of the gaps and back-pressure.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Runs a layer command.
pub fn layer(command: &LayerCommand) -> Result<ExitCode, String> {
    match command {
        LayerCommand::Gen(args) => generate(args).map(|_| ExitCode::SUCCESS),
        LayerCommand::Sim(args) => simulate(args),
        LayerCommand::Synth(args) => {
            let (_, dir, manifest) = generate(&args.layer)?;
            let family = args.family.family();
            eprintln!(
                "synthesizing {} for {} with yosys ...",
                manifest.module,
                family.name()
            );
            let s = hwformer_bitstreams::yosys::synthesize(&dir, &manifest.verilog, &manifest.module, family)
                .map_err(|e| e.to_string())?;
            crate::xilinx_command::print_synthesis(&manifest.module, family, &s, args.json)
        }
    }
}

/// Builds and writes the layer; prints what it wrote.
fn generate(args: &LayerArgs) -> Result<(LayerDesign, PathBuf, Manifest), String> {
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("target/hwformer-layer").join(&args.preset));
    let started = Instant::now();
    let design = LayerDesign::new(&args.preset, args.weights_seed).map_err(|e| e.to_string())?;
    let manifest = design.write(&dir).map_err(|e| e.to_string())?;
    let s = design.plan.shape;
    let d = design.depths;
    println!(
        "layer {}: d_model {}, {} heads of {}, d_ff {}, {} lanes, {} tokens a sequence; module {}",
        design.preset,
        s.d_model,
        s.heads,
        s.head_size,
        design.plan.d_ff,
        design.plan.lanes,
        s.tokens,
        manifest.module
    );
    println!(
        "FIFO depths from the layer graph (full throughput over {SEARCH_SEQUENCES} sequences): residual 1 {}, ffn hidden {}, residual 2 {}",
        d.residual1, d.hidden, d.residual2
    );
    println!(
        "wrote {} and {} memory files into {} ({:.1} s)",
        manifest.verilog,
        manifest.memories.len(),
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok((design, dir, manifest))
}

/// The main job's section: the tiny layer written under `out` and run
/// on Verilator at full speed and under gaps and back-pressure.
pub fn demo(out: &Path) -> Result<ExitCode, String> {
    let mut status = ExitCode::SUCCESS;
    for (valid, ready, seed) in [(1.0, 1.0, 1), (0.7, 0.8, 2)] {
        let args = LayerSimArgs {
            layer: LayerArgs {
                preset: "tiny".into(),
                weights_seed: 7,
                out: Some(out.to_path_buf()),
            },
            backend: LayerBackend::Verilator,
            sequences: 2,
            valid,
            ready,
            seed,
        };
        if simulate(&args)? != ExitCode::SUCCESS {
            status = ExitCode::FAILURE;
        }
    }
    Ok(status)
}

fn simulate(args: &LayerSimArgs) -> Result<ExitCode, String> {
    if !(1..=64).contains(&args.sequences) {
        return Err(format!("--sequences must be 1 to 64, not {}", args.sequences));
    }
    for (name, p) in [("--valid", args.valid), ("--ready", args.ready)] {
        if !(p > 0.0 && p <= 1.0) {
            return Err(format!("{name} must be above 0 and at most 1, not {p}"));
        }
    }
    let (design, dir, manifest) = generate(&args.layer)?;
    let (backend, name) = match args.backend {
        LayerBackend::Verilator => (Backend::Verilator, "verilator"),
        LayerBackend::Iverilog => (Backend::Icarus, "iverilog"),
    };
    let pacing = Pacing {
        valid_probability: args.valid,
        ready_probability: args.ready,
        seed: args.seed,
    };
    match check_layer(&design, &dir, &manifest, backend, args.sequences, pacing) {
        Ok(v) => {
            println!(
                "PASS layer {} on {name}: {} output elements bit-exact with the int16 layer model, every handshake \
                 at the layer graph's cycle; {} cycles ({} sequences, valid {} ready {} seed {}); against the float \
                 layer max error {:.3e}, worst token cosine {:.6}{}; run {:.2} s, build {:.1} s",
                design.preset,
                v.beats,
                v.cycles,
                args.sequences,
                args.valid,
                args.ready,
                args.seed,
                v.float_error.max,
                v.float_error.worst_token_cosine,
                if v.saturated { "; a value saturated (status)" } else { "" },
                v.seconds,
                v.build_seconds
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("FAIL layer {} on {name}: {e}", design.preset);
            Ok(ExitCode::FAILURE)
        }
    }
}
