//! Parsers for Xilinx tool reports: Vivado `report_utilization`,
//! `report_timing_summary` and `report_power`, and Vivado / Vitis HLS
//! C-synthesis reports (`csynth.rpt` in three layouts and `_csynth.xml`).
//!
//! [`detect`] tells the kind of a report from its header, [`parse`] detects
//! and parses, [`parse_file`] reads a file first. Every report becomes a
//! typed struct (serializable with serde; the field names are the JSON
//! names documented in `docs/REPORTS.md`), and [`Report::summary_table`]
//! renders its key figures as text.
//!
//! The parsers never panic: malformed input gives a [`ReportError::Parse`]
//! naming the 1-based line and what was expected there.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod hls;
pub mod power;
#[cfg(test)]
pub(crate) mod samples;
pub(crate) mod table;
pub mod timing;
pub mod utilization;

pub use hls::{HlsLayout, HlsReport, HlsResources, HlsUtilization};
pub use power::{ClockConstraint, HierarchyPower, PowerComponent, PowerReport, PowerSupply};
pub use timing::{Clock, ClockSlack, SlackFigures, TimingSummary};
pub use utilization::{Primitive, Resource, SiteRow, UtilizationLayout, UtilizationReport};

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use table::{header_field, split_lines, Line};

/// The kinds of report this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Vivado `report_utilization`.
    Utilization,
    /// Vivado `report_timing_summary`.
    TimingSummary,
    /// Vivado `report_power`.
    Power,
    /// Vivado HLS / Vitis HLS `csynth.rpt`.
    HlsCsynth,
    /// Vivado HLS / Vitis HLS `_csynth.xml`.
    HlsCsynthXml,
}

impl ReportKind {
    /// Every kind, in the order above.
    pub const ALL: [ReportKind; 5] = [
        ReportKind::Utilization,
        ReportKind::TimingSummary,
        ReportKind::Power,
        ReportKind::HlsCsynth,
        ReportKind::HlsCsynthXml,
    ];

    /// A short human name (`report_utilization`, `HLS csynth.rpt`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Utilization => "report_utilization",
            ReportKind::TimingSummary => "report_timing_summary",
            ReportKind::Power => "report_power",
            ReportKind::HlsCsynth => "HLS csynth.rpt",
            ReportKind::HlsCsynthXml => "HLS csynth.xml",
        }
    }
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The text is none of the known kinds.
    #[error(
        "unknown report kind: expected a Vivado report_utilization, report_timing_summary or \
         report_power report, or a Vivado/Vitis HLS csynth report (.rpt or _csynth.xml)"
    )]
    UnknownKind,
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The text is not what a report of this kind has at this line.
    #[error("{kind} report, line {line}: expected {expected}, found {found}")]
    Parse {
        /// The kind being parsed.
        kind: ReportKind,
        /// 1-based line number (one past the last line for "end of file").
        line: usize,
        /// What should have been there.
        expected: String,
        /// What was there (quoted), or `the end of the report`.
        found: String,
    },
}

impl ReportError {
    /// The line number of a parse error.
    pub fn line(&self) -> Option<usize> {
        match self {
            ReportError::Parse { line, .. } => Some(*line),
            _ => None,
        }
    }

    pub(crate) fn at(kind: ReportKind, line: &Line<'_>, expected: impl Into<String>) -> Self {
        ReportError::Parse {
            kind,
            line: line.no,
            expected: expected.into(),
            found: table::snippet(line.text),
        }
    }

    pub(crate) fn at_no(
        kind: ReportKind,
        line: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        ReportError::Parse {
            kind,
            line,
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub(crate) fn eof(kind: ReportKind, lines: &[Line<'_>], expected: impl Into<String>) -> Self {
        ReportError::Parse {
            kind,
            line: table::eof_line(lines),
            expected: expected.into(),
            found: "the end of the report".to_string(),
        }
    }
}

/// How exactly a report printed a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The number as printed (`7.05`).
    #[default]
    Exact,
    /// Printed as `<value` (`<0.01`, `<0.001`): the true value is below.
    LessThan,
    /// Printed as `>value`.
    GreaterThan,
    /// Printed as `~value` (HLS `~0`: rounds to the value).
    About,
}

impl Bound {
    /// True for [`Bound::Exact`].
    pub fn is_exact(&self) -> bool {
        *self == Bound::Exact
    }
}

/// A number read from a report with its bound. JSON: `{"value": 0.01,
/// "bound": "less_than"}`; `bound` is left out when exact.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reading {
    /// The number printed.
    pub value: f64,
    /// Whether it was exact or a bound.
    #[serde(skip_serializing_if = "Bound::is_exact")]
    pub bound: Bound,
}

impl Reading {
    /// An exact reading.
    pub fn exact(value: f64) -> Self {
        Reading {
            value,
            bound: Bound::Exact,
        }
    }
}

impl fmt::Display for Reading {
    /// Two decimals unless a precision is given (`{:.3}`), with the bound's
    /// sign in front (`<0.01`, `~0.00`, `7.05`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.bound {
            Bound::Exact => "",
            Bound::LessThan => "<",
            Bound::GreaterThan => ">",
            Bound::About => "~",
        };
        let prec = f.precision().unwrap_or(2);
        write!(f, "{sign}{:.*}", prec, self.value)
    }
}

