//! Vivado `report_utilization` (the flat report, not `-hierarchical`), for
//! 7-series (`Slice LUTs`, `Memory`, `DSP` sections) and UltraScale(+)
//! (`CLB LUTs`, `BLOCKRAM`, `ARITHMETIC`) devices. Columns are found by
//! header name, so the `Prohibited` column of newer versions is optional.

use super::table::{
    all_tables, check_sections, eof_line, num_cell, reading_cell, req_cell, section_of, CellNum, Heading,
    Row, Table,
};
use super::{num, opt_text, Reading, ReportError, ReportHeader, ReportKind};
use crate::text_table::TextTable;
use serde::Serialize;

const KIND: ReportKind = ReportKind::Utilization;

/// Which naming the device family uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UtilizationLayout {
    /// 7-series: `Slice LUTs`, `Slice Registers`, `Memory`, `DSP`.
    SevenSeries,
    /// UltraScale / UltraScale+: `CLB LUTs`, `CLB Registers`, `BLOCKRAM`, `ARITHMETIC`.
    UltraScale,
}

/// One key resource row (`Slice LUTs`, `Block RAM Tile`, `DSPs`, ...).
/// `T` is `u64` for counts and `f64` for Block RAM tiles (halves occur).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource<T> {
    /// The row label as printed, without indentation (`CLB LUTs*`).
    pub label: String,
    /// `Used`.
    pub used: T,
    /// `Fixed` (None when the cell is blank).
    pub fixed: Option<T>,
    /// `Prohibited` (None when the column or the value is absent).
    pub prohibited: Option<T>,
    /// `Available`.
    pub available: Option<T>,
    /// `Util%` (may exceed 100; `<0.01` is kept as a bound).
    pub util_pct: Option<Reading>,
    /// The label ends in `*` (on the LUT row of a synthesized design: the
    /// count is a pre-implementation estimate).
    pub starred: bool,
    /// 1-based line of the row.
    pub line: usize,
}

/// Any row of a table with `Used` and `Available` columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteRow {
    /// Title of the section the table is in (`3. BLOCKRAM`).
    pub section: String,
    /// The first cell, trimmed (`LUT as Logic`).
    pub site_type: String,
    /// Indentation level (0 for top rows, 1 for `  LUT as Logic`, ...).
    pub level: u32,
    /// `Used`.
    pub used: Option<f64>,
    /// `Fixed`.
    pub fixed: Option<f64>,
    /// `Prohibited`.
    pub prohibited: Option<f64>,
    /// `Available`.
    pub available: Option<f64>,
    /// `Util%`.
    pub util_pct: Option<Reading>,
    /// 1-based line of the row.
    pub line: usize,
}

/// A row of the `Primitives` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Primitive {
    /// `Ref Name` (`FDRE`, `LUT6`, `DSP48E2`, ...).
    pub ref_name: String,
    /// `Used`.
    pub used: u64,
    /// `Functional Category`.
    pub category: Option<String>,
}

/// A parsed `report_utilization`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UtilizationReport {
    /// The header block.
    pub header: ReportHeader,
    /// The part (`Device` header field).
    pub part: Option<String>,
    /// The design (top module).
    pub design: Option<String>,
    /// `Design State` (`Synthesized`, `Fully Placed`, `Routed`), when printed.
    pub design_state: Option<String>,
    /// 7-series or UltraScale naming.
    pub layout: UtilizationLayout,
    /// `Slice LUTs` / `CLB LUTs`.
    pub luts: Resource<u64>,
    /// `Slice Registers` / `CLB Registers` (flip-flops and latches).
    pub registers: Resource<u64>,
    /// `Block RAM Tile` (36 Kb tiles; a RAMB18 counts one half).
    pub block_ram_tiles: Resource<f64>,
    /// `RAMB36/FIFO`.
    pub ramb36: Option<Resource<u64>>,
    /// `RAMB18`.
    pub ramb18: Option<Resource<u64>>,
    /// `URAM` (UltraScale+ only).
    pub uram: Option<Resource<u64>>,
    /// `DSPs`.
    pub dsps: Resource<u64>,
    /// `Bonded IOB`.
    pub bonded_iob: Option<Resource<u64>>,
    /// The numbered section headings, in order (`1. CLB Logic`,
    /// `1.1 Summary of Registers by Type`, ...), whether or not their
    /// tables are read; those the Table of Contents lists are checked to be
    /// there.
    pub sections: Vec<String>,
    /// Every row of every table with `Used` and `Available` columns.
    pub sites: Vec<SiteRow>,
    /// The `Primitives` table.
    pub primitives: Vec<Primitive>,
}

