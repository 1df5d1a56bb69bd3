//! `hwformer sweep PLAN.toml`: a design-space sweep. A plan is a base
//! block configuration and lists of values for some of its keys; every
//! combination, less the exclusions, is a point. Each point is exported,
//! checked on Verilator at full speed and synthesized with yosys; its
//! result is one JSON file named by a hash of the point's whole
//! configuration, so a rerun skips finished points and retries the rest.
//! Points run as child processes on the local cores (`--jobs`) or as one
//! Slurm job array (`--slurm`); `collect` merges the files into
//! `results.csv`, `results.json` and a Pareto plot.
//!
//! ```text
//!  PLAN.toml ─▶ points (product − exclusions) ─▶ DIR/plan.toml
//!  point k:  DIR/work/<hash>/config.toml ─▶ sim (Verilator) ─▶ synth (yosys) ─▶ DIR/points/<hash>.json
//!            local: `--jobs N` children      slurm: `sbatch --array`, a task a point
//!  DIR/points/*.json ─collect─▶ DIR/results.csv, results.json, pareto.svg, pareto.png
//! ```
//!
//! What the sweep is not: a synthesis farm of its own (Slurm schedules,
//! the sweep only submits), nor a timing analysis (Fmax is yosys'
//! netlist estimate, as everywhere in hwformer).

use crate::config::BlockConfig;
use hwformer_bitstreams::yosys::Family;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The axis that picks the synthesis family rather than a block key.
pub const FAMILY_AXIS: &str = "family";

/// `[check]`: the Verilator check of every point (at full speed: no gaps,
/// no back-pressure, so its cycles are the workload's latency).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSettings {
    /// Keys a query, logits a row, elements a group (the block's default
    /// when absent).
    pub n: Option<usize>,
    /// Queries, rows, groups or tokens (default 4).
    pub queries: Option<usize>,
    /// Seed of the inputs (default 1).
    pub seed: Option<u64>,
}

/// `[slurm]`: what each array task asks for. The defaults are sized from
/// the measured sweep in docs/SWEEPS.md (yosys and a Verilator build run
/// one after the other on one core; the largest block there peaked under
/// 1 GB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmSettings {
    /// `--cpus-per-task`.
    pub cpus_per_task: u32,
    /// `--mem` (Slurm's syntax: `2G`, `1500M`).
    pub mem: String,
    /// `--time` (Slurm's syntax: `MM:SS`, `HH:MM:SS`, `D-HH`).
    pub time: String,
    /// `--partition` (the cluster's default when absent).
    pub partition: Option<String>,
}

impl Default for SlurmSettings {
    fn default() -> Self {
        Self {
            cpus_per_task: 1,
            mem: "2G".into(),
            time: "00:30:00".into(),
            partition: None,
        }
    }
}

/// `[pareto]`: the resource the Pareto plot sets against latency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParetoSettings {
    /// `luts` (default) or `dsp`.
    pub resource: Option<String>,
}

/// A plan as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    base: toml::Table,
    #[serde(default)]
    axes: toml::Table,
    #[serde(default)]
    exclude: Vec<toml::Table>,
    #[serde(default)]
    check: CheckSettings,
    #[serde(default)]
    slurm: SlurmSettings,
    #[serde(default)]
    pareto: ParetoSettings,
}

/// A sweep plan, every point checked to be a block configuration.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The plan's text (copied into the sweep's folder).
    pub text: String,
    /// Every point, in the product's order (the last axis fastest).
    pub points: Vec<Point>,
    /// The axes' keys, in order.
    pub axes: Vec<String>,
    /// The check of every point.
    pub check: CheckSettings,
    /// What a Slurm task asks for.
    pub slurm: SlurmSettings,
    /// The Pareto plot's resource: `luts` or `dsp`.
    pub pareto_resource: String,
}

/// One point of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Its place in the plan's points.
    pub index: usize,
    /// The axes' values, in the axes' order.
    pub values: Vec<(String, toml::Value)>,
    /// Its block configuration.
    pub config: toml::Table,
    /// The synthesis family.
    pub family: Family,
    /// A hash of everything that decides its result (16 hex digits).
    pub hash: String,
}

/// FNV-1a, 64 bits: a stable hash (the standard library's may change
/// between Rust releases, and a point's file name must not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A value as it reads in tables and errors (`8`, `Q3.12`, `xc7`).
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn family_of(v: &toml::Value) -> Result<Family, String> {
    match v.as_str() {
        Some("xc7") => Ok(Family::Xc7),
        Some("xcup") => Ok(Family::Xcup),
        _ => Err(format!("{} is not xc7 or xcup", value_text(v))),
    }
}

