//! Minimum FIFO depths: for each channel, the smallest capacity that
//! keeps full throughput and the capacity below which the graph deadlocks,
//! each found by bisection with every other channel at an ample depth.
//!
//! Unit timing here is independent of the data, so the searches run
//! without checking outputs. Bisection assumes what holds for these graphs:
//! more capacity never costs cycles, and never causes a deadlock.

use super::SdpaRun;
use crate::bisect::bisect;
use crate::channel::Time;
use crate::program::{DataflowError, Result};
use serde::Serialize;

/// The depths found for one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelDepth {
    /// Channel name.
    pub name: String,
    /// Smallest capacity with the same cycle count as the ample depth.
    pub full_throughput_depth: usize,
    /// Smallest capacity that completes: any less deadlocks (1 when even
    /// capacity 1 completes).
    pub deadlock_free_depth: usize,
    /// Cycles at capacity 1 (`None` when it deadlocks).
    pub cycles_at_depth_1: Option<Time>,
}

/// The result of a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepthReport {
    /// The depth every channel had as the reference.
    pub ample_depth: usize,
    /// Cycles with every channel at the ample depth.
    pub full_throughput_cycles: Time,
    /// One line per channel (of the first head).
    pub channels: Vec<ChannelDepth>,
    /// Cycles with every channel at its own full-throughput depth at once.
    pub joint_cycles: Time,
    /// Simulations the search ran.
    pub simulations: usize,
}

/// Searches every channel of `run`'s graph (one head, outputs unchecked).
pub fn min_depths(run: &SdpaRun) -> Result<DepthReport> {
    let mut base = run.clone();
    base.check = false;
    base.heads = 1;
    base.depth_overrides.clear();
    let ample = run.fifo_depth.unwrap_or(2 * run.min_full_depth().max(2));
    base.fifo_depth = Some(ample);
    let inputs = base.inputs()?;
    let mut simulations = 0;
    let reference = base.simulate_on(&inputs)?;
    simulations += 1;
    let target = reference.cycles;
    // Some(cycles) when it completes, None on a deadlock
    let mut cycles_with = |name: &str, depth: usize| -> Result<Option<Time>> {
        let mut r = base.clone();
        r.depth_overrides.insert(name.to_string(), depth);
        simulations += 1;
        match r.simulate_on(&inputs) {
            Ok(report) => Ok(Some(report.cycles)),
            Err(DataflowError::Deadlock(_)) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let mut channels = Vec::new();
    for name in reference.report.channels.iter().map(|c| c.name.clone()) {
        let at_1 = cycles_with(&name, 1)?;
        let full = bisect(1, ample, |k| {
            Ok::<_, DataflowError>(cycles_with(&name, k)? == Some(target))
        })?;
        let free = if at_1.is_some() {
            1
        } else {
            bisect(1, full, |k| {
                Ok::<_, DataflowError>(cycles_with(&name, k)?.is_some())
            })?
        };
        channels.push(ChannelDepth {
            name,
            full_throughput_depth: full,
            deadlock_free_depth: free,
            cycles_at_depth_1: at_1,
        });
    }
    let mut joint = base.clone();
    joint.depth_overrides = channels
        .iter()
        .map(|c| (c.name.clone(), c.full_throughput_depth))
        .collect();
    let joint_cycles = joint.simulate_on(&inputs)?.cycles;
    Ok(DepthReport {
        ample_depth: ample,
        full_throughput_cycles: target,
        channels,
        joint_cycles,
        simulations: simulations + 1,
    })
}
