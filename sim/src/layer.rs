//! A whole encoder layer written out and checked on a simulator: the
//! preset's seeded layer (`quant::bert::seeded`), its FIFOs sized on its
//! handshake graph, its Verilog (`hdl::encoder_layer`), then every output
//! element against the int16 layer model bit for bit, against the float
//! layer (reported), and every input and output handshake against the
//! layer graph under the same seeded gaps and back-pressure.
//!
//! ```text
//!  preset ─▶ LayerPlan ─▶ LayerGraph ─search_depths─▶ depths ─┐
//!  preset ─▶ SeededLayer (weights, formats, int16 model) ─────┴─▶ EncoderLayerUnit ─▶ Verilog + memory files
//!  sequences ─▶ int16 model ─▶ expected y     Verilator | Icarus ─▶ trace ─▶ equal? (beats, cycles)
//! ```
//! The hardware is compiled for three (lanes, head size) pairs, 4 lanes
//! with heads of 8, 8 lanes with heads of 32 and 2 with heads of 32
//! ([`HARDWARE`], the hdl's const generics here); other sizes say why not
//! ([`hardware_support`]).

use crate::icarus::{self, IcarusOptions};
use crate::ports::PortMap;
use crate::session::Backend;
use crate::testbench::{run as drive, Beats, Pacing, Stimulus, Trace};
use crate::timing::LayerPlan;
use crate::verilator::{build, BuildOptions, VerilatedModel};
use crate::SimError;
use hwformer_dataflow::handshake::layer::LayerDepths;
use hwformer_dataflow::handshake::min_depth::DepthSearch;
use hwformer_hdl::encoder_layer::EncoderDepths;
use hwformer_hdl::manifest::Manifest;
use hwformer_quant::bert::compare::{rows_error, TensorError};
use hwformer_quant::bert::integer::{LayerFfn, LayerHead, Variant};
use hwformer_quant::bert::layer_source::LayerSource;
use hwformer_quant::bert::seeded::{LayerSize, SeededLayer};
use hwformer_quant::bert::{float_layer, Tensor};
use hwformer_quant::integer::dequantize_all;
use ndarray::Array2;
use std::path::Path;
use std::time::Instant;

/// A layer (a preset's, or a configuration's), ready to write and check.
pub struct LayerDesign {
    /// The layer's name (the preset's, or the configuration's); the module
    /// is `hwformer_encoder_layer_<name>`.
    pub name: String,
    /// Its plan (shape, lanes).
    pub plan: LayerPlan,
    /// Its layer: weights, int16 model, evaluation sequences (seeded, or a
    /// model file's).
    pub layer: Box<dyn LayerSource>,
    /// The FIFO depths: the search's (full throughput over two sequences),
    /// or the ones given.
    pub depths: LayerDepths,
    /// The depth search, when the depths came from it.
    pub search: Option<DepthSearch>,
    /// Graph cycles of [`SEARCH_SEQUENCES`] sequences at full speed with
    /// [`Self::depths`].
    pub cycles: u64,
}

/// Sequences the depth search runs.
pub const SEARCH_SEQUENCES: usize = 2;

/// The (lanes of the linear blocks, head size) pairs the layer hardware
/// is compiled for: each is an instance of `hdl::encoder_layer`'s const
/// generics, and each adds to the build time (the second about 45 s):
/// tiny and small, minilm-layer, jet-tagging.
pub const HARDWARE: [(u32, u32); 3] = [(4, 8), (8, 32), (2, 32)];

impl LayerDesign {
    /// The layer of `preset` with weights from `seed`; its FIFOs sized by
    /// the layer graph.
    pub fn new(preset: &str, seed: u64) -> Result<Self, SimError> {
        Self::build(preset, LayerPlan::preset(preset)?, seed, None)
    }

