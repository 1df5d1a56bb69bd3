//! Vivado HLS / Vitis HLS C-synthesis reports: `csynth.rpt` in its three
//! layouts (`== Vivado HLS Report for 'top'`, `== Vitis HLS Report for
//! 'top'`, and the 2022 `== Synthesis Summary Report of 'top'`) and
//! `_csynth.xml`, read with a small hand-written element scanner. Gives the
//! top function, part, clock target / estimate / uncertainty, latency and
//! interval, pipeline type and resources (`-` means none: `None`).

use super::table::{
    cell, eof_line, is_ruler, nanoseconds, number_with_note, read_table, snippet, split_lines, whole, Cell,
    Line, Row, Table,
};
use super::{opt_fixed, opt_text, Bound, Reading, ReportError, ReportKind};
use crate::text_table::TextTable;
use nom::branch::alt;
use nom::bytes::complete::{is_not, tag, take_till, take_until, take_while1};
use nom::character::complete::{char, multispace0, multispace1};
use nom::combinator::{all_consuming, rest};
use nom::multi::many0;
use nom::sequence::{delimited, pair, preceded, separated_pair, terminated, tuple};
use nom::IResult;
use serde::Serialize;

const RPT: ReportKind = ReportKind::HlsCsynth;
const XML: ReportKind = ReportKind::HlsCsynthXml;

/// Which report layout a [`HlsReport`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HlsLayout {
    /// `== Vivado HLS Report for 'top'` (Vivado HLS up to 2020.1).
    VivadoHls,
    /// `== Vitis HLS Report for 'top'` (Vitis HLS 2020.x-2021.x).
    VitisHls,
    /// `== Synthesis Summary Report of 'top'` (Vitis HLS 2022 and later).
    SynthesisSummary,
    /// `_csynth.xml`.
    CsynthXml,
}

/// Resource counts; `None` where the report prints `-` or has no column.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct HlsResources {
    /// 18 Kb block RAMs (`BRAM_18K`, `BRAM`).
    pub bram_18k: Option<u64>,
    /// DSP slices (`DSP48E` or `DSP`).
    pub dsp: Option<u64>,
    /// Flip-flops.
    pub ff: Option<u64>,
    /// LUTs.
    pub lut: Option<u64>,
    /// UltraRAMs.
    pub uram: Option<u64>,
}

/// Utilization percentages (`~0` is kept as [`Bound::About`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct HlsUtilization {
    /// BRAM_18K %.
    pub bram_18k: Option<Reading>,
    /// DSP %.
    pub dsp: Option<Reading>,
    /// FF %.
    pub ff: Option<Reading>,
    /// LUT %.
    pub lut: Option<Reading>,
    /// URAM %.
    pub uram: Option<Reading>,
}

/// A parsed HLS C-synthesis report (any layout).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HlsReport {
    /// The source layout.
    pub layout: HlsLayout,
    /// `Vivado HLS` or `Vitis HLS` (None for the XML).
    pub tool: Option<String>,
    /// Tool release, e.g. `2020.2`.
    pub version: Option<String>,
    /// The top function.
    pub top: String,
    /// Product family (`zynquplus`, `aartix7`, ...).
    pub product_family: Option<String>,
    /// Target device (part).
    pub part: Option<String>,
    /// Clock name (`ap_clk`).
    pub clock: Option<String>,
    /// Target clock period (ns).
    pub target_clock_ns: Option<f64>,
    /// Estimated clock period (ns).
    pub estimated_clock_ns: Option<f64>,
    /// Clock uncertainty (ns).
    pub clock_uncertainty_ns: Option<f64>,
    /// Slack of the top module (ns; the 2022 layout only).
    pub slack_ns: Option<f64>,
    /// Best-case latency (cycles); None for `?`.
    pub latency_min_cycles: Option<u64>,
    /// Worst-case latency (cycles).
    pub latency_max_cycles: Option<u64>,
    /// Best-case latency in ns, when printed.
    pub latency_min_ns: Option<f64>,
    /// Worst-case latency in ns, when printed.
    pub latency_max_ns: Option<f64>,
    /// Minimum initiation interval (cycles).
    pub interval_min_cycles: Option<u64>,
    /// Maximum initiation interval (cycles).
    pub interval_max_cycles: Option<u64>,
    /// Pipeline type (`none`, `dataflow`, `function`, `loop`, ...).
    pub pipeline_type: Option<String>,
    /// Name of the DSP column as printed (`DSP48E` or `DSP`).
    pub dsp_column: Option<String>,
    /// The total resources.
    pub resources: HlsResources,
    /// The `Available` row, when printed.
    pub available: Option<HlsResources>,
    /// The `Utilization (%)` row (or the percentages of the 2022 layout).
    pub utilization_pct: Option<HlsUtilization>,
}

