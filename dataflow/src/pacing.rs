//! Seeded gaps and back-pressure: the valid pattern of a source and the
//! ready pattern of a sink, as pure functions of (seed, stream, cycle).
//!
//! The RTL testbench (hwformer-sim) and the handshake graphs of
//! [`crate::handshake`] both pace their streams from here, so a block and
//! its graph see exactly the same gaps. A source consults its pattern only
//! when it has no beat on offer: as AXI4-Stream requires, an offered beat
//! stays valid until taken ([`SourcePacer`]).

/// Random gaps and back-pressure, as probabilities per cycle.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Pacing {
    /// Probability that a source offers its next beat in a cycle.
    pub valid_probability: f64,
    /// Probability that a sink is ready in a cycle.
    pub ready_probability: f64,
    /// Seed of the patterns.
    pub seed: u64,
}

impl Pacing {
    /// No gaps, no back-pressure.
    pub const FULL_SPEED: Self = Self {
        valid_probability: 1.0,
        ready_probability: 1.0,
        seed: 0,
    };

    /// Whether neither sources nor sinks ever wait.
    pub fn is_full_speed(&self) -> bool {
        self.valid_probability >= 1.0 && self.ready_probability >= 1.0
    }

    /// The pacing bit of source (`sink == false`) or sink `index` at `cycle`.
    #[inline]
    pub fn bit(&self, sink: bool, index: usize, cycle: u64) -> bool {
        let p = if sink {
            self.ready_probability
        } else {
            self.valid_probability
        };
        if p >= 1.0 {
            return true;
        }
        let stream = (index as u64) << 1 | u64::from(sink);
        let x = splitmix64(self.seed ^ splitmix64(stream.wrapping_add(cycle << 8)));
        ((x >> 11) as f64) < p * (1u64 << 53) as f64
    }
}

/// A 64-bit mixer (Steele, Lea and Flood's SplitMix64 finalizer).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The valid of one paced source: once it offers a beat, the beat stays
/// offered until taken.
#[derive(Debug, Clone, Copy, Default)]
pub struct SourcePacer {
    offered: bool,
}

impl SourcePacer {
    /// tvalid of source `index` at `cycle`, given whether it has a beat left.
    #[inline]
    pub fn valid(&mut self, pacing: &Pacing, index: usize, cycle: u64, has_beat: bool) -> bool {
        self.offered = has_beat && (self.offered || pacing.bit(false, index, cycle));
        self.offered
    }

    /// Whether a beat is on offer this cycle (after [`Self::valid`]).
    pub fn offered(&self) -> bool {
        self.offered
    }

    /// The beat on offer was taken.
    #[inline]
    pub fn taken(&mut self) {
        self.offered = false;
    }
}

/// tready of sink `index` at `cycle`; once every expected beat came
/// (`draining`), every sink is ready.
#[inline]
pub fn sink_ready(pacing: &Pacing, index: usize, cycle: u64, draining: bool) -> bool {
    draining || pacing.bit(true, index, cycle)
}
