//! A whole encoder layer as one handshake graph: the blocks' own graphs
//! ([`super::blocks`]) joined by forks, residual joins and FIFOs, with the
//! attention's sequence memory in front of one time-multiplexed head.
//! This is the timing the generated layer is to meet, and what sizes its
//! FIFOs.
//!
//! ```text
//!  x ─▶ fork ─┬─▶ q projection ─┐
//!             ├─▶ k projection ─┼─▶ sequence memory ─query, kv─▶ head (sdpa) ─▶ serialize ─▶ o projection ─┐
//!             ├─▶ v projection ─┘                                                                          │
//!             └─▶ residual 1 fifo ─────────────────────────────────────────────────────────────────▶ join ─┘
//!  ─▶ rounding ─▶ [norm 1] ─▶ fork ─┬─▶ ffn (up ─▶ hidden fifo ─▶ down) ─┐
//!                                   └─▶ residual 2 fifo ─────────▶ join ─┘─▶ rounding ─▶ [norm 2] ─▶ y
//! ```
//!
//! The residual FIFOs hold a token's input while the other branch works
//! on it. The first must hold almost a whole sequence: no query can be
//! answered before the last token's keys are in the sequence memory, so
//! no output token comes (and no residual leaves) before then; below
//! that depth the fork stalls the projections and the layer deadlocks.
//! [`LayerGraph::search_depths`] finds each FIFO's depths by running the
//! graph ([`super::min_depth`]).

use super::blocks::{BlockGraph, BlockTiming};
use super::min_depth::{search, DepthSearch, SearchRun};
use super::units::{Fifo, Fork, Join, Pipeline, SequenceMemory, SequenceSize, Serialize, Stalling};
use super::{Graph, GraphError, HandshakeTrace, LinkId, RunOptions};
use crate::pacing::Pacing;

/// The FIFOs of a layer, in the order of [`LayerDepths`].
pub const LAYER_FIFOS: [&str; 3] = ["residual 1 fifo", "ffn hidden fifo", "residual 2 fifo"];

/// The shape of an encoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerShape {
    /// Width of a token at the layer's input and output.
    pub d_model: u32,
    /// Attention heads (time-multiplexed on one head unit).
    pub heads: u32,
    /// Elements of one head's query, key and value.
    pub head_size: u32,
    /// Tokens a sequence.
    pub tokens: u32,
    /// A LayerNorm after each residual add (post-norm BERT), or none.
    pub layer_norm: bool,
}

impl LayerShape {
    /// Elements of a token's q, k and v (all heads; saturates at
    /// `u32::MAX`, a width no block is built for).
    pub fn attention_width(&self) -> u32 {
        self.heads.saturating_mul(self.head_size)
    }

    /// Elements of a sequence at the layer's input (tokens × d_model).
    pub fn sequence_elements(&self) -> usize {
        self.tokens as usize * self.d_model as usize
    }
}

/// The layer's blocks, each as its own graph's timing; their sizes must
/// agree with the shape (checked by [`LayerGraph::build`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerGraph {
    /// The shape.
    pub shape: LayerShape,
    /// The q, k and v projections: `d_model` in, `heads × head_size` out.
    pub projection: BlockTiming,
    /// The head (sdpa or binary attention) for `head_size` lanes.
    pub attention: BlockTiming,
    /// The output projection: `heads × head_size` in, `d_model` out.
    pub output_projection: BlockTiming,
    /// The FFN (its hidden FIFO's depth is set by [`LayerDepths`]).
    pub ffn: BlockTiming,
    /// The LayerNorm of `d_model` elements (unused without layer norms).
    pub norm: BlockTiming,
    /// Lock-step stages after a residual add's sum register (its rounding).
    pub residual_stages: u32,
    /// How the pipelines stall.
    pub stalling: Stalling,
}

/// The depths of the layer's FIFOs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerDepths {
    /// Residual 1: the layer's input beside the attention.
    pub residual1: usize,
    /// The FFN's hidden FIFO.
    pub hidden: usize,
    /// Residual 2: the FFN's input beside it.
    pub residual2: usize,
}

impl LayerDepths {
    /// Depths from a list in [`LAYER_FIFOS`] order.
    pub fn from_slice(depths: &[usize]) -> Self {
        Self {
            residual1: depths[0],
            hidden: depths[1],
            residual2: depths[2],
        }
    }
}

