//! Vivado `report_timing_summary`: the Design Timing Summary (WNS, TNS,
//! WHS, THS, WPWS, TPWS and their endpoint counts; `NA`, printed when no
//! paths are timed, becomes `None`), the met / not met verdict, the Clock
//! Summary (name, waveform, period, frequency) and the Intra Clock Table.
//! The per-path details that follow are not read.

use super::table::{read_dash_table, snippet, split_lines, CellNum, DashRow, DashTable, Line};
use super::{opt_fixed, ReportError, ReportHeader, ReportKind};
use crate::text_table::TextTable;
use nom::character::complete::{char, space0, space1};
use nom::combinator::all_consuming;
use nom::multi::separated_list0;
use nom::sequence::delimited;
use nom::IResult;
use serde::Serialize;

const KIND: ReportKind = ReportKind::TimingSummary;

/// Slack figures of the design or of one clock (`None` for `NA` or blank).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SlackFigures {
    /// Worst negative slack, setup (ns).
    pub wns_ns: Option<f64>,
    /// Total negative slack, setup (ns).
    pub tns_ns: Option<f64>,
    /// Setup endpoints with negative slack.
    pub tns_failing_endpoints: Option<u64>,
    /// Setup endpoints timed.
    pub tns_total_endpoints: Option<u64>,
    /// Worst hold slack (ns).
    pub whs_ns: Option<f64>,
    /// Total hold slack (ns).
    pub ths_ns: Option<f64>,
    /// Hold endpoints failing.
    pub ths_failing_endpoints: Option<u64>,
    /// Hold endpoints timed.
    pub ths_total_endpoints: Option<u64>,
    /// Worst pulse width slack (ns).
    pub wpws_ns: Option<f64>,
    /// Total pulse width slack (ns).
    pub tpws_ns: Option<f64>,
    /// Pulse width endpoints failing.
    pub tpws_failing_endpoints: Option<u64>,
    /// Pulse width endpoints checked.
    pub tpws_total_endpoints: Option<u64>,
}

/// A row of the Clock Summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clock {
    /// Clock name.
    pub name: String,
    /// Indentation level (generated clocks are indented under their source).
    pub level: u32,
    /// Edge times of the waveform (ns), e.g. `[0.0, 4.0]`.
    pub waveform_ns: Option<Vec<f64>>,
    /// Period (ns).
    pub period_ns: Option<f64>,
    /// Frequency (MHz).
    pub frequency_mhz: Option<f64>,
    /// 1-based line of the row.
    pub line: usize,
}

/// A row of the Intra Clock Table: slack figures of paths within one clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClockSlack {
    /// Clock name.
    pub clock: String,
    /// Its figures (flattened into the object in JSON).
    #[serde(flatten)]
    pub figures: SlackFigures,
    /// 1-based line of the row.
    pub line: usize,
}

/// A parsed `report_timing_summary`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingSummary {
    /// The header block.
    pub header: ReportHeader,
    /// The part (`Device` header field).
    pub part: Option<String>,
    /// The design (top module).
    pub design: Option<String>,
    /// Design-wide figures (flattened into the object in JSON: `wns_ns`, ...).
    #[serde(flatten)]
    pub totals: SlackFigures,
    /// `Some(true)` for "All user specified timing constraints are met.",
    /// `Some(false)` for "Timing constraints are not met.", `None` when
    /// there are no user constraints.
    pub constraints_met: Option<bool>,
    /// The verdict sentence as printed.
    pub verdict: String,
    /// The Clock Summary rows, in order.
    pub clocks: Vec<Clock>,
    /// The Intra Clock Table rows, in order.
    pub intra_clock: Vec<ClockSlack>,
}

impl TimingSummary {
    /// Worst negative (setup) slack in ns; None when `NA`.
    pub fn wns_ns(&self) -> Option<f64> {
        self.totals.wns_ns
    }

    /// Total negative (setup) slack in ns.
    pub fn tns_ns(&self) -> Option<f64> {
        self.totals.tns_ns
    }

    /// Worst hold slack in ns.
    pub fn whs_ns(&self) -> Option<f64> {
        self.totals.whs_ns
    }

    /// Total hold slack in ns.
    pub fn ths_ns(&self) -> Option<f64> {
        self.totals.ths_ns
    }

    /// Whether the user constraints are met (None: no constraints).
    pub fn met(&self) -> Option<bool> {
        self.constraints_met
    }

    /// The first clock of the Clock Summary.
    pub fn first_clock(&self) -> Option<&Clock> {
        self.clocks.first()
    }

    /// The period of the first clock (ns).
    pub fn first_clock_period_ns(&self) -> Option<f64> {
        self.first_clock().and_then(|c| c.period_ns)
    }

