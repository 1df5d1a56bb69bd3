//! Where a layer block's weights come from (seeded random numbers, or a
//! model's safetensors file), the settings of the layer blocks, and the
//! raw-integer weights file written beside their Verilog.
//!
//! The integer model, the ROM contents and the weights file are made from
//! one [`IntLinear`] per layer, so they cannot disagree.

use crate::manifest::{WeightTensor, Weights};
use hwformer_quant::integer::binarized::RandomProjection;
use hwformer_quant::integer::linear::{IntLinear, LinearFormats};
use hwformer_quant::random::{seeded, standard_normal};
use hwformer_quant::reference::{Activation, Linear};
use hwformer_quant::weights::{self, RawTensor};
use hwformer_quant::QFormat;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the weights come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsSource {
    /// Seeded random weights, `N(0, 1 / d_in)`, and biases `N(0, 1/16)`.
    Seeded(u64),
    /// A model file: each of the block's tensors (`w`, `b`; `w1`, `b1`,
    /// `w2`, `b2`) named by the tensor that holds it in the file.
    Safetensors {
        /// The file.
        file: PathBuf,
        /// Block tensor name to file tensor name; a missing bias is zero.
        tensors: BTreeMap<String, String>,
    },
}

impl Default for WeightsSource {
    fn default() -> Self {
        WeightsSource::Seeded(1)
    }
}

