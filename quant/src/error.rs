//! The one error type of the crate: every bad input is named, never a panic.

use thiserror::Error;

/// Why a format, a conversion or a model refused its input.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum QuantError {
    /// A fixed-point format that cannot exist.
    #[error("invalid format: {0}")]
    InvalidFormat(String),
    /// A float that is NaN or infinite where a number was expected.
    #[error("{what} is not a finite number ({value})")]
    NonFinite {
        /// Which input held it.
        what: String,
        /// The offending value.
        value: f64,
    },
    /// An input that must have at least one element had none.
    #[error("{0} is empty")]
    Empty(String),
    /// Two inputs whose shapes must agree do not.
    #[error("shape mismatch in {what}: expected {expected}, found {found}")]
    ShapeMismatch {
        /// Which operation or input.
        what: String,
        /// The shape that was required.
        expected: String,
        /// The shape that was given.
        found: String,
    },
    /// A parameter outside the range a model supports.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// An exact intermediate result does not fit in 128 bits.
    #[error("exact intermediate of {0} needs more than 128 bits")]
    IntermediateTooWide(String),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, QuantError>;

/// Checks that every value is finite; `what` names the input in the error.
pub fn check_finite(what: &str, values: &[f64]) -> Result<()> {
    match values.iter().find(|v| !v.is_finite()) {
        Some(&value) => Err(QuantError::NonFinite {
            what: what.to_string(),
            value,
        }),
        None => Ok(()),
    }
}
