//! hwformer-bitstreams: the Xilinx flow around exported blocks.
//!
//! Today: resource estimates from yosys `synth_xilinx` (`yosys`). To come
//! (see the Xilinx reports issue): Vivado TCL/XDC generation, parsers for
//! Vivado utilization, timing, power and HLS reports, and latency and
//! energy estimates. It does not define or simulate blocks.
#![warn(missing_docs)]

pub mod yosys;
