//! The encoder layer through the bit-exact integer models, every tensor
//! in its own format ([`LayerFormats`]), in three variants:
//!
//! - `Int16`: int16 weights ([`IntLinear`]) and streaming attention
//!   ([`StreamingSdpa`]), the blocks `linear`, `ffn` and `sdpa` compute;
//! - `Ternary`: the FFN's weights ternarized after training (BitNet
//!   b1.58's absmean rule, [`TernaryFfn`]), its biases added in the hidden
//!   and output formats before each layer's saturation;
//! - `Binary`: every head's scores from 64-bit sign codes of a seeded ±1
//!   projection of q and k ([`BinaryAttention`]), one projection for all
//!   the layer's heads.
//!
//! The residual adds are exact sums rounded half-up and saturated into the
//! next format ([`residual_add`]); the LayerNorms, when the layer has them,
//! are [`IntLayerNorm`] with normalized values in [`normalized_format`].

use super::{head_columns, LayerTensors, Tensor};
use crate::error::{QuantError, Result};
use crate::format::{Overflow, QFormat, Rounding};
use crate::integer::binarized::RandomProjection;
use crate::integer::binary_attention::{default_scale, BinaryAttention};
use crate::integer::bit_linear::{BitLinear, BitLinearFormats};
use crate::integer::ffn::{IntFfn, TernaryFfn};
use crate::integer::layer_norm::{IntLayerNorm, LayerNormFormats};
use crate::integer::linear::{IntLinear, LinearFormats};
use crate::integer::sdpa::{SdpaConfig, StreamingSdpa};
use crate::integer::{check_len, dequantize_all, quantize_all};
use crate::reference::{Activation, EncoderWeights, Linear};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The normalized values inside both LayerNorms: Q5.10 holds
/// `|z| <= sqrt(n - 1)` for n up to 1024.
pub fn normalized_format() -> QFormat {
    QFormat::signed(16, 10).expect("Q5.10 is a format")
}

/// Code bits of the binary attention variant.
pub const BINARY_BITS: usize = 64;

/// Most keys a query of the integer heads (the accumulators' width): the
/// model's longest input.
pub const HEAD_N_MAX: usize = 512;

/// Which integer datapath.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// int16 weights everywhere, streaming attention.
    Int16,
    /// As `Int16`, with the FFN's weights ternarized.
    Ternary,
    /// As `Int16`, with binarized (sign-code) attention scores.
    Binary,
}

impl Variant {
    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Int16 => "int16",
            Variant::Ternary => "ternary",
            Variant::Binary => "binary",
        }
    }
}

/// A format of one layer's weights or LayerNorm affine parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parameter {
    /// Query projection weights.
    QueryWeight,
    /// Key projection weights.
    KeyWeight,
    /// Value projection weights.
    ValueWeight,
    /// Output projection weights.
    AttentionWeight,
    /// FFN first layer weights (or ternary scale).
    UpWeight,
    /// FFN second layer weights (or ternary scale).
    DownWeight,
    /// First LayerNorm's gamma and beta.
    Norm1Affine,
    /// Second LayerNorm's gamma and beta.
    Norm2Affine,
}

impl Parameter {
    /// Every parameter.
    pub const ALL: [Parameter; 8] = [
        Parameter::QueryWeight,
        Parameter::KeyWeight,
        Parameter::ValueWeight,
        Parameter::AttentionWeight,
        Parameter::UpWeight,
        Parameter::DownWeight,
        Parameter::Norm1Affine,
        Parameter::Norm2Affine,
    ];