impl HlsReport {
    /// Worst-case latency in ns: as printed, else worst-case cycles times
    /// the estimated (or else target) clock period.
    pub fn worst_latency_ns(&self) -> Option<f64> {
        self.latency_max_ns.or_else(|| {
            let cycles = self.latency_max_cycles? as f64;
            Some(cycles * self.estimated_clock_ns.or(self.target_clock_ns)?)
        })
    }

    /// `1000 / estimated clock period` (MHz).
    pub fn estimated_fmax_mhz(&self) -> Option<f64> {
        self.estimated_clock_ns.filter(|p| *p > 0.0).map(|p| 1000.0 / p)
    }

    /// The key figures as text.
    pub fn summary_table(&self) -> String {
        let tool = match (&self.tool, &self.version) {
            (Some(t), Some(v)) => format!(" ({t} {v})"),
            (Some(t), None) => format!(" ({t})"),
            (None, Some(v)) => format!(" (HLS {v})"),
            (None, None) => String::new(),
        };
        let mut out = format!(
            "HLS csynth: top {}{tool}, part {}\n",
            self.top,
            self.part.as_deref().unwrap_or("?")
        );
        let mut headers = vec!["Clock", "Target (ns)", "Estimated (ns)", "Uncertainty (ns)"];
        let mut row = vec![
            self.clock.clone().unwrap_or_else(|| "-".into()),
            opt_fixed(self.target_clock_ns, 3),
            opt_fixed(self.estimated_clock_ns, 3),
            opt_fixed(self.clock_uncertainty_ns, 3),
        ];
        if self.slack_ns.is_some() {
            headers.push("Slack (ns)");
            row.push(opt_fixed(self.slack_ns, 3));
        }
        let mut c = TextTable::new(headers);
        c.add_row(row);
        out.push_str(&c.render());
        out.push('\n');
        let mut t = TextTable::new(["Figure", "Min", "Max"]);
        t.add_row([
            "Latency (cycles)".to_string(),
            opt_text(self.latency_min_cycles),
            opt_text(self.latency_max_cycles),
        ]);
        if self.latency_min_ns.is_some() || self.latency_max_ns.is_some() {
            t.add_row([
                "Latency (ns)".to_string(),
                opt_fixed(self.latency_min_ns, 1),
                opt_fixed(self.latency_max_ns, 1),
            ]);
        }
        t.add_row([
            "Interval (cycles)".to_string(),
            opt_text(self.interval_min_cycles),
            opt_text(self.interval_max_cycles),
        ]);
        out.push_str(&t.render());
        out.push_str(&format!(
            "Pipeline: {}\n\n",
            self.pipeline_type.as_deref().unwrap_or("-")
        ));
        let mut r = TextTable::new(["Resource", "Used", "Available", "Util%"]);
        let avail = self.available.clone().unwrap_or_default();
        let util = self.utilization_pct.clone().unwrap_or_default();
        let pct = |u: Option<Reading>| match u {
            Some(Reading {
                value,
                bound: Bound::About,
            }) => format!("~{value:.0}"),
            Some(u) => format!("{u:.0}"),
            None => "-".into(),
        };
        for (name, used, av, ut) in [
            ("BRAM_18K", self.resources.bram_18k, avail.bram_18k, util.bram_18k),
            (
                self.dsp_column.as_deref().unwrap_or("DSP"),
                self.resources.dsp,
                avail.dsp,
                util.dsp,
            ),
            ("FF", self.resources.ff, avail.ff, util.ff),
            ("LUT", self.resources.lut, avail.lut, util.lut),
            ("URAM", self.resources.uram, avail.uram, util.uram),
        ] {
            r.add_row([name.to_string(), opt_text(used), opt_text(av), pct(ut)]);
        }
        out.push_str(&r.render());
        out
    }
}

// ---------------------------------------------------------------- csynth.rpt

/// `== Vivado HLS Report for 'top'` and the other two titles.
pub(crate) fn title(line: &str) -> Option<(HlsLayout, &str)> {
    let r: IResult<&str, (&str, &str)> = all_consuming(tuple((
        preceded(
            tag("== "),
            alt((
                tag("Vivado HLS Report for '"),
                tag("Vitis HLS Report for '"),
                tag("Synthesis Summary Report of '"),
            )),
        ),
        terminated(take_till(|c| c == '\''), pair(char('\''), rest)),
    )))(line.trim());
    let (_, (kind, top)) = r.ok()?;
    let layout = if kind.starts_with("Vivado") {
        HlsLayout::VivadoHls
    } else if kind.starts_with("Vitis") {
        HlsLayout::VitisHls
    } else {
        HlsLayout::SynthesisSummary
    };
    Some((layout, top))
}

