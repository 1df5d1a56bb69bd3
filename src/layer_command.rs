//! `hwformer layer gen|sim|synth`: a whole encoder layer (a preset, or a
//! configuration file's changes to one) as one
//! Verilog design (seeded weights, formats calibrated on seeded tokens,
//! FIFOs sized on the layer's handshake graph), and its check on Verilator
//! or Icarus against the int16 layer model, the float layer and the graph.

use crate::layer_config::{check_probability, check_sequences, LayerConfig};
use clap::{Args, Subcommand, ValueEnum};
use hwformer_bitstreams::estimate::{
    ClockChoice, Estimate, EstimateInput, Inference, LayerSize, OperationCounts, OperationEnergies,
};
use hwformer_bitstreams::report::power::PowerReport;
use hwformer_bitstreams::yosys::{Family, Synthesis};
use hwformer_hdl::manifest::Manifest;
use hwformer_quant::bert::integer::Variant;
use hwformer_sim::layer::{check_layer, LayerDesign, SEARCH_SEQUENCES};
use hwformer_sim::session::Backend;
use hwformer_sim::testbench::Pacing;
use serde::Serialize;
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
    /// Cycles a sequence and a token from the layer graph, latency at a
    /// clock, and an ASIC energy estimate per token; any preset, with or
    /// without hardware.
    Estimate(LayerEstimateArgs),
}

/// The layer's figures without hardware.
#[derive(Args)]
pub struct LayerEstimateArgs {
    #[command(flatten)]
    layer: LayerArgs,
    /// The clock of the latency, in MHz, when no timing report is given
    /// (say where it comes from: the layer's `hwformer layer synth`
    /// estimate, or a target).
    #[arg(long, default_value_t = 200.0)]
    clock_mhz: f64,
    /// Folder with Vivado's routed reports of the layer
    /// (timing_summary_routed.rpt, power_routed.rpt): the achieved clock
    /// and the measured power, for FPGA energy a token.
    #[arg(long)]
    vivado_dir: Option<PathBuf>,
    /// Process node of the ASIC estimate, in nm (Horowitz's energies are
    /// for 45).
    #[arg(long, default_value_t = 45.0)]
    node_nm: f64,
    /// Print JSON instead of lines.
    #[arg(long)]
    json: bool,
}

/// A layer's cycles, latency and energy, from its graph, its operation
/// counts and (when given) Vivado's reports.
#[derive(Debug, Clone, Serialize)]
pub struct LayerEstimate {
    /// The preset's or configuration's name.
    pub name: String,
    /// Cycles from a sequence's first input to its last output, alone,
    /// full speed (the layer graph, FIFOs ample).
    pub sequence_latency_cycles: u64,
    /// Cycles between sequences back to back (two sequences' cycles minus
    /// one's).
    pub sequence_interval_cycles: u64,
    /// The interval over the tokens of a sequence.
    pub cycles_per_token: f64,
    /// The clock, MHz (its source is in `figures.clock`).
    pub clock_mhz: f64,
    /// The latency at that clock, µs.
    pub sequence_latency_us: f64,
    /// Operations a token (arithmetic and weight reads; registers and
    /// control not counted).
    pub operations_per_token: OperationCounts,
    /// ASIC energy a token at `node_nm`, nJ (a lower bound: see
    /// `OperationCounts::encoder_layer_token`).
    pub asic_energy_per_token_nj: f64,
    /// The process node of that estimate, nm.
    pub node_nm: f64,
    /// FPGA energy a token at full throughput, nJ: the power report's
    /// total on-chip power over a token's share of the sequence interval
    /// (with a power report).
    pub fpga_energy_per_token_nj: Option<f64>,
    /// Every figure of one sequence with its source (latency, throughput,
    /// energies), as `hwformer estimate` gives them for a block.
    pub figures: Estimate,
}

