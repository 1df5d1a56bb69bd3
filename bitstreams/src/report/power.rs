//! Vivado `report_power`: the summary (total on-chip, dynamic and device
//! static power, junction temperature, max ambient, confidence level; a
//! value such as `25.955 (Junction temp exceeded!)` keeps its note), the
//! on-chip components, PS / PL static power, power supplies, clock
//! constraints, the environment's ambient temperature and the by-hierarchy
//! rows. Tables are found by their headers or first keys.

use super::table::{
    all_tables, cell, check_sections, num_cell, number_with_note, reading_cell, snippet, split_lines, Cell,
    Table,
};
use super::{num, opt_fixed, Reading, ReportError, ReportHeader, ReportKind};
use crate::text_table::TextTable;
use serde::Serialize;

const KIND: ReportKind = ReportKind::Power;

/// A row of the On-Chip Components table (dynamic power by resource).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerComponent {
    /// `On-Chip` name (`Clocks`, `CLB Logic`, `LUT as Logic`, `PS8`, ...).
    pub name: String,
    /// Indentation level (sub-rows such as `LUT as Logic` are 1).
    pub level: u32,
    /// `Power (W)`; `<0.001` is kept as a bound.
    pub power_w: Reading,
    /// `Used` (Block RAM tiles may be fractional).
    pub used: Option<f64>,
    /// `Available` (None for `---`).
    pub available: Option<f64>,
    /// `Utilization (%)`.
    pub utilization_pct: Option<Reading>,
    /// 1-based line of the row.
    pub line: usize,
}

/// A row of the Power Supply Summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerSupply {
    /// `Source` (`Vccint`, `VCC_PSINTFP`, ...).
    pub source: String,
    /// `Voltage (V)`.
    pub voltage_v: Option<f64>,
    /// `Total (A)`.
    pub total_a: Option<f64>,
    /// `Dynamic (A)`.
    pub dynamic_a: Option<f64>,
    /// `Static (A)`.
    pub static_a: Option<f64>,
}

/// A row of the Clock Constraints table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClockConstraint {
    /// `Clock`.
    pub clock: String,
    /// `Domain` (the net or pin).
    pub domain: String,
    /// `Constraint (ns)`.
    pub constraint_ns: Option<f64>,
}

/// A row of the By Hierarchy table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HierarchyPower {
    /// Instance name.
    pub name: String,
    /// Depth (0 for the top).
    pub level: u32,
    /// `Power (W)`.
    pub power_w: Reading,
}

/// A parsed `report_power`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerReport {
    /// The header block.
    pub header: ReportHeader,
    /// The part (`Device` header field).
    pub part: Option<String>,
    /// The design (top module).
    pub design: Option<String>,
    /// `Design State`.
    pub design_state: Option<String>,
    /// `Total On-Chip Power (W)`.
    pub total_on_chip_w: f64,
    /// The note printed after the total, e.g. `Junction temp exceeded!`.
    pub total_on_chip_note: Option<String>,
    /// True when a summary note says the junction temperature was exceeded.
    pub junction_temp_exceeded: bool,
    /// `Dynamic (W)`.
    pub dynamic_w: f64,
    /// `Device Static (W)`.
    pub device_static_w: f64,
    /// `PS Static` from the components table (Zynq UltraScale+ / RFSoC).
    pub ps_static_w: Option<f64>,
    /// `PL Static` from the components table (Zynq UltraScale+ / RFSoC).
    pub pl_static_w: Option<f64>,
    /// `Design Power Budget (W)` (None when `Unspecified`).
    pub design_power_budget_w: Option<f64>,
    /// `Effective TJA (C/W)`.
    pub effective_tja_c_per_w: Option<f64>,
    /// `Max Ambient (C)`.
    pub max_ambient_c: Option<f64>,
    /// `Junction Temperature (C)`.
    pub junction_temp_c: f64,
    /// `Confidence Level` (`Low`, `Medium`, `High`).
    pub confidence_level: String,
    /// `Ambient Temp (C)` of the Environment settings.
    pub ambient_temp_c: Option<f64>,
    /// The On-Chip Components rows up to (not including) `Static Power`.
    pub components: Vec<PowerComponent>,
    /// The Power Supply Summary rows.
    pub supplies: Vec<PowerSupply>,
    /// The Clock Constraints rows.
    pub clocks: Vec<ClockConstraint>,
    /// The By Hierarchy rows.
    pub hierarchy: Vec<HierarchyPower>,
}

