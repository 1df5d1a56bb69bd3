//! Latency, throughput and energy of a block, each figure labelled with
//! where it came from: a Vivado report, a requested clock, the timing
//! model or an operation-count estimate.
//!
//! ```text
//!  cycles (timing model or simulation) ─┐
//!  clock  (timing report: target - WNS, │──▶ latency, queries/s, GOP/s
//!          else the requested clock)    │
//!  power  (power report) ───────────────┴──▶ energy/query (total, dynamic), GOP/s/W
//!  operation counts x 45 nm energies ───────▶ ASIC energy/query (scaled to a node)
//! ```

use crate::report::power::PowerReport;
use crate::report::timing::TimingSummary;
use crate::text_table::TextTable;
use serde::Serialize;

/// One number, its unit and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// The value.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// Where it came from ("timing report x.rpt", "requested clock", ...).
    pub source: String,
}

/// The clock a figure is computed at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClockChoice {
    /// Period in ns.
    pub period_ns: f64,
    /// Where it came from.
    pub source: String,
}

impl ClockChoice {
    /// A requested clock, in MHz.
    pub fn requested(mhz: f64) -> Result<Self, String> {
        if !(mhz.is_finite() && mhz > 0.0 && mhz <= 2000.0) {
            return Err(format!("clock of {mhz} MHz: expected a frequency in (0, 2000]"));
        }
        Ok(Self {
            period_ns: 1000.0 / mhz,
            source: format!("requested clock ({mhz} MHz)"),
        })
    }

    /// The clock of an Fmax estimate (`what` says where it came from).
    pub fn estimated(fmax_mhz: f64, what: &str) -> Result<Self, String> {
        let mut clock = Self::requested(fmax_mhz)?;
        clock.source = format!("{what}: Fmax about {fmax_mhz:.0} MHz (an estimate)");
        Ok(clock)
    }

    /// The achieved period from a routed timing summary: the first
    /// clock's period minus the worst negative slack (WNS); a design with
    /// positive slack could run at `period - WNS`.
    pub fn achieved(report: &TimingSummary, file: &str) -> Result<Self, String> {
        let period = report
            .first_clock_period_ns()
            .ok_or_else(|| format!("{file}: the timing summary lists no clock period"))?;
        let wns = report
            .wns_ns()
            .ok_or_else(|| format!("{file}: WNS is NA (no timed paths); give --clock-mhz"))?;
        let achieved = period - wns;
        if !(achieved.is_finite() && achieved > 0.0) {
            return Err(format!(
                "{file}: period {period} ns minus WNS {wns} ns is not a positive period"
            ));
        }
        Ok(Self {
            period_ns: achieved,
            source: format!("timing report {file}: period {period} ns - WNS {wns} ns"),
        })
    }
}

/// Operations per query of the streaming attention block (d lanes, n
/// keys), counted from its datapath (hdl/src/sdpa.rs): per key d 16x16
/// products for q.k, one for the scale, two exponentials (each two 256-entry
/// table reads and one 16x16 product), the running max (a 16-bit compare),
/// the rescale of the 32-bit sum and of d 48-bit accumulators (a 16-bit
/// by 32/48-bit product each, counted as 32-bit multiplies), d products
/// p * v (16x16) and d + 1 wide adds; per query one reciprocal (a table
/// read and two 32-bit products) and d output products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct OperationCounts {
    /// 16-bit additions and comparisons.
    pub add16: u64,
    /// Additions of 32 bits or wider.
    pub add32: u64,
    /// 16x16 multiplications.
    pub mult16: u64,
    /// Multiplications with an operand of 32 bits or wider.
    pub mult32: u64,
    /// Reads of 256 x 16-bit tables.
    pub table_reads: u64,
    /// Multiply-accumulates of QK^T and PV (2 operations each in GOP).
    pub macs: u64,
}

impl OperationCounts {
    /// The streaming attention block, one query of `n` keys, `d` lanes.
    pub fn sdpa(d: u64, n: u64) -> Self {
        Self {
            add16: n * (d + 1),
            add32: n * (d + 1) + d,
            mult16: n * (d + 1 + 2 + d) + d,
            mult32: n * (d + 1) + 2,
            table_reads: n * 4 + 1,
            macs: 2 * d * n,
        }
    }
}

