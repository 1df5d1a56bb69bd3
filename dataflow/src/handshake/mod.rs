//! Handshake graphs: a block's timing as units joined by valid/ready
//! links, stepped cycle by cycle with the RTL's own semantics.
//!
//! ```text
//!   every cycle:  forward   units in order set their outputs' valid/last
//!                           (from their registers, or from an input's valid)
//!                 backward  units in reverse order set their inputs' ready
//!                           (from their registers and their outputs' ready)
//!                 record    a link fires when valid && ready
//!                 edge      every unit clocks its registers from the wires
//! ```
//!
//! This is the one timing model of every exported block: hwformer-sim runs
//! a block's graph under the same seeded pacing ([`crate::pacing`]) as the
//! RTL and compares the cycle of every handshake. Units carry no data,
//! only `tlast`: what a block computes is the integer model's business.
//! A valid never depends on a ready (AXI4-Stream's rule), so the two
//! sweeps settle every wire; units must be added so that a unit whose
//! valid follows an input's valid comes after that input's producer.
//!
//! The contexts and channels of [`crate::program`] stay the engine for
//! value-level streaming graphs at scale; this engine is for exact
//! handshakes.

pub mod blocks;
pub mod layer;
pub mod min_depth;
pub mod units;
mod vcd;

use crate::pacing::Pacing;
use serde::Serialize;
use std::fmt;
use std::io::Write;

/// A link's handshake wires in one cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wire {
    /// The producer offers a beat.
    pub valid: bool,
    /// The consumer takes it.
    pub ready: bool,
    /// The beat ends a row, a query or a token.
    pub last: bool,
}

impl Wire {
    /// Whether a beat moves this cycle.
    #[inline]
    pub fn fires(&self) -> bool {
        self.valid && self.ready
    }
}

/// Index of a link in its graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LinkId(pub usize);

/// What every unit sees of the cycle besides its wires.
#[derive(Debug, Clone, Copy)]
pub struct Cycle<'a> {
    /// The cycle number, from 0.
    pub cycle: u64,
    /// Gaps and back-pressure of the boundary streams.
    pub pacing: &'a Pacing,
    /// Every expected output beat came: sinks are all ready.
    pub draining: bool,
}

/// A unit of a handshake graph.
pub trait Unit {
    /// What kind of unit it is ("pipeline", "fifo", ...).
    fn kind(&self) -> &'static str;
    /// Sets the valid and last of its output links.
    fn forward(&mut self, wires: &mut [Wire], now: &Cycle);
    /// Sets the ready of its input links.
    fn backward(&mut self, wires: &mut [Wire], now: &Cycle);
    /// The clock edge: updates its registers from the settled wires.
    fn edge(&mut self, wires: &[Wire], now: &Cycle);
    /// Links it consumes (it drives their ready).
    fn inputs(&self) -> Vec<LinkId>;
    /// Links it only watches (reads their handshake, drives nothing).
    fn watched(&self) -> Vec<LinkId> {
        Vec::new()
    }
    /// Inputs whose valid it reads only at the clock edge and whose ready
    /// it drives from its registers alone: their producer may come later
    /// in the graph (a feedback link).
    fn edge_only_inputs(&self) -> Vec<LinkId> {
        Vec::new()
    }
    /// Links it drives.
    fn outputs(&self) -> Vec<LinkId>;
    /// Beats it holds now.
    fn occupancy(&self) -> usize;
    /// In a cycle in which no link fires, with the wires settled as
    /// `wires`: how many clock edges in a row, this cycle's first, leave
    /// every wire it drives and its occupancy as they are, as long as no
    /// link fires (`u64::MAX`: until one does). 0 when the next edge may
    /// change them on its own (a beat moving through bubbles, a count
    /// reaching its end, a paced stream's next pattern bit). The graph
    /// jumps over cycles in which every unit is quiet ([`Unit::skip`]).
    fn quiet_edges(&self, _wires: &[Wire], _now: &Cycle) -> u64 {
        0
    }
    /// Takes `edges` clock edges with no link firing at once, as many
    /// calls of [`Unit::edge`] would (only ever called with at most what
    /// [`Unit::quiet_edges`] said).
    fn skip(&mut self, _edges: u64) {}
    /// Its registers, for mismatch reports.
    fn state(&self) -> String;
}

