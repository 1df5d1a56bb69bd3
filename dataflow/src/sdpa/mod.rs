//! Scaled dot-product attention as streaming dataflow: the naive graph
//! (row barriers, FIFOs that grow with N) and the O(1)-memory streaming
//! graph, in f64 or bit-exact fixed point, for several heads.

pub mod arithmetic;
pub mod graphs;
pub mod min_depth;
pub mod workload;

use crate::channel::Time;
use crate::program::{DataflowError, Program, Result, RunReport};
use crate::units::CheckReport;
use arithmetic::{Arithmetic, F64Arithmetic, FixedArithmetic};
use hwformer_quant::integer::sdpa::{SdpaConfig, StreamingSdpa};
use serde::Serialize;
use std::collections::BTreeMap;
use std::rc::Rc;
use workload::Workload;

/// Which graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Row max and row sum as barriers: needs FIFOs of a row.
    Naive,
    /// Running max, sum and rescaled accumulators: O(1) memory.
    Streaming,
}

/// The numbers flowing through the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberFormat {
    /// f64, checked against the float reference within 1e-9.
    F64,
    /// The integer model's raw values, checked bit for bit.
    Fixed,
}

/// Latencies of the units and channels, in cycles. Every unit is fully
/// pipelined (initiation interval 1) except the streaming normalizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Latencies {
    /// Every channel: a registered FIFO.
    pub channel: Time,
    /// Streaming and naive: dot product and scale.
    pub score: Time,
    /// Streaming: compare, exp, rescale and accumulate.
    pub update: Time,
    /// Streaming: reciprocal of the sum and multiply, lane by lane.
    pub normalize: Time,
    /// Streaming: cycles between two queries' normalizations.
    pub normalize_interval: Time,
    /// Naive: running comparison.
    pub row_max: Time,
    /// Naive: subtract and exp.
    pub exp: Time,
    /// Naive: running sum.
    pub row_sum: Time,
    /// Naive: reciprocal of the sum.
    pub reciprocal: Time,
    /// Naive: multiply by the reciprocal.
    pub divide: Time,
    /// Naive: multiply by the value and accumulate.
    pub weighted_sum: Time,
}

impl Latencies {
    /// The streaming units' latencies from the sdpa block's handshake
    /// timing (the RTL's stage counts), less the channel register after
    /// each: score and update one less than their stages, normalize the
    /// normalizer's busy cycles, one query every busy + hold + idle cycles;
    /// the naive units as in [`Self::for_d`]. None for another block.
    pub fn from_block(timing: &crate::handshake::blocks::BlockTiming, d: usize) -> Option<Self> {
        let crate::handshake::blocks::BlockTiming::Sdpa {
            score_stages,
            exp_stages,
            normalizer_cycles,
        } = *timing
        else {
            return None;
        };
        Some(Self {
            score: Time::from(score_stages.max(1) - 1),
            update: Time::from(exp_stages.max(1) - 1),
            normalize: Time::from(normalizer_cycles),
            normalize_interval: Time::from(normalizer_cycles) + 2,
            ..Self::for_d(d)
        })
    }

    /// The default latencies for head dimension `d`.
    ///
    /// The streaming units take the RTL block's (`hwformer_hdl::sdpa`)
    /// stage counts, less the channel register that follows each: score 12
    /// (its thirteen stages: the products, the adder tree, the scale, the
    /// rounding, the running max), update 5 (the six exp stages), normalize
    /// `d + 33` (the normalizer's busy cycles: merging the four partial
    /// states, the reciprocal, one lane a cycle through the merge engine
    /// and the output multiply and rounding), one query every `d + 35`
    /// cycles. So from the score unit's fire of a query's last key (the
    /// RTL's handshake of that key) to the output's arrival is
    /// `score + update + normalize + 3 * channel = 53 + d` cycles, the
    /// RTL's `output_delay(d)`, and queries follow one another every
    /// `max(n, d + 35)` cycles, its `query_cycles(n, d)`: at full speed
    /// the graph predicts every output cycle of the RTL (a test in the
    /// workspace checks this against the block's simulation).
    pub fn for_d(d: usize) -> Self {
        let d = d as Time;
        Self {
            channel: 1,
            score: 12,
            update: 5,
            normalize: d + 33,
            normalize_interval: d + 35,
            row_max: 1,
            exp: 2,
            row_sum: 1,
            reciprocal: 3,
            divide: 2,
            weighted_sum: 2,
        }
    }