impl UtilizationReport {
    /// The first site row whose label (without a trailing `*`) is `name`.
    pub fn site(&self, name: &str) -> Option<&SiteRow> {
        self.sites
            .iter()
            .find(|s| s.site_type.trim_end_matches('*') == name)
    }

    /// The key figures as text.
    pub fn summary_table(&self) -> String {
        let mut out = format!(
            "Utilization: design {}, part {}, state {}{}\n",
            self.design.as_deref().unwrap_or("?"),
            self.part.as_deref().unwrap_or("?"),
            self.design_state.as_deref().unwrap_or("?"),
            self.header
                .vivado_version
                .as_deref()
                .map(|v| format!(" (Vivado {v})"))
                .unwrap_or_default(),
        );
        let mut t = TextTable::new(["Resource", "Site type", "Used", "Available", "Util%"]);
        fn row<T: std::fmt::Display + Copy>(t: &mut TextTable, name: &str, r: &Resource<T>) {
            t.add_row([
                name.to_string(),
                r.label.clone(),
                r.used.to_string(),
                opt_text(r.available),
                r.util_pct.map(|u| u.to_string()).unwrap_or_else(|| "-".into()),
            ]);
        }
        row(&mut t, "LUT", &self.luts);
        row(&mut t, "FF", &self.registers);
        let b = &self.block_ram_tiles;
        t.add_row([
            "BRAM".to_string(),
            b.label.clone(),
            num(b.used),
            b.available.map(num).unwrap_or_else(|| "-".into()),
            b.util_pct.map(|u| u.to_string()).unwrap_or_else(|| "-".into()),
        ]);
        row(&mut t, "DSP", &self.dsps);
        if let Some(u) = &self.uram {
            row(&mut t, "URAM", u);
        }
        if let Some(io) = &self.bonded_iob {
            row(&mut t, "IO", io);
        }
        out.push_str(&t.render());
        if self.luts.starred && self.design_state.as_deref() == Some("Synthesized") {
            out.push_str("* LUT count before implementation (synthesis estimate)\n");
        }
        out
    }
}

/// A table of site rows and the title of its section.
struct SiteTable<'t, 'a> {
    table: &'t Table<'a>,
    section: String,
}

fn section_name(title: &str) -> &str {
    title.split_once(' ').map(|(_, n)| n.trim()).unwrap_or(title)
}

fn find<'t, 'a>(tables: &'t [SiteTable<'t, 'a>], names: &[&str]) -> Option<(&'t Table<'a>, &'t Row<'a>)> {
    tables
        .iter()
        .filter(|s| s.table.first_header() == "sitetype")
        .find_map(|s| {
            s.table
                .rows
                .iter()
                .find(|r| names.contains(&r.label().trim_end_matches('*')))
                .map(|r| (s.table, r))
        })
}

fn resource<T: CellNum>(t: &Table<'_>, r: &Row<'_>) -> Result<Resource<T>, ReportError> {
    let label = r.label().to_string();
    Ok(Resource {
        used: req_cell(KIND, r, t.col("Used"), "Used")?,
        fixed: num_cell(KIND, r, t.col("Fixed"), "Fixed")?,
        prohibited: num_cell(KIND, r, t.col("Prohibited"), "Prohibited")?,
        available: num_cell(KIND, r, t.col("Available"), "Available")?,
        util_pct: reading_cell(KIND, r, t.col("Util%"), "Util%")?,
        starred: label.ends_with('*'),
        label,
        line: r.line,
    })
}

