//! Feed-forward networks on integers: int16 weights, and ternary weights
//! (BitNet b1.58 style: {-1, 0, +1} and one scale per tensor, no multiplies
//! in the dot products).
//!
//! ```text
//!  x (Q.fx) --dot W1 (+b1)--> acc --round, saturate--> h (hidden format)
//!  h --ReLU / GELU table--> a --dot W2 (+b2)--> acc --round, saturate--> y
//! ```

use super::linear::{narrow, IntActivation, IntLinear, LinearFormats};
use super::{check_len, check_raw};
use crate::error::{QuantError, Result};
use crate::format::{Overflow, QFormat, Rounding};
use crate::reference::{Activation, FfnWeights, Linear};
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
        let row = ndarray::Array2::from_shape_vec((1, real.len()), real)
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

/// A ternary weight matrix: entries in {-1, 0, +1} and one scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TernaryMatrix {
    /// Signs (inputs, outputs), each -1, 0 or +1.
    pub signs: Array2<i8>,
    /// The scale, raw in the FFN's weight format.
    pub scale: i64,
}

impl TernaryMatrix {
    /// BitNet b1.58 absmean quantization: `scale = mean |W|`,
    /// `sign = clip(round(W / scale), -1, 1)`.
    pub fn absmean(what: &str, weight: &Array2<f64>, scale_format: QFormat) -> Result<Self> {
        if weight.is_empty() {
            return Err(QuantError::Empty(what.into()));
        }
        crate::error::check_finite(
            what,
            weight
                .as_slice()
                .unwrap_or(&weight.iter().copied().collect::<Vec<_>>()),
        )?;
        let mean = weight.iter().map(|w| w.abs()).sum::<f64>() / weight.len() as f64;
        let scale = scale_format.quantize(mean, Rounding::HalfUp, Overflow::Saturate)? as i64;
        if scale <= 0 {
            return Err(QuantError::InvalidParameter(format!(
                "{what}: scale {mean} is not positive in {scale_format}"
            )));
        }
        let real_scale = scale_format.to_f64(i128::from(scale));
        let signs = weight.mapv(|w| (w / real_scale).round().clamp(-1.0, 1.0) as i8);
        Ok(Self { signs, scale })
    }

    /// Add/subtract dot product with column `j` (no multiplies).
    fn accumulate(&self, x: &[i64], j: usize) -> i64 {
        x.iter()
            .zip(self.signs.column(j).iter())
            .map(|(&a, &s)| match s {
                1 => a,
                -1 => -a,
                _ => 0,
            })
            .sum()
    }
}

/// Bit-exact ternary FFN (no biases, as in BitNet's BitLinear): each
/// output is `round(scale * sum(+-x))`, one multiply per output, none in
/// the dot products.
///
/// Error bound against [`crate::reference::ffn`] with the dequantized
/// ternary weights (`sign * scale`), while nothing saturates: the same
/// form as [`IntFfn`]'s, computed by [`TernaryFfn::error_bound`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TernaryFfn {
    formats: FfnFormats,
    up: TernaryMatrix,
    down: TernaryMatrix,
    activation: IntActivation,
}

impl TernaryFfn {
    /// Quantizes float weights (biases must be zero) to ternary.
    pub fn new(weights: &FfnWeights, formats: FfnFormats) -> Result<Self> {
        if weights
            .up
            .bias
            .iter()
            .chain(weights.down.bias.iter())
            .any(|&b| b != 0.0)
        {
            return Err(QuantError::InvalidParameter(
                "ternary FFN has no biases; they must be zero".into(),
            ));
        }
        check_len(
            "ternary FFN hidden width",
            weights.down.weight.nrows(),
            weights.up.weight.ncols(),
        )?;
        Ok(Self {
            formats,
            up: TernaryMatrix::absmean("ternary FFN up weight", &weights.up.weight, formats.weight)?,
            down: TernaryMatrix::absmean("ternary FFN down weight", &weights.down.weight, formats.weight)?,
            activation: IntActivation::new(weights.activation, formats.hidden)?,
        })
    }

    /// The ternary weights dequantized, with zero biases.
    pub fn dequantized(&self, activation: Activation) -> FfnWeights {
        let w = self.formats.weight;
        let layer = |m: &TernaryMatrix| {
            let scale = w.to_f64(i128::from(m.scale));
            Linear {
                weight: m.signs.mapv(|s| f64::from(s) * scale),
                bias: ndarray::Array1::zeros(m.signs.ncols()),
            }
        };
        FfnWeights {
            up: layer(&self.up),
            down: layer(&self.down),
            activation,
        }
    }

    /// One token through the network.
    pub fn run(&self, x: &[i64]) -> Result<Vec<i64>> {
        check_len("ternary FFN input", x.len(), self.up.signs.nrows())?;
        check_raw("ternary FFN input", x, self.formats.input)?;
        let f = self.formats;
        let scaled = |m: &TernaryMatrix, input: &[i64], j: usize, in_frac: u32, out: QFormat| {
            narrow(
                i128::from(m.accumulate(input, j)) * i128::from(m.scale),
                in_frac + f.weight.frac(),
                out,
            )
        };
        let hidden: Vec<i64> = (0..self.up.signs.ncols())
            .map(|j| {
                self.activation
                    .apply(scaled(&self.up, x, j, f.input.frac(), f.hidden))
            })
            .collect();
        Ok((0..self.down.signs.ncols())
            .map(|k| scaled(&self.down, &hidden, k, f.hidden.frac(), f.output))
            .collect())
    }

    /// The documented bound for these weights.
    pub fn error_bound(&self) -> f64 {
        let f = self.formats;
        let scale = f.weight.to_f64(i128::from(self.down.scale));
        let l1 = (0..self.down.signs.ncols())
            .map(|j| self.down.signs.column(j).iter().filter(|&&s| s != 0).count() as f64 * scale)
            .fold(0.0, f64::max);
        0.5 * f.output.lsb() + l1 * self.activation.error(f.hidden)
    }
}
