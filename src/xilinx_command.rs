//! The Xilinx-side commands: `hwformer report parse`, `hwformer synth`,
//! `hwformer vivado` and `hwformer estimate` (latency and energy figures
//! built on the reports).

use clap::{Args, Subcommand, ValueEnum};
use hwformer_bitstreams::estimate::{
    ClockChoice, Estimate, EstimateInput, Inference, OperationCounts, OperationEnergies,
};
use hwformer_bitstreams::report::{self, Report};
use hwformer_bitstreams::text_table::TextTable;
use hwformer_bitstreams::vivado::{Part, SaifInput, VivadoProject, POWER_REPORT, TIMING_REPORT};
use hwformer_bitstreams::yosys::{synthesize, Family};
use hwformer_dataflow::sdpa::{NumberFormat, SdpaReport, SdpaRun, Variant};
use hwformer_hdl::exp::EXP_LATENCY;
use hwformer_hdl::sdpa::{min_query_cycles, output_delay, query_cycles, SDPA_D_CHOICES, SDPA_N_MAX};
use hwformer_hdl::softmax::{first_output_delay, row_cycles, SOFTMAX_N_MAX};
use hwformer_sim::session::{simulate, simulate_workload, Backend, SimRequest};
use hwformer_sim::testbench::Pacing;
use hwformer_sim::verilator::BuildOptions;
use hwformer_sim::workload::{Workload, WorkloadSize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `hwformer report ...`.
#[derive(Subcommand)]
pub enum ReportCommand {
    /// Detect a report's kind (utilization, timing summary, power, HLS
    /// csynth .rpt or .xml) and print its key figures.
    Parse {
        /// The report file.
        file: PathBuf,
        /// Print the parsed report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `hwformer report`.
pub fn report(command: &ReportCommand) -> Result<ExitCode, String> {
    let ReportCommand::Parse { file, json } = command;
    let parsed = report::parse_file(file).map_err(|e| e.to_string())?;
    if *json {
        println!(
            "{}",
            serde_json::to_string_pretty(&parsed).map_err(|e| e.to_string())?
        );
    } else {
        println!("{}: {}", file.display(), parsed.kind().name());
        print!("{}", parsed.summary_table());
    }
    Ok(ExitCode::SUCCESS)
}

/// Where cycle counts come from.
#[derive(Clone, Copy, ValueEnum)]
pub enum CyclesFrom {
    /// The block's closed form (hwformer-hdl's formulas).
    Model,
    /// A Verilator run of the exported block at full speed.
    Sim,
    /// The block's handshake graph (the timing model every RTL run is
    /// checked against) at full speed.
    Graph,
    /// The streaming dataflow graph of the same head (with the RTL's stage
    /// counts as unit latencies), with operations counted from its units'
    /// fires (sdpa only).
    Dataflow,
}

/// Arguments of `hwformer estimate`.
#[derive(Args)]
pub struct EstimateArgs {
    /// Block: sdpa (one query of n keys), softmax (one row of n logits) or
    /// exp (n elements).
    #[arg(long, value_enum, default_value = "sdpa")]
    block: crate::BlockArg,
    /// Head dimension (sdpa only).
    #[arg(long, default_value_t = 16)]
    d: usize,
    /// Keys per query, logits per row (both at most 256) or exp elements
    /// (at most 2^24; 2^16 with --cycles-from sim).
    #[arg(long, default_value_t = 256)]
    n: usize,
    /// Where the cycle counts come from.
    #[arg(long, value_enum, default_value = "model")]
    cycles_from: CyclesFrom,
    /// Folder with Vivado's routed reports (timing_summary_routed.rpt,
    /// power_routed.rpt): the achieved clock and the measured power.
    #[arg(long)]
    vivado_dir: Option<PathBuf>,
    /// Clock in MHz when no timing report is given.
    #[arg(long, default_value_t = 200.0)]
    clock_mhz: f64,
    /// Without a timing report, run yosys and use its Fmax estimate
    /// instead of --clock-mhz.
    #[arg(long)]
    synth: bool,
    /// Process node of the ASIC estimate, in nm (Horowitz's energies are for 45).
    #[arg(long, default_value_t = 45.0)]
    node_nm: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// The latency and interval of one sdpa query (`d` lanes, `n` keys) from
/// the block's closed form, a Verilator run and the dataflow graph, as a
/// line for the main job; an error when they disagree.
pub fn sdpa_cycles_agree(d: usize, n: usize) -> Result<String, String> {
    let mut args = EstimateArgs::demo();
    (args.d, args.n) = (d, n);
    let mut line = Vec::new();
    let mut seen = None;
    for (name, from) in [
        ("closed form", CyclesFrom::Model),
        ("Verilator", CyclesFrom::Sim),
        ("handshake graph", CyclesFrom::Graph),
        ("streaming dataflow graph", CyclesFrom::Dataflow),
    ] {
        args.cycles_from = from;
        let c = sdpa_cycles(&args)?;
        line.push(format!("{name} {} / {}", c.latency, c.interval));
        if seen.is_some_and(|s| s != (c.latency, c.interval)) {
            return Err(format!(
                "sdpa d={d} n={n}: latency / interval disagree: {}",
                line.join(", ")
            ));
        }
        seen = Some((c.latency, c.interval));
    }
    Ok(format!(
        "sdpa d={d} n={n}, latency / interval in cycles: {} (equal)",
        line.join(", ")
    ))
}

impl EstimateArgs {
    /// The default design's estimate, as `make demo` prints it.
    pub fn demo() -> Self {
        Self {
            block: crate::BlockArg::Sdpa,
            d: 8,
            n: 256,
            cycles_from: CyclesFrom::Sim,
            vivado_dir: None,
            clock_mhz: 200.0,
            synth: false,
            node_nm: 45.0,
            json: false,
        }
    }
}

fn read_report(dir: &Path, name: &str) -> Result<Option<(Report, String)>, String> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(None);
    }
    let r = report::parse_file(&path).map_err(|e| e.to_string())?;
    Ok(Some((r, path.display().to_string())))
}

/// What a run of the block (or its model) gives the estimate.
struct Cycles {
    latency: u64,
    interval: u64,
    source: String,
    operations: OperationCounts,
    operations_source: String,
}

impl Cycles {
    /// Latency, interval and their source, with the operations counted
    /// and theirs.
    fn new(
        (latency, interval, source): (u64, u64, String),
        (operations, operations_source): (OperationCounts, String),
    ) -> Self {
        Self {
            latency,
            interval,
            source,
            operations,
            operations_source,
        }
    }
}

/// Cycles and operations of sdpa per query.
fn sdpa_cycles(args: &EstimateArgs) -> Result<Cycles, String> {
    let (n, d) = (args.n as u64, args.d as u64);
    let counted = |source: &str| {
        (
            OperationCounts::sdpa(d, n),
            format!("datapath count (per key x {n} keys, per query) with {source} cycles"),
        )
    };
    match args.cycles_from {
        CyclesFrom::Model => Ok(Cycles::new(
            (
                n + output_delay(d, 1),
                query_cycles(n, d, 1),
                format!(
                    "closed form: one key per cycle, output {} cycles after the last key, \
                     at least {} cycles per query",
                    output_delay(d, 1),
                    min_query_cycles(d, 1)
                ),
            ),
            counted("closed form"),
        )),
        CyclesFrom::Sim => Ok(Cycles::new(verilator_cycles(args)?, counted("Verilator"))),
        CyclesFrom::Graph => Ok(Cycles::new(graph_cycles(args)?, counted("handshake graph"))),
        CyclesFrom::Dataflow => sdpa_dataflow_cycles(args.n, args.d),
    }
}

/// What one inference of `block` is.
fn inference(block: crate::BlockArg) -> Inference {
    match block {
        crate::BlockArg::Sdpa | crate::BlockArg::BinaryAttention => Inference::Query,
        crate::BlockArg::Softmax => Inference::Row,
        crate::BlockArg::Exp
        | crate::BlockArg::Fifo
        | crate::BlockArg::Linear
        | crate::BlockArg::Ffn
        | crate::BlockArg::TernaryFfn
        | crate::BlockArg::Layernorm => Inference::Batch,
    }
}

/// Most exp elements per batch for `--cycles-from sim` (four batches are
/// simulated and traced).
const EXP_SIM_N_MAX: usize = 1 << 16;

/// Latency and interval of one inference of the block (an sdpa query, a
/// softmax row of `n` logits, `n` exp elements) from a Verilator run of
/// the exported block, four inferences at full speed, checked bit for bit
/// and cycle for cycle: the latency from the first input handshake to the
/// first inference's last output beat, the interval between the last beats
/// of consecutive inferences (an error unless all three are equal).
fn verilator_cycles(args: &EstimateArgs) -> Result<(u64, u64, String), String> {
    let block = args.block.name();
    if matches!(args.block, crate::BlockArg::Exp) && args.n > EXP_SIM_N_MAX {
        return Err(format!(
            "--cycles-from sim simulates four batches: exp takes at most {EXP_SIM_N_MAX} elements \
             there, not {} (--cycles-from model has no limit)",
            args.n
        ));
    }
    let folder = match args.block {
        crate::BlockArg::Sdpa => format!("sdpa_d{}", args.d),
        _ => block.to_string(),
    };
    let dir = PathBuf::from("target/hwformer-estimate").join(folder);
    let manifest = hwformer_hdl::export_block(block, args.d, &dir).map_err(|e| e.to_string())?;
    let request = SimRequest {
        dir: dir.clone(),
        manifest,
        backend: Backend::Verilator,
        size: WorkloadSize {
            n: args.n,
            queries: INFERENCES,
            seed: 1,
        },
        pacing: Pacing::FULL_SPEED,
        vcd: None,
        saif: None,
        build: BuildOptions::default(),
    };
    let what = format!(
        "the Verilator run of {block} (n = {}, exported in {})",
        args.n,
        dir.display()
    );
    let outcome = match args.block {
        // rows of one length (the sim command's rows have random lengths)
        crate::BlockArg::Softmax => {
            let model = hwformer_hdl::softmax::model_from_manifest(&request.manifest)?;
            Workload::softmax_rows_of_one_length(&model, request.size)
                .and_then(|workload| simulate_workload(&request, &workload))
        }
        _ => simulate(&request),
    }
    .map_err(|e| format!("{what}: {e}"))?;
    if let Err(m) = &outcome.result {
        return Err(format!("{what} failed its check: {m}"));
    }
    let (latency, interval) = inference_cycles(
        args,
        &outcome.trace.input_cycles,
        &outcome.trace.output_cycles[0],
        &what,
    )?;
    Ok((
        latency,
        interval,
        format!(
            "Verilator run, {INFERENCES} {} at full speed",
            inference(args.block).plural()
        ),
    ))
}

/// Inferences simulated for `--cycles-from sim|graph`.
const INFERENCES: usize = 4;

/// Latency and interval of one inference from a full-speed run of
/// [`INFERENCES`]: from the first input handshake to the first inference's
/// last output beat, and between the last beats of consecutive inferences
/// (an error unless all three are equal).
fn inference_cycles(
    args: &EstimateArgs,
    input_cycles: &[Vec<u64>],
    out: &[u64],
    what: &str,
) -> Result<(u64, u64), String> {
    let beats = match args.block {
        crate::BlockArg::Sdpa => 1,
        _ => args.n,
    };
    let first_input = input_cycles.iter().filter_map(|c| c.first()).min();
    // the last beat of each inference
    let done: Vec<u64> = (1..=INFERENCES)
        .filter_map(|i| out.get(i * beats - 1).copied())
        .collect();
    let (Some(&first_input), true) = (first_input, done.len() == INFERENCES) else {
        return Err(format!("{what} produced too few beats"));
    };
    let gaps: Vec<u64> = done.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.iter().any(|&g| g != gaps[0]) {
        return Err(format!(
            "{what}: the inferences did not follow one another evenly (gaps {gaps:?} cycles)"
        ));
    }
    Ok((done[0] - first_input, gaps[0]))
}

/// Latency and interval from the block's handshake graph (the timing model
/// the RTL is checked against), [`INFERENCES`] inferences at full speed.
fn graph_cycles(args: &EstimateArgs) -> Result<(u64, u64, String), String> {
    let block = args.block.name();
    let description = hwformer_sim::timing::block_graph_for(block, args.d).map_err(|e| e.to_string())?;
    let (inputs, expected) =
        hwformer_sim::timing::boundary_beats(block, args.n, INFERENCES).map_err(|e| e.to_string())?;
    let mut graph = description.build(&inputs, &expected).map_err(|e| e.to_string())?;
    let trace = graph
        .run(&Pacing::FULL_SPEED, Default::default())
        .map_err(|e| format!("the {block} handshake graph: {e}"))?;
    let what = format!("the {block} handshake graph");
    let (latency, interval) = inference_cycles(args, &trace.input_cycles, &trace.output_cycles[0], &what)?;
    Ok((
        latency,
        interval,
        format!(
            "handshake graph, {INFERENCES} {} at full speed",
            inference(args.block).plural()
        ),
    ))
}

/// Runs the streaming dataflow graph (fixed point, every output checked
/// bit for bit) for one query and for four: latency from the first,
/// interval from the difference, operations from the units' fires (score
/// unit: one per key; normalize: one per query).
fn sdpa_dataflow_cycles(n: usize, d: usize) -> Result<Cycles, String> {
    let run = |queries: usize| -> Result<SdpaReport, String> {
        let mut r = SdpaRun::new(Variant::Streaming, n, d);
        r.latencies = Some(hwformer_sim::timing::sdpa_latencies(d).map_err(|e| e.to_string())?);
        r.queries = queries;
        r.format = NumberFormat::Fixed;
        let report = r.simulate().map_err(|e| e.to_string())?;
        if !report.passed() {
            return Err("the dataflow run failed its bit-exact check".into());
        }
        Ok(report)
    };
    let (one, four) = (run(1)?, run(4)?);
    let fires = |name: &str| {
        four.report
            .contexts
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.stats.fires)
            .ok_or_else(|| format!("the dataflow graph has no `{name}` unit"))
    };
    let (keys, queries) = (fires("score")?, fires("normalize")?);
    if queries != 4 || keys != 4 * n as u64 {
        return Err(format!(
            "the dataflow run fired {keys} keys and {queries} queries, expected 4 x {n} keys"
        ));
    }
    let d = d as u64;
    let l = one.latencies;
    Ok(Cycles {
        // the run's last event is the output's arrival; the first key
        // leaves its source at cycle 0
        latency: one.cycles - 1,
        interval: (four.cycles - one.cycles) / 3,
        source: format!(
            "dataflow simulator, streaming graph (score {}, update {}, normalize {} every {}, channels {} cycles)",
            l.score, l.update, l.normalize, l.normalize_interval, l.channel
        ),
        operations: OperationCounts::sdpa_key(d)
            .times(keys / queries)
            .plus(OperationCounts::sdpa_query(d)),
        operations_source: format!(
            "datapath count per key and per query x the dataflow run's fires ({keys} score, {queries} normalize, \
             over 4 queries)"
        ),
    })
}

/// Runs `hwformer estimate`.
pub fn estimate(args: &EstimateArgs) -> Result<ExitCode, String> {
    estimate_at(args, None)
}

/// Cycles and operations of the exp unit or the softmax block (one
/// inference: `n` elements, or one row of `n` logits): cycles from their
/// closed forms or a Verilator run, operations counted from the datapath.
fn element_block_cycles(args: &EstimateArgs) -> Result<Cycles, String> {
    let n = args.n as u64;
    let (latency, interval, source, operations, counted) = match args.block {
        crate::BlockArg::Exp => (
            // inputs at 0 .. n - 1, the last output valid EXP_LATENCY later
            n - 1 + EXP_LATENCY,
            n,
            format!("closed form: one element per cycle, {EXP_LATENCY}-cycle pipeline"),
            OperationCounts::exp_element().times(n),
            format!("datapath count (per element x {n})"),
        ),
        crate::BlockArg::Softmax => (
            // the last logit at n - 1, the first probability
            // first_output_delay(n) later, the last one n - 1 after that
            2 * (n - 1) + first_output_delay(n),
            row_cycles(n),
            format!(
                "closed form: one logit per cycle, first probability {} cycles after the last logit",
                first_output_delay(n)
            ),
            OperationCounts::softmax_element()
                .times(n)
                .plus(OperationCounts::softmax_row()),
            format!("datapath count (per logit x {n}, per row)"),
        ),
        crate::BlockArg::Sdpa => return Err("sdpa takes its cycles from sdpa_cycles".into()),
        crate::BlockArg::Fifo
        | crate::BlockArg::Linear
        | crate::BlockArg::Ffn
        | crate::BlockArg::TernaryFfn
        | crate::BlockArg::Layernorm
        | crate::BlockArg::BinaryAttention => return Err(format!("no estimate for {}", args.block.name())),
    };
    match args.cycles_from {
        CyclesFrom::Model => Ok(Cycles::new(
            (latency, interval, source),
            (operations, format!("{counted} with closed-form cycles")),
        )),
        CyclesFrom::Sim => Ok(Cycles::new(
            verilator_cycles(args)?,
            (operations, format!("{counted} with Verilator cycles")),
        )),
        CyclesFrom::Graph => Ok(Cycles::new(
            graph_cycles(args)?,
            (operations, format!("{counted} with handshake graph cycles")),
        )),
        CyclesFrom::Dataflow => Err(format!(
            "--cycles-from dataflow is for sdpa (the dataflow graphs are attention graphs); \
             {} takes its cycles from its closed form or a Verilator run (--cycles-from model|sim)",
            args.block.name()
        )),
    }
}

/// `hwformer estimate` with a clock already known (the demo passes the
/// Fmax estimate of the synthesis it ran); a timing report still wins.
pub fn estimate_at(args: &EstimateArgs, known_clock: Option<ClockChoice>) -> Result<ExitCode, String> {
    let block = args.block.name();
    if matches!(
        args.block,
        crate::BlockArg::Fifo
            | crate::BlockArg::Linear
            | crate::BlockArg::Ffn
            | crate::BlockArg::TernaryFfn
            | crate::BlockArg::Layernorm
            | crate::BlockArg::BinaryAttention
    ) {
        return Err(format!(
            "estimate knows exp, softmax and sdpa; {block} is not priced yet \
             (synth gives its resources, its manifest its cycles_per_token)"
        ));
    }
    let n_max = match args.block {
        crate::BlockArg::Exp
        | crate::BlockArg::Fifo
        | crate::BlockArg::Linear
        | crate::BlockArg::Ffn
        | crate::BlockArg::TernaryFfn
        | crate::BlockArg::Layernorm => 1 << 24,
        crate::BlockArg::Softmax => SOFTMAX_N_MAX,
        crate::BlockArg::Sdpa | crate::BlockArg::BinaryAttention => SDPA_N_MAX,
    };
    if args.n == 0 || args.n > n_max {
        return Err(format!("--n must be 1 to {n_max} for {block}, not {}", args.n));
    }
    if matches!(args.block, crate::BlockArg::Sdpa) && !SDPA_D_CHOICES.contains(&args.d) {
        return Err(format!("--d must be one of {SDPA_D_CHOICES:?}, not {}", args.d));
    }
    let cycles = match args.block {
        crate::BlockArg::Sdpa => sdpa_cycles(args)?,
        _ => element_block_cycles(args)?,
    };
    let input = EstimateInput {
        block: block.to_string(),
        inference: inference(args.block),
        latency_cycles: cycles.latency,
        interval_cycles: cycles.interval,
        cycles_source: cycles.source,
        operations: cycles.operations,
        operations_source: cycles.operations_source,
    };
    let clock = match known_clock {
        Some(c) => c,
        None if args.synth => {
            let dir = PathBuf::from("target/hwformer-estimate").join(format!("{block}_d{}_synth", args.d));
            let manifest = hwformer_hdl::export_block(block, args.d, &dir).map_err(|e| e.to_string())?;
            crate::progress::note!(
                "synthesizing {} with yosys for its Fmax estimate ...",
                manifest.module
            );
            let s = synthesize(&dir, &manifest.verilog, &manifest.module, Family::Xc7)
                .map_err(|e| e.to_string())?;
            ClockChoice::estimated(s.logic_depth.fmax_mhz, "yosys xc7 netlist")?
        }
        None => ClockChoice::requested(args.clock_mhz)?,
    };
    let (clock, power) = match &args.vivado_dir {
        Some(dir) => vivado_reports(dir, clock)?,
        None => (clock, None),
    };
    let energies = OperationEnergies::HOROWITZ_45NM.at_node(args.node_nm)?;
    let e = Estimate::new(
        input,
        clock,
        power.as_ref().map(|(p, f)| (p, f.as_str())),
        energies,
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e).map_err(|e| e.to_string())?);
    } else {
        match args.block {
            crate::BlockArg::Sdpa => println!(
                "sdpa d={} n={}: one query against {} keys",
                args.d, args.n, args.n
            ),
            crate::BlockArg::Softmax => println!("softmax: one row of {} logits", args.n),
            crate::BlockArg::Exp
            | crate::BlockArg::Fifo
            | crate::BlockArg::Linear
            | crate::BlockArg::Ffn
            | crate::BlockArg::TernaryFfn
            | crate::BlockArg::Layernorm
            | crate::BlockArg::BinaryAttention => {
                println!("{block}: {} elements", args.n)
            }
        }
        print!("{}", e.table());
    }
    Ok(ExitCode::SUCCESS)
}