impl LayerGraph {
    /// The layer's graph for `sequences` sequences of the shape's tokens,
    /// with FIFOs of `depths`: a paced source `x` and a sink `y` of
    /// `d_model` beats a token (tlast on a token's last).
    pub fn build(&self, sequences: usize, depths: LayerDepths) -> Result<Graph, GraphError> {
        let s = self.shape;
        self.check()?;
        let block = |timing: BlockTiming, name: &'static str| BlockGraph {
            block: name,
            timing,
            stalling: self.stalling,
        };
        let ffn = match self.ffn {
            BlockTiming::Ffn {
                up,
                down,
                output_stages,
                ..
            } => BlockTiming::Ffn {
                up,
                hidden_depth: depths.hidden,
                down,
                output_stages,
            },
            other => other,
        };
        let token = s.d_model as usize;
        let beats = sequences * s.tokens as usize * token;
        let lasts: Vec<bool> = (0..beats).map(|b| b % token == token - 1).collect();
        let mut g = Graph::new("layer");
        let x = g.source("x", lasts)?;
        // attention sublayer
        let branches: Vec<LinkId> = ["to q", "to k", "to v", "to residual 1"]
            .iter()
            .map(|name| g.link(name))
            .collect();
        g.add("input fork", Fork::new(x, branches.clone()))?;
        let projection = block(self.projection, "linear");
        let q = projection.add_units(&mut g, "q projection: ", &branches[..1])?;
        let k = projection.add_units(&mut g, "k projection: ", &branches[1..2])?;
        let v = projection.add_units(&mut g, "v projection: ", &branches[2..3])?;
        let (query, kv) = (g.link("queries"), g.link("keys and values"));
        let size = SequenceSize {
            tokens: s.tokens,
            width: s.attention_width(),
            heads: s.heads,
        };
        g.add("sequence memory", SequenceMemory::new(q, k, v, query, kv, size))?;
        let heads = block(self.attention, "sdpa").add_units(&mut g, "head: ", &[query, kv])?;
        let context = g.link("context elements");
        g.add("serialize", Serialize::new(heads, context, s.head_size))?;
        let projected =
            block(self.output_projection, "linear").add_units(&mut g, "o projection: ", &[context])?;
        let residual1 = g.link(LAYER_FIFOS[0]);
        g.add(
            LAYER_FIFOS[0],
            Fifo::new(branches[3], residual1, depths.residual1),
        )?;
        let sum1 = self.residual_add(&mut g, "residual 1", projected, residual1)?;
        let normed1 = self.norm(&mut g, "norm 1: ", sum1)?;
        // FFN sublayer
        let (to_ffn, to_residual2) = (g.link("to ffn"), g.link("to residual 2"));
        g.add("ffn fork", Fork::new(normed1, vec![to_ffn, to_residual2]))?;
        let ffn_out = block(ffn, "ffn").add_units(&mut g, "ffn ", &[to_ffn])?;
        let residual2 = g.link(LAYER_FIFOS[2]);
        g.add(
            LAYER_FIFOS[2],
            Fifo::new(to_residual2, residual2, depths.residual2),
        )?;
        let sum2 = self.residual_add(&mut g, "residual 2", ffn_out, residual2)?;
        let y = self.norm(&mut g, "norm 2: ", sum2)?;
        g.sink("y", y, beats)?;
        Ok(g)
    }

    /// A residual add of `branch` and `residual`: the pair's register, then
    /// the rounding's lock-step stages.
    fn residual_add(
        &self,
        g: &mut Graph,
        name: &str,
        branch: LinkId,
        residual: LinkId,
    ) -> Result<LinkId, GraphError> {
        let sum = g.link(&format!("{name} sum"));
        g.add(&format!("{name} add"), Join::new(branch, residual, sum))?;
        let rounded = g.link(&format!("{name} rounded"));
        g.add(
            &format!("{name} rounding"),
            Pipeline::new(sum, rounded, self.residual_stages, self.stalling),
        )?;
        Ok(rounded)
    }

    /// A LayerNorm on `input` when the shape has them, else `input`.
    fn norm(&self, g: &mut Graph, prefix: &str, input: LinkId) -> Result<LinkId, GraphError> {
        if !self.shape.layer_norm {
            return Ok(input);
        }
        let norm = BlockGraph {
            block: "layernorm",
            timing: self.norm,
            stalling: self.stalling,
        };
        norm.add_units(g, prefix, &[input])
    }

    /// The blocks' sizes against the shape: an inconsistent layer is an
    /// error that says which block, never a graph that runs wrong.
    fn check(&self) -> Result<(), GraphError> {
        let s = self.shape;
        let invalid = |why: String| Err(GraphError::Invalid(why));
        if s.d_model == 0 || s.heads == 0 || s.head_size == 0 || s.tokens == 0 {
            return invalid(format!("every size of the layer must be at least 1: {s:?}"));
        }
        let linear = |timing: BlockTiming, what: &str, d_in: u32, d_out: u32| match timing {
            BlockTiming::Linear { size, .. } if size.d_in == d_in && size.groups * size.lanes == d_out => {
                Ok(())
            }
            other => Err(GraphError::Invalid(format!(
                "the {what} must be a linear block of {d_in} inputs and {d_out} outputs, not {other:?}"
            ))),
        };
        linear(
            self.projection,
            "q, k, v projection",
            s.d_model,
            s.attention_width(),
        )?;
        linear(
            self.output_projection,
            "output projection",
            s.attention_width(),
            s.d_model,
        )?;
        match self.ffn {
            BlockTiming::Ffn { up, down, .. }
                if up.d_in == s.d_model && down.groups * down.lanes == s.d_model => {}
            other => {
                return invalid(format!(
                    "the ffn must take and give {} elements, not {other:?}",
                    s.d_model
                ))
            }
        }
        if !matches!(self.attention, BlockTiming::Sdpa { .. }) {
            return invalid(format!(
                "the head must be an attention head, not {:?}",
                self.attention
            ));
        }
        if s.layer_norm {
            match self.norm {
                BlockTiming::LayerNorm { buffer, .. } if buffer.n == s.d_model => {}
                other => {
                    return invalid(format!(
                        "the layer norm must take {} elements, not {other:?}",
                        s.d_model
                    ))
                }
            }
        }
        Ok(())
    }

    /// Cycles without a handshake that mean a deadlock: longer than any
    /// engine computes a token's group without one.
    fn idle_limit(&self) -> u64 {
        let work = |timing: BlockTiming| match timing {
            BlockTiming::Linear { size, .. } => u64::from(size.d_in) * u64::from(size.groups),
            BlockTiming::Ffn { up, down, .. } => {
                (u64::from(up.d_in) * u64::from(up.groups)).max(u64::from(down.d_in) * u64::from(down.groups))
            }
            _ => 0,
        };
        4096 + 2 * [self.projection, self.output_projection, self.ffn]
            .into_iter()
            .map(work)
            .max()
            .unwrap_or(0)
    }

    /// Runs `sequences` sequences with `depths` under `pacing`, with a
    /// deadlock limit longer than any engine computes without a handshake.
    pub fn run(
        &self,
        sequences: usize,
        depths: LayerDepths,
        pacing: &Pacing,
    ) -> Result<HandshakeTrace, GraphError> {
        self.build(sequences, depths)?.run(pacing, self.run_options())
    }

    /// Run options with a deadlock limit longer than any engine computes
    /// without a handshake.
    fn run_options(&self) -> RunOptions<'_> {
        RunOptions {
            idle_limit: self.idle_limit(),
            ..RunOptions::default()
        }
    }

    /// Runs `sequences` sequences at full speed with `depths`: the cycles,
    /// or a deadlock.
    pub fn cycles(&self, sequences: usize, depths: LayerDepths) -> Result<u64, GraphError> {
        Ok(self.run(sequences, depths, &Pacing::FULL_SPEED)?.cycles)
    }

    /// Each FIFO's smallest depth for full throughput over `sequences`
    /// sequences and the smallest that does not deadlock, the others at
    /// `ample` (which must not deadlock: a sequence's `tokens × d_model`
    /// beats are always enough for the first residual).
    pub fn search_depths(&self, sequences: usize, ample: usize) -> Result<DepthSearch, GraphError> {
        search(&LAYER_FIFOS, ample, |depths| {
            let mut g = self.build(sequences, LayerDepths::from_slice(depths))?;
            let cycles = g.run(&Pacing::FULL_SPEED, self.run_options())?.cycles;
            Ok(SearchRun::of(&g, cycles, &LAYER_FIFOS))
        })
    }
}