    /// Its name in format files.
    pub fn name(self) -> &'static str {
        match self {
            Parameter::QueryWeight => "query_weight",
            Parameter::KeyWeight => "key_weight",
            Parameter::ValueWeight => "value_weight",
            Parameter::AttentionWeight => "attention_weight",
            Parameter::UpWeight => "up_weight",
            Parameter::DownWeight => "down_weight",
            Parameter::Norm1Affine => "norm1_affine",
            Parameter::Norm2Affine => "norm2_affine",
        }
    }

    /// The float values it holds in `w`.
    pub fn values(self, w: &EncoderWeights) -> Vec<f64> {
        let linear = |l: &Linear| l.weight.iter().copied().collect::<Vec<_>>();
        let affine = |norm: &Option<crate::reference::NormAffine>| {
            norm.iter()
                .flat_map(|(g, b)| g.iter().chain(b))
                .copied()
                .collect()
        };
        match self {
            Parameter::QueryWeight => linear(&w.attention.query),
            Parameter::KeyWeight => linear(&w.attention.key),
            Parameter::ValueWeight => linear(&w.attention.value),
            Parameter::AttentionWeight => linear(&w.attention.output),
            Parameter::UpWeight => linear(&w.ffn.up),
            Parameter::DownWeight => linear(&w.ffn.down),
            Parameter::Norm1Affine => affine(&w.norm1),
            Parameter::Norm2Affine => affine(&w.norm2),
        }
    }
}

/// Every format of one encoder layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerFormats {
    /// Each tensor's format ([`Tensor::ALL`]; the FFN's hidden layer has
    /// one format before and after its activation).
    pub tensors: BTreeMap<Tensor, QFormat>,
    /// The scaled scores (the exponential's input): Q7.8 to Q4.11.
    pub score: QFormat,
    /// Each parameter's format.
    pub parameters: BTreeMap<Parameter, QFormat>,
}

impl LayerFormats {
    /// One tensor's format.
    pub fn tensor(&self, t: Tensor) -> QFormat {
        self.tensors[&t]
    }

    /// One parameter's format.
    pub fn parameter(&self, p: Parameter) -> QFormat {
        self.parameters[&p]
    }

    /// Name to format, as a format file holds them (`score` included).
    pub fn to_map(&self) -> BTreeMap<String, QFormat> {
        let mut map: BTreeMap<String, QFormat> = self
            .tensors
            .iter()
            .map(|(t, f)| (t.name().to_string(), *f))
            .collect();
        map.insert("score".into(), self.score);
        map.extend(self.parameters.iter().map(|(p, f)| (p.name().to_string(), *f)));
        map
    }

    /// Reads [`Self::to_map`]'s names; `what` names the table in errors.
    pub fn from_map(map: &BTreeMap<String, String>, what: &str) -> Result<Self> {
        let invalid = |why: String| QuantError::InvalidParameter(format!("{what}: {why}"));
        let get = |name: &str| -> Result<QFormat> {
            map.get(name)
                .ok_or_else(|| invalid(format!("no `{name}`")))?
                .parse()
                .map_err(|e| invalid(format!("{name}: {e}")))
        };
        let known: Vec<&str> = Tensor::ALL
            .iter()
            .map(|t| t.name())
            .chain(Parameter::ALL.iter().map(|p| p.name()))
            .chain(["score"])
            .collect();
        if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(invalid(format!(
                "unknown key `{unknown}` (keys: {})",
                known.join(", ")
            )));
        }
        Ok(Self {
            tensors: Tensor::ALL
                .iter()
                .map(|&t| Ok((t, get(t.name())?)))
                .collect::<Result<_>>()?,
            score: get("score")?,
            parameters: Parameter::ALL
                .iter()
                .map(|&p| Ok((p, get(p.name())?)))
                .collect::<Result<_>>()?,
        })
    }
}

/// `a + b` of raw values in formats `fa` and `fb`, exact, then rounded
/// half-up and saturated into `out`: the residual adder.
pub fn residual_add(a: i64, fa: QFormat, b: i64, fb: QFormat, out: QFormat) -> i64 {
    let frac = fa.frac().max(fb.frac());
    let sum = (i128::from(a) << (frac - fa.frac())) + (i128::from(b) << (frac - fb.frac()));
    out.requantize(sum, frac, Rounding::HalfUp, Overflow::Saturate)
        .expect("a right shift or a small left shift of a 33-bit sum") as i64
}

