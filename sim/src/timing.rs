//! Each block's timing is its handshake graph
//! (`hwformer_dataflow::handshake::blocks`), built with the stage counts
//! the RTL is built with (hwformer-hdl's constants, and the manifest's
//! `d`) and run under the same seeded pacing as the RTL. The checker
//! compares every handshake's cycle with the graph's.

use crate::ports::PortMap;
use crate::testbench::{Beats, Stimulus, Trace, DRAIN_CYCLES};
use crate::SimError;
use hwformer_dataflow::handshake::blocks::{BlockGraph, BlockTiming};
use hwformer_dataflow::handshake::layer::{LayerGraph, LayerShape};
use hwformer_dataflow::handshake::min_depth::{self, DepthSearch};
use hwformer_dataflow::handshake::units::{MatrixSize, RingSize, Stalling, TokenPassSize};
use hwformer_dataflow::handshake::{Graph, GraphError, RunOptions};
use hwformer_dataflow::pacing::Pacing;
use hwformer_hdl::linear::{EngineTiming, INT16_ENGINE};
use hwformer_hdl::manifest::{Direction, Manifest};
use hwformer_hdl::ternary_linear::TERNARY_ENGINE;
use hwformer_hdl::{exp, reciprocal, sdpa, softmax};
use hwformer_quant::bert::integer::Variant;
use hwformer_quant::reference::Activation;

/// The handshake graph description of the block a manifest describes
/// (an error if the manifest's streams are not the graph's, in order).
pub fn block_graph(manifest: &Manifest) -> Result<BlockGraph, SimError> {
    if hwformer_hdl::LAYER_BLOCKS.contains(&manifest.block.as_str()) {
        return layer_graph(manifest);
    }
    let size = match manifest.block.as_str() {
        "fifo" => hwformer_hdl::fifo::depth_from_manifest(manifest).map_err(SimError::Invalid)?,
        "sdpa" => {
            sdpa::model_from_manifest(manifest)
                .map_err(SimError::Invalid)?
                .config()
                .d
        }
        "binary_attention" => manifest.count("d", 1, 64).map_err(SimError::Invalid)?,
        _ => 0,
    };
    let mut graph = block_graph_for(&manifest.block, size)?;
    if ["sdpa", "binary_attention"].contains(&manifest.block.as_str()) {
        let m = sdpa::output_multipliers_from_manifest(manifest).map_err(SimError::Invalid)?;
        graph.timing = head_timing(size, m)?;
    }
    let names = |dir| -> Vec<&str> {
        manifest
            .streams
            .iter()
            .filter(|s| s.dir == dir)
            .map(|s| s.name.as_str())
            .collect()
    };
    let (ins, outs) = graph.streams();
    if names(Direction::In) != ins || names(Direction::Out) != outs {
        return Err(SimError::Invalid(format!(
            "the {} manifest's streams {:?} -> {:?} are not its handshake graph's {ins:?} -> {outs:?}",
            manifest.block,
            names(Direction::In),
            names(Direction::Out)
        )));
    }
    Ok(graph)
}

/// The engine of a layer of `d_in` inputs, `d_out` outputs and `lanes`
/// lanes, with `engine`'s stage counts.
pub fn matrix_size(
    d_in: usize,
    d_out: usize,
    lanes: usize,
    engine: &EngineTiming,
) -> Result<MatrixSize, SimError> {
    hwformer_hdl::linear::check_lanes(lanes, d_out, "d_out").map_err(SimError::Invalid)?;
    let fit = |v: usize| u32::try_from(v).map_err(|_| SimError::Invalid(format!("{v} is too large")));
    Ok(MatrixSize {
        d_in: fit(d_in)?,
        groups: fit(d_out / lanes)?,
        lanes: fit(lanes)?,
        issue_stages: engine.issue_stages as u32,
        setup_cycles: engine.setup_cycles as u32,
    })
}

/// The linear block's timing: its engine's sizes and hdl's stage counts.
pub fn linear_timing(d_in: usize, d_out: usize, lanes: usize) -> Result<BlockTiming, SimError> {
    Ok(BlockTiming::Linear {
        size: matrix_size(d_in, d_out, lanes, &INT16_ENGINE)?,
        output_stages: INT16_ENGINE.output_stages as u32,
    })
}

