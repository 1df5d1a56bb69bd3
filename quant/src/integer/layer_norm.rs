//! Layer normalization on integers, from exact sums.
//!
//! ```text
//!  one pass over x (raw):  S = sum x_i,  Q = sum x_i^2          (exact)
//!  D = n Q - S^2 = n sum (x_i - mean)^2                        (exact, >= 0)
//!  r = InvSqrt(D 2^12 + eps_raw) with 12 fraction bits          (once per token)
//!  c_i = n x_i - S                                              (exact)
//!  z_i = round(c_i r), saturated to the normalized format
//!  y_i = round(z_i gamma_i + beta_i), saturated to the output format
//! ```
//! With `c_i = n (x_i - mean)`, the variance is `D / n^2` (in input LSBs
//! squared), so `z_i = (x_i - mean) / sqrt(var + eps) = c_i / sqrt(D + n^2
//! eps)`: the mean and the variance are never rounded, and the only
//! relative error is the inverse square root's, whatever the input's
//! spread (a token whose elements differ by one LSB is normalized as well
//! as one that fills the format). eps is held as `eps_raw = round(eps n^2
//! 2^(2 fx + 12))`.

use super::{check_len, check_raw, quantize_all};
use crate::error::{check_finite, QuantError, Result};
use crate::format::{shift_right_rounded, Overflow, QFormat, Rounding};
use crate::tables::inv_sqrt::INV_SQRT_RELATIVE_ERROR;
use crate::tables::{InvSqrt, Scaled};

/// Largest vector: keeps `D 2^12` inside 64 bits (`n Q <= 2^50`).
pub const LAYER_NORM_N_MAX: usize = 1024;

/// Fraction bits below `D`'s LSB given to eps and the inverse square root.
pub const EPS_FRACTION_BITS: u32 = 12;

/// Formats of the integer layer norm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerNormFormats {
    /// Input format (signed, at most 16 bits).
    pub input: QFormat,
    /// Normalized values before gamma and beta (signed, at most 16 bits).
    pub normalized: QFormat,
    /// Format of gamma and beta (signed, at most 16 bits).
    pub affine: QFormat,
    /// Output format (signed, at most 16 bits).
    pub output: QFormat,
}

impl LayerNormFormats {
    /// Q3.12 in and out, Q5.10 normalized values, Q3.12 gamma and beta.
    pub fn default_design() -> Self {
        let q3_12 = QFormat::signed(16, 12).expect("valid");
        Self {
            input: q3_12,
            normalized: QFormat::signed(16, 10).expect("valid"),
            affine: q3_12,
            output: q3_12,
        }
    }

    /// The right shift from `z gamma + beta 2^fz` to the output.
    pub fn output_shift(&self) -> u32 {
        self.normalized.frac() + self.affine.frac() - self.output.frac()
    }
}

/// The sums of one token: what the hardware accumulates while it loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSums {
    /// `sum x_i`.
    pub sum: i64,
    /// `sum x_i^2`.
    pub squares: i64,
}

/// Bit-exact layer norm of vectors of `n` elements.
///
/// Error bound against [`crate::reference::layer_norm`] on the dequantized
/// input, gamma and beta with the same eps, while nothing saturates, for
/// any input (any spread, down to one LSB):
/// ```text
///   z_err = 0.5 LSB(z) + sqrt(n - 1) (e_r + e_eps)
///   bound = |gamma|max z_err + 0.5 LSB(y)
/// ```
/// with `e_r` the inverse square root's relative error, `e_eps` half the
/// relative error of eps as held, over the smallest nonzero variance
/// (`(n - 1) / n^2` LSB^2) plus eps, and `sqrt(n - 1)` the largest `|z|`.
/// [`IntLayerNorm::error_bound`] computes it.
#[derive(Debug, Clone, PartialEq)]
pub struct IntLayerNorm {
    formats: LayerNormFormats,
    n: usize,
    eps: f64,
    eps_raw: u64,
    gamma: Vec<i64>,
    beta: Vec<i64>,
    inv_sqrt: InvSqrt,
}

