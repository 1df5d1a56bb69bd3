//! Smallest FIFO depths of a handshake graph: for each FIFO, with every
//! other at an ample depth, the smallest depth that keeps the ample run's
//! cycle count (full throughput) and the smallest that does not deadlock,
//! by bisection (cycles do not grow with depth).

use super::GraphError;
use crate::bisect::bisect;
use serde::Serialize;

/// One FIFO's depths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FifoDepth {
    /// The FIFO.
    pub name: String,
    /// Smallest depth with the ample run's cycles.
    pub full_throughput_depth: usize,
    /// Smallest depth that does not deadlock.
    pub deadlock_free_depth: usize,
    /// Cycles one slot below the full-throughput depth (None: it
    /// deadlocks there, or the depth is 1 already).
    pub cycles_one_less: Option<u64>,
}

/// What the search found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepthSearch {
    /// Depth of every other FIFO while one is searched.
    pub ample_depth: usize,
    /// Cycles with every FIFO ample.
    pub full_throughput_cycles: u64,
    /// Per FIFO.
    pub fifos: Vec<FifoDepth>,
    /// Cycles with every FIFO at its full-throughput depth at once (None:
    /// that deadlocks).
    pub joint_cycles: Option<u64>,
    /// Graph runs made.
    pub simulations: usize,
}

/// Searches the depths of the FIFOs `names`; `run(depths)` builds and runs
/// the graph with those depths and gives its cycles, or a
/// [`GraphError::Deadlock`].
pub fn search(
    names: &[&str],
    ample_depth: usize,
    mut run: impl FnMut(&[usize]) -> Result<u64, GraphError>,
) -> Result<DepthSearch, GraphError> {
    let mut simulations = 0;
    let mut attempt = |depths: &[usize]| -> Result<Option<u64>, GraphError> {
        simulations += 1;
        match run(depths) {
            Ok(c) => Ok(Some(c)),
            Err(GraphError::Deadlock(_)) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let ample = vec![ample_depth; names.len()];
    let Some(full) = attempt(&ample)? else {
        return Err(GraphError::Invalid(format!(
            "the ample depth {ample_depth} deadlocks already"
        )));
    };
    let mut fifos = Vec::new();
    let mut chosen = ample.clone();
    for (i, name) in names.iter().enumerate() {
        let mut at = |depth: usize| {
            let mut d = ample.clone();
            d[i] = depth;
            attempt(&d)
        };
        // within 1..=ample, which meets both
        let full_depth = bisect(1, ample_depth, |k| Ok(at(k)? == Some(full)))?;
        let free_depth = bisect(1, full_depth, |k| Ok(at(k)?.is_some()))?;
        let one_less = if full_depth > 1 { at(full_depth - 1)? } else { None };
        chosen[i] = full_depth;
        fifos.push(FifoDepth {
            name: name.to_string(),
            full_throughput_depth: full_depth,
            deadlock_free_depth: free_depth,
            cycles_one_less: one_less,
        });
    }
    let joint = attempt(&chosen)?;
    Ok(DepthSearch {
        ample_depth,
        full_throughput_cycles: full,
        fifos,
        joint_cycles: joint,
        simulations,
    })
}
