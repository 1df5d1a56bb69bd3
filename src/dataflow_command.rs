//! `hwformer dataflow <block>`: a block's handshake graph (its one timing
//! model) run under seeded pacing, with cycles, per-link and per-unit
//! counters, JSON and a VCD of the graph's links; and `hwformer dataflow
//! min-depth --block fifo`, the FIFO depth search on a handshake graph.

use crate::sim_command::checked_pacing;
use clap::Args;
use hwformer_dataflow::handshake::{GraphError, GraphReport, HandshakeTrace, RunOptions};
use hwformer_dataflow::pacing::Pacing;
use hwformer_sim::timing::{block_graph_for, boundary_beats, fifo_depth_search};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// What a block's graph run takes.
#[derive(Args)]
pub struct GraphArgs {
    /// Head dimension of sdpa (1, 2, 4, ..., 64); depth of fifo (1 to 4096).
    #[arg(long, alias = "depth", default_value_t = 8)]
    pub d: usize,
    /// Keys per query (sdpa), logits per row (softmax, every row this
    /// long), elements per group (exp, fifo).
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Queries, rows or groups.
    #[arg(long, default_value_t = 4)]
    pub queries: usize,
    /// Probability that a source offers its next beat in a cycle (1 = no gaps).
    #[arg(long, default_value_t = 1.0)]
    pub valid: f64,
    /// Probability that a sink is ready in a cycle (1 = no back-pressure).
    #[arg(long, default_value_t = 1.0)]
    pub ready: f64,
    /// Seed of the gap and back-pressure patterns (the same as `hwformer sim`'s).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Write the graph's links (valid, ready, last) and unit occupancies as a VCD.
    #[arg(long)]
    pub vcd: Option<PathBuf>,
}

/// A graph run as `--json` prints it.
#[derive(Serialize)]
struct GraphRun<'a> {
    pacing: Pacing,
    n: usize,
    queries: usize,
    d: usize,
    /// Cycle of each input and output handshake, per stream.
    handshakes: &'a HandshakeTrace,
    report: &'a GraphReport,
}

