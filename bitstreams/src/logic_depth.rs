//! The longest register-to-register path of a yosys netlist (`write_json`
//! after `synth_xilinx`), in nanoseconds and LUT levels, from per-cell
//! delay assumptions: an Fmax **estimate**, not a timing analysis (no
//! placement, no real routing, one delay per cell kind).
//!
//! ```text
//!  sources: input ports (0 ns), FF / block RAM / registered-DSP outputs (clock-to-out)
//!     │  + LUT (logic + one net; LUT RAM and SRL reads too), MUXF7/8, CARRY4/8, combinational DSP
//!     ▼
//!  sinks: FF / block RAM / DSP inputs (+ setup), output ports
//!  inside a DSP: input register -> MREG, MREG -> PREG, input register -> PREG
//! ```
//!
//! A DSP's own register-to-register stages are paths too (else a fully
//! pipelined DSP would look infinitely fast): input register (A/B/D) to
//! MREG is timed as `dsp_to_register`, MREG to PREG as
//! `dsp_from_register`, an input register straight to PREG (no MREG) as
//! `dsp_combinational`, with the same per-family constants as the DSP's
//! boundary paths. For UltraScale+ -2 that gives 714 MHz (all registers)
//! and 455 MHz (no MREG), below the data sheet's 775 and 544 MHz (AMD
//! DS923 / DS931, DSP48 slice switching characteristics: `FMAX`,
//! `FMAX_MULT_NOMREG`): on the safe side.

use serde::Serialize;
use std::collections::HashMap;

/// Assumed delays of one family and speed grade, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DelayModel {
    /// Name of the assumption set.
    pub name: &'static str,
    /// A LUT (or inverter) plus the net after it.
    pub lut_and_net: f64,
    /// A MUXF7 / MUXF8 stage.
    pub wide_mux: f64,
    /// One CARRY4 / CARRY8 cell on a chain (each of its stages a share).
    pub carry: f64,
    /// Flip-flop clock to output.
    pub clock_to_out: f64,
    /// Flip-flop setup.
    pub setup: f64,
    /// A DSP slice with no internal register, input to output.
    pub dsp_combinational: f64,
    /// DSP input to its first internal register (setup included).
    pub dsp_to_register: f64,
    /// DSP internal register (not PREG) to output.
    pub dsp_from_register: f64,
    /// Block RAM or shift-register LUT clock to output.
    pub memory_clock_to_out: f64,
}

impl DelayModel {
    /// Artix-7, speed grade -1, rounded from the 7-series data sheets'
    /// typical figures, with a 0.45 ns net after every LUT.
    pub const XC7_SPEED_1: Self = Self {
        name: "xc7 -1 (LUT 0.12 + net 0.45 ns, carry 0.25, FF 0.45 clock-to-out / 0.06 setup, DSP 3.9 combinational)",
        lut_and_net: 0.57,
        wide_mux: 0.30,
        carry: 0.25,
        clock_to_out: 0.45,
        setup: 0.06,
        dsp_combinational: 3.9,
        dsp_to_register: 2.4,
        dsp_from_register: 1.6,
        memory_clock_to_out: 2.1,
    };

    /// Zynq / Virtex UltraScale+, speed grade -2, same method, 0.25 ns nets.
    pub const XCUP_SPEED_2: Self = Self {
        name: "xcup -2 (LUT 0.06 + net 0.25 ns, carry 0.10, FF 0.10 clock-to-out / 0.05 setup, DSP 2.2 combinational)",
        lut_and_net: 0.31,
        wide_mux: 0.15,
        carry: 0.10,
        clock_to_out: 0.10,
        setup: 0.05,
        dsp_combinational: 2.2,
        dsp_to_register: 1.4,
        dsp_from_register: 0.9,
        memory_clock_to_out: 1.2,
    };
}