/// An FFN's timing (`engine` is the int16 or the ternary one): two
/// engines and a hidden FIFO of `hidden_depth`.
pub fn ffn_timing(
    d_model: usize,
    d_ff: usize,
    lanes: usize,
    hidden_depth: usize,
    engine: &EngineTiming,
) -> Result<BlockTiming, SimError> {
    Ok(BlockTiming::Ffn {
        up: matrix_size(d_model, d_ff, lanes, engine)?,
        hidden_depth,
        down: matrix_size(d_ff, d_model, lanes, engine)?,
        output_stages: engine.output_stages as u32,
    })
}

/// The layernorm block's timing for `d` elements a token.
pub fn layer_norm_timing(d: usize) -> Result<BlockTiming, SimError> {
    let t = hwformer_hdl::layer_norm::LAYER_NORM_TIMING;
    Ok(BlockTiming::LayerNorm {
        buffer: TokenPassSize {
            n: u32::try_from(d).map_err(|_| SimError::Invalid(format!("{d} is too large")))?,
            slots: t.slots as u8,
            setup_cycles: t.setup_cycles as u32,
        },
        stages: t.stages as u32,
    })
}

/// The engine timing of FFN block `block` (`ffn` or `ternary_ffn`).
pub fn ffn_engine(block: &str) -> Result<(&'static str, EngineTiming), SimError> {
    match block {
        "ffn" => Ok(("ffn", INT16_ENGINE)),
        "ternary_ffn" => Ok(("ternary_ffn", TERNARY_ENGINE)),
        other => Err(SimError::Invalid(format!("`{other}` is not an FFN block"))),
    }
}

/// The graph of a layer block (`linear`, `ffn`), sized from its manifest.
fn layer_graph(manifest: &Manifest) -> Result<BlockGraph, SimError> {
    let invalid = |e: String| SimError::Invalid(e);
    let max = hwformer_quant::integer::linear::LINEAR_SIZE_MAX;
    let lanes = || manifest.count("lanes", 1, 64).map_err(invalid);
    let (block, timing) = match manifest.block.as_str() {
        "linear" => {
            let d_in = manifest.count("d_in", 1, max).map_err(invalid)?;
            let d_out = manifest.count("d_out", 1, max).map_err(invalid)?;
            ("linear", linear_timing(d_in, d_out, lanes()?)?)
        }
        "layernorm" => {
            let d = manifest
                .count("d_model", 2, hwformer_hdl::layer_norm::LAYER_NORM_D_MAX)
                .map_err(invalid)?;
            ("layernorm", layer_norm_timing(d)?)
        }
        _ => {
            let d_model = manifest.count("d_model", 1, max).map_err(invalid)?;
            let d_ff = manifest.count("d_ff", 1, max).map_err(invalid)?;
            let depth = manifest
                .count("hidden_depth", 1, hwformer_hdl::fifo::FIFO_DEPTH_MAX)
                .map_err(invalid)?;
            let (block, engine) = ffn_engine(&manifest.block)?;
            (block, ffn_timing(d_model, d_ff, lanes()?, depth, &engine)?)
        }
    };
    Ok(BlockGraph {
        block,
        timing,
        stalling: Stalling::Lockstep,
    })
}

/// The timing of an attention head (sdpa, binary_attention) of `d` lanes
/// and `m` output multipliers.
pub fn head_timing(d: usize, m: usize) -> Result<BlockTiming, SimError> {
    sdpa::check_output_multipliers(d, m).map_err(SimError::Invalid)?;
    Ok(BlockTiming::Sdpa {
        score_stages: sdpa::SDPA_SCORE_STAGES as u32,
        exp_stages: exp::EXP_LATENCY as u32,
        normalizer_cycles: sdpa::normalizer_cycles(d as u64, m as u64) as u32,
    })
}

