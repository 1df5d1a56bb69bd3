//! BitNet b1.58's BitLinear on integers: ternary weights with one scale
//! per matrix, activations quantized per token by absmax to 8 bits, and
//! no multiplies in the dot products.
//!
//! ```text
//!  x (Q.fx) ──max |x_i|──▶ γ ──Reciprocal(γ · 2^15)──▶ inv, msb   (once per token)
//!  x_i ──round(x_i · 127 inv / 2^(msb+1))──▶ code_i  (8 bits, |code| <= 127)
//!  code ──add / subtract / skip by sign s_ji──▶ acc_j  (adders only)
//!  acc_j ──· γ ──· C──round, + b_j, saturate──▶ y_j (Q.fy) ──[ReLU | GELU table]──▶ out
//!  C = round(scale · 2^K / 127), 16 bits: the weight scale and BitNet's 1/127
//! ```
//! BitNet's layers have no bias; a transformer's FFN ternarized after
//! training keeps its float biases, so each output may add one `b_j`, raw
//! in the output format, before the one saturation (zero by default).
//! `code_i` is `round(127 x_i / γ)` up to the reciprocal's error; it never
//! leaves [-127, 127] (test `codes_stay_within_127_for_every_gamma`), so
//! no clamp is needed.

use super::linear::{narrow, IntActivation, GELU_MAX_SLOPE};
use super::{check_len, check_raw};
use crate::error::{check_finite, QuantError, Result};
use crate::format::{shift_right_rounded, Overflow, QFormat, Rounding};
use crate::reference::{Activation, Linear};
use crate::tables::reciprocal::RECIPROCAL_RELATIVE_ERROR;
use crate::tables::Reciprocal;
use ndarray::{Array1, Array2};

/// Bits of an activation code.
pub const CODE_BITS: u32 = 8;

/// Largest code magnitude: BitNet's `Q_b = 2^(b-1)`, less one.
pub const CODE_MAX: i64 = 127;

/// Bits of the output scale `C`.
pub const OUTPUT_SCALE_BITS: u32 = 16;

/// The signs' format: two-bit two's complement (-1, 0, +1 used).
pub fn sign_format() -> QFormat {
    QFormat::signed(2, 0).expect("valid")
}

/// Formats of one BitLinear layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitLinearFormats {
    /// Input elements.
    pub input: QFormat,
    /// The weight scale (one value).
    pub scale: QFormat,
    /// Outputs (before and after the activation).
    pub output: QFormat,
}

/// Bit-exact BitLinear layer, with an optional bias per output.
///
/// Error bound against [`Linear::apply`] on the dequantized ternary
/// weights (`s_ji · scale`) and biases and the unquantized input, then the float
/// activation, while no output saturates, for inputs with `max |x| <= X`:
/// ```text
///   E = scale · n · X · (1/254 + e_r)       activation codes (e_r: reciprocal)
///     + 127 n · X · 2^-(K+1) / 2^fw         C's rounding
///   bound = slope · E + (half an output LSB | the activation's own error)
/// ```
/// with `n` the most nonzero signs of any output and `slope` 1, or
/// GELU's largest slope. [`BitLinear::error_bound`] computes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitLinear {
    formats: BitLinearFormats,
    d_in: usize,
    d_out: usize,
    /// `[d_out][d_in]`, row-major, each -1, 0 or +1.
    signs: Vec<i64>,
    scale: i64,
    output_scale: i64,
    output_scale_shift: u32,
    /// Raw in the output format, one per output.
    bias: Vec<i64>,
    activation: Option<IntActivation>,
    reciprocal: Reciprocal,
}

