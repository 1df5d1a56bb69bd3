//! `hwformer`: the command-line program over the workspace's crates.

use clap::{Args, Parser, Subcommand, ValueEnum};
use hwformer_bitstreams::yosys::{synthesize, Family};
use hwformer_dataflow::pacing::Pacing;
use hwformer_dataflow::plot;
use hwformer_dataflow::sdpa::min_depth::{min_depths, DepthReport};
use hwformer_dataflow::sdpa::{NumberFormat, SdpaReport, SdpaRun, Variant};
use hwformer_dataflow::DataflowError;
use hwformer_quant::accuracy::AccuracyReport;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

mod binary_demo;
mod config;
mod dataflow_command;
mod layer_command;
mod layer_config;
mod layer_demo;
mod model_command;
mod progress;
mod report;
mod report_plots;
mod sim_command;
mod sweep;
mod sweep_plot;
mod xilinx_command;

/// Transformer blocks as verified fixed-point hardware.
#[derive(Parser)]
#[command(name = "hwformer", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The main job on the built-in default design (what `make demo` runs):
    /// every block checked, the layer built, checked and synthesized, and
    /// a report (report.md, report.json, plots) in --out.
    Run {
        /// Seed of every random input.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Folder of the report and of every file the run writes (replaced
        /// only when the run finishes; the run works in <out>.partial).
        #[arg(long, default_value = "target/hwformer-demo")]
        out: PathBuf,
        /// A layer configuration (TOML, docs/LAYER.md) for the layer
        /// sections (default the tiny preset).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Measure every integer model and table against its f64 reference.
    Quant {
        /// Seed of every random input.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Dataflow models: block handshake graphs, attention graphs, FIFO depths.
    #[command(subcommand)]
    Dataflow(DataflowCommand),
    /// Run an exported block on a simulator and check every output beat.
    Sim(sim_command::SimArgs),
    /// Xilinx reports (Vivado utilization, timing, power; HLS csynth).
    #[command(subcommand)]
    Report(xilinx_command::ReportCommand),
    /// Latency, throughput and energy of a block, each figure with its source.
    Estimate(xilinx_command::EstimateArgs),
    /// Synthesize a block with yosys: resources and an Fmax estimate.
    Synth(xilinx_command::SynthArgs),
    /// Write a block's Vivado flow: Verilog, XDC, batch TCL and run script.
    Vivado(xilinx_command::VivadoArgs),
    /// A real model (all-MiniLM-L6-v2): run, calibrate formats, compare
    /// variants, one head through the RTL.
    #[command(subcommand)]
    Model(model_command::ModelCommand),
    /// A whole encoder layer of a preset as one design: write it, or write
    /// and check it on a simulator.
    #[command(subcommand)]
    Layer(layer_command::LayerCommand),
    /// A design-space sweep: a plan's points exported, checked on
    /// Verilator, synthesized with yosys, on local cores or a Slurm job
    /// array; results.csv, results.json and a Pareto plot.
    Sweep(sweep::SweepArgs),
    /// Export a block as Verilog with its JSON manifest.
    Gen {
        /// Which block (or the config's).
        #[arg(value_enum, required_unless_present = "config")]
        block: Option<BlockArg>,
        /// Head dimension of sdpa: 1, 2, 4, 8, 16, 32 or 64; depth of fifo
        /// (1 to 4096) (default 8).
        #[arg(long, alias = "depth")]
        d: Option<usize>,
        /// A block configuration (TOML; see docs/BLOCKS.md).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Most keys a query of sdpa and binary_attention, 1 to 1048576
        /// (or the config's n_max; default 256).
        #[arg(long)]
        n_max: Option<usize>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum BlockArg {
    /// The pipelined exponential unit (Q5.10 in, UQ1.15 and UQ1.23 out).
    Exp,
    /// Row softmax, rows of up to 256 Q5.10 logits, UQ0.16 probabilities.
    Softmax,
    /// Streaming attention for one head, d lanes, up to 256 keys per query.
    Sdpa,
    /// A registered stream FIFO of int16 elements, `--d` slots deep.
    Fifo,
    /// One linear layer y = act(W x + b) for a token, int16 weights in ROM,
    /// P lanes (sizes, lanes, weights from --config).
    Linear,
    /// The FFN y = W2 act(W1 x + b1) + b2, two linear engines (--config).
    Ffn,
    /// The BitNet b1.58 FFN: ternary weights, 8-bit absmax activations,
    /// adders in the lanes (--config, as ffn).
    #[value(name = "ternary_ffn")]
    TernaryFfn,
    /// Layer normalization of a token, one element a cycle (d_model, eps,
    /// gamma and beta from --config).
    Layernorm,
    /// Binarized attention for one head: ±1 random projection to `bits`
    /// codes (--config, default 32), XNOR-popcount scores, sdpa's online
    /// softmax (--d lanes).
    #[value(name = "binary_attention")]
    BinaryAttention,
}

impl BlockArg {
    pub fn name(self) -> &'static str {
        match self {
            Self::Exp => "exp",
            Self::Softmax => "softmax",
            Self::Sdpa => "sdpa",
            Self::Fifo => "fifo",
            Self::Linear => "linear",
            Self::Ffn => "ffn",
            Self::TernaryFfn => "ternary_ffn",
            Self::Layernorm => "layernorm",
            Self::BinaryAttention => "binary_attention",
        }
    }
}

#[derive(Subcommand)]
enum DataflowCommand {
    /// The exp unit's handshake graph under seeded gaps and back-pressure.
    Exp(dataflow_command::GraphArgs),
    /// The softmax block's handshake graph (rows of exactly --n logits).
    Softmax(dataflow_command::GraphArgs),
    /// The sdpa block's handshake graph (--d lanes, queries of --n keys).
    Sdpa(dataflow_command::GraphArgs),
    /// The fifo block's handshake graph (--d slots).
    Fifo(dataflow_command::GraphArgs),
    /// Simulate an attention graph with its arithmetic: cycles, throughput,
    /// FIFO peaks, errors (naive or O(1)-memory streaming, any N).
    Attention(SdpaArgs),
    /// Find each channel's smallest full-throughput and deadlock-free depth
    /// (an attention graph, or with --block fifo the fifo's handshake graph).
    MinDepth(MinDepthArgs),
}

#[derive(Args)]
struct MinDepthArgs {
    #[command(flatten)]
    attention: SdpaArgs,
    /// Search a block's handshake graph instead: `fifo` (--n, --queries,
    /// --seed and --json apply) or `ffn`'s hidden FIFO (--config gives the
    /// sizes, --queries the tokens).
    #[arg(long, conflicts_with_all = ["variant", "d", "heads", "fifo_depth", "format", "plot"])]
    block: Option<BlockArg>,
    /// With --block ffn: the block's configuration file.
    #[arg(long, requires = "block")]
    config: Option<PathBuf>,
    /// With --block: probability that the source offers a beat in a cycle.
    #[arg(long, default_value_t = 1.0, requires = "block")]
    valid: f64,
    /// With --block: probability that the sink is ready in a cycle.
    #[arg(long, default_value_t = 1.0, requires = "block")]
    ready: f64,
    /// With --block or --layer: the depth every search starts from
    /// (default 256; ffn: d_ff; a layer: two sequences of tokens).
    #[arg(long)]
    ample: Option<usize>,
    /// Search a whole encoder layer's FIFOs instead (its handshake graph:
    /// the blocks' graphs joined): a preset, tiny, small, jet-tagging or
    /// minilm-layer, or a layer configuration file (.toml).
    #[arg(long, conflicts_with_all = ["block", "variant", "d", "heads", "fifo_depth", "format", "plot"])]
    layer: Option<String>,
    /// With --layer: sequences run through the layer in each simulation.
    #[arg(long, default_value_t = 2, requires = "layer")]
    sequences: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum VariantArg {
    Naive,
    Streaming,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    F64,
    Fixed,
}

#[derive(Args)]
struct SdpaArgs {
    /// Which graph.
    #[arg(long, value_enum, default_value = "streaming")]
    variant: VariantArg,
    /// Keys per query.
    #[arg(long, default_value_t = 1024)]
    n: usize,
    /// Head dimension (1 to 128).
    #[arg(long, default_value_t = 16)]
    d: usize,
    /// Independent heads.
    #[arg(long, default_value_t = 1)]
    heads: usize,
    /// Queries per head.
    #[arg(long, default_value_t = 1)]
    queries: usize,
    /// Capacity of every channel (default: the smallest with full throughput).
    #[arg(long)]
    fifo_depth: Option<usize>,
    /// Numbers in the graph.
    #[arg(long, value_enum, default_value = "f64")]
    format: FormatArg,
    /// Seed of the inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Also draw memory and cycles against N for both graphs (SVG and PNG:
    /// the path with each extension).
    #[arg(long)]
    plot: Option<PathBuf>,
}

impl SdpaArgs {
    fn run(&self) -> SdpaRun {
        let mut run = SdpaRun::new(
            match self.variant {
                VariantArg::Naive => Variant::Naive,
                VariantArg::Streaming => Variant::Streaming,
            },
            self.n,
            self.d,
        );
        run.heads = self.heads;
        run.queries = self.queries;
        run.fifo_depth = self.fifo_depth;
        run.format = match self.format {
            FormatArg::F64 => NumberFormat::F64,
            FormatArg::Fixed => NumberFormat::Fixed,
        };
        run.seed = self.seed;
        // the RTL block's stage counts where it is built for this d
        run.latencies = hwformer_sim::timing::sdpa_latencies(self.d).ok();
        run
    }
}

fn main() -> ExitCode {
    // a closed pipe (`hwformer ... | head`) ends the program quietly, as
    // for other command-line tools, instead of a panic in println!
    #[cfg(unix)]
    // SAFETY: restoring the default action of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("hwformer: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Run { seed, out, config } => demo(seed, &out, config.as_deref()),
        Command::Quant { seed, json } => quant(seed, json),
        Command::Dataflow(DataflowCommand::Exp(args)) => dataflow_command::run_block("exp", &args),
        Command::Dataflow(DataflowCommand::Softmax(args)) => dataflow_command::run_block("softmax", &args),
        Command::Dataflow(DataflowCommand::Sdpa(args)) => dataflow_command::run_block("sdpa", &args),
        Command::Dataflow(DataflowCommand::Fifo(args)) => dataflow_command::run_block("fifo", &args),
        Command::Dataflow(DataflowCommand::Attention(args)) => dataflow_sdpa(&args),
        Command::Dataflow(DataflowCommand::MinDepth(args))
            if args.ample.is_some() && args.block.is_none() && args.layer.is_none() =>
        {
            Err("--ample goes with --block or --layer (the attention graphs search their channels from their own bounds)".into())
        }
        Command::Dataflow(DataflowCommand::MinDepth(args)) => match args.block {
            None if args.layer.is_some() => dataflow_command::min_depth_layer(
                args.layer.as_deref().unwrap_or_default(),
                args.sequences,
                args.ample,
                args.attention.json,
            )
            .map(|_| ExitCode::SUCCESS),
            None => dataflow_min_depth(&args.attention),
            Some(block @ (BlockArg::Fifo | BlockArg::Ffn | BlockArg::TernaryFfn)) => {
                let a = &args.attention;
                let graph = dataflow_command::GraphArgs {
                    d: 1,
                    n: a.n,
                    queries: a.queries,
                    valid: args.valid,
                    ready: args.ready,
                    seed: a.seed,
                    json: a.json,
                    vcd: None,
                };
                match (block, &args.config) {
                    (BlockArg::Fifo, None) => dataflow_command::min_depth_fifo(&graph, args.ample.unwrap_or(256)),
                    (BlockArg::Ffn | BlockArg::TernaryFfn, Some(config)) => {
                        dataflow_command::min_depth_ffn(block.name(), config, &graph, args.ample)
                    }
                    (BlockArg::Ffn | BlockArg::TernaryFfn, None) => Err(format!(
                        "min-depth --block {} needs --config FILE.toml (its d_model, d_ff and lanes)",
                        block.name()
                    )),
                    _ => Err("--config goes with --block ffn or ternary_ffn".into()),
                }
            }
            Some(other) => Err(format!(
                "{} has no FIFO to size; --block takes fifo, ffn or ternary_ffn (or leave it out for the attention graphs)",
                other.name()
            )),
        },
        Command::Gen {
            block,
            d,
            config,
            n_max,
            out,
        } => gen(block, d, n_max, config.as_deref(), &out),
        Command::Sim(args) => sim_command::sim(&args),
        Command::Report(command) => xilinx_command::report(&command),
        Command::Estimate(args) => xilinx_command::estimate(&args),
        Command::Vivado(args) => xilinx_command::vivado(&args),
        Command::Synth(args) => xilinx_command::synth(&args),
        Command::Model(command) => model_command::model(&command),
        Command::Layer(command) => layer_command::layer(&command),
        Command::Sweep(args) => sweep::sweep(&args),
    }
}

/// The configuration file the main job writes and simulates: sdpa with
/// every stream format changed from the default Q3.12.
const DEMO_FORMATS_CONFIG: &str = "block = \"sdpa\"\nd = 8\nn_max = 1048576\noutput_multipliers = 4\n\n[formats]\nq = \"Q1.14\"\nk = \"Q2.13\"\nv = \"Q4.11\"\no = \"Q0.15\"\n\n[sim]\nn = 64\nqueries = 4\n";

/// The main job: every capability on the default design.
/// `hwformer run`: every section in `<out>.partial`, then the report, then
/// the rename to `out`.
fn demo(seed: u64, out: &Path, layer_config: Option<&Path>) -> Result<ExitCode, String> {
    // a wrong key, a layer the hardware does not build or no font for the
    // plots stops the run before any work
    if let Some(path) = layer_config {
        layer_config::LayerConfig::load(path)?.design(None)?;
    }
    plot::register_font().map_err(|e| e.to_string())?;
    let folder = report::RunFolder::start(out)?;
    let stopped = |e: String| {
        format!(
            "{e}\n(the run stopped; {} is as it was, the partial run is in {})",
            folder.dir.display(),
            folder.work.display()
        )
    };
    let mut reporter = report::Reporter::new(seed, layer_config);
    demo_sections(seed, &folder.work, layer_config, &mut reporter).map_err(stopped)?;
    let report = reporter.write(&folder.work).map_err(stopped)?;
    folder.finish()?;
    println!(
        "\n== {}: report {}, {} and {} plots in {} ==",
        report.verdict.word(),
        folder.dir.join("report.md").display(),
        folder.dir.join("report.json").display(),
        report.plots.len() * 2,
        folder.dir.join("plots").display()
    );
    Ok(report.verdict.into())
}

/// The sections of `hwformer run`, each writing under `out` and into
/// `reporter`.
fn demo_sections(
    seed: u64,
    out: &Path,
    layer_config: Option<&Path>,
    reporter: &mut report::Reporter,
) -> Result<(), String> {
    println!("== hwformer: default design ==");
    reporter.start(
        1,
        "accuracy of the integer models against f64",
        &format!("accuracy of the integer models against f64 (hwformer quant --seed {seed})"),
    );
    let accuracy = AccuracyReport::measure(seed).map_err(|e| e.to_string())?;
    print!("{}", accuracy.to_markdown());
    reporter.report.accuracy = accuracy.measurements.clone();
    reporter.finish(report::Verdict::passed(accuracy.passes()).into());
    reporter.start(
        2,
        "attention as streaming dataflow: memory and cycles vs N",
        "attention as streaming dataflow: memory and cycles vs N (d=16, 1 query)",
    );
    let ns: Vec<usize> = (6..=12).map(|k| 1 << k).collect();
    let points = plot::scaling(16, 1, &ns).map_err(|e| e.to_string())?;
    println!("| N | naive peak memory | streaming peak memory | naive cycles | streaming cycles |");
    println!("|---|---|---|---|---|");
    for &n in &ns {
        let at = |v: Variant| {
            points
                .iter()
                .find(|p| p.n == n && p.variant == v)
                .expect("simulated")
        };
        let (a, b) = (at(Variant::Naive), at(Variant::Streaming));
        println!(
            "| {n} | {} | {} | {} | {} |",
            a.intermediate_peak, b.intermediate_peak, a.cycles, b.cycles
        );
    }
    println!("\n(plotted in the report)");
    reporter.report.attention_scaling = points;
    reporter.finish(ExitCode::SUCCESS);
    reporter.start(
        3,
        "streaming SDPA in fixed point against the integer model",
        "streaming SDPA, fixed point, bit-exact against the integer model",
    );
    let mut run = SdpaRun::new(Variant::Streaming, 1024, 16);
    run.latencies = Some(hwformer_sim::timing::sdpa_latencies(16).map_err(|e| e.to_string())?);
    run.queries = 4;
    run.format = NumberFormat::Fixed;
    run.seed = seed;
    let checked = simulate(&run, false)?;
    reporter.finish(checked);
    reporter.start(
        4,
        "RTL blocks through yosys",
        "RTL blocks: Verilog export and yosys synth_xilinx (xc7) resources",
    );
    let rtl = out.join("rtl");
    println!("| block | module | latency | LUT | FF | CARRY4 | DSP48E1 | RAMB18 | RAMB36 | LUT levels | Fmax estimate |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut sdpa_fmax = None;
    let mut slowest = Vec::new();
    for (block, d) in [(BlockArg::Exp, 0), (BlockArg::Softmax, 0), (BlockArg::Sdpa, 8)] {
        let manifest = export_block(block, d, &rtl)?;
        crate::progress::note!("synthesizing {} with yosys ...", manifest.module);
        let s =
            synthesize(&rtl, &manifest.verilog, &manifest.module, Family::Xc7).map_err(|e| e.to_string())?;
        let r = &s.resources;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} MHz |",
            manifest.block,
            manifest.module,
            manifest.latency_cycles,
            r.luts,
            r.flip_flops,
            r.carry,
            r.dsp,
            r.ramb18,
            r.ramb36,
            s.logic_depth.lut_levels,
            s.logic_depth.fmax_mhz,
        );
        let variant = if d > 0 { format!("d = {d}") } else { String::new() };
        reporter
            .report
            .synthesis
            .push(report::SynthesisRow::new(&manifest.block, &variant, &s));
        if manifest.block == "sdpa" {
            sdpa_fmax = Some(s.logic_depth.fmax_mhz);
        }
        if let Some(path) = s.logic_depth.slowest_paths.first() {
            slowest.push(format!(
                "{}: {:.2} ns, {}",
                manifest.block,
                path.ns,
                path.nets.join(" -> ")
            ));
        }
    }
    println!(
        "\nFmax estimates: {} (an estimate from the netlist, not a timing analysis)",
        Family::Xc7.delays().name
    );
    println!("slowest register-to-register paths (where the clock is set):");
    for line in &slowest {
        println!("  {line}");
    }
    println!("\nVerilog and manifests: {}", rtl.display());
    reporter.finish(ExitCode::SUCCESS);
    reporter.start(
        5,
        "the exported sdpa under Verilator, every beat against the integer model",
        "the exported sdpa (d=16) under Verilator: every beat against the integer model \
         (hwformer sim sdpa --d 16 --n 256 --queries 16 --valid 0.9 --ready 0.9)",
    );
    crate::progress::note!("building the Verilator model (cached after the first run) ...");
    let verified = sim_command::sim(&sim_command::SimArgs::demo(seed))?;
    reporter.finish(verified);
    let config = out.join("sdpa_formats.toml");
    std::fs::write(&config, DEMO_FORMATS_CONFIG).map_err(|e| format!("{}: {e}", config.display()))?;
    reporter.start(
        6,
        "sdpa from a configuration file: other formats, 2^20 keys, 4 output multipliers",
        &format!(
            "sdpa built from a configuration file: other formats, n_max = 2^20 (terms rounded by 4 bits), \
             4 output multipliers (hwformer sim --config {})",
            config.display()
        ),
    );
    println!("{}\n", DEMO_FORMATS_CONFIG.trim_end());
    crate::progress::note!("building the Verilator model (cached after the first run) ...");
    let formats_verified = sim_command::sim(&sim_command::SimArgs::from_config(config, seed))?;
    reporter.finish(formats_verified);
    reporter.start(
        7,
        "latency and energy of sdpa at the Fmax estimate",
        "latency and energy of sdpa d=8, n=256 at the Fmax estimate above (hwformer estimate \
         --d 8 --cycles-from sim --synth; --vivado-dir with Vivado's routed reports gives the achieved \
         clock and the measured power)",
    );
    println!("{}\n", xilinx_command::sdpa_cycles_agree(8, 256)?);
    let clock = sdpa_fmax
        .map(|f| hwformer_bitstreams::estimate::ClockChoice::estimated(f, "yosys xc7 netlist"))
        .transpose()?;
    xilinx_command::estimate_at(&xilinx_command::EstimateArgs::demo(), clock)?;
    reporter.finish(ExitCode::SUCCESS);
    reporter.start(
        8,
        "one timing model: each block's graph against its RTL",
        &format!(
            "one timing model: each block's handshake graph against its RTL on Verilator \
             (valid 0.6, ready 0.5, seed {seed}; hwformer dataflow <block> runs the graph alone)"
        ),
    );
    let timing = dataflow_command::demo(&out.join("timing"), seed)?;
    reporter.finish(timing);
    reporter.start(
        9,
        "layer blocks: linear, FFN, ternary FFN, layer norm",
        "layer blocks: a linear layer, an FFN (int16 weights in ROM; seeded, a safetensors \
         model file works the same way), the FFN with ternary weights, a layer norm; on Verilator and \
         through yosys",
    );
    let layers = layer_demo::run(&out.join("layers"), seed, &mut reporter.report.synthesis)?;
    reporter.finish(layers);
    reporter.start(
        10,
        "binary attention",
        "binary attention: q and k hashed to 8 to 64 sign bits by a ±1 projection, \
         XNOR-popcount scores, sdpa's online softmax; on Verilator, through yosys, and against float \
         attention",
    );
    let binary = binary_demo::run(
        &out.join("binary_attention"),
        seed,
        &mut reporter.report.synthesis,
    )?;
    reporter.finish(binary);
    reporter.start(
        11,
        "a real model: all-MiniLM-L6-v2",
        "a real model: all-MiniLM-L6-v2 from its safetensors file, formats calibrated from \
         its activations, int16 / ternary / binary against float, a real layer's head, LayerNorms, \
         query projection and FFN on Verilator (hwformer model calibrate / compare / layer --linear --ffn)",
    );
    let model = model_command::demo(&out.join("minilm"))?;
    reporter.finish(model);
    let layer_name = match layer_config {
        Some(path) => path.display().to_string(),
        None => "tiny".to_string(),
    };
    reporter.start(
        12,
        "a whole layer's FIFOs sized on its handshake graph",
        "a whole encoder layer as one handshake graph (the blocks' graphs joined by forks, \
         residual adds and the attention's sequence memory): each FIFO's depth for full throughput \
         and the depth below which the layer deadlocks, found by running the graph \
         (hwformer dataflow min-depth --layer PRESET|CONFIG)",
    );
    for layer in [layer_name.as_str(), "jet-tagging", "minilm-layer"] {
        let started = Instant::now();
        let found = dataflow_command::min_depth_layer(layer, 2, None, false)?;
        reporter.report.layer_graphs.push(report::LayerGraphRow {
            name: found.name,
            shape: report::LayerShapeRow::of(&found.plan),
            sequences: 2,
            full_throughput_cycles: found.search.full_throughput_cycles,
            fifos: found.search.fifos,
            seconds: started.elapsed().as_secs_f64(),
        });
        println!();
    }
    reporter.finish(ExitCode::SUCCESS);
    reporter.start(
        13,
        "the layer as one design on Verilator",
        "the encoder layer as one design, its FIFOs at the depths section 12 found: on \
         Verilator, every output against the int16 layer model, every handshake against the layer graph, \
         at full speed and under gaps and back-pressure (hwformer layer sim)",
    );
    let layer_args = layer_command::LayerArgs::new(layer_config.map(Path::to_path_buf), out.join("layer"));
    let (layer, checks) = layer_command::demo(&layer_args, seed)?;
    reporter.finish(report::Verdict::passed(checks.iter().all(|c| c.passed())).into());
    reporter.start(
        14,
        "the layer through yosys; the report",
        "the encoder layer through yosys (hwformer layer synth), its latency at the Fmax estimate and \
         its energy a token (hwformer layer estimate), its error per block against the float layer; then the report",
    );
    let synthesis = layer_command::synthesize_written(&layer, Family::Xc7)?;
    crate::xilinx_command::print_synthesis(&layer.manifest.module, Family::Xc7, &synthesis, false)?;
    let design = &layer.design;
    let clock = hwformer_bitstreams::estimate::ClockChoice::estimated(
        synthesis.logic_depth.fmax_mhz,
        "yosys xc7 netlist",
    )?;
    let estimate = layer_command::estimate_layer(&design.name, &design.plan, clock, None, 45.0)?;
    estimate.print();
    let sequences = checks.first().map_or(2, |c| c.sequences);
    let errors = report::LayerReport::error_samples(design, sequences)?;
    let layer_report = report::LayerReport::new(
        design,
        &layer.manifest.module,
        checks,
        Some(&synthesis),
        Some(estimate),
        &errors,
    );
    reporter.report.synthesis.extend(layer_report.synthesis.clone());
    reporter.report.layer = Some(layer_report);
    reporter.layer_errors = errors;
    reporter.finish(ExitCode::SUCCESS);
    reporter.start(
        15,
        "a real model's layer as one design on Verilator",
        "a real model's layer as one design: all-MiniLM-L6-v2's layer 0 with its real weights and formats \
         calibrated on its activations, d_model 384, 12 heads of 32, d_ff 1536, on the first 128 tokens of a \
         text it was not calibrated on, its FIFOs sized by the layer graph; every output against the int16 \
         layer model, every handshake against the graph (hwformer layer sim --model-layer 0 --sequences 1)",
    );
    let started = Instant::now();
    let model_args = layer_command::LayerArgs::model(0, out.join("minilm-layer"));
    let real = layer_command::generate(&model_args)?;
    let check = layer_command::check(
        &real,
        layer_command::LayerBackend::Verilator,
        1,
        Pacing::FULL_SPEED,
    );
    println!(
        "from the model file to the verdict: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let verdict = report::Verdict::passed(check.passed());
    reporter.report.model_layer = Some(report::CheckedLayerRow::new(
        &real,
        check,
        started.elapsed().as_secs_f64(),
    ));
    reporter.finish(verdict.into());
    reporter.start(
        16,
        "the jet-tagging layer as one design on Verilator",
        "the shape of the particle-physics transformer hls4ml put on a VU13P (15 particles of 6 features, \
         2 heads of 32, FFN 6 -> 8 -> 6 with ReLU, no LayerNorm), seeded weights, as one design on Verilator \
         at full speed (hwformer layer sim --preset jet-tagging)",
    );
    let jet_args = layer_command::LayerArgs::preset("jet-tagging", out.join("jet-tagging"));
    let verdict = other_layer(reporter, &jet_args, |jet| {
        let alone = layer_command::one_sequence_cycles(&jet.design.plan)?;
        println!(
            "one sequence alone: {alone} cycles by the layer graph, {:.1} µs at hls4ml's 200 MHz for this one block \
             (hls4ml reports under 2 µs for the three-block model, arXiv 2409.05207; docs/LAYER.md has our clock \
             estimate and resources)",
            alone as f64 / 200.0
        );
        Ok(())
    })?;
    reporter.finish(verdict.into());
    reporter.start(
        17,
        "the tiny layer's variants on Verilator: a ternary FFN, binary heads",
        "the tiny layer with the FFN's weights ternary (BitNet b1.58's absmean rule, 8-bit absmax codes, \
         the model's biases: the ternary_ffn engines inside the layer), then with binary heads (64-bit sign \
         codes of one ±1 projection, XNOR-popcount scores: the binary_attention unit inside the layer), each as \
         one design on Verilator at full speed (hwformer layer sim --preset tiny --variant ternary|binary)",
    );
    let mut passed = true;
    for variant in [
        layer_command::LayerVariant::Ternary,
        layer_command::LayerVariant::Binary,
    ] {
        let name = format!("tiny-{}", variant.variant().name());
        let args = layer_command::LayerArgs::preset("tiny", out.join(&name)).with_variant(variant);
        passed &= other_layer(reporter, &args, |_| Ok(()))? == report::Verdict::Pass;
    }
    reporter.finish(report::Verdict::passed(passed).into());
    reporter.start(
        18,
        "a design-space sweep on the local cores",
        "a design-space sweep: the exp unit in three input formats on two families, six points, each exported, \
         checked on Verilator and synthesized with yosys in a process of its own, as many at once as there are \
         cores; results.csv, results.json and a Pareto plot (hwformer sweep PLAN)",
    );
    let sweep = sweep::demo(&out.join("sweep"))?;
    let verdict = report::Verdict::passed(sweep.passed() == sweep.points.len());
    reporter.report.sweep = Some(sweep);
    reporter.finish(verdict.into());
    Ok(())
}

/// Writes the layer of `args`, checks it on Verilator at full speed (two
/// sequences), runs `also` on it, and adds it to the report's other
/// layers; the verdict.
fn other_layer(
    reporter: &mut report::Reporter,
    args: &layer_command::LayerArgs,
    also: impl FnOnce(&layer_command::WrittenLayer) -> Result<(), String>,
) -> Result<report::Verdict, String> {
    let started = Instant::now();
    let layer = layer_command::generate(args)?;
    let check = layer_command::check(
        &layer,
        layer_command::LayerBackend::Verilator,
        2,
        Pacing::FULL_SPEED,
    );
    also(&layer)?;
    let verdict = report::Verdict::passed(check.passed());
    reporter.report.other_layers.push(report::CheckedLayerRow::new(
        &layer,
        check,
        started.elapsed().as_secs_f64(),
    ));
    Ok(verdict)
}

/// Writes `<block>.v` and `<block>.json` into `out`; returns the manifest.
fn export_block(block: BlockArg, d: usize, out: &Path) -> Result<hwformer_hdl::manifest::Manifest, String> {
    hwformer_hdl::export_block(block.name(), d, out).map_err(|e| e.to_string())
}

/// `hwformer gen`: exports one block and says where it went.
fn gen(
    block: Option<BlockArg>,
    d: Option<usize>,
    n_max: Option<usize>,
    config: Option<&Path>,
    out: &Path,
) -> Result<ExitCode, String> {
    let config = config.map(config::BlockConfig::load).transpose()?;
    let (block, d) = config::block_and_d(block.map(BlockArg::name), d, config.as_ref())?;
    let manifest = config::export_checked_n_max(&block, d, n_max, config.as_ref(), out)?;
    println!(
        "{}: module {}, latency {} cycles, initiation interval {}",
        manifest.block, manifest.module, manifest.latency_cycles, manifest.initiation_interval
    );
    println!("wrote {}", out.join(&manifest.verilog).display());
    println!("wrote {}", out.join(format!("{}.json", manifest.block)).display());
    if let Some(weights) = &manifest.weights {
        println!("wrote {} ({})", out.join(&weights.file).display(), weights.source);
    }
    for memory in &manifest.memories {
        println!("wrote {} (read by $readmemh)", out.join(memory).display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the accuracy table; fails when a measurement exceeds its limit.
fn quant(seed: u64, json: bool) -> Result<ExitCode, String> {
    let report = AccuracyReport::measure(seed).map_err(|e| e.to_string())?;
    if json {
        println!("{}", to_json(&report)?);
    } else {
        print!("{}", report.to_markdown());
    }
    if report.passes() {
        Ok(ExitCode::SUCCESS)
    } else {
        crate::progress::note!("hwformer: a measurement exceeds its limit (row marked NO)");
        Ok(ExitCode::FAILURE)
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| e.to_string())
}

fn dataflow_sdpa(args: &SdpaArgs) -> Result<ExitCode, String> {
    let code = simulate(&args.run(), args.json)?;
    if let Some(path) = &args.plot {
        let ns: Vec<usize> = (6..=12).map(|k| 1 << k).collect();
        let points = plot::scaling(args.d, args.queries, &ns).map_err(|e| e.to_string())?;
        let [svg, png] = plot::draw(&points, path).map_err(|e| e.to_string())?;
        crate::progress::note!("plots: {} and {}", svg.display(), png.display());
    }
    Ok(code)
}

/// Runs one simulation and prints it; deadlocks and failed checks exit
/// non-zero (2 and 1).
fn simulate(run: &SdpaRun, json: bool) -> Result<ExitCode, String> {
    let start = Instant::now();
    match run.simulate() {
        Ok(report) => {
            let seconds = start.elapsed().as_secs_f64();
            if json {
                println!("{}", to_json(&report)?);
            } else {
                print_sdpa(&report, seconds);
            }
            if report.passed() {
                Ok(ExitCode::SUCCESS)
            } else {
                crate::progress::note!("hwformer: FAIL: an output differs from its oracle (see check)");
                Ok(ExitCode::FAILURE)
            }
        }
        Err(DataflowError::Deadlock(deadlock)) => {
            if json {
                println!("{}", to_json(&serde_json::json!({ "deadlock": deadlock }))?);
            }
            eprint!("hwformer: {deadlock}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.to_string()),
    }
}

fn print_sdpa(r: &SdpaReport, seconds: f64) {
    let run = &r.run;
    println!(
        "sdpa {:?}, {:?}, N={}, d={}, {} head(s), {} queries per head, FIFO depth {}",
        run.variant, run.format, run.n, run.d, run.heads, run.queries, r.fifo_depth
    );
    println!(
        "cycles        {} (closed form {})",
        r.cycles, r.closed_form_cycles
    );
    println!("throughput    {:.4} keys/cycle per head", r.keys_per_cycle);
    let checked: u64 = r.checks.iter().map(|c| c.check.checked).sum();
    let error = r.checks.iter().map(|c| c.max_error_vs_float).fold(0.0, f64::max);
    let verdict = if r.passed() { "PASS" } else { "FAIL" };
    println!("check         {verdict}: {checked} output vectors, max error vs f64 {error:.3e}");
    if let Some(first) = r.checks.iter().find_map(|c| c.check.first.as_ref()) {
        println!(
            "first mismatch: output {} at cycle {}: expected {}, got {}",
            first.index, first.cycle, first.expected, first.actual
        );
    }
    println!(
        "simulated     {:.2} M cycles/s ({:.3} s wall, not a benchmark)",
        r.cycles as f64 / seconds / 1e6,
        seconds
    );
    println!("\n| channel | capacity | peak occupancy | elements |\n|---|---|---|---|");
    for c in &r.report.channels {
        println!(
            "| {} | {} | {} | {} |",
            c.name, c.capacity, c.stats.peak_occupancy, c.stats.elements
        );
    }
    println!("\n| context | fires | busy | input stall | output stall |\n|---|---|---|---|---|");
    for c in &r.report.contexts {
        let s = &c.stats;
        println!(
            "| {} | {} | {} | {} | {} |",
            c.name, s.fires, s.busy_cycles, s.input_stall_cycles, s.output_stall_cycles
        );
    }
}

fn dataflow_min_depth(args: &SdpaArgs) -> Result<ExitCode, String> {
    let run = args.run();
    let start = Instant::now();
    let report: DepthReport = match min_depths(&run) {
        Ok(r) => r,
        Err(DataflowError::Deadlock(d)) => return Err(format!("the ample depth deadlocks: {d}")),
        Err(e) => return Err(e.to_string()),
    };
    if args.json {
        println!("{}", to_json(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "min-depth {:?}, N={}, d={}, {} queries: full throughput = {} cycles at depth {}",
        run.variant, run.n, run.d, run.queries, report.full_throughput_cycles, report.ample_depth
    );
    println!(
        "\n| channel | full-throughput depth | deadlocks below | cycles at depth 1 |\n|---|---|---|---|"
    );
    for c in &report.channels {
        let at_1 = c
            .cycles_at_depth_1
            .map_or("deadlock".to_string(), |x| x.to_string());
        println!(
            "| {} | {} | {} | {} |",
            c.name, c.full_throughput_depth, c.deadlock_free_depth, at_1
        );
    }
    println!(
        "\nall channels at their full-throughput depth together: {} cycles ({})",
        report.joint_cycles,
        if report.joint_cycles == report.full_throughput_cycles {
            "full throughput"
        } else {
            "SLOWER"
        }
    );
    println!(
        "{} simulations in {:.2} s",
        report.simulations,
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