/// The clock and power of Vivado's routed reports in `dir`
/// ([`TIMING_REPORT`], [`POWER_REPORT`]): the achieved clock when the
/// timing report is there (else `clock`, said so), the power report when
/// it is (with its file name).
pub fn vivado_reports(
    dir: &Path,
    clock: ClockChoice,
) -> Result<(ClockChoice, Option<(report::power::PowerReport, String)>), String> {
    if !dir.is_dir() {
        return Err(format!("--vivado-dir {}: not a folder", dir.display()));
    }
    let clock = match read_report(dir, TIMING_REPORT)? {
        Some((Report::Timing(t), file)) => ClockChoice::achieved(&t, &file)?,
        Some((other, file)) => return Err(format!("{file} is a {} report", other.kind().name())),
        None => {
            crate::progress::note!(
                "estimate: no {TIMING_REPORT} in {}: using the clock of the {}",
                dir.display(),
                clock.source
            );
            clock
        }
    };
    let power = match read_report(dir, POWER_REPORT)? {
        Some((Report::Power(p), file)) => Some((p, file)),
        Some((other, file)) => return Err(format!("{file} is a {} report", other.kind().name())),
        None => {
            crate::progress::note!(
                "estimate: no {POWER_REPORT} in {}: no FPGA energy figures",
                dir.display()
            );
            None
        }
    };
    Ok((clock, power))
}

