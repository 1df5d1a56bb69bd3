//! `hwformer run`'s report: what the main job built and checked, as one
//! Markdown page (`report.md`), the same as JSON (`report.json`, schema in
//! docs/RUN_REPORT.md) and plots (`plots/*.svg`, `*.png`).
//!
//! ```text
//!  sections ─▶ RunReport (verdicts, resources, layer, accuracy) ─▶ report.md, report.json, plots/
//!  DIR.partial/ ──(every section wrote, the report too)──▶ rename ──▶ DIR/
//! ```
//! The run works in `DIR.partial` and renames it to `DIR` only at the end,
//! so a run that stops with an error leaves `DIR` as it was.

use crate::layer_command::{LayerCheck, LayerEstimate};
use crate::report_plots;
use hwformer_bitstreams::text_table::TextTable;
use hwformer_bitstreams::yosys::{Family, Synthesis};
use hwformer_dataflow::handshake::min_depth::FifoDepth;
use hwformer_dataflow::plot::ScalingPoint;
use hwformer_quant::accuracy::Measurement;
use hwformer_sim::layer::LayerDesign;
use hwformer_sim::timing::LayerPlan;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Version of `report.json`'s schema (docs/RUN_REPORT.md); raised when a field
/// changes meaning or goes away.
pub const REPORT_SCHEMA: u32 = 1;

/// Pass or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// A check failed.
    Fail,
}

impl Verdict {
    /// The verdict of an exit code.
    pub fn of(code: ExitCode) -> Self {
        if code == ExitCode::SUCCESS {
            Self::Pass
        } else {
            Self::Fail
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
        }
    }
}

/// One section of the run.
#[derive(Debug, Clone, Serialize)]
pub struct SectionResult {
    /// Its number in the printed output.
    pub number: usize,
    /// What it does.
    pub title: String,
    /// Whether its checks held.
    pub verdict: Verdict,
    /// Wall-clock seconds it took.
    pub seconds: f64,
}

/// One yosys synthesis.
#[derive(Debug, Clone, Serialize)]
pub struct SynthesisRow {
    /// The design (block or layer).
    pub design: String,
    /// Its variant or size.
    pub variant: String,
    /// Target family (`xc7`, `xcup`).
    pub family: &'static str,
    /// LUTs (logic and memory).
    pub luts: u64,
    /// Flip-flops.
    pub flip_flops: u64,
    /// DSP48 slices.
    pub dsp: u64,
    /// 18 Kb block RAMs.
    pub ramb18: u64,
    /// 36 Kb block RAMs.
    pub ramb36: u64,
    /// Fmax **estimate** from the netlist (not a timing analysis), MHz.
    pub fmax_estimate_mhz: f64,
}

impl SynthesisRow {
    /// The row of a synthesis of `design` (`variant`).
    pub fn new(design: &str, variant: &str, s: &Synthesis) -> Self {
        let r = &s.resources;
        Self {
            design: design.to_string(),
            variant: variant.to_string(),
            family: s.family.name(),
            luts: r.luts,
            flip_flops: r.flip_flops,
            dsp: r.dsp,
            ramb18: r.ramb18,
            ramb36: r.ramb36,
            fmax_estimate_mhz: s.logic_depth.fmax_mhz,
        }
    }
}

/// A layer's shape.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LayerShapeRow {
    /// Width of a token.
    pub d_model: u32,
    /// Attention heads.
    pub heads: u32,
    /// Elements of a head's query, key and value.
    pub head_size: u32,
    /// FFN hidden width.
    pub d_ff: u32,
    /// Tokens a sequence.
    pub tokens: u32,
    /// Lanes of the linear blocks.
    pub lanes: u32,
    /// A LayerNorm after each residual add.
    pub layer_norm: bool,
}

impl LayerShapeRow {
    /// The shape of `plan`.
    pub fn of(plan: &LayerPlan) -> Self {
        let s = plan.shape;
        Self {
            d_model: s.d_model,
            heads: s.heads,
            head_size: s.head_size,
            d_ff: plan.d_ff,
            tokens: s.tokens,
            lanes: plan.lanes,
            layer_norm: s.layer_norm,
        }
    }