/// Cycles of `sequences` sequences through the layer graph of `plan` at
/// full speed, its FIFOs ample (twice a sequence).
fn sequences_cycles(plan: &hwformer_sim::timing::LayerPlan, sequences: usize) -> Result<u64, String> {
    let sequence = plan.shape.sequence_elements();
    let ample = hwformer_dataflow::handshake::layer::LayerDepths {
        residual1: 2 * sequence,
        hidden: 2 * sequence,
        residual2: 2 * sequence,
    };
    let graph = plan.graph().map_err(|e| e.to_string())?;
    graph.cycles(sequences, ample).map_err(|e| e.to_string())
}

/// Cycles of one sequence alone through the layer graph of `plan` (first
/// input to last output, at full speed).
pub fn one_sequence_cycles(plan: &hwformer_sim::timing::LayerPlan) -> Result<u64, String> {
    sequences_cycles(plan, 1)
}

/// Runs the layer graph of `plan` for one and two sequences and counts
/// its operations; the figures at `clock`, with `power` (a routed power
/// report and its file) when given, the ASIC energy at `node_nm`.
pub fn estimate_layer(
    name: &str,
    plan: &hwformer_sim::timing::LayerPlan,
    clock: ClockChoice,
    power: Option<(&PowerReport, &str)>,
    node_nm: f64,
) -> Result<LayerEstimate, String> {
    let s = plan.shape;
    let one = sequences_cycles(plan, 1).map_err(|e| format!("layer {name}: {e}"))?;
    let two = sequences_cycles(plan, 2).map_err(|e| format!("layer {name}: {e}"))?;
    let operations = OperationCounts::encoder_layer_token(LayerSize {
        d_model: s.d_model.into(),
        heads: s.heads.into(),
        head_size: s.head_size.into(),
        d_ff: plan.d_ff.into(),
        tokens: s.tokens.into(),
        layer_norm: s.layer_norm,
        ternary_ffn_lanes: (plan.variant == Variant::Ternary).then_some(plan.lanes.into()),
        binary_attention_bits: (plan.variant == Variant::Binary)
            .then_some(hwformer_quant::bert::integer::BINARY_BITS as u64),
    });
    let tokens = u64::from(s.tokens);
    let energies = OperationEnergies::HOROWITZ_45NM.at_node(node_nm)?;
    let figures = Estimate::new(
        EstimateInput {
            block: format!("encoder layer {name}"),
            inference: Inference::Sequence,
            latency_cycles: one,
            interval_cycles: two - one,
            cycles_source: "the layer graph at full speed, FIFOs ample".into(),
            operations: operations.times(tokens),
            operations_source: format!(
                "OperationCounts::encoder_layer_token x {tokens} tokens (arithmetic and weight reads)"
            ),
        },
        clock,
        power,
        energies,
    );
    let per_token_nj = |joules: f64| joules * 1e9 / tokens as f64;
    Ok(LayerEstimate {
        name: name.to_string(),
        sequence_latency_cycles: one,
        sequence_interval_cycles: two - one,
        cycles_per_token: (two - one) as f64 / tokens as f64,
        clock_mhz: 1000.0 / figures.clock.period_ns,
        sequence_latency_us: figures.latency.value * 1e6,
        operations_per_token: operations,
        asic_energy_per_token_nj: per_token_nj(figures.asic_energy.value),
        node_nm,
        fpga_energy_per_token_nj: figures
            .energy_total_pipelined
            .as_ref()
            .map(|f| per_token_nj(f.value)),
        figures,
    })
}

impl LayerEstimate {
    /// The lines `hwformer layer estimate` prints.
    pub fn print(&self) {
        println!(
            "layer {}: one sequence alone {} cycles from its first input to its last output, {:.2} µs at {:.1} MHz \
             ({}); sequences back to back every {} cycles ({:.1} cycles a token) (the layer graph at full speed, \
             FIFOs ample)",
            self.name,
            self.sequence_latency_cycles,
            self.sequence_latency_us,
            self.clock_mhz,
            self.figures.clock.source,
            self.sequence_interval_cycles,
            self.cycles_per_token
        );
        println!(
            "ASIC energy estimate, {} nm: {:.2} nJ a token (Horowitz's energies per operation; arithmetic and weight \
             reads only, registers and control not counted: a lower bound); a token: {}",
            self.node_nm,
            self.asic_energy_per_token_nj,
            self.operations_per_token.describe()
        );
        if let (Some(nj), Some(f)) = (
            self.fpga_energy_per_token_nj,
            &self.figures.energy_total_pipelined,
        ) {
            println!(
                "FPGA energy: {nj:.2} nJ a token at full throughput ({})",
                f.source
            );
        }
    }
}

