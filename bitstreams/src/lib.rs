//! hwformer-bitstreams: the Xilinx flow around exported blocks.
//!
//! Resource estimates from yosys `synth_xilinx` (`yosys`); the Vivado
//! non-project flow for users who have Vivado (`vivado`: XDC, batch TCL,
//! run script); parsers for Xilinx tool reports (`report`): Vivado
//! `report_utilization`, `report_timing_summary` and `report_power`, and
//! Vivado / Vitis HLS `csynth.rpt` and `_csynth.xml`, into typed,
//! serializable structs with a plain-text rendering (`text_table`); and
//! latency, throughput and energy figures that name their source
//! (`estimate`). It does not define or simulate blocks.
#![warn(missing_docs)]

pub mod estimate;
pub mod logic_depth;
pub mod report;
pub mod text_table;
pub mod vivado;
pub mod yosys;
