//! Latency, throughput and energy of a block, each figure labelled with
//! where it came from: a Vivado report, a requested clock, the timing
//! model or an operation-count estimate.
//!
//! ```text
//!  cycles (timing model or simulation) ─┐
//!  clock  (timing report: target - WNS, │──▶ latency, queries/s, GOP/s
//!          else the requested clock)    │
//!  power  (power report) ───────────────┴──▶ energy per inference (total, dynamic), GOP/s/W
//!  operation counts x 45 nm energies ───────▶ ASIC energy per inference (scaled to a node)
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
    pub unit: String,
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
    /// clock's period minus its worst negative slack (its own row of the
    /// intra-clock table, else the design's WNS); a design with positive
    /// slack could run at `period - WNS`. Without timed paths (WNS "NA")
    /// the constrained period stands, and the source says so.
    pub fn achieved(report: &TimingSummary, file: &str) -> Result<Self, String> {
        let period = report
            .first_clock_period_ns()
            .ok_or_else(|| format!("{file}: the timing summary lists no clock period"))?;
        let name = report.first_clock().map(|c| c.name.as_str()).unwrap_or("");
        // the clock's own row when it has one (its WNS may be NA while
        // another clock's is not); the design's WNS otherwise
        let own_row = report.intra_clock.iter().find(|c| c.clock == name);
        let own = own_row.and_then(|c| c.figures.wns_ns);
        let wns = match own_row {
            Some(_) => own,
            None => report.wns_ns(),
        };
        let Some(wns) = wns else {
            return Ok(Self {
                period_ns: period,
                source: format!(
                    "timing report {file}: constrained period {period} ns (WNS is NA: no timed paths)"
                ),
            });
        };
        let achieved = period - wns;
        if !(achieved.is_finite() && achieved > 0.0) {
            return Err(format!(
                "{file}: period {period} ns minus WNS {wns} ns is not a positive period"
            ));
        }
        let whose = if own.is_some() {
            format!("WNS of {name}")
        } else {
            "WNS".to_string()
        };
        Ok(Self {
            period_ns: achieved,
            source: format!("timing report {file}: period {period} ns - {whose} {wns} ns"),
        })
    }
}

/// Operations of a block, counted by kind and width: what the ASIC
/// estimate prices.
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
    /// 16-bit reads and writes of a 1024 x 16-bit RAM (2 KB; the softmax
    /// row buffer; the streaming attention block has none, its memory is
    /// registers).
    pub ram_accesses: u64,
    /// Register bits loaded (each pipeline register a fire writes).
    pub register_bits: u64,
    /// 16-bit reads of a weight memory (a linear block's ROM).
    pub weight_reads: u64,
    /// Operations as accelerator surveys count them for GOP/s: 2 per
    /// multiply-accumulate of QK^T and PV; 1 per exponential; 5 per
    /// softmax element (max, subtract, exponential, sum, scale).
    pub ops: u64,
}

impl OperationCounts {
    /// What the streaming attention block (hdl/src/sdpa.rs) does per key,
    /// `d` lanes, counted from its datapath (the hardware computes every
    /// path each cycle, muxes choose): q.k as d 16x16 products summed by
    /// d - 1 wide adds; the scale (a 48-bit by 16-bit product) and its
    /// rounding add; the running max and the two gaps (three 16-bit adds);
    /// two exponential units; the rescale of the 32-bit sum and the d
    /// 48-bit accumulators (d + 1 wide products and rounding adds); d
    /// products p v (16x16); the sum's and each lane's two accumulating
    /// adds (onto the kept and onto the rescaled value: 2 (d + 1)).
    /// Registers loaded: v through eight stages (8 x 16d bits), the
    /// accumulators (48d), the sum (32), dot, score, max and gaps (112),
    /// the stage flags (27), and the exp units' own.
    pub fn sdpa_key(d: u64) -> Self {
        let datapath = Self {
            add16: 3,
            add32: d.saturating_sub(1) + 1 + (d + 1) + 2 * (d + 1),
            mult16: d + d,
            mult32: 1 + (d + 1),
            register_bits: 8 * 16 * d + 48 * d + 32 + 112 + 27,
            ops: 2 * 2 * d,
            ..Self::default()
        };
        datapath.plus(Self {
            ops: 0,
            ..Self::exp_element().times(2)
        })
    }

