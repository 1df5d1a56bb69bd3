//! The timing models: for each block, its handshake behaviour alone (which
//! cycle each stream is ready or valid), written from the block's
//! documented control and run under the same testbench and pacing as the
//! RTL. The checker compares every handshake's cycle with it, and at full
//! speed the models reproduce the blocks' closed forms (`EXP_LATENCY`,
//! `softmax::row_cycles`, `SDPA_OUTPUT_DELAY`), which ties them to the
//! latencies the dataflow graphs use.
//!
//! ```text
//!  exp:     5-stage pipeline, all stages move when the last is empty or taken
//!  softmax: Ingest (ready) -> Prime -> Sum (exp of each logit) -> Normalize ->
//!           Reciprocal (2 cycles) -> Output (exp again, one register) -> Ingest
//!  sdpa:    3 stages + exp (5) move together; the accumulator holds a last key
//!           while the normalizer (reciprocal 2, load 1, hold until taken) is busy
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ingest,
    Prime,
    Sum,
    Normalize,
    Reciprocal,
    Output,
}

struct SoftmaxTiming {
    ports: PortMap,
    phase: Phase,
    written: u32,
    length: u32,
    read_ptr: u32,
    read_valid: bool,
    reciprocal_cycles: u32,
    exp: ExpPipeline,
    out_valid: bool,
    out_last: bool,
}

impl Simulator for SoftmaxTiming {
    fn cycle(&mut self, inputs: &[u32], outputs: &mut [u32]) {
        let pins = Pins {
            ports: &self.ports,
            inputs,
        };
        let (in_valid, in_last, out_ready) = (pins.valid(0), pins.last(0), pins.ready(0));
        let reading = matches!(self.phase, Phase::Sum | Phase::Output);
        let exp_in_valid = reading && self.read_valid;
        let exp_in_last = reading && self.read_ptr + 1 == self.length;
        let exp_ready = match self.phase {
            Phase::Sum => true,
            Phase::Output => !self.out_valid || out_ready,
            _ => false,
        };
        let advance = self.exp.advance(exp_ready);
        let take = exp_in_valid && advance;
        drive(
            &self.ports,
            outputs,
            &[self.phase == Phase::Ingest],
            self.out_valid,
            self.out_last,
        );
        let (exp_out_valid, exp_out_last) = (self.exp.valid[4], self.exp.last[4]);
        let mut next_phase = self.phase;
        match self.phase {
            Phase::Ingest => {
                if in_valid {
                    self.written += 1;
                    if in_last || self.written == 256 {
                        self.length = self.written;
                        next_phase = Phase::Prime;
                    }
                }
            }
            Phase::Prime => {
                self.read_valid = true;
                next_phase = Phase::Sum;
            }
            Phase::Sum => {
                if exp_out_valid && exp_out_last {
                    next_phase = Phase::Normalize;
                }
            }
            Phase::Normalize => {
                self.reciprocal_cycles = 0;
                next_phase = Phase::Reciprocal;
            }
            Phase::Reciprocal => {
                // started in Normalize: seed, then Newton with `done`
                self.reciprocal_cycles += 1;
                if self.reciprocal_cycles == 2 {
                    self.read_ptr = 0;
                    self.read_valid = true;
                    next_phase = Phase::Output;
                }
            }
            Phase::Output => {
                let out_done = self.out_valid && self.out_last && out_ready;
                if !self.out_valid || out_ready {
                    self.out_valid = exp_out_valid && exp_ready;
                    self.out_last = exp_out_last;
                }
                if out_done {
                    self.written = 0;
                    self.read_ptr = 0;
                    next_phase = Phase::Ingest;
                }
            }
        }
        if take {
            self.read_ptr += 1;
            if self.read_ptr == self.length {
                self.read_valid = false;
            }
        }
        self.exp.edge(advance, exp_in_valid, exp_in_last);
        self.phase = next_phase;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Normalizer {
    Idle,
    Reciprocal(u32),
    Load,
    Hold,
}

struct SdpaTiming {
    ports: PortMap,
    loaded: bool,
    /// valid and last of stages 1 to 3
    stages: [(bool, bool); 3],
    exp: ExpPipeline,
    normalizer: Normalizer,
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
            Normalizer::Reciprocal(_) => Normalizer::Load,
            Normalizer::Load => Normalizer::Hold,
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
            ports,
            phase: Phase::Ingest,
            written: 0,
            length: 0,
            read_ptr: 0,
            read_valid: false,
            reciprocal_cycles: 0,
            exp: ExpPipeline::default(),
            out_valid: false,
            out_last: false,
        }),
        "sdpa" => Box::new(SdpaTiming {
            ports,
            loaded: false,
            stages: [(false, false); 3],
            exp: ExpPipeline::default(),
            normalizer: Normalizer::Idle,
        }),
        other => return Err(SimError::Invalid(format!("no timing model of block `{other}`"))),
    })
}
