//! Feed-forward networks on integers: int16 weights, and ternary weights
//! (BitNet b1.58: {-1, 0, +1} and one scale per tensor, activations
//! quantized per token to 8 bits, no multiplies in the dot products).
//!
//! ```text
//!  x (Q.fx) --dot W1 (+b1)--> acc --round, saturate--> h (hidden format)
//!  h --ReLU / GELU table--> a --dot W2 (+b2)--> acc --round, saturate--> y
//! ```

use super::bit_linear::{BitLinear, BitLinearFormats};
use super::check_len;
use super::linear::{IntLinear, LinearFormats};
use crate::error::{QuantError, Result};
use crate::format::QFormat;
use crate::reference::{Activation, FfnWeights};
use ndarray::Array2;

/// Formats of an integer FFN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FfnFormats {
    /// Input token format.
    pub input: QFormat,
    /// Weight format (int16 FFN) or scale format (ternary FFN).
    pub weight: QFormat,
    /// Hidden activation format (GELU needs at least 6 fractional bits).
    pub hidden: QFormat,
    /// Output format.
    pub output: QFormat,
}

impl FfnFormats {
    /// Q3.12 tokens, Q1.14 weights (or scales), Q5.10 hidden, Q3.12 out.
    pub fn default_design() -> Self {
        Self {
            input: QFormat::signed(16, 12).expect("valid"),
            weight: QFormat::signed(16, 14).expect("valid"),
            hidden: QFormat::signed(16, 10).expect("valid"),
            output: QFormat::signed(16, 12).expect("valid"),
        }
    }
}

/// Bit-exact FFN with int16 weights: two [`IntLinear`] layers, the
/// first with the activation.
///
/// Error bound against [`crate::reference::ffn`] run on the dequantized
/// weights and inputs, while no value saturates: half an output LSB, plus
/// the hidden error (the first layer's bound, [`IntLinear::error_bound`])
/// carried through the largest row L1 norm of the second layer.
/// [`IntFfn::error_bound`] computes it for the weights given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntFfn {
    up: IntLinear,
    down: IntLinear,
}

impl IntFfn {
    /// Quantizes float weights into the integer model.
    pub fn new(weights: &FfnWeights, formats: FfnFormats) -> Result<Self> {
        check_len(
            "FFN hidden width",
            weights.down.weight.nrows(),
            weights.up.weight.ncols(),
        )?;
        let up = IntLinear::quantize(
            &weights.up,
            LinearFormats {
                input: formats.input,
                weight: formats.weight,
                output: formats.hidden,
            },
            Some(weights.activation),
        )
        .map_err(|e| prefixed("FFN up", e))?;
        let down = IntLinear::quantize(
            &weights.down,
            LinearFormats {
                input: formats.hidden,
                weight: formats.weight,
                output: formats.output,
            },
            None,
        )
        .map_err(|e| prefixed("FFN down", e))?;
        Self::from_layers(up, down)
    }

    /// The FFN of two layers: `up` (with its activation) then `down`
    /// (without), `down` taking `up`'s outputs in `up`'s output format.
    pub fn from_layers(up: IntLinear, down: IntLinear) -> Result<Self> {
        check_len("FFN hidden width", down.d_in(), up.d_out())?;
        if up.activation().is_none() || down.activation().is_some() {
            return Err(QuantError::InvalidParameter(
                "an FFN's first layer has the activation and its second none".into(),
            ));
        }
        if down.formats().input != up.formats().output {
            return Err(QuantError::InvalidParameter(format!(
                "the FFN's second layer takes {}, its first gives {}",
                down.formats().input,
                up.formats().output
            )));
        }
        Ok(Self { up, down })
    }

    /// The first layer (with the activation).
    pub fn up(&self) -> &IntLinear {
        &self.up
    }

    /// The second layer.
    pub fn down(&self) -> &IntLinear {
        &self.down
    }

    /// The weights as the hardware holds them, dequantized (for the float
    /// reference on the same numbers).
    pub fn dequantized(&self, activation: Activation) -> FfnWeights {
        FfnWeights {
            up: self.up.dequantized(),
            down: self.down.dequantized(),
            activation,
        }
    }

    /// One token through the network: raw input to raw output.
    pub fn run(&self, x: &[i64]) -> Result<Vec<i64>> {
        let hidden = self.up.run(x).map_err(|e| prefixed("FFN", e))?;
        self.down.run(&hidden)
    }

