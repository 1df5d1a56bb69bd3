//! hwformer-bitstreams: the Xilinx flow around exported blocks.
//!
//! Today: resource estimates from yosys `synth_xilinx` (`yosys`), and
//! parsers for Xilinx tool reports (`report`): Vivado `report_utilization`,
//! `report_timing_summary` and `report_power`, and Vivado / Vitis HLS
//! `csynth.rpt` and `_csynth.xml`, into typed, serializable structs, with a
//! plain-text rendering built on `text_table`. To come (see the Xilinx
//! reports issue): Vivado TCL/XDC generation, and latency and energy
//! estimates. It does not define or simulate blocks.
#![warn(missing_docs)]

pub mod estimate;
pub mod report;
pub mod text_table;
pub mod yosys;
