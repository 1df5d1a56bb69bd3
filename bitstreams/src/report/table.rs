//! Shared text structure of Vivado and HLS reports: numbered lines, the
//! `| Key : Value` header block, `+---+` ruled `| a | b |` tables (with
//! multi-line headers), whitespace-aligned tables under a rule of dashes
//! (timing summary), numbered section headings with their table of
//! contents, and the cell values (`<0.01`, `~0`, `NA`, `-`).

use super::{Bound, Reading, ReportError, ReportKind};
use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_while, take_while1};
use nom::character::complete::{char, digit1, one_of, space0};
use nom::combinator::{all_consuming, map_res, opt, recognize, rest};
use nom::multi::many1;
use nom::number::complete::recognize_float;
use nom::sequence::{pair, preceded, separated_pair, terminated};
use nom::IResult;
use std::collections::BTreeMap;

/// One line of the input, 1-based, without its line ending.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    pub no: usize,
    pub text: &'a str,
}

/// Splits `text` into lines (LF or CRLF), dropping a leading BOM.
pub(crate) fn split_lines(text: &str) -> Vec<Line<'_>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .enumerate()
        .map(|(i, l)| Line {
            no: i + 1,
            text: l.strip_suffix('\r').unwrap_or(l),
        })
        .collect()
}

/// The line number one past the last line: where "end of file" errors point.
pub(crate) fn eof_line(lines: &[Line<'_>]) -> usize {
    lines.last().map(|l| l.no + 1).unwrap_or(1)
}

// ---------------------------------------------------------------- values

/// A decimal number as `f64` (`12`, `-2.5`, `1.2e+04`).
pub(crate) fn float(i: &str) -> IResult<&str, f64> {
    map_res(recognize_float, str::parse::<f64>)(i)
}

/// A whole number as `u64`.
pub(crate) fn whole(i: &str) -> IResult<&str, u64> {
    map_res(digit1, str::parse::<u64>)(i)
}

/// A number with an optional `<`, `>` or `~` in front.
pub(crate) fn reading(i: &str) -> IResult<&str, Reading> {
    let (i, q) = opt(one_of("<>~"))(i)?;
    let (i, value) = float(i)?;
    let bound = match q {
        Some('<') => Bound::LessThan,
        Some('>') => Bound::GreaterThan,
        Some(_) => Bound::About,
        None => Bound::Exact,
    };
    Ok((i, Reading { value, bound }))
}

/// What a table cell holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    /// Blank.
    Empty,
    /// `-`, `--` or `---`: not applicable / none.
    Dash,
    /// `NA`, `N/A`, `?` or `undef`: not available.
    NotAvailable,
    /// A number.
    Num(Reading),
    /// Anything else (trimmed).
    Text(&'a str),
}

/// Classifies a (raw) cell.
pub(crate) fn cell(raw: &str) -> Cell<'_> {
    let s = raw.trim();
    match s {
        "" => Cell::Empty,
        "-" | "--" | "---" => Cell::Dash,
        "NA" | "N/A" | "n/a" | "?" | "undef" => Cell::NotAvailable,
        _ => match all_consuming(reading)(s) {
            Ok((_, r)) => Cell::Num(r),
            Err(_) => Cell::Text(s),
        },
    }
}

/// `value (note)`: a number followed by an optional parenthesised note, as
/// in `25.955 (Junction temp exceeded!)` or `52110 (22%)`.
pub(crate) fn number_with_note(i: &str) -> IResult<&str, (Reading, Option<&str>)> {
    all_consuming(pair(reading, preceded(space0, opt(paren_note))))(i.trim())
}

fn paren_note(i: &str) -> IResult<&str, &str> {
    preceded(char('('), terminated(take_till(|c| c == ')'), char(')')))(i)
}

