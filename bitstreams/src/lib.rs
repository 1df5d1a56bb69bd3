//! hwformer-bitstreams: the Xilinx flow around exported blocks.
//!
//! This crate will hold Vivado TCL/XDC generation, yosys resource
//! estimates, parsers for Vivado utilization, timing, power and HLS reports,
//! and the latency and energy estimates built from them. It does not define
//! or simulate blocks.
//!
//! Nothing is implemented yet: see the Xilinx reports issue.