/// The FFN of a layer: int16 weights, or ternary weights with the
/// model's biases.
#[derive(Debug, Clone)]
pub enum LayerFfn {
    /// The `ffn` block's model.
    Int16(IntFfn),
    /// The `ternary_ffn` block's model.
    Ternary(TernaryFfn),
}

impl LayerFfn {
    /// Hidden width.
    pub fn d_ff(&self) -> usize {
        match self {
            LayerFfn::Int16(f) => f.up().d_out(),
            LayerFfn::Ternary(f) => f.up().d_out(),
        }
    }

    /// One token's hidden values (after the activation), raw.
    fn hidden(&self, x: &[i64]) -> Result<Vec<i64>> {
        match self {
            LayerFfn::Int16(f) => f.up().run(x),
            LayerFfn::Ternary(f) => f.up().run(x),
        }
    }

    /// One token's output from its hidden values, raw.
    fn output(&self, hidden: &[i64]) -> Result<Vec<i64>> {
        match self {
            LayerFfn::Int16(f) => f.down().run(hidden),
            LayerFfn::Ternary(f) => f.down().run(hidden),
        }
    }
}

/// The attention every head of a layer uses (one model: the heads
/// differ only in their q, k and v).
#[derive(Debug, Clone)]
pub enum LayerHead {
    /// Streaming attention (the `sdpa` block's model).
    Streaming(Box<StreamingSdpa>),
    /// Binarized scores (the `binary_attention` block's model).
    Binary(Box<BinaryAttention>),
}

impl LayerHead {
    /// The head's configuration (sizes, formats, scale).
    pub fn config(&self) -> &SdpaConfig {
        match self {
            LayerHead::Streaming(m) => m.config(),
            LayerHead::Binary(m) => m.attention().config(),
        }
    }
}

/// The block models of a layer, in the order the data flows.
#[derive(Debug, Clone, Copy)]
pub struct LayerParts<'a> {
    /// The query projection.
    pub query: &'a IntLinear,
    /// The key projection.
    pub key: &'a IntLinear,
    /// The value projection.
    pub value: &'a IntLinear,
    /// The attention every head uses.
    pub head: &'a LayerHead,
    /// The output projection.
    pub output: &'a IntLinear,
    /// The first LayerNorm (none in a layer without them).
    pub norm1: Option<&'a IntLayerNorm>,
    /// The FFN.
    pub ffn: &'a LayerFfn,
    /// The second LayerNorm (none in a layer without them).
    pub norm2: Option<&'a IntLayerNorm>,
}

/// One encoder layer on integers.
#[derive(Debug, Clone)]
pub struct IntEncoderLayer {
    formats: LayerFormats,
    heads: usize,
    head_size: usize,
    query: IntLinear,
    key: IntLinear,
    value: IntLinear,
    attention_heads: LayerHead,
    output: IntLinear,
    norm1: Option<IntLayerNorm>,
    ffn: LayerFfn,
    norm2: Option<IntLayerNorm>,
}

fn prefixed(what: &str, e: QuantError) -> QuantError {
    QuantError::InvalidParameter(format!("{what}: {e}"))
}