/// Sets `key` (`d`, or `formats.q`: a table's key) of `table` to `value`.
fn set_key(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    match key.split_once('.') {
        None => {
            table.insert(key.to_string(), value);
            Ok(())
        }
        Some((outer, inner)) => {
            let entry = table
                .entry(outer.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let sub = entry
                .as_table_mut()
                .ok_or_else(|| format!("axes.\"{key}\": base.{outer} is not a table"))?;
            set_key(sub, inner, value)
        }
    }
}

impl Plan {
    /// Reads and checks the plan at `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The plan in `text`; an error names the key and says why.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: PlanFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut axes = Vec::new();
        for (key, values) in &file.axes {
            let values = values
                .as_array()
                .ok_or_else(|| format!("axes.\"{key}\": a list of values, not {values}"))?;
            if values.is_empty() {
                return Err(format!("axes.\"{key}\": an empty list gives no point"));
            }
            if key != FAMILY_AXIS && file.base.contains_key(key) {
                return Err(format!("axes.\"{key}\": base sets it too; give it in one place"));
            }
            axes.push((key.clone(), values.clone()));
        }
        for (i, exclusion) in file.exclude.iter().enumerate() {
            for key in exclusion.keys() {
                if !file.axes.contains_key(key) {
                    return Err(format!("exclude[{i}].\"{key}\": not an axis of the plan"));
                }
            }
        }
        let resource = file.pareto.resource.clone().unwrap_or_else(|| "luts".into());
        if !["luts", "dsp"].contains(&resource.as_str()) {
            return Err(format!("pareto.resource = \"{resource}\": luts or dsp"));
        }
        let total: usize = axes.iter().map(|(_, v)| v.len()).product();
        if total > 10_000 {
            return Err(format!("{total} points: a plan has at most 10 000"));
        }
        let mut points = Vec::new();
        for combination in 0..total {
            // the last axis moves fastest
            let mut rest = combination;
            let mut values = vec![(String::new(), toml::Value::Boolean(false)); axes.len()];
            for (slot, (key, list)) in values.iter_mut().zip(&axes).rev() {
                *slot = (key.clone(), list[rest % list.len()].clone());
                rest /= list.len();
            }
            let excluded = file.exclude.iter().any(|exclusion| {
                exclusion
                    .iter()
                    .all(|(k, v)| values.iter().any(|(key, value)| key == k && value == v))
            });
            if excluded {
                continue;
            }
            let mut config = file.base.clone();
            let mut family = Family::Xc7;
            for (key, value) in &values {
                if key == FAMILY_AXIS {
                    family = family_of(value).map_err(|e| format!("axes.family: {e}"))?;
                } else {
                    set_key(&mut config, key, value.clone())?;
                }
            }
            let described = values
                .iter()
                .map(|(k, v)| format!("{k} = {}", value_text(v)))
                .collect::<Vec<_>>()
                .join(", ");
            let config_text = toml::to_string(&config).map_err(|e| e.to_string())?;
            BlockConfig::from_text(&config_text, Path::new("plan.toml"))
                .map_err(|e| format!("the point {described}: {e}"))?;
            let canonical = serde_json::json!({
                "config": config,
                "family": family.name(),
                "check": file.check,
            });
            let hash = format!("{:016x}", fnv1a(canonical.to_string().as_bytes()));
            points.push(Point {
                index: points.len(),
                values,
                config,
                family,
                hash,
            });
        }
        if points.is_empty() {
            return Err("the exclusions leave no point".into());
        }
        Ok(Self {
            text: text.to_string(),
            points,
            axes: axes.into_iter().map(|(k, _)| k).collect(),
            check: file.check,
            slurm: file.slurm,
            pareto_resource: resource,
        })
    }

    /// A sweep folder's plan (`DIR/plan.toml`).
    pub fn of_folder(dir: &Path) -> Result<Self, String> {
        Self::load(&dir.join("plan.toml"))
    }
}