impl BitLinear {
    /// The layer from raw integers: `signs` `[d_out][d_in]` row-major, each
    /// -1, 0 or +1, and `scale` raw in `formats.scale` (positive).
    pub fn from_raw(
        formats: BitLinearFormats,
        (d_in, d_out): (usize, usize),
        signs: Vec<i64>,
        scale: i64,
        activation: Option<Activation>,
    ) -> Result<Self> {
        for (what, f) in [("input", formats.input), ("output", formats.output)] {
            if !f.is_signed() || f.bits() > 16 {
                return Err(QuantError::InvalidParameter(format!(
                    "the ternary layer's {what} format must be signed and at most 16 bits, not {f}"
                )));
            }
        }
        if formats.scale.bits() > 16 {
            return Err(QuantError::InvalidParameter(format!(
                "the ternary layer's scale format must be at most 16 bits, not {}",
                formats.scale
            )));
        }
        for (what, n) in [("d_in", d_in), ("d_out", d_out)] {
            if !(1..=super::linear::LINEAR_SIZE_MAX).contains(&n) {
                return Err(QuantError::InvalidParameter(format!(
                    "{what} must be 1 to {}, not {n}",
                    super::linear::LINEAR_SIZE_MAX
                )));
            }
        }
        check_len("signs (d_out x d_in)", signs.len(), d_out * d_in)?;
        if let Some(i) = signs.iter().position(|s| !(-1..=1).contains(s)) {
            return Err(QuantError::InvalidParameter(format!(
                "signs[{}][{}] = {} is not -1, 0 or +1",
                i / d_in,
                i % d_in,
                signs[i]
            )));
        }
        check_raw("scale", &[scale], formats.scale)?;
        if scale <= 0 {
            return Err(QuantError::InvalidParameter(format!(
                "scale = {scale} (raw): a ternary layer's scale must be positive"
            )));
        }
        // C = round(scale 2^K / 127) in [2^15, 2^16): the smallest K that
        // reaches 2^15 (then at most 2^16 - 1, as doubling stays below 2^17 / 2)
        let mut shift = 0u32;
        let c = |k: u32| (((i128::from(scale) << k) + 63) / 127) as i64;
        while c(shift) < 1 << (OUTPUT_SCALE_BITS - 1) {
            shift += 1;
        }
        let total = shift + formats.input.frac() + formats.scale.frac();
        if total <= formats.output.frac() || total - formats.output.frac() > 62 {
            return Err(QuantError::InvalidParameter(format!(
                "the output shift {} is outside 1 to 62: choose other formats",
                i64::from(total) - i64::from(formats.output.frac())
            )));
        }
        let activation = activation
            .map(|a| IntActivation::new(a, formats.output))
            .transpose()?;
        Ok(Self {
            formats,
            d_in,
            d_out,
            signs,
            scale,
            output_scale: c(shift).min((1 << OUTPUT_SCALE_BITS) - 1),
            output_scale_shift: shift,
            bias: vec![0; d_out],
            activation,
            reciprocal: Reciprocal::new()?,
        })
    }

    /// The layer with `bias` (raw in the output format, one per output)
    /// added to each output before its saturation.
    pub fn with_bias(mut self, bias: Vec<i64>) -> Result<Self> {
        check_len("ternary layer bias", bias.len(), self.d_out)?;
        check_raw("ternary layer bias", &bias, self.formats.output)?;
        self.bias = bias;
        Ok(self)
    }

    /// BitNet b1.58 absmean quantization of a float layer (weight of shape
    /// (inputs, outputs)): `scale = mean |W|`, `s = clip(round(W / scale),
    /// -1, 1)`; the bias rounded into the output format.
    pub fn quantize(
        layer: &Linear,
        formats: BitLinearFormats,
        activation: Option<Activation>,
    ) -> Result<Self> {
        let (d_in, d_out) = layer.weight.dim();
        if layer.weight.is_empty() {
            return Err(QuantError::Empty("ternary weight".into()));
        }
        let values: Vec<f64> = layer.weight.iter().copied().collect();
        check_finite("ternary weight", &values)?;
        let mean = values.iter().map(|w| w.abs()).sum::<f64>() / values.len() as f64;
        let scale = formats
            .scale
            .quantize(mean, Rounding::HalfUp, Overflow::Saturate)? as i64;
        if scale <= 0 {
            return Err(QuantError::InvalidParameter(format!(
                "ternary weight: the scale mean |W| = {mean:e} is zero in {}",
                formats.scale
            )));
        }
        let real_scale = formats.scale.to_f64(i128::from(scale));
        let mut signs = Vec::with_capacity(d_in * d_out);
        for j in 0..d_out {
            for i in 0..d_in {
                signs.push((layer.weight[[i, j]] / real_scale).round().clamp(-1.0, 1.0) as i64);
            }
        }
        let bias = super::quantize_all(
            "ternary layer bias",
            layer
                .bias
                .as_slice()
                .ok_or_else(|| QuantError::InvalidParameter("bias".into()))?,
            formats.output,
        )?;
        check_len("ternary layer bias", bias.len(), d_out)?;
        Self::from_raw(formats, (d_in, d_out), signs, scale, activation)?.with_bias(bias)
    }