    /// The float reference of one token on the dequantized numbers.
    pub fn float_reference(&self, x: &[i64]) -> Result<Vec<f64>> {
        let activation = self.up.activation().map_or(Activation::Relu, |a| a.kind());
        let real = super::dequantize_all(x, self.up.formats().input);
        let row = Array2::from_shape_vec((1, real.len()), real)
            .map_err(|e| QuantError::InvalidParameter(e.to_string()))?;
        Ok(crate::reference::ffn(row.view(), &self.dequantized(activation))?
            .iter()
            .copied()
            .collect())
    }

    /// The documented bound for these weights (see the type's docs).
    pub fn error_bound(&self) -> f64 {
        0.5 * self.down.formats().output.lsb() + self.down.max_row_l1() * self.up.error_bound()
    }
}

fn prefixed(what: &str, e: QuantError) -> QuantError {
    match e {
        QuantError::InvalidParameter(m) => QuantError::InvalidParameter(format!("{what}: {m}")),
        other => other,
    }
}

/// Bit-exact ternary FFN: two BitNet b1.58 BitLinear layers
/// ([`BitLinear`]), the first with the activation, each with its biases.
///
/// Error bound against [`crate::reference::ffn`] on the dequantized
/// ternary weights and the unquantized input, while nothing saturates:
/// the second layer's own bound for inputs as large as the first can
/// give, plus the first layer's bound carried through the second's
/// largest row L1 norm. [`TernaryFfn::error_bound`] computes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TernaryFfn {
    up: BitLinear,
    down: BitLinear,
}

impl TernaryFfn {
    /// Quantizes float weights to ternary, the scales in
    /// `formats.weight` (the biases rounded into the hidden and output
    /// formats).
    pub fn new(weights: &FfnWeights, formats: FfnFormats) -> Result<Self> {
        check_len(
            "ternary FFN hidden width",
            weights.down.weight.nrows(),
            weights.up.weight.ncols(),
        )?;
        let up = BitLinear::quantize(
            &weights.up,
            BitLinearFormats {
                input: formats.input,
                scale: formats.weight,
                output: formats.hidden,
            },
            Some(weights.activation),
        )
        .map_err(|e| prefixed("ternary FFN up", e))?;
        let down = BitLinear::quantize(
            &weights.down,
            BitLinearFormats {
                input: formats.hidden,
                scale: formats.weight,
                output: formats.output,
            },
            None,
        )
        .map_err(|e| prefixed("ternary FFN down", e))?;
        Self::from_layers(up, down)
    }

    /// The FFN of two layers: `up` (with its activation) then `down`.
    pub fn from_layers(up: BitLinear, down: BitLinear) -> Result<Self> {
        check_len("ternary FFN hidden width", down.d_in(), up.d_out())?;
        if up.activation().is_none() || down.activation().is_some() {
            return Err(QuantError::InvalidParameter(
                "a ternary FFN's first layer has the activation and its second none".into(),
            ));
        }
        if down.formats().input != up.formats().output {
            return Err(QuantError::InvalidParameter(format!(
                "the ternary FFN's second layer takes {}, its first gives {}",
                down.formats().input,
                up.formats().output
            )));
        }
        Ok(Self { up, down })
    }

    /// The first layer (with the activation).
    pub fn up(&self) -> &BitLinear {
        &self.up
    }

    /// The second layer.
    pub fn down(&self) -> &BitLinear {
        &self.down
    }

    /// The ternary weights and the biases dequantized.
    pub fn dequantized(&self, activation: Activation) -> FfnWeights {
        FfnWeights {
            up: self.up.dequantized(),
            down: self.down.dequantized(),
            activation,
        }
    }

    /// One token through the network.
    pub fn run(&self, x: &[i64]) -> Result<Vec<i64>> {
        let hidden = self.up.run(x).map_err(|e| prefixed("ternary FFN", e))?;
        self.down.run(&hidden)
    }

    /// The float reference of one token: the dequantized ternary weights
    /// on the unquantized input and hidden values.
    pub fn float_reference(&self, x: &[i64]) -> Result<Vec<f64>> {
        let activation = self.up.activation().map_or(Activation::Relu, |a| a.kind());
        let real = super::dequantize_all(x, self.up.formats().input);
        let row = Array2::from_shape_vec((1, real.len()), real)
            .map_err(|e| QuantError::InvalidParameter(e.to_string()))?;
        Ok(crate::reference::ffn(row.view(), &self.dequantized(activation))?
            .iter()
            .copied()
            .collect())
    }

    /// The documented bound (see the type's docs) over every input the
    /// input format holds.
    pub fn error_bound(&self) -> f64 {
        let input_max = -self.up.formats().input.min_value();
        let hidden_max = self.up.output_max(input_max);
        self.down.error_bound(hidden_max) + self.down.max_row_l1() * self.up.error_bound(input_max)
    }
}
