//! Switching activity: a VCD waveform (from the Verilator or Icarus back
//! end) summed into a SAIF file, so Vivado's `report_power` can use
//! simulated toggle rates instead of its vectorless default.
//!
//! ```text
//!  VCD: $scope / $var id / #time / 0! 1! b1010 "
//!        │ per bit: time at 0 (T0), at 1 (T1), at x or z (TX), toggles 0<->1 (TC)
//!        ▼
//!  SAIF 2.0 (backward): (INSTANCE scope (NET (name\[i\] (T0 ..) (T1 ..) (TX ..) (TC ..) (IG 0))))
//! ```
//!
//! Durations are in the VCD's own time unit, written as SAIF's TIMESCALE.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

/// Why a VCD could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("VCD line {line}: {message}")]
pub struct VcdError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

/// Activity of one bit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct BitActivity {
    t0: u64,
    t1: u64,
    tx: u64,
    toggles: u64,
    value: u8,
    since: u64,
}

impl BitActivity {
    /// Adds the time since the last change, up to `now`, to the level held.
    fn close(&mut self, now: u64) {
        let dt = now.saturating_sub(self.since);
        match self.value {
            0 => self.t0 += dt,
            1 => self.t1 += dt,
            _ => self.tx += dt,
        }
        self.since = now;
    }
}

/// One traced signal (several `$var`s may share an identifier code).
#[derive(Debug, Clone, Default)]
struct Signal {
    bits: Vec<BitActivity>,
}

/// A `$var` in its scope.
#[derive(Debug, Clone)]
struct Variable {
    scope: usize,
    name: String,
    signal: usize,
}

/// A scope and its parent.
#[derive(Debug, Clone)]
struct Scope {
    name: String,
    parent: Option<usize>,
}

/// The activity of every signal of a waveform.
#[derive(Debug, Clone)]
pub struct Activity {
    timescale: String,
    duration: u64,
    scopes: Vec<Scope>,
    variables: Vec<Variable>,
    signals: Vec<Signal>,
}

/// Bits are 0, 1 or unknown (x, z).
fn level(c: u8) -> Option<u8> {
    match c {
        b'0' => Some(0),
        b'1' => Some(1),
        b'x' | b'X' | b'z' | b'Z' => Some(2),
        _ => None,
    }
}

impl Signal {
    /// Sets the value at time `now` from its VCD text (`0`, `1`, `x`, `z`),
    /// most significant first; shorter strings extend with 0 (or with x/z
    /// when they start so). Only bits that change are touched; nothing is
    /// allocated.
    fn set(&mut self, text: &[u8], now: u64) {
        // the caller checked every character with `level`
        let level_at = |k: usize| level(text[k]).unwrap_or(2);
        let pad = match text.first() {
            Some(&c) if level(c) == Some(2) => 2,
            _ => 0,
        };
        for (i, b) in self.bits.iter_mut().enumerate() {
            // bit i counts from the least significant end
            let new = if i < text.len() {
                level_at(text.len() - 1 - i)
            } else {
                pad
            };
            if b.value != new {
                b.close(now);
                if b.value != 2 && new != 2 {
                    b.toggles += 1;
                }
                b.value = new;
            }
        }
    }
}