impl WeightsSource {
    /// One line saying where the weights came from.
    pub fn describe(&self) -> String {
        match self {
            WeightsSource::Seeded(seed) => format!("seeded random, seed {seed}"),
            WeightsSource::Safetensors { file, tensors } => format!(
                "{} ({})",
                file.display(),
                tensors
                    .iter()
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The float layer with weight `weight` and bias `bias` (block tensor
    /// names) of `d_in` inputs and `d_out` outputs; `layer` numbers the
    /// layers of a block so each seeded layer differs.
    pub fn linear(
        &self,
        weight: &str,
        bias: &str,
        d_in: usize,
        d_out: usize,
        layer: u64,
    ) -> Result<Linear, String> {
        match self {
            WeightsSource::Seeded(seed) => {
                let mut rng = seeded(seed.wrapping_mul(1000).wrapping_add(layer));
                let sigma = 1.0 / (d_in as f64).sqrt();
                let w = ndarray::Array2::from_shape_fn((d_in, d_out), |_| {
                    (sigma * standard_normal(&mut rng)).clamp(-1.9, 1.9)
                });
                let b = ndarray::Array1::from_shape_fn(d_out, |_| {
                    (0.25 * standard_normal(&mut rng)).clamp(-1.0, 1.0)
                });
                Ok(Linear { weight: w, bias: b })
            }
            WeightsSource::Safetensors { file, tensors } => {
                let bytes = std::fs::read(file)
                    .map_err(|e| format!("weights.safetensors: {}: {e}", file.display()))?;
                let name = file.display().to_string();
                let weight_name = tensors.get(weight).ok_or_else(|| {
                    format!("weights.{weight}: name the tensor in {name} that holds `{weight}`")
                })?;
                let layer =
                    weights::read_linear(&bytes, &name, weight_name, tensors.get(bias).map(String::as_str))
                        .map_err(|e| format!("weights.{weight}: {e}"))?;
                if layer.weight.dim() != (d_in, d_out) {
                    return Err(format!(
                        "weights.{weight}: tensor `{weight_name}` is [{}, {}]; the block needs [{d_out}, {d_in}] ([out, in])",
                        layer.weight.ncols(),
                        layer.weight.nrows()
                    ));
                }
                Ok(layer)
            }
        }
    }
}

impl WeightsSource {
    /// The model file's float tensor that holds block tensor `name`, which
    /// must have `shape` (an error for a seeded source).
    fn file_tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f64>, String> {
        let WeightsSource::Safetensors { file, tensors } = self else {
            return Err(format!("weights.{name}: seeded weights have no file"));
        };
        let bytes =
            std::fs::read(file).map_err(|e| format!("weights.safetensors: {}: {e}", file.display()))?;
        let display = file.display().to_string();
        let tensor_name = tensors
            .get(name)
            .ok_or_else(|| format!("weights.{name}: name the tensor in {display} that holds `{name}`"))?;
        let t =
            weights::read_float(&bytes, &display, tensor_name).map_err(|e| format!("weights.{name}: {e}"))?;
        if t.shape != shape {
            return Err(format!(
                "weights.{name}: tensor `{tensor_name}` has shape {:?}; the block needs {shape:?}",
                t.shape
            ));
        }
        Ok(t.values)
    }

    /// A vector parameter `name` of `n` elements (layer norm's gamma and
    /// beta): seeded `center + N(0, 0.1^2)`, or the file's 1-D tensor.
    pub fn vector(&self, name: &str, n: usize, center: f64, layer: u64) -> Result<Vec<f64>, String> {
        match self {
            WeightsSource::Seeded(seed) => {
                let mut rng = seeded(seed.wrapping_mul(1000).wrapping_add(layer));
                Ok((0..n)
                    .map(|_| center + (0.1 * standard_normal(&mut rng)).clamp(-0.5, 0.5))
                    .collect())
            }
            WeightsSource::Safetensors { .. } => self.file_tensor(name, &[n]),
        }
    }
}

impl WeightsSource {
    /// A ±1 matrix `name` of `rows` x `cols` (binary attention's
    /// projection, row-major): seeded signs, or the file's 2-D tensor,
    /// whose every element must be +1 or -1.
    pub fn signs(&self, name: &str, rows: usize, cols: usize) -> Result<Vec<i64>, String> {
        let values = match self {
            WeightsSource::Seeded(seed) => {
                return RandomProjection::signs(cols, rows, *seed)
                    .map(|p| p.weights().to_vec())
                    .map_err(|e| format!("weights.{name}: {e}"))
            }
            WeightsSource::Safetensors { .. } => self.file_tensor(name, &[rows, cols])?,
        };
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| match v {
                1.0 => Ok(1),
                -1.0 => Ok(-1),
                _ => Err(format!(
                    "weights.{name}[{}][{}] = {v}: the projection holds only +1 and -1",
                    i / cols,
                    i % cols
                )),
            })
            .collect()
    }
}

/// The settings of the blocks beyond their formats: the layer blocks'
/// (`linear`, `ffn`, `ternary_ffn`, `layernorm`) and the attention heads'
/// (`n_max`, `output_multipliers`; binary_attention's `bits` and
/// projection), each optional with
/// a default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerSettings {
    /// linear: inputs per token (default 64).
    pub d_in: Option<usize>,
    /// linear: outputs per token (default 64).
    pub d_out: Option<usize>,
    /// ffn: model width (default 64).
    pub d_model: Option<usize>,
    /// ffn: hidden width (default 256).
    pub d_ff: Option<usize>,
    /// Multiply-accumulate lanes (default 8).
    pub lanes: Option<usize>,
    /// `none`, `relu` or `gelu` (linear: default none; ffn: default gelu).
    pub activation: Option<String>,
    /// ffn: slots of the FIFO between the engines (default
    /// `ffn::HIDDEN_DEPTH_DEFAULT`, 2; `hwformer dataflow min-depth
    /// --block ffn` finds the smallest that keeps full throughput).
    pub hidden_depth: Option<usize>,
    /// layernorm: eps (default 1e-5).
    pub eps: Option<f64>,
    /// binary_attention: code bits (default 32).
    pub bits: Option<usize>,
    /// sdpa, binary_attention: most keys a query (default 256).
    pub n_max: Option<usize>,
    /// sdpa, binary_attention: output multipliers, a power of two from 1
    /// to d (default 1): the lanes of an output go out that many a cycle.
    pub output_multipliers: Option<usize>,
    /// Where the weights come from (default seeded, seed 1).
    pub weights: WeightsSource,
}

/// Parses an activation name (`none` is `None`).
pub fn parse_activation(name: &str) -> Result<Option<Activation>, String> {
    match name {
        "none" => Ok(None),
        "relu" => Ok(Some(Activation::Relu)),
        "gelu" => Ok(Some(Activation::Gelu)),
        other => Err(format!("activation = \"{other}\": not one of none, relu, gelu")),
    }
}

/// The name of an activation (`none` for `None`).
pub fn activation_name(activation: Option<Activation>) -> &'static str {
    match activation {
        None => "none",
        Some(Activation::Relu) => "relu",
        Some(Activation::Gelu) => "gelu",
    }
}

/// A layer of the block from its source, quantized (an out-of-format
/// weight is an error naming the tensor).
pub fn quantized(
    source: &WeightsSource,
    (weight, bias): (&str, &str),
    (d_in, d_out): (usize, usize),
    formats: LinearFormats,
    activation: Option<Activation>,
    layer: u64,
) -> Result<IntLinear, String> {
    let float = source.linear(weight, bias, d_in, d_out, layer)?;
    IntLinear::quantize(&float, formats, activation).map_err(|e| format!("weights.{weight}/{bias}: {e}"))
}

/// The raw tensors of a layer: `weight` `[d_out, d_in]` and `bias` `[d_out]`.
pub fn raw_tensors(layer: &IntLinear, weight: &str, bias: &str) -> [RawTensor; 2] {
    let f = layer.formats();
    [
        RawTensor {
            name: weight.into(),
            format: f.weight,
            shape: vec![layer.d_out(), layer.d_in()],
            values: layer.weight_raw().to_vec(),
        },
        RawTensor {
            name: bias.into(),
            format: f.bias(),
            shape: vec![layer.d_out()],
            values: layer.bias_raw().to_vec(),
        },
    ]
}

/// The weights file's bytes and its manifest entry.
pub fn weights_file(
    block: &str,
    source: &WeightsSource,
    tensors: &[RawTensor],
) -> Result<(Vec<u8>, Weights), String> {
    let bytes = weights::write_raw(tensors).map_err(|e| e.to_string())?;
    let entry = Weights {
        file: format!("{block}.safetensors"),
        source: source.describe(),
        tensors: tensors
            .iter()
            .map(|t| {
                Ok(WeightTensor {
                    name: t.name.clone(),
                    format: t.format,
                    dtype: RawTensor::dtype_name(t.format).map_err(|e| e.to_string())?.into(),
                    shape: t.shape.clone(),
                })
            })
            .collect::<Result<_, String>>()?,
    };
    Ok((bytes, entry))
}

/// Reads the raw tensors a manifest names from its weights file in `dir`,
/// each checked against the manifest's shape, dtype and format.
pub fn read_weights(dir: &Path, entry: &Weights) -> Result<BTreeMap<String, RawTensor>, String> {
    let path = dir.join(&entry.file);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path.display().to_string();
    entry
        .tensors
        .iter()
        .map(|t| {
            let want = RawTensor::dtype_name(t.format).map_err(|e| e.to_string())?;
            if t.dtype != want {
                return Err(format!(
                    "the manifest says tensor `{}` is {}, but {} is held as {want}",
                    t.name, t.dtype, t.format
                ));
            }
            weights::read_raw(&bytes, &name, &t.name, t.format, &t.shape)
                .map(|raw| (t.name.clone(), raw))
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// The layer held as tensors `weight` and `bias` of `tensors`, with the
/// input and output formats given (the weight format is the tensor's).
pub fn layer_from_tensors(
    tensors: &BTreeMap<String, RawTensor>,
    (weight, bias): (&str, &str),
    input: QFormat,
    output: QFormat,
    activation: Option<Activation>,
) -> Result<IntLinear, String> {
    let get = |name: &str| {
        tensors
            .get(name)
            .ok_or_else(|| format!("the weights file has no tensor `{name}`"))
    };
    let (w, b) = (get(weight)?, get(bias)?);
    let [d_out, d_in] = w.shape[..] else {
        return Err(format!(
            "tensor `{weight}` has shape {:?}, not [out, in]",
            w.shape
        ));
    };
    let formats = LinearFormats {
        input,
        weight: w.format,
        output,
    };
    if b.format != formats.bias() {
        return Err(format!(
            "tensor `{bias}` is {}, the block adds biases as {}",
            b.format,
            formats.bias()
        ));
    }
    IntLinear::from_raw(
        formats,
        d_in,
        d_out,
        w.values.clone(),
        b.values.clone(),
        activation,
    )
    .map_err(|e| e.to_string())
}
