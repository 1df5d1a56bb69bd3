//! `hwformer sim`: export a block, run it on one back end under the common
//! testbench, and print PASS or FAIL with the first mismatch.

use crate::config::{block_and_d, export_checked_n_max, BlockConfig};
use crate::BlockArg;
use clap::{Args, ValueEnum};
use hwformer_sim::session::{simulate, Backend, SimOutcome, SimRequest};
use hwformer_sim::testbench::Pacing;
use hwformer_sim::verilator::BuildOptions;
use hwformer_sim::workload::WorkloadSize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Which simulator.
#[derive(Clone, Copy, ValueEnum)]
pub enum BackendArg {
    /// Verilator, compiled at run time and cached (fast).
    Verilator,
    /// rust-hdl's own simulator (slow; no external tool).
    Rusthdl,
    /// Icarus Verilog (slow; an independent simulator).
    Iverilog,
}

impl BackendArg {
    /// The simulator it names.
    pub fn backend(self) -> Backend {
        match self {
            BackendArg::Verilator => Backend::Verilator,
            BackendArg::Rusthdl => Backend::RustHdl,
            BackendArg::Iverilog => Backend::Icarus,
        }
    }
}

/// Arguments of `hwformer sim`.
#[derive(Args)]
pub struct SimArgs {
    /// Which block (or the config's).
    #[arg(value_enum, required_unless_present = "config")]
    block: Option<BlockArg>,
    /// A block configuration (TOML; its [sim] table sets defaults).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Simulator.
    #[arg(long, value_enum, default_value = "verilator")]
    backend: BackendArg,
    /// Head dimension of sdpa: 1, 2, 4, 8, 16, 32 or 64; depth of fifo
    /// (1 to 4096) (default 8).
    #[arg(long, alias = "depth")]
    d: Option<usize>,
    /// Keys per query (sdpa, binary_attention: at most n_max), most
    /// logits per row (softmax, at most 256) or inputs per group (exp)
    /// (default 64, or n_max when that is smaller).
    #[arg(long)]
    n: Option<usize>,
    /// Most keys a query the attention head is built for, 1 to 1048576 (or
    /// the config's n_max; default 256).
    #[arg(long)]
    n_max: Option<usize>,
    /// Queries (sdpa), rows (softmax), groups (exp) or tokens (linear, ffn)
    /// (default 4).
    #[arg(long)]
    queries: Option<usize>,
    /// Seed of the inputs and of the gap and back-pressure patterns (default 1).
    #[arg(long)]
    seed: Option<u64>,
    /// Probability that a source offers a beat in a cycle; 1 = no gaps (default 0.8).
    #[arg(long)]
    valid: Option<f64>,
    /// Probability that the sink is ready in a cycle; 1 = no back-pressure (default 0.8).
    #[arg(long)]
    ready: Option<f64>,
    /// Write a VCD waveform (every back end; rust-hdl's names its own way).
    #[arg(long)]
    vcd: Option<PathBuf>,
    /// Write switching activity as SAIF for Vivado's report_power (every
    /// back end).
    #[arg(long)]
    saif: Option<PathBuf>,
    /// Folder for the exported block (default target/hwformer-sim/<block>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl SimArgs {
    /// The default design's check, as `make demo` runs it.
    pub fn demo(seed: u64) -> Self {
        Self {
            block: Some(BlockArg::Sdpa),
            config: None,
            backend: BackendArg::Verilator,
            d: Some(16),
            n: Some(256),
            n_max: None,
            queries: Some(16),
            seed: Some(seed),
            valid: Some(0.9),
            ready: Some(0.9),
            vcd: None,
            saif: None,
            out: None,
            json: false,
        }
    }

    /// The same, exporting into `dir` (`--out`).
    pub fn with_out(self, dir: PathBuf) -> Self {
        Self {
            out: Some(dir),
            ..self
        }
    }

    /// A sweep point's check: `config` on Verilator at full speed (no
    /// gaps, no back-pressure), exported into `out`.
    pub fn sweep_point(
        config: PathBuf,
        n: Option<usize>,
        queries: Option<usize>,
        seed: u64,
        out: PathBuf,
    ) -> Self {
        Self {
            n,
            queries,
            valid: Some(1.0),
            ready: Some(1.0),
            out: Some(out),
            ..Self::from_config(config, seed)
        }
    }

    /// `hwformer sim --config <config> --backend verilator --seed <seed>`.
    pub fn from_config(config: PathBuf, seed: u64) -> Self {
        Self {
            block: None,
            config: Some(config),
            d: None,
            n: None,
            queries: None,
            valid: None,
            ready: None,
            ..Self::demo(seed)
        }
    }
}

/// The pacing of `--valid`, `--ready` and `--seed`, or why not.
pub fn checked_pacing(valid: f64, ready: f64, seed: u64) -> Result<Pacing, String> {
    for (name, p) in [("--valid", valid), ("--ready", ready)] {
        if !(0.01..=1.0).contains(&p) {
            return Err(format!("{name} is a probability from 0.01 to 1, not {p}"));
        }
    }
    Ok(Pacing {
        valid_probability: valid,
        ready_probability: ready,
        seed,
    })
}