/// `* Key: value`.
fn info(line: &str) -> Option<(&str, &str)> {
    let r: IResult<&str, (&str, &str)> = preceded(
        pair(char('*'), multispace0),
        separated_pair(is_not(":"), char(':'), rest),
    )(line.trim());
    r.ok().map(|(_, (k, v))| (k.trim(), v.trim()))
}

/// The first ruled table after line index `from`, before the next
/// `+ Marker:` or `== Banner`. Otherwise the index where the search
/// stopped (the banner, or one past the last line).
fn table_after<'a>(lines: &[Line<'a>], from: usize) -> Result<Table<'a>, usize> {
    let mut j = from + 1;
    while let Some(l) = lines.get(j) {
        let t = l.text.trim();
        if is_ruler(t) {
            return Ok(read_table(lines, j).0);
        }
        if t.starts_with("== ") || t.starts_with("+ ") {
            return Err(j);
        }
        j += 1;
    }
    Err(j)
}

/// Index of the first line at or after `from` whose trimmed text starts with `prefix`.
fn marker(lines: &[Line<'_>], from: usize, prefix: &str) -> Option<usize> {
    lines
        .iter()
        .skip(from)
        .position(|l| l.text.trim().starts_with(prefix))
        .map(|p| p + from)
}

/// A required table after the marker line starting with `prefix`.
fn marked_table<'a>(
    lines: &[Line<'a>],
    from: usize,
    prefix: &str,
    what: &str,
) -> Result<Table<'a>, ReportError> {
    let Some(m) = marker(lines, from, prefix) else {
        return Err(ReportError::eof(RPT, lines, format!("the `{prefix}` section")));
    };
    let t = table_after(lines, m).map_err(|stop| match lines.get(stop) {
        Some(l) => ReportError::at(RPT, l, format!("the {what} table")),
        None => ReportError::eof(RPT, lines, format!("the {what} table")),
    })?;
    t.require_closed(RPT, lines)?;
    if t.header.is_empty() {
        return Err(ReportError::at_no(
            RPT,
            t.start,
            format!("the {what} table with a header row"),
            lines
                .get(t.start.saturating_sub(1))
                .map(|l| snippet(l.text))
                .unwrap_or_default(),
        ));
    }
    Ok(t)
}

fn ns_cell(row: &Row<'_>, idx: Option<usize>, what: &str) -> Result<Option<f64>, ReportError> {
    let Some(i) = idx else { return Ok(None) };
    let s = row.text(i);
    match cell(s) {
        Cell::Empty | Cell::Dash | Cell::NotAvailable => Ok(None),
        _ => nanoseconds(s).map(Some).ok_or_else(|| {
            ReportError::at_no(RPT, row.line, format!("a time in column `{what}`"), snippet(s))
        }),
    }
}

fn count_cell(row: &Row<'_>, idx: Option<usize>, what: &str) -> Result<Option<u64>, ReportError> {
    super::table::num_cell(RPT, row, idx, what)
}

/// `52110 (22%)`, `45 (~0%)`, `3`, `-`.
fn count_pct_cell(
    row: &Row<'_>,
    idx: Option<usize>,
    what: &str,
) -> Result<(Option<u64>, Option<Reading>), ReportError> {
    let Some(i) = idx else { return Ok((None, None)) };
    let s = row.text(i);
    if matches!(cell(s), Cell::Empty | Cell::Dash | Cell::NotAvailable) {
        return Ok((None, None));
    }
    let err = || {
        ReportError::at_no(
            RPT,
            row.line,
            format!("a count such as `120 (5%)` in column `{what}`"),
            snippet(s),
        )
    };
    let (_, (_, note)) = number_with_note(s).map_err(|_| err())?;
    let first = s
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    let n = all_consuming(whole)(first).map_err(|_| err())?.1;
    let pct = match note {
        None => None,
        Some(p) => match cell(p.trim().trim_end_matches('%')) {
            Cell::Num(r) => Some(r),
            _ => return Err(err()),
        },
    };
    Ok((Some(n), pct))
}