/// The layer through yosys.
#[derive(Args)]
pub struct LayerSynthArgs {
    #[command(flatten)]
    layer: LayerArgs,
    /// Target family (default the config's, else xc7).
    #[arg(long, value_enum)]
    family: Option<crate::xilinx_command::FamilyArg>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Which layer and where.
#[derive(Args, Default, Clone)]
pub struct LayerArgs {
    /// The preset: tiny (the default), small, jet-tagging (no layer norm,
    /// ReLU, attention 64 wide on tokens of 6) or minilm-layer (seeded
    /// weights; `--model-layer` for the real model's).
    #[arg(long, conflicts_with = "config")]
    preset: Option<String>,
    /// A layer configuration (TOML; see docs/LAYER.md): a preset and
    /// changes to it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Seed of the weights (and of the calibration and evaluation tokens;
    /// default the config's, else 7).
    #[arg(long)]
    weights_seed: Option<u64>,
    /// Build layer L of the real model (all-MiniLM-L6-v2 in
    /// ~/.cache/hwformer/minilm, which `bash scripts/install-tools.sh
    /// --minilm` fetches) with its real weights and formats calibrated on
    /// its activations, on the minilm-layer plan (128 tokens, 8 lanes),
    /// checked on 128-token texts it was not calibrated on.
    #[arg(long, conflicts_with_all = ["preset", "config", "weights_seed"])]
    model_layer: Option<usize>,
    /// The integer datapath: int16; ternary (the FFN's weights by BitNet
    /// b1.58's absmean rule, with the model's biases); binary (every head's
    /// scores from 64-bit sign codes of one ±1 projection) (default the
    /// config's, else int16).
    #[arg(long, value_enum)]
    variant: Option<LayerVariant>,
    /// Output folder (default target/hwformer-layer/<name>).
    #[arg(long)]
    out: Option<PathBuf>,
}

impl LayerArgs {
    /// The configuration these arguments give: the file's, or the
    /// preset's; `--variant` replaces its variant (a preset's ternary or
    /// binary layer without a name in the file is `<preset>-<variant>`).
    pub fn config(&self) -> Result<LayerConfig, String> {
        let mut config = match (&self.config, &self.preset) {
            (Some(path), _) => LayerConfig::load(path)?,
            (None, preset) => LayerConfig {
                preset: preset.clone(),
                ..LayerConfig::default()
            },
        };
        if let Some(v) = self.variant {
            config.shape.variant = Some(v.variant());
            // a preset's other variant gets a name (and folder) of its own
            if !matches!(v, LayerVariant::Int16) && config.name.is_none() {
                config.name = Some(format!("{}-{}", config.preset(), v.variant().name()));
            }
        }
        Ok(config)
    }

    /// Layer `layer` of the real model written into `out`.
    pub fn model(layer: usize, out: PathBuf) -> Self {
        Self {
            model_layer: Some(layer),
            out: Some(out),
            ..Self::default()
        }
    }

    /// The layer of preset `name` written into `out`.
    pub fn preset(name: &str, out: PathBuf) -> Self {
        Self {
            preset: Some(name.to_string()),
            out: Some(out),
            ..Self::default()
        }
    }

    /// These arguments with the FFN's variant `variant`.
    pub fn with_variant(self, variant: LayerVariant) -> Self {
        Self {
            variant: Some(variant),
            ..self
        }
    }

    /// The layer of `config` (default the tiny preset) written into `out`.
    pub fn new(config: Option<PathBuf>, out: PathBuf) -> Self {
        Self {
            config,
            out: Some(out),
            ..Self::default()
        }
    }
}

/// The integer datapath of a layer with hardware.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LayerVariant {
    /// int16 weights everywhere.
    Int16,
    /// The FFN's weights ternary, with its biases.
    Ternary,
    /// Binarized attention scores.
    Binary,
}

