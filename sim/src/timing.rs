//! The timing models: for each block, its handshake behaviour alone (which
//! cycle each stream is ready or valid), written from the block's
//! documented control and run under the same testbench and pacing as the
//! RTL. The checker compares every handshake's cycle with it, and at full
//! speed the models reproduce the blocks' closed forms (`EXP_LATENCY`,
//! `softmax::row_cycles`, `sdpa::output_delay`), which ties them to the
//! latencies the dataflow graphs use.
//!
//! ```text
//!  exp:     5-stage pipeline, all stages move when the last is empty or taken
//!  softmax: three passes on different rows at once, counted per row: ingest
//!           (8 rows, 1024 logits), sum (exp, accumulate; a last weight waits
//!           for a busy reciprocal: seed, Newton, capture), output (exp, one
//!           register)
//!  sdpa:    3 stages + exp (5) move together; the accumulator holds a last key
//!           while the normalizer (reciprocal 2, a lane a cycle, hold until taken) is busy
//! ```

use crate::ports::PortMap;
use crate::testbench::Simulator;
use crate::SimError;
use hwformer_hdl::manifest::Manifest;

/// The exp unit's pipeline: valid and last of its five stages.
#[derive(Debug, Clone, Copy, Default)]
struct ExpPipeline {
    valid: [bool; 5],
    last: [bool; 5],
}

impl ExpPipeline {
    /// Whether the stages move this cycle, given the consumer's ready.
    fn advance(&self, out_ready: bool) -> bool {
        !self.valid[4] || out_ready
    }

    /// The clock edge: shifts in (valid, last) when the stages move.
    fn edge(&mut self, advance: bool, valid: bool, last: bool) {
        if advance {
            self.valid.copy_within(0..4, 1);
            self.last.copy_within(0..4, 1);
            self.valid[0] = valid;
            self.last[0] = last;
        }
    }
}

/// Handshake bits of one cycle, read from and written to the buffers.
struct Pins<'a> {
    ports: &'a PortMap,
    inputs: &'a [u32],
}

impl Pins<'_> {
    fn valid(&self, s: usize) -> bool {
        self.inputs[self.ports.input_streams[s].valid] & 1 == 1
    }
    fn last(&self, s: usize) -> bool {
        self.inputs[self.ports.input_streams[s].last] & 1 == 1
    }
    fn ready(&self, s: usize) -> bool {
        self.inputs[self.ports.output_streams[s].ready] & 1 == 1
    }
}

fn drive(ports: &PortMap, outputs: &mut [u32], in_ready: &[bool], out_valid: bool, out_last: bool) {
    for (s, &r) in in_ready.iter().enumerate() {
        outputs[ports.input_streams[s].ready] = u32::from(r);
    }
    let o = ports.output_streams[0];
    outputs[o.valid] = u32::from(out_valid);
    outputs[o.last] = u32::from(out_last);
}

struct ExpTiming {
    ports: PortMap,
    pipe: ExpPipeline,
}

impl Simulator for ExpTiming {
    fn cycle(&mut self, inputs: &[u32], outputs: &mut [u32]) {
        let pins = Pins {
            ports: &self.ports,
            inputs,
        };
        let advance = self.pipe.advance(pins.ready(0));
        drive(
            &self.ports,
            outputs,
            &[advance],
            self.pipe.valid[4],
            self.pipe.last[4],
        );
        let (valid, last) = (pins.valid(0), pins.last(0));
        self.pipe.edge(advance, valid, last);
    }
}

/// The reciprocal unit: idle, seed, Newton step (`done`), idle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Reciprocal {
    #[default]
    Idle,
    Seed,
    Newton,
}

/// One reading pass of the softmax: the row it reads (a count), the
/// element the block RAM shows, and whether it is valid.
#[derive(Debug, Clone, Copy, Default)]
struct RowReader {
    row: u64,
    ptr: u64,
    valid: bool,
}

impl RowReader {
    /// Whether the element shown is its row's last.
    fn at_last(&self, length: &[u64; 8]) -> bool {
        self.valid && self.ptr + 1 == length[(self.row % 8) as usize]
    }

    /// The clock edge: after a taken element, the next one (or the next
    /// row's first, if `ready_rows` says it is there); when idle, the
    /// first element of a waiting row.
    fn edge(&mut self, take: bool, last: bool, ready_rows: u64) {
        if take {
            if last {
                self.row += 1;
                self.ptr = 0;
                self.valid = ready_rows != self.row;
            } else {
                self.ptr += 1;
            }
        } else if !self.valid && ready_rows != self.row {
            self.valid = true;
        }
    }
}

#[derive(Default)]
struct SoftmaxTiming {
    ports: Option<PortMap>,
    // rows counted since the start
    ingested: u64,
    normalized: u64,
    released: u64,
    length: [u64; 8],
    write_pos: u64,
    release_pos: u64,
    written: u64,
    sum_pass: RowReader,
    exp_sum: ExpPipeline,
    reciprocal: Reciprocal,
    reciprocal_busy: bool,
    capture: bool,
    out_pass: RowReader,
    exp_out: ExpPipeline,
    out_valid: bool,
    out_last: bool,
}