impl IntEncoderLayer {
    /// Quantizes one layer's weights into `formats` for `variant` (the
    /// binary heads' projections drawn from `seed`).
    pub fn new(w: &EncoderWeights, formats: &LayerFormats, variant: Variant, seed: u64) -> Result<Self> {
        let f = |t: Tensor| formats.tensor(t);
        let p = |x: Parameter| formats.parameter(x);
        let linear = |what: &str, layer: &Linear, input, weight, output, act: Option<Activation>| {
            IntLinear::quantize(
                layer,
                LinearFormats {
                    input,
                    weight,
                    output,
                },
                act,
            )
            .map_err(|e| prefixed(what, e))
        };
        let a = &w.attention;
        let head_size = a.head_size()?;
        let query = linear(
            "query projection",
            &a.query,
            f(Tensor::Input),
            p(Parameter::QueryWeight),
            f(Tensor::Query),
            None,
        )?;
        let key = linear(
            "key projection",
            &a.key,
            f(Tensor::Input),
            p(Parameter::KeyWeight),
            f(Tensor::Key),
            None,
        )?;
        let value = linear(
            "value projection",
            &a.value,
            f(Tensor::Input),
            p(Parameter::ValueWeight),
            f(Tensor::Value),
            None,
        )?;
        let sdpa_config = SdpaConfig {
            d: head_size,
            n_max: HEAD_N_MAX,
            query: f(Tensor::Query),
            key: f(Tensor::Key),
            value: f(Tensor::Value),
            score: formats.score,
            output: f(Tensor::Context),
            scale: 1.0 / (head_size as f64).sqrt(),
        };
        let attention_heads = match variant {
            Variant::Binary => {
                // one projection for every head of the layer: a random
                // hash is as good for each head as its own would be, and
                // the one time-multiplexed head unit holds one
                let config = SdpaConfig {
                    scale: default_scale(head_size, BINARY_BITS),
                    ..sdpa_config
                };
                let head = RandomProjection::signs(head_size, BINARY_BITS, seed)
                    .and_then(|projection| BinaryAttention::new(config, projection))
                    .map_err(|e| prefixed("binary heads", e))?;
                LayerHead::Binary(Box::new(head))
            }
            _ => LayerHead::Streaming(Box::new(
                StreamingSdpa::new(sdpa_config).map_err(|e| prefixed("attention heads", e))?,
            )),
        };
        let output = linear(
            "attention output projection",
            &a.output,
            f(Tensor::Context),
            p(Parameter::AttentionWeight),
            f(Tensor::Attention),
            None,
        )?;
        let norm = |what: &str,
                    input: Tensor,
                    affine: Parameter,
                    out: Tensor,
                    norm: &Option<crate::reference::NormAffine>|
         -> Result<Option<IntLayerNorm>> {
            let Some((g, b)) = norm else {
                // no norm: its output is its input, in the same format
                return if f(input) == f(out) {
                    Ok(None)
                } else {
                    Err(QuantError::InvalidParameter(format!(
                        "{what}: a layer without it needs the {} format {} equal to the {} format {}",
                        out.name(),
                        f(out),
                        input.name(),
                        f(input)
                    )))
                };
            };
            let formats = LayerNormFormats {
                input: f(input),
                normalized: normalized_format(),
                affine: p(affine),
                output: f(out),
            };
            IntLayerNorm::new(
                formats,
                g.as_slice().expect("an owned vector is contiguous"),
                b.as_slice().expect("an owned vector is contiguous"),
                w.eps,
            )
            .map(Some)
            .map_err(|e| prefixed(what, e))
        };
        let norm1 = norm(
            "first LayerNorm",
            Tensor::Residual1,
            Parameter::Norm1Affine,
            Tensor::Norm1,
            &w.norm1,
        )?;
        let norm2 = norm(
            "second LayerNorm",
            Tensor::Residual2,
            Parameter::Norm2Affine,
            Tensor::Output,
            &w.norm2,
        )?;
        let ffn = match variant {
            Variant::Ternary => {
                let ternary = |what: &str, layer: &Linear, input, scale, output, act| {
                    BitLinear::quantize(layer, BitLinearFormats { input, scale, output }, act)
                        .map_err(|e| prefixed(what, e))
                };
                let up = ternary(
                    "ternary FFN up",
                    &w.ffn.up,
                    f(Tensor::Norm1),
                    p(Parameter::UpWeight),
                    f(Tensor::Hidden),
                    Some(w.ffn.activation),
                )?;
                let down = ternary(
                    "ternary FFN down",
                    &w.ffn.down,
                    f(Tensor::Hidden),
                    p(Parameter::DownWeight),
                    f(Tensor::Ffn),
                    None,
                )?;
                LayerFfn::Ternary(TernaryFfn::from_layers(up, down).map_err(|e| prefixed("ternary FFN", e))?)
            }
            _ => {
                let up = linear(
                    "FFN up",
                    &w.ffn.up,
                    f(Tensor::Norm1),
                    p(Parameter::UpWeight),
                    f(Tensor::Hidden),
                    Some(w.ffn.activation),
                )?;
                let down = linear(
                    "FFN down",
                    &w.ffn.down,
                    f(Tensor::Hidden),
                    p(Parameter::DownWeight),
                    f(Tensor::Ffn),
                    None,
                )?;
                LayerFfn::Int16(IntFfn::from_layers(up, down).map_err(|e| prefixed("FFN", e))?)
            }
        };
        Ok(Self {
            formats: formats.clone(),
            heads: a.heads,
            head_size,
            query,
            key,
            value,
            attention_heads,
            output,
            norm1,
            ffn,
            norm2,
        })
    }

