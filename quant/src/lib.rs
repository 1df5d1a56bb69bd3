//! hwformer-quant: number formats and the models that define correct answers.
//!
//! - [`format`]: `QFormat`, fixed-point values, and the one implementation
//!   of rounding and overflow.
//! - [`tables`]: generated function tables (exp, reciprocal, GELU, inverse
//!   square root) shared by the integer models and the RTL.
//! - [`reference`]: f64 models (softmax, attention, FFN, layer norm, an
//!   encoder layer): what the mathematics says.
//! - [`integer`]: bit-exact integer models: what the hardware must produce.
//! - [`random`]: seeded inputs for tests and measurements.
//! - [`accuracy`]: measurements of the integer models against the float ones.
//! - [`weights`]: safetensors files, float (models) and raw integer (blocks).
//! - [`bert`]: a real BERT-style model (MiniLM) from its file: float and
//!   integer forward passes, formats calibrated from its activations.
//!
//! This crate knows nothing of hardware description, simulators or vendor
//! tools.
#![warn(missing_docs)]

pub mod accuracy;
pub mod bert;
pub mod error;
pub mod format;
pub mod integer;
pub mod random;
pub mod reference;
pub mod tables;
pub mod weights;

pub use error::{QuantError, Result};
pub use format::{Fixed, Overflow, QFormat, Rounding};
