//! The report's plots: attention's memory and cycles against N, the
//! layer's error histograms per block, resources per design and variant,
//! and the layer FIFOs' depths. Each is drawn once for any plotters
//! backend and saved as SVG and PNG (`hwformer_dataflow::plot::save`).

use crate::report::{PlotRow, RunReport};
use hwformer_dataflow::plot::{save, Figure, ScalingFigure};
use plotters::coord::ranged1d::{SegmentedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordusize;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Draws every plot the report has data for into `plots` (a folder inside
/// `dir`); `errors` are the layer's per-element errors per block output.
pub fn draw_all(
    report: &RunReport,
    errors: &[(&'static str, Vec<f64>)],
    dir: &Path,
    plots: &Path,
) -> Result<Vec<PlotRow>, String> {
    let mut rows = Vec::new();
    let mut add =
        |figure: &dyn Fn(&Path) -> Result<[std::path::PathBuf; 2], String>, stem: &str, title: &str| {
            let [svg, png] = figure(&plots.join(stem))?;
            let relative = |p: &Path| {
                p.strip_prefix(dir)
                    .unwrap_or(p)
                    .to_string_lossy()
                    .replace('\\', "/")
            };
            rows.push(PlotRow {
                title: title.to_string(),
                svg: relative(&svg),
                png: relative(&png),
            });
            Ok::<(), String>(())
        };
    let text = |e: hwformer_dataflow::DataflowError| e.to_string();
    if !report.attention_scaling.is_empty() {
        add(
            &|stem| save(&ScalingFigure(&report.attention_scaling), stem).map_err(text),
            "attention_scaling",
            "Attention: peak intermediate memory and cycles against N, naive and streaming (d = 16, one query)",
        )?;
    }
    if !errors.is_empty() {
        let name = report.layer.as_ref().map_or("layer", |l| l.name.as_str());
        add(
            &|stem| save(&HistogramFigure { errors }, stem).map_err(text),
            "layer_errors",
            &format!(
                "Layer `{name}`: histogram of int16 − float per block output (errors accumulate along the layer)"
            ),
        )?;
    }
    let synthesized: Vec<_> = report.synthesis.iter().collect();
    if !synthesized.is_empty() {
        let bars = BarsFigure {
            categories: synthesized
                .iter()
                .map(|r| format!("{} {}", r.design, r.variant))
                .collect(),
            panels: vec![
                BarPanel {
                    title: "LUT",
                    values: synthesized.iter().map(|r| r.luts as f64).collect(),
                    log: true,
                },
                BarPanel {
                    title: "FF",
                    values: synthesized.iter().map(|r| r.flip_flops as f64).collect(),
                    log: true,
                },
                BarPanel {
                    title: "DSP",
                    values: synthesized.iter().map(|r| r.dsp as f64).collect(),
                    log: true,
                },
                BarPanel {
                    title: "Fmax estimate (MHz)",
                    values: synthesized.iter().map(|r| r.fmax_estimate_mhz.round()).collect(),
                    log: false,
                },
            ],
        };
        add(
            &|stem| save(&bars, stem).map_err(text),
            "resources",
            "Resources per design and variant (yosys synth_xilinx; Fmax is an estimate from the netlist)",
        )?;
    }
    if !report.layer_graphs.is_empty() {
        let mut categories = Vec::new();
        let (mut full, mut deadlock) = (Vec::new(), Vec::new());
        for g in &report.layer_graphs {
            for f in &g.fifos {
                categories.push(format!("{}: {}", g.name, f.name));
                full.push(f.full_throughput_depth as f64);
                deadlock.push(f.deadlock_free_depth as f64);
            }
        }
        let bars = BarsFigure {
            categories,
            panels: vec![
                BarPanel {
                    title: "depth for full throughput",
                    values: full,
                    log: true,
                },
                BarPanel {
                    title: "deadlocks below",
                    values: deadlock,
                    log: true,
                },
            ],
        };
        add(
            &|stem| save(&bars, stem).map_err(text),
            "layer_fifos",
            "Layer FIFO depths found on the layer graphs",
        )?;
    }
    if let Some(sweep) = &report.sweep {
        add(
            &|stem| crate::sweep_plot::save_pareto(sweep, stem),
            "sweep_pareto",
            "A sweep: LUT against latency, coloured by the error against float64, the Pareto front ringed",
        )?;
    }
    Ok(rows)
}

/// A histogram of each block output's errors, one panel per block.
struct HistogramFigure<'a> {
    errors: &'a [(&'static str, Vec<f64>)],
}

/// Bins of each histogram.
const BINS: usize = 31;

impl Figure for HistogramFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let rows = self.errors.len().div_ceil(4) as u32;
        (1200, 260 * rows.max(1))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let fail = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let rows = self.errors.len().div_ceil(4);
        let panels = root.split_evenly((rows.max(1), 4));
        for (panel, (tensor, errors)) in panels.iter().zip(self.errors) {
            let max = errors
                .iter()
                .fold(0.0f64, |m, e| m.max(e.abs()))
                .max(f64::MIN_POSITIVE);
            let width = 2.0 * max / BINS as f64;
            let mut counts = [0u32; BINS];
            for e in errors {
                let bin = (((e + max) / width) as usize).min(BINS - 1);
                counts[bin] += 1;
            }
            let top = counts.iter().copied().max().unwrap_or(1).max(1);
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("{tensor} (max {max:.1e})"), ("sans-serif", 15))
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(40)
                .build_cartesian_2d(-max..max, 0u32..top + top / 10 + 1)
                .map_err(|e| fail(&e))?;
            chart
                .configure_mesh()
                .light_line_style(WHITE)
                .x_labels(3)
                .y_labels(4)
                .x_label_formatter(&|x| if *x == 0.0 { "0".into() } else { format!("{x:.0e}") })
                .draw()
                .map_err(|e| fail(&e))?;
            chart
                .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                    let x0 = -max + i as f64 * width;
                    Rectangle::new([(x0, 0), (x0 + width, c)], BLUE.mix(0.6).filled())
                }))
                .map_err(|e| fail(&e))?;
        }
        Ok(())
    }
}