    /// The layer `name` of `plan` with weights from `seed`; its FIFOs at
    /// `depths`, or sized by the layer graph when `None`. Given depths
    /// that deadlock the graph are an error. An error says which size the
    /// hardware does not build, and why.
    pub fn build(
        name: &str,
        plan: LayerPlan,
        seed: u64,
        depths: Option<LayerDepths>,
    ) -> Result<Self, SimError> {
        check_layer_name(name).map_err(|why| SimError::Invalid(format!("layer name `{name}`: {why}")))?;
        hardware_support(&plan).map_err(|why| SimError::Invalid(format!("layer `{name}`: {why}")))?;
        let s = plan.shape;
        let size = LayerSize {
            d_model: s.d_model as usize,
            heads: s.heads as usize,
            head_size: s.head_size as usize,
            d_ff: plan.d_ff as usize,
            tokens: s.tokens as usize,
            layer_norm: s.layer_norm,
            activation: plan.activation,
            variant: plan.variant,
        };
        let layer = SeededLayer::new(size, seed).map_err(|e| SimError::Invalid(e.to_string()))?;
        Self::from_source(name, plan, Box::new(layer), depths)
    }

    /// The layer `name` of `plan` built from `layer` (seeded, or a model
    /// file's), whose sizes must be the plan's; its FIFOs at `depths`, or
    /// sized by the layer graph when `None`.
    pub fn from_source(
        name: &str,
        plan: LayerPlan,
        layer: Box<dyn LayerSource>,
        depths: Option<LayerDepths>,
    ) -> Result<Self, SimError> {
        check_layer_name(name).map_err(|why| SimError::Invalid(format!("layer name `{name}`: {why}")))?;
        hardware_support(&plan).map_err(|why| SimError::Invalid(format!("layer `{name}`: {why}")))?;
        let s = plan.shape;
        let parts = layer.integer().parts();
        let variant = match (parts.ffn, parts.head) {
            (LayerFfn::Ternary(_), _) => Variant::Ternary,
            (_, LayerHead::Binary(_)) => Variant::Binary,
            _ => Variant::Int16,
        };
        if variant != plan.variant {
            return Err(SimError::Invalid(format!(
                "layer `{name}`: the plan's variant is {}, the layer's {}",
                plan.variant.name(),
                variant.name()
            )));
        }
        let tokens = layer
            .evaluation_input(0)
            .map_err(|e| SimError::Invalid(e.to_string()))?
            .nrows();
        let sizes = [
            ("d_model", parts.query.d_in(), s.d_model as usize),
            ("head size", parts.head.config().d, s.head_size as usize),
            ("d_ff", parts.ffn.d_ff(), plan.d_ff as usize),
            ("tokens", tokens, s.tokens as usize),
        ];
        for (what, has, planned) in sizes {
            if has != planned {
                return Err(SimError::Invalid(format!(
                    "layer `{name}`: the layer's {what} is {has}, the plan's {planned}"
                )));
            }
        }
        let graph = plan.graph()?;
        let (depths, search) = match depths {
            Some(depths) => (depths, None),
            None => {
                let sequence = s.sequence_elements();
                let search = graph
                    .search_depths(SEARCH_SEQUENCES, 2 * sequence)
                    .map_err(|e| SimError::Invalid(e.to_string()))?;
                let found = search
                    .fifos
                    .iter()
                    .map(|f| f.full_throughput_depth)
                    .collect::<Vec<_>>();
                (LayerDepths::from_slice(&found), Some(search))
            }
        };
        let cycles = graph.cycles(SEARCH_SEQUENCES, depths).map_err(|e| {
            SimError::Invalid(format!(
                "layer `{name}`: FIFO depths residual 1 {}, ffn hidden {}, residual 2 {}: {e}",
                depths.residual1, depths.hidden, depths.residual2
            ))
        })?;
        Ok(Self {
            name: name.to_string(),
            plan,
            layer,
            depths,
            search,
            cycles,
        })
    }

