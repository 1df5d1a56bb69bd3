//! Fixed-point number formats and the one implementation of rounding and
//! overflow handling that every model (and the RTL) follows.
//!
//! A value in `QFormat { signed, bits, frac }` is a two's complement (or
//! unsigned) integer `raw` of `bits` bits; its real number is
//! `raw / 2^frac`. Raw values are carried as `i128` so that every format of
//! up to 64 bits, signed or unsigned, and every exact product of two such
//! values, fits without loss.

use crate::error::{QuantError, Result};
use serde::{Deserialize, Serialize};

/// How a value that falls between two representable ones is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Round to nearest, ties toward +infinity (add half an LSB, then floor):
    /// the cheapest rounding in hardware.
    HalfUp,
    /// Round to nearest, ties to the even neighbour (IEEE default).
    NearestEven,
    /// Drop the fraction toward zero (truncate the magnitude).
    TowardZero,
    /// Drop the fraction toward -infinity (a plain arithmetic shift).
    Floor,
}

/// What happens to a value outside a format's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Clamp to the nearest end of the range.
    Saturate,
    /// Keep the low `bits` bits (two's complement wrap-around).
    Wrap,
}

/// A fixed-point format: signedness, total width and fractional bits.
///
/// Valid formats have `1 <= bits <= 64` and `frac <= bits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "UncheckedFormat")]
pub struct QFormat {
    signed: bool,
    bits: u32,
    frac: u32,
}

/// The serialized shape of a format, validated on the way in.
#[derive(Deserialize)]
struct UncheckedFormat {
    signed: bool,
    bits: u32,
    frac: u32,
}

impl TryFrom<UncheckedFormat> for QFormat {
    type Error = QuantError;
    fn try_from(f: UncheckedFormat) -> Result<Self> {
        QFormat::new(f.signed, f.bits, f.frac)
    }
}

impl std::fmt::Display for QFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.signed { "Q" } else { "UQ" };
        let int = self.bits as i64 - self.frac as i64 - i64::from(self.signed);
        write!(f, "{kind}{int}.{} ({} bits)", self.frac, self.bits)
    }
}

impl std::str::FromStr for QFormat {
    type Err = QuantError;

    /// Reads the notation [`Display`](std::fmt::Display) writes: `Q3.12`
    /// (signed: sign, 3 integer and 12 fractional bits), `UQ0.16`
    /// (unsigned), with or without the ` (16 bits)` that follows; the
    /// integer part may be negative (`Q-1.17`: 17 bits, all fractional).
    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            QuantError::InvalidFormat(format!(
                "`{text}`: expected Q<int>.<frac> or UQ<int>.<frac>, e.g. Q3.12 or UQ0.16"
            ))
        };
        let (notation, stated_bits) = match text.trim().split_once(' ') {
            Some((n, rest)) => {
                let bits = rest
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(" bits)"))
                    .ok_or_else(bad)?;
                (n, Some(bits.parse::<u32>().map_err(|_| bad())?))
            }
            None => (text.trim(), None),
        };
        let (signed, rest) = match notation.strip_prefix("UQ") {
            Some(rest) => (false, rest),
            None => (true, notation.strip_prefix('Q').ok_or_else(bad)?),
        };
        let (int, frac) = rest.split_once('.').ok_or_else(bad)?;
        let int: i64 = int.parse().map_err(|_| bad())?;
        let frac: u32 = frac.parse().map_err(|_| bad())?;
        let bits = int
            .checked_add(i64::from(frac) + i64::from(signed))
            .ok_or_else(bad)?;
        let bits = u32::try_from(bits).map_err(|_| bad())?;
        if stated_bits.is_some_and(|b| b != bits) {
            return Err(QuantError::InvalidFormat(format!(
                "`{text}`: the notation makes {bits} bits"
            )));
        }
        Self::new(signed, bits, frac)
    }
}

impl QFormat {
    /// A format of `bits` bits with `frac` fractional bits.
    pub fn new(signed: bool, bits: u32, frac: u32) -> Result<Self> {
        if bits == 0 {
            return Err(QuantError::InvalidFormat("a format needs at least 1 bit".into()));
        }
        if bits > 64 {
            return Err(QuantError::InvalidFormat(format!(
                "{bits} bits is more than the 64 supported"
            )));
        }
        if frac > bits {
            return Err(QuantError::InvalidFormat(format!(
                "{frac} fractional bits do not fit in {bits} bits"
            )));
        }
        Ok(Self { signed, bits, frac })
    }

    /// A signed format (shorthand for `new(true, ..)`).
    pub fn signed(bits: u32, frac: u32) -> Result<Self> {
        Self::new(true, bits, frac)
    }

    /// An unsigned format (shorthand for `new(false, ..)`).
    pub fn unsigned(bits: u32, frac: u32) -> Result<Self> {
        Self::new(false, bits, frac)
    }

    /// Whether the format is two's complement signed.
    #[inline]
    pub fn is_signed(&self) -> bool {
        self.signed
    }