impl LayerVariant {
    /// The model's variant.
    pub fn variant(self) -> Variant {
        match self {
            LayerVariant::Int16 => Variant::Int16,
            LayerVariant::Ternary => Variant::Ternary,
            LayerVariant::Binary => Variant::Binary,
        }
    }
}

/// A simulator for the layer.
#[derive(Clone, Copy, ValueEnum)]
pub enum LayerBackend {
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
    /// The simulator (default the config's, else verilator).
    #[arg(long, value_enum)]
    backend: Option<LayerBackend>,
    /// Sequences run through, back to back (default the config's, else 2).
    #[arg(long)]
    sequences: Option<usize>,
    /// Probability that the input offers an element in a cycle (default
    /// the config's, else 1).
    #[arg(long)]
    valid: Option<f64>,
    /// Probability that the output is taken in a cycle (default the
    /// config's, else 1).
    #[arg(long)]
    ready: Option<f64>,
    /// Seed of the gaps and back-pressure (default the config's, else 1).
    #[arg(long)]
    seed: Option<u64>,
}

/// Runs a layer command.
pub fn layer(command: &LayerCommand) -> Result<ExitCode, String> {
    match command {
        LayerCommand::Gen(args) => generate(args).map(|_| ExitCode::SUCCESS),
        LayerCommand::Sim(args) => Ok(crate::report::Verdict::passed(simulate(args)?.passed()).into()),
        LayerCommand::Estimate(args) => {
            let config = args.layer.config()?;
            let clock = ClockChoice::requested(args.clock_mhz)?;
            let (clock, power) = match &args.vivado_dir {
                Some(dir) => crate::xilinx_command::vivado_reports(dir, clock)?,
                None => (clock, None),
            };
            let power = power.as_ref().map(|(p, f)| (p, f.as_str()));
            let estimate = estimate_layer(config.name(), &config.plan()?, clock, power, args.node_nm)?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&estimate).map_err(|e| e.to_string())?
                );
            } else {
                estimate.print();
            }
            Ok(ExitCode::SUCCESS)
        }
        LayerCommand::Synth(args) => {
            let (s, manifest, family) = synthesize(&args.layer, args.family)?;
            crate::xilinx_command::print_synthesis(&manifest.module, family, &s, args.json)
        }
    }
}

/// Writes the layer of `args` and synthesizes it with yosys for `family`
/// (default the config's).
pub fn synthesize(
    args: &LayerArgs,
    family: Option<crate::xilinx_command::FamilyArg>,
) -> Result<(Synthesis, Manifest, Family), String> {
    let config = args.config()?;
    let family = family.map_or_else(|| config.family(), Ok)?.family();
    let layer = generate(args)?;
    let s = synthesize_written(&layer, family)?;
    Ok((s, layer.manifest, family))
}

/// Synthesizes a written layer with yosys for `family`.
pub fn synthesize_written(layer: &WrittenLayer, family: Family) -> Result<Synthesis, String> {
    let m = &layer.manifest;
    crate::progress::note!("synthesizing {} for {} with yosys ...", m.module, family.name());
    hwformer_bitstreams::yosys::synthesize(&layer.dir, &m.verilog, &m.module, family)
        .map_err(|e| e.to_string())
}

/// A layer built and written: its design, its folder and its manifest.
pub struct WrittenLayer {
    /// The design.
    pub design: LayerDesign,
    /// Where its files are.
    pub dir: PathBuf,
    /// Its manifest as written.
    pub manifest: Manifest,
}

/// Where a layer's FIFO depths came from, in words.
pub fn depths_source(design: &LayerDesign) -> &'static str {
    if design.search.is_some() {
        "graph search"
    } else {
        "configuration"
    }
}