/// A number followed by an optional unit (`10.00 ns`, `2.627 ms`, `6.427`),
/// converted to nanoseconds; no unit means nanoseconds.
pub(crate) fn nanoseconds(i: &str) -> Option<f64> {
    let r: IResult<&str, (f64, &str)> = all_consuming(separated_pair(
        float,
        space0,
        take_while(|c: char| c.is_ascii_alphabetic()),
    ))(i.trim());
    let (_, (v, unit)) = r.ok()?;
    let scale = match unit {
        "" | "ns" => 1.0,
        "ps" => 1e-3,
        "us" => 1e3,
        "ms" => 1e6,
        "s" | "sec" => 1e9,
        _ => return None,
    };
    Some(v * scale)
}

/// Shortens text for an error message (at most 60 chars, on a char boundary).
pub(crate) fn snippet(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() {
        return "an empty line".to_string();
    }
    let mut out: String = s.chars().take(60).collect();
    if s.chars().nth(60).is_some() {
        out.push('…');
    }
    format!("`{out}`")
}

/// Numbers that can be read from a table cell.
pub(crate) trait CellNum: Sized {
    /// The whole trimmed cell as this number.
    fn from_cell(s: &str) -> Option<Self>;
}

impl CellNum for u64 {
    fn from_cell(s: &str) -> Option<Self> {
        all_consuming(whole)(s).ok().map(|(_, v)| v)
    }
}

impl CellNum for f64 {
    fn from_cell(s: &str) -> Option<Self> {
        all_consuming(float)(s).ok().map(|(_, v)| v)
    }
}

/// Cell `idx` of `row` as a number: `None` for a missing column or a blank,
/// `-`, `NA` cell; an error naming the row's line for anything else.
pub(crate) fn num_cell<T: CellNum>(
    kind: ReportKind,
    row: &Row<'_>,
    idx: Option<usize>,
    what: &str,
) -> Result<Option<T>, ReportError> {
    let Some(i) = idx else { return Ok(None) };
    let s = row.text(i);
    match cell(s) {
        Cell::Empty | Cell::Dash | Cell::NotAvailable => Ok(None),
        _ => T::from_cell(s).map(Some).ok_or_else(|| {
            ReportError::at_no(kind, row.line, format!("a number in column `{what}`"), snippet(s))
        }),
    }
}

/// Like [`num_cell`] but the number is required.
pub(crate) fn req_cell<T: CellNum>(
    kind: ReportKind,
    row: &Row<'_>,
    idx: Option<usize>,
    what: &str,
) -> Result<T, ReportError> {
    num_cell(kind, row, idx, what)?.ok_or_else(|| {
        ReportError::at_no(
            kind,
            row.line,
            format!("a number in column `{what}`"),
            snippet(idx.map(|i| row.text(i)).unwrap_or("")),
        )
    })
}

/// Cell `idx` as a [`Reading`] (`<0.01`, `~0`, `7.05`); `None` for blank,
/// `-`, `NA`; an error for anything else.
pub(crate) fn reading_cell(
    kind: ReportKind,
    row: &Row<'_>,
    idx: Option<usize>,
    what: &str,
) -> Result<Option<Reading>, ReportError> {
    let Some(i) = idx else { return Ok(None) };
    let s = row.text(i);
    match cell(s) {
        Cell::Empty | Cell::Dash | Cell::NotAvailable => Ok(None),
        Cell::Num(r) => Ok(Some(r)),
        Cell::Text(t) => Err(ReportError::at_no(
            kind,
            row.line,
            format!("a number in column `{what}`"),
            snippet(t),
        )),
    }
}

// ---------------------------------------------------------------- header

/// `| Key : Value` (a header field of a Vivado report).
pub(crate) fn header_field(line: &str) -> Option<(&str, &str)> {
    let r: IResult<&str, (&str, &str)> = preceded(
        pair(char('|'), space0),
        separated_pair(
            take_while1(|c: char| c.is_ascii_alphanumeric() || c == ' ' || c == '_' || c == '-'),
            char(':'),
            rest,
        ),
    )(line);
    let (_, (k, v)) = r.ok()?;
    let k = k.trim();
    (!k.is_empty()).then_some((k, v.trim()))
}