/// The mesh (categories on the y axis), the bars and their value labels
/// of one panel, on either x scale.
fn draw_bars<'a, DB, X>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, SegmentedCoord<RangedCoordusize>>>,
    rows: usize,
    categories: &dyn Fn(&SegmentValue<usize>) -> String,
    bars: impl Iterator<
        Item = (
            Rectangle<(f64, SegmentValue<usize>)>,
            Text<'a, (f64, SegmentValue<usize>), String>,
        ),
    >,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let fail = |e: &dyn std::fmt::Display| e.to_string();
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_labels(5)
        .x_label_formatter(&|x| format!("{}", x.round() as u64))
        .y_labels(rows)
        .y_label_formatter(categories)
        .draw()
        .map_err(|e| fail(&e))?;
    let (rectangles, labels): (Vec<_>, Vec<_>) = bars.unzip();
    chart.draw_series(rectangles).map_err(|e| fail(&e))?;
    chart.draw_series(labels).map_err(|e| fail(&e))?;
    Ok(())
}

/// One quantity of a [`BarsFigure`].
struct BarPanel {
    title: &'static str,
    values: Vec<f64>,
    /// Log scale (counts over decades), else linear from 0.
    log: bool,
}

/// Horizontal bars: one panel per quantity, one bar per category (the
/// first at the top), each bar labelled with its value; on a log scale a
/// value below 1 draws no bar.
struct BarsFigure {
    categories: Vec<String>,
    panels: Vec<BarPanel>,
}

impl Figure for BarsFigure {
    fn size(&self) -> (u32, u32) {
        (
            440 * self.panels.len() as u32,
            120 + 22 * self.categories.len() as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let fail = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let n = self.categories.len();
        let label_width = self.categories.iter().map(|c| c.len()).max().unwrap_or(4) as u32 * 7 + 10;
        let panels = root.split_evenly((1, self.panels.len().max(1)));
        // the first category at the top
        let row = |i: usize| n - 1 - i;
        for (area, panel) in panels.iter().zip(&self.panels) {
            let top = panel.values.iter().copied().fold(1.0, f64::max);
            let (low, high) = if panel.log {
                (0.8, top * 4.0)
            } else {
                (0.0, top * 1.25)
            };
            let mut chart = ChartBuilder::on(area);
            chart
                .caption(panel.title, ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(label_width);
            let y = (0..n).into_segmented();
            let bar = |i: usize, v: f64| {
                let mut bar = Rectangle::new(
                    [
                        (low, SegmentValue::Exact(row(i))),
                        (v, SegmentValue::Exact(row(i) + 1)),
                    ],
                    BLUE.mix(0.6).filled(),
                );
                bar.set_margin(3, 3, 0, 0);
                bar
            };
            let label = |i: usize, v: f64| {
                Text::new(
                    format!("{}", (v * 10.0).round() / 10.0),
                    (v.max(low), SegmentValue::CenterOf(row(i))),
                    TextStyle::from(("sans-serif", 11).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
                )
            };
            let categories = |y: &SegmentValue<usize>| match y {
                SegmentValue::CenterOf(r) | SegmentValue::Exact(r) if *r < n => {
                    self.categories[n - 1 - r].clone()
                }
                _ => String::new(),
            };
            let shown = || {
                panel
                    .values
                    .iter()
                    .copied()
                    .enumerate()
                    .filter(|&(_, v)| !panel.log || v >= 1.0)
            };
            if panel.log {
                let mut chart = chart
                    .build_cartesian_2d((low..high).log_scale(), y)
                    .map_err(|e| fail(&e))?;
                draw_bars(
                    &mut chart,
                    n,
                    &categories,
                    shown().map(|(i, v)| (bar(i, v), label(i, v))),
                )?;
            } else {
                let mut chart = chart.build_cartesian_2d(low..high, y).map_err(|e| fail(&e))?;
                draw_bars(
                    &mut chart,
                    n,
                    &categories,
                    shown().map(|(i, v)| (bar(i, v), label(i, v))),
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("hwformer-report-plots-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn bars_and_histograms_are_saved_as_svg_and_png_with_their_labels() {
        let dir = scratch("figures");
        let bars = BarsFigure {
            categories: vec!["first".into(), "second".into(), "none".into()],
            panels: vec![
                BarPanel {
                    title: "counts",
                    values: vec![1500.0, 3.0, 0.0],
                    log: true,
                },
                BarPanel {
                    title: "MHz",
                    values: vec![203.0, 181.0, 0.0],
                    log: false,
                },
            ],
        };
        let [svg, png] = save(&bars, &dir.join("bars")).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        for label in ["first", "second", "none", "counts", "MHz", "1500", "203"] {
            assert!(text.contains(label), "{label} missing from the SVG");
        }
        assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
        let errors = vec![("query", vec![-1e-3, 0.0, 2e-3]), ("output", vec![0.0; 4])];
        let [svg, _] = save(&HistogramFigure { errors: &errors }, &dir.join("histogram")).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(
            text.contains("query (max 2.0e-3)") && text.contains("output"),
            "{text}"
        );
    }
}