    /// What the binary attention block (hdl/src/binary_attention.rs) does
    /// per key, `d` lanes and `bits` code bits: the key's sign projection
    /// (`bits` sums of `d` terms ±x: `bits (d - 1)` wide adds), the XOR of
    /// the codes and their popcount (`bits - 1` small adds), a score table
    /// read; then sdpa's back end as [`Self::sdpa_key`] counts it, without
    /// the q.k products, their sum and the scale's product and rounding.
    /// Operations: sdpa's (the same attention).
    pub fn binary_attention_key(d: u64, bits: u64) -> Self {
        let sdpa = Self::sdpa_key(d);
        Self {
            add16: sdpa.add16 + bits.saturating_sub(1),
            add32: sdpa.add32 - d.saturating_sub(1) - 1 + bits * d.saturating_sub(1),
            mult16: sdpa.mult16 - d,
            mult32: sdpa.mult32 - 1,
            table_reads: sdpa.table_reads + 1,
            ..sdpa
        }
    }

    /// What the binary attention block does per query: its sign projection
    /// (`bits (d - 1)` wide adds) and sdpa's end of a query.
    pub fn binary_attention_query(d: u64, bits: u64) -> Self {
        Self {
            add32: bits * d.saturating_sub(1),
            ..Self::default()
        }
        .plus(Self::sdpa_query(d))
    }

    /// What the streaming attention block does per query, at its end: one
    /// reciprocal, d output products (48-bit by 16-bit, one multiplier, a
    /// lane a cycle) and their rounding adds; registers loaded: the held
    /// accumulators (48d), the output lanes (16d), the lane counter (8
    /// bits, d times).
    pub fn sdpa_query(d: u64) -> Self {
        Self {
            add32: d,
            mult32: d,
            register_bits: 48 * d + 16 * d + 8 * d,
            ..Self::default()
        }
        .plus(Self::reciprocal())
    }

    /// The reciprocal unit (hdl/src/reciprocal.rs), once: a seed table
    /// read, two 16x16 products (the Newton step) and two wide adds; its
    /// registers (71 bits).
    pub fn reciprocal() -> Self {
        Self {
            add32: 2,
            mult16: 2,
            table_reads: 1,
            register_bits: 71,
            ..Self::default()
        }
    }

    /// What the exponential unit (hdl/src/exp.rs) does per element: a
    /// clamp (a 16-bit compare), x log2(e) and the two tables' product
    /// (16x16 each), two table reads, two rounding adds; its stage
    /// registers (178 bits).
    pub fn exp_element() -> Self {
        Self {
            add16: 1,
            add32: 2,
            mult16: 2,
            table_reads: 2,
            register_bits: 178,
            ops: 1,
            ..Self::default()
        }
    }

    /// What the softmax block (hdl/src/softmax.rs) does per logit: two RAM
    /// writes and the running max on the way in (three 16-bit adds with
    /// the pointers); two RAM reads, two subtractions, two exponential
    /// units, the 32-bit sum, the scaling product (16x16) and its rounding
    /// add in the sum and output passes (two pointer adds); registers: the
    /// running max, the sum, the output, the pointers (104 bits) and the
    /// exp units' own.
    pub fn softmax_element() -> Self {
        Self {
            add16: 3 + 2 + 2,
            add32: 1 + 1,
            mult16: 1,
            ram_accesses: 2 + 2,
            register_bits: 104,
            ops: 5,
            ..Self::default()
        }
        .plus(Self {
            ops: 0,
            ..Self::exp_element().times(2)
        })
    }

    /// What the softmax block does per row: one reciprocal and the row's
    /// descriptor (56 bits).
    pub fn softmax_row() -> Self {
        Self {
            register_bits: 56,
            ..Self::default()
        }
        .plus(Self::reciprocal())
    }

    /// One token through a linear block of `d_in` inputs and `d_out`
    /// outputs (hdl/src/linear.rs, its stages 3 to 6 and the output
    /// rounding): per multiply-accumulate a weight read, a 16x16 product
    /// and two wide adds (the term with the bias or zero, and the
    /// accumulation); per output a rounding add. Not counted: registers;
    /// the bias ROM, which the RTL reads on every issue (its address picks
    /// a word of zeros after a group's first; an ASIC would gate it); the
    /// token buffer's read of `x_k`. Operations: 2 per multiply-accumulate.
    pub fn linear(d_in: u64, d_out: u64) -> Self {
        let macs = d_in * d_out;
        Self {
            mult16: macs,
            add32: 2 * macs + d_out,
            weight_reads: macs,
            ops: 2 * macs,
            ..Self::default()
        }
    }

