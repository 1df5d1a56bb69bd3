//! How far an integer run is from the float one: per layer and tensor, the
//! largest and RMS error and the cosine similarity over the real tokens.

use super::{cosine, masked_rows, LayerTensors, Tensor};
use ndarray::ArrayView2;
use serde::Serialize;

/// The error of one tensor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TensorError {
    /// Largest absolute error.
    pub max: f64,
    /// Root mean square error.
    pub rms: f64,
    /// Cosine similarity of the whole tensor (real tokens, flattened).
    pub cosine: f64,
    /// The smallest cosine similarity of one token's vector.
    pub worst_token_cosine: f64,
}

/// The error of `approximate` against `exact` over the rows where `mask` holds.
pub fn tensor_error(
    exact: &LayerTensors,
    approximate: &LayerTensors,
    t: Tensor,
    mask: &[bool],
) -> TensorError {
    rows_error(
        masked_rows(exact.get(t).view(), mask).view(),
        masked_rows(approximate.get(t).view(), mask).view(),
    )
}

/// The error of `b` against `a`, rows of tokens of the same shape.
pub fn rows_error(a: ArrayView2<f64>, b: ArrayView2<f64>) -> TensorError {
    let diff = &a - &b;
    let flat = |m: &ArrayView2<f64>| m.iter().copied().collect::<Vec<_>>();
    TensorError {
        max: diff.iter().fold(0.0, |m, d| m.max(d.abs())),
        rms: (diff.iter().map(|d| d * d).sum::<f64>() / diff.len().max(1) as f64).sqrt(),
        cosine: cosine(&flat(&a), &flat(&b)),
        worst_token_cosine: a
            .rows()
            .into_iter()
            .zip(b.rows())
            .map(|(x, y)| cosine(&x.to_vec(), &y.to_vec()))
            .fold(1.0, f64::min),
    }
}

/// Cosine similarity of every pair of sentence embeddings.
pub fn similarity_matrix(embeddings: &[Vec<f64>]) -> Vec<Vec<f64>> {
    embeddings
        .iter()
        .map(|a| embeddings.iter().map(|b| cosine(a, b)).collect())
        .collect()
}
