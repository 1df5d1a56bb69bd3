//! The online-softmax back end of the attention heads: the running
//! maximum, the two exponentials, the rescaled accumulators and the
//! normalizer. sdpa and binary_attention differ only in how a key's score
//! is made; both feed their scores here (the hardware form of
//! `StreamingSdpa::accumulate` and `StreamingSdpa::finish`).
//!
//! ```text
//!  score, value (from the front end's score register, stage 2)
//!   [3] running max: m_new, grew     [4..8] exp(s - m_new) and exp(m_old - m_new)
//!   [A] sum = (grew ? sum*alpha : sum) + p;  acc_i = (grew ? acc_i*alpha : acc_i) + p*v_i
//!   last key ─▶ reciprocal of sum (3 cycles) ─▶ out_i = acc_i * (1/sum), rounded, saturated,
//!               one lane a cycle through one multiplier (d + 1 cycles) ─▶ out
//! ```
//!
//! `advance` tells the front end when its stages may move: the running
//! max stage and the exp units move together, and stop only when the
//! accumulator holds a last key for a normalizer still busy with the
//! previous query.

use crate::exp::{ExpUnit, EXP_LATENCY};
use crate::fixed::{RoundShift, SignExtend, WideProduct};
use crate::lanes::{LanePacker, LaneSelect};
use crate::reciprocal::{ReciprocalUnit, RECIPROCAL_BUSY_CYCLES};
use hwformer_quant::integer::sdpa::StreamingSdpa;
use rust_hdl::prelude::*;

/// Stages of the back end before the exp units: the running max.
pub const MAX_STAGES: u64 = 1;

/// Cycles the normalizer works on a query before it offers the output,
/// for `d` lanes: the reciprocal, then one lane a cycle through a
/// registered select (`d + 1` cycles).
pub fn normalizer_cycles(d: u64) -> u64 {
    RECIPROCAL_BUSY_CYCLES + d + 1
}

// registers beside the exp units; `#[hdl_gen]` reads only literals, so
// the loops below say 5 and the last carry is [4]
const CARRIES: usize = EXP_LATENCY as usize;
const _: () = assert!(CARRIES == 5, "the carries' loops are written for EXP_LATENCY = 5");

#[derive(Copy, Clone, Debug, PartialEq, Eq, LogicState)]
enum Normalizer {
    Idle,
    Reciprocal,
    Load,
    Hold,
}

