//! hwformer-dataflow: a cycle-accurate model of streaming dataflow
//! hardware, the timing oracle the RTL is checked against.
//!
//! Contexts (units with a latency and an initiation interval) keep their
//! own clocks and meet only through bounded channels with latency; a full
//! channel back-pressures its sender. Runs are deterministic, a deadlock is
//! reported with who waits on what, and memory does not grow with the
//! number of simulated cycles. On top: the naive and the O(1)-memory
//! streaming SDPA graphs, their closed-form cycle counts, and a search for
//! minimum FIFO depths.
//!
//! Beside them, [`handshake`]: every exported block's timing as a graph
//! of units with the RTL's valid/ready semantics (lock-step pipelines,
//! FIFOs, a row ring, shared finishers, paced sources and sinks), stepped
//! cycle by cycle: the one timing model the RTL is checked against.
//!
//! It is not an RTL simulator and knows nothing of Verilog.
#![warn(missing_docs)]

mod bisect;
pub mod channel;
pub mod context;
pub mod handshake;
pub mod pacing;
pub mod plot;
pub mod program;
pub mod sdpa;
pub mod units;

pub use channel::{Blocked, ChannelId, Receiver, Sender, Time};
pub use context::{Clock, Context, ContextStats, Step, Timing, Wait};
pub use program::{DataflowError, Deadlock, Program, Result, RunReport};