impl Activity {
    /// Reads a VCD; never panics on malformed input.
    pub fn from_vcd(text: &str) -> Result<Self, VcdError> {
        let mut a = Activity {
            timescale: "1 ps".into(),
            duration: 0,
            scopes: Vec::new(),
            variables: Vec::new(),
            signals: Vec::new(),
        };
        let mut codes: HashMap<String, usize> = HashMap::new();
        let mut text_codes: HashSet<String> = HashSet::new();
        let mut stack: Vec<usize> = Vec::new();
        // header tokens, then value changes
        let mut tokens = text
            .lines()
            .enumerate()
            .flat_map(|(n, l)| l.split_whitespace().map(move |t| (n + 1, t)));
        let err = |line: usize, message: String| VcdError { line, message };
        let mut in_header = true;
        let mut now = 0u64;
        let mut last_line = 0;
        while let Some((line, token)) = tokens.next() {
            last_line = line;
            if in_header {
                match token {
                    "$timescale" => {
                        let mut parts = Vec::new();
                        for (_, t) in tokens.by_ref() {
                            if t == "$end" {
                                break;
                            }
                            parts.push(t);
                        }
                        let joined = parts.concat();
                        let split = joined.find(|c: char| !c.is_ascii_digit()).unwrap_or(joined.len());
                        let (n, unit) = joined.split_at(split);
                        if n.is_empty() || !["s", "ms", "us", "ns", "ps", "fs"].contains(&unit) {
                            return Err(err(line, format!("unreadable timescale `{joined}`")));
                        }
                        a.timescale = format!("{n} {unit}");
                    }
                    "$scope" => {
                        let _kind = tokens.next();
                        let (l, name) = tokens
                            .next()
                            .ok_or_else(|| err(line, "a $scope without a name".into()))?;
                        if tokens.next().map(|t| t.1) != Some("$end") {
                            return Err(err(l, "expected $end after the scope name".into()));
                        }
                        a.scopes.push(Scope {
                            name: name.to_string(),
                            parent: stack.last().copied(),
                        });
                        stack.push(a.scopes.len() - 1);
                    }
                    "$upscope" => {
                        stack
                            .pop()
                            .ok_or_else(|| err(line, "$upscope outside any scope".into()))?;
                        tokens.next();
                    }
                    "$var" => {
                        let mut parts = Vec::new();
                        for (_, t) in tokens.by_ref() {
                            if t == "$end" {
                                break;
                            }
                            parts.push(t);
                        }
                        let [_kind, width, code, name, ..] = parts.as_slice() else {
                            return Err(err(line, "a $var needs a type, width, code and name".into()));
                        };
                        let width: usize = width
                            .parse()
                            .ok()
                            .filter(|&w| w <= 65536)
                            .ok_or_else(|| err(line, format!("bad width `{width}`")))?;
                        if width == 0 {
                            // a text-valued variable (rust-hdl writes enumerated
                            // states so): no bits to count
                            text_codes.insert(code.to_string());
                            continue;
                        }
                        let scope = *stack
                            .last()
                            .ok_or_else(|| err(line, "a $var outside any scope".into()))?;
                        let signal = match codes.get(*code) {
                            Some(&s) => s,
                            None => {
                                a.signals.push(Signal {
                                    bits: vec![
                                        BitActivity {
                                            value: 2,
                                            ..Default::default()
                                        };
                                        width
                                    ],
                                });
                                codes.insert(code.to_string(), a.signals.len() - 1);
                                a.signals.len() - 1
                            }
                        };
                        if a.signals[signal].bits.len() != width {
                            return Err(err(line, format!("code `{code}` declared with two widths")));
                        }
                        a.variables.push(Variable {
                            scope,
                            name: name.to_string(),
                            signal,
                        });
                    }
                    "$enddefinitions" => {
                        tokens.next();
                        in_header = false;
                    }
                    t if t.starts_with('$') => {
                        // $date, $version, $comment: skip to $end
                        if t != "$end" {
                            for (_, t) in tokens.by_ref() {
                                if t == "$end" {
                                    break;
                                }
                            }
                        }
                    }
                    other => return Err(err(line, format!("unexpected `{other}` in the header"))),
                }
                continue;
            }
            let bytes = token.as_bytes();
            match bytes.first() {
                Some(b'#') => {
                    let t: u64 = token[1..]
                        .parse()
                        .map_err(|_| err(line, format!("bad time `{token}`")))?;
                    if t < now {
                        return Err(err(line, format!("time goes back from {now} to {t}")));
                    }
                    now = t;
                }
                Some(b'b' | b'B') => {
                    let value = &bytes[1..];
                    if !value.iter().all(|&c| level(c).is_some()) {
                        return Err(err(line, format!("bad vector value `{token}`")));
                    }
                    let (_, code) = tokens
                        .next()
                        .ok_or_else(|| err(line, "a vector value without a code".into()))?;
                    let &s = codes
                        .get(code)
                        .ok_or_else(|| err(line, format!("undeclared code `{code}`")))?;
                    a.signals[s].set(value, now);
                }
                Some(b'r' | b'R') => {
                    tokens.next();
                }
                Some(b's' | b'S') => {
                    let (_, code) = tokens
                        .next()
                        .ok_or_else(|| err(line, "a text value without a code".into()))?;
                    if !text_codes.contains(code) && !codes.contains_key(code) {
                        return Err(err(line, format!("undeclared code `{code}`")));
                    }
                }
                Some(&c) if level(c).is_some() => {
                    let code = &token[1..];
                    let &s = codes
                        .get(code)
                        .ok_or_else(|| err(line, format!("undeclared code `{code}`")))?;
                    a.signals[s].set(&bytes[..1], now);
                }
                Some(b'$') => {} // $dumpvars, $end, ...
                _ => return Err(err(line, format!("unexpected `{token}`"))),
            }
        }
        if in_header {
            return Err(err(last_line.max(1), "no $enddefinitions".into()));
        }
        a.duration = now;
        for b in a.signals.iter_mut().flat_map(|s| s.bits.iter_mut()) {
            b.close(now);
        }
        Ok(a)
    }