    /// One token through a ternary (BitLinear) block of `d_in` inputs and
    /// `d_out` outputs with `lanes` lanes (hdl/src/ternary_linear.rs): per
    /// input element the absmax compare; per issue (`d_in` a group of
    /// `lanes` outputs) the code: `x · inv` (16x16), `· 127` (a
    /// shift-subtract) and its rounding add, and one word of `lanes`
    /// two-bit signs (counted as `lanes / 8` 16-bit weight reads); per
    /// weight one accumulator add (zero signs skip it: counted as an upper
    /// bound); per output `· γ` and `· C` (wide products) and the
    /// rounding add with the bias; per token the reciprocal. Not counted:
    /// registers, the bias ROM's read, the token buffer. Operations: 2 a
    /// weight, as [`Self::linear`].
    pub fn bit_linear(d_in: u64, d_out: u64, lanes: u64) -> Self {
        let issues = d_in * d_out.div_ceil(lanes.max(1));
        Self {
            add16: d_in,
            add32: 2 * issues + d_in * d_out + d_out,
            mult16: issues,
            mult32: 2 * d_out,
            weight_reads: (d_in * d_out).div_ceil(8),
            ops: 2 * d_in * d_out,
            ..Self::default()
        }
        .plus(Self {
            register_bits: 0,
            ..Self::reciprocal()
        })
    }

    /// One token of `d` elements through the layer norm, arithmetic only,
    /// counted from the integer model it is bit-exact with
    /// (`IntLayerNorm::run`): per element the sum and the sum of squares
    /// (a 16x16 square, two wide adds), `n x - sum` (a 16x16 product, a
    /// wide add), its scaling by the token's reciprocal deviation (a wide
    /// product and its rounding add), the affine step (a 16x16 product by
    /// gamma, the beta add, the rounding add); per token `D = n Q - S^2`
    /// (two wide products, a wide subtract), `+ eps` (a wide add), and the
    /// inverse square root (`InvSqrt::eval`: a table read and its Newton
    /// step, three 16x16 products and four adds). Registers are not
    /// counted; no operations are counted for GOP/s.
    pub fn layer_norm(d: u64) -> Self {
        Self {
            mult16: 3 * d + 3,
            mult32: d + 2,
            add32: 6 * d + 2 + 4,
            table_reads: 1,
            ..Self::default()
        }
    }

    /// One token through a post-norm encoder layer ([`LayerSize`]),
    /// arithmetic and weight reads only (registers, control, the sequence
    /// memory's key and value reads, the residual FIFOs' RAM and the
    /// linear blocks' bias ROMs are not counted, so it is a lower bound on
    /// the datapath's energy): the q,
    /// k, v projections, one attention query of `tokens` keys in each head
    /// (the sdpa counts above without their registers), the output
    /// projection, two residual adds (a wide add an element), two layer
    /// norms when the layer has them, the FFN's two linear blocks and its
    /// activation table (one read a hidden element).
    pub fn encoder_layer_token(size: LayerSize) -> Self {
        let LayerSize {
            d_model,
            heads,
            head_size,
            d_ff,
            tokens,
            layer_norm,
            ternary_ffn_lanes,
            binary_attention_bits,
        } = size;
        let width = heads * head_size;
        let (up, down) = match ternary_ffn_lanes {
            None => (Self::linear(d_model, d_ff), Self::linear(d_ff, d_model)),
            Some(lanes) => (
                Self::bit_linear(d_model, d_ff, lanes),
                Self::bit_linear(d_ff, d_model, lanes),
            ),
        };
        let head = match binary_attention_bits {
            None => Self::sdpa(head_size, tokens),
            Some(bits) => Self::binary_attention_key(head_size, bits)
                .times(tokens)
                .plus(Self::binary_attention_query(head_size, bits)),
        };
        let attention = Self {
            register_bits: 0,
            ..head
        };
        let mut counts = Self::linear(d_model, width)
            .times(3)
            .plus(attention.times(heads))
            .plus(Self::linear(width, d_model))
            .plus(up)
            .plus(Self {
                table_reads: d_ff,
                ..Self::default()
            })
            .plus(down)
            .plus(Self {
                add32: 2 * d_model,
                ..Self::default()
            });
        if layer_norm {
            counts = counts.plus(Self::layer_norm(d_model).times(2));
        }
        counts
    }

