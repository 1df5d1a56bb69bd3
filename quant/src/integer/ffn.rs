//! Feed-forward networks on integers: int16 weights, and ternary weights
//! (BitNet b1.58 style: {-1, 0, +1} and one scale per tensor, no multiplies
//! in the dot products).
//!
//! ```text
//!  x (Q.fx) --dot W1 (+b1)--> acc --round, saturate--> h (hidden format)
//!  h --ReLU / GELU table--> a --dot W2 (+b2)--> acc --round, saturate--> y
//! ```

use super::{check_len, check_raw, quantize_all};
use crate::error::{QuantError, Result};
use crate::format::{shift_right_rounded, Overflow, QFormat, Rounding};
use crate::reference::{Activation, FfnWeights, Linear};
use crate::tables::Gelu;
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

/// The activation as the hardware computes it on hidden raw values.
#[derive(Debug, Clone, PartialEq, Eq)]
enum IntActivation {
    Relu,
    Gelu(Gelu),
}

impl IntActivation {
    fn new(activation: Activation, hidden: QFormat) -> Result<Self> {
        Ok(match activation {
            Activation::Relu => IntActivation::Relu,
            Activation::Gelu => IntActivation::Gelu(Gelu::new(hidden)?),
        })
    }

    fn apply(&self, h: i64) -> i64 {
        match self {
            IntActivation::Relu => h.max(0),
            IntActivation::Gelu(g) => g.eval(h),
        }
    }

    /// Worst-case error of the activation alone, in real units.
    fn error(&self, hidden: QFormat) -> f64 {
        match self {
            IntActivation::Relu => 0.0,
            IntActivation::Gelu(_) => crate::tables::gelu::GELU_ERROR_BOUND.max(hidden.lsb()),
        }
    }
}

/// Rounds an accumulator with `frac` fractional bits into `format`.
fn narrow(acc: i128, frac: u32, format: QFormat) -> i64 {
    let raw = if frac >= format.frac() {
        shift_right_rounded(acc, frac - format.frac(), Rounding::HalfUp)
    } else {
        acc << (format.frac() - frac)
    };
    format.fit(raw, Overflow::Saturate) as i64
}

/// A linear layer with int16 weights and accumulator-format biases.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IntLinear {
    /// Weights (inputs, outputs), raw.
    weight: Array2<i64>,
    /// Biases, raw with frac = input frac + weight frac.
    bias: Vec<i64>,
}

impl IntLinear {
    fn quantize(what: &str, layer: &Linear, weight: QFormat, input_frac: u32) -> Result<Self> {
        if layer.bias.len() != layer.weight.ncols() {
            return Err(QuantError::ShapeMismatch {
                what: format!("{what} bias"),
                expected: layer.weight.ncols().to_string(),
                found: layer.bias.len().to_string(),
            });
        }
        let flat = quantize_all(what, &layer.weight.iter().copied().collect::<Vec<_>>(), weight)?;
        let acc = QFormat::signed(64, input_frac + weight.frac())?;
        let bias = quantize_all(&format!("{what} bias"), &layer.bias.to_vec(), acc)?;
        let weight = Array2::from_shape_vec(layer.weight.raw_dim(), flat)
            .map_err(|e| QuantError::InvalidParameter(e.to_string()))?;
        Ok(Self { weight, bias })
    }

    fn accumulate(&self, x: &[i64], j: usize) -> i128 {
        let column = self.weight.column(j);
        let dot: i128 = x
            .iter()
            .zip(column.iter())
            .map(|(&a, &w)| i128::from(a * w))
            .sum();
        dot + i128::from(self.bias[j])
    }

    /// Largest sum of |w| over a column, in real units.
    fn max_column_l1(&self, weight: QFormat) -> f64 {
        (0..self.weight.ncols())
            .map(|j| {
                self.weight
                    .column(j)
                    .iter()
                    .map(|w| w.unsigned_abs() as f64)
                    .sum::<f64>()
                    * weight.lsb()
            })
            .fold(0.0, f64::max)
    }
}

/// Bit-exact FFN with int16 weights.
///
/// Error bound against [`crate::reference::ffn`] run on the dequantized
/// weights and inputs, while no value saturates: half an output LSB, plus
/// the hidden error (half a hidden LSB, plus the activation table's bound,
/// plus the bias rounding) carried through the largest column L1 norm of the
/// second layer. [`IntFfn::error_bound`] computes it for the weights given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntFfn {
    formats: FfnFormats,
    up: IntLinear,
    down: IntLinear,
    activation: IntActivation,
}

impl IntFfn {
    /// Quantizes float weights into the integer model.
    pub fn new(weights: &FfnWeights, formats: FfnFormats) -> Result<Self> {
        check_len(
            "FFN hidden width",
            weights.down.weight.nrows(),
            weights.up.weight.ncols(),
        )?;
        Ok(Self {
            formats,
            up: IntLinear::quantize("FFN up weight", &weights.up, formats.weight, formats.input.frac())?,
            down: IntLinear::quantize(
                "FFN down weight",
                &weights.down,
                formats.weight,
                formats.hidden.frac(),
            )?,
            activation: IntActivation::new(weights.activation, formats.hidden)?,
        })
    }

    /// The weights as the hardware holds them, dequantized (for the float
    /// reference on the same numbers).
    pub fn dequantized(&self, activation: Activation) -> FfnWeights {
        let w = self.formats.weight;
        let layer = |l: &IntLinear, input_frac: u32| Linear {
            weight: l.weight.mapv(|v| w.to_f64(i128::from(v))),
            bias: l
                .bias
                .iter()
                .map(|&b| b as f64 * (-((input_frac + w.frac()) as f64)).exp2())
                .collect(),
        };
        FfnWeights {
            up: layer(&self.up, self.formats.input.frac()),
            down: layer(&self.down, self.formats.hidden.frac()),
            activation,
        }
    }

    /// One token through the network: raw input to raw output.
    pub fn run(&self, x: &[i64]) -> Result<Vec<i64>> {
        check_len("FFN input", x.len(), self.up.weight.nrows())?;
        check_raw("FFN input", x, self.formats.input)?;
        let f = self.formats;
        let hidden: Vec<i64> = (0..self.up.weight.ncols())
            .map(|j| {
                let h = narrow(
                    self.up.accumulate(x, j),
                    f.input.frac() + f.weight.frac(),
                    f.hidden,
                );
                self.activation.apply(h)
            })
            .collect();
        Ok((0..self.down.weight.ncols())
            .map(|k| {
                narrow(
                    self.down.accumulate(&hidden, k),
                    f.hidden.frac() + f.weight.frac(),
                    f.output,
                )
            })
            .collect())
    }

    /// The documented bound for these weights (see the type's docs).
    pub fn error_bound(&self) -> f64 {
        let f = self.formats;
        let hidden_error = 0.5 * f.hidden.lsb() + self.activation.error(f.hidden);
        0.5 * f.output.lsb() + self.down.max_column_l1(f.weight) * hidden_error
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
        0.5 * f.output.lsb() + l1 * (0.5 * f.hidden.lsb() + self.activation.error(f.hidden))
    }
}