/// The result of one point, as its JSON file holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Its place in the plan's points.
    pub index: usize,
    /// The hash that names its file.
    pub hash: String,
    /// The axes' values, as text.
    pub values: Vec<(String, String)>,
    /// The synthesis family.
    pub family: String,
    /// `pass` (checked and synthesized), `fail` (a verdict FAIL) or `error`
    /// (a tool failed).
    pub status: String,
    /// What failed, for `fail` and `error`.
    pub error: Option<String>,
    /// The commands that reproduce the point's steps, run in the sweep's
    /// folder (their paths are relative to it).
    pub reproduce: Vec<String>,
    /// Output beats checked bit for bit.
    pub beats: Option<usize>,
    /// Cycles of the check's workload at full speed.
    pub cycles: Option<u64>,
    /// Largest error against the float64 reference.
    pub max_error: Option<f64>,
    /// The manifest's bound on it.
    pub error_bound: Option<f64>,
    /// LUTs as logic.
    pub luts: Option<u64>,
    /// LUTs as memory.
    pub lutram: Option<u64>,
    /// Flip-flops.
    pub flip_flops: Option<u64>,
    /// DSP slices.
    pub dsp: Option<u64>,
    /// 18 Kb block RAMs (a RAMB36 counts two).
    pub bram18: Option<u64>,
    /// yosys' netlist Fmax estimate (not a timing analysis).
    pub fmax_estimate_mhz: Option<f64>,
    /// The workload's cycles at the Fmax estimate, in ns.
    pub latency_ns: Option<f64>,
    /// Seconds the point took (not compared between runs).
    pub seconds: f64,
}

impl PointResult {
    fn new(point: &Point) -> Self {
        Self {
            index: point.index,
            hash: point.hash.clone(),
            values: point
                .values
                .iter()
                .map(|(k, v)| (k.clone(), value_text(v)))
                .collect(),
            family: point.family.name().to_string(),
            status: "error".into(),
            error: None,
            reproduce: Vec::new(),
            beats: None,
            cycles: None,
            max_error: None,
            error_bound: None,
            luts: None,
            lutram: None,
            flip_flops: None,
            dsp: None,
            bram18: None,
            fmax_estimate_mhz: None,
            latency_ns: None,
            seconds: 0.0,
        }
    }
}

/// Where point `hash`'s result is kept.
fn result_path(dir: &Path, hash: &str) -> PathBuf {
    dir.join("points").join(format!("{hash}.json"))
}