    /// One query of `n` keys through the streaming attention block.
    pub fn sdpa(d: u64, n: u64) -> Self {
        Self::sdpa_key(d).times(n).plus(Self::sdpa_query(d))
    }

    /// One line for people: each count with its name.
    pub fn describe(&self) -> String {
        format!(
            "{} 16x16 and {} wide multiplies, {} 16-bit and {} wide adds, {} table reads, \
             {} RAM accesses, {} weight reads, {} register bits loaded ({} operations)",
            self.mult16,
            self.mult32,
            self.add16,
            self.add32,
            self.table_reads,
            self.ram_accesses,
            self.weight_reads,
            self.register_bits,
            self.ops
        )
    }

    /// `k` times these counts.
    pub fn times(self, k: u64) -> Self {
        self.field_wise(self, |a, _| a * k)
    }

    /// These counts and `other`'s.
    pub fn plus(self, other: Self) -> Self {
        self.field_wise(other, |a, b| a + b)
    }

    /// `f` applied to each count of `self` and the same count of `other`.
    fn field_wise(self, other: Self, f: impl Fn(u64, u64) -> u64) -> Self {
        Self {
            add16: f(self.add16, other.add16),
            add32: f(self.add32, other.add32),
            mult16: f(self.mult16, other.mult16),
            mult32: f(self.mult32, other.mult32),
            table_reads: f(self.table_reads, other.table_reads),
            ram_accesses: f(self.ram_accesses, other.ram_accesses),
            register_bits: f(self.register_bits, other.register_bits),
            weight_reads: f(self.weight_reads, other.weight_reads),
            ops: f(self.ops, other.ops),
        }
    }
}

/// Energies per operation at 45 nm (Horowitz, "Computing's energy
/// problem", ISSCC 2014): 8-bit add 0.03 pJ, 32-bit add 0.1 pJ, 8-bit
/// multiply 0.2 pJ, 32-bit multiply 3.1 pJ, 64-bit read of an 8 KB SRAM
/// 10 pJ. Derived here: a 16-bit add 0.05 pJ (linear in width), a 16x16
/// multiply 0.8 pJ (quadratic in width, 4 x the 8-bit one), a 16-bit read
/// of a 512-byte table 0.625 pJ (the SRAM read scaled by width, 1/4, and
/// by the square root of capacity, 1/4), a 16-bit access of a 2 KB RAM
/// 1.25 pJ (1/4 for width, 1/2 for capacity; a write priced as a read).
/// A 16-bit weight read 2.5 pJ: the 8 KB SRAM read scaled by width (1/4),
/// which assumes weights banked in memories of 8 KB or less (a larger
/// memory costs more a read). Assumed (Horowitz gives no
/// figure): a register bit loaded costs as much as one bit of the 32-bit
/// add, 0.1 / 32 pJ.
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
    /// pJ per 16-bit access of a 2 KB RAM.
    pub ram_access_pj: f64,
    /// pJ per register bit loaded (an assumption, see the type's doc).
    pub register_bit_pj: f64,
    /// pJ per 16-bit weight read (from an 8 KB bank, see the type's doc).
    pub weight_read_pj: f64,
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
        ram_access_pj: 1.25,
        register_bit_pj: 0.1 / 32.0,
        weight_read_pj: 2.5,
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
            ram_access_pj: self.ram_access_pj * k,
            register_bit_pj: self.register_bit_pj * k,
            weight_read_pj: self.weight_read_pj * k,
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
            + ops.ram_accesses as f64 * self.ram_access_pj
            + ops.register_bits as f64 * self.register_bit_pj
            + ops.weight_reads as f64 * self.weight_read_pj
    }
}

/// The sizes of an encoder layer that its operation counts depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LayerSize {
    /// Width of a token.
    pub d_model: u64,
    /// Attention heads.
    pub heads: u64,
    /// Elements of a head's query, key and value.
    pub head_size: u64,
    /// Hidden width of the FFN.
    pub d_ff: u64,
    /// Tokens a sequence (the keys of each query).
    pub tokens: u64,
    /// A LayerNorm after each residual add.
    pub layer_norm: bool,
    /// The FFN's weights ternary, with this many lanes an engine (`None`:
    /// int16 weights).
    pub ternary_ffn_lanes: Option<u64>,
    /// Binary attention with codes of this many bits (`None`: streaming
    /// attention).
    pub binary_attention_bits: Option<u64>,
}

