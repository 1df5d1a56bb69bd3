//! Generated function tables: the one place ROM contents are made.
//!
//! Each function is a small table (at most 256 entries of 16 bits) plus a
//! few shifts and 16x16 multiplies. The `eval` methods are the bit-exact
//! definition; the RTL reads the same [`LookupTable`]s and must repeat the
//! same steps. Every doc comment states the worst-case error measured by a
//! test that sweeps the whole input domain.

pub mod exp;
pub mod gelu;
pub mod inv_sqrt;
pub mod reciprocal;

pub use exp::ExpNeg;
pub use gelu::Gelu;
pub use inv_sqrt::InvSqrt;
pub use reciprocal::Reciprocal;

use crate::error::Result;
use crate::format::{Overflow, QFormat, Rounding};

/// The largest table any generator makes: 256 entries fit one 18 Kb block
/// RAM (or 64 LUT6s per bit) comfortably.
pub const MAX_TABLE_ENTRIES: usize = 256;

/// A read-only table of 16-bit entries and the format they are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupTable {
    /// What the table holds, for ROM names and reports.
    pub name: &'static str,
    /// The format of each entry (unsigned, at most 16 bits).
    pub format: QFormat,
    /// The raw entries, index 0 first.
    pub entries: Vec<u16>,
}

impl LookupTable {
    /// Samples `f` at every index, rounding half-up and saturating into
    /// `format`.
    pub fn generate(
        name: &'static str,
        len: usize,
        format: QFormat,
        f: impl Fn(usize) -> f64,
    ) -> Result<Self> {
        let entries = (0..len)
            .map(|i| {
                format
                    .quantize(f(i), Rounding::HalfUp, Overflow::Saturate)
                    .map(|raw| raw as u16)
            })
            .collect::<Result<Vec<u16>>>()?;
        Ok(Self {
            name,
            format,
            entries,
        })
    }

    /// The entry at `index` (the caller's index is always in range).
    #[inline]
    pub fn get(&self, index: usize) -> u32 {
        u32::from(self.entries[index])
    }
}

/// A positive number as `mantissa * 2^-shift`: how reciprocal and inverse
/// square root return their result without a fixed output range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaled {
    /// Unsigned Q0.16 mantissa, in [2^15, 2^16).
    pub mantissa: u32,
    /// Power of two to divide by (may be negative for large results).
    pub shift: i32,
}

impl Scaled {
    /// The real number represented.
    pub fn to_f64(self) -> f64 {
        f64::from(self.mantissa) * (-(self.shift as f64)).exp2()
    }

    /// `value * self * 2^shift_left`, rounded to an integer: one exact
    /// product, then one rounding.
    #[inline]
    pub fn mul_shift(self, value: i128, shift_left: i32, rounding: Rounding) -> i128 {
        let product = value * i128::from(self.mantissa);
        let shift = self.shift - shift_left;
        if shift >= 0 {
            crate::format::shift_right_rounded(product, shift as u32, rounding)
        } else {
            crate::format::shift_left(product, (-shift) as u32).unwrap_or(if product < 0 {
                i128::MIN
            } else {
                i128::MAX
            })
        }
    }
}

/// Position of the most significant one bit of a non-zero value.
#[inline]
pub(crate) fn msb(x: u64) -> u32 {
    63 - x.leading_zeros()
}

/// The 16 bits of `x` starting at its most significant one (truncating
/// the rest), so the result is in [2^15, 2^16).
#[inline]
pub(crate) fn top16(x: u64, msb: u32) -> u32 {
    if msb >= 15 {
        (x >> (msb - 15)) as u32
    } else {
        (x << (15 - msb)) as u32
    }
}