impl PowerReport {
    /// Total on-chip power (W).
    pub fn total_on_chip_w(&self) -> f64 {
        self.total_on_chip_w
    }

    /// Dynamic power (W).
    pub fn dynamic_w(&self) -> f64 {
        self.dynamic_w
    }

    /// Device static power (W).
    pub fn device_static_w(&self) -> f64 {
        self.device_static_w
    }

    /// The first component named `name` (`Block RAM`, `DSPs`, `PS7`, ...).
    pub fn component(&self, name: &str) -> Option<&PowerComponent> {
        self.components.iter().find(|c| c.name == name)
    }

    /// Energy in nJ drawn at the total on-chip power over `duration_ns`
    /// (W × ns = nJ).
    pub fn energy_nj(&self, duration_ns: f64) -> f64 {
        self.total_on_chip_w * duration_ns
    }

    /// The key figures as text.
    pub fn summary_table(&self) -> String {
        let mut out = format!(
            "Power: design {}, part {}{}\n",
            self.design.as_deref().unwrap_or("?"),
            self.part.as_deref().unwrap_or("?"),
            self.header
                .vivado_version
                .as_deref()
                .map(|v| format!(" (Vivado {v})"))
                .unwrap_or_default(),
        );
        let mut t = TextTable::new(["Figure", "Value"]);
        let mut total = format!("{:.3}", self.total_on_chip_w);
        if let Some(n) = &self.total_on_chip_note {
            total.push_str(&format!(" ({n})"));
        }
        t.add_row(["Total on-chip (W)".to_string(), total]);
        t.add_row(["Dynamic (W)".to_string(), format!("{:.3}", self.dynamic_w)]);
        t.add_row([
            "Device static (W)".to_string(),
            format!("{:.3}", self.device_static_w),
        ]);
        if self.ps_static_w.is_some() || self.pl_static_w.is_some() {
            t.add_row(["  PS static (W)".to_string(), opt_fixed(self.ps_static_w, 3)]);
            t.add_row(["  PL static (W)".to_string(), opt_fixed(self.pl_static_w, 3)]);
        }
        t.add_row([
            "Junction temperature (C)".to_string(),
            format!("{:.1}", self.junction_temp_c),
        ]);
        t.add_row(["Max ambient (C)".to_string(), opt_fixed(self.max_ambient_c, 1)]);
        t.add_row(["Confidence level".to_string(), self.confidence_level.clone()]);
        out.push_str(&t.render());
        if !self.components.is_empty() {
            out.push('\n');
            let mut c = TextTable::new(["Component", "Power (W)", "Used", "Available", "Util%"]);
            for k in &self.components {
                c.add_row([
                    indented(&k.name, k.level),
                    format!("{:.3}", k.power_w),
                    k.used.map(num).unwrap_or_else(|| "-".into()),
                    k.available.map(num).unwrap_or_else(|| "-".into()),
                    k.utilization_pct
                        .map(|u| u.to_string())
                        .unwrap_or_else(|| "-".into()),
                ]);
            }
            out.push_str(&c.render());
        }
        if !self.supplies.is_empty() {
            out.push('\n');
            let mut t = TextTable::new(["Supply", "Voltage (V)", "Total (A)", "Dynamic (A)", "Static (A)"]);
            for p in &self.supplies {
                t.add_row([
                    p.source.clone(),
                    opt_fixed(p.voltage_v, 3),
                    opt_fixed(p.total_a, 3),
                    opt_fixed(p.dynamic_a, 3),
                    opt_fixed(p.static_a, 3),
                ]);
            }
            out.push_str(&t.render());
        }
        if !self.clocks.is_empty() {
            out.push('\n');
            let mut t = TextTable::new(["Clock", "Constraint (ns)", "Domain"]);
            for c in &self.clocks {
                t.add_row([c.clock.clone(), opt_fixed(c.constraint_ns, 3), c.domain.clone()]);
            }
            out.push_str(&t.render());
        }
        if !self.hierarchy.is_empty() {
            out.push('\n');
            let mut t = TextTable::new(["Instance", "Power (W)"]);
            for h in &self.hierarchy {
                t.add_row([indented(&h.name, h.level), format!("{:.3}", h.power_w)]);
            }
            out.push_str(&t.render());
        }
        out
    }
}

