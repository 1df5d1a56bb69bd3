//! `e^x` for `x <= 0`, by a base-2 split.
//!
//! ```text
//!  x (Q.F, <= 0) --*log2(e) (Q1.14)--> t = -n + f,  n integer >= 0, f in [0,1)
//!  f (16 bits) --hi 8--> HIGH[256] = 2^(i/256)     ---\
//!              --lo 8--> LOW[256]  = 2^(j/65536)   ----*--> 2^f (Q2.30)
//!  2^f >> (15 + n), rounded half-up                  --> e^x (UQ1.15)
//!  2^f >> (7 + n),  rounded half-up                  --> e^x (UQ1.23, wide)
//! ```

use super::LookupTable;
use crate::error::{QuantError, Result};
use crate::format::{shift_right_rounded_i64, QFormat, Rounding};

/// `log2(e)` in Q1.14, the constant the input is multiplied by.
pub const LOG2E_Q14: i64 = 23637;
/// Fractional bits of the output: `e^x` is unsigned Q1.15 (1.0 = 32768).
pub const EXP_OUT_FRAC: u32 = 15;
/// Fractional bits of the wide output [`ExpNeg::eval_wide`] (UQ1.23), for
/// sums of many small exponentials.
pub const EXP_WIDE_FRAC: u32 = 23;

/// Exponential of non-positive fixed-point inputs, as in softmax after the
/// row maximum is subtracted.
///
/// Input: signed, at most 16 bits, `frac <= 15`. Positive inputs are taken
/// as 0. Output: unsigned Q1.15 in [0, 32768].
///
/// Measured worst case over every non-positive 16-bit input (test
/// `exp_error_whole_domain`): 3.49e-5 absolute (1.14 output LSB) with 10
/// fractional bits, 3.35e-5 with 8, 4.01e-5 with 12; most of it is the
/// rounding of `log2(e)` to Q1.14, which grows with `|x|`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpNeg {
    input: QFormat,
    high: LookupTable,
    low: LookupTable,
}

impl ExpNeg {
    /// Builds the two 256-entry tables for inputs in `input`.
    pub fn new(input: QFormat) -> Result<Self> {
        if !input.is_signed() || input.bits() > 16 || input.frac() > 15 {
            return Err(QuantError::InvalidParameter(format!(
                "exp input must be signed, at most 16 bits, at most 15 fractional bits; got {input}"
            )));
        }
        let q1_15 = QFormat::unsigned(16, 15)?;
        let high = LookupTable::generate("exp2_high", 256, q1_15, |i| (i as f64 / 256.0).exp2())?;
        let low = LookupTable::generate("exp2_low", 256, q1_15, |j| (j as f64 / 65536.0).exp2())?;
        Ok(Self { input, high, low })
    }

    /// The input format.
    pub fn input(&self) -> QFormat {
        self.input
    }

    /// The table of `2^(i/256)`, indexed by the high 8 fraction bits.
    pub fn high_table(&self) -> &LookupTable {
        &self.high
    }

    /// The table of `2^(j/65536)`, indexed by the low 8 fraction bits.
    pub fn low_table(&self) -> &LookupTable {
        &self.low
    }

    /// `e^x` in unsigned Q1.15 for a raw input `x` (values above 0 count as 0).
    #[inline]
    pub fn eval(&self, x: i64) -> u32 {
        let (pow2_f, n) = self.split(x);
        shift_right_rounded_i64(i64::from(pow2_f), 30 - EXP_OUT_FRAC + n, Rounding::HalfUp) as u32
    }

    /// `e^x` in unsigned Q1.23: the same product as [`Self::eval`], shifted
    /// less, so that a sum of many small values does not lose them.
    #[inline]
    pub fn eval_wide(&self, x: i64) -> u32 {
        let (pow2_f, n) = self.split(x);
        shift_right_rounded_i64(i64::from(pow2_f), 30 - EXP_WIDE_FRAC + n, Rounding::HalfUp) as u32
    }

    /// `2^f` in UQ2.30 and `n`, with `e^x = 2^f * 2^-n`.
    #[inline]
    fn split(&self, x: i64) -> (u32, u32) {
        // below -2^40 every output is 0 anyway; the clamp keeps t in range
        let x = x.clamp(-(1 << 40), 0);
        let t = x * LOG2E_Q14; // frac = F + 14, t <= 0
        let t_frac = self.input.frac() + 14;
        let n = (-(t >> t_frac)) as u32; // integer part: t = -n + f
        let f = t & ((1i64 << t_frac) - 1);
        let f16 = if t_frac >= 16 {
            f >> (t_frac - 16)
        } else {
            f << (16 - t_frac)
        } as usize;
        (self.high.get(f16 >> 8) * self.low.get(f16 & 0xff), n) // Q2.30
    }
}

/// The documented worst-case absolute error of [`ExpNeg::eval`] for
/// 16-bit inputs with 8 to 12 fractional bits, asserted by a sweep.
pub const EXP_ERROR_BOUND: f64 = 4.1e-5;
