//! One linear layer on integers, `y = act(round(W x + b))`: the projection
//! engine of attention and each half of an FFN.
//!
//! ```text
//!  x (Q.fx) ──dot W row j (Q.fw)──▶ acc (frac fx + fw, exact) + b_j
//!     ──round half-up, saturate──▶ Q.fy ──[ReLU | GELU table]──▶ y_j
//! ```
//! Weights are held as PyTorch's `nn.Linear` holds them, `[d_out][d_in]`,
//! and biases in the accumulator's fraction in [`BIAS_BITS`] bits, so the
//! hardware adds them without a shift.

use super::{check_len, check_raw};
use crate::error::{check_finite, QuantError, Result};
use crate::format::{shift_right_rounded, Overflow, QFormat, Rounding};
use crate::reference::{Activation, Linear};
use crate::tables::Gelu;
use ndarray::{Array1, Array2};

/// Bits of a bias (signed; fraction = input fraction + weight fraction).
pub const BIAS_BITS: u32 = 32;

/// Largest `d_in` and `d_out`: keeps the exact sum of products inside a
/// 48-bit accumulator (2^12 products of at most 2^30, plus a 32-bit bias).
pub const LINEAR_SIZE_MAX: usize = 4096;

/// Largest slope of GELU (at x = 2.4): how far rounding its input moves it.
pub const GELU_MAX_SLOPE: f64 = 1.13;

/// Formats of one linear layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearFormats {
    /// Input elements.
    pub input: QFormat,
    /// Weights.
    pub weight: QFormat,
    /// Outputs (before and after the activation).
    pub output: QFormat,
}

impl LinearFormats {
    /// Q3.12 in and out, Q1.14 weights.
    pub fn default_design() -> Self {
        let q3_12 = QFormat::signed(16, 12).expect("valid");
        Self {
            input: q3_12,
            weight: QFormat::signed(16, 14).expect("valid"),
            output: q3_12,
        }
    }

    /// The biases' format: signed [`BIAS_BITS`] bits in the accumulator's fraction.
    pub fn bias(&self) -> QFormat {
        QFormat::signed(BIAS_BITS, self.input.frac() + self.weight.frac()).expect("at most 64 fraction bits")
    }

    /// The right shift from the accumulator to the output.
    pub fn output_shift(&self) -> u32 {
        self.input.frac() + self.weight.frac() - self.output.frac()
    }

    fn check(&self) -> Result<()> {
        for (what, f) in [
            ("input", self.input),
            ("weight", self.weight),
            ("output", self.output),
        ] {
            if !f.is_signed() || f.bits() > 16 {
                return Err(QuantError::InvalidParameter(format!(
                    "the linear layer's {what} format must be signed and at most 16 bits, not {f}"
                )));
            }
        }
        if self.output.frac() >= self.input.frac() + self.weight.frac() {
            return Err(QuantError::InvalidParameter(format!(
                "the output format {} must have fewer fraction bits than input ({}) plus weight ({})",
                self.output, self.input, self.weight
            )));
        }
        Ok(())
    }
}

/// The activation as the hardware computes it on output raw values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntActivation {
    /// `max(0, y)`.
    Relu,
    /// GELU by its correction table ([`Gelu`]).
    Gelu(Gelu),
}

impl IntActivation {
    /// The activation on values in `format`.
    pub fn new(activation: Activation, format: QFormat) -> Result<Self> {
        Ok(match activation {
            Activation::Relu => IntActivation::Relu,
            Activation::Gelu => IntActivation::Gelu(Gelu::new(format)?),
        })
    }

    /// The float function it stands for.
    pub fn kind(&self) -> Activation {
        match self {
            IntActivation::Relu => Activation::Relu,
            IntActivation::Gelu(_) => Activation::Gelu,
        }
    }

    /// Applies it to one raw value.
    #[inline]
    pub fn apply(&self, y: i64) -> i64 {
        match self {
            IntActivation::Relu => y.max(0),
            IntActivation::Gelu(g) => g.eval(y),
        }
    }

