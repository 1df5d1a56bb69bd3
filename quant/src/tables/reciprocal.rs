//! `1/x` for positive integers, by a 256-entry table and one Newton step.
//!
//! ```text
//!  x --normalize--> m (16 bits, [1,2)), msb
//!  m --bits 14..7--> TABLE[256] = 1/m at bucket middle --> r0 (UQ0.16)
//!  Newton: r1 = r0 * (2 - m*r0)         (two 16x16 multiplies)
//!  1/x = r1 * 2^-(16 + msb)
//! ```

use super::{msb, top16, LookupTable, Scaled};
use crate::error::Result;
use crate::format::{shift_right_rounded, QFormat, Rounding};

/// Reciprocal of a positive raw integer.
///
/// Measured worst case over every 16-bit input and every 16-bit mantissa
/// of wider inputs (test `reciprocal_error_whole_domain`): relative error
/// 5.07e-5 (about 3.3 LSB of the Q0.16 mantissa).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reciprocal {
    table: LookupTable,
}

impl Reciprocal {
    /// Builds the seed table.
    pub fn new() -> Result<Self> {
        let table = LookupTable::generate("reciprocal_seed", 256, QFormat::unsigned(16, 16)?, |i| {
            1.0 / (1.0 + (i as f64 + 0.5) / 256.0)
        })?;
        Ok(Self { table })
    }

    /// The seed table, indexed by the 8 mantissa bits after the leading one.
    pub fn table(&self) -> &LookupTable {
        &self.table
    }

    /// `1 / x` for a raw `x >= 1` (0 is taken as 1).
    #[inline]
    pub fn eval(&self, x: u64) -> Scaled {
        let x = x.max(1);
        let msb = msb(x);
        let m = top16(x, msb); // Q1.15 in [2^15, 2^16)
        let r0 = self.table.get(((m >> 7) & 0xff) as usize); // Q0.16
        let error = (1u64 << 32) - u64::from(m) * u64::from(r0); // 2 - m*r0, Q1.31
        let correction = shift_right_rounded(i128::from(error), 16, Rounding::HalfUp); // Q1.15
        let r1 = shift_right_rounded(i128::from(r0) * correction, 15, Rounding::HalfUp);
        Scaled {
            mantissa: r1.min(0xffff) as u32,
            shift: 16 + msb as i32,
        }
    }
}

/// The documented worst-case relative error of [`Reciprocal::eval`],
/// asserted by a sweep of every 16-bit mantissa.
pub const RECIPROCAL_RELATIVE_ERROR: f64 = 5.2e-5;