impl IntLayerNorm {
    /// Quantizes gamma, beta and eps.
    pub fn new(formats: LayerNormFormats, gamma: &[f64], beta: &[f64], eps: f64) -> Result<Self> {
        let gamma_raw = quantize_all("layer norm gamma", gamma, formats.affine)?;
        let beta_raw = quantize_all("layer norm beta", beta, formats.affine)?;
        Self::from_raw(formats, gamma_raw, beta_raw, eps)
    }

    /// The layer norm from raw gamma and beta (in the affine format).
    pub fn from_raw(formats: LayerNormFormats, gamma: Vec<i64>, beta: Vec<i64>, eps: f64) -> Result<Self> {
        let n = gamma.len();
        if !(2..=LAYER_NORM_N_MAX).contains(&n) {
            return Err(QuantError::InvalidParameter(format!(
                "d_model = {n}: the layer norm takes 2 to {LAYER_NORM_N_MAX} elements"
            )));
        }
        check_len("layer norm beta", beta.len(), n)?;
        check_finite("layer norm eps", &[eps])?;
        if eps < 0.0 {
            return Err(QuantError::InvalidParameter(format!(
                "layer norm eps must be >= 0, got {eps}"
            )));
        }
        for (what, f) in [
            ("input", formats.input),
            ("normalized", formats.normalized),
            ("affine", formats.affine),
            ("output", formats.output),
        ] {
            if !f.is_signed() || f.bits() > 16 {
                return Err(QuantError::InvalidParameter(format!(
                    "the layer norm's {what} format must be signed and at most 16 bits, got {f}"
                )));
            }
        }
        let z_max = ((n - 1) as f64).sqrt();
        if z_max > formats.normalized.max_value() {
            return Err(QuantError::InvalidParameter(format!(
                "normalized values reach sqrt(n - 1) = {z_max:.2}, beyond {} (max {}): choose a wider normalized format",
                formats.normalized,
                formats.normalized.max_value()
            )));
        }
        let shift = formats.normalized.frac() + formats.affine.frac();
        if shift <= formats.output.frac() || shift - formats.output.frac() > 62 {
            return Err(QuantError::InvalidParameter(format!(
                "the output shift frac(z) + frac(gamma) - frac(y) = {} must be 1 to 62",
                i64::from(shift) - i64::from(formats.output.frac())
            )));
        }
        check_raw("layer norm gamma", &gamma, formats.affine)?;
        check_raw("layer norm beta", &beta, formats.affine)?;
        let scale = (n * n) as f64 * (f64::from(2 * formats.input.frac() + EPS_FRACTION_BITS)).exp2();
        let eps_scaled = eps * scale;
        if eps_scaled >= (1u64 << 62) as f64 {
            return Err(QuantError::InvalidParameter(format!(
                "layer norm eps = {eps} is too large for the input format {}",
                formats.input
            )));
        }
        Ok(Self {
            formats,
            n,
            eps,
            eps_raw: eps_scaled.round() as u64,
            gamma,
            beta,
            inv_sqrt: InvSqrt::new()?,
        })
    }

    /// Formats.
    pub fn formats(&self) -> LayerNormFormats {
        self.formats
    }

    /// Elements per vector.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Raw gamma.
    pub fn gamma_raw(&self) -> &[i64] {
        &self.gamma
    }

    /// Raw beta.
    pub fn beta_raw(&self) -> &[i64] {
        &self.beta
    }

    /// eps as asked.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// eps as held: `eps_raw` in units of `2^-(2 fx + 12) / n^2`.
    pub fn eps_raw(&self) -> u64 {
        self.eps_raw
    }

    /// The inverse square root (its table is the hardware's seed ROM).
    pub fn inv_sqrt(&self) -> &InvSqrt {
        &self.inv_sqrt
    }

    /// Gamma and beta as the hardware holds them, dequantized.
    pub fn dequantized_affine(&self) -> (Vec<f64>, Vec<f64>) {
        let f = self.formats.affine;
        (
            super::dequantize_all(&self.gamma, f),
            super::dequantize_all(&self.beta, f),
        )
    }