    /// Full-throughput depths of the naive graph's two row FIFOs
    /// (`row_scores`, `row_weights`) for rows of `n`: a score waits for its
    /// row's maximum, `n + row_max + 2 * channel`; a weight waits for its
    /// row's sum and its reciprocal, `n + row_sum + reciprocal + 3 * channel`.
    /// Below `n` each deadlocks: the barrier needs the whole row to pass.
    pub fn row_fifo_depths(&self, n: usize) -> (usize, usize) {
        let c = self.channel;
        (
            n + (self.row_max + 2 * c) as usize,
            n + (self.row_sum + self.reciprocal + 3 * c) as usize,
        )
    }

    /// Closed-form cycle count of `variant` for `queries` queries of `n`
    /// keys, when no channel back-pressures (every channel at least its
    /// full-throughput depth).
    ///
    /// Streaming: the first query's last key leaves its source at cycle
    /// `N - 1` and crosses four channels and three units (score, online
    /// update, normalize) to the checker; the others follow every
    /// `max(N, normalize_interval)` cycles (the normalizer's interval, when
    /// longer than a query, paces them):
    /// `N + (Q - 1) * max(N, normalize_interval) + score + update + normalize
    ///  + 4 * channel`, which is `QN + ...` for `N >= normalize_interval`.
    ///
    /// Naive: every row waits for its maximum and then for its sum, so the
    /// output trails the source by two rows:
    /// `QN + 2N + score + row_max + exp + row_sum + reciprocal + divide
    ///  + weighted_sum + 8 * channel`.
    pub fn cycles(&self, variant: Variant, n: usize, queries: usize) -> Time {
        let (n, q) = (n as Time, queries as Time);
        let c = self.channel;
        match variant {
            Variant::Streaming => {
                n + q.saturating_sub(1) * n.max(self.normalize_interval)
                    + self.score
                    + self.update
                    + self.normalize
                    + 4 * c
            }
            Variant::Naive => {
                q * n
                    + 2 * n
                    + self.score
                    + self.row_max
                    + self.exp
                    + self.row_sum
                    + self.reciprocal
                    + self.divide
                    + self.weighted_sum
                    + 8 * c
            }
        }
    }
}

/// One simulation of attention graphs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SdpaRun {
    /// Which graph.
    pub variant: Variant,
    /// Keys per query.
    pub n: usize,
    /// Head dimension (vector lanes).
    pub d: usize,
    /// Independent heads, each its own graph.
    pub heads: usize,
    /// Queries per head.
    pub queries: usize,
    /// Capacity of every channel; `None` for the default (2 for streaming,
    /// [`SdpaRun::min_full_depth`] for naive).
    pub fifo_depth: Option<usize>,
    /// f64 or fixed point.
    pub format: NumberFormat,
    /// Seed of the inputs.
    pub seed: u64,
    /// Capacities of single channels by full name (`"row_scores"`, or
    /// `"h1.row_scores"` with several heads), over `fifo_depth`.
    pub depth_overrides: BTreeMap<String, usize>,
    /// Check every output against the oracle (and measure the error
    /// against f64); when false the outputs are only counted, to time the
    /// simulator alone.
    pub check: bool,
    /// Unit latencies (None: [`Latencies::for_d`]); hwformer-sim gives the
    /// RTL block's, [`Latencies::from_block`].
    pub latencies: Option<Latencies>,
}

/// What one head's output check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadCheck {
    /// The checker's report.
    #[serde(flatten)]
    pub check: CheckReport,
    /// Largest |output - f64 reference| over the head's outputs.
    pub max_error_vs_float: f64,
}

