//! One AXI4-Stream testbench over every back end: sources with seeded
//! random valid gaps, sinks with seeded random ready back-pressure, and a
//! monitor that stamps every handshake with its cycle.
//!
//! ```text
//!   cycle c:  drive inputs (tvalid = beat left && pacing(s, c)), readies
//!             clock low, settle ─▶ sample: out tvalid && tready ─▶ beat @ c
//!                                           in  tvalid && tready ─▶ next beat
//!             clock high, settle
//! ```
//!
//! The pacing bit of stream `s` at cycle `c` is a pure function of the
//! seed, `s` and `c` (`hwformer_dataflow::pacing`), so every back end,
//! Icarus' pattern files and the block's handshake graph see exactly the
//! same gaps. A source consults it only when it has no beat on
//! offer: as AXI4-Stream requires, an offered beat stays valid until taken
//! (a sink's ready may come and go).

use crate::error::SimError;
use crate::ports::PortMap;

/// Cycles every run continues after the last expected output beat, with
/// every sink ready, to catch beats the block should not send.
pub const DRAIN_CYCLES: u64 = 300;

/// A cycle-based simulator of one block.
pub trait Simulator {
    /// One clock cycle: drive `inputs` with the clock low and settle, copy
    /// the outputs into `outputs`, raise the clock and settle. Buffers are
    /// laid out by [`PortMap`].
    fn cycle(&mut self, inputs: &[u32], outputs: &mut [u32]);

    /// Ends the run: a back end that records a waveform in memory writes
    /// it out here.
    fn finish(&mut self) -> Result<(), SimError> {
        Ok(())
    }
}

/// The beats one stream carries: tdata words (little-endian, 32-bit) of
/// every beat back to back, and each beat's tlast.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Beats {
    /// tdata width in bits.
    pub bits: usize,
    /// 32-bit words per beat.
    pub words_per_beat: usize,
    /// All beats' words.
    pub data: Vec<u32>,
    /// tlast of each beat.
    pub last: Vec<bool>,
}

impl Beats {
    /// No beats yet, of `bits`-wide tdata.
    pub fn new(bits: usize) -> Self {
        Self {
            bits,
            words_per_beat: bits.div_ceil(32),
            data: Vec::new(),
            last: Vec::new(),
        }
    }

    /// Appends a beat from its words (missing high words are zero, bits
    /// above the width are cleared: a simulator may assume they are).
    pub fn push(&mut self, words: &[u32], last: bool) {
        let n = self.words_per_beat;
        let start = self.data.len();
        self.data
            .extend((0..n).map(|i| words.get(i).copied().unwrap_or(0)));
        if self.bits % 32 != 0 {
            if let Some(top) = self.data.get_mut(start + n - 1) {
                *top &= (1u32 << (self.bits % 32)) - 1;
            }
        }
        self.last.push(last);
    }

    /// Appends a beat of 16-bit lanes (element 0 lowest), as the blocks
    /// pack their vectors.
    pub fn push_lanes16(&mut self, lanes: &[i64], last: bool) {
        let mut words = vec![0u32; self.words_per_beat];
        for (i, &x) in lanes.iter().enumerate() {
            words[i / 2] |= u32::from(x as u16) << (16 * (i % 2));
        }
        self.push(&words, last);
    }

    /// Number of beats.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// True when there are no beats.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }

    /// The words of beat `k`.
    pub fn beat(&self, k: usize) -> &[u32] {
        &self.data[k * self.words_per_beat..(k + 1) * self.words_per_beat]
    }

    /// Beat `k` as signed 16-bit lanes (element 0 lowest).
    pub fn lanes16(&self, k: usize, lanes: usize) -> Vec<i64> {
        let w = self.beat(k);
        (0..lanes)
            .map(|i| i64::from((w[i / 2] >> (16 * (i % 2))) as u16 as i16))
            .collect()
    }

    /// Beat `k` as a hex string, most significant digit first, `bits` wide.
    pub fn hex(&self, k: usize, bits: usize) -> String {
        hex_words(self.beat(k), bits)
    }
}

/// Words (least significant first) as hex, most significant digit first.
pub fn hex_words(words: &[u32], bits: usize) -> String {
    let digits = bits.div_ceil(4);
    let full: String = words.iter().rev().map(|w| format!("{w:08x}")).collect();
    full[full.len().saturating_sub(digits)..].to_string()
}

pub use hwformer_dataflow::pacing::Pacing;
use hwformer_dataflow::pacing::{sink_ready, SourcePacer};

/// What a run produced: every output beat with its cycle, and the cycle
/// of every input handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// Output beats per output stream.
    pub outputs: Vec<Beats>,
    /// Handshake cycle of each output beat, per output stream.
    pub output_cycles: Vec<Vec<u64>>,
    /// Handshake cycle of each input beat, per input stream.
    pub input_cycles: Vec<Vec<u64>>,
    /// The status output at each handshake of the first output stream
    /// (empty for a block without one).
    pub status: Vec<bool>,
    /// Cycles simulated.
    pub cycles: u64,
}

