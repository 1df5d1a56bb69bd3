//! Bit-exact integer models: exactly which bits the hardware must produce.
//!
//! Each model takes raw integers in declared [`QFormat`]s, uses only the
//! shared rounding ([`crate::format`]) and tables ([`crate::tables`]), and
//! documents its error bound against the float reference in
//! [`crate::reference`].

pub mod binarized;
pub mod binary_attention;
pub mod bit_linear;
pub mod ffn;
pub mod layer_norm;
pub mod linear;
pub mod sdpa;
pub mod softmax;

use crate::error::{QuantError, Result};
use crate::format::QFormat;

/// Checks that every raw value is representable in `format`.
pub fn check_raw(what: &str, values: &[i64], format: QFormat) -> Result<()> {
    match values.iter().position(|&v| !format.contains(i128::from(v))) {
        Some(i) => Err(QuantError::InvalidParameter(format!(
            "{what}[{i}] = {} is outside {format} [{}, {}]",
            values[i],
            format.min_raw(),
            format.max_raw()
        ))),
        None => Ok(()),
    }
}

/// Checks that a slice has the length a model needs.
pub fn check_len(what: &str, found: usize, expected: usize) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(QuantError::ShapeMismatch {
            what: what.into(),
            expected: expected.to_string(),
            found: found.to_string(),
        })
    }
}

/// Quantizes floats into raw values (half-up, saturating); NaN is an error.
pub fn quantize_all(what: &str, values: &[f64], format: QFormat) -> Result<Vec<i64>> {
    crate::error::check_finite(what, values)?;
    values
        .iter()
        .map(|&v| {
            format
                .quantize(
                    v,
                    crate::format::Rounding::HalfUp,
                    crate::format::Overflow::Saturate,
                )
                .map(|r| r as i64)
        })
        .collect()
}

/// Dequantizes raw values.
pub fn dequantize_all(values: &[i64], format: QFormat) -> Vec<f64> {
    values.iter().map(|&v| format.to_f64(i128::from(v))).collect()
}

/// Smallest `k` with `2^k >= n` (0 for n <= 1).
pub fn ceil_log2(n: usize) -> u32 {
    n.max(1).next_power_of_two().trailing_zeros()
}