    /// eps as the hardware adds it, in real units.
    pub fn applied_eps(&self) -> f64 {
        self.eps_raw as f64
            / ((self.n * self.n) as f64 * f64::from(2 * self.formats.input.frac() + EPS_FRACTION_BITS).exp2())
    }

    /// The token's sums.
    pub fn sums(x: &[i64]) -> TokenSums {
        TokenSums {
            sum: x.iter().sum(),
            squares: x.iter().map(|v| v * v).sum(),
        }
    }

    /// The inverse square root of a token with these sums: `1 / sqrt(D +
    /// n^2 eps)` (in input LSBs times n).
    pub fn token_scale(&self, sums: TokenSums) -> Scaled {
        let d = self.n as i128 * i128::from(sums.squares) - i128::from(sums.sum) * i128::from(sums.sum);
        let value = ((d as u64) << EPS_FRACTION_BITS) + self.eps_raw;
        self.inv_sqrt.eval(value, EPS_FRACTION_BITS)
    }

    /// One element's normalized value `z` (raw, normalized format).
    #[inline]
    pub fn normalize(&self, x: i64, sum: i64, r: Scaled) -> i64 {
        let c = self.n as i64 * x - sum;
        let z = r.mul_shift(
            i128::from(c),
            self.formats.normalized.frac() as i32,
            Rounding::HalfUp,
        );
        self.formats.normalized.fit(z, Overflow::Saturate) as i64
    }

    /// One element's output from its normalized value.
    #[inline]
    pub fn affine(&self, z: i64, i: usize) -> i64 {
        let f = self.formats;
        let with_beta =
            i128::from(z) * i128::from(self.gamma[i]) + (i128::from(self.beta[i]) << f.normalized.frac());
        f.output.fit(
            shift_right_rounded(with_beta, f.output_shift(), Rounding::HalfUp),
            Overflow::Saturate,
        ) as i64
    }

    /// One vector: raw input to raw output.
    pub fn run(&self, x: &[i64]) -> Result<Vec<i64>> {
        check_len("layer norm input", x.len(), self.n)?;
        check_raw("layer norm input", x, self.formats.input)?;
        let sums = Self::sums(x);
        let r = self.token_scale(sums);
        Ok(x.iter()
            .enumerate()
            .map(|(i, &v)| self.affine(self.normalize(v, sums.sum, r), i))
            .collect())
    }

    /// The float reference of one vector on the dequantized input, gamma
    /// and beta, with eps as asked.
    pub fn float_reference(&self, x: &[i64]) -> Result<Vec<f64>> {
        let real = super::dequantize_all(x, self.formats.input);
        let row = ndarray::Array2::from_shape_vec((1, self.n), real)
            .map_err(|e| QuantError::InvalidParameter(e.to_string()))?;
        let (g, b) = self.dequantized_affine();
        Ok(crate::reference::layer_norm(
            row.view(),
            ndarray::Array1::from(g).view(),
            ndarray::Array1::from(b).view(),
            self.eps,
        )?
        .iter()
        .copied()
        .collect())
    }

    /// The documented bound (see the type's docs), for any input.
    pub fn error_bound(&self) -> f64 {
        let f = self.formats;
        let gamma_max =
            self.gamma.iter().map(|g| g.unsigned_abs()).max().unwrap_or(0) as f64 * f.affine.lsb();
        let z_max = ((self.n - 1) as f64).sqrt();
        let smallest_variance = (self.n - 1) as f64 / (self.n * self.n) as f64 * f.input.lsb().powi(2);
        let held = self.applied_eps();
        let eps_error = 0.5 * (held - self.eps).abs() / (smallest_variance + self.eps.min(held));
        let z_error = 0.5 * f.normalized.lsb() + z_max * (INV_SQRT_RELATIVE_ERROR + eps_error);
        gamma_max * z_error + 0.5 * f.output.lsb()
    }
}
