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
use indicatif::ProgressBar;
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
        Self::passed(code == ExitCode::SUCCESS)
    }

    /// Pass when `ok`.
    pub fn passed(ok: bool) -> Self {
        if ok {
            Self::Pass
        } else {
            Self::Fail
        }
    }

    /// `PASS` or `FAIL`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
        }
    }
}

impl From<Verdict> for ExitCode {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Pass => ExitCode::SUCCESS,
            Verdict::Fail => ExitCode::FAILURE,
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
    /// The FFN's activation (`gelu`, `relu`).
    pub activation: hwformer_quant::reference::Activation,
    /// The integer datapath (`int16`, `ternary`: the FFN's weights).
    pub variant: hwformer_quant::bert::integer::Variant,
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
            activation: plan.activation,
            variant: plan.variant,
        }
    }

    fn describe(&self) -> String {
        crate::layer_command::describe_plan(&LayerPlan {
            shape: hwformer_dataflow::handshake::layer::LayerShape {
                d_model: self.d_model,
                heads: self.heads,
                head_size: self.head_size,
                tokens: self.tokens,
                layer_norm: self.layer_norm,
            },
            d_ff: self.d_ff,
            lanes: self.lanes,
            activation: self.activation,
            variant: self.variant,
        })
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

/// A layer the run built and checked on its own: a real model's, or
/// another preset's.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedLayerRow {
    /// Its name (`minilm-l<layer>`, `jet-tagging`).
    pub name: String,
    /// The module.
    pub module: String,
    /// Its shape.
    pub shape: LayerShapeRow,
    /// FIFO depths: residual 1, ffn hidden, residual 2 (the graph search's).
    pub fifo_depths: [usize; 3],
    /// Seconds from reading the model file (or drawing the seeded
    /// weights) to the verdict.
    pub seconds: f64,
    /// The run on the simulator.
    pub check: LayerCheck,
}

impl CheckedLayerRow {
    /// The row of `layer`, checked by `check`, `seconds` after its start.
    pub fn new(layer: &crate::layer_command::WrittenLayer, check: LayerCheck, seconds: f64) -> Self {
        let d = layer.design.depths;
        Self {
            name: layer.design.name.clone(),
            module: layer.manifest.module.clone(),
            shape: LayerShapeRow::of(&layer.design.plan),
            fifo_depths: [d.residual1, d.hidden, d.residual2],
            seconds,
            check,
        }
    }

    /// Its report section, titled `title`.
    fn to_markdown(&self, title: &str) -> String {
        let c = &self.check;
        format!(
            "\n## {title}: `{}` ({})\n\n{}; FIFO depths {:?} from the graph search. On {}: {}; \
             {:.0} s from the weights to the verdict.\n",
            self.name,
            self.module,
            self.shape.describe(),
            self.fifo_depths,
            c.backend,
            match (&c.failure, c.beats, c.cycles, c.float_max_error, c.worst_token_cosine) {
                (None, Some(beats), Some(cycles), Some(max), Some(cosine)) => format!(
                    "PASS, {beats} outputs bit-exact with the {} layer model, every handshake at the graph's \
                     cycle ({cycles} cycles); against the float layer max error {max:.2e}, worst token cosine \
                     {cosine:.6}",
                    self.shape.variant.name()
                ),
                (Some(why), ..) => format!("FAIL: {why}"),
                _ => "no verdict".to_string(),
            },
            self.seconds
        )
    }
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
    /// Seed of the run's random inputs and of the layer checks' pacing
    /// (`seed`, `seed + 1`); the layer's weights and its evaluation
    /// sequences come from its own seed (`weights.seed`, default 7).
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
    /// Every yosys synthesis of the run, the layer's last.
    pub synthesis: Vec<SynthesisRow>,
    /// Layer FIFO searches.
    pub layer_graphs: Vec<LayerGraphRow>,
    /// The layer built and checked.
    pub layer: Option<LayerReport>,
    /// A real model's layer built and checked.
    pub model_layer: Option<CheckedLayerRow>,
    /// Other layers built and checked (jet-tagging, the tiny layer's
    /// variants).
    pub other_layers: Vec<CheckedLayerRow>,
    /// The design-space sweep (`hwformer sweep`'s results).
    pub sweep: Option<crate::sweep::Results>,
    /// The plots.
    pub plots: Vec<PlotRow>,
}