/// Finds a required row or says where it was expected: after the last
/// site table of the section it belongs in, else at the end of the report.
fn required<T: CellNum>(
    tables: &[SiteTable<'_, '_>],
    names: &[&str],
    sections: &[&str],
    eof: usize,
) -> Result<Resource<T>, ReportError> {
    if let Some((t, r)) = find(tables, names) {
        return resource(t, r);
    }
    let near = tables
        .iter()
        .filter(|s| sections.contains(&section_name(&s.section)))
        .map(|s| s.table.end)
        .next_back();
    let (line, found) = match near {
        Some(end) => (end, "the end of the table".to_string()),
        None => (eof, "the end of the report".to_string()),
    };
    let want = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    Err(ReportError::at_no(KIND, line, format!("a {want} row"), found))
}

fn optional<T: CellNum>(
    tables: &[SiteTable<'_, '_>],
    names: &[&str],
) -> Result<Option<Resource<T>>, ReportError> {
    find(tables, names).map(|(t, r)| resource(t, r)).transpose()
}

pub(crate) fn parse(text: &str) -> Result<UtilizationReport, ReportError> {
    let lines = super::table::split_lines(text);
    let header = ReportHeader::read(&lines);
    let headings: Vec<Heading> =
        check_sections(&lines).map_err(|(line, want, found)| ReportError::at_no(KIND, line, want, found))?;
    let tables = all_tables(&lines);
    let mut sites_tables = Vec::new();
    let mut sites = Vec::new();
    let mut primitives = Vec::new();
    for t in &tables {
        let is_sites = t.col("Used").is_some() && t.col("Available").is_some();
        let is_prims = t.first_header() == "refname"
            && t.col("Used").is_some()
            && t.col("Functional Category").is_some();
        if !(is_sites || is_prims) {
            continue;
        }
        if !t.closed {
            return Err(ReportError::at_no(
                KIND,
                t.end + 1,
                format!(
                    "a `+---+` ruler closing the table that starts at line {}",
                    t.start
                ),
                lines
                    .get(t.end)
                    .map(|l| super::table::snippet(l.text))
                    .unwrap_or_else(|| "the end of the report".into()),
            ));
        }
        let section = section_of(&headings, t.start);
        if is_prims {
            for r in &t.rows {
                primitives.push(Primitive {
                    ref_name: r.label().to_string(),
                    used: req_cell(KIND, r, t.col("Used"), "Used")?,
                    category: t
                        .col("Functional Category")
                        .map(|i| r.text(i).to_string())
                        .filter(|s| !s.is_empty()),
                });
            }
            continue;
        }
        for r in &t.rows {
            sites.push(SiteRow {
                section: section.clone(),
                site_type: r.label().to_string(),
                level: r.level(),
                used: num_cell(KIND, r, t.col("Used"), "Used")?,
                fixed: num_cell(KIND, r, t.col("Fixed"), "Fixed")?,
                prohibited: num_cell(KIND, r, t.col("Prohibited"), "Prohibited")?,
                available: num_cell(KIND, r, t.col("Available"), "Available")?,
                util_pct: reading_cell(KIND, r, t.col("Util%"), "Util%")?,
                line: r.line,
            });
        }
        sites_tables.push(SiteTable { table: t, section });
    }
    let eof = eof_line(&lines);
    let logic = ["Slice Logic", "CLB Logic"];
    let luts: Resource<u64> = required(&sites_tables, &["Slice LUTs", "CLB LUTs"], &logic, eof)?;
    let registers = required(&sites_tables, &["Slice Registers", "CLB Registers"], &logic, eof)?;
    let block_ram_tiles = required(&sites_tables, &["Block RAM Tile"], &["Memory", "BLOCKRAM"], eof)?;
    let dsps = required(
        &sites_tables,
        &["DSPs", "DSP Slices"],
        &["DSP", "ARITHMETIC"],
        eof,
    )?;
    Ok(UtilizationReport {
        part: header.device.clone(),
        design: header.design.clone(),
        design_state: header.design_state.clone(),
        layout: if luts.label.starts_with("CLB") {
            UtilizationLayout::UltraScale
        } else {
            UtilizationLayout::SevenSeries
        },
        ramb36: optional(&sites_tables, &["RAMB36/FIFO"])?,
        ramb18: optional(&sites_tables, &["RAMB18"])?,
        uram: optional(&sites_tables, &["URAM"])?,
        bonded_iob: optional(&sites_tables, &["Bonded IOB"])?,
        header,
        luts,
        registers,
        block_ram_tiles,
        dsps,
        sections: headings.into_iter().map(|h| h.title).collect(),
        sites,
        primitives,
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::report::samples::UTILIZATION as SYNTHETIC;

    pub(crate) fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn reads_a_synthetic_report() {
        let r = parse(SYNTHETIC).unwrap();
        assert_eq!(r.part.as_deref(), Some("xc7a35tcpg236-1"));
        assert_eq!(r.layout, UtilizationLayout::SevenSeries);
        assert_eq!(
            (r.luts.used, r.luts.available, r.luts.line),
            (120, Some(20800), line_of(SYNTHETIC, "| Slice LUTs"))
        );
        assert_eq!(r.registers.used, 9);
        assert_eq!(r.block_ram_tiles.used, 1.5);
        assert_eq!(r.ramb18.as_ref().unwrap().used, 1);
        assert!(r.ramb36.is_none() && r.uram.is_none());
        assert_eq!(r.dsps.util_pct, Some(Reading::exact(2.22)));
        assert_eq!(r.bonded_iob.as_ref().unwrap().util_pct.unwrap().value, 141.51);
        let andor = r.site("Register as AND/OR").unwrap();
        assert_eq!(
            (andor.level, andor.util_pct.unwrap().bound),
            (1, super::super::Bound::LessThan)
        );
        assert_eq!(r.site("Slice LUTs").unwrap().section, "1. Slice Logic");
        assert_eq!(
            r.sections,
            ["1. Slice Logic", "2. Memory", "3. DSP", "4. IO and GT Specific"]
        );
        let s = r.summary_table();
        assert!(s.contains("part xc7a35tcpg236-1"), "{s}");
        assert!(
            s.contains("BRAM      Block RAM Tile    1.5         50    3.00"),
            "{s}"
        );
    }

    #[test]
    fn a_word_in_the_used_column_is_an_error_on_its_line() {
        let bad = SYNTHETIC.replace(
            "| Slice LUTs              |  120 |",
            "| Slice LUTs              |  1x0 |",
        );
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.line(), Some(line_of(&bad, "| Slice LUTs")), "{e}");
        assert!(e.to_string().contains("column `Used`"), "{e}");
    }

    #[test]
    fn missing_pieces_are_errors() {
        let no_dsp_row = SYNTHETIC.replace("| DSPs      |    2 |     0 |        90 |  2.22 |\n", "");
        let e = parse(&no_dsp_row).unwrap_err();
        assert_eq!(
            e.line(),
            Some(line_of(&no_dsp_row, "| Site Type | Used") + 2),
            "{e}"
        );
        assert!(e.to_string().contains("`DSPs`"), "{e}");
        let cut = &SYNTHETIC[..SYNTHETIC.find("3. DSP\n---").unwrap()];
        let e = parse(cut).unwrap_err();
        assert_eq!(e.line(), Some(cut.lines().count() + 1), "{e}");
        let dsp = "| DSPs      |    2 |     0 |        90 |  2.22 |\n";
        let open = &SYNTHETIC[..SYNTHETIC.find(dsp).unwrap() + dsp.len()];
        let e = parse(open).unwrap_err();
        assert_eq!(e.line(), Some(open.lines().count() + 1), "{e}");
    }
}
