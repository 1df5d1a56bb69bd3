//! A handshake graph's waveform: every link's valid, ready and last and
//! every unit's occupancy, one timestep per cycle, written as it runs
//! (only changes), for GTKWave beside the RTL's own VCD.

use super::{Graph, GraphError, Wire};
use std::io::Write;

/// Streams value changes to `out`.
pub(super) struct Writer<'a> {
    out: &'a mut dyn Write,
    /// Identifier of every signal: links' valid, ready, last, then units.
    codes: Vec<String>,
    wires: Vec<Wire>,
    occupancy: Vec<usize>,
    started: bool,
    /// One cycle's changes, reused (no allocation per cycle).
    changes: String,
}

fn io(e: std::io::Error) -> GraphError {
    GraphError::Invalid(format!("cannot write the VCD: {e}"))
}

/// A short printable identifier for signal `n`.
fn code(n: usize) -> String {
    let mut n = n;
    let mut s = String::new();
    loop {
        s.push((b'!' + (n % 94) as u8) as char);
        n /= 94;
        if n == 0 {
            return s;
        }
    }
}

/// A VCD-safe name: spaces and brackets become underscores.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

impl<'a> Writer<'a> {
    pub(super) fn start(out: &'a mut dyn Write, graph: &Graph) -> Result<Self, GraphError> {
        let codes: Vec<String> = (0..3 * graph.links.len() + graph.nodes.len()).map(code).collect();
        writeln!(out, "$timescale 1ns $end").map_err(io)?;
        writeln!(out, "$scope module {} $end", safe(&graph.block)).map_err(io)?;
        for (i, name) in graph.links.iter().enumerate() {
            writeln!(out, "$scope module {} $end", safe(name)).map_err(io)?;
            for (k, signal) in ["valid", "ready", "last"].iter().enumerate() {
                writeln!(out, "$var wire 1 {} {signal} $end", codes[3 * i + k]).map_err(io)?;
            }
            writeln!(out, "$upscope $end").map_err(io)?;
        }
        let base = 3 * graph.links.len();
        for (i, node) in graph.nodes.iter().enumerate() {
            let name = format!("{}_occupancy", safe(&node.name));
            writeln!(out, "$var integer 32 {} {name} $end", codes[base + i]).map_err(io)?;
        }
        writeln!(out, "$upscope $end\n$enddefinitions $end").map_err(io)?;
        Ok(Self {
            out,
            codes,
            wires: vec![Wire::default(); graph.links.len()],
            occupancy: vec![0; graph.nodes.len()],
            started: false,
            changes: String::new(),
        })
    }

    /// The settled wires of `cycle`, at 10 `cycle` ns: the RTL back ends
    /// write 10 ns cycles whose first half shows the same cycle's settled
    /// handshake (the rising edge at 10 `cycle` + 5 ns).
    pub(super) fn cycle(&mut self, cycle: u64, wires: &[Wire], graph: &Graph) -> Result<(), GraphError> {
        use std::fmt::Write as _;
        let changes = &mut self.changes;
        changes.clear();
        let first = !self.started;
        for (i, (w, old)) in wires.iter().zip(&self.wires).enumerate() {
            for (k, (now, before)) in [(w.valid, old.valid), (w.ready, old.ready), (w.last, old.last)]
                .into_iter()
                .enumerate()
            {
                if first || now != before {
                    let _ = writeln!(changes, "{}{}", u8::from(now), self.codes[3 * i + k]);
                }
            }
        }
        let base = 3 * wires.len();
        for (i, node) in graph.nodes.iter().enumerate() {
            let held = node.unit.occupancy();
            if first || held != self.occupancy[i] {
                let _ = writeln!(changes, "b{held:b} {}", self.codes[base + i]);
                self.occupancy[i] = held;
            }
        }
        self.wires.copy_from_slice(wires);
        self.started = true;
        if !self.changes.is_empty() {
            write!(self.out, "#{}\n{}", cycle * 10, self.changes).map_err(io)?;
        }
        Ok(())
    }

    pub(super) fn finish(self, cycles: u64) -> Result<(), GraphError> {
        writeln!(self.out, "#{}", cycles * 10).map_err(io)?;
        self.out.flush().map_err(io)
    }
}