    /// Writes the layer's Verilog, memory files and manifest into `dir`;
    /// returns the manifest as written.
    pub fn write(&self, dir: &Path) -> Result<Manifest, SimError> {
        let d = self.depths;
        let depths = EncoderDepths {
            residual1: d.residual1,
            hidden: d.hidden,
            residual2: d.residual2,
        };
        let s = self.plan.shape;
        hardware_support(&self.plan)
            .map_err(|why| SimError::Invalid(format!("layer `{}`: {why}", self.name)))?;
        let stem = format!("encoder_layer_{}", self.name.replace('-', "_"));
        let tokens = s.tokens as usize;
        // the instances of HARDWARE (lanes, head size), checked above
        let layer = self.layer.integer();
        let exported = match (self.plan.lanes, s.head_size) {
            (4, 8) => hwformer_hdl::encoder_layer::export::<4, 64, 128, 8, 8, 128, 256>(
                layer, tokens, depths, &stem,
            ),
            (8, 32) => hwformer_hdl::encoder_layer::export::<8, 128, 256, 16, 32, 512, 1024>(
                layer, tokens, depths, &stem,
            ),
            (2, 32) => hwformer_hdl::encoder_layer::export::<2, 32, 64, 4, 32, 512, 1024>(
                layer, tokens, depths, &stem,
            ),
            (lanes, head) => {
                return Err(SimError::Invalid(format!(
                    "layer `{}`: {lanes} lanes with heads of {head} is no instance of HARDWARE",
                    self.name
                )))
            }
        }
        .map_err(|e| SimError::Invalid(e.to_string()))?;
        exported.write(dir).map_err(|e| SimError::Invalid(e.to_string()))
    }
}

/// An error unless `name` can name a layer's module: letters, digits,
/// `-` and `_` (a `-` becomes `_` in the module's name).
pub fn check_layer_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Err("letters, digits, `-` and `_` only (it names the module; `-` becomes `_`)".into())
    } else {
        Ok(())
    }
}

/// Why the layer hardware cannot be built for `plan`, if it cannot: its
/// const generics are instantiated for the pairs of [`HARDWARE`], and the
/// first residual FIFO holds about a sequence.
pub fn hardware_support(plan: &LayerPlan) -> Result<(), String> {
    let s = plan.shape;
    if !HARDWARE.contains(&(plan.lanes, s.head_size)) {
        let built: Vec<String> = HARDWARE
            .iter()
            .map(|(lanes, head)| format!("{lanes} lanes with heads of {head}"))
            .collect();
        return Err(format!(
            "{} lanes with heads of {}: the layer hardware is compiled for {} only (const generics; each \
             other pair is another compiled instance)",
            plan.lanes,
            s.head_size,
            built.join(" or ")
        ));
    }
    let sequence = s.sequence_elements();
    let max = hwformer_hdl::fifo::FIFO_UNIT_DEPTH_MAX;
    if sequence > max + 1 {
        return Err(format!(
            "{} tokens of {}: the first residual FIFO holds about a sequence ({sequence} elements) while the \
             attention reads it, beyond the FIFO unit's {max} slots (its 16-bit count)",
            s.tokens, s.d_model
        ));
    }
    Ok(())
}

/// Evaluation sequences through a layer: the raw inputs and the int16
/// model's raw outputs (token-major, one element after another) and the
/// float layer's outputs.
pub struct LayerSequences {
    /// Raw input elements (the input format).
    pub inputs: Vec<i64>,
    /// The int16 model's raw outputs (the output format).
    pub expected: Vec<i64>,
    /// The float layer's outputs.
    pub float: Vec<f64>,
}

impl LayerDesign {
    /// Evaluation sequences 0 to `sequences - 1` (never calibrated on).
    pub fn sequences(&self, sequences: usize) -> Result<LayerSequences, String> {
        let mut out = LayerSequences {
            inputs: Vec::new(),
            expected: Vec::new(),
            float: Vec::new(),
        };
        for k in 0..sequences {
            let input = self.layer.evaluation_input(k).map_err(|e| e.to_string())?;
            let (raw, output) = self.layer.run_integer(&input).map_err(|e| e.to_string())?;
            out.inputs.extend(raw.iter().copied());
            out.expected.extend(output.iter().copied());
            let exact = float_layer(input.view(), self.layer.weights(), &vec![true; input.nrows()])
                .map_err(|e| e.to_string())?;
            out.float.extend(exact.get(Tensor::Output).iter().copied());
        }
        Ok(out)
    }
}

/// What a checked run of the layer found.
#[derive(Debug, Clone)]
pub struct LayerVerdict {
    /// Output elements, every one equal to the int16 model's.
    pub beats: usize,
    /// Cycles to the last output.
    pub cycles: u64,
    /// The outputs against the float layer.
    pub float_error: TensorError,
    /// The simulator's seconds (the run alone).
    pub seconds: f64,
    /// Seconds to build the simulation (Verilator's compile, or Icarus').
    pub build_seconds: f64,
    /// The sticky status at the end.
    pub saturated: bool,
}

