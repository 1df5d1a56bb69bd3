//! `--config LAYER.toml`: an encoder layer in a file, for `hwformer layer
//! gen|sim|synth`, `hwformer dataflow min-depth --layer` and `hwformer
//! run`. A preset gives every value; the file changes some. Every key is
//! checked: an unknown key, a wrong type or a size the hardware does not
//! build is an error that names the key's path and says why.
//!
//! ```toml
//! name = "small"          # names the module hwformer_encoder_layer_small
//!                         # (default: the preset's name; `-` becomes `_`)
//! preset = "tiny"         # tiny | small | jet-tagging | minilm-layer (default tiny)
//!
//! [shape]                 # optional: changes to the preset's shape
//! d_model = 32
//! heads = 4
//! head_size = 8           # the hardware: heads of 8 and 4 lanes
//! d_ff = 64
//! tokens = 8
//! lanes = 4
//! layer_norm = true
//! activation = "gelu"     # the FFN's: gelu | relu
//! variant = "int16"       # int16 | ternary (the FFN's weights ternary)
//!
//! [weights]
//! seed = 7                # seeded weights and calibration tokens (default 7)
//!
//! [fifo]                  # optional: depths instead of the searched ones
//! residual1 = 255         # (all three, or none)
//! hidden = 2
//! residual2 = 70
//!
//! [sim]                   # defaults of `hwformer layer sim`
//! backend = "verilator"   # verilator | iverilog
//! sequences = 2
//! valid = 1.0
//! ready = 1.0
//! seed = 1
//!
//! [synth]
//! family = "xc7"          # xc7 | xcup
//! ```

use crate::xilinx_command::FamilyArg;
use clap::ValueEnum;
use hwformer_dataflow::handshake::layer::LayerDepths;
use hwformer_sim::layer::{check_layer_name, hardware_support, LayerDesign};
use hwformer_sim::timing::LayerPlan;
use serde::Deserialize;
use std::path::Path;

/// A layer configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerConfig {
    /// The layer's name (letters, digits, `-`, `_`).
    pub name: Option<String>,
    /// The preset it starts from.
    pub preset: Option<String>,
    /// Changes to the preset's shape.
    #[serde(default)]
    pub shape: ShapeConfig,
    /// The weights.
    #[serde(default)]
    pub weights: LayerWeightsConfig,
    /// FIFO depths instead of the searched ones.
    pub fifo: Option<FifoConfig>,
    /// Defaults of `hwformer layer sim`.
    #[serde(default)]
    pub sim: LayerSimConfig,
    /// Defaults of `hwformer layer synth`.
    #[serde(default)]
    pub synth: LayerSynthConfig,
    /// The file it was read from (errors name it).
    #[serde(skip)]
    pub source: Option<std::path::PathBuf>,
}

/// `[shape]`: each key replaces the preset's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeConfig {
    /// Width of a token.
    pub d_model: Option<u32>,
    /// Attention heads.
    pub heads: Option<u32>,
    /// Elements of one head's query, key and value.
    pub head_size: Option<u32>,
    /// Hidden width of the FFN.
    pub d_ff: Option<u32>,
    /// Tokens a sequence.
    pub tokens: Option<u32>,
    /// Lanes of the linear blocks.
    pub lanes: Option<u32>,
    /// A LayerNorm after each residual add.
    pub layer_norm: Option<bool>,
    /// The FFN's activation, `gelu` or `relu`.
    pub activation: Option<hwformer_quant::reference::Activation>,
    /// The integer datapath, `int16` or `ternary` (`binary` has no layer
    /// hardware: an error).
    pub variant: Option<hwformer_quant::bert::integer::Variant>,
}

/// `[weights]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerWeightsConfig {
    /// Seed of the weights and of the calibration and evaluation tokens.
    pub seed: Option<u64>,
}

/// `[fifo]`: the three depths.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FifoConfig {
    /// The layer's input beside the attention.
    pub residual1: usize,
    /// The FFN's hidden FIFO.
    pub hidden: usize,
    /// The FFN's input beside the FFN.
    pub residual2: usize,
}

/// `[sim]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSimConfig {
    /// `verilator` or `iverilog`.
    pub backend: Option<String>,
    /// Sequences run through.
    pub sequences: Option<usize>,
    /// Probability that the input offers an element in a cycle.
    pub valid: Option<f64>,
    /// Probability that the output is taken in a cycle.
    pub ready: Option<f64>,
    /// Seed of the gaps and back-pressure.
    pub seed: Option<u64>,
}

/// `[synth]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSynthConfig {
    /// `xc7` or `xcup`.
    pub family: Option<String>,
}

/// Most elements of a sequence (tokens × d_model) a configuration may ask
/// for: 2^24, far beyond any layer the hardware builds.
pub const SEQUENCE_ELEMENTS_MAX: usize = 1 << 24;

/// The seed of the weights when neither a file nor a flag gives one.
pub const DEFAULT_WEIGHTS_SEED: u64 = 7;