/// The `| Key : Value` block at the top of a Vivado report.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ReportHeader {
    /// `Tool Version`, e.g. `Vivado v.2024.1 (lin64) Build 5076996 ...`.
    pub tool_version: Option<String>,
    /// The release taken from the tool version, e.g. `2024.1`.
    pub vivado_version: Option<String>,
    /// `Date`.
    pub date: Option<String>,
    /// `Command` (None when empty).
    pub command: Option<String>,
    /// `Design`.
    pub design: Option<String>,
    /// `Device` (the part).
    pub device: Option<String>,
    /// `Speed File`.
    pub speed_file: Option<String>,
    /// `Design State` (`Routed`, `Fully Placed`, `Synthesized`, ...).
    pub design_state: Option<String>,
    /// Every field as printed, by name.
    pub fields: BTreeMap<String, String>,
}

impl ReportHeader {
    pub(crate) fn read(lines: &[Line<'_>]) -> Self {
        let fields = table::header_fields(lines);
        let get = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
        let tool_version = get("Tool Version");
        let vivado_version = tool_version.as_deref().and_then(|t| {
            let v = t.split_whitespace().find_map(|w| w.strip_prefix("v."))?;
            Some(v.to_string())
        });
        ReportHeader {
            vivado_version,
            tool_version,
            date: get("Date"),
            command: get("Command"),
            design: get("Design"),
            device: get("Device"),
            speed_file: get("Speed File"),
            design_state: get("Design State"),
            fields,
        }
    }
}

/// A parsed report of any kind. JSON: the report's fields plus `"kind"`:
/// `utilization`, `timing`, `power` or `hls`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
// One value per parsed file: unboxed variants keep matching simple.
#[allow(clippy::large_enum_variant)]
pub enum Report {
    /// From `report_utilization`.
    Utilization(UtilizationReport),
    /// From `report_timing_summary`.
    Timing(TimingSummary),
    /// From `report_power`.
    Power(PowerReport),
    /// From an HLS `csynth.rpt` or `_csynth.xml`.
    Hls(HlsReport),
}

impl Report {
    /// The kind of the source report.
    pub fn kind(&self) -> ReportKind {
        match self {
            Report::Utilization(_) => ReportKind::Utilization,
            Report::Timing(_) => ReportKind::TimingSummary,
            Report::Power(_) => ReportKind::Power,
            Report::Hls(h) if h.layout == HlsLayout::CsynthXml => ReportKind::HlsCsynthXml,
            Report::Hls(_) => ReportKind::HlsCsynth,
        }
    }

    /// The key figures as plain text (a title line, then tables).
    pub fn summary_table(&self) -> String {
        match self {
            Report::Utilization(r) => r.summary_table(),
            Report::Timing(r) => r.summary_table(),
            Report::Power(r) => r.summary_table(),
            Report::Hls(r) => r.summary_table(),
        }
    }
}

/// Tells the kind of a report from its first lines: the `Command` header
/// field of Vivado reports, the title of HLS reports, the XML root; then
/// falls back to section titles (`Utilization Design Information`,
/// `Timing Summary Report`, `Power Report`).
pub fn detect(text: &str) -> Option<ReportKind> {
    let lines = split_lines(text);
    let head = lines.iter().take(60);
    if let Some(first) = lines.iter().map(|l| l.text.trim()).find(|t| !t.is_empty()) {
        if first.starts_with("<?xml") || first.starts_with("<profile") {
            return text.contains("<profile").then_some(ReportKind::HlsCsynthXml);
        }
    }
    for l in head.clone() {
        if let Some(("Command", v)) = header_field(l.text.trim_end()) {
            match v.split_whitespace().next() {
                Some("report_utilization") => return Some(ReportKind::Utilization),
                Some("report_timing_summary") => return Some(ReportKind::TimingSummary),
                Some("report_power") => return Some(ReportKind::Power),
                _ => {}
            }
        }
    }
    for l in head {
        let t = l.text.trim();
        if hls::title(t).is_some() {
            return Some(ReportKind::HlsCsynth);
        }
    }
    for l in lines.iter().take(400) {
        match l.text.trim() {
            "Utilization Design Information" => return Some(ReportKind::Utilization),
            "Timing Summary Report" | "| Design Timing Summary" => return Some(ReportKind::TimingSummary),
            "Power Report" => return Some(ReportKind::Power),
            _ => {}
        }
    }
    None
}

/// Detects the kind of `text` and parses it.
pub fn parse(text: &str) -> Result<Report, ReportError> {
    parse_as(detect(text).ok_or(ReportError::UnknownKind)?, text)
}

/// Parses `text` as a report of kind `kind`.
pub fn parse_as(kind: ReportKind, text: &str) -> Result<Report, ReportError> {
    Ok(match kind {
        ReportKind::Utilization => Report::Utilization(parse_utilization(text)?),
        ReportKind::TimingSummary => Report::Timing(parse_timing_summary(text)?),
        ReportKind::Power => Report::Power(parse_power(text)?),
        ReportKind::HlsCsynth => Report::Hls(parse_hls_csynth(text)?),
        ReportKind::HlsCsynthXml => Report::Hls(parse_hls_csynth_xml(text)?),
    })
}

/// Parses raw bytes: invalid UTF-8 is replaced (U+FFFD), then [`parse`].
pub fn parse_bytes(bytes: &[u8]) -> Result<Report, ReportError> {
    parse(&String::from_utf8_lossy(bytes))
}

/// Reads a file and parses it ([`parse_bytes`]).
pub fn parse_file(path: &Path) -> Result<Report, ReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_bytes(&bytes)
}

