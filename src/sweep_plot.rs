//! The sweep's Pareto plot: each passing point's resource (LUT or DSP)
//! against its latency, coloured by its error against float64, the
//! non-dominated points ringed and joined.

use crate::sweep::Results;
use hwformer_dataflow::plot::{save, Figure};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One passing point on the plot.
struct Dot {
    latency_ns: f64,
    resource: f64,
    error: Option<f64>,
    pareto: bool,
    label: String,
}

/// The figure of a sweep's results.
struct ParetoFigure {
    dots: Vec<Dot>,
    resource: &'static str,
}

/// The range of `values` with a tenth of its span (or of its value) on
/// each side, so no point sits on the frame.
fn padded(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (low, high) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if low > high {
        return 0.0..1.0;
    }
    let margin = ((high - low) / 10.0).max(high.abs() / 10.0).max(1e-9);
    (low - margin).max(0.0)..high + margin
}

/// Blue (smallest error) to red (largest), by log10 of the error.
fn error_colour(error: Option<f64>, (low, high): (f64, f64)) -> RGBColor {
    match error {
        None => RGBColor(128, 128, 128),
        Some(e) => {
            let t = if high > low {
                ((e.max(1e-300).log10() - low) / (high - low)).clamp(0.0, 1.0)
            } else {
                0.5
            };
            RGBColor((40.0 + 215.0 * t) as u8, 60, (255.0 - 215.0 * t) as u8)
        }
    }
}

impl Figure for ParetoFigure {
    fn size(&self) -> (u32, u32) {
        (900, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let fail = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let x = padded(self.dots.iter().map(|d| d.latency_ns));
        let y = padded(self.dots.iter().map(|d| d.resource));
        let logs: Vec<f64> = self
            .dots
            .iter()
            .filter_map(|d| d.error)
            .map(|e| e.max(1e-300).log10())
            .collect();
        let range = (
            logs.iter().copied().fold(f64::MAX, f64::min),
            logs.iter().copied().fold(f64::MIN, f64::max),
        );
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "{} against latency (colour: error vs float64, blue smallest)",
                    self.resource
                ),
                ("sans-serif", 20),
            )
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x, y)
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("latency of the check's workload at the Fmax estimate (ns)")
            .y_desc(self.resource)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(|e| fail(&e))?;
        let mut front: Vec<(f64, f64)> = self
            .dots
            .iter()
            .filter(|d| d.pareto)
            .map(|d| (d.latency_ns, d.resource))
            .collect();
        front.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(front, BLACK.stroke_width(1)))
            .map_err(|e| fail(&e))?
            .label("Pareto front (ringed)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
        for d in &self.dots {
            let at = (d.latency_ns, d.resource);
            chart
                .draw_series([Circle::new(at, 5, error_colour(d.error, range).filled())])
                .map_err(|e| fail(&e))?;
            if d.pareto {
                chart
                    .draw_series([Circle::new(at, 9, BLACK.stroke_width(2))])
                    .map_err(|e| fail(&e))?;
                chart
                    .draw_series([
                        EmptyElement::at(at) + Text::new(d.label.clone(), (12, -16), ("sans-serif", 13))
                    ])
                    .map_err(|e| fail(&e))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| fail(&e))?;
        Ok(())
    }
}

/// Saves the Pareto plot of `results` as `<stem>.svg` and `<stem>.png`.
pub fn save_pareto(results: &Results, stem: &Path) -> Result<[std::path::PathBuf; 2], String> {
    let dsp = results.pareto_resource == "dsp";
    let dots = results
        .points
        .iter()
        .filter_map(|row| {
            let r = &row.result;
            let resource = if dsp { r.dsp } else { r.luts }?;
            Some(Dot {
                latency_ns: r.latency_ns?,
                resource: resource as f64,
                error: r.max_error,
                pareto: row.pareto,
                label: r
                    .values
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            })
        })
        .collect();
    let figure = ParetoFigure {
        dots,
        resource: if dsp { "DSP" } else { "LUT" },
    };
    save(&figure, stem).map_err(|e| e.to_string())
}