    fn describe(&self) -> String {
        format!(
            "d_model {}, {} heads of {}, d_ff {}, {} tokens a sequence, {} lanes{}",
            self.d_model,
            self.heads,
            self.head_size,
            self.d_ff,
            self.tokens,
            self.lanes,
            if self.layer_norm { "" } else { ", no LayerNorm" }
        )
    }
}

/// A layer's FIFO search on its handshake graph.
#[derive(Debug, Clone, Serialize)]
pub struct LayerGraphRow {
    /// The preset's or configuration's name.
    pub name: String,
    /// Its shape.
    pub shape: LayerShapeRow,
    /// Sequences the search ran.
    pub sequences: usize,
    /// Cycles of those sequences at full throughput.
    pub full_throughput_cycles: u64,
    /// Each FIFO's depths.
    pub fifos: Vec<FifoDepth>,
    /// Seconds the search took.
    pub seconds: f64,
}

/// A block output tensor of the layer against float.
#[derive(Debug, Clone, Serialize)]
pub struct TensorErrorRow {
    /// The tensor (the output of the block that makes it).
    pub tensor: &'static str,
    /// Elements compared.
    pub elements: usize,
    /// Largest |int16 − float|.
    pub max_abs: f64,
    /// Root mean square of int16 − float.
    pub rms: f64,
}

/// The layer the run built and checked.
#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    /// The preset's or configuration's name.
    pub name: String,
    /// The module.
    pub module: String,
    /// Its shape.
    pub shape: LayerShapeRow,
    /// FIFO depths: residual 1, ffn hidden, residual 2.
    pub fifo_depths: [usize; 3],
    /// `graph search` or `configuration`.
    pub fifo_depths_from: &'static str,
    /// The checked runs on simulators.
    pub checks: Vec<LayerCheck>,
    /// Its synthesis.
    pub synthesis: Option<SynthesisRow>,
    /// Cycles, latency at the Fmax estimate, and the ASIC energy estimate
    /// a token.
    pub estimate: Option<LayerEstimate>,
    /// Each block's output tensor, int16 layer model against the float
    /// layer, over the checked sequences.
    pub tensor_errors: Vec<TensorErrorRow>,
}

/// A plot the run drew.
#[derive(Debug, Clone, Serialize)]
pub struct PlotRow {
    /// What it shows.
    pub title: String,
    /// The SVG, relative to the report's folder.
    pub svg: String,
    /// The PNG, relative to the report's folder.
    pub png: String,
}

/// Everything `hwformer run` found.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// [`REPORT_SCHEMA`].
    pub schema: u32,
    /// hwformer's version.
    pub hwformer_version: &'static str,
    /// Seed of every random input.
    pub seed: u64,
    /// The layer configuration file, if one was given.
    pub layer_config: Option<String>,
    /// Pass when every section passed.
    pub verdict: Verdict,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
    /// Per section.
    pub sections: Vec<SectionResult>,
    /// The integer models against f64.
    pub accuracy: Vec<Measurement>,
    /// Attention's intermediate memory and cycles against N.
    pub attention_scaling: Vec<ScalingPoint>,
    /// Every yosys synthesis of the run.
    pub synthesis: Vec<SynthesisRow>,
    /// Layer FIFO searches.
    pub layer_graphs: Vec<LayerGraphRow>,
    /// The layer built and checked.
    pub layer: Option<LayerReport>,
    /// The plots.
    pub plots: Vec<PlotRow>,
}

/// Sections of `hwformer run`.
pub const SECTIONS: usize = 14;