/// Runs `block`'s graph and prints it; a deadlock exits with 2.
pub fn run_block(block: &str, args: &GraphArgs) -> Result<ExitCode, String> {
    let pacing = checked_pacing(args.valid, args.ready, args.seed)?;
    let description = block_graph_for(block, args.d).map_err(|e| e.to_string())?;
    let (inputs, expected) = boundary_beats(block, args.n, args.queries).map_err(|e| e.to_string())?;
    let mut graph = description.build(&inputs, &expected).map_err(|e| e.to_string())?;
    let mut file = match &args.vcd {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => None,
    };
    let start = Instant::now();
    let options = RunOptions {
        vcd: file.as_mut().map(|f| f as &mut dyn std::io::Write),
        ..RunOptions::default()
    };
    let trace = match graph.run(&pacing, options) {
        Ok(t) => t,
        Err(GraphError::Deadlock(stuck)) => {
            crate::progress::note!("hwformer: deadlock: {stuck}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.to_string()),
    };
    let seconds = start.elapsed().as_secs_f64();
    let report = graph.report(trace.cycles);
    if args.json {
        let run = GraphRun {
            pacing,
            n: args.n,
            queries: args.queries,
            d: args.d,
            handshakes: &trace,
            report: &report,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&run).map_err(|e| e.to_string())?
        );
    } else {
        print_run(block, args, &graph, &trace, &report, seconds);
    }
    if let Some(path) = &args.vcd {
        crate::progress::note!("vcd: {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_run(
    block: &str,
    args: &GraphArgs,
    graph: &hwformer_dataflow::handshake::Graph,
    trace: &HandshakeTrace,
    report: &GraphReport,
    seconds: f64,
) {
    let size = match block {
        "sdpa" => format!("d = {}, ", args.d),
        "fifo" => format!("depth {}, ", args.d),
        _ => String::new(),
    };
    println!(
        "{block} handshake graph: {size}{} x {}, valid {} ready {} seed {}",
        args.queries, args.n, args.valid, args.ready, args.seed
    );
    println!(
        "cycles        {} (to the last expected output beat)",
        trace.cycles
    );
    let streams = [
        ("input ", graph.input_streams(), &trace.input_cycles),
        ("output", graph.output_streams(), &trace.output_cycles),
    ];
    for (direction, names, cycles) in streams {
        for (name, cycles) in names.iter().zip(cycles) {
            let at = |c: Option<&u64>| c.map_or("-".into(), u64::to_string);
            println!(
                "{direction} {name:<6} {} beats, first at {}, last at {}",
                cycles.len(),
                at(cycles.first()),
                at(cycles.last())
            );
        }
    }
    println!(
        "simulated     {:.2} M cycles/s ({:.3} s wall, not a benchmark)",
        trace.cycles as f64 / seconds.max(1e-9) / 1e6,
        seconds
    );
    println!(
        "\n| link | beats | stalled (valid, not ready) | starved (ready, not valid) |\n|---|---|---|---|"
    );
    for l in &report.links {
        let s = l.stats;
        println!(
            "| {} | {} | {} | {} |",
            l.name, s.beats, s.stalled_cycles, s.starved_cycles
        );
    }
    println!(
        "\n| unit | kind | peak occupancy | occupied cycles | output stalled cycles |\n|---|---|---|---|---|"
    );
    for u in &report.units {
        let s = u.stats;
        println!(
            "| {} | {} | {} | {} | {} |",
            u.name, u.kind, s.peak_occupancy, s.occupied_cycles, s.output_stalled_cycles
        );
    }
}

/// Searches the fifo block's depth for full throughput under the pacing.
pub fn min_depth_fifo(args: &GraphArgs, ample: usize) -> Result<ExitCode, String> {
    let pacing = checked_pacing(args.valid, args.ready, args.seed)?;
    if !(1..=hwformer_hdl::fifo::FIFO_DEPTH_MAX).contains(&ample) {
        return Err(format!(
            "--ample must be 1 to {}, not {ample}",
            hwformer_hdl::fifo::FIFO_DEPTH_MAX
        ));
    }
    let start = Instant::now();
    let search = fifo_depth_search(args.n, args.queries, &pacing, ample).map_err(|e| e.to_string())?;
    let title = format!(
        "min-depth fifo, {} x {} beats, valid {} ready {} seed {}",
        args.queries, args.n, args.valid, args.ready, args.seed
    );
    print_search(&title, &search, args.json, start)
}

/// `hwformer dataflow min-depth --block ffn|ternary_ffn --config FILE`:
/// the hidden FIFO of the FFN the config describes, `args.queries` tokens.
pub fn min_depth_ffn(
    block: &str,
    config: &std::path::Path,
    args: &GraphArgs,
    ample: Option<usize>,
) -> Result<ExitCode, String> {
    let pacing = checked_pacing(args.valid, args.ready, args.seed)?;
    let settings = crate::config::BlockConfig::load(config)?.layer_settings()?;
    let (d_model, d_ff, lanes) = hwformer_hdl::ffn::sizes(&settings)?;
    let ample = ample.unwrap_or(d_ff);
    if !(1..=hwformer_hdl::fifo::FIFO_DEPTH_MAX).contains(&ample) {
        return Err(format!(
            "--ample must be 1 to {}, not {ample}",
            hwformer_hdl::fifo::FIFO_DEPTH_MAX
        ));
    }
    let start = Instant::now();
    let search =
        hwformer_sim::timing::ffn_depth_search(block, (d_model, d_ff, lanes), args.queries, &pacing, ample)
            .map_err(|e| e.to_string())?;
    let title = format!(
        "min-depth {block} {d_model} x {d_ff}, {lanes} lanes, {} tokens, valid {} ready {} seed {}",
        args.queries, args.valid, args.ready, args.seed
    );
    let status = print_search(&title, &search, args.json, start)?;
    if !args.json {
        if let Some(f) = search.fifos.first() {
            println!(
                "to build it: hidden_depth = {} in {} (the default is {})",
                f.full_throughput_depth,
                config.display(),
                hwformer_hdl::ffn::HIDDEN_DEPTH_DEFAULT
            );
        }
    }
    Ok(status)
}

/// A layer's FIFO search: its name, plan and the search.
pub struct LayerSearch {
    /// The preset's or configuration's name.
    pub name: String,
    /// The plan searched.
    pub plan: hwformer_sim::timing::LayerPlan,
    /// What the search found.
    pub search: hwformer_dataflow::handshake::min_depth::DepthSearch,
}

/// `hwformer dataflow min-depth --layer PRESET|CONFIG.toml`: the FIFOs of
/// a whole encoder layer's handshake graph over `sequences` sequences;
/// prints them and returns the search.
pub fn min_depth_layer(
    layer: &str,
    sequences: usize,
    ample: Option<usize>,
    json: bool,
) -> Result<LayerSearch, String> {
    let config = if layer.ends_with(".toml") || std::path::Path::new(layer).is_file() {
        crate::layer_config::LayerConfig::load(std::path::Path::new(layer))?
    } else {
        crate::layer_config::LayerConfig {
            preset: Some(layer.to_string()),
            ..Default::default()
        }
    };
    let plan = config.plan()?;
    let name = config.name().to_string();
    let graph = plan.graph().map_err(|e| format!("layer {name}: {e}"))?;
    let s = plan.shape;
    let sequence = s.sequence_elements();
    crate::layer_config::check_sequences(sequences).map_err(|e| format!("--sequences: {e}"))?;
    let ample = ample.unwrap_or(2 * sequence);
    let start = Instant::now();
    let search = graph
        .search_depths(sequences, ample)
        .map_err(|e| format!("layer {name}: {e}"))?;
    let title = format!(
        "min-depth layer {name} ({}), {sequences} sequences at full speed",
        crate::layer_command::describe_plan(&plan)
    );
    print_search(&title, &search, json, start)?;
    Ok(LayerSearch { name, plan, search })
}

/// Prints a depth search as a table (or JSON).
fn print_search(
    title: &str,
    search: &hwformer_dataflow::handshake::min_depth::DepthSearch,
    json: bool,
    start: Instant,
) -> Result<ExitCode, String> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(search).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{title}: full throughput = {} cycles at depth {}",
        search.full_throughput_cycles, search.ample_depth
    );
    println!(
        "\n| fifo | full-throughput depth | deadlocks below | cycles one slot less |\n|---|---|---|---|"
    );
    for f in &search.fifos {
        let less = f.cycles_one_less.map_or("-".to_string(), |c| c.to_string());
        println!(
            "| {} | {} | {} | {less} |",
            f.name, f.full_throughput_depth, f.deadlock_free_depth
        );
    }
    println!(
        "{} simulations in {:.3} s",
        search.simulations,
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Exports `block` (`d`: sdpa lanes, fifo depth) into `dir` and runs it
/// on Verilator under `pacing`, every beat and handshake checked.
fn verilator_run(
    dir: std::path::PathBuf,
    block: &str,
    d: usize,
    size: hwformer_sim::workload::WorkloadSize,
    pacing: Pacing,
) -> Result<hwformer_sim::session::SimOutcome, String> {
    use hwformer_sim::session::{simulate, Backend, SimRequest};
    let manifest = hwformer_hdl::export_block(block, d, &dir).map_err(|e| e.to_string())?;
    let request = SimRequest {
        dir,
        manifest,
        backend: Backend::Verilator,
        size,
        pacing,
        vcd: None,
        saif: None,
        build: Default::default(),
    };
    let outcome = simulate(&request).map_err(|e| format!("{block}: {e}"))?;
    if let Err(m) = &outcome.result {
        crate::progress::note!("hwformer: FAIL: {m}");
    }
    Ok(outcome)
}

/// The main job's section on the one timing model: each block on
/// Verilator under gaps and back-pressure, every handshake compared with
/// its graph; then a FIFO depth found by the graph, shown on the RTL.
pub fn demo(out: &std::path::Path, seed: u64) -> Result<ExitCode, String> {
    use hwformer_sim::workload::WorkloadSize;
    let pacing = checked_pacing(0.6, 0.5, seed)?;
    println!("| block | inferences | cycles (RTL = graph) | every handshake in the graph's cycle |\n|---|---|---|---|");
    let mut all = true;
    for (block, d, n, queries) in [
        ("exp", 0, 32, 4),
        ("softmax", 0, 24, 6),
        ("sdpa", 8, 16, 6),
        ("fifo", 8, 32, 4),
    ] {
        let size = WorkloadSize { n, queries, seed };
        let outcome = verilator_run(out.join(format!("{block}{d}")), block, d, size, pacing)?;
        let passed = outcome.result.is_ok();
        all &= passed;
        println!(
            "| {block}{} | {queries} x {n} | {} | {} |",
            if d > 0 { format!(" ({d})") } else { String::new() },
            outcome.cycles,
            if passed { "yes" } else { "NO" }
        );
    }
    let (n, queries) = (50, 8);
    let fifo_pacing = checked_pacing(0.5, 0.5, seed)?;
    let start = Instant::now();
    let search = fifo_depth_search(n, queries, &fifo_pacing, 256).map_err(|e| e.to_string())?;
    let found = &search.fifos[0];
    println!(
        "\nhwformer dataflow min-depth --block fifo --n {n} --queries {queries} --valid 0.5 --ready 0.5 \
         --seed {seed}: depth {} keeps full throughput ({} cycles; {} graph runs in {:.3} s)",
        found.full_throughput_depth,
        search.full_throughput_cycles,
        search.simulations,
        start.elapsed().as_secs_f64()
    );
    println!(
        "\n| fifo depth | graph cycles | RTL cycles (Verilator, every handshake checked) |\n|---|---|---|"
    );
    let depth = found.full_throughput_depth;
    let rows = [
        (depth, Some(search.full_throughput_cycles)),
        (depth - 1, found.cycles_one_less),
    ];
    for (d, graph_cycles) in rows.into_iter().filter(|(d, _)| *d >= 1) {
        let size = WorkloadSize { n, queries, seed };
        let outcome = verilator_run(out.join(format!("fifo_min{d}")), "fifo", d, size, fifo_pacing)?;
        let same = graph_cycles == Some(outcome.cycles) && outcome.result.is_ok();
        all &= same;
        println!(
            "| {d} | {} | {}{} |",
            graph_cycles.map_or("-".into(), |c| c.to_string()),
            outcome.cycles,
            if same { "" } else { " (DIFFERS)" }
        );
    }
    Ok(if all { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