/// What a run drives and how long it may take.
#[derive(Debug, Clone, Copy)]
pub struct Stimulus<'a> {
    /// One [`Beats`] per input stream.
    pub inputs: &'a [Beats],
    /// Beats expected on each output stream (the run ends when all came).
    pub expected: &'a [usize],
    /// Gaps and back-pressure.
    pub pacing: Pacing,
    /// Cycle limit: a stuck block ends here with an error.
    pub max_cycles: u64,
}

impl Stimulus<'_> {
    /// An error unless the stimulus has one beat list per input stream and
    /// one count per output stream of `ports`.
    pub fn fits(&self, ports: &PortMap) -> Result<(), SimError> {
        if self.inputs.len() == ports.input_streams.len() && self.expected.len() == ports.output_streams.len()
        {
            return Ok(());
        }
        Err(SimError::Invalid(format!(
            "the block has {} input and {} output streams; given {} and {}",
            ports.input_streams.len(),
            ports.output_streams.len(),
            self.inputs.len(),
            self.expected.len()
        )))
    }
}

/// Drives the stimulus into `sim` until every output stream delivered its
/// expected beats (then [`DRAIN_CYCLES`] more, recording any extra beat),
/// or the cycle limit passed (an error that says how far each stream got).
/// `Trace::cycles` is the cycle count up to the last expected beat.
pub fn run(sim: &mut dyn Simulator, ports: &PortMap, stimulus: &Stimulus) -> Result<Trace, SimError> {
    let Stimulus {
        inputs,
        expected,
        pacing,
        max_cycles,
    } = *stimulus;
    stimulus.fits(ports)?;
    let mut in_buf = vec![0u32; ports.input_words()];
    let mut out_buf = vec![0u32; ports.output_words()];
    if let Some((active_high, offset)) = ports.reset {
        in_buf[offset] = u32::from(!active_high);
    }
    let mut next = vec![0usize; inputs.len()];
    let mut sources = vec![SourcePacer::default(); inputs.len()];
    let mut trace = Trace {
        outputs: ports.output_streams.iter().map(|s| Beats::new(s.bits)).collect(),
        output_cycles: expected.iter().map(|&n| Vec::with_capacity(n)).collect(),
        input_cycles: inputs.iter().map(|b| Vec::with_capacity(b.len())).collect(),
        status: Vec::new(),
        cycles: 0,
    };
    for (out, &n) in trace.outputs.iter_mut().zip(expected) {
        out.data.reserve(n * out.words_per_beat);
        out.last.reserve(n);
    }
    let done = |t: &Trace| t.outputs.iter().zip(expected).all(|(b, &n)| b.len() >= n);
    let mut cycle = 0u64;
    // after the expected beats, DRAIN_CYCLES more with every sink ready:
    // a beat too many is caught, not left behind
    let mut finished: Option<u64> = None;
    loop {
        if finished.is_none() && done(&trace) {
            finished = Some(cycle);
        }
        if finished.is_some_and(|f| cycle >= f + DRAIN_CYCLES) {
            break;
        }
        if finished.is_none() && cycle >= max_cycles {
            let got: Vec<String> = trace
                .outputs
                .iter()
                .zip(expected)
                .map(|(b, n)| format!("{}/{n}", b.len()))
                .collect();
            let took: Vec<String> = inputs
                .iter()
                .zip(&next)
                .map(|(b, k)| format!("{k}/{}", b.len()))
                .collect();
            return Err(SimError::Invalid(format!(
                "not finished within {max_cycles} cycles (the limit for this workload): inputs taken {}, outputs seen {}",
                took.join(", "),
                got.join(", ")
            )));
        }
        for (s, (port, beats)) in ports.input_streams.iter().zip(inputs).enumerate() {
            let k = next[s];
            // AXI4-Stream: a beat once offered stays offered until taken
            let valid = sources[s].valid(&pacing, s, cycle, k < beats.len());
            in_buf[port.valid] = u32::from(valid);
            if k < beats.len() {
                let n = beats.words_per_beat;
                in_buf[port.data..port.data + n].copy_from_slice(beats.beat(k));
                in_buf[port.last] = u32::from(beats.last[k]);
            }
        }
        for (s, port) in ports.output_streams.iter().enumerate() {
            in_buf[port.ready] = u32::from(sink_ready(&pacing, s, cycle, finished.is_some()));
        }
        sim.cycle(&in_buf, &mut out_buf);
        for (s, port) in ports.output_streams.iter().enumerate() {
            if out_buf[port.valid] & 1 == 1 && in_buf[port.ready] == 1 {
                let out = &mut trace.outputs[s];
                out.data
                    .extend_from_slice(&out_buf[port.data..port.data + out.words_per_beat]);
                out.last.push(out_buf[port.last] & 1 == 1);
                trace.output_cycles[s].push(cycle);
                if let (0, Some(status)) = (s, ports.status) {
                    trace.status.push(out_buf[status] & 1 == 1);
                }
            }
        }
        for (s, port) in ports.input_streams.iter().enumerate() {
            if sources[s].offered() && out_buf[port.ready] & 1 == 1 {
                next[s] += 1;
                trace.input_cycles[s].push(cycle);
                sources[s].taken();
            }
        }
        cycle += 1;
    }
    trace.cycles = finished.unwrap_or(cycle);
    Ok(trace)
}