/// The point's result, if its file is there and reads.
fn read_result(dir: &Path, point: &Point) -> Option<PointResult> {
    let text = std::fs::read_to_string(result_path(dir, &point.hash)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes `bytes` to `path` whole or not at all (a temporary file, then a
/// rename), so a crash never leaves half a result.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs point `index` of the sweep in `dir` and writes its result file;
/// a failing step is recorded in it (the error is for the folder or the
/// plan themselves). The process works in `dir`, so the commands that
/// reproduce a step name its files relative to the sweep's folder.
pub fn run_point(dir: &Path, index: usize) -> Result<PointResult, String> {
    let started = Instant::now();
    std::env::set_current_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = Path::new(".");
    let plan = Plan::of_folder(dir)?;
    let point = plan.points.get(index).ok_or_else(|| {
        format!(
            "--index {index}: the sweep's plan has {} points",
            plan.points.len()
        )
    })?;
    let work = Path::new("work").join(&point.hash);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    std::fs::create_dir_all(dir.join("points")).map_err(|e| format!("{}: {e}", dir.display()))?;
    let config_path = work.join("config.toml");
    let config_text = toml::to_string(&point.config).map_err(|e| e.to_string())?;
    std::fs::write(&config_path, &config_text).map_err(|e| format!("{}: {e}", config_path.display()))?;
    let config = BlockConfig::from_text(&config_text, &config_path)?;
    let c = &plan.check;
    let seed = c.seed.unwrap_or(1);
    let sim_args =
        crate::sim_command::SimArgs::sweep_point(config_path.clone(), c.n, c.queries, seed, work.join("sim"));
    let synth_command = format!(
        "hwformer synth {} --config {} --family {}",
        config.block,
        config_path.display(),
        point.family.name()
    );
    let mut result = PointResult::new(point);
    match crate::sim_command::check(&sim_args) {
        Err(e) => {
            result.error = Some(format!("sim: {e}"));
            result.reproduce.push(format!(
                "hwformer sim --config {} --backend verilator --valid 1 --ready 1 --seed {seed}",
                config_path.display()
            ));
        }
        Ok((outcome, replay)) => {
            result.reproduce.push(replay);
            match &outcome.result {
                Err(mismatch) => {
                    result.status = "fail".into();
                    result.error = Some(format!("sim: {mismatch}"));
                }
                Ok(verdict) => {
                    result.beats = Some(verdict.beats_checked);
                    result.cycles = Some(outcome.cycles);
                    result.max_error = (verdict.float_compared > 0).then_some(verdict.max_error);
                    result.error_bound = verdict.error_bound;
                    result.reproduce.push(synth_command);
                    let (block, d) = crate::config::block_and_d(None, None, Some(&config))?;
                    match crate::xilinx_command::export_and_synthesize(
                        &block,
                        d,
                        Some(&config),
                        &work.join("synth"),
                        point.family,
                    ) {
                        Err(e) => result.error = Some(format!("synth: {e}")),
                        Ok((_, s)) => {
                            let r = &s.resources;
                            let fmax = s.logic_depth.fmax_mhz;
                            result.status = "pass".into();
                            result.luts = Some(r.luts);
                            result.lutram = Some(r.lutram);
                            result.flip_flops = Some(r.flip_flops);
                            result.dsp = Some(r.dsp);
                            result.bram18 = Some(r.ramb18 + 2 * r.ramb36);
                            result.fmax_estimate_mhz = Some(fmax);
                            result.latency_ns = Some(outcome.cycles as f64 * 1e3 / fmax);
                        }
                    }
                }
            }
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
    write_atomic(&result_path(dir, &point.hash), json.as_bytes())?;
    Ok(result)
}

/// Prepares `dir` for `plan`: the folders and `plan.toml`; the indices of
/// the points still to run (no result yet, or a recorded failure when
/// `retry_failed`).
pub fn prepare(plan: &Plan, dir: &Path, retry_failed: bool) -> Result<Vec<usize>, String> {
    for sub in ["points", "work", "logs"] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    write_atomic(&dir.join("plan.toml"), plan.text.as_bytes())?;
    let pending: Vec<usize> = plan
        .points
        .iter()
        .filter(|p| match read_result(dir, p) {
            None => true,
            Some(r) => retry_failed && r.status != "pass",
        })
        .map(|p| p.index)
        .collect();
    // a pending point's old file (unreadable, or a failure to retry) goes,
    // so a point that dies now shows as missing, not as its old result
    for &index in &pending {
        let path = result_path(dir, &plan.points[index].hash);
        if path.exists() {
            std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(pending)
}

/// The command that runs one point, for a child process or a Slurm task.
fn point_command(dir: &Path) -> Result<(PathBuf, Vec<String>), String> {
    let exe = std::env::current_exe().map_err(|e| format!("this program's path: {e}"))?;
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok((
        exe,
        vec!["sweep".into(), "point".into(), dir.display().to_string()],
    ))
}

/// Runs `pending` points of the sweep in `dir`, `jobs` child processes at
/// once, with a progress bar; the points whose process died without a
/// result (each retried by the next run).
pub fn run_local(plan: &Plan, dir: &Path, pending: &[usize], jobs: usize) -> Result<Vec<String>, String> {
    let (exe, args) = point_command(dir)?;
    let bar = crate::progress::start(pending.len() as u64, "point");
    let next = AtomicUsize::new(0);
    let crashed = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(pending.len().max(1)) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&index) = pending.get(k) else { break };
                let point = &plan.points[index];
                let log = dir.join("logs").join(format!("{}.log", point.hash));
                let status = std::fs::File::create(&log).and_then(|out| {
                    let err = out.try_clone()?;
                    Command::new(&exe)
                        .args(&args)
                        .args(["--index", &index.to_string()])
                        .stdin(Stdio::null())
                        .stdout(out)
                        .stderr(err)
                        .status()
                });
                let described = describe(point);
                let died = match status {
                    Err(e) => Some(format!("point {index} ({described}): not started: {e}")),
                    Ok(s) if !result_path(dir, &point.hash).exists() => Some(format!(
                        "point {index} ({described}): the process ended ({s}) without a result; log {}",
                        log.display()
                    )),
                    Ok(_) => None,
                };
                match died {
                    Some(why) => {
                        crate::progress::note!("{why}");
                        crashed.lock().expect("no panic holds it").push(why);
                    }
                    None => {
                        if let Some(r) = read_result(dir, point) {
                            crate::progress::note!(
                                "point {index} ({described}): {} in {:.0} s",
                                r.status,
                                r.seconds
                            );
                        }
                    }
                }
                bar.inc(1);
                bar.set_message(described);
            });
        }
    });
    crate::progress::finish();
    Ok(crashed.into_inner().expect("no panic holds it"))
}

/// A point in words: its axes' values.
pub fn describe(point: &Point) -> String {
    point
        .values
        .iter()
        .map(|(k, v)| format!("{k} {}", value_text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes the Slurm batch script of `pending` points into `dir` and
/// submits it with `sbatch` (waiting for the array to end when `wait`);
/// the job id.
pub fn submit_slurm(plan: &Plan, dir: &Path, pending: &[usize], wait: bool) -> Result<String, String> {
    let (exe, args) = point_command(dir)?;
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let s = &plan.slurm;
    let indices = pending.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let quote = |p: &str| format!("'{}'", p.replace('\'', r"'\''"));
    let mut script = format!(
        "#!/bin/sh\n#SBATCH --job-name=hwformer-sweep\n#SBATCH --array={indices}\n#SBATCH --cpus-per-task={}\n\
         #SBATCH --mem={}\n#SBATCH --time={}\n#SBATCH --output={}/logs/slurm-%A_%a.out\n",
        s.cpus_per_task,
        s.mem,
        s.time,
        dir.display()
    );
    if let Some(p) = &s.partition {
        script.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    script.push_str(&format!(
        "exec {} {} --index \"$SLURM_ARRAY_TASK_ID\"\n",
        quote(&exe.display().to_string()),
        args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
    ));
    let path = dir.join("sweep.sbatch");
    std::fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut sbatch = Command::new("sbatch");
    sbatch.arg("--parsable");
    if wait {
        sbatch.arg("--wait");
    }
    let out = sbatch.arg(&path).output().map_err(|e| {
        format!(
            "sbatch: {e}: --slurm submits to an existing Slurm cluster; its client commands (sbatch) must be on \
             PATH (Debian: slurm-client)"
        )
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let job = stdout
        .lines()
        .next()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if !out.status.success() && (job.is_empty() || !wait) {
        return Err(format!(
            "sbatch {} failed ({}): {}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(job)
}

/// A sweep's results: every point of its plan, run or not.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// The axes' keys.
    pub axes: Vec<String>,
    /// The Pareto plot's resource (`luts`, `dsp`).
    pub pareto_resource: String,
    /// One row a point, in the plan's order.
    pub points: Vec<ResultRow>,
}

impl Results {
    /// The points that passed.
    pub fn passed(&self) -> usize {
        self.points.iter().filter(|r| r.result.status == "pass").count()
    }
}

/// One point's row.
#[derive(Debug, Clone, Serialize)]
pub struct ResultRow {
    /// The result (`status` `missing` when the point has none yet).
    #[serde(flatten)]
    pub result: PointResult,
    /// Non-dominated among the passing points (resource against latency).
    pub pareto: bool,
}

/// The point's resource for the Pareto front.
fn resource(r: &PointResult, which: &str) -> Option<u64> {
    if which == "dsp" {
        r.dsp
    } else {
        r.luts
    }
}

/// Marks the passing points no other passing point beats in both the
/// resource and latency (as small or smaller in both, smaller in one).
fn mark_pareto(rows: &mut [ResultRow], which: &str) {
    let figures: Vec<Option<(u64, f64)>> = rows
        .iter()
        .map(|r| match (resource(&r.result, which), r.result.latency_ns) {
            (Some(a), Some(l)) if r.result.status == "pass" => Some((a, l)),
            _ => None,
        })
        .collect();
    for (i, row) in rows.iter_mut().enumerate() {
        row.pareto = figures[i].is_some_and(|(a, l)| {
            !figures
                .iter()
                .flatten()
                .any(|&(b, m)| b <= a && m <= l && (b < a || m < l))
        });
    }
}

/// Collects the results of the sweep in `dir` (its `plan.toml`'s points)
/// and writes `results.csv`, `results.json` and the Pareto plot.
pub fn collect(dir: &Path) -> Result<Results, String> {
    let plan = Plan::of_folder(dir)?;
    let mut rows: Vec<ResultRow> = plan
        .points
        .iter()
        .map(|p| ResultRow {
            result: read_result(dir, p).unwrap_or_else(|| PointResult {
                status: "missing".into(),
                error: Some("no result file: not run yet, or its process died (a rerun retries it)".into()),
                ..PointResult::new(p)
            }),
            pareto: false,
        })
        .collect();
    mark_pareto(&mut rows, &plan.pareto_resource);
    let results = Results {
        axes: plan.axes.clone(),
        pareto_resource: plan.pareto_resource.clone(),
        points: rows,
    };
    let json = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
    write_atomic(&dir.join("results.json"), json.as_bytes())?;
    write_atomic(&dir.join("results.csv"), csv(&results).as_bytes())?;
    crate::sweep_plot::save_pareto(&results, &dir.join("pareto"))?;
    Ok(results)
}

/// One CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The results as CSV: a header, then a row a point.
pub fn csv(results: &Results) -> String {
    // the family has its own column, an axis or not
    let axes: Vec<&String> = results.axes.iter().filter(|a| *a != FAMILY_AXIS).collect();
    let mut header: Vec<String> = vec!["index".into(), "hash".into()];
    header.extend(axes.iter().map(|a| a.to_string()));
    header.extend(
        [
            "family",
            "status",
            "pareto",
            "luts",
            "lutram",
            "flip_flops",
            "dsp",
            "bram18",
            "fmax_estimate_mhz",
            "cycles",
            "latency_ns",
            "max_error",
            "error_bound",
            "beats",
            "seconds",
            "error",
            "reproduce",
        ]
        .map(String::from),
    );
    let mut out = header.join(",") + "\n";
    let opt = |v: Option<String>| v.unwrap_or_default();
    for row in &results.points {
        let r = &row.result;
        let mut fields = vec![r.index.to_string(), r.hash.clone()];
        for axis in &axes {
            fields.push(
                r.values
                    .iter()
                    .find(|(k, _)| k == *axis)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
            );
        }
        fields.extend([
            r.family.clone(),
            r.status.clone(),
            row.pareto.to_string(),
            opt(r.luts.map(|v| v.to_string())),
            opt(r.lutram.map(|v| v.to_string())),
            opt(r.flip_flops.map(|v| v.to_string())),
            opt(r.dsp.map(|v| v.to_string())),
            opt(r.bram18.map(|v| v.to_string())),
            opt(r.fmax_estimate_mhz.map(|v| format!("{v:.1}"))),
            opt(r.cycles.map(|v| v.to_string())),
            opt(r.latency_ns.map(|v| format!("{v:.1}"))),
            opt(r.max_error.map(|v| format!("{v:.3e}"))),
            opt(r.error_bound.map(|v| format!("{v:.3e}"))),
            opt(r.beats.map(|v| v.to_string())),
            format!("{:.1}", r.seconds),
            r.error.clone().unwrap_or_default(),
            r.reproduce.join(" && "),
        ]);
        out += &fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
        out.push('\n');
    }
    out
}

/// The results as a table for people: a row a point.
pub fn summary_table(results: &Results) -> hwformer_bitstreams::text_table::TextTable {
    let mut header: Vec<String> = results.axes.clone();
    header.extend(
        [
            "status",
            "LUT",
            "DSP",
            "Fmax est. MHz",
            "latency ns",
            "max error",
            "Pareto",
        ]
        .map(String::from),
    );
    let mut t = hwformer_bitstreams::text_table::TextTable::new(header);
    for row in &results.points {
        let r = &row.result;
        let mut cells: Vec<String> = r.values.iter().map(|(_, v)| v.clone()).collect();
        let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        cells.extend([
            r.status.clone(),
            dash(r.luts.map(|v| v.to_string())),
            dash(r.dsp.map(|v| v.to_string())),
            dash(r.fmax_estimate_mhz.map(|v| format!("{v:.0}"))),
            dash(r.latency_ns.map(|v| format!("{v:.0}"))),
            dash(r.max_error.map(|v| format!("{v:.2e}"))),
            if row.pareto { "*".into() } else { String::new() },
        ]);
        t.add_row(cells);
    }
    t
}

/// Prints the table, then each point that did not pass with its error
/// and the commands that reproduce it.
pub fn print_summary(results: &Results) {
    let t = summary_table(results);
    print!("{}", t.render());
    for row in results.points.iter().filter(|r| r.result.status != "pass") {
        let r = &row.result;
        println!(
            "point {} ({}): {} — {}{}",
            r.index,
            r.values
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            r.status,
            r.error.as_deref().unwrap_or(""),
            if r.reproduce.is_empty() {
                String::new()
            } else {
                format!(
                    "; reproduce (in the sweep's folder): {}",
                    r.reproduce.join(" && ")
                )
            }
        );
    }
}

/// `hwformer sweep PLAN.toml`, or one of its subcommands.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    /// The plan (TOML: a base block configuration, lists of values, exclusions; docs/SWEEPS.md).
    plan: Option<PathBuf>,
    /// Points at once on this machine (default: its cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// The sweep's folder (default target/hwformer-sweep/<the plan's file name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Submit the points to an existing Slurm cluster as one job array
    /// (`sbatch --array`, a task a point) instead of running them here.
    #[arg(long, conflicts_with = "jobs")]
    slurm: bool,
    /// With --slurm: wait for the array to end, then collect.
    #[arg(long, requires = "slurm")]
    wait: bool,
    /// Run again the points whose result is a recorded failure.
    #[arg(long)]
    retry_failed: bool,
    #[command(subcommand)]
    command: Option<SweepCommand>,
}

/// The sweep's subcommands.
#[derive(clap::Subcommand)]
pub enum SweepCommand {
    /// Run one point of a sweep folder and write its result file (what
    /// each child process and each Slurm task runs).
    Point {
        /// The sweep's folder (holding plan.toml).
        dir: PathBuf,
        /// The point's index in the plan.
        #[arg(long)]
        index: usize,
    },
    /// Merge a sweep folder's point files into results.csv, results.json
    /// and the Pareto plot (pareto.svg, pareto.png).
    Collect {
        /// The sweep's folder (holding plan.toml).
        dir: PathBuf,
    },
}

/// Success when every point passed.
fn exit_code(results: &Results) -> std::process::ExitCode {
    if results.points.iter().all(|r| r.result.status == "pass") {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// Collects `dir`, prints the table and where the files are.
fn collect_and_print(dir: &Path) -> Result<std::process::ExitCode, String> {
    let results = collect(dir)?;
    print_summary(&results);
    let passed = results.passed();
    println!(
        "{passed} of {} points passed; wrote {}, {} and {}",
        results.points.len(),
        dir.join("results.csv").display(),
        dir.join("results.json").display(),
        dir.join("pareto.svg").display()
    );
    Ok(exit_code(&results))
}

/// Runs `hwformer sweep`.
pub fn sweep(args: &SweepArgs) -> Result<std::process::ExitCode, String> {
    match &args.command {
        Some(SweepCommand::Point { dir, index }) => {
            let r = run_point(dir, *index)?;
            println!(
                "point {index}: {}{}",
                r.status,
                r.error.map(|e| format!(": {e}")).unwrap_or_default()
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        Some(SweepCommand::Collect { dir }) => collect_and_print(dir),
        None => {
            let path = args
                .plan
                .as_ref()
                .ok_or("give a plan (hwformer sweep PLAN.toml), or `sweep collect DIR`")?;
            let plan = Plan::load(path)?;
            let dir = args.out.clone().unwrap_or_else(|| {
                let stem = path
                    .file_stem()
                    .map_or("sweep".into(), |s| s.to_string_lossy().to_string());
                PathBuf::from("target/hwformer-sweep").join(stem)
            });
            let pending = prepare(&plan, &dir, args.retry_failed)?;
            println!(
                "sweep {}: {} points, {} to run, {} with results in {}",
                path.display(),
                plan.points.len(),
                pending.len(),
                plan.points.len() - pending.len(),
                dir.display()
            );
            if args.slurm {
                if pending.is_empty() {
                    return collect_and_print(&dir);
                }
                let job = submit_slurm(&plan, &dir, &pending, args.wait)?;
                if !args.wait {
                    println!(
                        "submitted Slurm job {job} ({} tasks); when it ends: hwformer sweep collect {}",
                        pending.len(),
                        dir.display()
                    );
                    return Ok(std::process::ExitCode::SUCCESS);
                }
                println!("Slurm job {job} ended");
            } else {
                let jobs = args
                    .jobs
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
                let started = Instant::now();
                let crashed = if pending.is_empty() {
                    Vec::new()
                } else {
                    run_local(&plan, &dir, &pending, jobs)?
                };
                println!(
                    "ran {} points, {jobs} at once, in {:.0} s{}",
                    pending.len(),
                    started.elapsed().as_secs_f64(),
                    if crashed.is_empty() {
                        String::new()
                    } else {
                        format!("; {} died without a result (a rerun retries them)", crashed.len())
                    }
                );
            }
            collect_and_print(&dir)
        }
    }
}

/// The main job's sweep: the exp unit in three input formats on both
/// families.
pub const DEMO_PLAN: &str = r#"# hwformer run's sweep: the exp unit in three input formats on two families
[base]
block = "exp"

[axes]
"formats.x" = ["Q7.8", "Q5.10", "Q3.12"]
family = ["xc7", "xcup"]

[check]
n = 16
queries = 2
"#;

/// Runs [`DEMO_PLAN`] in `dir` on the local cores and collects it.
pub fn demo(dir: &Path) -> Result<Results, String> {
    let plan = Plan::parse(DEMO_PLAN)?;
    let pending = prepare(&plan, dir, false)?;
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let crashed = run_local(&plan, dir, &pending, jobs)?;
    for why in &crashed {
        println!("{why}");
    }
    let results = collect(dir)?;
    print_summary(&results);
    println!(
        "{} of {} points passed, {jobs} at once; {}",
        results.passed(),
        results.points.len(),
        dir.join("results.csv").display()
    );
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"
[base]
block = "sdpa"
n_max = 64

[axes]
d = [2, 4]
output_multipliers = [1, 2, 4]
family = ["xc7", "xcup"]

[[exclude]]
d = 2
output_multipliers = 4
"#;

    #[test]
    fn a_plan_is_the_product_of_its_axes_less_the_exclusions() {
        let plan = Plan::parse(PLAN).unwrap();
        // 2 x 3 x 2 = 12, less d 2 with 4 multipliers on both families
        assert_eq!(plan.points.len(), 10);
        let first = &plan.points[0];
        assert_eq!(describe(first), "d 2, output_multipliers 1, family xc7");
        assert_eq!(first.config["d"].as_integer(), Some(2));
        assert_eq!(first.family, Family::Xc7);
        assert_eq!(plan.points[1].family, Family::Xcup, "the last axis moves fastest");
        assert!(plan.points.iter().all(|p| !(p.config["d"].as_integer() == Some(2)
            && p.config["output_multipliers"].as_integer() == Some(4))));
        let hashes: std::collections::BTreeSet<_> = plan.points.iter().map(|p| p.hash.clone()).collect();
        assert_eq!(hashes.len(), 10, "every point its own file");
        // the hash is of the configuration: the same point in another plan has it
        let other = Plan::parse(&PLAN.replace("d = [2, 4]", "d = [4]")).unwrap();
        let four: Vec<_> = plan
            .points
            .iter()
            .filter(|p| p.config["d"].as_integer() == Some(4))
            .collect();
        assert_eq!(
            other.points.iter().map(|p| &p.hash).collect::<Vec<_>>(),
            four.iter().map(|p| &p.hash).collect::<Vec<_>>()
        );
    }

    #[test]
    fn bad_plans_are_errors_naming_the_key() {
        let cases = [
            (PLAN.replace("d = [2, 4]", "d = 2"), "axes.\"d\": a list"),
            (PLAN.replace("d = [2, 4]", "d = []"), "axes.\"d\": an empty list"),
            (
                PLAN.replace("family = [", "bogus = [1]\nfamily = ["),
                "the point d = 2, output_multipliers = 1, bogus = 1",
            ),
            (
                PLAN.replace("family = [", "bogus = [1]\nfamily = ["),
                "unknown field `bogus`",
            ),
            (
                PLAN.replace("\"xcup\"]", "\"xcvu\"]"),
                "axes.family: xcvu is not xc7 or xcup",
            ),
            (
                PLAN.replace("d = 2\noutput", "bits = 2\noutput"),
                "exclude[0].\"bits\": not an axis",
            ),
            (
                PLAN.replace("n_max = 64", "n_max = 64\nd = 8"),
                "axes.\"d\": base sets it too",
            ),
            (
                format!("{PLAN}\n[pareto]\nresource = \"ff\"\n"),
                "pareto.resource",
            ),
            (format!("{PLAN}\n[check]\nkeys = 3\n"), "unknown field `keys`"),
            (
                PLAN.replace("[2, 4]", "[2]").replace("[1, 2, 4]", "[4]"),
                "the exclusions leave no point",
            ),
        ];
        for (text, want) in cases {
            let e = Plan::parse(&text).unwrap_err();
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    fn row(status: &str, luts: u64, latency: f64) -> ResultRow {
        let point = &Plan::parse(PLAN).unwrap().points[0];
        ResultRow {
            result: PointResult {
                status: status.into(),
                luts: Some(luts),
                latency_ns: Some(latency),
                ..PointResult::new(point)
            },
            pareto: false,
        }
    }

    #[test]
    fn the_pareto_front_holds_the_points_nothing_beats_in_both() {
        let mut rows = vec![
            row("pass", 100, 50.0),
            row("pass", 200, 20.0),
            row("pass", 150, 60.0), // beaten by the first in both
            row("pass", 100, 50.0), // equal to the first: neither beats it
            row("error", 10, 1.0),  // not passing: outside the front
            row("pass", 300, 20.0), // beaten by the second in LUTs
        ];
        mark_pareto(&mut rows, "luts");
        let marks: Vec<bool> = rows.iter().map(|r| r.pareto).collect();
        assert_eq!(marks, [true, true, false, true, false, false]);
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}