/// The back end for `D` lanes of values (`W = 16 D` bits a value vector).
#[derive(LogicBlock)]
pub struct OnlineSoftmax<const D: usize, const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// A score is in the front end's score register.
    pub score_valid: Signal<In, Bit>,
    /// It is its query's last key.
    pub score_last: Signal<In, Bit>,
    /// It is its query's first key.
    pub score_first: Signal<In, Bit>,
    /// The score, in the score format the exp units are built for.
    pub score: Signal<In, Bits<16>>,
    /// The score was saturated to that format.
    pub score_saturated: Signal<In, Bit>,
    /// The key's value vector, d elements, element 0 lowest.
    pub value: Signal<In, Bits<W>>,
    /// The front end's stages move at this clock edge.
    pub advance: Signal<Out, Bit>,
    /// Output: d elements in the output format.
    pub m_axis_out_tdata: Signal<Out, Bits<W>>,
    /// Output valid.
    pub m_axis_out_tvalid: Signal<Out, Bit>,
    /// Output ready.
    pub m_axis_out_tready: Signal<In, Bit>,
    /// High on every output beat.
    pub m_axis_out_tlast: Signal<Out, Bit>,
    /// Sticky (from power-up): a query saturated a score or an output
    /// element. It takes a query's scores when its last key is accumulated
    /// and its output lanes as they are written, so when a query's output
    /// is taken it holds exactly that query's and the earlier ones'.
    pub saturated: Signal<Out, Bit>,
    // stage 3: running max
    valid3: DFF<Bit>,
    last3: DFF<Bit>,
    first3: DFF<Bit>,
    grew3: DFF<Bit>,
    sat3: DFF<Bit>,
    v3: DFF<Bits<W>>,
    gap_p3: DFF<Bits<16>>,
    gap_a3: DFF<Bits<16>>,
    running_max: DFF<Bits<16>>,
    // beside the exp units
    carry_v: [DFF<Bits<W>>; CARRIES],
    carry_last: [DFF<Bit>; CARRIES],
    carry_first: [DFF<Bit>; CARRIES],
    carry_grew: [DFF<Bit>; CARRIES],
    carry_sat: [DFF<Bit>; CARRIES],
    exp_p: ExpUnit,
    exp_a: ExpUnit,
    // accumulator
    sum: DFF<Bits<32>>,
    query_sat: DFF<Bit>,
    sticky: DFF<Bit>,
    new_sat: Signal<Local, Bit>,
    acc: [DFF<Bits<48>>; D],
    sum_rescale: WideProduct<48>,
    sum_round: RoundShift,
    acc_rescale: [WideProduct<48>; D],
    acc_round: [RoundShift; D],
    weighted: [WideProduct<48>; D],
    // normalizer: one multiplier, a lane a cycle
    normalizer: DFF<Normalizer>,
    held: [DFF<Bits<48>>; D],
    reciprocal: ReciprocalUnit,
    lane: DFF<Bits<8>>,
    held_select: LaneSelect<D, 48>,
    held_lane: DFF<Bits<48>>,
    write_lane: DFF<Bits<8>>,
    writing: DFF<Bit>,
    out_product: WideProduct<48>,
    out_round: RoundShift,
    out_lanes: [DFF<Bits<16>>; D],
    out_packer: LanePacker<D, W>,
    // locals
    take: Signal<Local, Bit>,
    v_lanes: [SignExtend<16, 48>; D],
    score_key: Signal<Local, Bits<16>>,
    max_key: Signal<Local, Bits<16>>,
    new_key: Signal<Local, Bits<16>>,
    p: Signal<Local, Bits<16>>,
    new_sum: Signal<Local, Bits<32>>,
    new_acc: [Signal<Local, Bits<48>>; D],
    normalizing: Signal<Local, Bit>,
    lanes: Constant<Bits<8>>,
    sign: Constant<Bits<16>>,
    out_shift: Constant<Bits<7>>,
}

