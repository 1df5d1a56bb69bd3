//! hwformer-dataflow: the streaming dataflow timing model.
//!
//! This crate will hold a cycle-accurate simulator of streaming hardware:
//! contexts (processing units with a latency and an initiation interval)
//! joined by bounded channels, with deadlock detection and per-channel
//! statistics, plus the naive and O(1)-memory SDPA graphs built on it.
//! It is the timing oracle the RTL is checked against. It is not an RTL
//! simulator and knows nothing of Verilog.
//!
//! Nothing is implemented yet: see the dataflow issue.