/// Everything a run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SdpaReport {
    /// What was run.
    pub run: SdpaRun,
    /// The capacity every channel had.
    pub fifo_depth: usize,
    /// The latencies used.
    pub latencies: Latencies,
    /// Simulated cycles.
    pub cycles: Time,
    /// The closed-form prediction.
    pub closed_form_cycles: Time,
    /// Keys per cycle per head: `queries * n / cycles`.
    pub keys_per_cycle: f64,
    /// Per-channel and per-context counters.
    pub report: RunReport,
    /// Output checks, one per head.
    pub checks: Vec<HeadCheck>,
}

impl SdpaReport {
    /// Whether every output matched its oracle.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.check.passed())
    }

    /// Largest peak occupancy over the channels whose names end in `suffix`.
    pub fn peak(&self, suffix: &str) -> usize {
        self.report
            .channels
            .iter()
            .filter(|c| c.name.ends_with(suffix))
            .map(|c| c.stats.peak_occupancy)
            .max()
            .unwrap_or(0)
    }

    /// Sum of peak occupancies of one head's channels between the score
    /// unit and the output (the intermediate memory).
    pub fn intermediate_peak(&self) -> usize {
        let first_head = if self.run.heads > 1 { "h0." } else { "" };
        self.report
            .channels
            .iter()
            .filter(|c| c.name.starts_with(first_head))
            .filter(|c| !["query", "kv", "out"].iter().any(|x| c.name.ends_with(x)))
            .map(|c| c.stats.peak_occupancy)
            .sum()
    }
}