/// Counters of one link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    /// Beats that moved.
    pub beats: u64,
    /// Cycles valid and not ready (back-pressure).
    pub stalled_cycles: u64,
    /// Cycles ready and not valid (starved).
    pub starved_cycles: u64,
}

/// Counters of one unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UnitStats {
    /// Most beats held at once.
    pub peak_occupancy: usize,
    /// Cycles holding at least one beat (after the cycle's edge).
    pub occupied_cycles: u64,
    /// Output-cycles offered and not taken, summed over its outputs.
    pub output_stalled_cycles: u64,
}

/// A named unit in a graph.
struct Node {
    name: String,
    unit: Box<dyn Unit>,
    inputs: Vec<LinkId>,
    outputs: Vec<LinkId>,
    stats: UnitStats,
}

/// A boundary stream: a paced source or sink, by the name of its block port.
#[derive(Debug, Clone)]
struct Boundary {
    stream: String,
    link: LinkId,
    /// Beats a source offers, or a sink waits for, in all.
    beats: usize,
}

/// A block's handshake graph.
pub struct Graph {
    /// Block name, in reports.
    block: String,
    nodes: Vec<Node>,
    links: Vec<String>,
    link_stats: Vec<LinkStats>,
    sources: Vec<Boundary>,
    sinks: Vec<Boundary>,
    /// Unit reading each link (its consumer), once built.
    consumers: Vec<Option<usize>>,
    producers: Vec<Option<usize>>,
    /// The wires of the cycle a run stopped at ([`RunOptions::stop_at`]).
    settled: Vec<Wire>,
}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Graph")
            .field("block", &self.block)
            .field("units", &self.nodes.iter().map(|n| &n.name).collect::<Vec<_>>())
            .field("links", &self.links)
            .finish()
    }
}

/// Why a graph cannot be built or run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// The graph is malformed (a link without producer or consumer, ...).
    Invalid(String),
    /// Nothing moved for a long time while beats were left: who holds what.
    Deadlock(Stuck),
    /// The cycle limit passed with beats still expected.
    TooSlow(Stuck),
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(m) => write!(f, "invalid handshake graph: {m}"),
            Self::Deadlock(s) => write!(f, "deadlock: {s}"),
            Self::TooSlow(s) => write!(f, "cycle limit passed: {s}"),
        }
    }
}

impl std::error::Error for GraphError {}

/// Where a run got stuck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stuck {
    /// Block.
    pub block: String,
    /// A deadlock: the cycle of the last handshake; too slow: the cycle limit.
    pub cycle: u64,
    /// Beats taken per input stream, "name k/n".
    pub inputs: Vec<String>,
    /// Beats seen per output stream, "name k/n".
    pub outputs: Vec<String>,
    /// Units holding beats, with their state.
    pub holding: Vec<String>,
}

impl fmt::Display for Stuck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} after cycle {}: inputs taken {}; outputs seen {}; holding: {}",
            self.block,
            self.cycle,
            self.inputs.join(", "),
            self.outputs.join(", "),
            if self.holding.is_empty() {
                "nothing".to_string()
            } else {
                self.holding.join("; ")
            }
        )
    }
}