    /// Simulated time covered, in the VCD's unit.
    pub fn duration(&self) -> u64 {
        self.duration
    }

    /// Total toggles of the signal `name` in scope path `scope`
    /// (`/`-separated), summed over its bits.
    pub fn toggles(&self, scope: &str, name: &str) -> Option<u64> {
        self.variables
            .iter()
            .find(|v| v.name == name && self.scope_path(v.scope) == scope)
            .map(|v| self.signals[v.signal].bits.iter().map(|b| b.toggles).sum())
    }

    /// The `/`-separated path of a scope.
    fn scope_path(&self, mut scope: usize) -> String {
        let mut names = vec![self.scopes[scope].name.as_str()];
        while let Some(p) = self.scopes[scope].parent {
            names.push(&self.scopes[p].name);
            scope = p;
        }
        names.reverse();
        names.join("/")
    }

    /// The activity as a SAIF 2.0 file (backward, per bit).
    pub fn to_saif(&self, design: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "(SAIFILE\n(SAIFVERSION \"2.0\")\n(DIRECTION \"backward\")\n(DESIGN \"{design}\")\n\
             (PROGRAM_NAME \"hwformer\")\n(VERSION \"{}\")\n(DIVIDER / )\n(TIMESCALE {})\n(DURATION {})",
            env!("CARGO_PKG_VERSION"),
            self.timescale,
            self.duration
        );
        let roots: Vec<usize> = (0..self.scopes.len())
            .filter(|&i| self.scopes[i].parent.is_none())
            .collect();
        for r in roots {
            self.write_scope(r, 0, &mut s);
        }
        s.push_str(")\n");
        s
    }

    fn write_scope(&self, scope: usize, depth: usize, s: &mut String) {
        let pad = "  ".repeat(depth);
        let _ = writeln!(s, "{pad}(INSTANCE {}", escape(&self.scopes[scope].name));
        let nets: Vec<&Variable> = self.variables.iter().filter(|v| v.scope == scope).collect();
        if !nets.is_empty() {
            let _ = writeln!(s, "{pad}  (NET");
            for v in nets {
                let bits = &self.signals[v.signal].bits;
                for (i, b) in bits.iter().enumerate() {
                    let name = if bits.len() == 1 {
                        escape(&v.name)
                    } else {
                        format!("{}\\[{i}\\]", escape(&v.name))
                    };
                    let _ = writeln!(
                        s,
                        "{pad}    ({name} (T0 {}) (T1 {}) (TX {}) (TC {}) (IG 0))",
                        b.t0, b.t1, b.tx, b.toggles
                    );
                }
            }
            let _ = writeln!(s, "{pad}  )");
        }
        for child in (0..self.scopes.len()).filter(|&c| self.scopes[c].parent == Some(scope)) {
            self.write_scope(child, depth + 1, s);
        }
        let _ = writeln!(s, "{pad})");
    }
}