/// Arguments of `hwformer vivado`.
#[derive(Args)]
pub struct VivadoArgs {
    /// Which block.
    #[arg(value_enum)]
    block: crate::BlockArg,
    /// Head dimension of sdpa.
    #[arg(long, default_value_t = 8)]
    d: usize,
    /// Xilinx part: a full name (xc7a100tcsg324-1) or a device (xc7a100t,
    /// xczu9eg, xcvu13p) with a default package and speed grade.
    #[arg(long)]
    part: String,
    /// Clock constraint in MHz.
    #[arg(long, default_value_t = 200.0)]
    clock_mhz: f64,
    /// Output folder (e.g. bitstreams/<name>/).
    #[arg(long)]
    out: PathBuf,
    /// Synthesize with I/O buffers (in context) instead of out of context.
    #[arg(long)]
    in_context: bool,
    /// A SAIF activity file for report_power (from `hwformer sim --saif`).
    #[arg(long)]
    saif: Option<String>,
    /// The design's instance path inside the SAIF file (`hwformer sim
    /// --saif` prints it: `TOP/<module>` from Verilator, `tb/dut` from Icarus).
    #[arg(long, requires = "saif")]
    saif_strip_path: Option<String>,
    /// More constraint files (pin locations, I/O standards) read after the
    /// generated clock constraint, relative to --out unless absolute;
    /// repeat for several.
    #[arg(long)]
    xdc: Vec<String>,
    /// End the script with write_bitstream (needs --in-context and pin
    /// constraints in --xdc for a top with I/O).
    #[arg(long, requires = "in_context")]
    write_bitstream: bool,
}