/// The handshake graph description of `block` as hwformer-hdl builds it;
/// `size` is sdpa's `d` or the fifo's depth (ignored otherwise).
pub fn block_graph_for(block: &str, size: usize) -> Result<BlockGraph, SimError> {
    let (block, timing) = match block {
        "exp" => (
            "exp",
            BlockTiming::Exp {
                stages: exp::EXP_LATENCY as u32,
            },
        ),
        "fifo" => {
            if !(1..=hwformer_hdl::fifo::FIFO_DEPTH_MAX).contains(&size) {
                return Err(SimError::Invalid(format!(
                    "fifo depth must be 1 to {}, not {size}",
                    hwformer_hdl::fifo::FIFO_DEPTH_MAX
                )));
            }
            ("fifo", BlockTiming::Fifo { depth: size })
        }
        // binary attention: sdpa's stages and back end, other scores
        "sdpa" | "binary_attention" => {
            if !sdpa::SDPA_D_CHOICES.contains(&size) {
                return Err(SimError::Invalid(format!(
                    "{block} d must be one of {:?}, not {size}",
                    sdpa::SDPA_D_CHOICES
                )));
            }
            (
                if block == "sdpa" {
                    "sdpa"
                } else {
                    "binary_attention"
                },
                head_timing(size, 1)?,
            )
        }
        "softmax" => (
            "softmax",
            BlockTiming::Softmax {
                exp_stages: exp::EXP_LATENCY as u32,
                reciprocal_cycles: reciprocal::RECIPROCAL_BUSY_CYCLES as u32,
                output_stages: softmax::SOFTMAX_OUTPUT_STAGES as u32,
                ring: RingSize {
                    rows: softmax::SOFTMAX_SLOTS as u64,
                    beats: softmax::SOFTMAX_BUFFER as u64,
                    row_max: softmax::SOFTMAX_N_MAX as u64,
                },
            },
        ),
        other => {
            return Err(SimError::Invalid(format!(
                "no handshake graph of block `{other}`"
            )))
        }
    };
    Ok(BlockGraph {
        block,
        timing,
        stalling: Stalling::Lockstep,
    })
}

/// Most input beats [`boundary_beats`] makes (2^24).
pub const MAX_BOUNDARY_BEATS: usize = 1 << 24;

/// The tlast of every input beat and the output beats of `inferences`
/// inferences of `n` (exp and fifo: groups of `n` elements; softmax: rows
/// of exactly `n` logits, at most 256; sdpa: queries of `n` keys, at most
/// `SDPA_N_MAX_BUILT`), for running a graph without a workload.
pub fn boundary_beats(
    block: &str,
    n: usize,
    inferences: usize,
) -> Result<(Vec<Vec<bool>>, Vec<usize>), SimError> {
    if n == 0 || inferences == 0 {
        return Err(SimError::Invalid(
            "n and the number of inferences must be at least 1".into(),
        ));
    }
    // every handshake's cycle is kept: 8 bytes a beat
    if n.checked_mul(inferences)
        .is_none_or(|beats| beats > MAX_BOUNDARY_BEATS)
    {
        return Err(SimError::Invalid(format!(
            "{n} x {inferences} beats is more than the {MAX_BOUNDARY_BEATS} a graph run records"
        )));
    }
    let groups = |n: usize| -> Vec<bool> { (0..n * inferences).map(|k| k % n == n - 1).collect() };
    let limit = |max: usize| {
        if n > max {
            Err(SimError::Invalid(format!(
                "{block} takes at most {max} per inference, not {n}"
            )))
        } else {
            Ok(())
        }
    };
    Ok(match block {
        // layer blocks: tokens of n elements in, as many out (linear's
        // d_out = d_in here; ffn's output token is d_model wide)
        "exp" | "fifo" | "ffn" | "ternary_ffn" | "layernorm" => (vec![groups(n)], vec![n * inferences]),
        "softmax" => {
            limit(softmax::SOFTMAX_N_MAX)?;
            (vec![groups(n)], vec![n * inferences])
        }
        "sdpa" | "binary_attention" => {
            limit(sdpa::SDPA_N_MAX_BUILT)?;
            (vec![vec![true; inferences], groups(n)], vec![inferences])
        }
        other => {
            return Err(SimError::Invalid(format!(
                "no handshake graph of block `{other}`"
            )))
        }
    })
}

/// The graph of `description` with the stimulus's beats at its boundary.
pub fn build(description: &BlockGraph, stimulus: &Stimulus) -> Result<Graph, SimError> {
    let lasts: Vec<Vec<bool>> = stimulus.inputs.iter().map(|b| b.last.clone()).collect();
    description
        .build(&lasts, stimulus.expected)
        .map_err(|e| SimError::Invalid(e.to_string()))
}

/// Runs the graph of `description` under the stimulus's pacing, with the
/// testbench's cycle limit and drain: the handshakes the RTL must make.
pub fn predict(description: &BlockGraph, ports: &PortMap, stimulus: &Stimulus) -> Result<Trace, GraphError> {
    let mut graph = build(description, stimulus).map_err(|e| GraphError::Invalid(e.to_string()))?;
    let run = graph.run(
        &stimulus.pacing,
        RunOptions {
            max_cycles: stimulus.max_cycles,
            drain_cycles: DRAIN_CYCLES,
            ..RunOptions::default()
        },
    )?;
    let outputs = ports
        .output_streams
        .iter()
        .zip(&run.output_last)
        .map(|(port, lasts)| {
            let mut beats = Beats::new(port.bits);
            for &last in lasts {
                beats.push(&[], last);
            }
            beats
        })
        .collect();
    Ok(Trace {
        outputs,
        output_cycles: run.output_cycles,
        input_cycles: run.input_cycles,
        status: Vec::new(),
        cycles: run.cycles,
    })
}