impl<const D: usize, const W: usize> OnlineSoftmax<D, W> {
    /// The back end of `model` (its exp and reciprocal tables, its value
    /// and output formats); `D` must be the model's `d`.
    pub fn new(model: &StreamingSdpa) -> Self {
        assert_eq!(W, 16 * D, "W must be 16 D");
        let c = model.config();
        assert_eq!(c.d, D, "the model's d is the block's");
        // out = round(acc * inverse / 2^(16 + msb + fv - fo)) (see StreamingSdpa::finish)
        let out_shift = 16 + c.value.frac() - c.output.frac();
        Self {
            clock: Default::default(),
            score_valid: Default::default(),
            score_last: Default::default(),
            score_first: Default::default(),
            score: Default::default(),
            score_saturated: Default::default(),
            value: Default::default(),
            advance: Default::default(),
            m_axis_out_tdata: Default::default(),
            m_axis_out_tvalid: Default::default(),
            m_axis_out_tready: Default::default(),
            m_axis_out_tlast: Default::default(),
            saturated: Default::default(),
            valid3: Default::default(),
            last3: Default::default(),
            first3: Default::default(),
            grew3: Default::default(),
            sat3: Default::default(),
            v3: Default::default(),
            gap_p3: Default::default(),
            gap_a3: Default::default(),
            running_max: Default::default(),
            carry_v: array_init::array_init(|_| Default::default()),
            carry_last: array_init::array_init(|_| Default::default()),
            carry_first: array_init::array_init(|_| Default::default()),
            carry_grew: array_init::array_init(|_| Default::default()),
            carry_sat: array_init::array_init(|_| Default::default()),
            exp_p: ExpUnit::new(model.exp()),
            exp_a: ExpUnit::new(model.exp()),
            sum: Default::default(),
            query_sat: Default::default(),
            sticky: Default::default(),
            new_sat: Default::default(),
            acc: array_init::array_init(|_| Default::default()),
            sum_rescale: Default::default(),
            sum_round: Default::default(),
            acc_rescale: array_init::array_init(|_| Default::default()),
            acc_round: array_init::array_init(|_| Default::default()),
            weighted: array_init::array_init(|_| Default::default()),
            normalizer: Default::default(),
            held: array_init::array_init(|_| Default::default()),
            reciprocal: ReciprocalUnit::new(model.reciprocal()),
            lane: Default::default(),
            held_select: Default::default(),
            held_lane: Default::default(),
            write_lane: Default::default(),
            writing: Default::default(),
            out_product: Default::default(),
            out_round: Default::default(),
            out_lanes: array_init::array_init(|_| Default::default()),
            out_packer: Default::default(),
            take: Default::default(),
            v_lanes: array_init::array_init(|_| Default::default()),
            score_key: Default::default(),
            max_key: Default::default(),
            new_key: Default::default(),
            p: Default::default(),
            new_sum: Default::default(),
            new_acc: array_init::array_init(|_| Default::default()),
            normalizing: Default::default(),
            lanes: Constant::new(bits::<8>(D as u64)),
            sign: Constant::new(bits::<16>(0x8000)),
            out_shift: Constant::new(bits::<7>(u64::from(out_shift))),
        }
    }
}