    /// The formats it was built for.
    pub fn formats(&self) -> &LayerFormats {
        &self.formats
    }

    /// The models of the layer's blocks, for hardware built from them.
    pub fn parts(&self) -> LayerParts<'_> {
        LayerParts {
            query: &self.query,
            key: &self.key,
            value: &self.value,
            head: &self.attention_heads,
            output: &self.output,
            norm1: self.norm1.as_ref(),
            ffn: &self.ffn,
            norm2: self.norm2.as_ref(),
        }
    }

    /// The streaming attention model every head of the int16 and ternary
    /// variants uses (`None` for binary heads).
    pub fn head_model(&self) -> Option<&StreamingSdpa> {
        match &self.attention_heads {
            LayerHead::Streaming(m) => Some(m),
            LayerHead::Binary(_) => None,
        }
    }

    /// One layer on raw tokens `x` (tokens x width, in the input format):
    /// every tensor, raw.
    pub fn run(&self, x: &Array2<i64>, mask: &[bool]) -> Result<IntLayerTensors> {
        check_len("attention mask", mask.len(), x.nrows())?;
        let f = |t: Tensor| self.formats.tensor(t);
        let rows = |m: &Array2<i64>, run: &dyn Fn(&[i64]) -> Result<Vec<i64>>| -> Result<Array2<i64>> {
            let out: Vec<Vec<i64>> = m
                .rows()
                .into_iter()
                .map(|r| run(r.as_slice().expect("row-major")))
                .collect::<Result<_>>()?;
            let cols = out.first().map_or(0, Vec::len);
            Array2::from_shape_vec((out.len(), cols), out.concat())
                .map_err(|e| QuantError::InvalidParameter(e.to_string()))
        };
        let q = rows(x, &|t| self.query.run(t))?;
        let k = rows(x, &|t| self.key.run(t))?;
        let v = rows(x, &|t| self.value.run(t))?;
        let mut context = Array2::zeros(q.dim());
        let real: Vec<usize> = (0..mask.len()).filter(|&t| mask[t]).collect();
        for h in 0..self.heads {
            let cols = h * self.head_size..(h + 1) * self.head_size;
            let head_rows = |m: &Array2<i64>| -> Vec<Vec<i64>> {
                real.iter()
                    .map(|&t| m.row(t).as_slice().expect("row-major")[cols.clone()].to_vec())
                    .collect()
            };
            let (keys, values) = (head_rows(&k), head_rows(&v));
            for t in 0..q.nrows() {
                let row = q.row(t);
                let query = &row.as_slice().expect("row-major")[cols.clone()];
                let out = match &self.attention_heads {
                    LayerHead::Streaming(m) => m.run_query(query, &keys, &values)?,
                    LayerHead::Binary(b) => b.run_query(query, &keys, &values)?,
                };
                for (i, o) in out.into_iter().enumerate() {
                    context[[t, cols.start + i]] = o;
                }
            }
        }
        let attention = rows(&context, &|t| self.output.run(t))?;
        let add = |a: &Array2<i64>, fa: Tensor, b: &Array2<i64>, fb: Tensor, out: Tensor| {
            Array2::from_shape_fn(a.dim(), |ix| residual_add(a[ix], f(fa), b[ix], f(fb), f(out)))
        };
        let residual1 = add(x, Tensor::Input, &attention, Tensor::Attention, Tensor::Residual1);
        let norm = |x: Array2<i64>, norm: &Option<IntLayerNorm>| match norm {
            Some(n) => rows(&x, &|t| n.run(t)),
            None => Ok(x),
        };
        let norm1 = norm(residual1.clone(), &self.norm1)?;
        let hidden = rows(&norm1, &|t| self.ffn.hidden(t))?;
        let ffn = rows(&hidden, &|t| self.ffn.output(t))?;
        let residual2 = add(&norm1, Tensor::Norm1, &ffn, Tensor::Ffn, Tensor::Residual2);
        let output = norm(residual2.clone(), &self.norm2)?;
        Ok(IntLayerTensors {
            tensors: vec![
                x.clone(),
                q,
                k,
                v,
                context,
                attention,
                residual1,
                norm1,
                hidden,
                ffn,
                residual2,
                output,
            ],
        })
    }
}

