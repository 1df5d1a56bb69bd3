//! Every exported block's handshake graph, built from the units of
//! [`super::units`] with the stage counts the caller passes in. The
//! numbers come from the one place the RTL takes them (hwformer-hdl's
//! constants, read through the block's manifest by hwformer-sim); nothing
//! here restates them.
//!
//! ```text
//!  exp:      x ─▶ pipeline(exp) ─▶ y
//!  fifo:     x ─▶ fifo(depth) ─▶ y
//!  sdpa:     query ─▶ hold-join ◀─ kv
//!                        └─▶ pipeline(score + exp) ─▶ row reduce(normalizer) ─▶ out
//!  linear:   x ─▶ matrix-vector(d_in, groups, lanes) ─▶ y
//!  layernorm: x ─▶ token pass(n, slots, setup) ─▶ pipeline(stages) ─▶ y
//!  ffn:      x ─▶ matrix-vector(up) ─▶ fifo(hidden) ─▶ matrix-vector(down) ─▶ y
//!  softmax:  logits ─▶ row ring ─first pass─▶ pipeline(exp) ─▶ row reduce(reciprocal) ─go─┐
//!                        ▲   └──second pass─▶ pipeline(exp) ─▶ pipeline(register) ─▶ probs
//!                        └──────── release (a row's last leaving the exp unit) ◀──┘
//! ```

use super::units::{
    Fifo, HoldJoin, MatrixSize, MatrixVector, Pipeline, RingSize, RowReduce, RowRing, Stalling, TokenPass,
    TokenPassSize,
};
use super::{Graph, GraphError, LinkId};

/// The stage counts and sizes of one block: everything its handshake
/// graph needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockTiming {
    /// The exponential unit.
    Exp {
        /// Pipeline stages.
        stages: u32,
    },
    /// A stream FIFO.
    Fifo {
        /// Slots.
        depth: usize,
    },
    /// Streaming attention for one head.
    Sdpa {
        /// Stages before the exp unit (q.k, scale, running max).
        score_stages: u32,
        /// The exp unit's stages.
        exp_stages: u32,
        /// Cycles the normalizer is busy per query before it offers the output.
        normalizer_cycles: u32,
    },
    /// One linear layer (a matrix-vector engine).
    Linear {
        /// Its sizes.
        size: MatrixSize,
        /// Registers after the bank: the engine's own output register,
        /// then a lock-step pipeline of `output_stages - 1` (1 to 64).
        output_stages: u32,
    },
    /// The FFN: two engines joined by a FIFO on the hidden stream.
    Ffn {
        /// The first layer's engine.
        up: MatrixSize,
        /// Slots of the FIFO between them.
        hidden_depth: usize,
        /// The second layer's engine.
        down: MatrixSize,
        /// Registers after each engine's bank (as in `Linear`).
        output_stages: u32,
    },
    /// Layer norm: a token buffer read once per token after its setup,
    /// then a lock-step pipeline.
    LayerNorm {
        /// The buffer.
        buffer: TokenPassSize,
        /// Stages from a read to the output register (1 to 64).
        stages: u32,
    },
    /// Row softmax.
    Softmax {
        /// The exp unit's stages (both passes).
        exp_stages: u32,
        /// Cycles the reciprocal is busy per row before 1/sum is captured.
        reciprocal_cycles: u32,
        /// Output register stages after the second pass's exp unit.
        output_stages: u32,
        /// The row ring.
        ring: RingSize,
    },
}

/// A block's timing and how its pipelines stall (lock-step in every
/// block; [`Stalling::Elastic`] exists to show that it matters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockGraph {
    /// Block name, as in its manifest.
    pub block: &'static str,
    /// Its stage counts.
    pub timing: BlockTiming,
    /// How its pipelines stall.
    pub stalling: Stalling,
}

/// A matrix-vector engine `name` from `input`, its output register, and
/// `output_stages - 1` pipeline stages after it; returns the output link.
fn engine(
    g: &mut Graph,
    name: &str,
    input: LinkId,
    size: MatrixSize,
    output_stages: u32,
    stalling: Stalling,
) -> Result<LinkId, GraphError> {
    let out = g.link(name);
    g.add(name, MatrixVector::new(input, out, size))?;
    if output_stages <= 1 {
        return Ok(out);
    }
    let stage = format!("{name} output");
    let piped = g.link(&stage);
    g.add(&stage, Pipeline::new(out, piped, output_stages - 1, stalling))?;
    Ok(piped)
}