    /// Formats.
    pub fn formats(&self) -> BitLinearFormats {
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

    /// Signs, `[d_out][d_in]` row-major.
    pub fn signs(&self) -> &[i64] {
        &self.signs
    }

    /// The biases, raw in the output format.
    pub fn bias(&self) -> &[i64] {
        &self.bias
    }

    /// The weight scale, raw.
    pub fn scale_raw(&self) -> i64 {
        self.scale
    }

    /// `C` (16 bits) and `K`: `scale / 127 ≈ C / 2^K`.
    pub fn output_scale(&self) -> (i64, u32) {
        (self.output_scale, self.output_scale_shift)
    }

    /// The right shift from `acc · γ · C` to the output.
    pub fn output_shift(&self) -> u32 {
        self.output_scale_shift + self.formats.input.frac() + self.formats.scale.frac()
            - self.formats.output.frac()
    }

    /// The activation, if any.
    pub fn activation(&self) -> Option<&IntActivation> {
        self.activation.as_ref()
    }

    /// The shared reciprocal (its table is the hardware's seed ROM).
    pub fn reciprocal(&self) -> &Reciprocal {
        &self.reciprocal
    }

    /// The token's absmax `γ` (at least 1) and the code multiplier and
    /// shift: `code_i = round(x_i · multiplier / 2^shift)`.
    #[inline]
    pub fn token_scale(&self, x: &[i64]) -> (i64, i64, u32) {
        let gamma = x.iter().map(|v| v.abs()).max().unwrap_or(0).max(1);
        let inverse = self.reciprocal.eval((gamma as u64) << 15);
        // 1/(γ 2^15) = inv 2^-shift, so 127/γ = 127 inv 2^-(shift - 15)
        (
            gamma,
            CODE_MAX * i64::from(inverse.mantissa),
            (inverse.shift - 15) as u32,
        )
    }

    /// One token: raw input to raw output.
    pub fn run(&self, x: &[i64]) -> Result<Vec<i64>> {
        check_len("ternary layer input", x.len(), self.d_in)?;
        check_raw("ternary layer input", x, self.formats.input)?;
        let (gamma, multiplier, shift) = self.token_scale(x);
        let codes = activation_codes(x, multiplier, shift);
        let frac = self.output_scale_shift + self.formats.input.frac() + self.formats.scale.frac();
        let shift = self.output_shift();
        Ok(self
            .signs
            .chunks(self.d_in)
            .zip(&self.bias)
            .map(|(row, &bias)| {
                let acc: i64 = codes.iter().zip(row).map(|(&c, &s)| c * s).sum();
                let scaled = i128::from(acc) * i128::from(gamma) * i128::from(self.output_scale);
                // the bias on the product's grid: exact, so the sum rounds
                // as round(product) + bias
                let y = narrow(scaled + (i128::from(bias) << shift), frac, self.formats.output);
                self.activation.as_ref().map_or(y, |a| a.apply(y))
            })
            .collect())
    }

    /// The layer as the hardware holds it, in floats (weight (inputs,
    /// outputs) `s · scale`, the biases).
    pub fn dequantized(&self) -> Linear {
        let scale = self.formats.scale.to_f64(i128::from(self.scale));
        Linear {
            weight: Array2::from_shape_fn((self.d_in, self.d_out), |(i, j)| {
                self.signs[j * self.d_in + i] as f64 * scale
            }),
            bias: Array1::from(super::dequantize_all(&self.bias, self.formats.output)),
        }
    }

    /// The float reference of one token: the dequantized weights on the
    /// unquantized input, then the float activation.
    pub fn float_reference(&self, x: &[i64]) -> Result<Vec<f64>> {
        let real = super::dequantize_all(x, self.formats.input);
        let row = Array2::from_shape_vec((1, self.d_in), real)
            .map_err(|e| QuantError::InvalidParameter(e.to_string()))?;
        let y = self.dequantized().apply("ternary layer input", row.view())?;
        Ok(y.iter()
            .map(|&v| self.activation.as_ref().map_or(v, |a| a.kind().apply(v)))
            .collect())
    }

    /// Most nonzero signs of any output.
    fn max_row_nonzeros(&self) -> usize {
        self.signs
            .chunks(self.d_in)
            .map(|row| row.iter().filter(|&&s| s != 0).count())
            .max()
            .unwrap_or(0)
    }

    /// Largest sum of |w| over one output's dequantized weights.
    pub fn max_row_l1(&self) -> f64 {
        self.max_row_nonzeros() as f64 * self.formats.scale.to_f64(i128::from(self.scale))
    }

    /// The documented bound (see the type's docs) for inputs with
    /// `max |x| <= input_max` (real units).
    pub fn error_bound(&self, input_max: f64) -> f64 {
        let n = self.max_row_nonzeros() as f64;
        let codes = self.max_row_l1() * input_max * (1.0 / 254.0 + RECIPROCAL_RELATIVE_ERROR);
        let c_rounding = 127.0
            * n
            * input_max
            * (-(f64::from(self.output_scale_shift) + 1.0)).exp2()
            * self.formats.scale.lsb();
        let spread = codes + c_rounding;
        match &self.activation {
            None => spread + 0.5 * self.formats.output.lsb(),
            Some(IntActivation::Relu) => spread + 0.5 * self.formats.output.lsb(),
            Some(a @ IntActivation::Gelu(_)) => GELU_MAX_SLOPE * spread + a.error(self.formats.output),
        }
    }

    /// The largest output magnitude for inputs with `max |x| <= input_max`,
    /// within the output format: what the next layer can be given.
    pub fn output_max(&self, input_max: f64) -> f64 {
        let bias_max =
            self.bias.iter().map(|b| b.abs()).max().unwrap_or(0) as f64 * self.formats.output.lsb();
        (self.max_row_l1() * input_max + bias_max + self.error_bound(input_max))
            .min(self.formats.output.max_value())
    }
}

/// The 8-bit codes of one token's elements for the multiplier and shift
/// of [`BitLinear::token_scale`].
pub fn activation_codes(x: &[i64], multiplier: i64, shift: u32) -> Vec<i64> {
    x.iter()
        .map(|&v| shift_right_rounded(i128::from(v) * i128::from(multiplier), shift, Rounding::HalfUp) as i64)
        .collect()
}