/// Sections of `hwformer run`.
pub const SECTIONS: usize = 18;

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
        let progress = crate::progress::start(SECTIONS as u64, "section");
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
                model_layer: None,
                other_layers: Vec::new(),
                sweep: None,
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
        crate::progress::finish();
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
            fifo_depths_from: crate::layer_command::depths_source(design),
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
            let x = design.layer.evaluation_input(k).map_err(|e| e.to_string())?;
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
        if let Some(m) = &self.model_layer {
            md += &m.to_markdown("A real model's layer");
        }
        for m in &self.other_layers {
            md += &m.to_markdown("Another layer");
        }
        if let Some(sweep) = &self.sweep {
            md += &format!(
                "\n## A design-space sweep\n\n{} of {} points passed (each exported, checked on Verilator at full \
                 speed, synthesized with yosys; latency: the check's workload at the Fmax estimate; * on the Pareto \
                 front of {} against latency).\n\n{}",
                sweep.passed(),
                sweep.points.len(),
                sweep.pareto_resource,
                crate::sweep::summary_table(sweep).render_markdown()
            );
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

/// The file that marks a folder as a hwformer run's (written first into
/// the work folder): only such a folder, or an empty one, is replaced.
pub const RUN_MARKER: &str = ".hwformer-run";

impl RunFolder {
    /// Checks that `dir` is free (missing, empty, or an earlier run's) and
    /// makes an empty `<dir>.partial` holding the marker.
    pub fn start(dir: &Path) -> Result<Self, String> {
        // `foo/.` is `foo`; `.`, `..` and `/` name no folder of their own
        let dir: PathBuf = dir.components().collect();
        let name = dir
            .file_name()
            .filter(|_| {
                dir.components()
                    .next_back()
                    .is_some_and(|c| matches!(c, std::path::Component::Normal(_)))
            })
            .ok_or_else(|| {
                format!(
                    "--out {}: names no folder of its own (give one, e.g. target/hwformer-demo)",
                    dir.display()
                )
            })?;
        let mut partial = name.to_os_string();
        partial.push(".partial");
        let work = dir.with_file_name(partial);
        for folder in [&dir, &work] {
            if !Self::replaceable(folder)? {
                return Err(format!(
                    "--out {}: {} exists and is not a hwformer run's folder (no {RUN_MARKER}); choose another \
                     --out or remove it",
                    dir.display(),
                    folder.display()
                ));
            }
        }
        if work.exists() {
            std::fs::remove_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
        }
        std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
        let marker = work.join(RUN_MARKER);
        std::fs::write(
            &marker,
            "a folder written by `hwformer run`; the next run into it replaces it\n",
        )
        .map_err(|e| format!("{}: {e}", marker.display()))?;
        Ok(Self { dir, work })
    }

    /// Missing, empty, or marked as a run's.
    fn replaceable(folder: &Path) -> Result<bool, String> {
        if !folder.exists() {
            return Ok(true);
        }
        let mut entries = std::fs::read_dir(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        Ok(entries.next().is_none() || folder.join(RUN_MARKER).is_file())
    }

    /// Moves the finished work folder to the report's folder: an earlier
    /// run's is renamed aside first and removed only after the new one is
    /// in place, so a failure leaves one of the two whole.
    pub fn finish(&self) -> Result<(), String> {
        let kept = |e: String| format!("{e} (the finished run is in {})", self.work.display());
        if !Self::replaceable(&self.dir)? {
            return Err(kept(format!(
                "{} was written to during the run and is no hwformer run's folder now; not replaced",
                self.dir.display()
            )));
        }
        let mut old = self.work.clone().into_os_string();
        old.push(".old");
        let old = PathBuf::from(old);
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| kept(format!("{}: {e}", old.display())))?;
        }
        let had = self.dir.exists();
        if had {
            std::fs::rename(&self.dir, &old)
                .map_err(|e| kept(format!("{} -> {}: {e}", self.dir.display(), old.display())))?;
        }
        if let Err(e) = std::fs::rename(&self.work, &self.dir) {
            if had {
                // put the earlier run back
                let _ = std::fs::rename(&old, &self.dir);
            }
            return Err(kept(format!(
                "{} -> {}: {e}",
                self.work.display(),
                self.dir.display()
            )));
        }
        if had {
            std::fs::remove_dir_all(&old).map_err(|e| format!("{}: {e}", old.display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hwformer-run-folder-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_run_replaces_only_its_own_folders_and_a_stopped_run_leaves_the_last_one() {
        let root = scratch("replace");
        let dir = root.join("out");
        // a first run into a missing folder
        let first = RunFolder::start(&dir).unwrap();
        std::fs::write(first.work.join("report.json"), "first").unwrap();
        first.finish().unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("report.json")).unwrap(), "first");
        assert!(!first.work.exists());
        // a second run that stops before finishing leaves the first whole
        let stopped = RunFolder::start(&dir).unwrap();
        std::fs::write(stopped.work.join("report.json"), "stopped").unwrap();
        drop(stopped);
        assert_eq!(std::fs::read_to_string(dir.join("report.json")).unwrap(), "first");
        // a third run replaces it (and the stopped run's partial folder)
        let third = RunFolder::start(&dir).unwrap();
        assert!(!third.work.join("report.json").exists());
        std::fs::write(third.work.join("report.json"), "third").unwrap();
        third.finish().unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("report.json")).unwrap(), "third");
        assert!(dir.join(RUN_MARKER).is_file());
        // `out/.` is `out`
        let dotted = RunFolder::start(&dir.join(".")).unwrap();
        assert_eq!(dotted.dir, dir);
        dotted.finish().unwrap();
    }

    #[test]
    fn a_folder_it_did_not_write_is_refused_and_kept() {
        let root = scratch("refuse");
        let mine = root.join("mine");
        std::fs::create_dir_all(&mine).unwrap();
        // a report.json alone does not make a folder a run's
        std::fs::write(mine.join("report.json"), "{}").unwrap();
        let e = RunFolder::start(&mine).err().unwrap();
        assert!(e.contains("not a hwformer run's folder"), "{e}");
        assert_eq!(std::fs::read_to_string(mine.join("report.json")).unwrap(), "{}");
        // nor is a foreign <out>.partial removed
        let other = root.join("other");
        std::fs::create_dir_all(root.join("other.partial")).unwrap();
        std::fs::write(root.join("other.partial/notes"), "keep").unwrap();
        assert!(RunFolder::start(&other).is_err());
        assert!(root.join("other.partial/notes").is_file());
        for odd in [".", "..", "/"] {
            assert!(RunFolder::start(Path::new(odd)).is_err(), "{odd}");
        }
        // a folder filled during the run is not replaced at the end
        let busy = root.join("busy");
        let run = RunFolder::start(&busy).unwrap();
        std::fs::create_dir_all(&busy).unwrap();
        std::fs::write(busy.join("new"), "user's").unwrap();
        let e = run.finish().unwrap_err();
        assert!(e.contains("not replaced") && e.contains(".partial"), "{e}");
        assert!(busy.join("new").is_file() && run.work.is_dir());
    }
}