impl Simulator for SoftmaxTiming {
    fn cycle(&mut self, inputs: &[u32], outputs: &mut [u32]) {
        let Some(ports) = self.ports.as_ref() else { return };
        let pins = Pins { ports, inputs };
        let (in_valid, in_last, out_ready) = (pins.valid(0), pins.last(0), pins.ready(0));
        let slot = |count: u64| (count % 8) as usize;
        // eight row descriptors, a ring of 1024 logits
        let in_ready = self.ingested - self.released != 8 && self.write_pos - self.release_pos != 1024;
        // sum pass and accumulator
        let (sum_pass, out_pass) = (self.sum_pass, self.out_pass);
        let sum_last = sum_pass.at_last(&self.length);
        let accumulate = !(self.exp_sum.last[4] && self.reciprocal_busy);
        let sum_advance = self.exp_sum.advance(accumulate);
        let sum_take = sum_pass.valid && sum_advance;
        let start = self.exp_sum.valid[4] && accumulate && self.exp_sum.last[4];
        // output pass and register
        let out_last_read = out_pass.at_last(&self.length);
        let exp_ready = !self.out_valid || out_ready;
        let out_advance = self.exp_out.advance(exp_ready);
        let out_take = out_pass.valid && out_advance;
        let emit = self.exp_out.valid[4] && exp_ready;
        drive(ports, outputs, &[in_ready], self.out_valid, self.out_last);

        let (ingested, normalized) = (self.ingested, self.normalized);
        if in_valid && in_ready {
            self.written += 1;
            self.write_pos += 1;
            if in_last || self.written == 256 {
                self.length[slot(self.ingested)] = self.written;
                self.written = 0;
                self.ingested += 1;
            }
        }
        self.sum_pass.edge(sum_take, sum_last, ingested);
        let done = self.reciprocal == Reciprocal::Newton;
        let capture = self.capture;
        self.capture = self.reciprocal_busy && done;
        if start {
            self.reciprocal_busy = true;
        }
        if capture {
            self.normalized += 1;
            self.reciprocal_busy = false;
        }
        self.reciprocal = match self.reciprocal {
            Reciprocal::Idle if start => Reciprocal::Seed,
            Reciprocal::Idle => Reciprocal::Idle,
            Reciprocal::Seed => Reciprocal::Newton,
            Reciprocal::Newton => Reciprocal::Idle,
        };
        self.out_pass.edge(out_take, out_last_read, normalized);
        if exp_ready {
            self.out_valid = emit;
            self.out_last = self.exp_out.last[4];
        }
        if emit && self.exp_out.last[4] {
            self.release_pos += self.length[slot(self.released)];
            self.released += 1;
        }
        self.exp_sum.edge(sum_advance, sum_pass.valid, sum_last);
        self.exp_out.edge(out_advance, out_pass.valid, out_last_read);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Normalizer {
    Idle,
    Reciprocal(u32),
    /// The lane being normalized.
    Load(usize),
    Hold,
}

struct SdpaTiming {
    ports: PortMap,
    loaded: bool,
    /// valid and last of stages 1 to 3
    stages: [(bool, bool); 3],
    exp: ExpPipeline,
    normalizer: Normalizer,
    /// Lanes, one normalized a cycle.
    d: usize,
}

impl Simulator for SdpaTiming {
    fn cycle(&mut self, inputs: &[u32], outputs: &mut [u32]) {
        let pins = Pins {
            ports: &self.ports,
            inputs,
        };
        let (q_valid, kv_valid, kv_last, out_ready) =
            (pins.valid(0), pins.valid(1), pins.last(1), pins.ready(0));
        // the exp pipeline carries each key's last flag beside its valid
        let last4 = self.exp.last[4];
        let take = !(last4 && self.normalizer != Normalizer::Idle);
        let advance = self.exp.advance(take);
        let kv_ready = self.loaded && advance;
        let kv_take = kv_valid && kv_ready;
        let q_ready = !self.loaded || (kv_take && kv_last);
        drive(
            &self.ports,
            outputs,
            &[q_ready, kv_ready],
            self.normalizer == Normalizer::Hold,
            true,
        );
        if q_valid && q_ready {
            self.loaded = true;
        } else if kv_take && kv_last {
            self.loaded = false;
        }
        let accumulate_last = self.exp.valid[4] && take && last4;
        self.normalizer = match self.normalizer {
            Normalizer::Idle if accumulate_last => Normalizer::Reciprocal(0),
            Normalizer::Reciprocal(0) => Normalizer::Reciprocal(1),
            Normalizer::Reciprocal(_) => Normalizer::Load(0),
            // lanes 0 .. d - 1 selected, the last written at lane d
            Normalizer::Load(lane) if lane < self.d => Normalizer::Load(lane + 1),
            Normalizer::Load(_) => Normalizer::Hold,
            Normalizer::Hold if out_ready => Normalizer::Idle,
            other => other,
        };
        if advance {
            let (v3, l3) = self.stages[2];
            self.exp.edge(true, v3, l3);
            self.stages = [(kv_take, kv_last && kv_take), self.stages[0], self.stages[1]];
        }
    }
}

/// The timing model of the block a manifest describes.
pub fn timing_model(manifest: &Manifest) -> Result<Box<dyn Simulator>, SimError> {
    let ports = PortMap::new(manifest);
    Ok(match manifest.block.as_str() {
        "exp" => Box::new(ExpTiming {
            ports,
            pipe: ExpPipeline::default(),
        }),
        "softmax" => Box::new(SoftmaxTiming {
            ports: Some(ports),
            ..Default::default()
        }),
        "sdpa" => Box::new(SdpaTiming {
            ports,
            loaded: false,
            stages: [(false, false); 3],
            exp: ExpPipeline::default(),
            normalizer: Normalizer::Idle,
            d: hwformer_hdl::sdpa::model_from_manifest(manifest)
                .map_err(SimError::Invalid)?
                .config()
                .d,
        }),
        other => return Err(SimError::Invalid(format!("no timing model of block `{other}`"))),
    })
}