    /// The clock named `name`.
    pub fn clock(&self, name: &str) -> Option<&Clock> {
        self.clocks.iter().find(|c| c.name == name)
    }

    /// A single-clock estimate of the reachable frequency:
    /// `1000 / (period − WNS)` MHz for the first clock. None without a
    /// period or WNS, or when the difference is not positive.
    pub fn estimated_fmax_mhz(&self) -> Option<f64> {
        let achieved = self.first_clock_period_ns()? - self.wns_ns()?;
        (achieved > 0.0).then(|| 1000.0 / achieved)
    }

    /// The key figures as text.
    pub fn summary_table(&self) -> String {
        let verdict = match self.constraints_met {
            Some(true) => "constraints met",
            Some(false) => "constraints NOT MET",
            None => "no user constraints",
        };
        let mut out = format!(
            "Timing summary: design {}, part {}: {verdict}{}\n",
            self.design.as_deref().unwrap_or("?"),
            self.part.as_deref().unwrap_or("?"),
            self.header
                .vivado_version
                .as_deref()
                .map(|v| format!(" (Vivado {v})"))
                .unwrap_or_default(),
        );
        let f = &self.totals;
        let na = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "NA".into());
        let nac = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "NA".into());
        let mut t = TextTable::new(["Check", "Worst (ns)", "Total (ns)", "Failing", "Endpoints"]);
        t.add_row([
            "Setup (WNS/TNS)".into(),
            na(f.wns_ns),
            na(f.tns_ns),
            nac(f.tns_failing_endpoints),
            nac(f.tns_total_endpoints),
        ]);
        t.add_row([
            "Hold (WHS/THS)".into(),
            na(f.whs_ns),
            na(f.ths_ns),
            nac(f.ths_failing_endpoints),
            nac(f.ths_total_endpoints),
        ]);
        t.add_row([
            "Pulse width (WPWS/TPWS)".into(),
            na(f.wpws_ns),
            na(f.tpws_ns),
            nac(f.tpws_failing_endpoints),
            nac(f.tpws_total_endpoints),
        ]);
        out.push_str(&t.render());
        if !self.clocks.is_empty() {
            out.push('\n');
            let mut c = TextTable::new([
                "Clock",
                "Waveform (ns)",
                "Period (ns)",
                "Frequency (MHz)",
                "WNS (ns)",
                "WHS (ns)",
            ]);
            for k in &self.clocks {
                let slack = self.intra_clock.iter().find(|s| s.clock == k.name);
                let wave = k
                    .waveform_ns
                    .as_ref()
                    .map(|w| {
                        format!(
                            "{{{}}}",
                            w.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(" ")
                        )
                    })
                    .unwrap_or_else(|| "-".into());
                c.add_row([
                    format!("{}{}", "  ".repeat(k.level.min(8) as usize), k.name),
                    wave,
                    opt_fixed(k.period_ns, 3),
                    opt_fixed(k.frequency_mhz, 3),
                    opt_fixed(slack.and_then(|s| s.figures.wns_ns), 3),
                    opt_fixed(slack.and_then(|s| s.figures.whs_ns), 3),
                ]);
            }
            out.push_str(&c.render());
        }
        if let Some(fmax) = self.estimated_fmax_mhz() {
            out.push_str(&format!("Estimated fmax of the first clock: {fmax:.1} MHz\n"));
        }
        out
    }
}