    /// Worst-case error, in real units, of the activation of a value
    /// rounded to `format` (half an LSB) against the exact function of the
    /// unrounded value.
    pub fn error(&self, format: QFormat) -> f64 {
        match self {
            IntActivation::Relu => 0.5 * format.lsb(),
            IntActivation::Gelu(_) => {
                GELU_MAX_SLOPE * 0.5 * format.lsb() + crate::tables::gelu::GELU_ERROR_BOUND.max(format.lsb())
            }
        }
    }
}

/// Rounds an accumulator with `frac` fraction bits into `format`.
pub(crate) fn narrow(acc: i128, frac: u32, format: QFormat) -> i64 {
    let raw = if frac >= format.frac() {
        shift_right_rounded(acc, frac - format.frac(), Rounding::HalfUp)
    } else {
        acc << (format.frac() - frac)
    };
    format.fit(raw, Overflow::Saturate) as i64
}

/// Bit-exact linear layer.
///
/// Error bound against [`Linear::apply`] on the dequantized weights, biases
/// and inputs (then the float activation), while no output saturates: half
/// an output LSB without activation or with ReLU, and with GELU the
/// rounding carried through GELU's slope plus its table's bound
/// ([`IntActivation::error`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntLinear {
    formats: LinearFormats,
    d_in: usize,
    d_out: usize,
    /// `[d_out][d_in]`, row-major.
    weight: Vec<i64>,
    bias: Vec<i64>,
    activation: Option<IntActivation>,
}

impl IntLinear {
    /// The layer from raw integers: `weight` `[d_out][d_in]` row-major in
    /// the weight format, `bias` in [`LinearFormats::bias`]; an error names
    /// the tensor and element that is out of its format or of the wrong size.
    pub fn from_raw(
        formats: LinearFormats,
        d_in: usize,
        d_out: usize,
        weight: Vec<i64>,
        bias: Vec<i64>,
        activation: Option<Activation>,
    ) -> Result<Self> {
        formats.check()?;
        for (what, n) in [("d_in", d_in), ("d_out", d_out)] {
            if !(1..=LINEAR_SIZE_MAX).contains(&n) {
                return Err(QuantError::InvalidParameter(format!(
                    "{what} must be 1 to {LINEAR_SIZE_MAX}, not {n}"
                )));
            }
        }
        check_len("weight elements (d_out x d_in)", weight.len(), d_out * d_in)?;
        check_len("bias elements (d_out)", bias.len(), d_out)?;
        check_raw("weight", &weight, formats.weight)?;
        check_raw("bias", &bias, formats.bias())?;
        let activation = activation
            .map(|a| IntActivation::new(a, formats.output))
            .transpose()?;
        Ok(Self {
            formats,
            d_in,
            d_out,
            weight,
            bias,
            activation,
        })
    }

    /// Quantizes a float layer (weight of shape (inputs, outputs)); a
    /// weight or bias outside its format is an error, never saturated.
    pub fn quantize(layer: &Linear, formats: LinearFormats, activation: Option<Activation>) -> Result<Self> {
        let (d_in, d_out) = layer.weight.dim();
        check_len("bias elements (d_out)", layer.bias.len(), d_out)?;
        let exact = |what: &str, value: f64, format: QFormat| -> Result<i64> {
            check_finite(what, &[value])?;
            let raw = format.quantize(value, Rounding::HalfUp, Overflow::Saturate)?;
            if !(format.min_value() - 0.5 * format.lsb()..format.max_value() + 0.5 * format.lsb())
                .contains(&value)
            {
                return Err(QuantError::InvalidParameter(format!(
                    "{what} = {value} is outside {format} [{}, {}]",
                    format.min_value(),
                    format.max_value()
                )));
            }
            Ok(raw as i64)
        };
        let mut weight = Vec::with_capacity(d_in * d_out);
        for j in 0..d_out {
            for i in 0..d_in {
                weight.push(exact(
                    &format!("weight[{j}][{i}]"),
                    layer.weight[[i, j]],
                    formats.weight,
                )?);
            }
        }
        let bias = (0..d_out)
            .map(|j| exact(&format!("bias[{j}]"), layer.bias[j], formats.bias()))
            .collect::<Result<Vec<_>>>()?;
        Self::from_raw(formats, d_in, d_out, weight, bias, activation)
    }