/// The `| Key : Value` block at the top of a Vivado report, in file order.
/// Reading stops at the first blank line or table after the block began.
pub(crate) fn header_fields(lines: &[Line<'_>]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for l in lines.iter().take(40) {
        let t = l.text.trim_end();
        if let Some((k, v)) = header_field(t) {
            out.entry(k.to_string()).or_insert_with(|| v.to_string());
        } else if (t.is_empty() || t.starts_with('+')) && !out.is_empty() {
            break;
        }
    }
    out
}

// ---------------------------------------------------------------- ruled tables

/// True for `+----+---+` (after leading spaces).
pub(crate) fn is_ruler(line: &str) -> bool {
    let r: IResult<&str, &str> =
        all_consuming(recognize(pair(char('+'), many1(alt((char('-'), char('+')))))))(line.trim());
    r.is_ok() && line.contains('-')
}

/// True for a `| ... ` table row (after leading spaces).
pub(crate) fn is_row(line: &str) -> bool {
    line.trim_start().starts_with('|')
}

/// One body row of a ruled table.
#[derive(Debug, Clone)]
pub(crate) struct Row<'a> {
    /// Line number.
    pub line: usize,
    /// Cells between the bars, untrimmed (indentation is meaningful).
    pub cells: Vec<&'a str>,
}

impl<'a> Row<'a> {
    /// Cell `i`, untrimmed; `""` when missing.
    pub fn raw(&self, i: usize) -> &'a str {
        self.cells.get(i).copied().unwrap_or("")
    }

    /// Cell `i`, trimmed; `""` when missing.
    pub fn text(&self, i: usize) -> &'a str {
        self.raw(i).trim()
    }

    /// The first cell, trimmed.
    pub fn label(&self) -> &'a str {
        self.text(0)
    }

    /// Indentation level of the first cell (two spaces a level, after the
    /// one space of padding).
    pub fn level(&self) -> u32 {
        let lead = self.raw(0).chars().take_while(|c| *c == ' ').count();
        u32::try_from(lead.saturating_sub(1) / 2).unwrap_or(u32::MAX)
    }
}

/// A `+---+` ruled table.
#[derive(Debug, Clone)]
pub(crate) struct Table<'a> {
    /// Line of the first ruler.
    pub start: usize,
    /// Line of the last line of the table.
    pub end: usize,
    /// True when the table's last line is a ruler.
    pub closed: bool,
    /// Column names (multi-line headers joined with spaces); empty for a
    /// table without a header (key / value tables).
    pub header: Vec<String>,
    /// Body rows.
    pub rows: Vec<Row<'a>>,
}

/// A header name reduced for comparison: lower case, no spaces or brackets.
pub(crate) fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl<'a> Table<'a> {
    /// The table, or an error (for a report of `kind`) naming the line
    /// where its closing `+---+` ruler should be.
    pub(crate) fn require_closed(&self, kind: ReportKind, lines: &[Line<'_>]) -> Result<&Self, ReportError> {
        if self.closed {
            return Ok(self);
        }
        Err(ReportError::at_no(
            kind,
            self.end + 1,
            format!(
                "a `+---+` ruler closing the table that starts at line {}",
                self.start
            ),
            lines
                .get(self.end)
                .map(|l| snippet(l.text))
                .unwrap_or_else(|| "the end of the report".into()),
        ))
    }

    /// Index of the first column whose normalised name is `name` (see [`norm`]).
    pub fn col(&self, name: &str) -> Option<usize> {
        let want = norm(name);
        self.header.iter().position(|h| norm(h) == want)
    }

    /// Index of the first column whose normalised name satisfies `pred`.
    pub fn col_where(&self, pred: impl Fn(&str) -> bool) -> Option<usize> {
        self.header.iter().position(|h| pred(&norm(h)))
    }

    /// Normalised name of the first column.
    pub fn first_header(&self) -> String {
        self.header.first().map(|h| norm(h)).unwrap_or_default()
    }

    /// The first row whose trimmed label is `label`.
    pub fn row(&self, label: &str) -> Option<&Row<'a>> {
        self.rows.iter().find(|r| r.label() == label)
    }
}