fn header_info(lines: &[Line<'_>], from: usize) -> (Option<String>, Option<String>, Option<String>) {
    let (mut version, mut family, mut part) = (None, None, None);
    for l in lines.iter().skip(from + 1).take(30) {
        if l.text.trim().starts_with("== Performance") {
            break;
        }
        match info(l.text) {
            Some(("Version", v)) => version = v.split_whitespace().next().map(str::to_string),
            Some(("Product family", v)) if !v.is_empty() => family = Some(v.to_string()),
            Some(("Target device", v)) if !v.is_empty() => part = Some(v.to_string()),
            _ => {}
        }
    }
    (version, family, part)
}

pub(crate) fn parse_rpt(text: &str) -> Result<HlsReport, ReportError> {
    let lines = split_lines(text);
    let Some((at, (layout, top))) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| title(l.text).map(|t| (i, t)))
    else {
        return Err(match lines.iter().find(|l| !l.text.trim().is_empty()) {
            Some(l) => ReportError::at(
                RPT,
                l,
                "an HLS report title (`== Vivado HLS Report for 'top'`, ...)",
            ),
            None => ReportError::eof(RPT, &lines, "an HLS report title"),
        });
    };
    let (version, product_family, part) = header_info(&lines, at);
    let tool = Some(
        if layout == HlsLayout::VivadoHls {
            "Vivado HLS"
        } else {
            "Vitis HLS"
        }
        .to_string(),
    );
    let mut report = HlsReport {
        layout,
        tool,
        version,
        top: top.to_string(),
        product_family,
        part,
        clock: None,
        target_clock_ns: None,
        estimated_clock_ns: None,
        clock_uncertainty_ns: None,
        slack_ns: None,
        latency_min_cycles: None,
        latency_max_cycles: None,
        latency_min_ns: None,
        latency_max_ns: None,
        interval_min_cycles: None,
        interval_max_cycles: None,
        pipeline_type: None,
        dsp_column: None,
        resources: HlsResources::default(),
        available: None,
        utilization_pct: None,
    };
    if layout == HlsLayout::SynthesisSummary {
        summary_layout(&lines, at, &mut report)?;
    } else {
        classic_layout(&lines, at, &mut report)?;
    }
    Ok(report)
}