/// Limits and outputs of a run.
pub struct RunOptions<'a> {
    /// The run fails when beats are still expected at this cycle.
    pub max_cycles: u64,
    /// Cycles run after the last expected beat, every sink ready, to catch
    /// beats too many.
    pub drain_cycles: u64,
    /// Cycles without any handshake that count as a deadlock (longer than
    /// any unit works without one).
    pub idle_limit: u64,
    /// Writes the links (valid, ready, last) and unit occupancies as VCD.
    pub vcd: Option<&'a mut dyn Write>,
    /// Stops as this cycle starts: the units keep the registers they have
    /// during it.
    pub stop_at: Option<u64>,
    /// Jump over runs of cycles in which no link fires and every unit
    /// says it is quiet ([`Unit::quiet_edges`]): the same handshakes,
    /// counters and states as stepping each cycle, faster. Off when a VCD
    /// is written or `stop_at` is set.
    pub skip_quiet: bool,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        Self {
            max_cycles: u64::MAX,
            drain_cycles: 0,
            idle_limit: 4096,
            vcd: None,
            stop_at: None,
            skip_quiet: true,
        }
    }
}

/// Handshake cycles of a run, per boundary stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandshakeTrace {
    /// Cycle of every input beat's handshake, per source (in the order added).
    pub input_cycles: Vec<Vec<u64>>,
    /// Cycle of every output beat's handshake, per sink.
    pub output_cycles: Vec<Vec<u64>>,
    /// tlast of every output beat, per sink.
    pub output_last: Vec<Vec<bool>>,
    /// Cycles up to the cycle after the last expected beat.
    pub cycles: u64,
}

/// Counters of a finished run, by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphReport {
    /// Block.
    pub block: String,
    /// Cycles up to the cycle after the last expected beat.
    pub cycles: u64,
    /// Per link.
    pub links: Vec<NamedLinkStats>,
    /// Per unit.
    pub units: Vec<NamedUnitStats>,
}

/// A link's counters with its name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedLinkStats {
    /// Link name.
    pub name: String,
    /// Counters.
    #[serde(flatten)]
    pub stats: LinkStats,
}

/// A unit's counters with its name and kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedUnitStats {
    /// Unit name.
    pub name: String,
    /// Unit kind.
    pub kind: &'static str,
    /// Counters.
    #[serde(flatten)]
    pub stats: UnitStats,
}

impl Graph {
    /// An empty graph of `block`.
    pub fn new(block: &str) -> Self {
        Self {
            block: block.to_string(),
            nodes: Vec::new(),
            links: Vec::new(),
            link_stats: Vec::new(),
            sources: Vec::new(),
            sinks: Vec::new(),
            consumers: Vec::new(),
            producers: Vec::new(),
            settled: Vec::new(),
        }
    }

    /// A new link named `name`.
    pub fn link(&mut self, name: &str) -> LinkId {
        self.links.push(name.to_string());
        self.link_stats.push(LinkStats::default());
        self.consumers.push(None);
        self.producers.push(None);
        LinkId(self.links.len() - 1)
    }

    /// Adds a unit named `name` (see the module doc for the order).
    pub fn add(&mut self, name: &str, unit: impl Unit + 'static) -> Result<usize, GraphError> {
        let index = self.nodes.len();
        let (outputs, inputs) = (unit.outputs(), unit.inputs());
        // check everything first: a refused unit leaves the graph as it was
        let mut seen = Vec::new();
        for (&link, driving) in outputs
            .iter()
            .map(|l| (l, true))
            .chain(inputs.iter().map(|l| (l, false)))
        {
            let table = if driving { &self.producers } else { &self.consumers };
            let Some(&taken) = table.get(link.0) else {
                return Err(GraphError::Invalid(format!(
                    "`{name}` names link {}, which does not exist",
                    link.0
                )));
            };
            if let Some(other) = taken {
                let role = if driving { "driven" } else { "consumed" };
                return Err(GraphError::Invalid(format!(
                    "link `{}` is {role} by `{}` and `{name}`",
                    self.links[link.0], self.nodes[other].name
                )));
            }
            if seen.contains(&link) {
                return Err(GraphError::Invalid(format!(
                    "`{name}` names link `{}` twice",
                    self.links[link.0]
                )));
            }
            seen.push(link);
        }
        if let Some(link) = unit.watched().into_iter().find(|l| l.0 >= self.links.len()) {
            return Err(GraphError::Invalid(format!(
                "`{name}` watches link {}, which does not exist",
                link.0
            )));
        }
        for &link in &outputs {
            self.producers[link.0] = Some(index);
        }
        for &link in &inputs {
            self.consumers[link.0] = Some(index);
        }
        self.nodes.push(Node {
            name: name.to_string(),
            inputs,
            outputs,
            unit: Box::new(unit),
            stats: UnitStats::default(),
        });
        Ok(index)
    }

