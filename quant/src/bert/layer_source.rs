//! A layer the hardware is built from, whatever made it: seeded weights
//! ([`super::seeded::SeededLayer`]) or one layer of a model file
//! ([`ModelLayer`]): its float weights, its int16 model, and the float
//! inputs of the sequences it is evaluated on (never calibrated on).
//!
//! ```text
//!  LayerSource ─▶ integer() ─▶ the RTL's blocks (hdl::encoder_layer)
//!              ─▶ evaluation_input(k) ─▶ run_integer ─▶ expected outputs, bit for bit
//!                                     ─▶ float_layer(weights()) ─▶ the float outputs
//! ```

use super::compare::{rows_error, TensorError};
use super::integer::{IntEncoderLayer, LayerFormats, Variant};
use super::{float_layer, Tensor};
use crate::error::{QuantError, Result};
use crate::integer::{dequantize_all, quantize_all};
use crate::reference::EncoderWeights;
use ndarray::Array2;

/// A layer with weights, an int16 model and evaluation sequences.
pub trait LayerSource: Send + Sync {
    /// The float weights.
    fn weights(&self) -> &EncoderWeights;

    /// The int16 layer.
    fn integer(&self) -> &IntEncoderLayer;

    /// The float input of evaluation sequence `k` (tokens × d_model); an
    /// error when there is no such sequence.
    fn evaluation_input(&self, k: usize) -> Result<Array2<f64>>;

    /// The formats.
    fn formats(&self) -> &LayerFormats {
        self.integer().formats()
    }

    /// The float sequence `x` in the layer's input format.
    fn quantize_input(&self, x: &Array2<f64>) -> Result<Array2<i64>> {
        let input = self.formats().tensor(Tensor::Input);
        let raw = quantize_all("layer input", x.as_slice().expect("standard layout"), input)?;
        Array2::from_shape_vec(x.dim(), raw).map_err(|e| QuantError::InvalidParameter(e.to_string()))
    }

    /// The integer layer's raw input and output for the float sequence
    /// `x` (quantized into the input format).
    fn run_integer(&self, x: &Array2<f64>) -> Result<(Array2<i64>, Array2<i64>)> {
        let raw = self.quantize_input(x)?;
        let out = self.integer().run(&raw, &vec![true; x.nrows()])?;
        Ok((raw, out.get(Tensor::Output).clone()))
    }

    /// The integer layer's output against the float layer's on `x`.
    fn error(&self, x: &Array2<f64>) -> Result<TensorError> {
        let (_, raw) = self.run_integer(x)?;
        let output = self.formats().tensor(Tensor::Output);
        let got = Array2::from_shape_vec(
            raw.dim(),
            dequantize_all(raw.as_slice().expect("standard layout"), output),
        )
        .map_err(|e| QuantError::InvalidParameter(e.to_string()))?;
        let exact = float_layer(x.view(), self.weights(), &vec![true; x.nrows()])?;
        Ok(rows_error(got.view(), exact.get(Tensor::Output).view()))
    }

    /// Every tensor after the input, int16 model minus float layer, each
    /// element dequantized, on `x` (each block's output tensor: its error
    /// includes the error of the blocks before it).
    fn tensor_errors(&self, x: &Array2<f64>) -> Result<Vec<(Tensor, Vec<f64>)>> {
        let raw = self.quantize_input(x)?;
        let mask = vec![true; x.nrows()];
        let integer = self.integer().run(&raw, &mask)?;
        let exact = float_layer(x.view(), self.weights(), &mask)?;
        Ok(Tensor::ALL[1..]
            .iter()
            .map(|&t| {
                let format = self.formats().tensor(t);
                let errors = integer
                    .get(t)
                    .iter()
                    .zip(exact.get(t))
                    .map(|(&g, &w)| format.to_f64(i128::from(g)) - w)
                    .collect();
                (t, errors)
            })
            .collect())
    }
}

/// One layer of a model file: its float weights, its int16 model in
/// formats calibrated on the model's activations, and the float inputs of
/// its evaluation sequences (the model's own activations at this layer for
/// texts it was not calibrated on).
#[derive(Debug, Clone)]
pub struct ModelLayer {
    weights: EncoderWeights,
    integer: IntEncoderLayer,
    inputs: Vec<Array2<f64>>,
}

impl ModelLayer {
    /// The layer of `weights` in `formats` and `variant`, evaluated on
    /// `inputs` (each tokens × d_model, all of one length).
    pub fn new(
        weights: EncoderWeights,
        formats: &LayerFormats,
        variant: Variant,
        inputs: Vec<Array2<f64>>,
    ) -> Result<Self> {
        let d_model = weights.attention.query.weight.nrows();
        let tokens = inputs.first().map_or(0, |x| x.nrows());
        if inputs.iter().any(|x| x.dim() != (tokens, d_model)) || tokens == 0 {
            return Err(QuantError::InvalidParameter(format!(
                "the evaluation inputs must be sequences of one length with {d_model} elements a token"
            )));
        }
        let integer = IntEncoderLayer::new(&weights, formats, variant, 1)?;
        Ok(Self {
            weights,
            integer,
            inputs,
        })
    }
}

impl LayerSource for ModelLayer {
    fn weights(&self) -> &EncoderWeights {
        &self.weights
    }

    fn integer(&self) -> &IntEncoderLayer {
        &self.integer
    }

    fn evaluation_input(&self, k: usize) -> Result<Array2<f64>> {
        self.inputs.get(k).cloned().ok_or_else(|| {
            QuantError::InvalidParameter(format!(
                "evaluation sequence {k}: the layer has {} of the model's",
                self.inputs.len()
            ))
        })
    }
}