/// Builds and writes the layer; prints what it wrote.
pub fn generate(args: &LayerArgs) -> Result<WrittenLayer, String> {
    let config = args.config()?;
    let started = Instant::now();
    let design = match args.model_layer {
        None => config.design(args.weights_seed)?,
        Some(layer) => model_design(layer, config.plan()?.variant)?,
    };
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("target/hwformer-layer").join(&design.name));
    let manifest = design.write(&dir).map_err(|e| e.to_string())?;
    let d = design.depths;
    println!(
        "layer {}: {}; module {}",
        design.name,
        describe_plan(&design.plan),
        manifest.module
    );
    println!(
        "FIFO depths from the {}: residual 1 {}, ffn hidden {}, residual 2 {}; the graph runs \
         {SEARCH_SEQUENCES} sequences at full speed in {} cycles",
        depths_source(&design),
        d.residual1,
        d.hidden,
        d.residual2,
        design.cycles
    );
    println!(
        "wrote {} and {} memory files into {} ({:.1} s)",
        manifest.verilog,
        manifest.memories.len(),
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(WrittenLayer {
        design,
        dir,
        manifest,
    })
}

/// Layer `layer` of the real model on the minilm-layer plan (the model's
/// sizes, 128 tokens, 8 lanes) in `variant`, its FIFOs sized by the
/// layer graph.
fn model_design(layer: usize, variant: Variant) -> Result<LayerDesign, String> {
    let mut plan = hwformer_sim::timing::LayerPlan::preset("minilm-layer").map_err(|e| e.to_string())?;
    plan.variant = variant;
    crate::progress::note!(
        "reading the model, calibrating its formats, running it on the evaluation texts ..."
    );
    let files = crate::model_command::ModelFiles::default_with_layers(None);
    let (source, [d_model, heads, head_size, d_ff]) =
        crate::model_command::model_layer(&files, layer, plan.shape.tokens as usize, variant)?;
    let size = |n: usize| u32::try_from(n).map_err(|_| format!("the model's size {n} is too large"));
    plan.shape.d_model = size(d_model)?;
    plan.shape.heads = size(heads)?;
    plan.shape.head_size = size(head_size)?;
    plan.d_ff = size(d_ff)?;
    let name = match variant {
        Variant::Int16 => format!("minilm-l{layer}"),
        other => format!("minilm-l{layer}-{}", other.name()),
    };
    LayerDesign::from_source(&name, plan, Box::new(source), None).map_err(|e| e.to_string())
}

/// A layer plan in words: its shape, lanes and tokens.
pub fn describe_plan(plan: &hwformer_sim::timing::LayerPlan) -> String {
    let s = plan.shape;
    format!(
        "d_model {}, {} {}heads of {}, d_ff {} ({}{}), {} lanes, {} tokens a sequence{}",
        s.d_model,
        s.heads,
        if plan.variant == Variant::Binary {
            "binary "
        } else {
            ""
        },
        s.head_size,
        plan.d_ff,
        match plan.activation {
            hwformer_quant::reference::Activation::Gelu => "GELU",
            hwformer_quant::reference::Activation::Relu => "ReLU",
        },
        if plan.variant == Variant::Ternary {
            ", ternary"
        } else {
            ""
        },
        plan.lanes,
        s.tokens,
        if s.layer_norm { "" } else { ", no layer norm" }
    )
}

/// One checked run of a layer on a simulator.
#[derive(Debug, Clone, Serialize)]
pub struct LayerCheck {
    /// `verilator` or `iverilog`.
    pub backend: &'static str,
    /// Sequences run.
    pub sequences: usize,
    /// Input valid probability.
    pub valid: f64,
    /// Output ready probability.
    pub ready: f64,
    /// Seed of the pacing.
    pub seed: u64,
    /// Output elements, all bit-exact (when it passed).
    pub beats: Option<usize>,
    /// Cycles to the last output, the graph's (when it passed).
    pub cycles: Option<u64>,
    /// Largest error against the float layer.
    pub float_max_error: Option<f64>,
    /// Worst token's cosine against the float layer.
    pub worst_token_cosine: Option<f64>,
    /// The sticky saturation status at the end.
    pub saturated: Option<bool>,
    /// Seconds of Verilator's (or Icarus') build.
    pub build_seconds: Option<f64>,
    /// Seconds of the run.
    pub run_seconds: Option<f64>,
    /// Why it failed, when it did.
    pub failure: Option<String>,
}