/// The critical path estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogicDepth {
    /// Longest register-to-register (or port) path, ns.
    pub critical_path_ns: f64,
    /// LUTs on that path.
    pub lut_levels: u32,
    /// 1000 / critical path.
    pub fmax_mhz: f64,
    /// The assumptions used.
    pub delays: &'static str,
    /// Cell types the model does not know (timed as one LUT each).
    pub unknown_cells: Vec<String>,
    /// The critical path from its start to its end, as the named nets it
    /// passes through (yosys' names from the source, `$`-names left out,
    /// repeats collapsed): where to add a register.
    pub critical_path: Vec<String>,
    /// The slowest paths into distinct endpoints (the endpoint's net name
    /// without its bit index), slowest first, at most
    /// [`SLOWEST_PATHS`]: the critical path and the ones behind it.
    pub slowest_paths: Vec<TimedPath>,
}

/// Endpoints [`LogicDepth::slowest_paths`] lists.
pub const SLOWEST_PATHS: usize = 8;

/// One timed path: its delay and the named nets it passes through.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimedPath {
    /// Delay from the launching clock edge to the endpoint's setup, ns.
    pub ns: f64,
    /// The named nets, start to end (as [`LogicDepth::critical_path`]).
    pub nets: Vec<String>,
}

/// One timing node: a cell, or one stage of a carry chain. Its outputs
/// arrive at `max(base, max(input + delay))`; `sinks` end paths.
struct Node<'a> {
    name: &'a str,
    /// Input bits with a path to the outputs in the same cycle, and the delay.
    inputs: Vec<(u64, f64)>,
    /// Whether passing through counts as a LUT level.
    lut: bool,
    /// Arrival of the outputs from the clock (registered outputs), else 0.
    base: f64,
    /// Input bits sampled at the clock, and their setup time.
    sinks: Vec<(u64, f64)>,
}

