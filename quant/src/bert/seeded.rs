//! A BERT encoder layer of any shape with seeded weights, its formats
//! calibrated on seeded token sequences, and its integer model beside the
//! float one: the layer a preset builds when no model file is given.
//!
//! ```text
//!  seed ─▶ weights N(0, 1/d_in), biases N(0, 0.05²), γ = 1 + N(0, 0.1²), β N(0, 0.1²), exact GELU (or ReLU)
//!  seed + 1, + 2, ... ─▶ calibration sequences, tokens N(0, 1) ─▶ float_layer ─▶ calibrate_runs ─▶ LayerFormats
//!  LayerFormats + weights ─▶ IntEncoderLayer (int16)
//! ```

use super::calibrate::{calibrate_runs, Calibration};
use super::float_layer;
use super::integer::{IntEncoderLayer, Variant};
use super::layer_source::LayerSource;
use crate::error::{QuantError, Result};
use crate::random::{normal_vec, seeded, SeededRng};
use crate::reference::{Activation, EncoderWeights, FfnWeights, Linear, MultiHeadWeights};
use ndarray::{Array1, Array2};

/// Sequences the formats are calibrated on.
pub const CALIBRATION_SEQUENCES: usize = 8;

/// The layer's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSize {
    /// Token width.
    pub d_model: usize,
    /// Heads.
    pub heads: usize,
    /// Elements of one head's query, key and value (BERT: `d_model /
    /// heads`; the q, k and v projections give `heads × head_size`).
    pub head_size: usize,
    /// FFN width.
    pub d_ff: usize,
    /// Tokens a sequence.
    pub tokens: usize,
    /// A LayerNorm after each residual add (BERT), or none.
    pub layer_norm: bool,
    /// The FFN's activation.
    pub activation: Activation,
    /// The integer datapath (int16, a ternary FFN, binary attention).
    pub variant: Variant,
}

impl LayerSize {
    /// A BERT layer's: heads of `d_model / heads` (rounded down: give a
    /// `d_model` the heads divide), LayerNorms, GELU.
    pub fn bert(d_model: usize, heads: usize, d_ff: usize, tokens: usize) -> Self {
        Self {
            d_model,
            heads,
            head_size: d_model / heads.max(1),
            d_ff,
            tokens,
            layer_norm: true,
            activation: Activation::Gelu,
            variant: Variant::Int16,
        }
    }
}

/// A seeded layer: float weights, calibrated formats, the integer model.
#[derive(Debug, Clone)]
pub struct SeededLayer {
    /// The float weights.
    pub weights: EncoderWeights,
    /// The calibration (formats and the ranges that chose them).
    pub calibration: Calibration,
    /// The integer layer (the size's variant) in those formats.
    pub integer: IntEncoderLayer,
    size: LayerSize,
    seed: u64,
}

fn linear(rng: &mut SeededRng, d_in: usize, d_out: usize) -> Linear {
    let weight = normal_vec(rng, d_in * d_out, 1.0 / (d_in as f64).sqrt());
    Linear {
        weight: Array2::from_shape_vec((d_in, d_out), weight).expect("d_in x d_out values"),
        bias: Array1::from(normal_vec(rng, d_out, 0.05)),
    }
}

fn norm(rng: &mut SeededRng, d: usize) -> (Array1<f64>, Array1<f64>) {
    let gamma = normal_vec(rng, d, 0.1)
        .into_iter()
        .map(|g| 1.0 + g)
        .collect::<Vec<_>>();
    (Array1::from(gamma), Array1::from(normal_vec(rng, d, 0.1)))
}

impl SeededLayer {
    /// The layer of `size` from `seed`, calibrated on
    /// [`CALIBRATION_SEQUENCES`] sequences drawn from the seeds after it.
    pub fn new(size: LayerSize, seed: u64) -> Result<Self> {
        let LayerSize {
            d_model,
            heads,
            head_size,
            d_ff,
            tokens,
            layer_norm,
            activation,
            variant,
        } = size;
        if [d_model, heads, head_size, d_ff, tokens].contains(&0) {
            return Err(QuantError::InvalidParameter(format!(
                "a layer needs d_model, heads, head_size, d_ff and tokens of at least 1: {size:?}"
            )));
        }
        let width = heads * head_size;
        let mut rng = seeded(seed);
        let mut weights = EncoderWeights {
            attention: MultiHeadWeights {
                query: linear(&mut rng, d_model, width),
                key: linear(&mut rng, d_model, width),
                value: linear(&mut rng, d_model, width),
                output: linear(&mut rng, width, d_model),
                heads,
            },
            ffn: FfnWeights {
                up: linear(&mut rng, d_model, d_ff),
                down: linear(&mut rng, d_ff, d_model),
                activation,
            },
            norm1: None,
            norm2: None,
            eps: 1e-12,
        };
        if layer_norm {
            weights.norm1 = Some(norm(&mut rng, d_model));
            weights.norm2 = Some(norm(&mut rng, d_model));
        }
        let mask = vec![true; tokens];
        let runs = (1..=CALIBRATION_SEQUENCES as u64)
            .map(|k| {
                let x = Self::sequence_of(size, seed + k);
                Ok((vec![float_layer(x.view(), &weights, &mask)?], mask.clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        let calibration = calibrate_runs(std::slice::from_ref(&weights), &runs)?;
        let integer = IntEncoderLayer::new(&weights, &calibration.formats[0], variant, seed)?;
        Ok(Self {
            weights,
            calibration,
            integer,
            size,
            seed,
        })
    }

    fn sequence_of(size: LayerSize, seed: u64) -> Array2<f64> {
        let mut rng = seeded(seed);
        Array2::from_shape_vec(
            (size.tokens, size.d_model),
            normal_vec(&mut rng, size.tokens * size.d_model, 1.0),
        )
        .expect("tokens x d_model values")
    }

    /// Sequence `k` of evaluation tokens (never one the formats were
    /// calibrated on), N(0, 1).
    pub fn evaluation_sequence(&self, k: u64) -> Array2<f64> {
        Self::sequence_of(self.size, self.seed + CALIBRATION_SEQUENCES as u64 + 1 + k)
    }
}

impl LayerSource for SeededLayer {
    fn weights(&self) -> &EncoderWeights {
        &self.weights
    }

    fn integer(&self) -> &IntEncoderLayer {
        &self.integer
    }

    fn evaluation_input(&self, k: usize) -> Result<Array2<f64>> {
        Ok(self.evaluation_sequence(k as u64))
    }
}