/// Char positions of every `c` in `s`.
fn char_positions(s: &str, c: char) -> Vec<usize> {
    s.chars()
        .enumerate()
        .filter(|(_, x)| *x == c)
        .map(|(i, _)| i)
        .collect()
}

/// The name of the column spanning char positions `a..b` in one header
/// line: the text of the `|`-delimited cell that covers the span.
fn header_fragment(line: &str, a: usize, b: usize) -> String {
    let bars = char_positions(line, '|');
    let left = bars.iter().rev().find(|p| **p <= a).copied();
    let right = bars.iter().find(|p| **p >= b).copied();
    let from = left.map(|p| p + 1).unwrap_or(a);
    let to = right.unwrap_or(usize::MAX);
    if to <= from {
        return String::new();
    }
    line.chars()
        .skip(from)
        .take(to - from)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Cells of a `| a | b |` row, untrimmed.
fn row_cells(line: &str) -> Vec<&str> {
    let body = line.trim_start().strip_prefix('|').unwrap_or(line);
    let mut cells: Vec<&str> = body.split('|').collect();
    if body.ends_with('|') || body.trim_end().ends_with('|') {
        // The part after the closing bar is not a cell.
        cells.pop();
    }
    cells
}

/// Reads the ruled table whose first line is `lines[start]`; returns it
/// and the index of the first line after it.
pub(crate) fn read_table<'a>(lines: &[Line<'a>], start: usize) -> (Table<'a>, usize) {
    let mut i = start;
    let mut rulers: Vec<usize> = Vec::new();
    let mut body: Vec<(usize, Line<'a>)> = Vec::new();
    while let Some(l) = lines.get(i) {
        if is_ruler(l.text) {
            rulers.push(i);
        } else if is_row(l.text) {
            body.push((rulers.len(), *l));
        } else {
            break;
        }
        i += 1;
    }
    let first = lines.get(start).copied();
    let last = i.checked_sub(1).and_then(|k| lines.get(k)).copied();
    let closed = last.map(|l| is_ruler(l.text)).unwrap_or(false);
    // A header exists when the first group of rows is followed by a second
    // ruler and more rulers follow (ruler, header, ruler, rows, ruler).
    // (A table cut short after its first body row has only two rulers.)
    let has_header = body.first().map(|(g, _)| *g == 1).unwrap_or(false)
        && (rulers.len() >= 3 || body.iter().any(|(g, _)| *g >= 2));
    let mut header = Vec::new();
    if has_header {
        let plus = first.map(|l| char_positions(l.text, '+')).unwrap_or_default();
        let head_lines: Vec<&str> = body
            .iter()
            .filter(|(g, _)| *g == 1)
            .map(|(_, l)| l.text)
            .collect();
        for w in plus.windows(2) {
            if let [a, b] = w {
                let parts: Vec<String> = head_lines
                    .iter()
                    .map(|h| header_fragment(h, *a, *b))
                    .filter(|s| !s.is_empty())
                    .collect();
                header.push(parts.join(" "));
            }
        }
    }
    let rows = body
        .iter()
        .filter(|(g, _)| !has_header || *g >= 2)
        .map(|(_, l)| Row {
            line: l.no,
            cells: row_cells(l.text),
        })
        .collect();
    let table = Table {
        start: first.map(|l| l.no).unwrap_or(0),
        end: last.map(|l| l.no).unwrap_or(0),
        closed,
        header,
        rows,
    };
    (table, i.max(start + 1))
}

/// Every ruled table in `lines`, in order.
pub(crate) fn all_tables<'a>(lines: &[Line<'a>]) -> Vec<Table<'a>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(l) = lines.get(i) {
        if is_ruler(l.text) {
            let (t, next) = read_table(lines, i);
            out.push(t);
            i = next;
        } else {
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------- sections

/// A numbered section heading (`3. Memory`, `1.1 On-Chip Components`)
/// underlined with dashes on the next line.
#[derive(Debug, Clone)]
pub(crate) struct Heading {
    pub line: usize,
    pub title: String,
}

fn section_number(i: &str) -> IResult<&str, &str> {
    recognize(pair(digit1, nom::multi::many0(pair(char('.'), opt(digit1)))))(i)
}

/// True for `3. Memory` / `1.1 Summary of Registers by Type`.
fn is_numbered_title(s: &str) -> bool {
    let r: IResult<&str, (&str, &str)> = pair(section_number, tag(" "))(s);
    r.is_ok()
}

fn is_dashes(s: &str) -> bool {
    let t = s.trim();
    t.len() >= 3 && t.chars().all(|c| c == '-')
}

/// Every numbered, underlined section heading.
pub(crate) fn headings(lines: &[Line<'_>]) -> Vec<Heading> {
    lines
        .windows(2)
        .filter_map(|w| match w {
            [a, b] if is_numbered_title(a.text.trim()) && is_dashes(b.text) => Some(Heading {
                line: a.no,
                title: a.text.trim().to_string(),
            }),
            _ => None,
        })
        .collect()
}

/// The entries of the first `Table of Contents` block.
pub(crate) fn table_of_contents(lines: &[Line<'_>]) -> Vec<String> {
    let Some(pos) = lines.iter().position(|l| l.text.trim() == "Table of Contents") else {
        return Vec::new();
    };
    lines
        .iter()
        .skip(pos + 1)
        .skip_while(|l| is_dashes(l.text))
        .take_while(|l| !l.text.trim().is_empty())
        .map(|l| l.text.trim().to_string())
        .collect()
}

/// Checks that every section listed in the table of contents appears, in
/// order, as a heading. Returns the line and what was expected there.
pub(crate) fn check_sections(lines: &[Line<'_>]) -> Result<Vec<Heading>, (usize, String, String)> {
    let toc = table_of_contents(lines);
    let found = headings(lines);
    let mut next = 0usize;
    for want in &toc {
        // Skip headings that are not in the table of contents.
        let mut hit = false;
        while let Some(h) = found.get(next) {
            next += 1;
            if &h.title == want {
                hit = true;
                break;
            }
            if toc.contains(&h.title) {
                return Err((
                    h.line,
                    format!("section `{want}` (listed in the table of contents)"),
                    snippet(&h.title),
                ));
            }
        }
        if !hit {
            return Err((
                eof_line(lines),
                format!("section `{want}` (listed in the table of contents)"),
                "the end of the report".to_string(),
            ));
        }
    }
    Ok(found)
}

/// The title of the section a line belongs to (the last heading before it).
pub(crate) fn section_of(headings: &[Heading], line: usize) -> String {
    headings
        .iter()
        .rev()
        .find(|h| h.line < line)
        .map(|h| h.title.clone())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- dashed tables

/// A whitespace-aligned table: a header line, a line of dash runs giving
/// the column spans, then rows up to a blank line (timing summary).
#[derive(Debug, Clone)]
pub(crate) struct DashTable {
    pub header_line: usize,
    pub columns: Vec<String>,
    pub rows: Vec<DashRow>,
}

/// One row of a [`DashTable`]: a cell per column (trimmed, maybe empty).
#[derive(Debug, Clone)]
pub(crate) struct DashRow {
    pub line: usize,
    pub cells: Vec<String>,
    /// Indentation (two spaces a level) of the first cell.
    pub level: u32,
}

impl DashTable {
    /// Index of the column named `name` (compared with [`norm`]).
    pub fn col(&self, name: &str) -> Option<usize> {
        let want = norm(name);
        self.columns.iter().position(|h| norm(h) == want)
    }
}

impl DashRow {
    /// Cell `i`; `""` when missing.
    pub fn get(&self, i: Option<usize>) -> &str {
        i.and_then(|i| self.cells.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Runs of `-` in a line as char spans; `None` unless the line is only
/// dashes and spaces.
fn dash_spans(s: &str) -> Option<Vec<(usize, usize)>> {
    if !s.contains('-') || !s.chars().all(|c| c == '-' || c == ' ' || c == '\t') {
        return None;
    }
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in s.chars().chain([' ']).enumerate() {
        match (c == '-', start) {
            (true, None) => start = Some(i),
            (false, Some(a)) => {
                spans.push((a, i));
                start = None;
            }
            _ => {}
        }
    }
    Some(spans)
}

/// Whitespace-separated tokens with char spans; `{...}` is one token.
fn tokens(s: &str) -> Vec<(usize, usize, String)> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let a = i;
        if c == '{' {
            while let Some(&d) = chars.get(i) {
                i += 1;
                if d == '}' {
                    break;
                }
            }
        } else {
            while chars.get(i).is_some_and(|d| !d.is_whitespace()) {
                i += 1;
            }
        }
        out.push((
            a,
            i,
            chars.get(a..i).map(|t| t.iter().collect()).unwrap_or_default(),
        ));
    }
    out
}

/// Reads a dashed table whose header is the first non-blank line at or
/// after `lines[start]`. `None` when no dash line follows the header.
pub(crate) fn read_dash_table(lines: &[Line<'_>], start: usize) -> Option<(DashTable, usize)> {
    let mut i = start;
    while lines.get(i).is_some_and(|l| l.text.trim().is_empty()) {
        i += 1;
    }
    let head = lines.get(i)?;
    let spans = dash_spans(lines.get(i + 1)?.text)?;
    let head_chars: Vec<char> = head.text.chars().collect();
    let columns = spans
        .iter()
        .map(|(a, b)| {
            head_chars
                .get(*a..(*b).min(head_chars.len()))
                .map(|s| s.iter().collect::<String>())
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect();
    let mut rows = Vec::new();
    let mut j = i + 2;
    while let Some(l) = lines.get(j) {
        if l.text.trim().is_empty() || l.text.starts_with("---") || l.text.starts_with('|') {
            break;
        }
        let mut cells = vec![String::new(); spans.len()];
        for (a, b, tok) in tokens(l.text) {
            let best = spans
                .iter()
                .enumerate()
                .map(|(k, (sa, sb))| {
                    let overlap = b.min(*sb).saturating_sub(a.max(*sa));
                    let dist = if b <= *sa { sa - b } else { a.saturating_sub(*sb) };
                    (k, overlap, dist)
                })
                .max_by(|x, y| x.1.cmp(&y.1).then(y.2.cmp(&x.2)).then(y.0.cmp(&x.0)));
            if let Some((k, _, _)) = best {
                if let Some(c) = cells.get_mut(k) {
                    if !c.is_empty() {
                        c.push(' ');
                    }
                    c.push_str(&tok);
                }
            }
        }
        let lead = l.text.chars().take_while(|c| *c == ' ').count();
        rows.push(DashRow {
            line: l.no,
            cells,
            level: u32::try_from(lead / 2).unwrap_or(u32::MAX),
        });
        j += 1;
    }
    Some((
        DashTable {
            header_line: head.no,
            columns,
            rows,
        },
        j,
    ))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_classified() {
        assert_eq!(
            cell("  12 "),
            Cell::Num(Reading {
                value: 12.0,
                bound: Bound::Exact
            })
        );
        assert_eq!(
            cell("<0.01"),
            Cell::Num(Reading {
                value: 0.01,
                bound: Bound::LessThan
            })
        );
        assert_eq!(
            cell("~0"),
            Cell::Num(Reading {
                value: 0.0,
                bound: Bound::About
            })
        );
        assert_eq!(cell(" --- "), Cell::Dash);
        assert_eq!(cell("NA"), Cell::NotAvailable);
        assert_eq!(cell(""), Cell::Empty);
        assert_eq!(cell("12a"), Cell::Text("12a"));
        assert_eq!(cell("1e"), Cell::Text("1e"));
    }

    #[test]
    fn notes_and_units() {
        let (_, (r, note)) = number_with_note("  3.25 (too hot!) ").unwrap();
        assert_eq!((r.value, note), (3.25, Some("too hot!")));
        let (_, (r, note)) = number_with_note("7").unwrap();
        assert_eq!((r.value, note), (7.0, None));
        let (_, (r, note)) = number_with_note("45 (~0%)").unwrap();
        assert_eq!((r.value, note), (45.0, Some("~0%")));
        assert!(number_with_note("7 (open").is_err());
        assert!(number_with_note("Unspecified*").is_err());
        assert_eq!(nanoseconds("10.00 ns"), Some(10.0));
        assert_eq!(nanoseconds("2.5 ms"), Some(2.5e6));
        assert_eq!(nanoseconds("1.5e+03"), Some(1500.0));
        assert_eq!(nanoseconds("3 parsecs"), None);
    }

    #[test]
    fn header_block() {
        let text = "Copyright\n----\n| Tool Version : Vivado v.2030.1\n| Command      : \n| Device : xc7z\n----\n\n| Other : x\n";
        let lines = split_lines(text);
        let h = header_fields(&lines);
        assert_eq!(h["Tool Version"], "Vivado v.2030.1");
        assert_eq!(h["Command"], "");
        assert_eq!(h["Device"], "xc7z");
        assert!(!h.contains_key("Other"));
    }

    #[test]
    fn ruled_table_with_two_header_lines() {
        let text = "  +-----+-----+------+\n  |  Lat(c)   | Pipe |\n  | min | max | Type |\n  +-----+-----+------+\n  |    3|    ?| none |\n  +-----+-----+------+\n  |Total|    4|      |\n  +-----+-----+------+\n";
        let lines = split_lines(text);
        let (t, next) = read_table(&lines, 0);
        assert_eq!(next, 8);
        assert!(t.closed);
        assert_eq!(t.header, ["Lat(c) min", "Lat(c) max", "Pipe Type"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!((t.rows[0].line, t.rows[0].text(1)), (5, "?"));
        assert_eq!(t.rows[1].label(), "Total");
        assert_eq!(t.col("lat(c)MIN"), Some(0));
    }

    #[test]
    fn key_value_table_and_unclosed_table() {
        let text = "+---+---+\n| a | 1 |\n|   b | 2\n+---+---+\n\n+--+\n| x |\n";
        let lines = split_lines(text);
        let tables = all_tables(&lines);
        assert_eq!(tables.len(), 2);
        assert!(tables[0].header.is_empty());
        assert_eq!(tables[0].rows.len(), 2);
        assert_eq!((tables[0].rows[1].level(), tables[0].rows[1].text(1)), (1, "2"));
        assert!(!tables[1].closed);
        assert_eq!(tables[1].end, 7);
    }

    #[test]
    fn sections_follow_the_table_of_contents() {
        let ok = "Table of Contents\n-----\n1. A\n2. B\n\n1. A\n----\n2. B\n----\n";
        assert_eq!(check_sections(&split_lines(ok)).unwrap().len(), 2);
        let missing = "Table of Contents\n-----\n1. A\n2. B\n\n1. A\n----\n";
        assert_eq!(check_sections(&split_lines(missing)).unwrap_err().0, 8);
        let swapped = "Table of Contents\n-----\n1. A\n2. B\n\n2. B\n----\n1. A\n----\n";
        assert_eq!(check_sections(&split_lines(swapped)).unwrap_err().0, 6);
    }

    #[test]
    fn dash_table_assigns_tokens_by_overlap() {
        let text = "Clock   Waveform(ns)    Period(ns)\n-----   ------------    ----------\nclk_long_name {0.000 5.000}  10.000\n  gen                       \n\nafter\n";
        let lines = split_lines(text);
        let (t, next) = read_dash_table(&lines, 0).unwrap();
        assert_eq!(t.columns, ["Clock", "Waveform(ns)", "Period(ns)"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].cells, ["clk_long_name", "{0.000 5.000}", "10.000"]);
        assert_eq!(
            (
                t.rows[1].get(Some(0)),
                t.rows[1].level,
                t.rows[1].get(t.col("period(ns)"))
            ),
            ("gen", 1, "")
        );
        assert_eq!(next, 4);
    }
}
