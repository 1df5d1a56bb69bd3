//! SVG plots of how the attention graphs scale with N.

use crate::program::{DataflowError, Result};
use crate::sdpa::{SdpaRun, Variant};
use plotters::prelude::*;
use serde::Serialize;

/// One graph at one N.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScalingPoint {
    /// Which graph.
    pub variant: Variant,
    /// Keys per query.
    pub n: usize,
    /// Sum of peak occupancies of the intermediate channels (elements).
    pub intermediate_peak: usize,
    /// Simulated cycles.
    pub cycles: u64,
}

/// Simulates both graphs (unchecked, timing only) at every N in `ns`.
pub fn scaling(d: usize, queries: usize, ns: &[usize]) -> Result<Vec<ScalingPoint>> {
    let mut points = Vec::new();
    for variant in [Variant::Naive, Variant::Streaming] {
        for &n in ns {
            let mut run = SdpaRun::new(variant, n, d);
            run.queries = queries;
            run.check = false;
            let r = run.simulate()?;
            points.push(ScalingPoint {
                variant,
                n,
                intermediate_peak: r.intermediate_peak(),
                cycles: r.cycles,
            });
        }
    }
    Ok(points)
}

/// Draws peak intermediate memory and cycles against N (both log scale)
/// into an SVG file.
pub fn draw(points: &[ScalingPoint], path: &std::path::Path) -> Result<()> {
    let fail =
        |e: &dyn std::fmt::Display| DataflowError::InvalidParameter(format!("plot {}: {e}", path.display()));
    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let panels = root.split_evenly((1, 2));
    let n_max = points.iter().map(|p| p.n).max().unwrap_or(2).max(2) as f64;
    let n_min = points.iter().map(|p| p.n).min().unwrap_or(1).max(1) as f64;
    type Metric = fn(&ScalingPoint) -> f64;
    let metrics: [(&str, &str, Metric); 2] = [
        ("peak intermediate memory", "elements", |p| {
            p.intermediate_peak.max(1) as f64
        }),
        ("cycles", "cycles", |p| p.cycles.max(1) as f64),
    ];
    for (panel, (title, unit, metric)) in panels.iter().zip(metrics) {
        let y_max = points.iter().map(metric).fold(1.0, f64::max) * 2.0;
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{title} vs N"), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d((n_min..n_max).log_scale(), (0.5..y_max).log_scale())
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_labels(8)
            .y_labels(8)
            .x_label_formatter(&|x| format!("{}", x.round() as u64))
            .y_label_formatter(&|y| format!("{}", y.round() as u64))
            .x_desc("N (keys per query)")
            .y_desc(unit)
            .draw()
            .map_err(|e| fail(&e))?;
        for (variant, color) in [(Variant::Naive, RED), (Variant::Streaming, BLUE)] {
            let series: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.variant == variant)
                .map(|p| (p.n as f64, metric(p)))
                .collect();
            chart
                .draw_series(LineSeries::new(series.clone(), color.stroke_width(2)))
                .map_err(|e| fail(&e))?
                .label(format!("{variant:?}").to_lowercase())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
            chart
                .draw_series(series.into_iter().map(|xy| Circle::new(xy, 3, color.filled())))
                .map_err(|e| fail(&e))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| fail(&e))?;
    }
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}