    /// Adds a paced source for the block's input stream `stream`: it
    /// offers one beat per entry of `last`; returns its link.
    pub fn source(&mut self, stream: &str, last: Vec<bool>) -> Result<LinkId, GraphError> {
        let link = self.link(stream);
        let index = self.sources.len();
        let beats = last.len();
        self.add(&format!("{stream} source"), units::Source::new(link, index, last))?;
        self.sources.push(Boundary {
            stream: stream.to_string(),
            link,
            beats,
        });
        Ok(link)
    }

    /// Adds a paced sink for the block's output stream on `link`, which
    /// the run waits for `expected` beats of.
    pub fn sink(&mut self, stream: &str, link: LinkId, expected: usize) -> Result<(), GraphError> {
        let index = self.sinks.len();
        self.add(&format!("{stream} sink"), units::Sink::new(link, index))?;
        self.sinks.push(Boundary {
            stream: stream.to_string(),
            link,
            beats: expected,
        });
        Ok(())
    }

    /// Every link has a producer and a consumer, and the producer comes
    /// first unless the consumer reads the link only at the clock edge:
    /// then one forward and one backward sweep settle every wire.
    fn check(&self) -> Result<(), GraphError> {
        for (i, name) in self.links.iter().enumerate() {
            let Some(producer) = self.producers[i] else {
                return Err(GraphError::Invalid(format!("link `{name}` has no producer")));
            };
            let Some(consumer) = self.consumers[i] else {
                return Err(GraphError::Invalid(format!("link `{name}` has no consumer")));
            };
            let edge_only = self.nodes[consumer].unit.edge_only_inputs().contains(&LinkId(i));
            if producer > consumer && !edge_only {
                return Err(GraphError::Invalid(format!(
                    "`{}` reads link `{name}` before its producer `{}` drives it: add units in stream order",
                    self.nodes[consumer].name, self.nodes[producer].name
                )));
            }
        }
        Ok(())
    }

