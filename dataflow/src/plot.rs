//! Plots: how the attention graphs scale with N, and the one way every
//! hwformer plot is saved (SVG and PNG from one drawing, text in one
//! font, [`save`]).

use crate::program::{DataflowError, Result};
use crate::sdpa::{SdpaRun, Variant};
use plotters::coord::Shift;
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

/// A figure that can be drawn on any plotters backend (so one drawing
/// gives both the SVG and the PNG).
pub trait Figure {
    /// Size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the figure on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String>;
}

/// Where the font of every plot's text is looked for (Debian's
/// fonts-dejavu-core, which scripts/install-tools.sh installs); the
/// environment variable `HWFORMER_FONT` names another TrueType file.
pub const FONT_PATHS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// Registers the plots' font once (plotters measures and renders text
/// with it); an error says what to install.
pub fn register_font() -> Result<()> {
    static REGISTERED: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let path = match std::env::var_os("HWFORMER_FONT") {
                Some(named) => {
                    let path = std::path::PathBuf::from(named);
                    if !path.is_file() {
                        return Err(format!("HWFORMER_FONT={}: no such file", path.display()));
                    }
                    path
                }
                None => FONT_PATHS
                    .iter()
                    .map(std::path::PathBuf::from)
                    .find(|p| p.is_file())
                    .ok_or_else(|| {
                        format!(
                            "no font for the plots' text at {}: install Debian's fonts-dejavu-core \
                             (scripts/install-tools.sh does), or set HWFORMER_FONT to a TrueType file",
                            FONT_PATHS.join(" or ")
                        )
                    })?,
            };
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            // plotters keeps a font for the program's life
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| format!("{}: not a TrueType font plotters can read", path.display()))
        })
        .clone()
        .map_err(DataflowError::InvalidParameter)
}

/// Saves `figure` as `<stem>.svg` and `<stem>.png`; returns both paths.
pub fn save(figure: &impl Figure, stem: &std::path::Path) -> Result<[std::path::PathBuf; 2]> {
    register_font()?;
    let svg = stem.with_extension("svg");
    let png = stem.with_extension("png");
    let fail = |path: &std::path::Path, e: String| {
        DataflowError::InvalidParameter(format!("plot {}: {e}", path.display()))
    };
    {
        let root = SVGBackend::new(&svg, figure.size()).into_drawing_area();
        figure.draw(&root).map_err(|e| fail(&svg, e))?;
        root.present().map_err(|e| fail(&svg, e.to_string()))?;
    }
    {
        let root = BitMapBackend::new(&png, figure.size()).into_drawing_area();
        figure.draw(&root).map_err(|e| fail(&png, e))?;
        root.present().map_err(|e| fail(&png, e.to_string()))?;
    }
    Ok([svg, png])
}

/// Peak intermediate memory and cycles against N (both log scale), naive
/// and streaming attention side by side.
pub struct ScalingFigure<'a>(pub &'a [ScalingPoint]);

impl Figure for ScalingFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 420)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let points = self.0;
        let fail = |e: &dyn std::fmt::Display| e.to_string();
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
        Ok(())
    }
}

/// Saves peak intermediate memory and cycles against N as `<stem>.svg`
/// and `<stem>.png`.
pub fn draw(points: &[ScalingPoint], stem: &std::path::Path) -> Result<[std::path::PathBuf; 2]> {
    save(&ScalingFigure(points), stem)
}