    /// Total width in bits.
    #[inline]
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Number of fractional bits.
    #[inline]
    pub fn frac(&self) -> u32 {
        self.frac
    }

    /// Smallest raw value.
    #[inline]
    pub fn min_raw(&self) -> i128 {
        if self.signed {
            -(1i128 << (self.bits - 1))
        } else {
            0
        }
    }

    /// Largest raw value.
    #[inline]
    pub fn max_raw(&self) -> i128 {
        if self.signed {
            (1i128 << (self.bits - 1)) - 1
        } else {
            (1i128 << self.bits) - 1
        }
    }

    /// The real value of one least significant bit, `2^-frac`.
    #[inline]
    pub fn lsb(&self) -> f64 {
        (-(self.frac as f64)).exp2()
    }

    /// Smallest representable real value.
    pub fn min_value(&self) -> f64 {
        self.to_f64(self.min_raw())
    }

    /// Largest representable real value.
    pub fn max_value(&self) -> f64 {
        self.to_f64(self.max_raw())
    }

    /// Whether `raw` is inside the format's range.
    #[inline]
    pub fn contains(&self, raw: i128) -> bool {
        (self.min_raw()..=self.max_raw()).contains(&raw)
    }

    /// The real number a raw value stands for.
    #[inline]
    pub fn to_f64(&self, raw: i128) -> f64 {
        raw as f64 * self.lsb()
    }

    /// Brings an integer into range: clamps it, or keeps its low `bits` bits.
    #[inline]
    pub fn fit(&self, raw: i128, overflow: Overflow) -> i128 {
        match overflow {
            Overflow::Saturate => raw.clamp(self.min_raw(), self.max_raw()),
            Overflow::Wrap => {
                let low = (raw as u128) & (u128::MAX >> (128 - self.bits));
                let low = low as i128;
                if self.signed && low > self.max_raw() {
                    low - (1i128 << self.bits)
                } else {
                    low
                }
            }
        }
    }

    /// The raw value nearest (by `rounding`) to the real number `x`,
    /// brought into range by `overflow`. NaN and infinities are errors.
    pub fn quantize(&self, x: f64, rounding: Rounding, overflow: Overflow) -> Result<i128> {
        if !x.is_finite() {
            return Err(QuantError::NonFinite {
                what: format!("value to quantize into {self}"),
                value: x,
            });
        }
        let scaled = x * (self.frac as f64).exp2();
        if !scaled.is_finite() {
            // |x| > 2^(1023 - frac): a multiple of 2^64, so its low bits are 0.
            return Ok(match overflow {
                Overflow::Saturate if x > 0.0 => self.max_raw(),
                Overflow::Saturate => self.min_raw(),
                Overflow::Wrap => 0,
            });
        }
        let rounded = round_f64(scaled, rounding);
        const LIMIT: f64 = 1.7e38; // below 2^127
        if rounded.abs() < LIMIT {
            Ok(self.fit(rounded as i128, overflow))
        } else {
            Ok(match overflow {
                Overflow::Saturate if rounded > 0.0 => self.max_raw(),
                Overflow::Saturate => self.min_raw(),
                // rem_euclid is exact on integers; 2^bits fits an f64 exactly.
                Overflow::Wrap => self.fit(rounded.rem_euclid((self.bits as f64).exp2()) as i128, overflow),
            })
        }
    }

    /// Changes a raw value with `from_frac` fractional bits into this format.
    pub fn requantize(
        &self,
        raw: i128,
        from_frac: u32,
        rounding: Rounding,
        overflow: Overflow,
    ) -> Result<i128> {
        let aligned = if self.frac >= from_frac {
            shift_left(raw, self.frac - from_frac)
                .ok_or_else(|| QuantError::IntermediateTooWide("requantize".into()))?
        } else {
            shift_right_rounded(raw, from_frac - self.frac, rounding)
        };
        Ok(self.fit(aligned, overflow))
    }
}

/// Rounds a float to an integer value (still an f64) by the given rule.
pub fn round_f64(x: f64, rounding: Rounding) -> f64 {
    let floor = x.floor();
    let diff = x - floor; // exact in binary floating point
    match rounding {
        Rounding::Floor => floor,
        Rounding::TowardZero => x.trunc(),
        Rounding::HalfUp => {
            if diff >= 0.5 {
                floor + 1.0
            } else {
                floor
            }
        }
        Rounding::NearestEven => {
            if diff > 0.5 || (diff == 0.5 && floor.rem_euclid(2.0) == 1.0) {
                floor + 1.0
            } else {
                floor
            }
        }
    }
}