/// Runs `hwformer vivado`: the block's Verilog, its XDC, a batch TCL
/// script and a run script.
pub fn vivado(args: &VivadoArgs) -> Result<ExitCode, String> {
    let part = Part::parse(&args.part).map_err(|e| e.to_string())?;
    let manifest =
        hwformer_hdl::export_block(args.block.name(), args.d, &args.out).map_err(|e| e.to_string())?;
    let mut project = VivadoProject::new(
        &manifest.module,
        [manifest.verilog.clone()],
        &manifest.clock,
        part,
        args.clock_mhz,
    )
    .map_err(|e| e.to_string())?
    .with_out_of_context(!args.in_context)
    .with_write_bitstream(args.write_bitstream)
    .map_err(|e| e.to_string())?;
    for memory in manifest.memories.clone() {
        project = project.with_memory_file(memory).map_err(|e| e.to_string())?;
    }
    for file in &args.xdc {
        project = project.with_extra_xdc(file.clone()).map_err(|e| e.to_string())?;
    }
    if let Some(file) = &args.saif {
        let strip_path = args.saif_strip_path.clone().ok_or(
            "--saif needs --saif-strip-path: the design's instance in the SAIF file, as hwformer sim --saif prints it",
        )?;
        project = project
            .with_saif(SaifInput {
                file: file.clone(),
                strip_path,
            })
            .map_err(|e| e.to_string())?;
    }
    let written = project.write(&args.out).map_err(|e| e.to_string())?;
    println!(
        "{}: part {}, clock {} MHz ({:.3} ns){}",
        manifest.module,
        project.part,
        args.clock_mhz,
        project.period_ns(),
        if project.out_of_context {
            ", out of context"
        } else {
            ""
        }
    );
    for path in std::iter::once(args.out.join(&manifest.verilog)).chain(written) {
        println!("wrote {}", path.display());
    }
    println!(
        "run it where Vivado is installed: sh {}/run.sh; then: hwformer estimate --vivado-dir {}",
        args.out.display(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Target family of `hwformer synth`.
#[derive(Clone, Copy, ValueEnum)]
pub enum FamilyArg {
    /// 7-series.
    Xc7,
    /// UltraScale+.
    Xcup,
}

/// Arguments of `hwformer synth`.
#[derive(Args)]
pub struct SynthArgs {
    /// Which block.
    #[arg(value_enum)]
    block: crate::BlockArg,
    /// Head dimension of sdpa and binary_attention, depth of fifo (or the
    /// config's `d`; default 8).
    #[arg(long)]
    d: Option<usize>,
    /// A block configuration (TOML; the layer blocks' sizes, lanes and weights).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Target family.
    #[arg(long, value_enum, default_value = "xc7")]
    family: FamilyArg,
    /// Folder for the Verilog and yosys' outputs (default target/hwformer-synth/<block>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `hwformer synth`: yosys resources and the Fmax estimate.
pub fn synth(args: &SynthArgs) -> Result<ExitCode, String> {
    let family = args.family.family();
    let block = args.block.name();
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/hwformer-synth").join(block));
    let config = args
        .config
        .as_deref()
        .map(crate::config::BlockConfig::load)
        .transpose()?;
    let (block, d) = crate::config::block_and_d(Some(block), args.d, config.as_ref())?;
    let (manifest, s) = export_and_synthesize(&block, d, config.as_ref(), &dir, family)?;
    print_synthesis(&manifest.module, family, &s, args.json)
}

/// Exports `block` (of `config`) into `dir` and synthesizes it for
/// `family`: its manifest and the synthesis.
pub fn export_and_synthesize(
    block: &str,
    d: usize,
    config: Option<&crate::config::BlockConfig>,
    dir: &Path,
    family: Family,
) -> Result<
    (
        hwformer_hdl::manifest::Manifest,
        hwformer_bitstreams::yosys::Synthesis,
    ),
    String,
> {
    let manifest = crate::config::export_checked(block, d, config, dir)?;
    crate::progress::note!(
        "synthesizing {} for {} with yosys ...",
        manifest.module,
        family.name()
    );
    let s = synthesize(dir, &manifest.verilog, &manifest.module, family).map_err(|e| e.to_string())?;
    Ok((manifest, s))
}

impl FamilyArg {
    /// The family.
    pub fn family(self) -> Family {
        match self {
            FamilyArg::Xc7 => Family::Xc7,
            FamilyArg::Xcup => Family::Xcup,
        }
    }
}

/// Prints a synthesis: resources, the Fmax estimate and its slowest paths
/// (or the JSON of it all).
pub fn print_synthesis(
    module: &str,
    family: Family,
    s: &hwformer_bitstreams::yosys::Synthesis,
    json: bool,
) -> Result<ExitCode, String> {
    if json {
        println!("{}", serde_json::to_string_pretty(s).map_err(|e| e.to_string())?);
        return Ok(ExitCode::SUCCESS);
    }
    let r = &s.resources;
    let mut t = TextTable::new(["resource", "count"]);
    for (name, count) in [
        ("LUT", r.luts),
        ("LUT as memory", r.lutram),
        ("FF", r.flip_flops),
        ("CARRY", r.carry),
        ("DSP", r.dsp),
        ("RAMB18", r.ramb18),
        ("RAMB36", r.ramb36),
        ("URAM", r.uram),
    ] {
        t.add_row([name.to_string(), count.to_string()]);
    }
    println!("{module} on {} (yosys synth_xilinx -flatten)", family.name());
    print!("{}", t.render());
    let d = &s.logic_depth;
    println!(
        "critical path estimate: {:.2} ns, {} LUT levels, Fmax about {:.0} MHz\n  (an estimate from the netlist, not a timing analysis; delays: {})",
        d.critical_path_ns, d.lut_levels, d.fmax_mhz, d.delays
    );
    if d.slowest_paths.len() > 1 {
        println!("  the slowest paths into distinct registers (estimate, ns):");
        for path in &d.slowest_paths {
            println!("    {:6.2}  {}", path.ns, path.nets.join(" -> "));
        }
    } else if !d.critical_path.is_empty() {
        println!("  through the nets: {}", d.critical_path.join(" -> "));
    }
    if !d.unknown_cells.is_empty() {
        println!("  cells timed as one LUT: {}", d.unknown_cells.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
