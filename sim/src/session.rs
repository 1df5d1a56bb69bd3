//! One checked simulation of an exported block on a chosen back end:
//! workload, run, check, timing. What `hwformer sim` prints.

use crate::check::{check, CycleChecks, Mismatch, MismatchKind, Verdict};
use crate::icarus::{self, IcarusOptions};
use crate::ports::PortMap;
use crate::rusthdl::rusthdl_model;
use crate::testbench::{self, Pacing, Stimulus, Trace, DRAIN_CYCLES};
use crate::timing;
use crate::verilator::{self, BuildOptions, VerilatedModel};
use crate::workload::{Workload, WorkloadSize};
use crate::SimError;
use hwformer_hdl::manifest::Manifest;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Verilator, compiled at run time (fast).
    Verilator,
    /// rust-hdl's own simulator (slow, no external tool).
    RustHdl,
    /// Icarus Verilog (slow, an independent simulator).
    Icarus,
}

impl Backend {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Verilator => "verilator",
            Self::RustHdl => "rusthdl",
            Self::Icarus => "iverilog",
        }
    }
}

/// What to simulate and how.
#[derive(Debug, Clone)]
pub struct SimRequest {
    /// Folder holding the exported block (`<block>.v`, `<block>.json`).
    pub dir: PathBuf,
    /// The block's manifest.
    pub manifest: Manifest,
    /// The back end.
    pub backend: Backend,
    /// Workload size and seed.
    pub size: WorkloadSize,
    /// Input gaps and output back-pressure.
    pub pacing: Pacing,
    /// Waveform file, if asked for.
    pub vcd: Option<PathBuf>,
    /// Switching-activity (SAIF) file, if asked for (from the waveform).
    pub saif: Option<PathBuf>,
    /// Options of the Verilator build (cache folder).
    pub build: BuildOptions,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct SimOutcome {
    /// Back end used.
    pub backend: Backend,
    /// Block name.
    pub block: String,
    /// PASS (the verdict) or FAIL (the first mismatch).
    pub result: Result<Verdict, Mismatch>,
    /// Cycles simulated.
    pub cycles: u64,
    /// Seconds in the simulation loop (build excluded; for Icarus, its
    /// run after `iverilog` compiled the testbench).
    pub seconds: f64,
    /// Simulated cycles per second, driving and monitoring included.
    pub cycles_per_second: f64,
    /// Seconds spent building (verilating and compiling, a cache hit, or
    /// `iverilog`'s compile).
    pub build_seconds: f64,
    /// The seed of the workload and the pacing (replays the run).
    pub seed: u64,
    /// The SAIF file written and the block's instance path in it (for
    /// Vivado's `read_saif -strip_path`).
    pub saif: Option<(PathBuf, String)>,
    /// Every handshake, for cross-checks between back ends.
    #[serde(skip)]
    pub trace: Trace,
}

/// A cycle limit generous enough for any correct block: a stuck block
/// ends there with an error instead of running forever. It allows for
/// the beats under the pacing, and for a block that computes longer than
/// it streams (a layer block with few lanes: 73 728 cycles a token for a
/// 384 x 1536 layer at 8 lanes) twice its manifest's `cycles_per_token`
/// for every token, and its latency.
pub fn cycle_limit(manifest: &hwformer_hdl::manifest::Manifest, workload: &Workload, pacing: Pacing) -> u64 {
    let beats: usize = workload.inputs.iter().map(|b| b.len()).sum::<usize>()
        + workload.expected.iter().map(|b| b.len()).sum::<usize>();
    let slowest = pacing.valid_probability.min(pacing.ready_probability).max(0.01);
    let tokens = workload.expected[0].last.iter().filter(|&&l| l).count() as f64;
    let per_token = manifest
        .params
        .get("cycles_per_token")
        .and_then(|p| p.number())
        .unwrap_or(0.0);
    (4.0 * beats as f64 / slowest) as u64
        + 40 * workload.expected[0].len() as u64
        + 2000
        + (2.0 * per_token * tokens) as u64
        + manifest.latency_cycles
}

/// Builds the workload, runs it, and checks it.
pub fn simulate(request: &SimRequest) -> Result<SimOutcome, SimError> {
    let workload = Workload::from_folder(&request.dir, &request.manifest, request.size)?;
    simulate_workload(request, &workload)
}

/// Runs a workload built by the caller (e.g. softmax rows of one length,
/// [`Workload::softmax_rows`]) and checks it; `request.size` only names
/// its seed in the outcome.
pub fn simulate_workload(request: &SimRequest, workload: &Workload) -> Result<SimOutcome, SimError> {
    let mut request = request.clone();
    if request.saif.is_some() && request.vcd.is_none() {
        request.vcd = Some(absolute(&request.dir.join("activity.vcd"))?);
    }
    let request = &request;
    // the RTL reads its memory files at run time: a missing one would read as zeros
    for memory in &request.manifest.memories {
        let path = request.dir.join(memory);
        if !path.is_file() {
            return Err(SimError::Invalid(format!(
                "{}: the memory file the manifest names is missing (write the block again with `hwformer gen`)",
                path.display()
            )));
        }
    }
    let expected = workload.expected_beats();
    let stimulus = Stimulus {
        inputs: &workload.inputs,
        expected: &expected,
        pacing: request.pacing,
        max_cycles: cycle_limit(&request.manifest, workload, request.pacing),
    };
    let ports = PortMap::new(&request.manifest);
    let built = Instant::now();
    let (trace, seconds, build_seconds) = match request.backend {
        Backend::Verilator => {
            let options = BuildOptions {
                trace: request.vcd.is_some(),
                ..request.build.clone()
            };
            let library = verilator::build(&request.dir, &request.manifest, &options)?;
            let mut model = VerilatedModel::load(&library, &ports, &request.dir)?;
            if let Some(vcd) = &request.vcd {
                model.open_vcd(vcd)?;
            }
            let build_seconds = built.elapsed().as_secs_f64();
            let start = Instant::now();
            let trace = testbench::run(&mut model, &ports, &stimulus)?;
            (trace, start.elapsed().as_secs_f64(), build_seconds)
        }
        // on a big-stack thread: rust-hdl's blocks are values on the stack
        Backend::RustHdl => hwformer_hdl::export::on_big_stack("rust-hdl simulation", || {
            let mut model = rusthdl_model(&request.dir, &request.manifest, request.vcd.as_deref())?;
            let build_seconds = built.elapsed().as_secs_f64();
            let start = Instant::now();
            // the waveform is written out even when the run failed: that is
            // when it is wanted
            let trace = testbench::run(model.as_mut(), &ports, &stimulus);
            model.finish()?;
            Ok::<_, SimError>((trace?, start.elapsed().as_secs_f64(), build_seconds))
        })
        .map_err(|e| SimError::Invalid(format!("no thread for the rust-hdl simulation: {e}")))??,
        Backend::Icarus => {
            let work = request.dir.join("iverilog");
            let vcd = match &request.vcd {
                Some(v) => Some(absolute(v)?),
                None => None,
            };
            let start = Instant::now();
            let options = IcarusOptions { vcd };
            let (trace, compile) = icarus::run(&request.dir, &work, &request.manifest, &stimulus, &options)?;
            (trace, start.elapsed().as_secs_f64() - compile, compile)
        }
    };
    let full_speed = request.pacing.is_full_speed();
    let graph = timing::block_graph(&request.manifest)?;
    let predicted = timing::predict(&graph, &ports, &stimulus);
    let result = match &predicted {
        Ok(model) => check(
            &request.manifest,
            workload,
            &trace,
            CycleChecks {
                model: Some(model),
                closed_form: full_speed,
            },
        )
        .map_err(|mut m| {
            if matches!(m.kind, MismatchKind::Cycle | MismatchKind::InputCycle) {
                let input = m.kind == MismatchKind::InputCycle;
                m.unit = Some(timing::explain(&graph, &stimulus, &m.stream, input, m.cycle));
            }
            m
        }),
        // the graph stalled where the block did not: that is a cycle mismatch too
        Err(e) => Err(Mismatch {
            block: request.manifest.block.clone(),
            stream: "handshake graph".into(),
            kind: MismatchKind::Cycle,
            beat: 0,
            cycle: trace.cycles,
            expected: e.to_string(),
            actual: format!("the block finished in {} cycles", trace.cycles),
            unit: None,
        }),
    };
    let saif = match (&request.saif, &request.vcd) {
        (Some(saif), Some(vcd)) => Some(write_saif(vcd, saif, request)?),
        _ => None,
    };
    Ok(SimOutcome {
        backend: request.backend,
        block: request.manifest.block.clone(),
        result,
        cycles: trace.cycles,
        seconds,
        // the drain is simulated too
        cycles_per_second: (trace.cycles + DRAIN_CYCLES) as f64 / seconds.max(1e-9),
        build_seconds,
        seed: request.size.seed,
        saif,
        trace,
    })
}

/// Converts the run's waveform into SAIF; returns the file and the
/// block's instance path in it.
fn write_saif(vcd: &Path, saif: &Path, request: &SimRequest) -> Result<(PathBuf, String), SimError> {
    let text = std::fs::read_to_string(vcd).map_err(SimError::io(vcd))?;
    let activity = crate::saif::Activity::from_vcd(&text)
        .map_err(|e| SimError::Invalid(format!("{}: {e}", vcd.display())))?;
    let (design, instance) = match request.backend {
        Backend::Verilator => ("TOP".to_string(), format!("TOP/{}", request.manifest.module)),
        // rust-hdl names the block `uut` and its signals by field
        Backend::RustHdl => ("uut".to_string(), "uut".to_string()),
        Backend::Icarus => ("tb".to_string(), "tb/dut".to_string()),
    };
    std::fs::write(saif, activity.to_saif(&design)).map_err(SimError::io(saif))?;
    Ok((saif.to_path_buf(), instance))
}

fn absolute(path: &Path) -> Result<PathBuf, SimError> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let here = std::env::current_dir().map_err(SimError::io("."))?;
    Ok(here.join(path))
}