fn param(cell: &serde_json::Value, name: &str) -> u64 {
    match &cell["parameters"][name] {
        serde_json::Value::String(s) => u64::from_str_radix(s, 2).unwrap_or(0),
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

/// Stages of a carry-chain cell.
fn carry_stages(kind: &str) -> Option<usize> {
    match kind {
        "CARRY4" => Some(4),
        "CARRY8" => Some(8),
        _ => None,
    }
}

/// Ports that carry clocks, not data.
fn is_clock_pin(pin: &str) -> bool {
    matches!(
        pin,
        "C" | "CLK" | "CLKARDCLK" | "CLKBWRCLK" | "WCLK" | "CLKA" | "CLKB"
    )
}

/// Read-address pins of LUT RAM and shift-register LUTs (`A0`, `A`,
/// `ADDRA`, `DPRA3`): the only pins with a path to the output in the same
/// cycle; data, write address and enables are sampled at the clock.
fn is_read_address(pin: &str) -> bool {
    pin == "A"
        || (pin.len() > 1 && pin.starts_with('A') && pin[1..].bytes().all(|b| b.is_ascii_digit()))
        || pin.starts_with("ADDR")
        || pin.starts_with("DPRA")
}

/// How an input pin of a cell kind is timed: `Ok(delay)` to the outputs
/// in the same cycle, `Err(setup)` when sampled at the clock.
fn pin_timing(kind: &str, pin: &str, cell: &serde_json::Value, d: &DelayModel) -> Result<f64, f64> {
    let reg = |name: &str| param(cell, name) > 0;
    match kind {
        k if k.starts_with("FD") => Err(d.setup),
        k if k.starts_with("RAMB") || k.starts_with("URAM") => Err(d.setup),
        k if k.starts_with("SRL") || k.starts_with("RAM") => {
            if is_read_address(pin) {
                Ok(d.lut_and_net)
            } else {
                Err(d.setup)
            }
        }
        // clock enables and synchronous resets act at the clock edge
        "DSP48E1" | "DSP48E2" if pin.starts_with("CE") || pin.starts_with("RST") => Err(d.setup),
        "DSP48E1" | "DSP48E2" => {
            // each input group by its own register, then the multiplier's
            // (MREG) and the output's (PREG)
            let (own, through_multiplier) = match pin.trim_end_matches(|c: char| c.is_ascii_digit()) {
                "A" | "ACIN" => (reg("AREG"), true),
                "B" | "BCIN" => (reg("BREG"), true),
                "D" => (reg("DREG"), true),
                "C" => (reg("CREG"), false),
                _ => (false, false),
            };
            if own {
                Err(d.setup)
            } else if through_multiplier && reg("MREG") {
                Err(d.dsp_to_register)
            } else if reg("PREG") {
                Err(if through_multiplier {
                    d.dsp_combinational
                } else {
                    d.dsp_from_register
                })
            } else if through_multiplier {
                Ok(d.dsp_combinational)
            } else {
                Ok(d.dsp_from_register)
            }
        }
        "MUXF7" | "MUXF8" | "MUXF9" => Ok(d.wide_mux),
        "IBUF" | "OBUF" | "IBUFG" | "BUFG" | "BUFGCE" | "OBUFT" => Ok(0.0),
        _ => Ok(d.lut_and_net),
    }
}

/// Arrival of a cell's outputs from the clock (registered outputs).
fn output_base(kind: &str, cell: &serde_json::Value, d: &DelayModel) -> f64 {
    let reg = |name: &str| param(cell, name) > 0;
    match kind {
        k if k.starts_with("FD") => d.clock_to_out,
        k if k.starts_with("RAMB") || k.starts_with("URAM") => d.memory_clock_to_out,
        // LUT RAM and SRL: new contents after the clock, through the LUT
        k if k.starts_with("SRL") || k.starts_with("RAM") => d.clock_to_out + d.lut_and_net,
        "DSP48E1" | "DSP48E2" if reg("PREG") => d.clock_to_out,
        "DSP48E1" | "DSP48E2" if reg("MREG") || reg("AREG") || reg("BREG") || reg("DREG") || reg("CREG") => {
            d.dsp_from_register
        }
        _ => 0.0,
    }
}

/// The longest register-to-register stage inside a DSP cell, if it has
/// one (see the module notes).
fn dsp_internal_stage(kind: &str, cell: &serde_json::Value, d: &DelayModel) -> Option<f64> {
    if !kind.starts_with("DSP48") {
        return None;
    }
    let reg = |name: &str| param(cell, name) > 0;
    let input = reg("AREG") || reg("BREG") || reg("DREG") || reg("ADREG");
    let (m, p) = (reg("MREG"), reg("PREG"));
    [
        (input && m).then_some(d.dsp_to_register),
        (m && p).then_some(d.dsp_from_register),
        (input && !m && p).then_some(d.dsp_combinational),
    ]
    .into_iter()
    .flatten()
    .reduce(f64::max)
}

/// Cell kinds the model knows (others are timed as one LUT each).
fn known(kind: &str) -> bool {
    kind.starts_with("LUT")
        || kind.starts_with("FD")
        || kind.starts_with("RAM")
        || kind.starts_with("SRL")
        || kind.starts_with("URAM")
        || kind.starts_with("DSP48")
        || kind.starts_with("MUXF")
        || carry_stages(kind).is_some()
        || matches!(
            kind,
            "INV" | "IBUF" | "OBUF" | "IBUFG" | "BUFG" | "BUFGCE" | "OBUFT"
        )
}

/// Estimates the critical path of module `top` in a yosys JSON netlist.
pub fn estimate(netlist: &str, top: &str, delays: &DelayModel) -> Result<LogicDepth, String> {
    let value: serde_json::Value = serde_json::from_str(netlist).map_err(|e| format!("netlist: {e}"))?;
    let module = &value["modules"][top];
    let cells_json = module["cells"]
        .as_object()
        .ok_or_else(|| format!("netlist: no module `{top}` with cells"))?;
    let bits = |v: &serde_json::Value| -> Vec<u64> {
        v.as_array()
            .map_or(Vec::new(), |a| a.iter().filter_map(|b| b.as_u64()).collect())
    };
    let mut nodes: Vec<Node> = Vec::with_capacity(cells_json.len());
    // the slowest stage inside a DSP, and the DSP
    let mut internal: Option<(f64, &str)> = None;
    let mut driver: HashMap<u64, usize> = HashMap::new();
    let mut unknown = std::collections::BTreeSet::new();
    for (name, cell) in cells_json {
        let kind = cell["type"].as_str().unwrap_or("?");
        if !known(kind) {
            unknown.insert(kind.to_string());
        }
        if let Some(stages) = carry_stages(kind) {
            // one stage a node: O[k] and CO[k] depend on S[0..=k], DI[0..=k]
            // and the carry in, not on the stages above (a whole-cell model
            // would see loops through unrelated bits of one CARRY4)
            let at = |pin: &str, k: usize| cell["connections"][pin].get(k).and_then(|b| b.as_u64());
            let delay = delays.carry / stages as f64;
            for k in 0..stages {
                let mut inputs: Vec<u64> = at("S", k).into_iter().chain(at("DI", k)).collect();
                if k == 0 {
                    inputs.extend(
                        bits(&cell["connections"]["CI"])
                            .into_iter()
                            .chain(bits(&cell["connections"]["CYINIT"])),
                    );
                } else {
                    inputs.extend(at("CO", k - 1));
                }
                if k == 4 {
                    inputs.extend(bits(&cell["connections"]["CI_TOP"]));
                }
                for b in at("O", k).into_iter().chain(at("CO", k)) {
                    driver.insert(b, nodes.len());
                }
                let inputs = inputs.into_iter().map(|b| (b, delay)).collect();
                nodes.push(Node {
                    name,
                    inputs,
                    lut: false,
                    base: 0.0,
                    sinks: Vec::new(),
                });
            }
            continue;
        }
        if let Some(stage) = dsp_internal_stage(kind, cell, delays) {
            if internal.is_none_or(|(worst, _)| stage > worst) {
                internal = Some((stage, name.as_str()));
            }
        }
        let directions = cell["port_directions"].as_object();
        let mut node = Node {
            name,
            inputs: Vec::new(),
            lut: kind.starts_with("LUT") || kind == "INV" || !known(kind),
            base: output_base(kind, cell, delays),
            sinks: Vec::new(),
        };
        if let Some(connections) = cell["connections"].as_object() {
            for (pin, net) in connections {
                let output = directions.and_then(|d| d.get(pin)).and_then(|d| d.as_str()) == Some("output");
                if output {
                    for b in bits(net) {
                        driver.insert(b, nodes.len());
                    }
                } else if !is_clock_pin(pin) {
                    let timing = pin_timing(kind, pin, cell, delays);
                    // a LUT RAM or SRL read is a LUT level
                    node.lut |= timing.is_ok() && (kind.starts_with("SRL") || kind.starts_with("RAM"));
                    for b in bits(net) {
                        match timing {
                            Ok(delay) => node.inputs.push((b, delay)),
                            Err(setup) => node.sinks.push((b, setup)),
                        }
                    }
                }
            }
        }
        nodes.push(node);
    }
    // arrival time and LUT count at each node's outputs, depth first
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; nodes.len()];
    let mut arrival = vec![(0.0f64, 0u32); nodes.len()];
    // the input bit each node's latest arrival came through
    let mut through: Vec<Option<u64>> = vec![None; nodes.len()];
    let arrival_of = |bit: u64, arrival: &[(f64, u32)]| driver.get(&bit).map_or((0.0, 0), |&c| arrival[c]);
    for start in 0..nodes.len() {
        if state[start] != NEW {
            continue;
        }
        let mut stack = vec![start];
        while let Some(&c) = stack.last() {
            if state[c] == DONE {
                stack.pop();
                continue;
            }
            if state[c] == NEW {
                state[c] = OPEN;
                for &(b, _) in &nodes[c].inputs {
                    if let Some(&p) = driver.get(&b) {
                        match state[p] {
                            NEW => stack.push(p),
                            OPEN => return Err(format!("combinational loop through cell {}", nodes[p].name)),
                            _ => {}
                        }
                    }
                }
            } else {
                let node = &nodes[c];
                let mut best = (node.base, 0u32);
                for &(b, delay) in &node.inputs {
                    let (t, levels) = arrival_of(b, &arrival);
                    if t + delay >= best.0 {
                        best = (t + delay, levels + u32::from(node.lut));
                        through[c] = Some(b);
                    }
                }
                arrival[c] = best;
                state[c] = DONE;
                stack.pop();
            }
        }
    }
    // sinks: sampled inputs and output ports
    let mut worst = (0.0f64, 0u32);
    let mut end = None;
    let mut ends: Vec<(f64, u64, &str)> = Vec::new();
    for node in &nodes {
        for &(b, setup) in &node.sinks {
            let (t, l) = arrival_of(b, &arrival);
            ends.push((t + setup, b, node.name));
            if t + setup > worst.0 {
                worst = (t + setup, l);
                end = Some(b);
            }
        }
    }
    if let Some(ports) = module["ports"].as_object() {
        for port in ports.values().filter(|p| p["direction"] == "output") {
            for b in bits(&port["bits"]) {
                let (t, l) = arrival_of(b, &arrival);
                ends.push((t, b, "an output port"));
                if t > worst.0 {
                    worst = (t, l);
                    end = Some(b);
                }
            }
        }
    }
    let names = NetNames::new(&module["netnames"]);
    let path_to = |end: u64| -> Vec<u64> {
        let mut path_bits = Vec::new();
        let mut bit = Some(end);
        while let Some(b) = bit {
            path_bits.push(b);
            bit = driver.get(&b).and_then(|&c| through[c]);
            if path_bits.len() > nodes.len() {
                break;
            }
        }
        path_bits.reverse();
        path_bits
    };
    ends.sort_by(|x, y| y.0.total_cmp(&x.0));
    let mut slowest_paths = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for &(t, b, cell) in &ends {
        if slowest_paths.len() == SLOWEST_PATHS || t <= 0.0 {
            break;
        }
        // the endpoint: the last named net on the path, without its index;
        // paths through no named net count as one endpoint, named by the
        // first cell one ends in (yosys' own names)
        let mut nets = names.along(&path_to(b));
        let key = nets
            .last()
            .map_or("(unnamed)".to_string(), |n| stem(n).to_string());
        if nets.is_empty() {
            nets.push(format!("(no named net) into cell {cell}"));
        }
        if seen.insert(key) {
            slowest_paths.push(TimedPath { ns: t, nets });
        }
    }
    if let Some((stage, dsp)) = internal.filter(|&(stage, _)| stage > worst.0) {
        return Ok(LogicDepth {
            critical_path_ns: stage,
            lut_levels: 0,
            fmax_mhz: 1000.0 / stage,
            delays: delays.name,
            unknown_cells: unknown.into_iter().collect(),
            critical_path: vec![format!("inside DSP {dsp}")],
            slowest_paths,
        });
    }
    // the path, end to start, by the bits that set each arrival
    let path_bits = end.map(path_to).unwrap_or_default();
    if worst.0 <= 0.0 {
        return Err("netlist: no timed path".into());
    }
    Ok(LogicDepth {
        critical_path_ns: worst.0,
        lut_levels: worst.1,
        fmax_mhz: 1000.0 / worst.0,
        delays: delays.name,
        unknown_cells: unknown.into_iter().collect(),
        critical_path: names.along(&path_bits),
        slowest_paths,
    })
}

/// A net name without its bit index.
fn stem(name: &str) -> &str {
    name.split('[').next().unwrap_or("")
}

/// The source name of every bit of a netlist's named nets.
struct NetNames {
    name_of: HashMap<u64, String>,
}

impl NetNames {
    /// For each bit, the shortest name without a `$`, with the bit's index
    /// when the net is wider than one bit.
    fn new(netnames: &serde_json::Value) -> Self {
        let mut name_of: HashMap<u64, String> = HashMap::new();
        if let Some(nets) = netnames.as_object() {
            for (name, net) in nets.iter().filter(|(name, _)| !name.contains('$')) {
                let Some(net_bits) = net["bits"].as_array() else {
                    continue;
                };
                for (i, b) in net_bits.iter().enumerate() {
                    let Some(b) = b.as_u64() else { continue };
                    let label = if net_bits.len() > 1 {
                        format!("{name}[{i}]")
                    } else {
                        name.clone()
                    };
                    let shorter = name_of.get(&b).is_none_or(|old| label.len() < old.len());
                    if shorter {
                        name_of.insert(b, label);
                    }
                }
            }
        }
        Self { name_of }
    }

    /// The names of the nets holding `path` (in order, repeats of one net
    /// collapsed).
    fn along(&self, path: &[u64]) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for b in path {
            if let Some(name) = self.name_of.get(b) {
                if names.last().map(|l| stem(l)) != Some(stem(name)) {
                    names.push(name.clone());
                }
            }
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FF -> LUT -> LUT -> CARRY4 -> FF, and a port -> LUT -> port path.
    const NETLIST: &str = r#"{"modules": {"t": {
        "ports": {"a": {"direction": "input", "bits": [20]}, "y": {"direction": "output", "bits": [21]}},
        "cells": {
          "ff1": {"type": "FDRE", "port_directions": {"C": "input", "D": "input", "Q": "output"},
                  "connections": {"C": [1], "D": [5], "Q": [2]}},
          "l1": {"type": "LUT2", "port_directions": {"I0": "input", "I1": "input", "O": "output"},
                 "connections": {"I0": [2], "I1": [20], "O": [3]}},
          "l2": {"type": "LUT1", "port_directions": {"I0": "input", "O": "output"},
                 "connections": {"I0": [3], "O": [4]}},
          "c": {"type": "CARRY4", "port_directions": {"S": "input", "O": "output"},
                "connections": {"S": [4, "0", "0", "0"], "O": [5, 6, 7, 8]}},
          "l3": {"type": "LUT1", "port_directions": {"I0": "input", "O": "output"},
                 "connections": {"I0": [20], "O": [21]}}
        }}}}"#;

    #[test]
    fn longest_path_counts_cells_and_levels() {
        let d = DelayModel::XC7_SPEED_1;
        let r = estimate(NETLIST, "t", &d).unwrap();
        // the CARRY4's first stage only
        let want = d.clock_to_out + 2.0 * d.lut_and_net + d.carry / 4.0 + d.setup;
        assert!((r.critical_path_ns - want).abs() < 1e-12, "{r:?}");
        assert_eq!(r.lut_levels, 2);
        assert!((r.fmax_mhz - 1000.0 / want).abs() < 1e-9);
        assert!(r.unknown_cells.is_empty());
        assert!(r.critical_path.is_empty(), "no named nets: {r:?}");
    }

    #[test]
    fn the_critical_path_is_named_by_its_nets() {
        // the same netlist with source names: the register's output, the
        // two LUTs' and the sum (a two-bit net), and a yosys-made name
        let named = NETLIST.replace(
            r#""cells": {"#,
            r#""netnames": {"count.q": {"bits": [2]}, "$abc$12": {"bits": [3]}, "next": {"bits": [3]},
                            "wrapped": {"bits": [4]}, "sum": {"bits": [5, 6]}, "a": {"bits": [20]}},
               "cells": {"#,
        );
        let r = estimate(&named, "t", &DelayModel::XC7_SPEED_1).unwrap();
        assert_eq!(r.critical_path, ["count.q", "next", "wrapped", "sum[0]"]);
    }

    #[test]
    fn lut_ram_reads_are_on_the_path_and_half_registered_dsps_are_not_cut() {
        let d = DelayModel::XC7_SPEED_1;
        let srl = r#"{"modules": {"t": {"ports": {}, "cells": {
          "a": {"type": "FDRE", "port_directions": {"C": "input", "D": "input", "Q": "output"},
                "connections": {"C": [1], "D": [4], "Q": [2]}},
          "s": {"type": "SRL16E", "port_directions": {"CLK": "input", "A0": "input", "Q": "output"},
                "connections": {"CLK": [1], "A0": [2], "Q": [3]}},
          "b": {"type": "FDRE", "port_directions": {"C": "input", "D": "input", "Q": "output"},
                "connections": {"C": [1], "D": [3], "Q": [4]}}}}}}"#;
        let r = estimate(srl, "t", &d).unwrap();
        assert!(
            (r.critical_path_ns - (d.clock_to_out + d.lut_and_net + d.setup)).abs() < 1e-12,
            "{r:?}"
        );
        assert_eq!(r.lut_levels, 1);
        // a shift register fed back through a LUT is no loop: D is sampled
        let feedback = srl
            .replace(
                r#""b": {"type": "FDRE""#,
                r#""l": {"type": "LUT1", "port_directions": {"I0": "input", "O": "output"},
                     "connections": {"I0": [3], "O": [5]}},
               "b": {"type": "FDRE""#,
            )
            .replace(r#""A0": [2], "Q": [3]"#, r#""A0": [2], "D": [5], "Q": [3]"#)
            .replace(
                r#""A0": "input", "Q": "output""#,
                r#""A0": "input", "D": "input", "Q": "output""#,
            );
        let r = estimate(&feedback, "t", &d).unwrap();
        assert!(
            (r.critical_path_ns - (d.clock_to_out + 2.0 * d.lut_and_net + d.setup)).abs() < 1e-12,
            "{r:?}"
        );
        // AREG alone: B is not registered, the DSP is timed through
        let dsp = srl
            .replace(
                r#""type": "SRL16E""#,
                r#""type": "DSP48E1", "parameters": {"AREG": "1"}"#,
            )
            .replace(r#""A0": "input""#, r#""B": "input""#)
            .replace(r#""A0": [2]"#, r#""B": [2]"#);
        let r = estimate(&dsp, "t", &d).unwrap();
        assert!(
            (r.critical_path_ns - (d.clock_to_out + d.dsp_combinational + d.setup)).abs() < 1e-12,
            "{r:?}"
        );
    }

    #[test]
    fn a_dsp_clock_enable_is_sampled_not_a_path() {
        // a LUT drives the clock enable of a DSP whose output feeds a
        // register: the enable ends its path at the DSP, it does not run
        // through it
        let d = DelayModel::XC7_SPEED_1;
        let netlist = r#"{"modules": {"t": {"ports": {}, "cells": {
          "a": {"type": "FDRE", "port_directions": {"C": "input", "D": "input", "Q": "output"},
                "connections": {"C": [1], "D": [5], "Q": [2]}},
          "l": {"type": "LUT1", "port_directions": {"I0": "input", "O": "output"},
                "connections": {"I0": [2], "O": [3]}},
          "m": {"type": "DSP48E1", "parameters": {"AREG": "1", "BREG": "1"},
                "port_directions": {"CLK": "input", "CEA2": "input", "A": "input", "P": "output"},
                "connections": {"CLK": [1], "CEA2": [3], "A": [2], "P": [4]}},
          "b": {"type": "FDRE", "port_directions": {"C": "input", "D": "input", "Q": "output"},
                "connections": {"C": [1], "D": [4], "Q": [5]}}}}}}"#;
        let r = estimate(netlist, "t", &d).unwrap();
        // the A register through the multiplier into the FF, not the enable's LUT and more
        let want = d.dsp_from_register + d.setup;
        assert!((r.critical_path_ns - want).abs() < 1e-12, "{r:?}");
    }

    #[test]
    fn a_dsp_is_no_faster_than_its_own_stages() {
        let d = DelayModel::XCUP_SPEED_2;
        let dsp = |params: &str| {
            format!(
                r#"{{"modules": {{"t": {{"ports": {{}}, "cells": {{
              "a": {{"type": "FDRE", "port_directions": {{"C": "input", "D": "input", "Q": "output"}},
                    "connections": {{"C": [1], "D": [3], "Q": [2]}}}},
              "m": {{"type": "DSP48E2", "parameters": {{{params}}},
                    "port_directions": {{"CLK": "input", "A": "input", "P": "output"}},
                    "connections": {{"CLK": [1], "A": [2], "P": [3]}}}}}}}}}}}}"#
            )
        };
        let at = |params: &str| estimate(&dsp(params), "t", &d).unwrap().critical_path_ns;
        // A, M and P registers: the slower of A -> M and M -> P
        let all = at(r#""AREG": "1", "MREG": "1", "PREG": "1""#);
        assert!((all - d.dsp_to_register.max(d.dsp_from_register)).abs() < 1e-12);
        // no MREG: A -> P through the multiplier and the ALU
        let no_m = at(r#""AREG": "1", "PREG": "1""#);
        assert!((no_m - d.dsp_combinational).abs() < 1e-12);
        // no register inside: the path through the DSP, FF to FF
        let none = at("");
        assert!((none - (d.clock_to_out + d.dsp_combinational + d.setup)).abs() < 1e-12);
        assert!(all < no_m && no_m < none);
    }

    #[test]
    fn a_carry_bit_feeding_a_higher_stage_of_its_cell_is_no_loop() {
        let d = DelayModel::XC7_SPEED_1;
        let netlist = r#"{"modules": {"t": {"ports": {}, "cells": {
          "a": {"type": "FDRE", "port_directions": {"C": "input", "D": "input", "Q": "output"},
                "connections": {"C": [1], "D": [9], "Q": [2]}},
          "c": {"type": "CARRY4", "port_directions": {"S": "input", "DI": "input", "O": "output", "CO": "output"},
                "connections": {"S": [2, "0", "0", 5], "DI": ["0", "0", "0", "0"], "O": [3, 6, 7, 9], "CO": [10, 11, 12, 13]}},
          "l": {"type": "LUT1", "port_directions": {"I0": "input", "O": "output"},
                "connections": {"I0": [3], "O": [5]}}}}}}"#;
        let r = estimate(netlist, "t", &d).unwrap();
        // FF, stage 0, the LUT, stage 3 (the chain from stage 0 is shorter)
        let want = d.clock_to_out + d.carry / 4.0 + d.lut_and_net + d.carry / 4.0 + d.setup;
        assert!((r.critical_path_ns - want).abs() < 1e-12, "{r:?}");
    }

    #[test]
    fn the_slowest_paths_are_listed_once_per_endpoint_slowest_first() {
        // r1 -> LUT -> LUT -> r2 (2 bits, the same register `slow`),
        // r1 -> LUT -> r3 (`quick`); named nets
        let d = DelayModel::XC7_SPEED_1;
        let netlist = r#"{"modules": {"t": {"ports": {},
          "netnames": {"start": {"bits": [2]}, "middle": {"bits": [3]}, "slow_d": {"bits": [4, 5]},
                       "quick_d": {"bits": [6]}},
          "cells": {
          "r1": {"type": "FDRE", "port_directions": {"C": "input", "D": "input", "Q": "output"},
                 "connections": {"C": [1], "D": [7], "Q": [2]}},
          "l1": {"type": "LUT1", "port_directions": {"I0": "input", "O": "output"},
                 "connections": {"I0": [2], "O": [3]}},
          "l2": {"type": "LUT1", "port_directions": {"I0": "input", "O": "output"},
                 "connections": {"I0": [3], "O": [4]}},
          "l3": {"type": "LUT1", "port_directions": {"I0": "input", "O": "output"},
                 "connections": {"I0": [3], "O": [5]}},
          "l4": {"type": "LUT1", "port_directions": {"I0": "input", "O": "output"},
                 "connections": {"I0": [2], "O": [6]}},
          "r2a": {"type": "FDRE", "port_directions": {"C": "input", "D": "input", "Q": "output"},
                  "connections": {"C": [1], "D": [4], "Q": [7]}},
          "r2b": {"type": "FDRE", "port_directions": {"C": "input", "D": "input", "Q": "output"},
                  "connections": {"C": [1], "D": [5], "Q": [8]}},
          "r3": {"type": "FDRE", "port_directions": {"C": "input", "D": "input", "Q": "output"},
                 "connections": {"C": [1], "D": [6], "Q": [9]}}}}}}"#;
        let r = estimate(netlist, "t", &d).unwrap();
        let two = d.clock_to_out + 2.0 * d.lut_and_net + d.setup;
        let one = d.clock_to_out + d.lut_and_net + d.setup;
        // and r2a's output straight back into r1, through no named net
        assert_eq!(r.slowest_paths.len(), 3, "{r:?}");
        assert!((r.slowest_paths[0].ns - two).abs() < 1e-12);
        assert_eq!(r.slowest_paths[0].nets, ["start", "middle", "slow_d[0]"]);
        assert!((r.slowest_paths[1].ns - one).abs() < 1e-12);
        assert_eq!(r.slowest_paths[1].nets, ["start", "quick_d"]);
        assert!((r.slowest_paths[2].ns - (d.clock_to_out + d.setup)).abs() < 1e-12);
        assert_eq!(r.slowest_paths[2].nets, ["(no named net) into cell r1"]);
        assert_eq!(r.critical_path, r.slowest_paths[0].nets);
    }

    #[test]
    fn loops_and_junk_are_errors() {
        let looped = NETLIST.replace(r#""I0": [20], "O": [21]"#, r#""I0": [22], "O": [22]"#);
        assert!(estimate(&looped, "t", &DelayModel::XC7_SPEED_1)
            .unwrap_err()
            .contains("loop"));
        for bad in ["", "{}", r#"{"modules": {}}"#, "[1"] {
            assert!(estimate(bad, "t", &DelayModel::XC7_SPEED_1).is_err(), "{bad}");
        }
    }
}
