//! A check on exported Verilog: inside every `always @(*)` block, a
//! variable is read only once it holds its final value.
//!
//! ```text
//!   ok:     p = a;  if (c) p = b;   q = p + 1;      (p read after its last write)
//!   ok:     dot = 0;  dot = dot + x0;  dot = dot + x1;   (a variable's own updates)
//!   refused: t = x0;  y0 = t;  t = x1;  y1 = t;     (t shared by two values)
//! ```
//!
//! Verilator is run with every assignment isolated (see
//! `hwformer_sim::verilator`): each variable becomes its own piece of
//! logic, computed from the final values of the variables it reads. That
//! is the block's meaning exactly when the rule above holds; a temporary
//! reused for two values would silently read the last one. The check is
//! textual and conservative: it follows statement order and counts the
//! reads of every enclosing `if` / `case` condition.

use std::collections::{BTreeMap, BTreeSet};

/// Checks every combinational block of `verilog`; the error names the
/// module, the variable read too early and the variable reading it.
pub fn check(verilog: &str) -> Result<(), String> {
    let mut module = "";
    let mut lines = verilog.lines();
    while let Some(line) = lines.next() {
        if let Some(name) = crate::export::declared_module(line) {
            module = name;
        }
        if line.trim() == "always @(*) begin" {
            let indent = &line[..line.len() - line.trim_start().len()];
            let end = format!("{indent}end");
            let body = lines.by_ref().take_while(|l| l.trim_end() != end);
            check_block(body).map_err(|e| format!("module {module}: {e}"))?;
        }
    }
    Ok(())
}

/// One assignment: the variable written and every variable it reads,
/// including the conditions it sits under.
struct Assignment {
    target: String,
    reads: BTreeSet<String>,
}

fn check_block<'a>(lines: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let mut assignments = Vec::new();
    // reads of the enclosing conditions, one frame per open begin / case
    let mut frames: Vec<BTreeSet<String>> = Vec::new();
    let mut closed_if = BTreeSet::new();
    for line in lines.map(str::trim) {
        let under = || frames.iter().flatten().cloned().collect::<BTreeSet<_>>();
        if line == "end" || line == "endcase" {
            closed_if = frames.pop().unwrap_or_default();
        } else if line == "else begin" || line.starts_with("else if (") {
            // an else branch depends on the condition of its if
            let mut reads = std::mem::take(&mut closed_if);
            reads.extend(identifiers(&line["else".len()..]));
            frames.push(reads);
        } else if line.starts_with("if (") || line.starts_with("case (") {
            frames.push(identifiers(line));
        } else if line == "begin" {
            frames.push(BTreeSet::new());
        } else if let Some((left, right)) = line.strip_suffix(';').and_then(|l| l.split_once(" = ")) {
            let target = identifiers(left.split('[').next().unwrap_or(left))
                .into_iter()
                .next()
                .ok_or_else(|| format!("no variable on the left of `{line}`"))?;
            let mut reads = under();
            reads.extend(identifiers(right));
            // a slice assignment reads its index and keeps the other bits
            reads.extend(identifiers(left));
            assignments.push(Assignment { target, reads });
        }
    }
    let last_write: BTreeMap<&str, usize> = assignments
        .iter()
        .enumerate()
        .map(|(i, a)| (a.target.as_str(), i))
        .collect();
    for (i, a) in assignments.iter().enumerate() {
        for read in &a.reads {
            if *read != a.target && last_write.get(read.as_str()).is_some_and(|&last| last > i) {
                return Err(format!(
                    "`{}` reads `{read}` before its last assignment (a temporary shared by two values: \
                     give each value its own signal)",
                    a.target
                ));
            }
        }
    }
    Ok(())
}

/// Identifiers in a Verilog expression: not keywords' system functions
/// (`$signed`) nor the digits of sized literals (`16'hffff`).
fn identifiers(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let starts = c.is_ascii_alphabetic() || c == b'_';
        let after_quote = i > 0 && bytes[i - 1] == b'\'';
        let system = c == b'$';
        if starts || system || c.is_ascii_digit() {
            let start = i;
            i += 1;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$')
            {
                i += 1;
            }
            if starts && !after_quote && !matches!(&text[start..i], "if" | "else" | "begin" | "case") {
                found.insert(text[start..i].to_string());
            }
        } else {
            i += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_hdl::prelude::*;

    fn block(body: &str) -> String {
        format!("module m(a);\n    always @(*) begin\n{body}\n    end\nendmodule\n")
    }

    #[test]
    fn defaults_overrides_and_own_updates_pass() {
        let ok = block(
            "        p = a;\n        if (c) begin\n            p = b;\n        end\n        q = p + 32'h1;\n        \
             dot = 32'h0;\n        dot = dot + $signed(x0);\n        dot = dot + x1;\n        r = dot;",
        );
        assert_eq!(check(&ok), Ok(()));
    }

    #[test]
    fn a_shared_temporary_is_refused_with_its_names() {
        let bad = block("        t = x0;\n        y0 = t;\n        t = x1;\n        y1 = t;");
        let e = check(&bad).unwrap_err();
        assert!(e.contains("module m") && e.contains("`y0` reads `t`"), "{e}");
    }

    #[test]
    fn a_condition_counts_as_a_read_also_in_its_else_branch() {
        let bad = block(
            "        t = x0;\n        if (t[32'hf]) begin\n            y = a;\n        end\n        else begin\n            \
             z = b;\n        end\n        t = x1;",
        );
        let e = check(&bad).unwrap_err();
        assert!(e.contains("`y` reads `t`"), "{e}");
        let in_else = block(
            "        if (t) begin\n        end\n        else begin\n            z = b;\n        end\n        t = x1;",
        );
        assert!(check(&in_else).unwrap_err().contains("`z` reads `t`"));
    }

    #[test]
    fn names_that_begin_like_keywords_are_variables() {
        let bad = block("        else_x = a;\n        case_rom$address = else_x;\n        else_x = b;");
        assert!(check(&bad)
            .unwrap_err()
            .contains("`case_rom$address` reads `else_x`"));
    }

    /// A block with one temporary for two values, as rust-hdl writes it.
    #[derive(LogicBlock, Default)]
    struct SharedTemporary {
        a: Signal<In, Bits<8>>,
        b: Signal<In, Bits<8>>,
        y0: Signal<Out, Bits<8>>,
        y1: Signal<Out, Bits<8>>,
        t: Signal<Local, Bits<8>>,
    }

    impl Logic for SharedTemporary {
        #[hdl_gen]
        fn update(&mut self) {
            self.t.next = self.a.val();
            self.y0.next = self.t.val();
            self.t.next = self.b.val();
            self.y1.next = self.t.val();
        }
    }

    #[test]
    fn the_export_refuses_rust_hdl_output_with_a_shared_temporary() {
        let mut uut = SharedTemporary::default();
        uut.connect_all();
        let e = crate::export::verilog("shared", &uut).unwrap_err().to_string();
        assert!(e.contains("`y0` reads `t`"), "{e}");
    }

    #[test]
    fn sized_literals_and_system_functions_are_not_variables() {
        assert_eq!(
            identifiers("$unsigned(lane$0) + 48'hffff & acc$1$q[(32'h10 * 2)+:(16)]"),
            BTreeSet::from(["lane$0".to_string(), "acc$1$q".to_string()])
        );
    }
}