impl SdpaRun {
    /// A run with defaults: one head, one query, f64, seed 1.
    pub fn new(variant: Variant, n: usize, d: usize) -> Self {
        Self {
            variant,
            n,
            d,
            heads: 1,
            queries: 1,
            fifo_depth: None,
            format: NumberFormat::F64,
            seed: 1,
            depth_overrides: BTreeMap::new(),
            check: true,
            latencies: None,
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(DataflowError::InvalidParameter(m));
        if self.n == 0 || self.n > 1 << 30 {
            return bad(format!("n must be in 1..=2^30, got {}", self.n));
        }
        if self.d == 0 || self.d > 128 {
            return bad(format!("d must be in 1..=128, got {}", self.d));
        }
        if self.heads == 0 || self.heads > 64 {
            return bad(format!("heads must be in 1..=64, got {}", self.heads));
        }
        if self.queries == 0 {
            return bad("queries must be at least 1".into());
        }
        if self.fifo_depth == Some(0) || self.depth_overrides.values().any(|&d| d == 0) {
            return bad("fifo depth must be at least 1".into());
        }
        Ok(())
    }

    /// The latencies this run uses.
    pub fn latencies(&self) -> Latencies {
        self.latencies.unwrap_or_else(|| Latencies::for_d(self.d))
    }

    /// The smallest uniform channel capacity with full throughput (one key
    /// per cycle): 2 for streaming (a registered FIFO needs two slots to
    /// pass one element per cycle); for naive the larger of the two row
    /// FIFOs' needs, see [`Latencies::row_fifo_depths`].
    pub fn min_full_depth(&self) -> usize {
        match self.variant {
            Variant::Streaming => 2,
            Variant::Naive => {
                let (scores, weights) = self.latencies().row_fifo_depths(self.n);
                scores.max(weights)
            }
        }
    }

    /// Builds and runs the graphs; a deadlock is an error carrying who
    /// waits on what.
    pub fn simulate(&self) -> Result<SdpaReport> {
        self.simulate_on(&self.inputs()?)
    }

    /// The integer model of the default design for this run's `d`.
    fn model(&self) -> Result<StreamingSdpa> {
        Ok(StreamingSdpa::new(SdpaConfig::with_d(
            self.d,
            self.n.min(1 << 24),
        ))?)
    }

    /// The inputs of every head, drawn from the seed (head `h` uses
    /// `seed + h`): a one-off cost, apart from the simulation.
    pub fn inputs(&self) -> Result<Vec<Rc<Workload>>> {
        self.validate()?;
        let config = *self.model()?.config();
        (0..self.heads)
            .map(|h| {
                Ok(Rc::new(Workload::new(
                    &config,
                    self.n,
                    self.queries,
                    self.seed.wrapping_add(h as u64),
                )?))
            })
            .collect()
    }

    /// [`Self::simulate`] on inputs made by [`Self::inputs`] (for this run
    /// or one that differs only in depths, checking or seed-free fields).
    pub fn simulate_on(&self, inputs: &[Rc<Workload>]) -> Result<SdpaReport> {
        self.validate()?;
        if inputs.len() != self.heads || inputs.iter().any(|w| w.n != self.n) {
            return Err(DataflowError::InvalidParameter(format!(
                "inputs for {} heads of {} keys do not fit this run",
                inputs.len(),
                inputs.first().map_or(0, |w| w.n)
            )));
        }
        let depth = self.fifo_depth.unwrap_or_else(|| self.min_full_depth());
        let latencies = self.latencies();
        let model = Rc::new(self.model()?);
        let mut program = Program::new();
        let mut heads = Vec::new();
        for (h, workload) in inputs.iter().enumerate() {
            let workload = workload.clone();
            let mut wiring = graphs::Wiring {
                program: &mut program,
                prefix: if self.heads > 1 {
                    format!("h{h}.")
                } else {
                    String::new()
                },
                capacity: depth,
                overrides: &self.depth_overrides,
                latencies,
                check: self.check,
            };
            let float = Rc::new(F64Arithmetic::new(
                workload.clone(),
                model.applied_scale(),
                self.d,
            ));
            let head = match self.format {
                NumberFormat::F64 => Head::F64(self.build(&mut wiring, float)?),
                NumberFormat::Fixed => {
                    let fixed = Rc::new(FixedArithmetic::new(workload, model.clone()));
                    Head::Fixed(self.build(&mut wiring, fixed.clone())?, fixed, float)
                }
            };
            heads.push(head);
        }
        let report = program.run()?;
        let checks = heads.into_iter().map(|h| h.finish(self)).collect();
        // (without checking, HeadCheck counts outputs and reports no error)
        let cycles = report.cycles;
        Ok(SdpaReport {
            run: self.clone(),
            fifo_depth: depth,
            latencies,
            cycles,
            closed_form_cycles: latencies.cycles(self.variant, self.n, self.queries),
            keys_per_cycle: (self.queries * self.n) as f64 / cycles as f64,
            report,
            checks,
        })
    }

    fn build<A: Arithmetic>(
        &self,
        wiring: &mut graphs::Wiring,
        arith: Rc<A>,
    ) -> Result<crate::units::CheckHandle> {
        match self.variant {
            Variant::Streaming => graphs::streaming(wiring, arith, self.queries),
            Variant::Naive => graphs::naive(wiring, arith, self.queries),
        }
    }
}

/// A head's checker and what it needs to measure the error against f64.
enum Head {
    F64(crate::units::CheckHandle),
    Fixed(crate::units::CheckHandle, Rc<FixedArithmetic>, Rc<F64Arithmetic>),
}

impl Head {
    fn finish(self, run: &SdpaRun) -> HeadCheck {
        match self {
            Head::F64(handle) => {
                let check = handle.borrow().clone();
                HeadCheck {
                    max_error_vs_float: if run.check { check.max_distance } else { f64::NAN },
                    check,
                }
            }
            Head::Fixed(handle, _, _) if !run.check => HeadCheck {
                check: handle.borrow().clone(),
                max_error_vs_float: f64::NAN,
            },
            Head::Fixed(handle, fixed, float) => {
                // The graph's outputs equal the oracle's bit for bit (the
                // checker says so), so the oracle's error is the graph's.
                let format = hwformer_quant::integer::sdpa::SdpaConfig::with_d(run.d, 1).output;
                let max_error_vs_float = (0..run.queries)
                    .map(|q| {
                        let out = match run.variant {
                            Variant::Streaming => fixed.expected_streaming(q),
                            Variant::Naive => fixed.expected_two_pass(q),
                        };
                        let want = float.reference(q);
                        out.iter()
                            .zip(&want)
                            .map(|(&o, w)| (format.to_f64(i128::from(o)) - w).abs())
                            .fold(0.0, f64::max)
                    })
                    .fold(0.0, f64::max);
                HeadCheck {
                    check: handle.borrow().clone(),
                    max_error_vs_float,
                }
            }
        }
    }
}
