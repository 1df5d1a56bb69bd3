//! Float (f64) reference models: what the mathematics says.
//!
//! Conventions: a matrix of tokens has one token per row; a linear layer is
//! `y = x W + b` with `W` of shape (inputs, outputs). Every function checks
//! shapes and finiteness and returns a [`QuantError`] instead of panicking.

use crate::error::{check_finite, QuantError, Result};
use crate::tables::gelu::gelu_f64;
use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// Numerically stable softmax of one row (the maximum is subtracted first).
pub fn softmax(row: &[f64]) -> Result<Vec<f64>> {
    if row.is_empty() {
        return Err(QuantError::Empty("softmax row".into()));
    }
    check_finite("softmax row", row)?;
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = row.iter().map(|x| (x - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    Ok(exps.into_iter().map(|e| e / sum).collect())
}

fn check_matrix(what: &str, m: &ArrayView2<f64>) -> Result<()> {
    if m.is_empty() {
        return Err(QuantError::Empty(what.into()));
    }
    if let Some(&value) = m.iter().find(|v| !v.is_finite()) {
        return Err(QuantError::NonFinite {
            what: what.into(),
            value,
        });
    }
    Ok(())
}

fn mismatch(what: &str, expected: impl ToString, found: impl ToString) -> QuantError {
    QuantError::ShapeMismatch {
        what: what.into(),
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

/// Scaled dot-product attention for one head:
/// `out[i] = sum_j softmax_j(scale * q_i . k_j) v_j`.
///
/// `q`: (queries, d), `k`: (keys, d), `v`: (keys, d_v).
pub fn sdpa(q: ArrayView2<f64>, k: ArrayView2<f64>, v: ArrayView2<f64>, scale: f64) -> Result<Array2<f64>> {
    check_matrix("query", &q)?;
    check_matrix("keys", &k)?;
    check_matrix("values", &v)?;
    check_finite("scale", &[scale])?;
    if q.ncols() != k.ncols() {
        return Err(mismatch("sdpa query/key width", q.ncols(), k.ncols()));
    }
    if k.nrows() != v.nrows() {
        return Err(mismatch("sdpa key/value count", k.nrows(), v.nrows()));
    }
    let scores = q.dot(&k.t()) * scale;
    let mut out = Array2::zeros((q.nrows(), v.ncols()));
    for (i, row) in scores.axis_iter(Axis(0)).enumerate() {
        let p = softmax(&row.to_vec())?;
        out.row_mut(i).assign(&Array1::from(p).dot(&v));
    }
    Ok(out)
}

/// A linear layer `y = x W + b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    /// Weights, shape (inputs, outputs).
    pub weight: Array2<f64>,
    /// Bias, one per output.
    pub bias: Array1<f64>,
}

impl Linear {
    /// Applies the layer to every row of `x`.
    pub fn apply(&self, what: &str, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        check_matrix(what, &x)?;
        if x.ncols() != self.weight.nrows() {
            return Err(mismatch(what, self.weight.nrows(), x.ncols()));
        }
        if self.bias.len() != self.weight.ncols() {
            return Err(mismatch("linear bias", self.weight.ncols(), self.bias.len()));
        }
        Ok(x.dot(&self.weight) + &self.bias)
    }
}

/// Weights of multi-head attention with input and output projections;
/// the attention width (the projections' outputs, BERT: the model width)
/// may differ from the model width.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiHeadWeights {
    /// Query projection (model, attention).
    pub query: Linear,
    /// Key projection (model, attention).
    pub key: Linear,
    /// Value projection (model, attention).
    pub value: Linear,
    /// Output projection (attention, model).
    pub output: Linear,
    /// Number of heads; the attention width must be a multiple of it.
    pub heads: usize,
}

impl MultiHeadWeights {
    /// Elements of one head's query, key and value: the attention width
    /// over the heads, or an error when the heads do not divide it.
    pub fn head_size(&self) -> Result<usize> {
        let width = self.query.weight.ncols();
        if self.heads == 0 || width % self.heads != 0 {
            return Err(QuantError::InvalidParameter(format!(
                "{} heads do not divide the attention width {width}",
                self.heads
            )));
        }
        Ok(width / self.heads)
    }
}

/// Multi-head self-attention of the tokens `x` (tokens, model), each head
/// scaled by `1/sqrt(head size)`.
pub fn multi_head_attention(x: ArrayView2<f64>, w: &MultiHeadWeights) -> Result<Array2<f64>> {
    let d = w.head_size()?;
    let width = d * w.heads;
    let q = w.query.apply("attention query projection", x)?;
    let k = w.key.apply("attention key projection", x)?;
    let v = w.value.apply("attention value projection", x)?;
    let scale = 1.0 / (d as f64).sqrt();
    let mut concat = Array2::zeros((x.nrows(), width));
    for h in 0..w.heads {
        let cols = s![.., h * d..(h + 1) * d];
        let head = sdpa(q.slice(cols), k.slice(cols), v.slice(cols), scale)?;
        concat.slice_mut(cols).assign(&head);
    }
    w.output.apply("attention output projection", concat.view())
}

/// The non-linearity between the two FFN layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// `x * Phi(x)` (exact, not the tanh approximation).
    Gelu,
}

impl Activation {
    /// Applies the function to one value.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Gelu => gelu_f64(x),
        }
    }
}