    /// Runs the graph until every sink saw its expected beats (and the
    /// drain), recording every boundary handshake.
    pub fn run(&mut self, pacing: &Pacing, options: RunOptions) -> Result<HandshakeTrace, GraphError> {
        self.check()?;
        let RunOptions {
            max_cycles,
            drain_cycles,
            idle_limit,
            vcd,
            stop_at,
            skip_quiet,
        } = options;
        let skip_quiet = skip_quiet && vcd.is_none() && stop_at.is_none();
        let mut trace = HandshakeTrace {
            input_cycles: vec![Vec::new(); self.sources.len()],
            output_cycles: vec![Vec::new(); self.sinks.len()],
            output_last: vec![Vec::new(); self.sinks.len()],
            cycles: 0,
        };
        let mut writer = match vcd {
            Some(out) => Some(vcd::Writer::start(out, self)?),
            None => None,
        };
        let mut wires = vec![Wire::default(); self.links.len()];
        let mut finished: Option<u64> = None;
        let mut waiting_sinks = self.sinks.iter().filter(|b| b.beats > 0).count();
        let mut last_activity = 0u64;
        let mut cycle = 0u64;
        loop {
            if finished.is_none() && waiting_sinks == 0 {
                finished = Some(cycle);
            }
            if let Some(f) = finished {
                if cycle >= f + drain_cycles {
                    break;
                }
            } else if cycle >= max_cycles {
                return Err(GraphError::TooSlow(self.stuck(&trace, cycle)));
            } else if cycle - last_activity > idle_limit {
                return Err(GraphError::Deadlock(self.stuck(&trace, last_activity)));
            }
            let now = Cycle {
                cycle,
                pacing,
                draining: finished.is_some(),
            };
            self.settle(&mut wires, &now);
            if stop_at == Some(cycle) {
                self.settled = wires;
                break;
            }
            for (s, b) in self.sources.iter().enumerate() {
                if wires[b.link.0].fires() {
                    trace.input_cycles[s].push(cycle);
                }
            }
            for (s, b) in self.sinks.iter().enumerate() {
                let w = wires[b.link.0];
                if w.fires() {
                    let got = &mut trace.output_cycles[s];
                    got.push(cycle);
                    trace.output_last[s].push(w.last);
                    waiting_sinks -= usize::from(got.len() == b.beats);
                }
            }
            let mut moved = false;
            for (w, st) in wires.iter().zip(self.link_stats.iter_mut()) {
                st.beats += u64::from(w.fires());
                st.stalled_cycles += u64::from(w.valid && !w.ready);
                st.starved_cycles += u64::from(w.ready && !w.valid);
                moved |= w.fires();
            }
            if moved {
                last_activity = cycle;
            }
            if let Some(w) = writer.as_mut() {
                w.cycle(cycle, &wires, self)?;
            }
            // quiet cycles: the same wires, no handshake, until the edge
            // after which some unit may change them
            let edges = if skip_quiet && !moved {
                let limit = match finished {
                    Some(f) => f + drain_cycles,
                    None => max_cycles.min(last_activity.saturating_add(idle_limit).saturating_add(1)),
                };
                let mut edges = limit.saturating_sub(cycle);
                for node in &self.nodes {
                    if edges < 2 {
                        break;
                    }
                    edges = edges.min(node.unit.quiet_edges(&wires, &now));
                }
                edges.max(1)
            } else {
                1
            };
            for node in &mut self.nodes {
                node.unit.edge(&wires, &now);
                if edges > 1 {
                    node.unit.skip(edges - 1);
                }
                let held = node.unit.occupancy();
                let s = &mut node.stats;
                s.peak_occupancy = s.peak_occupancy.max(held);
                s.occupied_cycles += edges * u64::from(held > 0);
            }
            if edges > 1 {
                // the skipped cycles' wires were this cycle's
                for (w, st) in wires.iter().zip(self.link_stats.iter_mut()) {
                    st.stalled_cycles += (edges - 1) * u64::from(w.valid && !w.ready);
                    st.starved_cycles += (edges - 1) * u64::from(w.ready && !w.valid);
                }
            }
            cycle += edges;
        }
        if let Some(w) = writer {
            w.finish(cycle)?;
        }
        trace.cycles = finished.unwrap_or(cycle);
        Ok(trace)
    }

    /// The forward and backward sweeps of one cycle.
    #[inline]
    fn settle(&mut self, wires: &mut [Wire], now: &Cycle) {
        for node in &mut self.nodes {
            node.unit.forward(wires, now);
        }
        for node in self.nodes.iter_mut().rev() {
            node.unit.backward(wires, now);
        }
    }

    fn stuck(&self, trace: &HandshakeTrace, cycle: u64) -> Stuck {
        let sources = self.sources.iter().zip(&trace.input_cycles);
        let inputs = sources
            .map(|(b, got)| format!("{} {}/{}", b.stream, got.len(), b.beats))
            .collect();
        let outputs = self
            .sinks
            .iter()
            .zip(&trace.output_cycles)
            .map(|(b, got)| format!("{} {}/{}", b.stream, got.len(), b.beats))
            .collect();
        let holding = self
            .nodes
            .iter()
            .filter(|n| n.unit.occupancy() > 0)
            .map(|n| format!("{} ({})", n.name, n.unit.state()))
            .collect();
        Stuck {
            block: self.block.clone(),
            cycle,
            inputs,
            outputs,
            holding,
        }
    }

