//! hwformer-sim: running exported RTL and checking it.
//!
//! This crate will hold the back ends (rust-hdl's simulator, a Verilator
//! bridge built at run time, Icarus Verilog), one AXI4-Stream testbench over
//! all of them, waveform and switching-activity dumps, and the checker that
//! compares every output beat with `hwformer-quant`'s integer model and its
//! cycle with `hwformer-dataflow`'s prediction. It defines no blocks.
//!
//! Nothing is implemented yet: see the Verilator bridge issue.
