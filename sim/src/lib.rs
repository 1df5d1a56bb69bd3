//! hwformer-sim: running exported blocks and checking them.
//!
//! Back ends behind one [`testbench::Simulator`] trait: rust-hdl's own
//! simulator (`rusthdl`), Verilator compiled at run time behind a C shim
//! (`verilator`), and Icarus Verilog through a generated testbench
//! (`icarus`, a batch run of the same stimulus). One AXI4-Stream testbench
//! (`testbench`) drives them with seeded gaps and back-pressure and stamps
//! every beat with its cycle; `check` compares the beats with the integer
//! model bit for bit and with the float reference within the manifest's
//! bound, and the cycles with the block's handshake graph (`timing`, run by hwformer-dataflow). `workload` makes the
//! stimulus for each block. This crate defines no blocks.
#![warn(missing_docs)]

pub mod check;
pub mod error;
pub mod icarus;
pub mod layer;
pub mod ports;
pub mod rusthdl;
pub mod saif;
pub mod session;
pub mod testbench;
pub mod timing;
pub mod verilator;
pub mod workload;

pub use error::SimError;