/// Energies per operation at 45 nm (Horowitz, "Computing's energy
/// problem", ISSCC 2014): 8-bit add 0.03 pJ, 32-bit add 0.1 pJ, 8-bit
/// multiply 0.2 pJ, 32-bit multiply 3.1 pJ, 64-bit read of an 8 KB SRAM
/// 10 pJ. Derived here: a 16-bit add 0.05 pJ (linear in width), a 16x16
/// multiply 0.8 pJ (quadratic in width, 4 x the 8-bit one), a 16-bit read
/// of a 512-byte table 0.625 pJ (the SRAM read scaled by width, 1/4, and
/// by the square root of capacity, 1/4).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OperationEnergies {
    /// pJ per 16-bit add.
    pub add16_pj: f64,
    /// pJ per 32-bit add.
    pub add32_pj: f64,
    /// pJ per 16x16 multiply.
    pub mult16_pj: f64,
    /// pJ per 32-bit multiply.
    pub mult32_pj: f64,
    /// pJ per table read.
    pub table_read_pj: f64,
    /// Process node in nm the energies are for.
    pub node_nm: f64,
}

impl OperationEnergies {
    /// Horowitz's 45 nm figures (see the type's documentation).
    pub const HOROWITZ_45NM: Self = Self {
        add16_pj: 0.05,
        add32_pj: 0.1,
        mult16_pj: 0.8,
        mult32_pj: 3.1,
        table_read_pj: 0.625,
        node_nm: 45.0,
    };

    /// Scaled to another node, linearly in feature size (a first-order
    /// rule: capacitance shrinks with the node and the supply voltage is
    /// held; real nodes below 28 nm save less).
    pub fn at_node(self, node_nm: f64) -> Result<Self, String> {
        if !(node_nm.is_finite() && (3.0..=180.0).contains(&node_nm)) {
            return Err(format!("node of {node_nm} nm: expected 3 to 180"));
        }
        let k = node_nm / self.node_nm;
        Ok(Self {
            add16_pj: self.add16_pj * k,
            add32_pj: self.add32_pj * k,
            mult16_pj: self.mult16_pj * k,
            mult32_pj: self.mult32_pj * k,
            table_read_pj: self.table_read_pj * k,
            node_nm,
        })
    }

    /// Energy of `ops`, in pJ.
    pub fn energy_pj(&self, ops: &OperationCounts) -> f64 {
        ops.add16 as f64 * self.add16_pj
            + ops.add32 as f64 * self.add32_pj
            + ops.mult16 as f64 * self.mult16_pj
            + ops.mult32 as f64 * self.mult32_pj
            + ops.table_reads as f64 * self.table_read_pj
    }
}

/// What the estimate is computed for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EstimateInput {
    /// Block name.
    pub block: String,
    /// Cycles from a query's first input to its output (one query alone).
    pub latency_cycles: u64,
    /// Cycles between queries at full throughput.
    pub interval_cycles: u64,
    /// Where the cycle counts came from.
    pub cycles_source: String,
    /// Operations per query.
    pub operations: OperationCounts,
}

/// The figures a hardware engineer decides with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The input.
    pub input: EstimateInput,
    /// The clock used.
    pub clock: ClockChoice,
    /// One query alone, first input to output.
    pub latency: Figure,
    /// Queries per second at full throughput.
    pub throughput: Figure,
    /// Giga-operations per second (2 per multiply-accumulate).
    pub gops: Figure,
    /// Energy per query from the total on-chip power (with a power report).
    pub energy_total: Option<Figure>,
    /// Energy per query from the dynamic power only.
    pub energy_dynamic: Option<Figure>,
    /// GOP/s per watt of total on-chip power.
    pub gops_per_watt: Option<Figure>,
    /// ASIC energy per query from operation counts.
    pub asic_energy: Figure,
    /// GOP/s per watt of the ASIC estimate at this throughput.
    pub asic_gops_per_watt: Figure,
}