/// Where to look when the RTL's handshake on `stream` (an input stream
/// when `input`) differs from the graph's at `cycle`: the graph unit that
/// decides that handshake, and every unit's registers during that cycle.
pub fn explain(
    description: &BlockGraph,
    stimulus: &Stimulus,
    stream: &str,
    input: bool,
    cycle: u64,
) -> String {
    let Ok(mut graph) = build(description, stimulus) else {
        return String::new();
    };
    let decider = graph.deciding_unit(stream, input).unwrap_or("?").to_string();
    let Ok(states) = graph.states_at(&stimulus.pacing, cycle) else {
        return format!("graph unit `{decider}` decides this handshake");
    };
    let chain: Vec<String> = graph
        .waiting_chain(stream, input)
        .iter()
        .map(|(n, s)| format!("`{n}` ({s})"))
        .collect();
    let all: Vec<String> = states.iter().map(|(n, s)| format!("{n}: {s}")).collect();
    format!(
        "graph unit `{decider}` decides this handshake; in the graph at cycle {cycle} it is held up \
         along {}; every unit: {}",
        chain.join(" -> "),
        all.join("; ")
    )
}

/// The fifo block's depth search under `pacing`, for `groups` groups of
/// `n` beats (see [`min_depth::search`]), every other FIFO (there are none)
/// aside, starting from `ample`.
pub fn fifo_depth_search(
    n: usize,
    groups: usize,
    pacing: &Pacing,
    ample: usize,
) -> Result<DepthSearch, SimError> {
    let (inputs, expected) = boundary_beats("fifo", n, groups)?;
    let fail = |e: GraphError| SimError::Invalid(e.to_string());
    min_depth::search(&["fifo"], ample, |depths| {
        let description =
            block_graph_for("fifo", depths[0]).map_err(|e| GraphError::Invalid(e.to_string()))?;
        let mut g = description.build(&inputs, &expected)?;
        let cycles = g.run(pacing, RunOptions::default())?.cycles;
        Ok(min_depth::SearchRun::of(&g, cycles, &["fifo"]))
    })
    .map_err(fail)
}

/// An FFN block's (`ffn`, `ternary_ffn`) hidden FIFO searched
/// (`min_depth::search`): `tokens` tokens of `d_model` under `pacing`,
/// every depth from 1 to `ample`; the engines as `ffn_timing` builds them.
pub fn ffn_depth_search(
    block: &str,
    (d_model, d_ff, lanes): (usize, usize, usize),
    tokens: usize,
    pacing: &Pacing,
    ample: usize,
) -> Result<DepthSearch, SimError> {
    let (block, engine) = ffn_engine(block)?;
    let (inputs, expected) = boundary_beats(block, d_model, tokens)?;
    ffn_timing(d_model, d_ff, lanes, ample, &engine)?;
    let fail = |e: GraphError| SimError::Invalid(e.to_string());
    min_depth::search(&["hidden fifo"], ample, |depths| {
        let timing = ffn_timing(d_model, d_ff, lanes, depths[0], &engine)
            .map_err(|e| GraphError::Invalid(e.to_string()))?;
        let graph = BlockGraph {
            block,
            timing,
            stalling: Stalling::Lockstep,
        };
        let mut g = graph.build(&inputs, &expected)?;
        let cycles = g.run(pacing, RunOptions::default())?.cycles;
        Ok(min_depth::SearchRun::of(&g, cycles, &["hidden fifo"]))
    })
    .map_err(fail)
}

/// The value-level streaming attention graph's latencies for the sdpa
/// block with `d` lanes, from the same stage counts as its handshake graph
/// (`hwformer_dataflow::sdpa::Latencies::from_block`).
pub fn sdpa_latencies(d: usize) -> Result<hwformer_dataflow::sdpa::Latencies, SimError> {
    let graph = block_graph_for("sdpa", d)?;
    hwformer_dataflow::sdpa::Latencies::from_block(&graph.timing, d)
        .ok_or_else(|| SimError::Invalid("the sdpa graph has no sdpa timing".into()))
}

