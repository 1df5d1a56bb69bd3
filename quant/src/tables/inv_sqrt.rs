//! `1/sqrt(x)` for positive fixed-point values, by a 192-entry table and
//! one Newton step.
//!
//! ```text
//!  x --normalize to even exponent--> m in [1,4) (UQ2.14), x = m * 4^k
//!  m --bits 15..8--> TABLE[192] = 1/sqrt(m) at bucket middle --> y0 (UQ0.16)
//!  Newton: y1 = y0 * (3 - m*y0^2) / 2     (three 16x16 multiplies)
//!  1/sqrt(x) = y1 * 2^-(16 + k)
//! ```

use super::{msb, LookupTable, Scaled};
use crate::error::Result;
use crate::format::{shift_right_rounded, QFormat, Rounding};

/// Inverse square root of a positive raw integer with a given number of
/// fractional bits.
///
/// Measured worst case over every 16-bit input and every 16-bit mantissa
/// of wider inputs, at both exponent parities (test
/// `inv_sqrt_error_whole_domain`): relative error 5.25e-5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvSqrt {
    table: LookupTable,
}

impl InvSqrt {
    /// Builds the seed table.
    pub fn new() -> Result<Self> {
        let table = LookupTable::generate("inv_sqrt_seed", 192, QFormat::unsigned(16, 16)?, |i| {
            let middle = ((i + 64) as f64 + 0.5) / 64.0; // m16 >> 8 = i + 64
            1.0 / middle.sqrt()
        })?;
        Ok(Self { table })
    }

    /// The seed table, indexed by `(m >> 8) - 64` for a UQ2.14 mantissa `m`.
    pub fn table(&self) -> &LookupTable {
        &self.table
    }

    /// `1 / sqrt(x / 2^frac)` for a raw `x >= 1` (0 is taken as 1).
    #[inline]
    pub fn eval(&self, x: u64, frac: u32) -> Scaled {
        let x = x.max(1);
        let msb = msb(x);
        let exponent = msb as i32 - frac as i32; // x = [1,2) * 2^exponent
        let odd = exponent.rem_euclid(2) as u32;
        let k = (exponent - odd as i32) / 2; // x = [1,4) * 4^k
        let lead = 14 + odd; // bit of the leading one in the UQ2.14 mantissa
        let m = if msb >= lead {
            (x >> (msb - lead)) as u32
        } else {
            (x << (lead - msb)) as u32
        };
        let y0 = self.table.get((m >> 8) as usize - 64); // UQ0.16
        let y0_squared = shift_right_rounded(i128::from(y0 * y0), 16, Rounding::HalfUp).min(0xffff);
        let three_minus = 3 * (1i128 << 30) - i128::from(m) * y0_squared; // Q2.30
        let half = shift_right_rounded(three_minus, 16, Rounding::HalfUp); // (3 - m y0^2)/2, Q1.15
        let y1 = shift_right_rounded(i128::from(y0) * half, 15, Rounding::HalfUp);
        Scaled {
            mantissa: y1.min(0xffff) as u32,
            shift: 16 + k,
        }
    }
}

/// The documented worst-case relative error of [`InvSqrt::eval`],
/// asserted by a sweep of every 16-bit mantissa at both exponent parities.
pub const INV_SQRT_RELATIVE_ERROR: f64 = 5.3e-5;
