//! Smallest FIFO depths of a handshake graph: for each FIFO, with every
//! other at an ample depth, the smallest depth that keeps the ample run's
//! cycle count (full throughput) and the smallest that does not deadlock,
//! by bisection (cycles do not grow with depth) below the FIFO's peak in
//! the ample run, top first ([`search`]).

use super::GraphError;
use crate::bisect::bisect;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// One graph run of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRun {
    /// Cycles of the run.
    pub cycles: u64,
    /// The most beats each searched FIFO held, in the order of the names
    /// (`None`: not known).
    pub peaks: Vec<Option<usize>>,
}

impl SearchRun {
    /// The run of `graph` that took `cycles`: the peaks of its units
    /// named `names`.
    pub fn of(graph: &super::Graph, cycles: u64, names: &[&str]) -> Self {
        Self {
            cycles,
            peaks: names.iter().map(|n| graph.peak_occupancy(n)).collect(),
        }
    }
}

/// Searches the depths of the FIFOs `names`; `run(depths)` builds and runs
/// the graph with those depths and gives its cycles and the FIFOs' peak
/// occupancies ([`SearchRun`]), or a [`GraphError::Deadlock`].
///
/// Each FIFO's full-throughput depth is at most one more than its peak in
/// the ample run: a FIFO that never fills behaves as an ample one (its
/// ready is `count < depth`). The search tries the depth just below that
/// bound first, and the one just below the full-throughput depth first
/// for the deadlock bound, since both answers are often at the top; it
/// bisects only when they are not, and runs no depth twice. The answers
/// are those of a plain bisection over `1..=ample` (cycles do not grow
/// with depth). The FIFOs are searched at once, a thread each.
pub fn search(
    names: &[&str],
    ample_depth: usize,
    run: impl Fn(&[usize]) -> Result<SearchRun, GraphError> + Sync,
) -> Result<DepthSearch, GraphError> {
    let simulations = AtomicUsize::new(0);
    let attempt = |depths: &[usize]| -> Result<Option<SearchRun>, GraphError> {
        simulations.fetch_add(1, Ordering::Relaxed);
        match run(depths) {
            Ok(r) => Ok(Some(r)),
            Err(GraphError::Deadlock(_)) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let ample = vec![ample_depth; names.len()];
    let Some(first) = attempt(&ample)? else {
        return Err(GraphError::Invalid(format!(
            "the ample depth {ample_depth} deadlocks already"
        )));
    };
    let full = first.cycles;
    // one FIFO's depths, the others ample
    let one_fifo = |i: usize| -> Result<FifoDepth, GraphError> {
        // depth -> cycles (None: deadlock), each depth run once
        let mut seen: Vec<(usize, Option<u64>)> = vec![(ample_depth, Some(full))];
        let mut at = |depth: usize| -> Result<Option<u64>, GraphError> {
            if let Some(&(_, cycles)) = seen.iter().find(|(d, _)| *d == depth) {
                return Ok(cycles);
            }
            let mut d = ample.clone();
            d[i] = depth;
            let cycles = attempt(&d)?.map(|r| r.cycles);
            seen.push((depth, cycles));
            Ok(cycles)
        };
        let bound = first
            .peaks
            .get(i)
            .copied()
            .flatten()
            .map_or(ample_depth, |peak| (peak + 1).clamp(1, ample_depth));
        let full_depth = if bound == 1 || at(bound - 1)? != Some(full) {
            bound
        } else {
            bisect(1, bound - 1, |k| Ok(at(k)? == Some(full)))?
        };
        let free_depth = if full_depth == 1 || at(full_depth - 1)?.is_none() {
            full_depth
        } else {
            bisect(1, full_depth - 1, |k| Ok(at(k)?.is_some()))?
        };
        let one_less = if full_depth > 1 { at(full_depth - 1)? } else { None };
        Ok(FifoDepth {
            name: names[i].to_string(),
            full_throughput_depth: full_depth,
            deadlock_free_depth: free_depth,
            cycles_one_less: one_less,
        })
    };
    // the FIFOs' searches are independent: one thread each
    let fifos = std::thread::scope(|scope| {
        let searches: Vec<_> = (0..names.len())
            .map(|i| scope.spawn(move || one_fifo(i)))
            .collect();
        searches
            .into_iter()
            .map(|s| s.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let chosen: Vec<usize> = fifos.iter().map(|f| f.full_throughput_depth).collect();
    let joint = attempt(&chosen)?.map(|r| r.cycles);
    Ok(DepthSearch {
        ample_depth,
        full_throughput_cycles: full,
        fifos,
        joint_cycles: joint,
        simulations: simulations.into_inner(),
    })
}