/// SAIF identifiers escape everything but letters, digits and `_`.
fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if !(c.is_ascii_alphanumeric() || c == '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const VCD: &str = "$timescale 1ps $end\n$scope module tb $end\n$var wire 1 ! clock $end\n\
        $scope module dut $end\n$var wire 2 \" data [1:0] $end\n$var wire 1 ! clock $end\n$upscope $end\n$upscope $end\n\
        $enddefinitions $end\n#0\n$dumpvars\n0!\nbx \"\n$end\n#5\n1!\nb10 \"\n#10\n0!\n#15\n1!\nb1 \"\n#20\n0!\n";

    #[test]
    fn counts_time_at_each_level_and_toggles_per_bit() {
        let a = Activity::from_vcd(VCD).unwrap();
        assert_eq!(a.duration(), 20);
        assert_eq!(a.toggles("tb", "clock"), Some(4));
        assert_eq!(a.toggles("tb/dut", "clock"), Some(4));
        // data: x until 5, then 10 until 15, then 01: bit 1 and bit 0 toggle once each
        assert_eq!(a.toggles("tb/dut", "data"), Some(2));
        let saif = a.to_saif("tb");
        assert!(
            saif.contains("(TIMESCALE 1 ps)") && saif.contains("(DURATION 20)"),
            "{saif}"
        );
        // clock: 0 for 0..5, 10..15 = 10; 1 for 5..10, 15..20 = 10
        assert!(
            saif.contains("(clock (T0 10) (T1 10) (TX 0) (TC 4) (IG 0))"),
            "{saif}"
        );
        // data[1]: x 0..5, 1 5..15, 0 15..20
        assert!(
            saif.contains("(data\\[1\\] (T0 5) (T1 10) (TX 5) (TC 1) (IG 0))"),
            "{saif}"
        );
        assert!(saif.contains("(INSTANCE dut"));
    }

    #[test]
    fn text_valued_variables_are_read_and_left_out() {
        // rust-hdl writes enumerated states as width-0 variables with text values
        let vcd = "$timescale 1 ps $end\n$scope module uut $end\n$var wire 1 ! clock $end\n\
            $var wire 0 \" state $end\n$upscope $end\n$enddefinitions $end\n#0\n$dumpvars\n0!\nsIdle \"\n$end\n\
            #5\n1!\nsBusy \"\n#10\n0!\n";
        let a = Activity::from_vcd(vcd).unwrap();
        assert_eq!(a.toggles("uut", "clock"), Some(2));
        assert_eq!(a.toggles("uut", "state"), None);
        assert!(!a.to_saif("uut").contains("state"));
        let undeclared = vcd.replace("sBusy \"", "sBusy #");
        assert_eq!(Activity::from_vcd(&undeclared).unwrap_err().line, 14);
    }

    #[test]
    fn malformed_waveforms_are_errors_with_a_line() {
        for (text, line) in [
            ("$var wire 1 ! a $end\n$enddefinitions $end\n", 1),
            (
                "$scope module t $end\n$var wire 1 ! a $end\n$upscope $end\n$enddefinitions $end\n#5\n#3\n",
                6,
            ),
            (
                "$scope module t $end\n$var wire 1 ! a $end\n$upscope $end\n$enddefinitions $end\n1?\n",
                5,
            ),
            ("$scope module t $end\n$var wire zero ! a $end\n", 2),
            ("", 1),
        ] {
            let e = Activity::from_vcd(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_mangled_waveforms(cut in 0usize..400, junk in "[ -~\n]{0,40}") {
            let mut text: String = VCD.chars().take(cut).collect();
            text.push_str(&junk);
            let _ = Activity::from_vcd(&text);
        }
    }
}
