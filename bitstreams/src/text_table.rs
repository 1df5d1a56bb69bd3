//! A small plain-text table for terminal output: a header row, a rule of
//! dashes, then the rows, columns separated by two spaces. Numeric columns
//! are right-aligned, text columns left-aligned.
//!
//! [`TextTable::render_markdown`] gives the same table as Markdown.
//!
//! ```
//! use hwformer_bitstreams::text_table::TextTable;
//!
//! let mut t = TextTable::new(["Resource", "Used", "Util%"]);
//! t.add_row(["LUT", "1200", "3.50"]);
//! t.add_row(["DSP", "16", "<0.01"]);
//! assert_eq!(
//!     t.render(),
//!     "Resource  Used  Util%\n\
//!      --------  ----  -----\n\
//!      LUT       1200   3.50\n\
//!      DSP         16  <0.01\n"
//! );
//! ```
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// How a column's cells are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// Right when every non-empty cell of the column looks like a number
    /// ([`looks_numeric`]), left otherwise.
    #[default]
    Auto,
    /// Always left-aligned.
    Left,
    /// Always right-aligned.
    Right,
}

/// A table of strings rendered with aligned columns (widths in `char`s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextTable {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    align: Vec<Align>,
}

impl TextTable {
    /// A table with these column headers and no rows.
    pub fn new<I, S>(headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        let align = vec![Align::Auto; headers.len()];
        TextTable {
            headers,
            rows: Vec::new(),
            align,
        }
    }

    /// Sets the alignment of column `column` (0-based); columns past the
    /// last header are added.
    pub fn with_align(mut self, column: usize, align: Align) -> Self {
        if self.align.len() <= column {
            self.align.resize(column + 1, Align::Auto);
        }
        if let Some(a) = self.align.get_mut(column) {
            *a = align;
        }
        self
    }

    /// Appends a row. A short row is padded with empty cells; a long row
    /// adds columns with empty headers.
    pub fn add_row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Number of rows (the header not counted).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Columns: the longest of the header and the rows.
    fn columns(&self) -> usize {
        self.rows
            .iter()
            .map(Vec::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0)
    }

    /// The table as a Markdown (GitHub) table: `|` between cells, `|` in
    /// a cell escaped, one line per row, each ending in `\n`.
    pub fn render_markdown(&self) -> String {
        let ncols = self.columns();
        let line = |row: &[String]| {
            let cells: Vec<String> = (0..ncols)
                .map(|c| row.get(c).map_or(String::new(), |s| s.replace('|', "\\|")))
                .collect();
            format!("| {} |\n", cells.join(" | "))
        };
        let mut out = line(&self.headers);
        out.push_str(&format!("|{}\n", "---|".repeat(ncols)));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }

    /// The table as text, one line per row, each line ending in `\n`,
    /// without trailing spaces.
    pub fn render(&self) -> String {
        let ncols = self.columns();
        fn cell(row: &[String], c: usize) -> &str {
            row.get(c).map(String::as_str).unwrap_or("")
        }
        let mut widths = vec![0usize; ncols];
        let mut right = vec![false; ncols];
        for (c, (w, r)) in widths.iter_mut().zip(right.iter_mut()).enumerate() {
            *w = std::iter::once(cell(&self.headers, c))
                .chain(self.rows.iter().map(|row| cell(row, c)))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0);
            *r = match self.align.get(c).copied().unwrap_or_default() {
                Align::Left => false,
                Align::Right => true,
                Align::Auto => {
                    let mut body = self.rows.iter().map(|row| cell(row, c).trim());
                    let mut any_number = false;
                    let all = body.all(|s| {
                        if looks_numeric(s) {
                            any_number = true;
                            true
                        } else {
                            is_placeholder(s)
                        }
                    });
                    all && any_number
                }
            };
        }
        let mut out = String::new();
        let mut line = |cells: &mut dyn Iterator<Item = String>| {
            let mut text = String::new();
            for (c, s) in cells.enumerate() {
                let w = widths.get(c).copied().unwrap_or(0);
                let pad = " ".repeat(w.saturating_sub(s.chars().count()));
                if c > 0 {
                    text.push_str("  ");
                }
                if right.get(c).copied().unwrap_or(false) {
                    text.push_str(&pad);
                    text.push_str(&s);
                } else {
                    text.push_str(&s);
                    text.push_str(&pad);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&mut (0..ncols).map(|c| cell(&self.headers, c).to_string()));
        line(&mut widths.iter().map(|w| "-".repeat(*w)));
        for row in &self.rows {
            line(&mut (0..ncols).map(|c| cell(row, c).to_string()));
        }
        out
    }
}

/// True for text such as `12`, `-2.319`, `6.5e3`, `<0.01`, `~0` or
/// `49.80%`: an optional `<`, `>` or `~`, a decimal number, an optional `%`.
pub fn looks_numeric(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_prefix(['<', '>', '~']).unwrap_or(s);
    let s = s.strip_suffix('%').unwrap_or(s);
    s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && s.parse::<f64>().is_ok()
}

/// Cells that stand for "no value" and do not stop a column being numeric.
fn is_placeholder(s: &str) -> bool {
    matches!(s, "" | "-" | "--" | "---" | "NA" | "N/A" | "n/a" | "none")
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn markdown_pads_short_rows_and_escapes_bars() {
        let mut t = TextTable::new(["a", "b"]);
        t.add_row(["x|y"]);
        t.add_row(["1", "2", "3"]);
        assert_eq!(
            t.render_markdown(),
            "| a | b |  |\n|---|---|---|\n| x\\|y |  |  |\n| 1 | 2 | 3 |\n"
        );
    }

    #[test]
    fn numeric_columns_align_right_and_text_left() {
        let mut t = TextTable::new(["Clock", "Period (ns)", "Note"]);
        t.add_row(["clk", "8.000", "12"]);
        t.add_row(["clk_fast_domain", "NA", "x"]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Clock            Period (ns)  Note");
        assert_eq!(lines[1], "---------------  -----------  ----");
        assert_eq!(lines[2], "clk                    8.000  12");
        assert_eq!(lines[3], "clk_fast_domain           NA  x");
    }

    #[test]
    fn ragged_rows_and_forced_alignment() {
        let mut t = TextTable::new(["a"]).with_align(1, Align::Left);
        t.add_row(["1", "22", "ü"]);
        t.add_row(Vec::<String>::new());
        assert_eq!(t.len(), 2);
        assert_eq!(t.render(), "a\n-  --  -\n1  22  ü\n\n");
        assert!(TextTable::new(["x"]).is_empty());
        assert_eq!(TextTable::new(Vec::<String>::new()).render(), "\n\n");
    }

    #[test]
    fn numbers_are_recognised() {
        for s in ["1", "-2.319", "<0.01", "~0", "49.80%", "1.208e+04", " 7 "] {
            assert!(looks_numeric(s), "{s}");
        }
        for s in ["", "-", "inf", "NaN", "1 2", "abc", "1.2.3", "e"] {
            assert!(!looks_numeric(s), "{s}");
        }
    }
}