impl LayerCheck {
    /// Every output bit-exact and every handshake at the graph's cycle.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The main job's section: the layer of `args` written once (under its
/// `out`) and run on Verilator at full speed and under gaps and
/// back-pressure (pacing seeds `seed` and `seed + 1`).
pub fn demo(args: &LayerArgs, seed: u64) -> Result<(WrittenLayer, Vec<LayerCheck>), String> {
    let layer = generate(args)?;
    let checks = [(1.0, 1.0, seed), (0.7, 0.8, seed + 1)]
        .into_iter()
        .map(|(valid, ready, seed)| {
            let pacing = Pacing {
                valid_probability: valid,
                ready_probability: ready,
                seed,
            };
            check(&layer, LayerBackend::Verilator, 2, pacing)
        })
        .collect();
    Ok((layer, checks))
}

/// Writes the layer and checks it on the simulator the arguments (or the
/// configuration) name.
pub fn simulate(args: &LayerSimArgs) -> Result<LayerCheck, String> {
    let config = args.layer.config()?;
    let sequences = args.sequences.or(config.sim.sequences).unwrap_or(2);
    check_sequences(sequences).map_err(|e| format!("--sequences: {e}"))?;
    let valid = args.valid.or(config.sim.valid).unwrap_or(1.0);
    let ready = args.ready.or(config.sim.ready).unwrap_or(1.0);
    for (name, p) in [("--valid", valid), ("--ready", ready)] {
        check_probability(p).map_err(|e| format!("{name} {e}"))?;
    }
    let seed = args.seed.or(config.sim.seed).unwrap_or(1);
    let backend = match (args.backend, config.sim.backend.as_deref()) {
        (Some(b), _) => b,
        (None, Some("iverilog")) => LayerBackend::Iverilog,
        (None, _) => LayerBackend::Verilator,
    };
    let layer = generate(&args.layer)?;
    let pacing = Pacing {
        valid_probability: valid,
        ready_probability: ready,
        seed,
    };
    Ok(check(&layer, backend, sequences, pacing))
}

/// Runs a written layer on `backend` under `pacing` and prints PASS or
/// FAIL with what it found.
pub fn check(layer: &WrittenLayer, backend: LayerBackend, sequences: usize, pacing: Pacing) -> LayerCheck {
    let (backend, name) = match backend {
        LayerBackend::Verilator => (Backend::Verilator, "verilator"),
        LayerBackend::Iverilog => (Backend::Icarus, "iverilog"),
    };
    let Pacing {
        valid_probability: valid,
        ready_probability: ready,
        seed,
    } = pacing;
    let mut check = LayerCheck {
        backend: name,
        sequences,
        valid,
        ready,
        seed,
        beats: None,
        cycles: None,
        float_max_error: None,
        worst_token_cosine: None,
        saturated: None,
        build_seconds: None,
        run_seconds: None,
        failure: None,
    };
    let design = &layer.design;
    match check_layer(design, &layer.dir, &layer.manifest, backend, sequences, pacing) {
        Ok(v) => {
            println!(
                "PASS layer {} on {name}: {} output elements bit-exact with the {} layer model, every handshake \
                 at the layer graph's cycle; {} cycles ({sequences} sequences, valid {valid} ready {ready} seed {seed}); \
                 against the float layer max error {:.3e}, worst token cosine {:.6}{}; run {:.2} s, build {:.1} s",
                design.name,
                v.beats,
                design.plan.variant.name(),
                v.cycles,
                v.float_error.max,
                v.float_error.worst_token_cosine,
                if v.saturated { "; a value saturated (status)" } else { "" },
                v.seconds,
                v.build_seconds
            );
            check.beats = Some(v.beats);
            check.cycles = Some(v.cycles);
            check.float_max_error = Some(v.float_error.max);
            check.worst_token_cosine = Some(v.float_error.worst_token_cosine);
            check.saturated = Some(v.saturated);
            check.build_seconds = Some(v.build_seconds);
            check.run_seconds = Some(v.seconds);
        }
        Err(e) => {
            println!("FAIL layer {} on {name}: {e}", design.name);
            check.failure = Some(e);
        }
    }
    check
}