/// Index of the line `| title` (a section banner).
fn banner(lines: &[Line<'_>], title: &str) -> Option<usize> {
    lines
        .iter()
        .position(|l| l.text.trim_end().strip_prefix('|').map(str::trim) == Some(title))
}

/// The first line after a banner that is not part of its frame.
fn after_banner(lines: &[Line<'_>], at: usize) -> usize {
    let mut j = at + 1;
    while let Some(l) = lines.get(j) {
        let t = l.text.trim();
        if t.starts_with("| -") || (t.starts_with("---") && t.chars().all(|c| c == '-')) {
            j += 1;
        } else {
            break;
        }
    }
    j
}

fn dnum<T: CellNum>(row: &DashRow, idx: Option<usize>, what: &str) -> Result<Option<T>, ReportError> {
    let s = row.get(idx).trim();
    if s.is_empty() || s == "NA" {
        return Ok(None);
    }
    T::from_cell(s).map(Some).ok_or_else(|| {
        ReportError::at_no(
            KIND,
            row.line,
            format!("a number or `NA` in column `{what}`"),
            snippet(s),
        )
    })
}

const FIGURES: [&str; 12] = [
    "WNS(ns)",
    "TNS(ns)",
    "TNS Failing Endpoints",
    "TNS Total Endpoints",
    "WHS(ns)",
    "THS(ns)",
    "THS Failing Endpoints",
    "THS Total Endpoints",
    "WPWS(ns)",
    "TPWS(ns)",
    "TPWS Failing Endpoints",
    "TPWS Total Endpoints",
];

/// The figure in the column named `name` (None where blank or `NA`).
fn column<T: CellNum>(t: &DashTable, row: &DashRow, name: &str) -> Result<Option<T>, ReportError> {
    dnum(row, t.col(name), name)
}

fn figures(t: &DashTable, row: &DashRow) -> Result<SlackFigures, ReportError> {
    Ok(SlackFigures {
        wns_ns: column(t, row, "WNS(ns)")?,
        tns_ns: column(t, row, "TNS(ns)")?,
        tns_failing_endpoints: column(t, row, "TNS Failing Endpoints")?,
        tns_total_endpoints: column(t, row, "TNS Total Endpoints")?,
        whs_ns: column(t, row, "WHS(ns)")?,
        ths_ns: column(t, row, "THS(ns)")?,
        ths_failing_endpoints: column(t, row, "THS Failing Endpoints")?,
        ths_total_endpoints: column(t, row, "THS Total Endpoints")?,
        wpws_ns: column(t, row, "WPWS(ns)")?,
        tpws_ns: column(t, row, "TPWS(ns)")?,
        tpws_failing_endpoints: column(t, row, "TPWS Failing Endpoints")?,
        tpws_total_endpoints: column(t, row, "TPWS Total Endpoints")?,
    })
}

/// `{0.000 4.000}`.
fn waveform(i: &str) -> IResult<&str, Vec<f64>> {
    delimited(
        char('{'),
        delimited(space0, separated_list0(space1, super::table::float), space0),
        char('}'),
    )(i)
}

/// Reads the dashed table under banner `title`; errors name `what`.
fn section_table(lines: &[Line<'_>], title: &str, what: &str) -> Result<Option<DashTable>, ReportError> {
    let Some(at) = banner(lines, title) else {
        return Ok(None);
    };
    let j = after_banner(lines, at);
    match read_dash_table(lines, j) {
        Some((t, _)) => Ok(Some(t)),
        None => {
            let mut k = j;
            while lines.get(k).is_some_and(|l| l.text.trim().is_empty()) {
                k += 1;
            }
            Err(match lines.get(k) {
                Some(l) => ReportError::at(
                    KIND,
                    l,
                    format!("the column headers of the {what}, then a line of dashes"),
                ),
                None => ReportError::eof(KIND, lines, format!("the column headers of the {what}")),
            })
        }
    }
}

fn verdict(text: &str) -> Option<Option<bool>> {
    let t = text.trim();
    if t.starts_with("All user specified timing constraints are met") {
        Some(Some(true))
    } else if t.starts_with("Timing constraints are not met") {
        Some(Some(false))
    } else if t.starts_with("There are no user specified timing constraints") {
        Some(None)
    } else {
        None
    }
}

pub(crate) fn parse(text: &str) -> Result<TimingSummary, ReportError> {
    let lines = split_lines(text);
    let header = ReportHeader::read(&lines);
    let summary = section_table(&lines, "Design Timing Summary", "design timing summary")?
        .ok_or_else(|| ReportError::eof(KIND, &lines, "the `| Design Timing Summary` section"))?;
    if !FIGURES.iter().any(|f| summary.col(f).is_some()) {
        let l = lines.get(summary.header_line.saturating_sub(1));
        return Err(match l {
            Some(l) => ReportError::at(
                KIND,
                l,
                "the design timing summary headers (`WNS(ns)`, `TNS(ns)`, ...)",
            ),
            None => ReportError::eof(KIND, &lines, "the design timing summary headers"),
        });
    }
    let values_line = summary.header_line + 2;
    let row = summary.rows.first().ok_or_else(|| {
        ReportError::at_no(
            KIND,
            values_line,
            "a row of values under the design timing summary headers",
            lines
                .get(values_line - 1)
                .map(|l| snippet(l.text))
                .unwrap_or_else(|| "the end of the report".into()),
        )
    })?;
    let totals = figures(&summary, row)?;
    // The verdict sits between the summary table and the next banner.
    let mut constraints_met = None;
    let mut verdict_text = None;
    let mut stop = None;
    for l in lines.iter().skip(row.line) {
        if l.text.starts_with("---") || l.text.starts_with("| ") {
            stop = Some(l);
            break;
        }
        if let Some(v) = verdict(l.text) {
            constraints_met = v;
            verdict_text = Some(l.text.trim().to_string());
            break;
        }
    }
    let want = "the timing verdict (`All user specified timing constraints are met.` or \
                `Timing constraints are not met.`)";
    let verdict = match (verdict_text, stop) {
        (Some(v), _) => v,
        (None, Some(l)) => return Err(ReportError::at(KIND, l, want)),
        (None, None) => return Err(ReportError::eof(KIND, &lines, want)),
    };
    let clock_table = section_table(&lines, "Clock Summary", "clock summary")?
        .ok_or_else(|| ReportError::eof(KIND, &lines, "the `| Clock Summary` section"))?;
    let (cn, cw, cp, cf) = (
        clock_table.col("Clock"),
        clock_table.col("Waveform(ns)"),
        clock_table.col("Period(ns)"),
        clock_table.col("Frequency(MHz)"),
    );
    if cn.is_none() {
        return Err(ReportError::at_no(
            KIND,
            clock_table.header_line,
            "the clock summary headers (`Clock`, `Waveform(ns)`, `Period(ns)`, `Frequency(MHz)`)",
            lines
                .get(clock_table.header_line.saturating_sub(1))
                .map(|l| snippet(l.text))
                .unwrap_or_default(),
        ));
    }
    let mut clocks = Vec::new();
    for r in &clock_table.rows {
        let w = r.get(cw).trim();
        let waveform_ns = if w.is_empty() {
            None
        } else {
            Some(all_consuming(waveform)(w).map(|(_, v)| v).map_err(|_| {
                ReportError::at_no(KIND, r.line, "a waveform such as `{0.000 5.000}`", snippet(w))
            })?)
        };
        clocks.push(Clock {
            name: r.get(cn).to_string(),
            level: r.level,
            waveform_ns,
            period_ns: dnum(r, cp, "Period(ns)")?,
            frequency_mhz: dnum(r, cf, "Frequency(MHz)")?,
            line: r.line,
        });
    }
    let mut intra_clock = Vec::new();
    if let Some(t) = section_table(&lines, "Intra Clock Table", "intra clock table")? {
        let name = t.col("Clock");
        for r in &t.rows {
            intra_clock.push(ClockSlack {
                clock: r.get(name).to_string(),
                figures: figures(&t, r)?,
                line: r.line,
            });
        }
    }
    Ok(TimingSummary {
        part: header.device.clone(),
        design: header.design.clone(),
        header,
        totals,
        constraints_met,
        verdict,
        clocks,
        intra_clock,
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::samples::TIMING as SYNTHETIC;
    use crate::report::utilization::tests::line_of;

    #[test]
    fn reads_a_synthetic_report() {
        let t = parse(SYNTHETIC).unwrap();
        assert_eq!(t.wns_ns(), Some(0.512));
        assert_eq!(t.totals.tns_total_endpoints, Some(40));
        assert_eq!(t.totals.tpws_total_endpoints, Some(21));
        assert_eq!(t.met(), Some(true));
        assert_eq!(t.clocks.len(), 3);
        assert_eq!(t.clocks[0].waveform_ns, Some(vec![0.0, 5.0]));
        assert_eq!(
            (
                t.clocks[1].name.as_str(),
                t.clocks[1].level,
                t.clocks[1].period_ns
            ),
            ("clk_div", 1, Some(20.0))
        );
        assert_eq!(
            (t.clocks[2].period_ns, t.clocks[2].waveform_ns.as_ref()),
            (None, None)
        );
        assert_eq!(t.first_clock_period_ns(), Some(10.0));
        assert_eq!(t.intra_clock[0].figures.whs_ns, Some(0.101));
        let fmax = t.estimated_fmax_mhz().unwrap();
        assert!((fmax - 1000.0 / 9.488).abs() < 1e-9);
        let s = t.summary_table();
        assert!(s.contains("constraints met"), "{s}");
        assert!(s.contains("  clk_div"), "{s}");
    }

    #[test]
    fn na_is_none_and_words_are_errors() {
        let na = SYNTHETIC.replacen("      0.512        0.000", "         NA           NA", 1);
        let t = parse(&na).unwrap();
        assert_eq!((t.wns_ns(), t.tns_ns()), (None, None));
        let bad = SYNTHETIC.replacen("      0.512", "      0.5x2", 1);
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.line(), Some(line_of(&bad, "0.5x2")), "{e}");
        assert!(e.to_string().contains("WNS(ns)"), "{e}");
    }

    #[test]
    fn missing_verdict_and_sections_are_errors() {
        let no_verdict = SYNTHETIC.replace("All user specified timing constraints are met.\n", "");
        assert_eq!(
            parse(&no_verdict).unwrap_err().line(),
            Some(line_of(&no_verdict, "| Clock Summary") - 1)
        );
        let cut = &SYNTHETIC[..SYNTHETIC.find("| Clock Summary").unwrap()];
        assert_eq!(parse(cut).unwrap_err().line(), Some(cut.lines().count() + 1));
        let bad_wave = SYNTHETIC.replace("{0.000 5.000}", "{0.000 x.000}");
        assert_eq!(
            parse(&bad_wave).unwrap_err().line(),
            Some(line_of(&bad_wave, "x.000"))
        );
    }
}