/// One layer's tensors as raw integers, in [`Tensor::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntLayerTensors {
    tensors: Vec<Array2<i64>>,
}

impl IntLayerTensors {
    /// One tensor, raw.
    pub fn get(&self, t: Tensor) -> &Array2<i64> {
        &self.tensors[t as usize]
    }

    /// Values of the real tokens (rows where `mask` holds) at their
    /// format's smallest or largest value, over every tensor but the
    /// input: saturated ones, or ones exactly at the edge.
    pub fn at_limits(&self, formats: &LayerFormats, mask: &[bool]) -> usize {
        Tensor::ALL[1..]
            .iter()
            .map(|&t| {
                let f = formats.tensor(t);
                let (low, high) = (f.min_raw() as i64, f.max_raw() as i64);
                self.get(t)
                    .rows()
                    .into_iter()
                    .zip(mask)
                    .filter(|(_, &real)| real)
                    .map(|(row, _)| row.iter().filter(|&&v| v == low || v == high).count())
                    .sum::<usize>()
            })
            .sum()
    }

    /// Every tensor as the real numbers its raw values stand for.
    pub fn dequantized(&self, formats: &LayerFormats) -> LayerTensors {
        LayerTensors {
            tensors: Tensor::ALL
                .iter()
                .map(|&t| {
                    let raw = self.get(t);
                    let values = dequantize_all(raw.as_slice().expect("standard layout"), formats.tensor(t));
                    Array2::from_shape_vec(raw.dim(), values).expect("same shape")
                })
                .collect(),
        }
    }
}

/// A whole encoder on integers: the float embeddings quantized into the
/// first layer's input format, then each layer.
#[derive(Debug, Clone)]
pub struct IntEncoder {
    layers: Vec<IntEncoderLayer>,
}

impl IntEncoder {
    /// Quantizes `layers` (one format table each; a layer's input format
    /// must be the previous layer's output format).
    pub fn new(
        layers: &[EncoderWeights],
        formats: &[LayerFormats],
        variant: Variant,
        seed: u64,
    ) -> Result<Self> {
        check_len("format tables (one per layer)", formats.len(), layers.len())?;
        for (l, pair) in formats.windows(2).enumerate() {
            if pair[1].tensor(Tensor::Input) != pair[0].tensor(Tensor::Output) {
                return Err(QuantError::InvalidParameter(format!(
                    "layer {}'s input is {}, layer {l}'s output {}: they must agree",
                    l + 1,
                    pair[1].tensor(Tensor::Input),
                    pair[0].tensor(Tensor::Output)
                )));
            }
        }
        Ok(Self {
            layers: layers
                .iter()
                .zip(formats)
                .enumerate()
                .map(|(l, (w, f))| {
                    IntEncoderLayer::new(w, f, variant, seed).map_err(|e| prefixed(&format!("layer {l}"), e))
                })
                .collect::<Result<_>>()?,
        })
    }

    /// The layers.
    pub fn layers(&self) -> &[IntEncoderLayer] {
        &self.layers
    }