/// One definition of round-and-shift, instantiated for each integer width.
macro_rules! shift_right_rounded_for {
    ($(#[$doc:meta])* $name:ident, $int:ty, $uint:ty, $bits:expr) => {
        $(#[$doc])*
        #[inline]
        pub fn $name(value: $int, shift: u32, rounding: Rounding) -> $int {
            if shift == 0 {
                return value;
            }
            let shift = shift.min($bits);
            let quotient = value >> shift.min($bits - 1);
            let mask = if shift == $bits {
                <$uint>::MAX
            } else {
                ((1 as $uint) << shift) - 1
            };
            let remainder = (value as $uint) & mask;
            let half = (1 as $uint) << (shift - 1);
            let round_up = match rounding {
                Rounding::Floor => false,
                Rounding::TowardZero => value < 0 && remainder != 0,
                Rounding::HalfUp => remainder >= half,
                Rounding::NearestEven => remainder > half || (remainder == half && quotient & 1 == 1),
            };
            quotient + <$int>::from(round_up)
        }
    };
}

shift_right_rounded_for!(
    /// `value / 2^shift` rounded by `rounding`: the hardware's round-and-shift.
    ///
    /// Defined for every `value` and every `shift` (shifts of 128 or more give
    /// the same answer as 128), so no input can make it panic.
    shift_right_rounded,
    i128,
    u128,
    128
);

shift_right_rounded_for!(
    /// [`shift_right_rounded`] on `i64`, for hot loops whose values are known
    /// to fit (shifts of 64 or more give the same answer as 64).
    shift_right_rounded_i64,
    i64,
    u64,
    64
);

/// `value * 2^shift`, or `None` when it does not fit in an `i128`.
#[inline]
pub fn shift_left(value: i128, shift: u32) -> Option<i128> {
    if shift >= 127 {
        return if value == 0 { Some(0) } else { None };
    }
    value.checked_mul(1i128 << shift)
}

/// A fixed-point value: a raw integer and the format that gives it meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fixed {
    raw: i128,
    format: QFormat,
}

impl Fixed {
    /// A value from its raw integer; the integer must be in range.
    pub fn from_raw(raw: i128, format: QFormat) -> Result<Self> {
        if !format.contains(raw) {
            return Err(QuantError::InvalidParameter(format!(
                "raw value {raw} is outside {format} [{}, {}]",
                format.min_raw(),
                format.max_raw()
            )));
        }
        Ok(Self { raw, format })
    }

    /// The value of `format` nearest to `x` by `rounding`, with `overflow`.
    pub fn from_f64(x: f64, format: QFormat, rounding: Rounding, overflow: Overflow) -> Result<Self> {
        Ok(Self {
            raw: format.quantize(x, rounding, overflow)?,
            format,
        })
    }

    /// The raw integer.
    pub fn raw(&self) -> i128 {
        self.raw
    }

    /// The format.
    pub fn format(&self) -> QFormat {
        self.format
    }

    /// The real number this value stands for.
    pub fn to_f64(&self) -> f64 {
        self.format.to_f64(self.raw)
    }

    /// This value in another format.
    pub fn requantize(&self, out: QFormat, rounding: Rounding, overflow: Overflow) -> Result<Self> {
        Ok(Self {
            raw: out.requantize(self.raw, self.format.frac, rounding, overflow)?,
            format: out,
        })
    }

    /// The exact sum, then rounded and fitted into `out`.
    pub fn add(&self, other: &Self, out: QFormat, rounding: Rounding, overflow: Overflow) -> Result<Self> {
        self.combine(other, out, rounding, overflow, "add", i128::checked_add)
    }

    /// The exact difference `self - other`, then rounded and fitted into `out`.
    pub fn sub(&self, other: &Self, out: QFormat, rounding: Rounding, overflow: Overflow) -> Result<Self> {
        self.combine(other, out, rounding, overflow, "sub", i128::checked_sub)
    }

    /// The exact product, then rounded and fitted into `out`.
    pub fn mul(&self, other: &Self, out: QFormat, rounding: Rounding, overflow: Overflow) -> Result<Self> {
        let product = self
            .raw
            .checked_mul(other.raw)
            .ok_or_else(|| QuantError::IntermediateTooWide("mul".into()))?;
        let frac = self.format.frac + other.format.frac;
        Ok(Self {
            raw: out.requantize(product, frac, rounding, overflow)?,
            format: out,
        })
    }

    /// Aligns both operands to the finer fraction and applies `op` exactly.
    fn combine(
        &self,
        other: &Self,
        out: QFormat,
        rounding: Rounding,
        overflow: Overflow,
        name: &str,
        op: fn(i128, i128) -> Option<i128>,
    ) -> Result<Self> {
        let frac = self.format.frac.max(other.format.frac);
        let too_wide = || QuantError::IntermediateTooWide(name.to_string());
        let a = shift_left(self.raw, frac - self.format.frac).ok_or_else(too_wide)?;
        let b = shift_left(other.raw, frac - other.format.frac).ok_or_else(too_wide)?;
        let exact = op(a, b).ok_or_else(too_wide)?;
        Ok(Self {
            raw: out.requantize(exact, frac, rounding, overflow)?,
            format: out,
        })
    }
}