/// Weights of a feed-forward network.
#[derive(Debug, Clone, PartialEq)]
pub struct FfnWeights {
    /// First layer (model, hidden).
    pub up: Linear,
    /// Second layer (hidden, model).
    pub down: Linear,
    /// Non-linearity after the first layer.
    pub activation: Activation,
}

/// Feed-forward network `down(act(up(x)))` on every token.
pub fn ffn(x: ArrayView2<f64>, w: &FfnWeights) -> Result<Array2<f64>> {
    let hidden = w.up.apply("FFN input", x)?.mapv(|h| w.activation.apply(h));
    w.down.apply("FFN hidden", hidden.view())
}

/// Layer normalization of every row: `(x - mean) / sqrt(var + eps) * gamma + beta`
/// with the biased (population) variance.
pub fn layer_norm(
    x: ArrayView2<f64>,
    gamma: ArrayView1<f64>,
    beta: ArrayView1<f64>,
    eps: f64,
) -> Result<Array2<f64>> {
    check_matrix("layer norm input", &x)?;
    check_finite("layer norm eps", &[eps])?;
    if gamma.len() != x.ncols() || beta.len() != x.ncols() {
        return Err(mismatch(
            "layer norm gamma/beta",
            x.ncols(),
            format!("{}/{}", gamma.len(), beta.len()),
        ));
    }
    let mut out = x.to_owned();
    for mut row in out.axis_iter_mut(Axis(0)) {
        let n = row.len() as f64;
        let mean = row.sum() / n;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma.iter()).zip(beta.iter()) {
            *v = (*v - mean) * inv * g + b;
        }
    }
    Ok(out)
}

/// Scale and shift (gamma, beta) of one LayerNorm.
pub type NormAffine = (Array1<f64>, Array1<f64>);

/// Weights of one BERT-style (post-norm) encoder layer; a layer without
/// LayerNorms (the particle-physics transformer hls4ml built) has `None`
/// for both.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderWeights {
    /// Self-attention.
    pub attention: MultiHeadWeights,
    /// Feed-forward network.
    pub ffn: FfnWeights,
    /// Scale and shift of the norm after attention, if there is one.
    pub norm1: Option<NormAffine>,
    /// Scale and shift of the norm after the FFN, if there is one.
    pub norm2: Option<NormAffine>,
    /// Layer norm epsilon.
    pub eps: f64,
}

/// `layer_norm(x)` with `norm`'s gamma and beta, or `x` itself without one.
pub fn optional_layer_norm(x: Array2<f64>, norm: Option<&NormAffine>, eps: f64) -> Result<Array2<f64>> {
    match norm {
        Some((gamma, beta)) => layer_norm(x.view(), gamma.view(), beta.view(), eps),
        None => Ok(x),
    }
}

/// `h = LN(x + MHA(x)); out = LN(h + FFN(h))` (each LN left out when the
/// layer has none).
pub fn encoder_layer(x: ArrayView2<f64>, w: &EncoderWeights) -> Result<Array2<f64>> {
    let attended = &x + &multi_head_attention(x, &w.attention)?;
    let h = optional_layer_norm(attended, w.norm1.as_ref(), w.eps)?;
    let fed = &h + &ffn(h.view(), &w.ffn)?;
    optional_layer_norm(fed, w.norm2.as_ref(), w.eps)
}

/// Binarized attention scores in f64: `sum sign(q) sign(k)` with
/// `sign(x) = +1` for `x >= 0`, optionally after projecting both through
/// `projection` (bits, d).
pub fn binary_scores(
    queries: ArrayView2<f64>,
    keys: ArrayView2<f64>,
    projection: Option<ArrayView2<f64>>,
) -> Result<Array2<f64>> {
    check_matrix("binary queries", &queries)?;
    check_matrix("binary keys", &keys)?;
    if queries.ncols() != keys.ncols() {
        return Err(mismatch("binary query/key width", queries.ncols(), keys.ncols()));
    }
    let sign = |m: Array2<f64>| m.mapv(|x| if x >= 0.0 { 1.0 } else { -1.0 });
    let (q, k) = match projection {
        Some(p) => {
            if p.ncols() != queries.ncols() {
                return Err(mismatch("projection width", queries.ncols(), p.ncols()));
            }
            (sign(queries.dot(&p.t())), sign(keys.dot(&p.t())))
        }
        None => (sign(queries.to_owned()), sign(keys.to_owned())),
    };
    Ok(q.dot(&k.t()))
}