/// Collects a run's results section by section, with a progress bar.
pub struct Reporter {
    /// The report so far.
    pub report: RunReport,
    /// The layer's per-element errors per block output (for the histogram).
    pub layer_errors: Vec<(&'static str, Vec<f64>)>,
    started: Instant,
    section: Option<(usize, String, Instant)>,
    progress: ProgressBar,
}

impl Reporter {
    /// A report of a run with `seed` (and the layer configuration file).
    pub fn new(seed: u64, layer_config: Option<&Path>) -> Self {
        let progress = ProgressBar::new(SECTIONS as u64);
        progress.set_style(
            ProgressStyle::with_template("[{elapsed_precise}] section {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self {
            report: RunReport {
                schema: REPORT_SCHEMA,
                hwformer_version: env!("CARGO_PKG_VERSION"),
                seed,
                layer_config: layer_config.map(|p| p.display().to_string()),
                verdict: Verdict::Pass,
                seconds: 0.0,
                sections: Vec::new(),
                accuracy: Vec::new(),
                attention_scaling: Vec::new(),
                synthesis: Vec::new(),
                layer_graphs: Vec::new(),
                layer: None,
                plots: Vec::new(),
            },
            layer_errors: Vec::new(),
            started: Instant::now(),
            section: None,
            progress,
        }
    }

    /// Starts section `number`: prints its header (`title` and the
    /// command that runs it alone).
    pub fn start(&mut self, number: usize, title: &str, header: &str) {
        println!("\n-- {number}. {header} --\n");
        self.progress.set_message(title.to_string());
        self.progress.set_position(number as u64 - 1);
        self.section = Some((number, title.to_string(), Instant::now()));
    }

    /// Ends the section started last with the verdict of `code`.
    pub fn finish(&mut self, code: ExitCode) {
        if let Some((number, title, started)) = self.section.take() {
            let verdict = Verdict::of(code);
            if verdict == Verdict::Fail {
                self.report.verdict = Verdict::Fail;
            }
            self.report.sections.push(SectionResult {
                number,
                title,
                verdict,
                seconds: started.elapsed().as_secs_f64(),
            });
            self.progress.set_position(number as u64);
        }
    }

    /// Draws the plots into `dir/plots`, writes `report.md` and
    /// `report.json` into `dir`; returns the report.
    pub fn write(mut self, dir: &Path) -> Result<RunReport, String> {
        self.progress.finish_and_clear();
        self.report.seconds = self.started.elapsed().as_secs_f64();
        let plots = dir.join("plots");
        std::fs::create_dir_all(&plots).map_err(|e| format!("{}: {e}", plots.display()))?;
        self.report.plots = report_plots::draw_all(&self.report, &self.layer_errors, dir, &plots)?;
        let json = dir.join("report.json");
        let text = serde_json::to_string_pretty(&self.report).map_err(|e| e.to_string())?;
        std::fs::write(&json, text + "\n").map_err(|e| format!("{}: {e}", json.display()))?;
        let md = dir.join("report.md");
        std::fs::write(&md, self.report.to_markdown()).map_err(|e| format!("{}: {e}", md.display()))?;
        Ok(self.report)
    }
}

impl LayerReport {
    /// The layer `design` as written (`module`), its checks, synthesis,
    /// estimate and tensor errors ([`Self::error_samples`]).
    pub fn new(
        design: &LayerDesign,
        module: &str,
        checks: Vec<LayerCheck>,
        synthesis: Option<&Synthesis>,
        estimate: Option<LayerEstimate>,
        errors: &[(&'static str, Vec<f64>)],
    ) -> Self {
        let tensor_errors = errors
            .iter()
            .map(|(tensor, e)| TensorErrorRow {
                tensor,
                elements: e.len(),
                max_abs: e.iter().fold(0.0, |m, x| m.max(x.abs())),
                rms: (e.iter().map(|x| x * x).sum::<f64>() / e.len().max(1) as f64).sqrt(),
            })
            .collect();
        let d = design.depths;
        Self {
            name: design.name.clone(),
            module: module.to_string(),
            shape: LayerShapeRow::of(&design.plan),
            fifo_depths: [d.residual1, d.hidden, d.residual2],
            fifo_depths_from: if design.search.is_some() {
                "graph search"
            } else {
                "configuration"
            },
            checks,
            synthesis: synthesis.map(|s| SynthesisRow::new("encoder layer", &design.name, s)),
            estimate,
            tensor_errors,
        }
    }

    /// Per-element errors (int16 − float) of each block output tensor
    /// over `sequences` evaluation sequences.
    pub fn error_samples(
        design: &LayerDesign,
        sequences: usize,
    ) -> Result<Vec<(&'static str, Vec<f64>)>, String> {
        let mut out: Vec<(&'static str, Vec<f64>)> = Vec::new();
        for k in 0..sequences {
            let x = design.layer.evaluation_sequence(k as u64);
            for (i, (tensor, e)) in design
                .layer
                .tensor_errors(&x)
                .map_err(|e| e.to_string())?
                .into_iter()
                .enumerate()
            {
                match out.get_mut(i) {
                    Some((_, all)) => all.extend(e),
                    None => out.push((tensor.name(), e)),
                }
            }
        }
        Ok(out)
    }
}

impl RunReport {
    /// The one-page Markdown report.
    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "# hwformer run: {}\n\nhwformer {}, seed {}, layer {}; {:.0} s. Every Fmax below is an estimate from \
             the yosys netlist, not a timing analysis. The same in JSON: `report.json` (schema {}, docs/RUN_REPORT.md).\n",
            self.verdict.word(),
            self.hwformer_version,
            self.seed,
            self.layer_config
                .as_deref()
                .map_or("the default preset (tiny)".to_string(), |c| format!("from `{c}`")),
            self.seconds,
            self.schema
        );
        let mut t = TextTable::new(["#", "section", "verdict", "seconds"]);
        for s in &self.sections {
            t.add_row([
                s.number.to_string(),
                s.title.clone(),
                s.verdict.word().to_string(),
                format!("{:.1}", s.seconds),
            ]);
        }
        md += &format!("\n## Verdict per section\n\n{}", t.render_markdown());
        if let Some(layer) = &self.layer {
            md += &layer.to_markdown();
        }
        let mut t = TextTable::new([
            "design",
            "variant",
            "family",
            "LUT",
            "FF",
            "DSP",
            "RAMB18",
            "RAMB36",
            "Fmax estimate",
        ]);
        for r in &self.synthesis {
            t.add_row([
                r.design.clone(),
                r.variant.clone(),
                r.family.to_string(),
                r.luts.to_string(),
                r.flip_flops.to_string(),
                r.dsp.to_string(),
                r.ramb18.to_string(),
                r.ramb36.to_string(),
                format!("{:.0} MHz", r.fmax_estimate_mhz),
            ]);
        }
        md += &format!(
            "\n## Resources (yosys synth_xilinx)\n\n{}\nFmax: {} (an estimate from the netlist).\n",
            t.render_markdown(),
            Family::Xc7.delays().name
        );
        let mut t = TextTable::new(["subject", "metric", "measured", "limit", "within"]);
        for m in &self.accuracy {
            t.add_row([
                m.subject.clone(),
                m.metric.clone(),
                format!("{:.3e}", m.measured),
                m.limit.map_or("-".into(), |l| format!("{l:.3e}")),
                if m.passes() { "yes" } else { "NO" }.to_string(),
            ]);
        }
        md += &format!(
            "\n## Accuracy of the integer models against f64\n\n{}",
            t.render_markdown()
        );
        let mut t = TextTable::new([
            "layer",
            "shape",
            "cycles (full speed)",
            "FIFO: full-throughput depth / deadlocks below",
        ]);
        for g in &self.layer_graphs {
            t.add_row([
                g.name.clone(),
                g.shape.describe(),
                format!("{} for {} sequences", g.full_throughput_cycles, g.sequences),
                g.fifos
                    .iter()
                    .map(|f| {
                        format!(
                            "{} {} / {}",
                            f.name, f.full_throughput_depth, f.deadlock_free_depth
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ]);
        }
        md += &format!(
            "\n## Layer FIFOs sized on the layer graphs\n\n{}",
            t.render_markdown()
        );
        md += "\n## Plots\n\n";
        for p in &self.plots {
            md += &format!(
                "- {} ([SVG]({}), [PNG]({}))\n\n  ![{}]({})\n",
                p.title, p.svg, p.png, p.title, p.svg
            );
        }
        md
    }
}

impl LayerReport {
    fn to_markdown(&self) -> String {
        let mut md = format!(
            "\n## The encoder layer `{}` ({})\n\n{}; FIFO depths (residual 1, ffn hidden, residual 2) {:?} from the {}.\n",
            self.name,
            self.module,
            self.shape.describe(),
            self.fifo_depths,
            self.fifo_depths_from
        );
        let mut t = TextTable::new([
            "simulator",
            "valid / ready",
            "outputs bit-exact",
            "cycles = graph's",
            "vs float: max error",
            "worst token cosine",
            "verdict",
        ]);
        for c in &self.checks {
            t.add_row([
                c.backend.to_string(),
                format!("{} / {}", c.valid, c.ready),
                c.beats.map_or("-".into(), |b| b.to_string()),
                c.cycles.map_or("-".into(), |b| b.to_string()),
                c.float_max_error.map_or("-".into(), |e| format!("{e:.2e}")),
                c.worst_token_cosine.map_or("-".into(), |e| format!("{e:.6}")),
                match &c.failure {
                    None => "PASS".to_string(),
                    Some(why) => format!("FAIL: {why}"),
                },
            ]);
        }
        md += &format!("\n{}", t.render_markdown());
        if let Some(s) = &self.synthesis {
            md += &format!(
                "\nyosys ({}): {} LUT, {} FF, {} DSP, {} RAMB18, {} RAMB36; Fmax estimate {:.0} MHz.\n",
                s.family, s.luts, s.flip_flops, s.dsp, s.ramb18, s.ramb36, s.fmax_estimate_mhz,
            );
        }
        if let Some(e) = &self.estimate {
            md += &format!(
                "\nOne sequence alone: {} cycles from its first input to its last output, {:.2} µs at {:.0} MHz \
                 (the Fmax estimate); sequences back to back every {} cycles ({:.1} cycles a token). \
                 ASIC energy estimate at {} nm: {:.2} nJ a token (Horowitz's energies per operation, arithmetic \
                 and weight reads only: a lower bound).\n",
                e.sequence_latency_cycles,
                e.sequence_latency_us,
                e.clock_mhz,
                e.sequence_interval_cycles,
                e.cycles_per_token,
                e.node_nm,
                e.asic_energy_per_token_nj
            );
        }
        let mut t = TextTable::new(["block output", "elements", "max |error|", "RMS error"]);
        for e in &self.tensor_errors {
            t.add_row([
                e.tensor.to_string(),
                e.elements.to_string(),
                format!("{:.2e}", e.max_abs),
                format!("{:.2e}", e.rms),
            ]);
        }
        md += &format!(
            "\nThe int16 layer model against the float layer, each block's output (errors accumulate along the \
             layer):\n\n{}",
            t.render_markdown()
        );
        md
    }
}

/// The run's folders: it works in `<DIR>.partial` and renames that to
/// `DIR` at the end.
pub struct RunFolder {
    /// Where the report goes.
    pub dir: PathBuf,
    /// Where the run works until then.
    pub work: PathBuf,
}

/// The file that marks a folder as a finished run's.
pub const REPORT_FILE: &str = "report.json";

impl RunFolder {
    /// Checks that `dir` is free (missing, empty, or an earlier run's) and
    /// makes an empty `<dir>.partial`.
    pub fn start(dir: &Path) -> Result<Self, String> {
        let name = dir
            .file_name()
            .ok_or_else(|| format!("--out {}: names no folder", dir.display()))?;
        let mut partial = name.to_os_string();
        partial.push(".partial");
        let work = dir.with_file_name(partial);
        if dir.exists() && !Self::replaceable(dir)? {
            return Err(format!(
                "--out {}: the folder exists and is not an earlier hwformer run's (no {REPORT_FILE}); \
                 choose another or remove it",
                dir.display()
            ));
        }
        if work.exists() {
            std::fs::remove_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
        }
        std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            work,
        })
    }

    fn replaceable(dir: &Path) -> Result<bool, String> {
        let mut entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(entries.next().is_none() || dir.join(REPORT_FILE).is_file())
    }

    /// Moves the finished work folder to the report's folder (replacing an
    /// earlier run's).
    pub fn finish(&self) -> Result<(), String> {
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        }
        std::fs::rename(&self.work, &self.dir)
            .map_err(|e| format!("{} -> {}: {e}", self.work.display(), self.dir.display()))
    }
}
