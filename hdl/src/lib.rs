//! hwformer-hdl: the hardware blocks, written with rust-hdl, and their
//! Verilog export.
//!
//! This crate will hold one block per file (softmax, streaming SDPA, FFN,
//! layer norm), shared fixed-point and AXI4-Stream pieces, and the exporter
//! that writes `<block>.v` and its JSON manifest. It implements the integer
//! models of `hwformer-quant` in hardware; it does not run simulators other
//! than rust-hdl's own, nor vendor tools.
//!
//! Nothing is implemented yet: see the RTL blocks issue.