/// A row name indented two spaces per level (at most 8), as Vivado does.
fn indented(name: &str, level: u32) -> String {
    format!("{}{name}", "  ".repeat(level.min(8) as usize))
}

/// The value cell of key `key` in a key / value table.
fn value<'a>(t: &Table<'a>, key: &str) -> Option<(usize, &'a str)> {
    t.row(key).map(|r| (r.line, r.text(1)))
}

/// A required `number (note)` value.
fn required(t: &Table<'_>, key: &str) -> Result<(f64, Option<String>), ReportError> {
    let (line, v) = value(t, key).ok_or_else(|| {
        ReportError::at_no(
            KIND,
            t.end,
            format!("a `{key}` row in the power summary"),
            "the end of the table",
        )
    })?;
    let (_, (r, note)) = number_with_note(v)
        .map_err(|_| ReportError::at_no(KIND, line, format!("a number for `{key}`"), snippet(v)))?;
    Ok((r.value, note.map(str::to_string)))
}

/// An optional number: None when absent or not a number (`Unspecified*`, `NA`).
fn optional(t: &Table<'_>, key: &str) -> Option<f64> {
    let (_, v) = value(t, key)?;
    number_with_note(v).ok().map(|(_, (r, _))| r.value)
}

pub(crate) fn parse(text: &str) -> Result<PowerReport, ReportError> {
    let lines = split_lines(text);
    let header = ReportHeader::read(&lines);
    check_sections(&lines).map_err(|(line, want, found)| ReportError::at_no(KIND, line, want, found))?;
    let tables = all_tables(&lines);
    let keyed = |key: &str| {
        tables
            .iter()
            .find(|t| t.header.is_empty() && t.row(key).is_some())
    };
    let headed = |first: &str, other: &str| {
        tables
            .iter()
            .find(|t| t.first_header() == super::table::norm(first) && t.col(other).is_some())
    };

    let summary = keyed("Total On-Chip Power (W)").ok_or_else(|| {
        ReportError::eof(
            KIND,
            &lines,
            "the summary table (`| Total On-Chip Power (W) | ... |`)",
        )
    })?;
    let summary = summary.require_closed(KIND, &lines)?;
    let (total_on_chip_w, total_on_chip_note) = required(summary, "Total On-Chip Power (W)")?;
    let (dynamic_w, dyn_note) = required(summary, "Dynamic (W)")?;
    let (device_static_w, static_note) = required(summary, "Device Static (W)")?;
    let (junction_temp_c, tj_note) = required(summary, "Junction Temperature (C)")?;
    let confidence_level = match value(summary, "Confidence Level") {
        Some((_, v)) if !v.is_empty() => v.to_string(),
        Some((line, v)) => return Err(ReportError::at_no(KIND, line, "a confidence level", snippet(v))),
        None => {
            return Err(ReportError::at_no(
                KIND,
                summary.end,
                "a `Confidence Level` row in the power summary",
                "the end of the table",
            ))
        }
    };
    let junction_temp_exceeded = [&total_on_chip_note, &dyn_note, &static_note, &tj_note]
        .iter()
        .any(|n| {
            n.as_deref()
                .is_some_and(|n| n.to_ascii_lowercase().contains("exceeded"))
        });

    let comp = headed("On-Chip", "Power (W)").ok_or_else(|| {
        ReportError::eof(
            KIND,
            &lines,
            "the On-Chip Components table (`| On-Chip | Power (W) | ...`)",
        )
    })?;
    let comp = comp.require_closed(KIND, &lines)?;
    let (cp, cu, ca, cz) = (
        comp.col("Power (W)"),
        comp.col("Used"),
        comp.col("Available"),
        comp.col("Utilization (%)"),
    );
    let mut components = Vec::new();
    let (mut ps_static_w, mut pl_static_w) = (None, None);
    let mut in_static = false;
    for r in &comp.rows {
        let name = r.label();
        let level = r.level();
        if level == 0 && (name == "Static Power" || name == "Total") {
            in_static = true;
        }
        let power = reading_cell(KIND, r, cp, "Power (W)")?;
        if in_static {
            match name {
                "PS Static" => ps_static_w = power.map(|p| p.value),
                "PL Static" => pl_static_w = power.map(|p| p.value),
                _ => {}
            }
            continue;
        }
        let power_w = power.ok_or_else(|| {
            ReportError::at_no(
                KIND,
                r.line,
                "a number in column `Power (W)`",
                snippet(cp.map(|i| r.text(i)).unwrap_or("")),
            )
        })?;
        components.push(PowerComponent {
            name: name.to_string(),
            level,
            power_w,
            used: num_cell(KIND, r, cu, "Used")?,
            available: num_cell(KIND, r, ca, "Available")?,
            utilization_pct: reading_cell(KIND, r, cz, "Utilization (%)")?,
            line: r.line,
        });
    }

    let mut supplies = Vec::new();
    if let Some(t) = headed("Source", "Voltage (V)") {
        let t = t.require_closed(KIND, &lines)?;
        for r in &t.rows {
            supplies.push(PowerSupply {
                source: r.label().to_string(),
                voltage_v: num_cell(KIND, r, t.col("Voltage (V)"), "Voltage (V)")?,
                total_a: num_cell(KIND, r, t.col("Total (A)"), "Total (A)")?,
                dynamic_a: num_cell(KIND, r, t.col("Dynamic (A)"), "Dynamic (A)")?,
                static_a: num_cell(KIND, r, t.col("Static (A)"), "Static (A)")?,
            });
        }
    }
    let mut clocks = Vec::new();
    if let Some(t) = headed("Clock", "Constraint (ns)") {
        let t = t.require_closed(KIND, &lines)?;
        for r in &t.rows {
            clocks.push(ClockConstraint {
                clock: r.label().to_string(),
                domain: t.col("Domain").map(|i| r.text(i).to_string()).unwrap_or_default(),
                constraint_ns: num_cell(KIND, r, t.col("Constraint (ns)"), "Constraint (ns)")?,
            });
        }
    }
    let mut hierarchy = Vec::new();
    if let Some(t) = headed("Name", "Power (W)") {
        let t = t.require_closed(KIND, &lines)?;
        for r in &t.rows {
            let p = t.col("Power (W)");
            let power_w = match cell(p.map(|i| r.text(i)).unwrap_or("")) {
                Cell::Num(v) => v,
                _ => {
                    return Err(ReportError::at_no(
                        KIND,
                        r.line,
                        "a number in column `Power (W)`",
                        snippet(p.map(|i| r.text(i)).unwrap_or("")),
                    ))
                }
            };
            hierarchy.push(HierarchyPower {
                name: r.label().to_string(),
                level: r.level(),
                power_w,
            });
        }
    }
    let ambient_temp_c = keyed("Ambient Temp (C)").and_then(|t| optional(t, "Ambient Temp (C)"));

    Ok(PowerReport {
        part: header.device.clone(),
        design: header.design.clone(),
        design_state: header.design_state.clone(),
        header,
        total_on_chip_w,
        total_on_chip_note,
        junction_temp_exceeded,
        dynamic_w,
        device_static_w,
        ps_static_w,
        pl_static_w,
        design_power_budget_w: optional(summary, "Design Power Budget (W)"),
        effective_tja_c_per_w: optional(summary, "Effective TJA (C/W)"),
        max_ambient_c: optional(summary, "Max Ambient (C)"),
        junction_temp_c,
        confidence_level,
        ambient_temp_c,
        components,
        supplies,
        clocks,
        hierarchy,
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::report::samples::POWER as SYNTHETIC;
    use crate::report::utilization::tests::line_of;
    use crate::report::Bound;

    #[test]
    fn reads_a_synthetic_report() {
        let p = parse(SYNTHETIC).unwrap();
        assert_eq!(
            (p.total_on_chip_w(), p.dynamic_w(), p.device_static_w()),
            (9.5, 9.0, 0.5)
        );
        assert_eq!(p.total_on_chip_note.as_deref(), Some("Something exceeded"));
        assert!(p.junction_temp_exceeded);
        assert_eq!(
            (p.junction_temp_c, p.max_ambient_c, p.design_power_budget_w),
            (85.5, Some(40.0), None)
        );
        assert_eq!(p.confidence_level, "Medium");
        assert_eq!((p.ps_static_w, p.pl_static_w), (Some(0.2), Some(0.3)));
        assert_eq!(p.components.len(), 3);
        let lut = p.component("LUT as Logic").unwrap();
        assert_eq!(
            (lut.level, lut.power_w.bound, lut.utilization_pct.unwrap().bound),
            (1, Bound::LessThan, Bound::LessThan)
        );
        assert_eq!(p.component("Block RAM").unwrap().used, Some(2.5));
        assert_eq!(p.hierarchy[1].level, 1);
        assert_eq!(p.energy_nj(10.0), 95.0);
        let s = p.summary_table();
        assert!(s.contains("9.500 (Something exceeded)"), "{s}");
        assert!(s.contains("  LUT as Logic"), "{s}");
        // one row each of supplies, clocks and hierarchy, the last indented
        let row = |first: &str| -> Vec<&str> {
            let line = s
                .lines()
                .find(|l| l.starts_with(first))
                .unwrap_or_else(|| panic!("{first}: {s}"));
            line.split_whitespace().collect()
        };
        assert_eq!(row("Vccint"), ["Vccint", "1.000", "0.250", "0.200", "0.050"]);
        assert_eq!(row("sys_clk"), ["sys_clk", "10.000", "clk"]);
        assert_eq!(row("toy_top"), ["toy_top", "9.000"]);
        assert_eq!(row("  core"), ["core", "0.300"]);
        // tables a report does not have are left out
        let bare = PowerReport {
            supplies: Vec::new(),
            clocks: Vec::new(),
            hierarchy: Vec::new(),
            ..p.clone()
        };
        let s = bare.summary_table();
        for header in ["Supply", "Constraint (ns)", "Instance"] {
            assert!(!s.contains(header), "{header}: {s}");
        }
    }

    #[test]
    fn malformed_values_name_their_line() {
        let bad = SYNTHETIC.replace(
            "| Dynamic (W)              | 9.000 ",
            "| Dynamic (W)              | lots  ",
        );
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.line(), Some(line_of(&bad, "| Dynamic (W)")), "{e}");
        let bad = SYNTHETIC.replace("|     0.200 |      2.5 |", "|     0.2x0 |      2.5 |");
        assert_eq!(
            parse(&bad).unwrap_err().line(),
            Some(line_of(&bad, "| Block RAM"))
        );
        let cut = &SYNTHETIC[..SYNTHETIC.find("3.1 By").unwrap()];
        assert_eq!(parse(cut).unwrap_err().line(), Some(cut.lines().count() + 1));
    }
}