impl BlockGraph {
    /// The names of the block's input and output streams, as in its manifest.
    pub fn streams(&self) -> (&'static [&'static str], &'static [&'static str]) {
        match self.timing {
            BlockTiming::Exp { .. } => (&["x"], &["exp"]),
            BlockTiming::Fifo { .. } => (&["x"], &["y"]),
            BlockTiming::Sdpa { .. } => (&["query", "kv"], &["out"]),
            BlockTiming::Softmax { .. } => (&["logits"], &["probs"]),
            BlockTiming::Linear { .. } | BlockTiming::Ffn { .. } | BlockTiming::LayerNorm { .. } => {
                (&["x"], &["y"])
            }
        }
    }

    /// Stage counts the units can be: pipelines 1 to 64 stages, finishers
    /// busy at least a cycle, a FIFO and a ring at least one deep.
    fn check(&self) -> Result<(), GraphError> {
        let stages_ok = |k: u32| (1..=64).contains(&k);
        let size_ok = |s: MatrixSize| s.d_in >= 1 && s.groups >= 1 && s.lanes >= 1;
        let ok = match self.timing {
            BlockTiming::Exp { stages } => stages_ok(stages),
            BlockTiming::Fifo { depth } => depth >= 1,
            BlockTiming::LayerNorm { buffer, stages } => {
                buffer.n >= 1 && buffer.slots >= 1 && stages_ok(stages)
            }
            BlockTiming::Linear { size, output_stages } => size_ok(size) && stages_ok(output_stages),
            BlockTiming::Ffn {
                up,
                hidden_depth,
                down,
                output_stages,
            } => size_ok(up) && hidden_depth >= 1 && size_ok(down) && stages_ok(output_stages),
            BlockTiming::Sdpa {
                score_stages,
                exp_stages,
                normalizer_cycles,
            } => stages_ok(score_stages + exp_stages) && normalizer_cycles >= 1,
            BlockTiming::Softmax {
                exp_stages,
                reciprocal_cycles,
                output_stages,
                ring,
            } => {
                stages_ok(exp_stages)
                    && stages_ok(output_stages)
                    && reciprocal_cycles >= 1
                    && ring.rows >= 1
                    && ring.beats >= 1
                    && ring.row_max >= 1
            }
        };
        if ok {
            Ok(())
        } else {
            Err(GraphError::Invalid(format!(
                "{}: no units can have the stage counts {:?}",
                self.block, self.timing
            )))
        }
    }

    /// The graph with paced sources offering `inputs` (each beat's tlast,
    /// per input stream) and sinks waiting for `expected` beats.
    pub fn build(&self, inputs: &[Vec<bool>], expected: &[usize]) -> Result<Graph, GraphError> {
        let (ins, outs) = self.streams();
        if inputs.len() != ins.len() || expected.len() != outs.len() {
            return Err(GraphError::Invalid(format!(
                "{} has {} input and {} output streams; given {} and {}",
                self.block,
                ins.len(),
                outs.len(),
                inputs.len(),
                expected.len()
            )));
        }
        let mut g = Graph::new(self.block);
        let sources = ins
            .iter()
            .zip(inputs)
            .map(|(name, lasts)| g.source(name, lasts.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let out = self.add_units(&mut g, "", &sources)?;
        g.sink(outs[0], out, expected[0])?;
        Ok(g)
    }

    /// Adds the block's units to `g`, each unit and link named with
    /// `prefix` in front, reading the links `inputs` (one per input
    /// stream, in [`Self::streams`] order); returns its output link.
    pub fn add_units(&self, g: &mut Graph, prefix: &str, inputs: &[LinkId]) -> Result<LinkId, GraphError> {
        if inputs.len() != self.streams().0.len() {
            return Err(GraphError::Invalid(format!(
                "{} has {} input streams; given {}",
                self.block,
                self.streams().0.len(),
                inputs.len()
            )));
        }
        self.check()?;
        let stalling = self.stalling;
        let named = |name: &str| format!("{prefix}{name}");
        let out = match self.timing {
            BlockTiming::Exp { stages } => {
                let y = g.link(&named("exp"));
                g.add(&named("exp"), Pipeline::new(inputs[0], y, stages, stalling))?;
                y
            }
            BlockTiming::Fifo { depth } => {
                let y = g.link(&named("fifo"));
                g.add(&named("fifo"), Fifo::new(inputs[0], y, depth))?;
                y
            }
            BlockTiming::Linear { size, output_stages } => {
                engine(g, &named("linear"), inputs[0], size, output_stages, stalling)?
            }
            BlockTiming::Ffn {
                up,
                hidden_depth,
                down,
                output_stages,
            } => {
                let hidden = engine(g, &named("up"), inputs[0], up, output_stages, stalling)?;
                let buffered = g.link(&named("hidden fifo"));
                g.add(&named("hidden fifo"), Fifo::new(hidden, buffered, hidden_depth))?;
                engine(g, &named("down"), buffered, down, output_stages, stalling)?
            }
            BlockTiming::LayerNorm { buffer, stages } => {
                let read = g.link(&named("token buffer"));
                g.add(&named("token buffer"), TokenPass::new(inputs[0], read, buffer))?;
                let y = g.link(&named("normalize"));
                g.add(&named("normalize"), Pipeline::new(read, y, stages, stalling))?;
                y
            }
            BlockTiming::Sdpa {
                score_stages,
                exp_stages,
                normalizer_cycles,
            } => {
                let keys = g.link(&named("keys"));
                let weights = g.link(&named("weights"));
                let out = g.link(&named("normalizer"));
                g.add(&named("q register"), HoldJoin::new(inputs[0], inputs[1], keys))?;
                g.add(
                    &named("score and exp"),
                    Pipeline::new(keys, weights, score_stages + exp_stages, stalling),
                )?;
                g.add(
                    &named("accumulate and normalize"),
                    RowReduce::new(weights, out, normalizer_cycles),
                )?;
                out
            }
            BlockTiming::Softmax {
                exp_stages,
                reciprocal_cycles,
                output_stages,
                ring,
            } => {
                let (first, second) = (
                    g.link(&named("sum pass read")),
                    g.link(&named("output pass read")),
                );
                let (go, release) = (g.link(&named("reciprocal done")), g.link(&named("output exp")));
                let (weights, probs) = (g.link(&named("sum exp")), g.link(&named("output register")));
                g.add(
                    &named("row ring"),
                    RowRing::new(inputs[0], first, second, go, release, ring),
                )?;
                g.add(
                    &named("sum exp"),
                    Pipeline::new(first, weights, exp_stages, stalling),
                )?;
                g.add(
                    &named("sum and reciprocal"),
                    RowReduce::new(weights, go, reciprocal_cycles),
                )?;
                g.add(
                    &named("output exp"),
                    Pipeline::new(second, release, exp_stages, stalling),
                )?;
                g.add(
                    &named("output register"),
                    Pipeline::new(release, probs, output_stages, stalling),
                )?;
                probs
            }
        };
        Ok(out)
    }
}