/// Runs `sequences` evaluation sequences through the layer written in
/// `dir` on `backend` (Verilator or Icarus) under `pacing`; every output
/// element must be the int16 model's and every handshake the graph's, or
/// the error says which first differed.
pub fn check_layer(
    design: &LayerDesign,
    dir: &Path,
    manifest: &Manifest,
    backend: Backend,
    sequences: usize,
    pacing: Pacing,
) -> Result<LayerVerdict, String> {
    let s = design.plan.shape;
    let token = s.d_model as usize;
    let LayerSequences {
        inputs,
        expected,
        float,
    } = design.sequences(sequences)?;
    let mut x = Beats::new(16);
    for (i, &v) in inputs.iter().enumerate() {
        x.push_lanes16(&[v], i % token == token - 1);
    }
    let graph = design
        .plan
        .graph()
        .map_err(|e| e.to_string())?
        .run(sequences, design.depths, &pacing)
        .map_err(|e| format!("the layer graph: {e}"))?;
    let inputs = [x];
    let stimulus = Stimulus {
        inputs: &inputs,
        expected: &[expected.len()],
        pacing,
        max_cycles: 4 * graph.cycles + 10_000,
    };
    let started = Instant::now();
    let (trace, build_seconds, seconds): (Trace, f64, f64) = match backend {
        Backend::Verilator => {
            let library = build(dir, manifest, &BuildOptions::default()).map_err(|e| e.to_string())?;
            let built = started.elapsed().as_secs_f64();
            let ports = PortMap::new(manifest);
            let mut model = VerilatedModel::load(&library, &ports, dir).map_err(|e| e.to_string())?;
            let run = Instant::now();
            let trace = drive(&mut model, &ports, &stimulus).map_err(|e| e.to_string())?;
            (trace, built, run.elapsed().as_secs_f64())
        }
        Backend::Icarus => {
            let work = dir.join("icarus");
            std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
            let (trace, compile) = icarus::run(dir, &work, manifest, &stimulus, &IcarusOptions::default())
                .map_err(|e| e.to_string())?;
            let all = started.elapsed().as_secs_f64();
            (trace, compile, all - compile)
        }
        Backend::RustHdl => {
            return Err(
                "the layer runs on Verilator or Icarus (rust-hdl's simulator: sim/tests/encoder_layer.rs)"
                    .into(),
            )
        }
    };
    let got: Vec<i64> = (0..trace.outputs[0].len())
        .map(|k| trace.outputs[0].lanes16(k, 1)[0])
        .collect();
    if let Some(k) = (0..expected.len()).find(|&k| got.get(k) != Some(&expected[k])) {
        return Err(format!(
            "output element {k} (token {}, element {}): expected {}, got {:?}",
            k / token,
            k % token,
            expected[k],
            got.get(k)
        ));
    }
    for (what, rtl, model) in [
        ("input", &trace.input_cycles[0], &graph.input_cycles[0]),
        ("output", &trace.output_cycles[0], &graph.output_cycles[0]),
    ] {
        if let Some(k) = (0..model.len()).find(|&k| rtl.get(k) != model.get(k)) {
            return Err(format!(
                "{what} beat {k}: handshake at cycle {:?}, the layer graph says {}",
                rtl.get(k),
                model[k]
            ));
        }
    }
    let output = design.layer.formats().tensor(Tensor::Output);
    let shape = (got.len() / token, token);
    let as_array = |v: Vec<f64>| Array2::from_shape_vec(shape, v).map_err(|e| e.to_string());
    let float_error = rows_error(
        as_array(dequantize_all(&got, output))?.view(),
        as_array(float)?.view(),
    );
    Ok(LayerVerdict {
        beats: got.len(),
        cycles: trace.output_cycles[0].last().map_or(0, |c| c + 1),
        float_error,
        seconds,
        build_seconds,
        saturated: trace.status.last().copied().unwrap_or(false),
    })
}