    /// Counters of the run so far.
    pub fn report(&self, cycles: u64) -> GraphReport {
        GraphReport {
            block: self.block.clone(),
            cycles,
            links: self
                .links
                .iter()
                .zip(&self.link_stats)
                .map(|(name, &stats)| NamedLinkStats {
                    name: name.clone(),
                    stats,
                })
                .collect(),
            units: self
                .nodes
                .iter()
                .map(|n| NamedUnitStats {
                    name: n.name.clone(),
                    kind: n.unit.kind(),
                    stats: UnitStats {
                        output_stalled_cycles: n
                            .outputs
                            .iter()
                            .map(|l| self.link_stats[l.0].stalled_cycles)
                            .sum(),
                        ..n.stats
                    },
                })
                .collect(),
        }
    }

    /// The most beats the unit called `name` held so far (`None`: no such
    /// unit).
    pub fn peak_occupancy(&self, name: &str) -> Option<usize> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .map(|n| n.stats.peak_occupancy)
    }

    /// Names of the input streams, in source order.
    pub fn input_streams(&self) -> Vec<&str> {
        self.sources.iter().map(|b| b.stream.as_str()).collect()
    }

    /// Names of the output streams, in sink order.
    pub fn output_streams(&self) -> Vec<&str> {
        self.sinks.iter().map(|b| b.stream.as_str()).collect()
    }

    /// The unit that decides a boundary stream's handshake: the consumer
    /// of an input stream (it drives ready), the producer of an output
    /// stream (it drives valid).
    pub fn deciding_unit(&self, stream: &str, input: bool) -> Option<&str> {
        let unit = if input {
            let b = self.sources.iter().find(|b| b.stream == stream)?;
            self.consumers[b.link.0]?
        } else {
            let b = self.sinks.iter().find(|b| b.stream == stream)?;
            self.producers[b.link.0]?
        };
        Some(&self.nodes[unit].name)
    }

    /// Every unit's name and registers as they are now.
    pub fn states(&self) -> Vec<(String, String)> {
        self.nodes
            .iter()
            .filter(|n| !matches!(n.unit.kind(), "source" | "sink"))
            .map(|n| (n.name.clone(), n.unit.state()))
            .collect()
    }

    /// Where a boundary handshake waits, during the cycle a run stopped at:
    /// from the unit that decides it, the chain of units each held up by
    /// the next (an input stream: downstream along outputs offered and not
    /// taken; an output stream: upstream along inputs ready with nothing
    /// offered), each with its registers. Empty unless the run stopped.
    pub fn waiting_chain(&self, stream: &str, input: bool) -> Vec<(String, String)> {
        if self.settled.is_empty() {
            return Vec::new();
        }
        let start = if input {
            self.sources
                .iter()
                .find(|b| b.stream == stream)
                .and_then(|b| self.consumers[b.link.0])
        } else {
            self.sinks
                .iter()
                .find(|b| b.stream == stream)
                .and_then(|b| self.producers[b.link.0])
        };
        let mut chain = Vec::new();
        let mut at = start;
        while let Some(unit) = at {
            if chain.iter().any(|(name, _)| name == &self.nodes[unit].name) {
                break;
            }
            let node = &self.nodes[unit];
            chain.push((node.name.clone(), node.unit.state()));
            at = if input {
                node.outputs
                    .iter()
                    .find(|l| self.settled[l.0].valid && !self.settled[l.0].ready)
                    .and_then(|l| self.consumers[l.0])
            } else {
                node.inputs
                    .iter()
                    .find(|l| self.settled[l.0].ready && !self.settled[l.0].valid)
                    .and_then(|l| self.producers[l.0])
            };
            // the boundary units are the testbench's, not the block's
            if at.is_some_and(|u| matches!(self.nodes[u].unit.kind(), "source" | "sink")) {
                break;
            }
        }
        chain
    }

    /// Runs from the start up to cycle `cycle` and gives every unit's
    /// name and registers as they are during it (the same run as
    /// [`Self::run`], stopped there).
    pub fn states_at(&mut self, pacing: &Pacing, cycle: u64) -> Result<Vec<(String, String)>, GraphError> {
        let options = RunOptions {
            stop_at: Some(cycle),
            ..RunOptions::default()
        };
        self.run(pacing, options)?;
        Ok(self.states())
    }
}
