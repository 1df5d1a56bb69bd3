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
//! ```

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
    /// One CARRY4 / CARRY8 cell on a chain.
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
}

/// How a cell takes part in timing.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    /// Output = max(inputs) + delay; `lut` counts a logic level.
    Combinational { delay: f64, lut: bool },
    /// Inputs end paths (+ setup), outputs start them (clock-to-out).
    Registered { input_setup: f64, output_delay: f64 },
}

fn param(cell: &serde_json::Value, name: &str) -> u64 {
    match &cell["parameters"][name] {
        serde_json::Value::String(s) => u64::from_str_radix(s, 2).unwrap_or(0),
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn role(kind: &str, cell: &serde_json::Value, d: &DelayModel) -> Option<Role> {
    Some(match kind {
        "LUT1" | "LUT2" | "LUT3" | "LUT4" | "LUT5" | "LUT6" | "LUT6_2" | "INV" => Role::Combinational {
            delay: d.lut_and_net,
            lut: true,
        },
        "MUXF7" | "MUXF8" | "MUXF9" => Role::Combinational {
            delay: d.wide_mux,
            lut: false,
        },
        "CARRY4" | "CARRY8" => Role::Combinational {
            delay: d.carry,
            lut: false,
        },
        "IBUF" | "OBUF" | "IBUFG" | "BUFG" | "BUFGCE" | "OBUFT" => Role::Combinational {
            delay: 0.0,
            lut: false,
        },
        k if k.starts_with("FD") => Role::Registered {
            input_setup: d.setup,
            output_delay: d.clock_to_out,
        },
        // block RAM reads are synchronous
        k if k.starts_with("RAMB") || k.starts_with("URAM") => Role::Registered {
            input_setup: d.setup,
            output_delay: d.memory_clock_to_out,
        },
        // LUT RAM and shift-register LUTs read asynchronously: read address
        // to output is a LUT on the path; their other inputs end paths
        k if k.starts_with("SRL") || k.starts_with("RAM") => Role::Combinational {
            delay: d.lut_and_net,
            lut: true,
        },
        "DSP48E1" | "DSP48E2" => {
            // inputs count as registered only when both A and B are
            let input_registered = param(cell, "AREG") > 0 && param(cell, "BREG") > 0;
            let mreg = param(cell, "MREG") > 0;
            let preg = param(cell, "PREG") > 0;
            if !(input_registered || mreg || preg) {
                Role::Combinational {
                    delay: d.dsp_combinational,
                    lut: false,
                }
            } else {
                Role::Registered {
                    input_setup: if input_registered {
                        d.setup
                    } else if mreg {
                        d.dsp_to_register
                    } else {
                        d.dsp_combinational
                    },
                    output_delay: if preg {
                        d.clock_to_out
                    } else if mreg {
                        d.dsp_from_register
                    } else {
                        d.dsp_combinational
                    },
                }
            }
        }
        _ => return None,
    })
}

/// Ports that carry clocks, not data.
fn is_clock_pin(pin: &str) -> bool {
    matches!(
        pin,
        "C" | "CLK" | "CLKARDCLK" | "CLKBWRCLK" | "WCLK" | "CLKA" | "CLKB"
    )
}

struct Cell<'a> {
    name: &'a str,
    role: Role,
    /// Input bits the outputs depend on within the cycle.
    inputs: Vec<u64>,
    /// Input bits that end paths, with their setup time.
    sinks: Vec<u64>,
    setup: f64,
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
    let mut cells = Vec::with_capacity(cells_json.len());
    let mut driver: HashMap<u64, usize> = HashMap::new();
    let mut unknown = std::collections::BTreeSet::new();
    for (name, cell) in cells_json {
        let kind = cell["type"].as_str().unwrap_or("?");
        let role = role(kind, cell, delays).unwrap_or_else(|| {
            unknown.insert(kind.to_string());
            Role::Combinational {
                delay: delays.lut_and_net,
                lut: true,
            }
        });
        let directions = cell["port_directions"].as_object();
        let async_read = kind.starts_with("SRL") || (kind.starts_with("RAM") && !kind.starts_with("RAMB"));
        let (mut inputs, mut sinks) = (Vec::new(), Vec::new());
        if let Some(connections) = cell["connections"].as_object() {
            for (pin, net) in connections {
                let output = directions.and_then(|d| d.get(pin)).and_then(|d| d.as_str()) == Some("output");
                if output {
                    for b in bits(net) {
                        driver.insert(b, cells.len());
                    }
                } else if is_clock_pin(pin) {
                } else if matches!(role, Role::Registered { .. }) || (async_read && !is_read_address(pin)) {
                    sinks.extend(bits(net));
                } else {
                    inputs.extend(bits(net));
                }
            }
        }
        let setup = match role {
            Role::Registered { input_setup, .. } => input_setup,
            Role::Combinational { .. } => delays.setup,
        };
        cells.push(Cell {
            name,
            role,
            inputs,
            sinks,
            setup,
        });
    }
    // arrival time and LUT count at each cell's outputs, iteratively
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; cells.len()];
    let mut arrival = vec![(0.0f64, 0u32); cells.len()];
    let arrival_of = |bit: u64, arrival: &[(f64, u32)]| driver.get(&bit).map_or((0.0, 0), |&c| arrival[c]);
    for start in 0..cells.len() {
        if state[start] != NEW {
            continue;
        }
        let mut stack = vec![start];
        while let Some(&c) = stack.last() {
            if state[c] == DONE {
                stack.pop();
                continue;
            }
            match cells[c].role {
                Role::Registered { output_delay, .. } => {
                    arrival[c] = (output_delay, 0);
                    state[c] = DONE;
                    stack.pop();
                }
                Role::Combinational { delay, lut } => {
                    if state[c] == NEW {
                        state[c] = OPEN;
                        for &b in &cells[c].inputs {
                            if let Some(&p) = driver.get(&b) {
                                match state[p] {
                                    NEW => stack.push(p),
                                    OPEN if matches!(cells[p].role, Role::Combinational { .. }) => {
                                        return Err(format!(
                                            "combinational loop through cell {}",
                                            cells[p].name
                                        ));
                                    }
                                    _ => {}
                                }
                            }
                        }
                    } else {
                        let (t, levels) = cells[c]
                            .inputs
                            .iter()
                            .map(|&b| arrival_of(b, &arrival))
                            .fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a });
                        arrival[c] = (t + delay, levels + u32::from(lut));
                        state[c] = DONE;
                        stack.pop();
                    }
                }
            }
        }
    }
    // sinks: registered inputs and output ports
    let mut worst = (0.0f64, 0u32);
    for cell in &cells {
        for &b in &cell.sinks {
            let (t, l) = arrival_of(b, &arrival);
            if t + cell.setup > worst.0 {
                worst = (t + cell.setup, l);
            }
        }
    }
    if let Some(ports) = module["ports"].as_object() {
        for port in ports.values().filter(|p| p["direction"] == "output") {
            for b in bits(&port["bits"]) {
                let (t, l) = arrival_of(b, &arrival);
                if t > worst.0 {
                    worst = (t, l);
                }
            }
        }
    }
    if worst.0 <= 0.0 {
        return Err("netlist: no timed path".into());
    }
    Ok(LogicDepth {
        critical_path_ns: worst.0,
        lut_levels: worst.1,
        fmax_mhz: 1000.0 / worst.0,
        delays: delays.name,
        unknown_cells: unknown.into_iter().collect(),
    })
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
        let want = d.clock_to_out + 2.0 * d.lut_and_net + d.carry + d.setup;
        assert!((r.critical_path_ns - want).abs() < 1e-12, "{r:?}");
        assert_eq!(r.lut_levels, 2);
        assert!((r.fmax_mhz - 1000.0 / want).abs() < 1e-9);
        assert!(r.unknown_cells.is_empty());
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
        let dsp = srl.replace(
            r#""type": "SRL16E""#,
            r#""type": "DSP48E1", "parameters": {"AREG": "1"}"#,
        );
        let r = estimate(&dsp, "t", &d).unwrap();
        assert!(
            (r.critical_path_ns - (d.clock_to_out + d.dsp_combinational + d.setup)).abs() < 1e-12,
            "{r:?}"
        );
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
