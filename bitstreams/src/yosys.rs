//! Resource and clock estimates from an open-source synthesis: yosys
//! `synth_xilinx` for 7-series or UltraScale+, flattened (so registers can
//! merge into DSPs), then `stat -json` for the cells and `write_json` for
//! the netlist whose longest path gives an Fmax estimate
//! ([`crate::logic_depth`]).

use crate::logic_depth::{self, DelayModel, LogicDepth};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Cells of a synthesized design, grouped as Vivado reports them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Resources {
    /// LUT1..LUT6: LUTs as logic.
    pub luts: u64,
    /// Flip-flops (FDRE, FDSE, FDCE, FDPE).
    pub flip_flops: u64,
    /// Carry chain cells (CARRY4 on 7-series, CARRY8 on UltraScale+).
    pub carry: u64,
    /// DSP slices (DSP48E1 or DSP48E2).
    pub dsp: u64,
    /// 18 Kb block RAMs.
    pub ramb18: u64,
    /// 36 Kb block RAMs.
    pub ramb36: u64,
    /// UltraRAMs.
    pub uram: u64,
    /// LUTs used as memory (distributed RAM, shift registers), counted in
    /// LUTs per primitive (a RAM32M is four). Vivado's "Slice LUTs" is
    /// `luts + lutram`.
    pub lutram: u64,
    /// Every cell type and its count.
    pub cells: BTreeMap<String, u64>,
}

/// Why an estimate failed.
#[derive(Debug)]
pub enum YosysError {
    /// yosys is not installed or could not start.
    Missing(String),
    /// yosys ran and failed; the tail of its output.
    Failed(String),
    /// Its statistics were not what `stat -json` writes.
    BadStatistics(String),
}

impl std::fmt::Display for YosysError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            YosysError::Missing(e) => write!(
                f,
                "yosys could not run ({e}): install it with `apt-get install yosys` or scripts/install-tools.sh"
            ),
            YosysError::Failed(tail) => write!(f, "yosys failed:\n{tail}"),
            YosysError::BadStatistics(m) => write!(f, "unreadable yosys statistics: {m}"),
        }
    }
}

impl std::error::Error for YosysError {}

/// Reads the output of `stat -json`.
pub fn parse_statistics(json: &str) -> Result<Resources, YosysError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| YosysError::BadStatistics(e.to_string()))?;
    let by_type = value["design"]["num_cells_by_type"]
        .as_object()
        .ok_or_else(|| YosysError::BadStatistics("no design.num_cells_by_type".into()))?;
    let mut r = Resources::default();
    for (cell, count) in by_type {
        let count = count
            .as_u64()
            .ok_or_else(|| YosysError::BadStatistics(format!("count of {cell} is not a number")))?;
        match cell.as_str() {
            "LUT1" | "LUT2" | "LUT3" | "LUT4" | "LUT5" | "LUT6" => r.luts += count,
            "FDRE" | "FDSE" | "FDCE" | "FDPE" => r.flip_flops += count,
            "CARRY4" | "CARRY8" => r.carry += count,
            "DSP48E1" | "DSP48E2" => r.dsp += count,
            "RAMB18E1" | "RAMB18E2" => r.ramb18 += count,
            "RAMB36E1" | "RAMB36E2" => r.ramb36 += count,
            "URAM288" => r.uram += count,
            // LUTs per distributed-memory primitive
            "SRL16E" | "SRLC16E" | "SRLC32E" | "RAM32X1S" | "RAM64X1S" => r.lutram += count,
            "RAM32X1D" | "RAM64X1D" | "RAM128X1S" => r.lutram += 2 * count,
            "RAM32M" | "RAM64M" | "RAM128X1D" => r.lutram += 4 * count,
            "RAM32M16" | "RAM64M8" | "RAM256X1S" => r.lutram += 8 * count,
            _ => {}
        }
        r.cells.insert(cell.clone(), count);
    }
    Ok(r)
}

/// A Xilinx family yosys can map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// 7-series (Artix, Kintex, Virtex, Zynq-7000).
    Xc7,
    /// UltraScale+ (Zynq MPSoC, Kintex, Virtex).
    Xcup,
}

impl Family {
    /// yosys' `-family` argument.
    pub fn name(self) -> &'static str {
        match self {
            Self::Xc7 => "xc7",
            Self::Xcup => "xcup",
        }
    }

    /// The delay assumptions of its Fmax estimate.
    pub fn delays(self) -> DelayModel {
        match self {
            Self::Xc7 => DelayModel::XC7_SPEED_1,
            Self::Xcup => DelayModel::XCUP_SPEED_2,
        }
    }
}

/// What a synthesis run found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Synthesis {
    /// Target family.
    pub family: Family,
    /// Cells, grouped as Vivado reports them.
    pub resources: Resources,
    /// Critical path and Fmax **estimate** from the netlist.
    pub logic_depth: LogicDepth,
}

/// Synthesizes `verilog` (a file in `dir`) with top module `top` for
/// `family`; writes `<top>.<family>.stat.json` and `.netlist.json` beside it.
pub fn synthesize(dir: &Path, verilog: &str, top: &str, family: Family) -> Result<Synthesis, YosysError> {
    let f = family.name();
    let (stat, netlist) = (format!("{top}.{f}.stat.json"), format!("{top}.{f}.netlist.json"));
    let script = format!(
        "read_verilog {verilog}; synth_xilinx -family {f} -flatten -top {top}; tee -q -o {stat} stat -json; write_json {netlist}"
    );
    let out = Command::new("yosys")
        .args(["-q", "-p", &script])
        .current_dir(dir)
        .output()
        .map_err(|e| YosysError::Missing(e.to_string()))?;
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        return Err(YosysError::Failed(
            tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        ));
    }
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).map_err(|e| YosysError::BadStatistics(format!("{name}: {e}")))
    };
    let resources = parse_statistics(&read(&stat)?)?;
    let logic_depth =
        logic_depth::estimate(&read(&netlist)?, top, &family.delays()).map_err(YosysError::BadStatistics)?;
    Ok(Synthesis {
        family,
        resources,
        logic_depth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_cells_like_vivado() {
        let json = r#"{"design": {"num_cells": 9, "num_cells_by_type":
            {"LUT2": 3, "LUT6": 4, "FDRE": 5, "FDSE": 1, "CARRY4": 2, "DSP48E1": 1, "RAMB18E1": 1, "BUFG": 1}}}"#;
        let r = parse_statistics(json).unwrap();
        assert_eq!(
            (r.luts, r.flip_flops, r.carry, r.dsp, r.ramb18, r.ramb36),
            (7, 6, 2, 1, 1, 0)
        );
        assert_eq!(r.cells["BUFG"], 1);
    }

    #[test]
    fn malformed_statistics_are_errors() {
        for bad in [
            "",
            "{}",
            r#"{"design": {"num_cells_by_type": {"LUT1": "x"}}}"#,
            "[1,2",
        ] {
            assert!(parse_statistics(bad).is_err(), "{bad}");
        }
    }
}