/// An encoder layer to build: its shape and the multiply-accumulate
/// lanes of its linear blocks (they must divide every block's outputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerPlan {
    /// The shape.
    pub shape: LayerShape,
    /// Hidden width of the FFN.
    pub d_ff: u32,
    /// Lanes of the projections and the FFN's engines.
    pub lanes: u32,
    /// The FFN's activation (the graph's timing does not depend on it).
    pub activation: Activation,
    /// The integer datapath: int16, a ternary FFN, or binary attention.
    pub variant: Variant,
}

impl LayerPlan {
    /// The built-in layers: `tiny` (the demo's), `small` (tiny at d_model
    /// 32: 4 heads of 8, d_ff 64; CI's synthesis), `jet-tagging` (the shape
    /// of the particle-physics transformer hls4ml put on a VU13P: 15
    /// particles of 6 features, 2 heads of 32, FFN 6 -> 8 -> 6, no layer
    /// norm) and `minilm-layer` (one layer of all-MiniLM-L6-v2).
    pub const PRESETS: [(&'static str, LayerPlan); 4] = [
        (
            "tiny",
            LayerPlan {
                shape: LayerShape {
                    d_model: 16,
                    heads: 2,
                    head_size: 8,
                    tokens: 8,
                    layer_norm: true,
                },
                d_ff: 32,
                lanes: 4,
                activation: Activation::Gelu,
                variant: Variant::Int16,
            },
        ),
        (
            "small",
            LayerPlan {
                shape: LayerShape {
                    d_model: 32,
                    heads: 4,
                    head_size: 8,
                    tokens: 8,
                    layer_norm: true,
                },
                d_ff: 64,
                lanes: 4,
                activation: Activation::Gelu,
                variant: Variant::Int16,
            },
        ),
        (
            "jet-tagging",
            LayerPlan {
                shape: LayerShape {
                    d_model: 6,
                    heads: 2,
                    head_size: 32,
                    tokens: 15,
                    layer_norm: false,
                },
                d_ff: 8,
                lanes: 2,
                activation: Activation::Relu,
                variant: Variant::Int16,
            },
        ),
        (
            "minilm-layer",
            LayerPlan {
                shape: LayerShape {
                    d_model: 384,
                    heads: 12,
                    head_size: 32,
                    tokens: 128,
                    layer_norm: true,
                },
                d_ff: 1536,
                lanes: 8,
                activation: Activation::Gelu,
                variant: Variant::Int16,
            },
        ),
    ];

    /// The preset called `name`, or an error listing them.
    pub fn preset(name: &str) -> Result<Self, SimError> {
        Self::PRESETS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, plan)| plan)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::PRESETS.iter().map(|(n, _)| *n).collect();
                SimError::Invalid(format!(
                    "no layer preset `{name}` (presets: {})",
                    names.join(", ")
                ))
            })
    }

    /// The head's block: `sdpa`, or `binary_attention` (the same timing).
    pub fn attention_block(&self) -> &'static str {
        match self.variant {
            Variant::Binary => "binary_attention",
            Variant::Int16 | Variant::Ternary => "sdpa",
        }
    }

    /// The FFN's engine: the int16 one, or the ternary one.
    pub fn ffn_engine(&self) -> &'static EngineTiming {
        match self.variant {
            Variant::Ternary => &TERNARY_ENGINE,
            Variant::Int16 | Variant::Binary => &INT16_ENGINE,
        }
    }

    /// The layer's handshake graph with hwformer-hdl's stage counts; an
    /// error names the block whose sizes the hardware does not build.
    pub fn graph(&self) -> Result<LayerGraph, SimError> {
        let s = self.shape;
        let (d_model, width, lanes) = (
            s.d_model as usize,
            s.attention_width() as usize,
            self.lanes as usize,
        );
        let named = |what: &'static str| move |e: SimError| SimError::Invalid(format!("{what}: {e}"));
        Ok(LayerGraph {
            shape: s,
            projection: linear_timing(d_model, width, lanes).map_err(named("the q, k, v projections"))?,
            attention: block_graph_for(self.attention_block(), s.head_size as usize)
                .map_err(named("the attention head"))?
                .timing,
            output_projection: linear_timing(width, d_model, lanes)
                .map_err(named("the output projection"))?,
            ffn: ffn_timing(d_model, self.d_ff as usize, lanes, 2, self.ffn_engine())
                .map_err(named("the ffn"))?,
            norm: layer_norm_timing(d_model).map_err(named("the layer norm"))?,
            residual_stages: hwformer_hdl::residual_add::RESIDUAL_ADD_STAGES,
            stalling: Stalling::Lockstep,
        })
    }
}