fn first_row<'t, 'a>(lines: &[Line<'_>], t: &'t Table<'a>, what: &str) -> Result<&'t Row<'a>, ReportError> {
    t.rows.first().ok_or_else(|| {
        ReportError::at_no(
            RPT,
            t.end,
            format!("a row of values in the {what} table"),
            lines
                .get(t.end.saturating_sub(1))
                .map(|l| snippet(l.text))
                .unwrap_or_default(),
        )
    })
}

fn resources_row(t: &Table<'_>, r: &Row<'_>, cols: &ResCols) -> Result<HlsResources, ReportError> {
    Ok(HlsResources {
        bram_18k: count_cell(r, cols.bram, "BRAM_18K")?,
        dsp: count_cell(
            r,
            cols.dsp,
            cols.dsp
                .and_then(|i| t.header.get(i))
                .map(String::as_str)
                .unwrap_or("DSP"),
        )?,
        ff: count_cell(r, cols.ff, "FF")?,
        lut: count_cell(r, cols.lut, "LUT")?,
        uram: count_cell(r, cols.uram, "URAM")?,
    })
}

struct ResCols {
    bram: Option<usize>,
    dsp: Option<usize>,
    ff: Option<usize>,
    lut: Option<usize>,
    uram: Option<usize>,
}

impl ResCols {
    fn of(t: &Table<'_>) -> Self {
        ResCols {
            bram: t.col_where(|n| n.starts_with("bram")),
            dsp: t.col_where(|n| n.starts_with("dsp")),
            ff: t.col("FF"),
            lut: t.col("LUT"),
            uram: t.col("URAM"),
        }
    }
}

/// The `Vivado HLS Report` / `Vitis HLS Report` layout.
fn classic_layout(lines: &[Line<'_>], at: usize, rep: &mut HlsReport) -> Result<(), ReportError> {
    let timing = marked_table(lines, at, "+ Timing", "timing summary")?;
    let row = first_row(lines, &timing, "timing summary")?;
    rep.clock = Some(row.label().to_string()).filter(|s| !s.is_empty());
    rep.target_clock_ns = ns_cell(row, timing.col("Target"), "Target")?;
    rep.estimated_clock_ns = ns_cell(row, timing.col("Estimated"), "Estimated")?;
    rep.clock_uncertainty_ns = ns_cell(row, timing.col("Uncertainty"), "Uncertainty")?;

    let lat = marked_table(lines, at, "+ Latency", "latency summary")?;
    let row = first_row(lines, &lat, "latency summary")?;
    let cyc = |end: &'static str| {
        lat.col_where(move |n| n.starts_with("latency") && n.ends_with(end) && !n.contains("absolute"))
    };
    let abs =
        |end: &'static str| lat.col_where(move |n| n.starts_with("latencyabsolute") && n.ends_with(end));
    let (min_c, max_c) = (cyc("min"), cyc("max"));
    if min_c.is_none() || max_c.is_none() {
        return Err(ReportError::at_no(
            RPT,
            lat.start + 1,
            "latency `min` and `max` columns",
            lines.get(lat.start).map(|l| snippet(l.text)).unwrap_or_default(),
        ));
    }
    rep.latency_min_cycles = count_cell(row, min_c, "Latency min")?;
    rep.latency_max_cycles = count_cell(row, max_c, "Latency max")?;
    rep.latency_min_ns = ns_cell(row, abs("min"), "Latency (absolute) min")?;
    rep.latency_max_ns = ns_cell(row, abs("max"), "Latency (absolute) max")?;
    rep.interval_min_cycles = count_cell(
        row,
        lat.col_where(|n| n.starts_with("interval") && n.ends_with("min")),
        "Interval min",
    )?;
    rep.interval_max_cycles = count_cell(
        row,
        lat.col_where(|n| n.starts_with("interval") && n.ends_with("max")),
        "Interval max",
    )?;
    rep.pipeline_type = lat
        .col_where(|n| n.starts_with("pipeline"))
        .map(|i| row.text(i).to_string())
        .filter(|s| !s.is_empty());

    let util = marked_table(lines, at, "== Utilization Estimates", "utilization summary")?;
    let cols = ResCols::of(&util);
    rep.dsp_column = cols.dsp.and_then(|i| util.header.get(i)).cloned();
    let total = util.row("Total").ok_or_else(|| {
        ReportError::at_no(
            RPT,
            util.end,
            "a `Total` row in the utilization summary",
            "the end of the table",
        )
    })?;
    rep.resources = resources_row(&util, total, &cols)?;
    if let Some(a) = util.row("Available") {
        rep.available = Some(resources_row(&util, a, &cols)?);
    }
    if let Some(u) = util.row("Utilization (%)") {
        let p = |i: Option<usize>, what: &str| super::table::reading_cell(RPT, u, i, what);
        rep.utilization_pct = Some(HlsUtilization {
            bram_18k: p(cols.bram, "BRAM_18K")?,
            dsp: p(cols.dsp, "DSP")?,
            ff: p(cols.ff, "FF")?,
            lut: p(cols.lut, "LUT")?,
            uram: p(cols.uram, "URAM")?,
        });
    }
    Ok(())
}

/// The 2022 `Synthesis Summary Report` layout: one merged module / loop
/// table; its first row is the top function.
fn summary_layout(lines: &[Line<'_>], at: usize, rep: &mut HlsReport) -> Result<(), ReportError> {
    let t = marked_table(
        lines,
        at,
        "+ Performance & Resource Estimates",
        "performance and resource",
    )?;
    let row = first_row(lines, &t, "performance and resource")?;
    rep.slack_ns = ns_cell(row, t.col("Slack"), "Slack")?;
    let lat = count_cell(row, t.col_where(|n| n == "latencycycles"), "Latency (cycles)")?;
    let lat_ns = ns_cell(row, t.col_where(|n| n == "latencyns"), "Latency (ns)")?;
    let ii = count_cell(row, t.col("Interval"), "Interval")?;
    (rep.latency_min_cycles, rep.latency_max_cycles) = (lat, lat);
    (rep.latency_min_ns, rep.latency_max_ns) = (lat_ns, lat_ns);
    (rep.interval_min_cycles, rep.interval_max_cycles) = (ii, ii);
    rep.pipeline_type = t
        .col("Pipelined")
        .map(|i| row.text(i).to_string())
        .filter(|s| !s.is_empty());
    let cols = ResCols::of(&t);
    rep.dsp_column = cols.dsp.and_then(|i| t.header.get(i)).cloned();
    let (bram_18k, ub) = count_pct_cell(row, cols.bram, "BRAM")?;
    let (dsp, ud) = count_pct_cell(row, cols.dsp, "DSP")?;
    let (ff, uf) = count_pct_cell(row, cols.ff, "FF")?;
    let (lut, ul) = count_pct_cell(row, cols.lut, "LUT")?;
    let (uram, uu) = count_pct_cell(row, cols.uram, "URAM")?;
    rep.resources = HlsResources {
        bram_18k,
        dsp,
        ff,
        lut,
        uram,
    };
    if [ub, ud, uf, ul, uu].iter().any(Option::is_some) {
        rep.utilization_pct = Some(HlsUtilization {
            bram_18k: ub,
            dsp: ud,
            ff: uf,
            lut: ul,
            uram: uu,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------- csynth.xml

/// An XML element of the scanner's tree.
#[derive(Debug, Clone, Default)]
struct Element {
    name: String,
    line: usize,
    end_line: usize,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    fn path(&self, names: &[&str]) -> Option<&Element> {
        names.iter().try_fold(self, |e, n| e.child(n))
    }
}

fn xml_name(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))(i)
}

fn xml_attr(i: &str) -> IResult<&str, (&str, &str)> {
    preceded(
        multispace1,
        separated_pair(
            xml_name,
            tuple((multispace0, char('='), multispace0)),
            alt((
                delimited(char('"'), take_till(|c| c == '"'), char('"')),
                delimited(char('\''), take_till(|c| c == '\''), char('\'')),
            )),
        ),
    )(i)
}

/// `<name attr="v" ...>` or `<name/>`: (name, self-closing).
fn start_tag(i: &str) -> IResult<&str, (&str, bool)> {
    let (i, (_, name, _, _, close)) = tuple((
        char('<'),
        xml_name,
        many0(xml_attr),
        multispace0,
        alt((tag("/>"), tag(">"))),
    ))(i)?;
    Ok((i, (name, close == "/>")))
}

fn end_tag(i: &str) -> IResult<&str, &str> {
    delimited(tag("</"), xml_name, pair(multispace0, char('>')))(i)
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Deepest element nesting the scanner accepts (csynth.xml needs about 6).
const MAX_DEPTH: usize = 256;

/// Scans `text` into an element tree (the first root element).
fn xml_tree(text: &str) -> Result<Element, ReportError> {
    let lines = split_lines(text);
    let eof = eof_line(&lines);
    let mut rest_in = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut line = 1usize;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let err = |line: usize, want: &str, at: &str| {
        let found = at
            .lines()
            .next()
            .map(snippet)
            .unwrap_or_else(|| "the end of the report".into());
        ReportError::at_no(XML, line, want, found)
    };
    while !rest_in.is_empty() && root.is_none() {
        let before = rest_in;
        let skip = |open: &'static str, close: &'static str| -> Option<IResult<&str, &str>> {
            before.starts_with(open).then(|| {
                let r: IResult<&str, &str> =
                    preceded(tag(open), terminated(take_until(close), tag(close)))(before);
                r
            })
        };
        if let Some(r) = skip("<!--", "-->")
            .or_else(|| skip("<?", "?>"))
            .or_else(|| skip("<![CDATA[", "]]>"))
        {
            match r {
                Ok((next, body)) => {
                    if before.starts_with("<![CDATA[") {
                        if let Some(top) = stack.last_mut() {
                            top.text.push_str(body);
                        }
                    }
                    rest_in = next;
                }
                Err(_) => {
                    return Err(err(
                        line,
                        "the end of this comment, declaration or CDATA section",
                        before,
                    ))
                }
            }
        } else if before.starts_with("<!") {
            let r: IResult<&str, &str> = terminated(take_till(|c| c == '>'), char('>'))(before);
            rest_in = r.map_err(|_| err(line, "`>` closing the declaration", before))?.0;
        } else if before.starts_with("</") {
            let (next, name) = end_tag(before).map_err(|_| err(line, "a well-formed end tag", before))?;
            let Some(mut open) = stack.pop() else {
                return Err(err(line, "a start tag before this end tag", before));
            };
            if open.name != name {
                return Err(err(
                    line,
                    &format!("`</{}>` (opened at line {})", open.name, open.line),
                    before,
                ));
            }
            open.end_line = line;
            match stack.last_mut() {
                Some(parent) => parent.children.push(open),
                None => root = Some(open),
            }
            rest_in = next;
        } else if before.starts_with('<') {
            let (next, (name, self_closing)) =
                start_tag(before).map_err(|_| err(line, "a well-formed start tag", before))?;
            let e = Element {
                name: name.to_string(),
                line,
                end_line: line,
                ..Element::default()
            };
            if stack.len() >= MAX_DEPTH {
                return Err(err(line, &format!("at most {MAX_DEPTH} nested elements"), before));
            }
            if self_closing {
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None => root = Some(e),
                }
            } else {
                stack.push(e);
            }
            rest_in = next;
        } else {
            let r: IResult<&str, &str> = take_till(|c| c == '<')(before);
            let (next, t) = r.unwrap_or(("", before));
            if let Some(top) = stack.last_mut() {
                top.text.push_str(&unescape(t));
            } else if !t.trim().is_empty() {
                return Err(err(line, "an XML element", t.trim_start()));
            }
            rest_in = next;
        }
        let consumed = before.len().saturating_sub(rest_in.len());
        line += before
            .get(..consumed)
            .map(|c| c.matches('\n').count())
            .unwrap_or(0);
    }
    if let Some(open) = stack.last() {
        return Err(ReportError::at_no(
            XML,
            eof,
            format!(
                "`</{}>` closing the element opened at line {}",
                open.name, open.line
            ),
            "the end of the report",
        ));
    }
    root.ok_or_else(|| ReportError::at_no(XML, eof, "an XML root element", "the end of the report"))
}

fn xml_req<'e>(parent: &'e Element, name: &str) -> Result<&'e Element, ReportError> {
    parent.child(name).ok_or_else(|| {
        ReportError::at_no(
            XML,
            parent.end_line,
            format!("a `<{name}>` element in `<{}>`", parent.name),
            format!("`</{}>`", parent.name),
        )
    })
}

fn xml_text(e: Option<&Element>) -> Option<String> {
    e.map(|e| e.text.trim().to_string()).filter(|t| !t.is_empty())
}

fn xml_count(e: Option<&Element>) -> Result<Option<u64>, ReportError> {
    let Some(e) = e else { return Ok(None) };
    let t = e.text.trim();
    match cell(t) {
        Cell::Empty | Cell::Dash | Cell::NotAvailable => Ok(None),
        _ => all_consuming(whole)(t).map(|(_, v)| Some(v)).map_err(|_| {
            ReportError::at_no(
                XML,
                e.line,
                format!("a whole number in `<{}>`", e.name),
                snippet(t),
            )
        }),
    }
}

fn xml_ns(e: Option<&Element>, unit: &str) -> Result<Option<f64>, ReportError> {
    let Some(e) = e else { return Ok(None) };
    let t = e.text.trim();
    if matches!(cell(t), Cell::Empty | Cell::Dash | Cell::NotAvailable) {
        return Ok(None);
    }
    let with_unit = if t.chars().any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') {
        t.to_string()
    } else {
        format!("{t} {unit}")
    };
    nanoseconds(&with_unit)
        .map(Some)
        .ok_or_else(|| ReportError::at_no(XML, e.line, format!("a time in `<{}>`", e.name), snippet(t)))
}

fn xml_resources(e: &Element) -> Result<(HlsResources, Option<String>), ReportError> {
    let dsp = e
        .child("DSP")
        .or_else(|| e.child("DSP48E"))
        .or_else(|| e.child("DSP48"));
    Ok((
        HlsResources {
            bram_18k: xml_count(e.child("BRAM_18K").or_else(|| e.child("BRAM")))?,
            dsp: xml_count(dsp)?,
            ff: xml_count(e.child("FF"))?,
            lut: xml_count(e.child("LUT"))?,
            uram: xml_count(e.child("URAM"))?,
        },
        dsp.map(|d| d.name.clone()),
    ))
}

pub(crate) fn parse_xml(text: &str) -> Result<HlsReport, ReportError> {
    let root = xml_tree(text)?;
    if root.name != "profile" {
        return Err(ReportError::at_no(
            XML,
            root.line,
            "a `<profile>` root element",
            format!("`<{}>`", root.name),
        ));
    }
    let user = xml_req(&root, "UserAssignments")?;
    let top = xml_text(Some(xml_req(user, "TopModelName")?))
        .ok_or_else(|| ReportError::at_no(XML, user.line, "a top model name", "an empty `<TopModelName>`"))?;
    let unit = xml_text(user.child("unit")).unwrap_or_else(|| "ns".into());
    let perf = xml_req(&root, "PerformanceEstimates")?;
    let timing_unit =
        xml_text(perf.path(&["SummaryOfTimingAnalysis", "unit"])).unwrap_or_else(|| unit.clone());
    let lat = perf.child("SummaryOfOverallLatency");
    let l = |n: &str| lat.and_then(|e| e.child(n));
    let area = xml_req(&root, "AreaEstimates")?;
    let (resources, dsp_column) = xml_resources(xml_req(area, "Resources")?)?;
    let available = area
        .child("AvailableResources")
        .map(xml_resources)
        .transpose()?
        .map(|(r, _)| r);
    Ok(HlsReport {
        layout: HlsLayout::CsynthXml,
        tool: None,
        version: xml_text(root.path(&["ReportVersion", "Version"])),
        top,
        product_family: xml_text(user.child("ProductFamily")),
        part: xml_text(user.child("Part")),
        clock: None,
        target_clock_ns: xml_ns(user.child("TargetClockPeriod"), &unit)?,
        estimated_clock_ns: xml_ns(
            perf.path(&["SummaryOfTimingAnalysis", "EstimatedClockPeriod"]),
            &timing_unit,
        )?,
        clock_uncertainty_ns: xml_ns(user.child("ClockUncertainty"), &unit)?,
        slack_ns: None,
        latency_min_cycles: xml_count(l("Best-caseLatency"))?,
        latency_max_cycles: xml_count(l("Worst-caseLatency"))?,
        latency_min_ns: xml_ns(l("Best-caseRealTimeLatency"), "ns")?,
        latency_max_ns: xml_ns(l("Worst-caseRealTimeLatency"), "ns")?,
        interval_min_cycles: xml_count(l("Interval-min"))?,
        interval_max_cycles: xml_count(l("Interval-max"))?,
        pipeline_type: xml_text(perf.child("PipelineType")),
        dsp_column,
        resources,
        available,
        utilization_pct: None,
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::samples::{HLS_CLASSIC as CLASSIC, HLS_SUMMARY as SUMMARY, HLS_XML as XML_DOC};
    use crate::report::utilization::tests::line_of;

    #[test]
    fn reads_the_classic_layout() {
        let r = parse_rpt(CLASSIC).unwrap();
        assert_eq!(
            (r.layout, r.top.as_str(), r.version.as_deref()),
            (HlsLayout::VivadoHls, "toy", Some("2030.1"))
        );
        assert_eq!(r.part.as_deref(), Some("xc7a35tcpg236-1"));
        assert_eq!(
            (r.target_clock_ns, r.estimated_clock_ns, r.clock_uncertainty_ns),
            (Some(4.0), Some(3.5), Some(0.5))
        );
        assert_eq!((r.latency_min_cycles, r.latency_max_cycles), (Some(7), None));
        assert_eq!((r.interval_min_cycles, r.interval_max_cycles), (Some(8), Some(9)));
        assert_eq!(r.pipeline_type.as_deref(), Some("function"));
        assert_eq!(
            r.resources,
            HlsResources {
                bram_18k: Some(2),
                dsp: None,
                ff: Some(30),
                lut: Some(40),
                uram: None
            }
        );
        assert_eq!(r.available.as_ref().unwrap().dsp, Some(90));
        assert_eq!(
            r.utilization_pct.as_ref().unwrap().ff.unwrap().bound,
            Bound::About
        );
        assert_eq!(r.dsp_column.as_deref(), Some("DSP48E"));
        assert_eq!(r.worst_latency_ns(), None);
        assert!(r.summary_table().contains("DSP48E"));
    }

    #[test]
    fn classic_errors_name_their_line() {
        let bad = CLASSIC.replace("|    7|    ?|", "|    7|  1x3|");
        let e = parse_rpt(&bad).unwrap_err();
        assert_eq!(e.line(), Some(line_of(&bad, "1x3")), "{e}");
        let cut = &CLASSIC[..CLASSIC.find("+ Latency").unwrap()];
        assert_eq!(parse_rpt(cut).unwrap_err().line(), Some(cut.lines().count() + 1));
        assert_eq!(parse_rpt("\n\nhello\n").unwrap_err().line(), Some(3));
    }

    #[test]
    fn reads_the_2022_layout() {
        let r = parse_rpt(SUMMARY).unwrap();
        assert_eq!(r.layout, HlsLayout::SynthesisSummary);
        assert_eq!(
            (r.slack_ns, r.latency_max_cycles, r.interval_min_cycles),
            (Some(1.5), Some(12), Some(10))
        );
        assert_eq!(r.pipeline_type.as_deref(), Some("dataflow"));
        assert_eq!(
            (r.resources.bram_18k, r.resources.dsp, r.resources.lut),
            (Some(2), None, Some(300))
        );
        assert_eq!(r.utilization_pct.unwrap().lut.unwrap().bound, Bound::About);
        assert_eq!(r.target_clock_ns, None);
        let bad = SUMMARY.replace("300 (~0%)", "300 (~x%)");
        assert_eq!(parse_rpt(&bad).unwrap_err().line(), Some(line_of(&bad, "~x%")));
    }

    #[test]
    fn reads_xml() {
        let r = parse_xml(XML_DOC).unwrap();
        assert_eq!((r.top.as_str(), r.version.as_deref()), ("t&y", Some("2030.1")));
        assert_eq!(
            (r.target_clock_ns, r.estimated_clock_ns, r.clock_uncertainty_ns),
            (Some(5.0), Some(4.1), None)
        );
        assert_eq!(
            (r.latency_min_cycles, r.latency_max_cycles, r.latency_max_ns),
            (Some(3), None, Some(1500.0))
        );
        assert_eq!(
            (r.resources.dsp, r.dsp_column.as_deref(), r.resources.lut),
            (Some(4), Some("DSP48E"), None)
        );
        assert!(r.available.is_none());
    }

    #[test]
    fn xml_errors_name_their_line() {
        let e = parse_xml(&XML_DOC.replace("</UserAssignments>", "</UserAssignment>")).unwrap_err();
        assert_eq!(e.line(), Some(line_of(XML_DOC, "</UserAssignments>")), "{e}");
        let e = parse_xml(&XML_DOC.replace("<FF>10</FF>", "<FF>1x0</FF>")).unwrap_err();
        assert_eq!(e.line(), Some(line_of(XML_DOC, "<FF>")), "{e}");
        let e = parse_xml(&XML_DOC.replace("<TopModelName>t&amp;y</TopModelName>\n", "")).unwrap_err();
        assert_eq!(e.line(), Some(line_of(XML_DOC, "</UserAssignments>") - 1), "{e}");
        let cut = &XML_DOC[..XML_DOC.find("<AreaEstimates>").unwrap()];
        assert_eq!(parse_xml(cut).unwrap_err().line(), Some(cut.lines().count() + 1));
        assert!(parse_xml("").is_err());
        assert!(parse_xml("<a><b attr=\"1\"/></a>").is_err());
        assert_eq!(parse_xml("<!-- open").unwrap_err().line(), Some(1));
        let deep = format!("{}{}", "<a>\n".repeat(300), "</a>".repeat(300));
        assert_eq!(parse_xml(&deep).unwrap_err().line(), Some(MAX_DEPTH + 1));
    }
}
