//! hwformer-hdl: hardware blocks written with rust-hdl, and their Verilog
//! export.
//!
//! Each block implements an integer model of `hwformer-quant` bit for bit,
//! with AXI4-Stream ports; `export` renames modules uniquely and writes the
//! JSON manifest beside the Verilog. This crate runs no simulator other
//! than rust-hdl's own (in its tests) and knows nothing of Verilator or
//! Vivado.
//!
//! Blocks so far: the exponential unit (`exp`), the reciprocal unit
//! (`reciprocal`) and row softmax (`softmax`). Streaming attention is to
//! come (see the RTL blocks issue).
#![warn(missing_docs)]

pub mod exp;
pub mod export;
pub mod fixed;
pub mod manifest;
pub mod reciprocal;
pub mod rom;
pub mod sdpa;
pub mod softmax;