impl<const D: usize, const W: usize> Logic for OnlineSoftmax<D, W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            valid3,
            last3,
            first3,
            grew3,
            sat3,
            v3,
            gap_p3,
            gap_a3,
            running_max,
            sum,
            query_sat,
            sticky,
            normalizer,
            lane,
            held_lane,
            write_lane,
            writing
        );
        for i in 0..5 {
            self.carry_v[i].clock.next = self.clock.val();
            self.carry_v[i].d.next = self.carry_v[i].q.val();
            self.carry_last[i].clock.next = self.clock.val();
            self.carry_last[i].d.next = self.carry_last[i].q.val();
            self.carry_first[i].clock.next = self.clock.val();
            self.carry_first[i].d.next = self.carry_first[i].q.val();
            self.carry_grew[i].clock.next = self.clock.val();
            self.carry_grew[i].d.next = self.carry_grew[i].q.val();
            self.carry_sat[i].clock.next = self.clock.val();
            self.carry_sat[i].d.next = self.carry_sat[i].q.val();
        }
        for i in 0..D {
            self.acc[i].clock.next = self.clock.val();
            self.acc[i].d.next = self.acc[i].q.val();
            self.held[i].clock.next = self.clock.val();
            self.held[i].d.next = self.held[i].q.val();
            self.out_lanes[i].clock.next = self.clock.val();
            self.out_lanes[i].d.next = self.out_lanes[i].q.val();
        }
        self.exp_p.clock.next = self.clock.val();
        self.exp_a.clock.next = self.clock.val();
        self.reciprocal.clock.next = self.clock.val();
        // the accumulator takes the exp outputs unless a last key must wait
        // for the normalizer
        self.take.next = !(self.carry_last[4].q.val() & (self.normalizer.q.val() != Normalizer::Idle));
        self.exp_p.m_axis_exp_tready.next = self.take.val();
        self.exp_a.m_axis_exp_tready.next = self.take.val();
        self.advance.next = self.exp_p.s_axis_x_tready.val();
        // stage 3: running max over order-preserving keys
        self.score_key.next = self.score.val() ^ self.sign.val();
        self.max_key.next = self.running_max.q.val() ^ self.sign.val();
        self.new_key.next = self.max_key.val();
        if self.score_first.val() | (self.score_key.val() > self.max_key.val()) {
            self.new_key.next = self.score_key.val();
        }
        // exp inputs: s - m_new and m_old - m_new, saturated at -32
        self.exp_p.s_axis_x_tvalid.next = self.valid3.q.val();
        self.exp_a.s_axis_x_tvalid.next = self.valid3.q.val();
        self.exp_p.s_axis_x_tlast.next = false;
        self.exp_a.s_axis_x_tlast.next = false;
        self.exp_p.s_axis_x_tdata.next = 0 - self.gap_p3.q.val();
        if self.gap_p3.q.val() >= self.sign.val() {
            self.exp_p.s_axis_x_tdata.next = self.sign.val();
        }
        self.exp_a.s_axis_x_tdata.next = 0 - self.gap_a3.q.val();
        if self.gap_a3.q.val() >= self.sign.val() {
            self.exp_a.s_axis_x_tdata.next = self.sign.val();
        }
        if self.advance.val() {
            self.valid3.d.next = self.score_valid.val();
            self.last3.d.next = self.score_last.val();
            self.first3.d.next = self.score_first.val();
            self.grew3.d.next = !self.score_first.val() & (self.score_key.val() > self.max_key.val());
            self.sat3.d.next = self.score_saturated.val() & self.score_valid.val();
            self.v3.d.next = self.value.val();
            self.gap_p3.d.next = self.new_key.val() - self.score_key.val();
            self.gap_a3.d.next = self.new_key.val() - self.max_key.val();
            if self.score_valid.val() {
                self.running_max.d.next = self.new_key.val() ^ self.sign.val();
            }
            self.carry_v[0].d.next = self.v3.q.val();
            self.carry_last[0].d.next = self.last3.q.val();
            self.carry_first[0].d.next = self.first3.q.val();
            self.carry_grew[0].d.next = self.grew3.q.val();
            self.carry_sat[0].d.next = self.sat3.q.val();
            for i in 1..5 {
                self.carry_v[i].d.next = self.carry_v[i - 1].q.val();
                self.carry_last[i].d.next = self.carry_last[i - 1].q.val();
                self.carry_first[i].d.next = self.carry_first[i - 1].q.val();
                self.carry_grew[i].d.next = self.carry_grew[i - 1].q.val();
                self.carry_sat[i].d.next = self.carry_sat[i - 1].q.val();
            }
        }
        // accumulator
        self.p.next = self.exp_p.m_axis_exp_tdata.val().get_bits::<16>(0);
        self.sum_rescale.a.next = bit_cast::<48, 32>(self.sum.q.val());
        self.sum_rescale.b.next = self.exp_a.m_axis_exp_tdata.val().get_bits::<16>(0);
        self.sum_round.value.next = self.sum_rescale.product.val();
        self.sum_round.shift.next = 15.into();
        self.new_sum.next = self.sum.q.val() + bit_cast::<32, 16>(self.p.val());
        if self.carry_grew[4].q.val() {
            self.new_sum.next =
                self.sum_round.shifted.val().get_bits::<32>(0) + bit_cast::<32, 16>(self.p.val());
        }
        if self.carry_first[4].q.val() {
            self.new_sum.next = bit_cast::<32, 16>(self.p.val());
        }
        self.reciprocal.value.next = self.new_sum.val();
        self.reciprocal.start.next = false;
        for i in 0..D {
            self.v_lanes[i].value.next = self.carry_v[4].q.val().get_bits::<16>(16 * i);
            self.weighted[i].a.next = self.v_lanes[i].extended.val();
            self.weighted[i].b.next = self.p.val();
            self.acc_rescale[i].a.next = self.acc[i].q.val();
            self.acc_rescale[i].b.next = self.exp_a.m_axis_exp_tdata.val().get_bits::<16>(0);
            self.acc_round[i].value.next = self.acc_rescale[i].product.val();
            self.acc_round[i].shift.next = 15.into();
        }
        // saturation: a query's scores, then its output lanes; the sticky
        // status takes a query's when its last key goes in and its lanes
        // as they are written, so it holds them by the time the output is
        // offered and nothing of the next query before that output is taken
        self.new_sat.next = self.query_sat.q.val() | self.carry_sat[4].q.val();
        if self.carry_first[4].q.val() {
            self.new_sat.next = self.carry_sat[4].q.val();
        }
        if self.writing.q.val() & self.out_round.clipped.val() {
            self.sticky.d.next = true;
        }
        if self.exp_p.m_axis_exp_tvalid.val() & self.take.val() {
            if self.carry_last[4].q.val() {
                self.reciprocal.start.next = true;
                self.normalizer.d.next = Normalizer::Reciprocal;
                if self.new_sat.val() {
                    self.sticky.d.next = true;
                }
            } else {
                self.sum.d.next = self.new_sum.val();
                self.query_sat.d.next = self.new_sat.val();
            }
            for i in 0..D {
                self.new_acc[i].next = self.acc[i].q.val() + self.weighted[i].product.val().get_bits::<48>(0);
                if self.carry_grew[4].q.val() {
                    self.new_acc[i].next = self.acc_round[i].shifted.val().get_bits::<48>(0)
                        + self.weighted[i].product.val().get_bits::<48>(0);
                }
                if self.carry_first[4].q.val() {
                    self.new_acc[i].next = self.weighted[i].product.val().get_bits::<48>(0);
                }
                if self.carry_last[4].q.val() {
                    self.held[i].d.next = self.new_acc[i].val();
                } else {
                    self.acc[i].d.next = self.new_acc[i].val();
                }
            }
        }
        // normalizer: reciprocal (3 cycles), then the lanes: in the cycle
        // of lane k the held accumulator k is selected into a register, in
        // the next it goes through the one multiplier into output lane k
        self.normalizing.next = self.normalizer.q.val() == Normalizer::Load;
        for i in 0..D {
            self.held_select.lanes[i].next = self.held[i].q.val();
        }
        self.held_select.index.next = self.lane.q.val();
        self.held_lane.d.next = self.held_select.lane.val();
        self.write_lane.d.next = self.lane.q.val();
        self.writing.d.next = self.normalizing.val() & (self.lane.q.val() != self.lanes.val());
        self.out_product.a.next = self.held_lane.q.val();
        self.out_product.b.next = self.reciprocal.inverse.val();
        self.out_round.value.next = self.out_product.product.val();
        self.out_round.shift.next = bit_cast::<7, 5>(self.reciprocal.msb.val()) + self.out_shift.val();
        for i in 0..D {
            if self.writing.q.val() & (self.write_lane.q.val() == i.to_bits()) {
                self.out_lanes[i].d.next = self.out_round.saturated.val();
            }
            self.out_packer.lanes[i].next = self.out_lanes[i].q.val();
        }
        match self.normalizer.q.val() {
            Normalizer::Idle => {}
            Normalizer::Reciprocal => {
                if self.reciprocal.done.val() {
                    self.lane.d.next = 0.into();
                    self.normalizer.d.next = Normalizer::Load;
                }
            }
            Normalizer::Load => {
                // lanes 0 .. d - 1 selected, the last written as lane = d
                self.lane.d.next = self.lane.q.val() + 1;
                if self.lane.q.val() == self.lanes.val() {
                    self.normalizer.d.next = Normalizer::Hold;
                }
            }
            Normalizer::Hold => {
                if self.m_axis_out_tready.val() {
                    self.normalizer.d.next = Normalizer::Idle;
                }
            }
            _ => {
                self.normalizer.d.next = Normalizer::Idle;
            }
        }
        self.m_axis_out_tvalid.next = self.normalizer.q.val() == Normalizer::Hold;
        self.m_axis_out_tdata.next = self.out_packer.word.val();
        self.m_axis_out_tlast.next = true;
        self.saturated.next = self.sticky.q.val();
    }
}