/// Runs `hwformer sim`.
pub fn sim(args: &SimArgs) -> Result<ExitCode, String> {
    let (outcome, replay) = check(args)?;
    if args.json {
        println!("{}", json(&outcome)?);
    } else {
        print!("{}", text(&outcome));
        if outcome.result.is_err() {
            println!("replay: {replay}");
        }
    }
    if let Some(vcd) = &args.vcd {
        crate::progress::note!("waveform: {}", vcd.display());
    }
    if let Some((file, instance)) = &outcome.saif {
        crate::progress::note!(
            "activity: {} (for Vivado: hwformer vivado ... --saif {} --saif-strip-path {instance})",
            file.display(),
            file.display()
        );
    }
    Ok(if outcome.result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Exports the block of `args` and runs it on its simulator: the outcome
/// (the verdict or the first mismatch) and the command that replays it.
pub fn check(args: &SimArgs) -> Result<(SimOutcome, String), String> {
    let config = args.config.as_deref().map(BlockConfig::load).transpose()?;
    let defaults = config.as_ref().map(|c| c.sim.clone()).unwrap_or_default();
    let (block, d) = block_and_d(args.block.map(BlockArg::name), args.d, config.as_ref())?;
    let n = args.n.or(defaults.n);
    let queries = args.queries.or(defaults.queries).unwrap_or(4);
    let seed = args.seed.or(defaults.seed).unwrap_or(1);
    let valid = args.valid.or(defaults.valid).unwrap_or(0.8);
    let ready = args.ready.or(defaults.ready).unwrap_or(0.8);
    checked_pacing(valid, ready, seed)?;
    let dir = args.out.clone().unwrap_or_else(|| {
        let name = if block == "sdpa" {
            format!("sdpa_d{d}")
        } else {
            block.clone()
        };
        PathBuf::from("target/hwformer-sim").join(name)
    });
    let manifest = export_checked_n_max(&block, d, args.n_max, config.as_ref(), &dir)?;
    // 64 unless the head is built for fewer keys a query
    let n = n.unwrap_or_else(|| {
        let built = manifest.params.get("n_max").and_then(|p| p.number());
        built.map_or(64, |n_max| 64.min(n_max as usize))
    });
    let request = SimRequest {
        dir,
        manifest,
        backend: args.backend.backend(),
        size: WorkloadSize { n, queries, seed },
        pacing: Pacing {
            valid_probability: valid,
            ready_probability: ready,
            seed,
        },
        vcd: args.vcd.clone(),
        saif: args.saif.clone(),
        build: BuildOptions::default(),
    };
    let outcome = simulate(&request).map_err(|e| e.to_string())?;
    // everything that built the design and drove the run
    let mut replay = format!(
        "hwformer sim {block} --backend {} --d {d} --n {n} --queries {queries} --seed {seed} --valid {valid} --ready {ready}",
        request.backend.name()
    );
    if let Some(path) = &args.config {
        replay.push_str(&format!(" --config {}", path.display()));
    }
    if let Some(n_max) = args.n_max {
        replay.push_str(&format!(" --n-max {n_max}"));
    }
    Ok((outcome, replay))
}

/// The verdict as text: one PASS line with the figures, or FAIL with the
/// first mismatch and how to replay it.
pub fn text(o: &SimOutcome) -> String {
    // slow back ends (rust-hdl, Icarus) in k cycles/s, so they do not read 0.00 M
    let rate = if o.cycles_per_second >= 1e5 {
        format!("{:.2} M", o.cycles_per_second / 1e6)
    } else {
        format!("{:.1} k", o.cycles_per_second / 1e3)
    };
    let speed = format!(
        "{} cycles in {:.3} s ({rate} cycles/s; build {:.1} s)",
        o.cycles, o.seconds, o.build_seconds
    );
    match &o.result {
        Ok(v) => {
            let float = if v.float_compared == 0 {
                "float64 not compared (inputs beyond the error bound's domain)".to_string()
            } else {
                format!(
                    "max error vs float64 {:.3e} (bound {})",
                    v.max_error,
                    v.error_bound.map_or("none".into(), |b| format!("{b:.3e}"))
                )
            };
            format!(
                "PASS {} on {}: {} beats bit-exact, cycles {}, {float}; {speed}\n",
                o.block,
                o.backend.name(),
                v.beats_checked,
                match (v.cycles_checked, v.closed_form_checked) {
                    (true, true) => "of every handshake equal to the handshake graph's and the closed form's",
                    (true, false) => "of every handshake equal to the handshake graph's",
                    _ => "not compared",
                },
            )
        }
        Err(m) => format!("FAIL {} on {}: {m}; {speed}\n", o.block, o.backend.name()),
    }
}

/// The outcome as stable JSON: `status` is "pass" or "fail", with either
/// `verdict` or `mismatch`.
pub fn json(o: &SimOutcome) -> Result<String, String> {
    let mut value = serde_json::json!({
        "block": o.block,
        "backend": o.backend,
        "status": if o.result.is_ok() { "pass" } else { "fail" },
        "cycles": o.cycles,
        "seconds": o.seconds,
        "cycles_per_second": o.cycles_per_second,
        "build_seconds": o.build_seconds,
        "seed": o.seed,
    });
    match &o.result {
        Ok(v) => value["verdict"] = serde_json::to_value(v).map_err(|e| e.to_string())?,
        Err(m) => value["mismatch"] = serde_json::to_value(m).map_err(|e| e.to_string())?,
    }
    serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
}