impl Estimate {
    /// Computes every figure; `power` is a routed power report and its file name.
    pub fn new(
        input: EstimateInput,
        clock: ClockChoice,
        power: Option<(&PowerReport, &str)>,
        energies: OperationEnergies,
    ) -> Self {
        let period_s = clock.period_ns * 1e-9;
        let at = |what: &str| format!("{}; {what}", clock.source);
        let latency_s = input.latency_cycles as f64 * period_s;
        let interval_s = input.interval_cycles.max(1) as f64 * period_s;
        let ops = 2.0 * input.operations.macs as f64;
        let gops = ops / interval_s / 1e9;
        let cycles = &input.cycles_source;
        let (energy_total, energy_dynamic, gops_per_watt) = match power {
            Some((p, file)) => (
                Some(Figure {
                    value: p.total_on_chip_w * interval_s,
                    unit: "J/query",
                    source: format!(
                        "power report {file} (total on-chip {} W) x query interval",
                        p.total_on_chip_w
                    ),
                }),
                Some(Figure {
                    value: p.dynamic_w * interval_s,
                    unit: "J/query",
                    source: format!("power report {file} (dynamic {} W) x query interval", p.dynamic_w),
                }),
                (p.total_on_chip_w > 0.0).then(|| Figure {
                    value: gops / p.total_on_chip_w,
                    unit: "GOP/s/W",
                    source: format!("power report {file}"),
                }),
            ),
            None => (None, None, None),
        };
        let asic_j = energies.energy_pj(&input.operations) * 1e-12;
        let node = energies.node_nm;
        Self {
            latency: Figure {
                value: latency_s,
                unit: "s",
                source: at(&format!("{} cycles ({cycles})", input.latency_cycles)),
            },
            throughput: Figure {
                value: 1.0 / interval_s,
                unit: "queries/s",
                source: at(&format!(
                    "one query per {} cycles ({cycles})",
                    input.interval_cycles
                )),
            },
            gops: Figure {
                value: gops,
                unit: "GOP/s",
                source: at("2 operations per multiply-accumulate of QK^T and PV"),
            },
            energy_total,
            energy_dynamic,
            gops_per_watt,
            asic_energy: Figure {
                value: asic_j,
                unit: "J/query",
                source: format!(
                    "operation counts x Horowitz ISSCC 2014 energies scaled to {node} nm (estimate)"
                ),
            },
            asic_gops_per_watt: Figure {
                value: ops / asic_j / 1e9,
                unit: "GOP/s/W",
                source: format!("ASIC estimate at {node} nm"),
            },
            input,
            clock,
        }
    }

    /// The figures as a text table with their sources.
    pub fn table(&self) -> String {
        let mut t = TextTable::new(["figure", "value", "unit", "source"]);
        let mut row = |name: &str, f: &Figure| {
            t.add_row([
                name.to_string(),
                format!("{:.4e}", f.value),
                f.unit.into(),
                f.source.clone(),
            ])
        };
        row("latency", &self.latency);
        row("throughput", &self.throughput);
        row("compute", &self.gops);
        for (name, f) in [
            ("energy (total power)", &self.energy_total),
            ("energy (dynamic power)", &self.energy_dynamic),
            ("efficiency (FPGA)", &self.gops_per_watt),
        ] {
            if let Some(f) = f {
                row(name, f);
            }
        }
        row("energy (ASIC estimate)", &self.asic_energy);
        row("efficiency (ASIC estimate)", &self.asic_gops_per_watt);
        t.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> EstimateInput {
        EstimateInput {
            block: "sdpa".into(),
            latency_cycles: 269,
            interval_cycles: 256,
            cycles_source: "timing model".into(),
            operations: OperationCounts::sdpa(16, 256),
        }
    }

    #[test]
    fn latency_throughput_and_gops_follow_the_clock() {
        let e = Estimate::new(
            input(),
            ClockChoice::requested(200.0).unwrap(),
            None,
            OperationEnergies::HOROWITZ_45NM,
        );
        assert!((e.latency.value - 269.0 * 5e-9).abs() < 1e-15);
        assert!((e.throughput.value - 200e6 / 256.0).abs() < 1e-6);
        // 2 * 2 * 16 * 256 operations every 256 cycles at 200 MHz
        assert!((e.gops.value - 4.0 * 16.0 * 0.2).abs() < 1e-9);
        assert!(e.energy_total.is_none() && e.latency.source.contains("requested clock"));
    }

    #[test]
    fn asic_energy_is_the_sum_of_counted_operations_and_scales_with_the_node() {
        let ops = OperationCounts {
            add16: 10,
            add32: 1,
            mult16: 2,
            mult32: 1,
            table_reads: 4,
            macs: 0,
        };
        let e45 = OperationEnergies::HOROWITZ_45NM;
        assert!((e45.energy_pj(&ops) - (0.5 + 0.1 + 1.6 + 3.1 + 2.5)).abs() < 1e-12);
        let e22 = e45.at_node(22.5).unwrap();
        assert!((e22.energy_pj(&ops) - e45.energy_pj(&ops) / 2.0).abs() < 1e-12);
        assert!(e45.at_node(0.0).is_err() && e45.at_node(f64::NAN).is_err());
    }

    #[test]
    fn bad_clocks_are_refused() {
        for mhz in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e6] {
            assert!(ClockChoice::requested(mhz).is_err(), "{mhz}");
        }
    }
}