/// One inference of a block: what latency, throughput and energy are per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Inference {
    /// One attention query against its keys.
    Query,
    /// One softmax row.
    Row,
    /// A batch of elements (the exp unit).
    Batch,
    /// A sequence of tokens through an encoder layer.
    Sequence,
}

impl Inference {
    fn name(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Row => "row",
            Self::Batch => "batch",
            Self::Sequence => "sequence",
        }
    }

    /// The plural noun (`queries`, `rows`, `batches`).
    pub fn plural(self) -> &'static str {
        match self {
            Self::Query => "queries",
            Self::Row => "rows",
            Self::Batch => "batches",
            Self::Sequence => "sequences",
        }
    }
}

/// What the estimate is computed for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EstimateInput {
    /// Block name.
    pub block: String,
    /// What one inference is.
    pub inference: Inference,
    /// Cycles from an inference's first input handshake to its last
    /// output's `tvalid` (one inference alone).
    pub latency_cycles: u64,
    /// Cycles between inferences at full throughput.
    pub interval_cycles: u64,
    /// Where the cycle counts came from.
    pub cycles_source: String,
    /// Operations per inference.
    pub operations: OperationCounts,
    /// Where the operation counts came from.
    pub operations_source: String,
}

/// The figures a hardware engineer decides with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The input.
    pub input: EstimateInput,
    /// The clock used.
    pub clock: ClockChoice,
    /// One inference alone, first input to last output.
    pub latency: Figure,
    /// Inferences per second at full throughput.
    pub throughput: Figure,
    /// Giga-operations per second (as [`OperationCounts::ops`] counts them).
    pub gops: Figure,
    /// Energy of one inference alone, total on-chip power x latency (with a
    /// power report).
    pub energy_total: Option<Figure>,
    /// Energy of one inference alone from the dynamic power only.
    pub energy_dynamic: Option<Figure>,
    /// Energy per inference at full throughput: total power x interval.
    pub energy_total_pipelined: Option<Figure>,
    /// GOP/s per watt of total on-chip power.
    pub gops_per_watt: Option<Figure>,
    /// ASIC energy per inference from operation counts.
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
        let ops = input.operations.ops as f64;
        let gops = ops / interval_s / 1e9;
        let cycles = &input.cycles_source;
        let per = input.inference.name();
        let per_joule = format!("J/{per}");
        let (energy_total, energy_dynamic, energy_total_pipelined, gops_per_watt) = match power {
            Some((p, file)) => {
                let joules = |watts: f64, what: &str, seconds: f64, over: &str| Figure {
                    value: watts * seconds,
                    unit: per_joule.clone(),
                    source: format!("power report {file} ({what} {watts} W) x {over}"),
                };
                (
                    Some(joules(p.total_on_chip_w, "total on-chip", latency_s, "latency")),
                    Some(joules(p.dynamic_w, "dynamic", latency_s, "latency")),
                    Some(joules(
                        p.total_on_chip_w,
                        "total on-chip",
                        interval_s,
                        &format!("{per} interval"),
                    )),
                    (p.total_on_chip_w > 0.0).then(|| Figure {
                        value: gops / p.total_on_chip_w,
                        unit: "GOP/s/W".into(),
                        source: format!("power report {file}"),
                    }),
                )
            }
            None => (None, None, None, None),
        };
        let asic_j = energies.energy_pj(&input.operations) * 1e-12;
        let node = energies.node_nm;
        Self {
            latency: Figure {
                value: latency_s,
                unit: "s".into(),
                source: at(&format!("{} cycles ({cycles})", input.latency_cycles)),
            },
            throughput: Figure {
                value: 1.0 / interval_s,
                unit: format!("{}/s", input.inference.plural()),
                source: at(&format!(
                    "one {per} per {} cycles ({cycles})",
                    input.interval_cycles
                )),
            },
            gops: Figure {
                value: gops,
                unit: "GOP/s".into(),
                source: at(&format!("{} operations per {per}", input.operations.ops)),
            },
            energy_total,
            energy_dynamic,
            energy_total_pipelined,
            gops_per_watt,
            asic_energy: Figure {
                value: asic_j,
                unit: per_joule.clone(),
                source: format!(
                    "{} x Horowitz ISSCC 2014 energies scaled to {node} nm (estimate)",
                    input.operations_source
                ),
            },
            asic_gops_per_watt: Figure {
                value: ops / asic_j / 1e9,
                unit: "GOP/s/W".into(),
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
                f.unit.clone(),
                f.source.clone(),
            ])
        };
        row("latency", &self.latency);
        row("throughput", &self.throughput);
        row("compute", &self.gops);
        let per = self.input.inference.name();
        for (name, f) in [
            (format!("energy, one {per} (total power)"), &self.energy_total),
            (format!("energy, one {per} (dynamic power)"), &self.energy_dynamic),
            (
                format!("energy per {per}, pipelined"),
                &self.energy_total_pipelined,
            ),
            ("efficiency (FPGA)".to_string(), &self.gops_per_watt),
        ] {
            if let Some(f) = f {
                row(&name, f);
            }
        }
        row("energy (ASIC estimate)", &self.asic_energy);
        row("efficiency (ASIC estimate)", &self.asic_gops_per_watt);
        format!(
            "{}operations per {}: {}\n  ({})\n",
            t.render(),
            self.input.inference.name(),
            self.input.operations.describe(),
            self.input.operations_source
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> EstimateInput {
        EstimateInput {
            block: "sdpa".into(),
            inference: Inference::Query,
            latency_cycles: 269,
            interval_cycles: 256,
            cycles_source: "timing model".into(),
            operations: OperationCounts::sdpa(16, 256),
            operations_source: "datapath count".into(),
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
    fn a_layer_token_counts_its_blocks_operations() {
        let size = LayerSize {
            d_model: 16,
            heads: 2,
            head_size: 8,
            d_ff: 32,
            tokens: 8,
            layer_norm: true,
            ternary_ffn_lanes: None,
            binary_attention_bits: None,
        };
        let layer = OperationCounts::encoder_layer_token(size);
        // every weight read once a token: 4 x 16 x 16 + 2 x 16 x 32
        assert_eq!(layer.weight_reads, 4 * 256 + 2 * 512);
        // the products of the linear blocks, the heads' q.k and p.v for 8
        // keys and the layer norms' squares, scales and gammas
        let heads = OperationCounts::sdpa(8, 8).mult16 * 2;
        // (the layer norms' 3 per element and 3 per token)
        assert_eq!(layer.mult16, 4 * 256 + 2 * 512 + heads + 2 * (3 * 16 + 3));
        assert_eq!(layer.register_bits, 0, "registers are not counted");
        let without_norm = OperationCounts::encoder_layer_token(LayerSize {
            layer_norm: false,
            ..size
        });
        assert_eq!(without_norm.plus(OperationCounts::layer_norm(16).times(2)), layer);
        // the attention grows with the keys, the rest does not
        let longer = OperationCounts::encoder_layer_token(LayerSize { tokens: 16, ..size });
        assert_eq!(longer.weight_reads, layer.weight_reads);
        assert!(longer.mult16 > layer.mult16);
        // a ternary FFN: its 2 x 16 x 32 weights read as 2-bit signs, its
        // products one a code and two an output, not one a weight
        let ternary = OperationCounts::encoder_layer_token(LayerSize {
            ternary_ffn_lanes: Some(4),
            ..size
        });
        assert_eq!(ternary.weight_reads, 4 * 256 + 2 * 512 / 8);
        let ffn_mult16 = |c: &OperationCounts| c.mult16 - (layer.mult16 - 2 * 512);
        assert_eq!(ffn_mult16(&ternary), 16 * 32 / 4 + 32 * 16 / 4 + 2 * 2);
        assert_eq!(ternary.mult32 - layer.mult32, 2 * (32 + 16));
        assert_eq!(ternary.register_bits, 0, "registers are not counted");
        // binary heads of 64-bit codes: no q.k products or scale product;
        // 64 x 7 projection adds a key and a query
        let binary = OperationCounts::encoder_layer_token(LayerSize {
            binary_attention_bits: Some(64),
            ..size
        });
        let per_head = 8 + 1;
        assert_eq!(layer.mult16 - binary.mult16, 2 * (8 * 8));
        assert_eq!(layer.mult32 - binary.mult32, 2 * 8);
        assert_eq!(
            binary.add32 + 2 * 8 * (7 + 1),
            layer.add32 + 2 * per_head * 64 * 7
        );
        assert_eq!(binary.ops, layer.ops);
        assert!(
            OperationEnergies::HOROWITZ_45NM.energy_pj(&ternary)
                < OperationEnergies::HOROWITZ_45NM.energy_pj(&layer)
        );
    }

    #[test]
    fn asic_energy_is_the_sum_of_counted_operations_and_scales_with_the_node() {
        let ops = OperationCounts {
            add16: 10,
            add32: 1,
            mult16: 2,
            mult32: 1,
            table_reads: 4,
            ram_accesses: 4,
            register_bits: 64,
            weight_reads: 2,
            ops: 0,
        };
        let e45 = OperationEnergies::HOROWITZ_45NM;
        let expected = 0.5 + 0.1 + 1.6 + 3.1 + 2.5 + 5.0 + 0.2 + 5.0;
        assert!((e45.energy_pj(&ops) - expected).abs() < 1e-12);
        let e22 = e45.at_node(22.5).unwrap();
        assert!((e22.energy_pj(&ops) - e45.energy_pj(&ops) / 2.0).abs() < 1e-12);
        assert!(e45.at_node(0.0).is_err() && e45.at_node(f64::NAN).is_err());
    }

    #[test]
    fn energy_of_one_query_is_power_times_latency() {
        let power = crate::report::power::PowerReport {
            header: Default::default(),
            part: None,
            design: None,
            design_state: None,
            total_on_chip_w: 1.5,
            total_on_chip_note: None,
            junction_temp_exceeded: false,
            dynamic_w: 0.5,
            device_static_w: 1.0,
            ps_static_w: None,
            pl_static_w: None,
            design_power_budget_w: None,
            effective_tja_c_per_w: None,
            max_ambient_c: None,
            junction_temp_c: 25.0,
            confidence_level: "Low".into(),
            ambient_temp_c: None,
            components: vec![],
            supplies: vec![],
            clocks: vec![],
            hierarchy: vec![],
        };
        let e = Estimate::new(
            input(),
            ClockChoice::requested(100.0).unwrap(),
            Some((&power, "p.rpt")),
            OperationEnergies::HOROWITZ_45NM,
        );
        let alone = e.energy_total.unwrap();
        assert!((alone.value - 1.5 * 269.0 * 10e-9).abs() < 1e-15);
        assert!(alone.source.contains("latency"));
        assert!((e.energy_dynamic.unwrap().value - 0.5 * 269.0 * 10e-9).abs() < 1e-15);
        let pipelined = e.energy_total_pipelined.unwrap();
        assert!((pipelined.value - 1.5 * 256.0 * 10e-9).abs() < 1e-15);
        assert!(pipelined.source.contains("interval"));
    }

    #[test]
    fn one_lane_counts_follow_the_datapath() {
        // d = 1, tallied by hand from hdl/src/sdpa.rs and exp.rs: q.k one
        // product and no adder; p v one product; two exp units of two
        // products each
        let key = OperationCounts::sdpa_key(1);
        assert_eq!(key.mult16, 1 + 1 + 2 * 2);
        // the scale, the rescale of the sum and of the one accumulator
        assert_eq!(key.mult32, 3);
        // score rounding, two rescale roundings, four accumulating adds,
        // two rounding adds in each exp unit
        assert_eq!(key.add32, 1 + 2 + 4 + 2 * 2);
        assert_eq!(key.table_reads, 4);
        assert_eq!(key.ram_accesses, 0);
        // two multiply-accumulates (q.k, p v), two operations each
        assert_eq!(key.ops, 4);
        let query = OperationCounts::sdpa_query(1);
        // the output product; the reciprocal's Newton step is 16 x 16
        assert_eq!((query.mult32, query.mult16, query.table_reads), (1, 2, 1));
        // a softmax logit: two exp units, one scaling product
        let logit = OperationCounts::softmax_element();
        assert_eq!(
            (logit.mult16, logit.table_reads, logit.ram_accesses, logit.ops),
            (5, 4, 4, 5)
        );
    }

    #[test]
    fn bad_clocks_are_refused() {
        for mhz in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e6] {
            assert!(ClockChoice::requested(mhz).is_err(), "{mhz}");
        }
    }
}
