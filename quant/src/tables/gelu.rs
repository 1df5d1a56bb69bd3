//! GELU as ReLU minus a symmetric correction from a 256-entry table.
//!
//! `GELU(x) = x * Phi(x) = ReLU(x) - |x| * Phi(-|x|)`; the correction
//! `delta(|x|)` is at most 0.17, its slope at most 0.5, and below 1.3e-4
//! for `|x| >= 4`, so one table over `|x|` in [0, 4) suffices.
//!
//! ```text
//!  x --|x|, top bits--> index (step 1/64; >= 256 means 0) --> DELTA[256] (UQ0.16)
//!  ReLU(x) << (16 - F)  -  delta  --> round half-up to Q.F --> GELU(x)
//! ```

use super::LookupTable;
use crate::error::{QuantError, Result};
use crate::format::{shift_right_rounded, QFormat, Rounding};

/// Table steps per unit of `|x|`.
const STEPS_PER_UNIT: u32 = 64;
const LOG2_STEPS: u32 = 6;

/// GELU on signed fixed-point values; output in the input's format.
///
/// Measured worst case over every 16-bit input with 10 fractional bits
/// (test `gelu_error_whole_domain`): 4.0e-3 absolute on the whole domain
/// (and so on [-4, 4]), against the exact `x * Phi(x)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gelu {
    format: QFormat,
    delta: LookupTable,
}

/// The standard normal cumulative distribution function.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function, accurate to about 1e-15 relative
/// (continued-fraction tail and series core; no external crate needed).
fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        // erf series: 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
        let mut term = x;
        let mut sum = x;
        let x2 = x * x;
        let mut n = 0.0;
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= -x2 / n;
            sum += term / (2.0 * n + 1.0);
        }
        1.0 - sum * std::f64::consts::FRAC_2_SQRT_PI
    } else {
        // Lentz continued fraction for erfc
        let mut f = x;
        let mut c = x;
        let mut d = 0.0;
        for k in 1..200 {
            let a = k as f64 / 2.0;
            d = x + a * d;
            d = 1.0 / d;
            c = x + a / c;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x * x).exp() / (f * std::f64::consts::PI.sqrt())
    }
}

/// The exact GELU, `x * Phi(x)`.
pub fn gelu_f64(x: f64) -> f64 {
    x * normal_cdf(x)
}

impl Gelu {
    /// Builds the correction table for values in `format` (signed, at most
    /// 16 bits, at least 6 fractional bits).
    pub fn new(format: QFormat) -> Result<Self> {
        if !format.is_signed() || format.bits() > 16 || format.frac() < LOG2_STEPS {
            return Err(QuantError::InvalidParameter(format!(
                "GELU format must be signed, at most 16 bits, at least {LOG2_STEPS} fractional bits; got {format}"
            )));
        }
        let delta = LookupTable::generate("gelu_delta", 256, QFormat::unsigned(16, 16)?, |i| {
            // middle of the range the bucket's correction takes (minimax entry)
            let (mut lo, mut hi) = (f64::MAX, f64::MIN);
            for s in 0..=64 {
                let a = (i as f64 + s as f64 / 64.0) / f64::from(STEPS_PER_UNIT);
                let d = a * normal_cdf(-a);
                lo = lo.min(d);
                hi = hi.max(d);
            }
            (lo + hi) / 2.0
        })?;
        Ok(Self { format, delta })
    }

    /// The format of inputs and outputs.
    pub fn format(&self) -> QFormat {
        self.format
    }

    /// The correction table `delta(|x|)`, index `floor(|x| * 64)`.
    pub fn delta_table(&self) -> &LookupTable {
        &self.delta
    }

    /// The table folded into the output rounding, for hardware: entry `i`
    /// is `round((-delta[i]) / 2^(16 - F))`, half up, so that
    /// `eval(x) = max(x, 0) + corrections[index(x)]` (0 for an index of
    /// 256 or more). Exact: `max(x, 0) << (16 - F)` has no bits below the
    /// rounding shift. One 16-bit add replaces the subtraction and the
    /// wide rounding (test `rounded_corrections_reproduce_eval` in
    /// `quant/tests/tables.rs`, every 16-bit input).
    pub fn rounded_corrections(&self) -> Vec<i64> {
        let shift = 16 - self.format.frac();
        self.delta
            .entries
            .iter()
            .map(|&d| shift_right_rounded(-i128::from(d), shift, Rounding::HalfUp) as i64)
            .collect()
    }

    /// The table index of a raw input: `floor(|x| * 64)`, 256 or more
    /// beyond the table.
    #[inline]
    pub fn index(&self, x: i64) -> usize {
        (x.unsigned_abs() >> (self.format.frac() - LOG2_STEPS)) as usize
    }

    /// GELU of a raw input, as a raw output in the same format.
    #[inline]
    pub fn eval(&self, x: i64) -> i64 {
        let frac = self.format.frac();
        let index = self.index(x);
        let delta = if index < 256 { self.delta.get(index) } else { 0 };
        let relu = i128::from(x.max(0)) << (16 - frac);
        shift_right_rounded(relu - i128::from(delta), 16 - frac, Rounding::HalfUp) as i64
    }
}

/// The documented worst-case absolute error of [`Gelu::eval`] (any format
/// with at least 10 fractional bits), asserted by a whole-domain sweep.
pub const GELU_ERROR_BOUND: f64 = 4.1e-3;
