//! Layer normalization on integers.
//!
//! ```text
//!  x --sum * (1/n)--> mean --x - mean--> c_i
//!  c_i^2 --sum * (1/n)--> var (+ eps) --InvSqrt--> r
//!  c_i * r --round--> z_i (normalized format) --* gamma_i + beta_i--> y_i
//! ```
//! `1/n` is a constant: `round(2^(16 + ceil log2 n) / n)`, exact for powers
//! of two.

use super::{ceil_log2, check_len, check_raw, quantize_all};
use crate::error::{check_finite, QuantError, Result};
use crate::format::{shift_right_rounded, Overflow, QFormat, Rounding};
use crate::tables::InvSqrt;

/// Formats of the integer layer norm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerNormFormats {
    /// Input format (signed, at most 16 bits).
    pub input: QFormat,
    /// Normalized values before gamma and beta.
    pub normalized: QFormat,
    /// Format of gamma and beta.
    pub affine: QFormat,
    /// Output format.
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
}

/// Bit-exact layer norm of vectors of `n` elements.
///
/// Error bound against [`crate::reference::layer_norm`] on the dequantized
/// input, gamma and beta (same eps), while nothing saturates: computed by
/// [`IntLayerNorm::error_bound`] as `|gamma|max * (z_err) + 0.5 out LSB`,
/// with `z_err = 0.5 z LSB + |z|max * rel` and `rel` the inverse square
/// root's relative error plus the mean and variance roundings' share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntLayerNorm {
    formats: LayerNormFormats,
    n: usize,
    inv_n: i64,
    inv_n_shift: u32,
    eps_raw: i64,
    gamma: Vec<i64>,
    beta: Vec<i64>,
    inv_sqrt: InvSqrt,
}

impl IntLayerNorm {
    /// Quantizes gamma, beta and eps (eps into the variance's format, at
    /// least one LSB).
    pub fn new(formats: LayerNormFormats, gamma: &[f64], beta: &[f64], eps: f64) -> Result<Self> {
        let n = gamma.len();
        if n == 0 {
            return Err(QuantError::Empty("layer norm gamma".into()));
        }
        check_len("layer norm beta", beta.len(), n)?;
        check_finite("layer norm eps", &[eps])?;
        if eps < 0.0 {
            return Err(QuantError::InvalidParameter(format!(
                "layer norm eps must be >= 0, got {eps}"
            )));
        }
        if !formats.input.is_signed() || formats.input.bits() > 16 {
            return Err(QuantError::InvalidParameter(format!(
                "layer norm input must be signed and at most 16 bits, got {}",
                formats.input
            )));
        }
        let inv_n_shift = 16 + ceil_log2(n);
        let inv_n = ((1u64 << inv_n_shift) as f64 / n as f64).round() as i64;
        let variance = QFormat::unsigned(64, 2 * formats.input.frac())?;
        let eps_raw = (variance.quantize(eps, Rounding::HalfUp, Overflow::Saturate)? as i64).max(1);
        Ok(Self {
            formats,
            n,
            inv_n,
            inv_n_shift,
            eps_raw,
            gamma: quantize_all("layer norm gamma", gamma, formats.affine)?,
            beta: quantize_all("layer norm beta", beta, formats.affine)?,
            inv_sqrt: InvSqrt::new()?,
        })
    }

    /// Gamma and beta as the hardware holds them, dequantized.
    pub fn dequantized_affine(&self) -> (Vec<f64>, Vec<f64>) {
        let f = self.formats.affine;
        (
            super::dequantize_all(&self.gamma, f),
            super::dequantize_all(&self.beta, f),
        )
    }

    /// Eps as the hardware adds it.
    pub fn applied_eps(&self) -> f64 {
        self.eps_raw as f64 * (-2.0 * f64::from(self.formats.input.frac())).exp2()
    }

    /// One vector: raw input to raw output.
    pub fn run(&self, x: &[i64]) -> Result<Vec<i64>> {
        check_len("layer norm input", x.len(), self.n)?;
        check_raw("layer norm input", x, self.formats.input)?;
        let f = self.formats;
        let sum: i64 = x.iter().sum();
        let mean = shift_right_rounded(
            i128::from(sum) * i128::from(self.inv_n),
            self.inv_n_shift,
            Rounding::HalfUp,
        ) as i64;
        let squares: i128 = x.iter().map(|&v| i128::from((v - mean) * (v - mean))).sum();
        let variance = shift_right_rounded(
            squares * i128::from(self.inv_n),
            self.inv_n_shift,
            Rounding::HalfUp,
        ) as u64;
        let r = self
            .inv_sqrt
            .eval(variance + self.eps_raw as u64, 2 * f.input.frac());
        Ok(x.iter()
            .zip(self.gamma.iter().zip(&self.beta))
            .map(|(&v, (&g, &b))| {
                let z = f.normalized.fit(
                    r.mul_shift(
                        i128::from(v - mean),
                        f.normalized.frac() as i32 - f.input.frac() as i32,
                        Rounding::HalfUp,
                    ),
                    Overflow::Saturate,
                );
                let scaled = z * i128::from(g); // frac = normalized + affine
                let shift = f.normalized.frac() + f.affine.frac();
                let with_beta = scaled + (i128::from(b) << f.normalized.frac());
                let raw = if shift >= f.output.frac() {
                    shift_right_rounded(with_beta, shift - f.output.frac(), Rounding::HalfUp)
                } else {
                    with_beta << (f.output.frac() - shift)
                };
                f.output.fit(raw, Overflow::Saturate) as i64
            })
            .collect())
    }

    /// The documented bound (see the type's docs), given the largest
    /// normalized magnitude `sqrt(n - 1)` and a variance of at least
    /// `min_variance` (real units) in the inputs it is applied to.
    pub fn error_bound(&self, min_variance: f64) -> f64 {
        let f = self.formats;
        let gamma_max =
            self.gamma.iter().map(|g| g.unsigned_abs()).max().unwrap_or(0) as f64 * f.affine.lsb();
        let z_max = ((self.n.max(2) - 1) as f64).sqrt();
        let sigma = (min_variance + self.applied_eps()).sqrt();
        // mean rounding: half an input LSB shifts every c_i; variance
        // rounding and 1/n: relative; inverse sqrt: 5e-5 relative.
        let mean_error = 0.5 * f.input.lsb() / sigma;
        let variance_rel =
            (0.5 * f.input.lsb().powi(2) / (min_variance + self.applied_eps())) + 1.0 / (1u64 << 16) as f64;
        let rel = crate::tables::inv_sqrt::INV_SQRT_RELATIVE_ERROR + 0.5 * variance_rel;
        let z_error = 0.5 * f.normalized.lsb() + z_max * rel + mean_error;
        gamma_max * z_error + 0.5 * f.output.lsb()
    }
}