    /// Every layer's tensors, raw, from the float embeddings.
    pub fn forward(&self, embeddings: &Array2<f64>, mask: &[bool]) -> Result<Vec<IntLayerTensors>> {
        let first = self
            .layers
            .first()
            .ok_or_else(|| QuantError::Empty("encoder layers".into()))?;
        let raw = quantize_all(
            "embeddings",
            embeddings.as_slice().expect("standard layout"),
            first.formats.tensor(Tensor::Input),
        )?;
        let mut x = Array2::from_shape_vec(embeddings.dim(), raw)
            .map_err(|e| QuantError::InvalidParameter(e.to_string()))?;
        let mut out = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let t = layer.run(&x, mask)?;
            x = t.get(Tensor::Output).clone();
            out.push(t);
        }
        Ok(out)
    }
}

/// The raw q, k and v rows of one head (real tokens only for k and v; all
/// tokens for q) from a layer's raw tensors.
pub fn head_inputs(t: &IntLayerTensors, head: usize, head_size: usize, mask: &[bool]) -> [Vec<Vec<i64>>; 3] {
    let take = |m: &Array2<i64>, only_real: bool| -> Vec<Vec<i64>> {
        (0..m.nrows())
            .filter(|&r| !only_real || mask[r])
            .map(|r| {
                m.row(r).as_slice().expect("row-major")[head * head_size..(head + 1) * head_size].to_vec()
            })
            .collect()
    };
    [
        take(t.get(Tensor::Query), false),
        take(t.get(Tensor::Key), true),
        take(t.get(Tensor::Value), true),
    ]
}

/// The float head output columns matching [`head_inputs`].
pub fn float_head_output(t: &LayerTensors, head: usize, head_size: usize) -> Array2<f64> {
    head_columns(t.get(Tensor::Context).view(), head, head_size).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(frac: u32) -> QFormat {
        QFormat::signed(16, frac).unwrap()
    }

    #[test]
    fn a_format_table_reads_back_and_names_what_is_wrong() {
        let formats = LayerFormats {
            tensors: Tensor::ALL
                .iter()
                .enumerate()
                .map(|(i, &t)| (t, q(4 + i as u32)))
                .collect(),
            score: q(9),
            parameters: Parameter::ALL
                .iter()
                .enumerate()
                .map(|(i, &p)| (p, q(15 - i as u32)))
                .collect(),
        };
        let text: BTreeMap<String, String> = formats
            .to_map()
            .into_iter()
            .map(|(k, f)| (k, f.to_string()))
            .collect();
        assert_eq!(LayerFormats::from_map(&text, "t").unwrap(), formats);
        let mut missing = text.clone();
        missing.remove("score");
        assert!(LayerFormats::from_map(&missing, "t")
            .unwrap_err()
            .to_string()
            .contains("no `score`"));
        let mut unknown = text.clone();
        unknown.insert("quey".into(), "Q3.12".into());
        assert!(LayerFormats::from_map(&unknown, "t")
            .unwrap_err()
            .to_string()
            .contains("unknown key `quey`"));
        let mut bad = text;
        bad.insert("query".into(), "Q3".into());
        assert!(LayerFormats::from_map(&bad, "t")
            .unwrap_err()
            .to_string()
            .contains("query"));
    }

    proptest! {
        #[test]
        fn the_residual_add_is_the_rounded_exact_sum_saturated(
            a in -32768i64..32768, b in -32768i64..32768, fa in 0u32..16, fb in 0u32..16, fo in 0u32..16,
        ) {
            let got = residual_add(a, q(fa), b, q(fb), q(fo));
            let exact = q(fa).to_f64(i128::from(a)) + q(fb).to_f64(i128::from(b));
            // half-up rounding of the exact sum in the output's LSBs, then saturation
            let want = (exact * 2f64.powi(fo as i32) + 0.5).floor().clamp(-32768.0, 32767.0) as i64;
            prop_assert_eq!(got, want);
        }
    }
}