impl LayerConfig {
    /// Reads and checks `path`; an error names the file, the key's path
    /// and why.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config = Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses and checks a configuration's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(name) = &config.name {
            check_layer_name(name).map_err(|why| format!("name = \"{name}\": {why}"))?;
        }
        config.plan()?;
        if let Some(b) = &config.sim.backend {
            if !["verilator", "iverilog"].contains(&b.as_str()) {
                return Err(format!("sim.backend = \"{b}\": verilator or iverilog"));
            }
        }
        if let Some(n) = config.sim.sequences {
            check_sequences(n).map_err(|e| format!("sim.sequences: {e}"))?;
        }
        for (key, p) in [("sim.valid", config.sim.valid), ("sim.ready", config.sim.ready)] {
            if let Some(p) = p {
                check_probability(p).map_err(|e| format!("{key}: {e}"))?;
            }
        }
        config.family()?;
        Ok(config)
    }

    /// The preset's name (default `tiny`).
    pub fn preset(&self) -> &str {
        self.preset.as_deref().unwrap_or("tiny")
    }

    /// The layer's name: the file's, or the preset's.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_else(|| self.preset())
    }

    /// The preset's plan with the file's changes; an error names the key.
    pub fn plan(&self) -> Result<LayerPlan, String> {
        let mut plan = LayerPlan::preset(self.preset()).map_err(|e| format!("preset: {e}"))?;
        let s = &self.shape;
        let sizes = [
            ("shape.d_model", s.d_model, &mut plan.shape.d_model),
            ("shape.heads", s.heads, &mut plan.shape.heads),
            ("shape.head_size", s.head_size, &mut plan.shape.head_size),
            ("shape.d_ff", s.d_ff, &mut plan.d_ff),
            ("shape.tokens", s.tokens, &mut plan.shape.tokens),
            ("shape.lanes", s.lanes, &mut plan.lanes),
        ];
        for (key, value, field) in sizes {
            if let Some(v) = value {
                if !(1..=65_536).contains(&v) {
                    return Err(format!("{key} = {v}: 1 to 65536"));
                }
                *field = v;
            }
        }
        if let Some(norm) = s.layer_norm {
            plan.shape.layer_norm = norm;
        }
        if let Some(activation) = s.activation {
            plan.activation = activation;
        }
        if let Some(variant) = s.variant {
            plan.variant = variant;
        }
        let shape = plan.shape;
        if u64::from(shape.heads) * u64::from(shape.head_size) > 65_536 {
            return Err(format!(
                "shape.heads × shape.head_size = {} × {}: attention at most 65536 wide",
                shape.heads, shape.head_size
            ));
        }
        if shape.sequence_elements() > SEQUENCE_ELEMENTS_MAX {
            return Err(format!(
                "shape.tokens × shape.d_model = {} × {}: at most {SEQUENCE_ELEMENTS_MAX} elements a sequence",
                shape.tokens, shape.d_model
            ));
        }
        plan.graph().map_err(|e| format!("shape: {e}"))?;
        Ok(plan)
    }

    /// The weights' seed: the flag's, else the file's, else the default.
    pub fn weights_seed(&self, flag: Option<u64>) -> u64 {
        flag.or(self.weights.seed).unwrap_or(DEFAULT_WEIGHTS_SEED)
    }

    /// The family of `[synth]` (default xc7).
    pub fn family(&self) -> Result<FamilyArg, String> {
        match &self.synth.family {
            None => Ok(FamilyArg::Xc7),
            Some(f) => {
                FamilyArg::from_str(f, true).map_err(|_| format!("synth.family = \"{f}\": xc7 or xcup"))
            }
        }
    }

    /// The layer design: the plan, checked against the hardware, with the
    /// file's FIFO depths or the searched ones.
    pub fn design(&self, weights_seed: Option<u64>) -> Result<LayerDesign, String> {
        self.unchecked_design(weights_seed)
            .map_err(|e| match &self.source {
                Some(path) => format!("{}: {e}", path.display()),
                None => e,
            })
    }

    fn unchecked_design(&self, weights_seed: Option<u64>) -> Result<LayerDesign, String> {
        let plan = self.plan()?;
        hardware_support(&plan).map_err(|why| {
            if self.shape_changed() {
                format!("shape: {why}")
            } else {
                format!("preset `{}`: {why}", self.preset())
            }
        })?;
        let depths = self.fifo.map(|f| LayerDepths {
            residual1: f.residual1,
            hidden: f.hidden,
            residual2: f.residual2,
        });
        if let Some(f) = self.fifo {
            let (fifo, unit) = (
                hwformer_hdl::fifo::FIFO_DEPTH_MAX,
                hwformer_hdl::fifo::FIFO_UNIT_DEPTH_MAX,
            );
            for (key, depth, max) in [
                ("fifo.residual1", f.residual1, unit),
                ("fifo.hidden", f.hidden, fifo),
                ("fifo.residual2", f.residual2, unit),
            ] {
                if !(1..=max).contains(&depth) {
                    return Err(format!("{key} = {depth}: this FIFO is 1 to {max} deep"));
                }
            }
        }
        LayerDesign::build(self.name(), plan, self.weights_seed(weights_seed), depths).map_err(|e| {
            if self.fifo.is_some() && e.to_string().contains("deadlock") {
                format!(
                    "fifo: {e} (`hwformer dataflow min-depth --layer` with this file finds the depths below which it deadlocks)"
                )
            } else {
                e.to_string()
            }
        })
    }

    fn shape_changed(&self) -> bool {
        let s = &self.shape;
        s.d_model.is_some()
            || s.heads.is_some()
            || s.head_size.is_some()
            || s.d_ff.is_some()
            || s.tokens.is_some()
            || s.lanes.is_some()
            || s.layer_norm.is_some()
            || s.activation.is_some()
            || s.variant.is_some()
    }
}

/// An error unless 1 to 64 sequences.
pub fn check_sequences(n: usize) -> Result<(), String> {
    if (1..=64).contains(&n) {
        Ok(())
    } else {
        Err(format!("1 to 64 sequences, not {n}"))
    }
}

/// An error unless `0 < p <= 1`.
pub fn check_probability(p: f64) -> Result<(), String> {
    if p > 0.0 && p <= 1.0 {
        Ok(())
    } else {
        Err(format!("must be above 0 and at most 1, not {p}"))
    }
}
