//! `hwformer sim`: export a block, run it on one back end under the common
//! testbench, and print PASS or FAIL with the first mismatch.

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

/// Arguments of `hwformer sim`.
#[derive(Args)]
pub struct SimArgs {
    /// Which block.
    #[arg(value_enum)]
    block: BlockArg,
    /// Simulator.
    #[arg(long, value_enum, default_value = "verilator")]
    backend: BackendArg,
    /// Head dimension of sdpa: 1, 2, 4, 8, 16, 32 or 64.
    #[arg(long, default_value_t = 8)]
    d: usize,
    /// Keys per query (sdpa, at most 256), logits per row (softmax, at most
    /// 256) or inputs per group (exp).
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// Queries (sdpa), rows (softmax) or groups (exp).
    #[arg(long, default_value_t = 4)]
    queries: usize,
    /// Seed of the inputs and of the gap and back-pressure patterns.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Probability that a source offers a beat in a cycle (1 = no gaps).
    #[arg(long, default_value_t = 0.8)]
    valid: f64,
    /// Probability that the sink is ready in a cycle (1 = no back-pressure).
    #[arg(long, default_value_t = 0.8)]
    ready: f64,
    /// Write a VCD waveform (verilator and iverilog back ends).
    #[arg(long)]
    vcd: Option<PathBuf>,
    /// Write switching activity as SAIF for Vivado's report_power
    /// (verilator and iverilog back ends).
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
            block: BlockArg::Sdpa,
            backend: BackendArg::Verilator,
            d: 16,
            n: 256,
            queries: 16,
            seed,
            valid: 0.9,
            ready: 0.9,
            vcd: None,
            saif: None,
            out: None,
            json: false,
        }
    }
}

/// Runs `hwformer sim`.
pub fn sim(args: &SimArgs) -> Result<ExitCode, String> {
    for (name, p) in [("--valid", args.valid), ("--ready", args.ready)] {
        if !(p > 0.0 && p <= 1.0) {
            return Err(format!("{name} is a probability in (0, 1], not {p}"));
        }
    }
    let block = args.block.name();
    let dir = args.out.clone().unwrap_or_else(|| {
        let name = if block == "sdpa" {
            format!("sdpa_d{}", args.d)
        } else {
            block.to_string()
        };
        PathBuf::from("target/hwformer-sim").join(name)
    });
    let manifest = hwformer_hdl::export_block(block, args.d, &dir).map_err(|e| e.to_string())?;
    let backend = match args.backend {
        BackendArg::Verilator => Backend::Verilator,
        BackendArg::Rusthdl => Backend::RustHdl,
        BackendArg::Iverilog => Backend::Icarus,
    };
    let request = SimRequest {
        dir,
        manifest,
        backend,
        size: WorkloadSize {
            n: args.n,
            queries: args.queries,
            seed: args.seed,
        },
        pacing: Pacing {
            valid_probability: args.valid,
            ready_probability: args.ready,
            seed: args.seed,
        },
        vcd: args.vcd.clone(),
        saif: args.saif.clone(),
        build: BuildOptions::default(),
    };
    let outcome = simulate(&request).map_err(|e| e.to_string())?;
    if args.json {
        println!("{}", json(&outcome)?);
    } else {
        print!("{}", text(&outcome));
    }
    if let Some(vcd) = &args.vcd {
        eprintln!("waveform: {}", vcd.display());
    }
    if let Some((file, instance)) = &outcome.saif {
        eprintln!(
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

/// The verdict as text: one PASS line with the figures, or FAIL with the
/// first mismatch and how to replay it.
pub fn text(o: &SimOutcome) -> String {
    let speed = format!(
        "{} cycles in {:.3} s ({:.2} M cycles/s; build {:.1} s)",
        o.cycles,
        o.seconds,
        o.cycles_per_second / 1e6,
        o.build_seconds
    );
    match &o.result {
        Ok(v) => {
            format!(
            "PASS {} on {}: {} beats bit-exact, cycles {}, max error vs float64 {:.3e} (bound {}); {speed}\n",
            o.block,
            o.backend.name(),
            v.beats_checked,
            match (v.cycles_checked, v.closed_form_checked) {
                (true, true) => "of every handshake equal to the timing model's and the closed form's",
                (true, false) => "of every handshake equal to the timing model's",
                _ => "not compared",
            },
            v.max_error,
            v.error_bound.map_or("none".into(), |b| format!("{b:e}")),
        )
        }
        Err(m) => format!(
            "FAIL {} on {}: {m}; replay with --seed {}; {speed}\n",
            o.block,
            o.backend.name(),
            o.seed
        ),
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