    /// Formats.
    pub fn formats(&self) -> LinearFormats {
        self.formats
    }

    /// Inputs per token.
    pub fn d_in(&self) -> usize {
        self.d_in
    }

    /// Outputs per token.
    pub fn d_out(&self) -> usize {
        self.d_out
    }

    /// Raw weights, `[d_out][d_in]` row-major.
    pub fn weight_raw(&self) -> &[i64] {
        &self.weight
    }

    /// Raw biases.
    pub fn bias_raw(&self) -> &[i64] {
        &self.bias
    }

    /// The activation, if any.
    pub fn activation(&self) -> Option<&IntActivation> {
        self.activation.as_ref()
    }

    /// The exact accumulator of output `j`: `b_j + sum_i w_ji x_i`.
    #[inline]
    pub fn accumulate(&self, x: &[i64], j: usize) -> i128 {
        let row = &self.weight[j * self.d_in..(j + 1) * self.d_in];
        let dot: i128 = x.iter().zip(row).map(|(&a, &w)| i128::from(a * w)).sum();
        dot + i128::from(self.bias[j])
    }

    /// One token: raw input to raw output.
    pub fn run(&self, x: &[i64]) -> Result<Vec<i64>> {
        check_len("linear input", x.len(), self.d_in)?;
        check_raw("linear input", x, self.formats.input)?;
        let frac = self.formats.input.frac() + self.formats.weight.frac();
        Ok((0..self.d_out)
            .map(|j| {
                let y = narrow(self.accumulate(x, j), frac, self.formats.output);
                self.activation.as_ref().map_or(y, |a| a.apply(y))
            })
            .collect())
    }

    /// The layer as the hardware holds it, in floats (weight (inputs, outputs)).
    pub fn dequantized(&self) -> Linear {
        let w = self.formats.weight;
        let b = self.formats.bias();
        Linear {
            weight: Array2::from_shape_fn((self.d_in, self.d_out), |(i, j)| {
                w.to_f64(i128::from(self.weight[j * self.d_in + i]))
            }),
            bias: Array1::from_iter(self.bias.iter().map(|&v| b.to_f64(i128::from(v)))),
        }
    }

    /// The float reference of one token on the dequantized numbers.
    pub fn float_reference(&self, x: &[i64]) -> Result<Vec<f64>> {
        let real = super::dequantize_all(x, self.formats.input);
        let layer = self.dequantized();
        let row = Array2::from_shape_vec((1, self.d_in), real)
            .map_err(|e| QuantError::InvalidParameter(e.to_string()))?;
        let y = layer.apply("linear input", row.view())?;
        Ok(y.iter()
            .map(|&v| self.activation.as_ref().map_or(v, |a| a.kind().apply(v)))
            .collect())
    }

    /// The documented bound (see the type's docs), in real output units.
    pub fn error_bound(&self) -> f64 {
        match &self.activation {
            Some(a) => a.error(self.formats.output),
            None => 0.5 * self.formats.output.lsb(),
        }
    }

    /// Largest sum of |w| over one output's weights, in real units: how
    /// much an error on every input moves an output at most.
    pub fn max_row_l1(&self) -> f64 {
        self.weight
            .chunks(self.d_in)
            .map(|row| row.iter().map(|w| w.unsigned_abs() as f64).sum::<f64>())
            .fold(0.0, f64::max)
            * self.formats.weight.lsb()
    }
}