/// Parses a Vivado `report_utilization` report.
pub fn parse_utilization(text: &str) -> Result<UtilizationReport, ReportError> {
    utilization::parse(text)
}

/// Parses a Vivado `report_timing_summary` report.
pub fn parse_timing_summary(text: &str) -> Result<TimingSummary, ReportError> {
    timing::parse(text)
}

/// Parses a Vivado `report_power` report.
pub fn parse_power(text: &str) -> Result<PowerReport, ReportError> {
    power::parse(text)
}

/// Parses a Vivado HLS / Vitis HLS `csynth.rpt`.
pub fn parse_hls_csynth(text: &str) -> Result<HlsReport, ReportError> {
    hls::parse_rpt(text)
}

/// Parses a Vivado HLS / Vitis HLS `_csynth.xml`.
pub fn parse_hls_csynth_xml(text: &str) -> Result<HlsReport, ReportError> {
    hls::parse_xml(text)
}

/// A count or an optional count as text (`-` for None).
pub(crate) fn opt_text<T: fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".to_string())
}

/// A float with `digits` decimals, `-` for None.
pub(crate) fn opt_fixed(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "-".to_string())
}

/// A float without needless decimals (`66.5`, `2`).
pub(crate) fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn detects_from_the_command_and_titles() {
        let head = |cmd: &str| {
            format!("Copyright\n-----\n| Tool Version : Vivado v.2030.1\n| Command      : {cmd}\n-----\n")
        };
        assert_eq!(
            detect(&head("report_utilization -file u.rpt")),
            Some(ReportKind::Utilization)
        );
        assert_eq!(
            detect(&head("report_timing_summary -max_paths 10")),
            Some(ReportKind::TimingSummary)
        );
        assert_eq!(detect(&head("report_power -file p.rpt")), Some(ReportKind::Power));
        assert_eq!(
            detect(&format!("{}\nPower Report\n", head(""))),
            Some(ReportKind::Power)
        );
        assert_eq!(detect(&head("report_drc")), None);
        assert_eq!(
            detect("\n\n== Vitis HLS Report for 'f'\n"),
            Some(ReportKind::HlsCsynth)
        );
        assert_eq!(
            detect("<?xml version=\"1.0\"?>\n<profile>\n"),
            Some(ReportKind::HlsCsynthXml)
        );
        assert_eq!(detect(""), None);
        assert!(matches!(parse("hello"), Err(ReportError::UnknownKind)));
    }

    #[test]
    fn readings_display_their_bound() {
        let r = Reading {
            value: 0.01,
            bound: Bound::LessThan,
        };
        assert_eq!(r.to_string(), "<0.01");
        assert_eq!(Reading::exact(8.8).to_string(), "8.80");
        assert_eq!(format!("{:.3}", Reading::exact(1.0)), "1.000");
        assert_eq!(
            serde_json::to_string(&Reading::exact(1.5)).unwrap(),
            r#"{"value":1.5}"#
        );
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"value":0.01,"bound":"less_than"}"#
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = ReportError::at_no(ReportKind::Power, 7, "a number", "`x`");
        assert_eq!(e.line(), Some(7));
        assert_eq!(
            e.to_string(),
            "report_power report, line 7: expected a number, found `x`"
        );
        assert!(ReportError::UnknownKind
            .to_string()
            .contains("report_timing_summary"));
        let io = parse_file(Path::new("/nonexistent/x.rpt")).unwrap_err();
        assert!(io.to_string().contains("/nonexistent/x.rpt"), "{io}");
    }

    #[test]
    fn numbers_print_compactly() {
        assert_eq!(num(66.5), "66.5");
        assert_eq!(num(2.0), "2");
        assert_eq!(opt_fixed(None, 3), "-");
        assert_eq!(opt_fixed(Some(1.0), 3), "1.000");
        assert_eq!(opt_text(Some(3)), "3");
    }
}
