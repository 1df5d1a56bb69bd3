//! Row softmax on fixed-point logits.
//!
//! ```text
//!  logits --max--> m
//!  logits - m --ExpNeg--> e_i (UQ1.15) and w_i (UQ1.23, same product)
//!  sum w_i --> S (UQ.23) --Reciprocal--> 1/S
//!  e_i * (1/S) * 2^8 --round half-up, saturate--> p_i (UQ0.16)
//! ```
//! The sum uses the wide exponentials so that many tiny terms (each below
//! half a UQ1.15 LSB) still count: without them a row of one large and 255
//! small logits would be off by up to 0.004.
//! ```text
//! ```

use super::{ceil_log2, check_raw};
use crate::error::{QuantError, Result};
use crate::format::{QFormat, Rounding};
use crate::tables::{exp::EXP_OUT_FRAC, exp::EXP_WIDE_FRAC, ExpNeg, Reciprocal};

/// Bit-exact model of the softmax block.
///
/// Error bound against f64 softmax of the dequantized logits:
/// [`SoftmaxModel::ERROR_BOUND`] = 2^-10 for rows of up to 256. Derivation:
/// each `e_i` is off by at most 3.5e-5 (table sweep), which moves `p_i` by
/// at most that since `S >= 1`; `S` is off by at most 4e-5 relative plus
/// `n * 2^-24`; the reciprocal adds 5.1e-5 relative and the output rounding
/// and saturation 2.3e-5: about 1.7e-4 in all, well inside 2^-10. Measured
/// worst case on random rows: 4.6e-5 (docs/ACCURACY.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftmaxModel {
    input: QFormat,
    output: QFormat,
    n_max: usize,
    exp: ExpNeg,
    reciprocal: Reciprocal,
}

impl SoftmaxModel {
    /// Documented max-abs error against the float softmax.
    pub const ERROR_BOUND: f64 = 1.0 / 1024.0;

    /// A softmax for rows of up to `n_max` logits in `input` (signed, at
    /// most 16 bits); probabilities are unsigned Q0.16.
    pub fn new(input: QFormat, n_max: usize) -> Result<Self> {
        if n_max == 0 || n_max > 1 << 16 {
            return Err(QuantError::InvalidParameter(format!(
                "softmax n_max must be in 1..=65536, got {n_max}"
            )));
        }
        Ok(Self {
            input,
            output: QFormat::unsigned(16, 16)?,
            n_max,
            exp: ExpNeg::new(input)?,
            reciprocal: Reciprocal::new()?,
        })
    }

    /// The default design: Q5.10 logits (16 bits), rows of up to 256.
    pub fn default_design() -> Self {
        Self::new(QFormat::signed(16, 10).expect("valid"), 256).expect("valid")
    }

    /// Logit format.
    pub fn input(&self) -> QFormat {
        self.input
    }

    /// Probability format (UQ0.16).
    pub fn output(&self) -> QFormat {
        self.output
    }

    /// Longest row.
    pub fn n_max(&self) -> usize {
        self.n_max
    }

    /// The exponential tables.
    pub fn exp(&self) -> &ExpNeg {
        &self.exp
    }

    /// The reciprocal table.
    pub fn reciprocal(&self) -> &Reciprocal {
        &self.reciprocal
    }

    /// Width of the exponent sum register: UQ(1 + log2 n_max).23.
    pub fn sum_bits(&self) -> u32 {
        EXP_WIDE_FRAC + 1 + ceil_log2(self.n_max)
    }

    /// Probabilities (raw UQ0.16) of one row of raw logits.
    pub fn run(&self, logits: &[i64]) -> Result<Vec<u32>> {
        if logits.is_empty() {
            return Err(QuantError::Empty("softmax row".into()));
        }
        if logits.len() > self.n_max {
            return Err(QuantError::InvalidParameter(format!(
                "softmax row of {} logits is longer than n_max = {}",
                logits.len(),
                self.n_max
            )));
        }
        check_raw("logit", logits, self.input)?;
        let max = logits.iter().copied().max().unwrap_or(0);
        let sum: u64 = logits
            .iter()
            .map(|&x| u64::from(self.exp.eval_wide(x - max)))
            .sum();
        let inverse = self.reciprocal.eval(sum);
        let max_out = self.output.max_raw();
        // p = (e / 2^15) / (S / 2^23), in UQ0.16: e * (1/S) * 2^(23 - 15 + 16)
        let shift = (EXP_WIDE_FRAC - EXP_OUT_FRAC + self.output.frac()) as i32;
        Ok(logits
            .iter()
            .map(|&x| {
                let e = i128::from(self.exp.eval(x - max));
                inverse.mul_shift(e, shift, Rounding::HalfUp).clamp(0, max_out) as u32
            })
            .collect())
    }
}
