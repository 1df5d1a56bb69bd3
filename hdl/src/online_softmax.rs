//! The online-softmax back end of the attention heads: the running
//! maximum, the two exponentials, the slotted accumulators and the
//! normalizer that merges the slots. sdpa and binary_attention differ only
//! in how a key's score is made; both feed their scores here (the hardware
//! form of `StreamingSdpa::accumulate` and `StreamingSdpa::finish`).
//!
//! ```text
//!  score, value (from the front end's score register, stage 2)
//!   [3] running max m; slot = key mod 4; gap to the slot's last m    [4..9] exp(s - m), exp(m_slot - m)
//!   issue ─▶ d + 1 SlotAccumulators (sum and lanes): slot = slot * alpha + p (* v), 3 cycles, 4 slots
//!   last key ─▶ merge factors exp(m_slot - m) (a third exp unit, 4 cycles in)
//!            ─▶ M OutputEngines: per lane, sum over slots of held * beta (4 products, a 2-level tree)
//!            ─▶ the sum first (engine 0) ─▶ reciprocal ─▶ the lanes, M a cycle
//!            ─▶ total * (1/sum), pipelined, rounded, saturated ─▶ out
//! ```
//!
//! The only one-cycle loop left is the running maximum (a 16-bit compare).
//! `advance` tells the front end when its stages may move: the running
//! max stage and the exp units move together, and stop only when the
//! accumulators would issue a last key while the normalizer is still busy
//! with the previous query.

use crate::exp::{ExpUnit, EXP_LATENCY};
use crate::lanes::{LaneDeal, LaneGroups, LanePacker};
use crate::output_engine::{OutputEngine, MERGE_STAGES, OUTPUT_STAGES};
use crate::reciprocal::{ReciprocalUnit, RECIPROCAL_BUSY_CYCLES};
use crate::slot_accumulator::{SlotAccumulator, SLOTS, UPDATE_STAGES};
use hwformer_quant::integer::sdpa::StreamingSdpa;
use rust_hdl::prelude::*;

/// Stages of the back end before the exp units: the running max.
pub const MAX_STAGES: u64 = 1;

/// Cycles the normalizer is busy with a query, from the cycle its last key
/// is issued to the accumulators to the first cycle it offers the output,
/// for `d` lanes and `m` output multipliers (`m` divides `d`): the merge
/// factors (fed one a cycle into an exp unit), the sum through output
/// engine 0, the reciprocal, then `m` lanes a cycle through the engines'
/// merge and output multiply: `d / m + 33`.
pub fn normalizer_cycles(d: u64, m: u64) -> u64 {
    SLOTS as u64
        + EXP_LATENCY
        + MERGE_STAGES
        + 1
        + RECIPROCAL_BUSY_CYCLES
        + d / m.max(1)
        + MERGE_STAGES
        + OUTPUT_STAGES
}

// registers beside the exp units; `#[hdl_gen]` reads only literals, so
// the loops below say 6 and the last carry is [5]
const CARRIES: usize = EXP_LATENCY as usize;
const _: () = assert!(CARRIES == 6, "the carries' loops are written for EXP_LATENCY = 6");
const _: () = assert!(UPDATE_STAGES == 3 && MERGE_STAGES == 5 && OUTPUT_STAGES == 5);

#[derive(Copy, Clone, Debug, PartialEq, Eq, LogicState)]
enum Normalizer {
    Idle,
    Factors,
    Sum,
    Reciprocal,
    Lanes,
    Drain,
    Hold,
}

/// The back end for `D` lanes of values (`W = 16 D` bits a value vector)
/// and `M` output multipliers (`M` divides `D`).
#[derive(LogicBlock)]
pub struct OnlineSoftmax<const D: usize, const W: usize, const M: usize> {
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
    /// element. It takes a query's scores when its last key is issued
    /// and its output lanes as they are written, so when a query's output
    /// is taken it holds exactly that query's and the earlier ones'.
    pub saturated: Signal<Out, Bit>,
    // stage 3: running max, the key's slot and the slot's last maximum
    valid3: DFF<Bit>,
    last3: DFF<Bit>,
    first3: DFF<Bit>,
    sat3: DFF<Bit>,
    v3: DFF<Bits<W>>,
    gap_p3: DFF<Bits<16>>,
    gap_a3: DFF<Bits<16>>,
    slot3: DFF<Bits<2>>,
    keep3: DFF<Bit>,
    refs3: DFF<Bits<64>>,
    max3: DFF<Bits<16>>,
    used3: DFF<Bits<3>>,
    running_max: DFF<Bits<16>>,
    next_slot: DFF<Bits<2>>,
    seen: DFF<Bits<3>>,
    refs: [DFF<Bits<16>>; SLOTS],
    // beside the exp units
    carry_v: [DFF<Bits<W>>; CARRIES],
    carry_last: [DFF<Bit>; CARRIES],
    carry_first: [DFF<Bit>; CARRIES],
    carry_sat: [DFF<Bit>; CARRIES],
    carry_slot: [DFF<Bits<2>>; CARRIES],
    carry_keep: [DFF<Bit>; CARRIES],
    carry_refs: [DFF<Bits<64>>; CARRIES],
    carry_max: [DFF<Bits<16>>; CARRIES],
    carry_used: [DFF<Bits<3>>; CARRIES],
    exp_p: ExpUnit,
    exp_a: ExpUnit,
    // issue and the slotted accumulators
    alpha0: DFF<Bits<16>>,
    p0: DFF<Bits<16>>,
    write_valid: [DFF<Bit>; 3],
    write_last: [DFF<Bit>; 3],
    write_slot: [DFF<Bits<2>>; 3],
    sum_slots: SlotAccumulator,
    lane_slots: [SlotAccumulator; D],
    query_sat: DFF<Bit>,
    sticky: DFF<Bit>,
    new_sat: Signal<Local, Bit>,
    issue: Signal<Local, Bit>,
    // normalizer: merge factors
    normalizer: DFF<Normalizer>,
    held_refs: DFF<Bits<64>>,
    held_max: DFF<Bits<16>>,
    held_used: DFF<Bits<3>>,
    feed: DFF<Bits<3>>,
    collect: DFF<Bits<3>>,
    exp_merge: ExpUnit,
    beta: [DFF<Bits<16>>; SLOTS],
    feed_ref: Signal<Local, Bits<16>>,
    feed_gap: Signal<Local, Bits<16>>,
    // merge engine: one lane a cycle, the sum of its held slots * beta
    lane: DFF<Bits<8>>,
    engine_go: Signal<Local, Bit>,
    engine_sum: Signal<Local, Bit>,
    engine_last: Signal<Local, Bit>,
    merge_valid: [DFF<Bit>; 5],
    merge_sum: [DFF<Bit>; 5],
    merge_last: [DFF<Bit>; 5],
    merge_lane: [DFF<Bits<8>>; 5],
    held_groups0: LaneGroups<D, M, 48>,
    held_groups1: LaneGroups<D, M, 48>,
    held_groups2: LaneGroups<D, M, 48>,
    held_groups3: LaneGroups<D, M, 48>,
    engines: [OutputEngine; M],
    reciprocal: ReciprocalUnit,
    // output: total * (1/sum), rounded, saturated, M lanes a cycle
    out_valid: [DFF<Bit>; 5],
    out_last: [DFF<Bit>; 5],
    out_lane: [DFF<Bits<8>>; 5],
    out_pre_shift: DFF<Bits<7>>,
    out_deal: LaneDeal<D, M, 16>,
    out_clipped: Signal<Local, Bit>,
    out_lanes: [DFF<Bits<16>>; D],
    out_packer: LanePacker<D, W>,
    // locals
    take: Signal<Local, Bit>,
    score_key: Signal<Local, Bits<16>>,
    max_key: Signal<Local, Bits<16>>,
    new_key: Signal<Local, Bits<16>>,
    slot_ref: Signal<Local, Bits<16>>,
    slot: Signal<Local, Bits<2>>,
    refs_after: LanePacker<SLOTS, 64>,
    seen_after: Signal<Local, Bits<3>>,
    last_lane: Constant<Bits<8>>,
    sign: Constant<Bits<16>>,
    one: Constant<Bits<16>>,
    out_shift: Constant<Bits<7>>,
}

impl<const D: usize, const W: usize, const M: usize> OnlineSoftmax<D, W, M> {
    /// The back end of `model` (its exp and reciprocal tables, its value
    /// and output formats); `D` must be the model's `d` and its slots the
    /// hardware's.
    pub fn new(model: &StreamingSdpa) -> Self {
        assert_eq!(W, 16 * D, "W must be 16 D");
        assert!(M >= 1 && D % M == 0, "the output multipliers divide the lanes");
        let c = model.config();
        assert_eq!(c.d, D, "the model's d is the block's");
        assert_eq!(model.slots(), SLOTS, "the model's slots are the block's");
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
            sat3: Default::default(),
            v3: Default::default(),
            gap_p3: Default::default(),
            gap_a3: Default::default(),
            slot3: Default::default(),
            keep3: Default::default(),
            refs3: Default::default(),
            max3: Default::default(),
            used3: Default::default(),
            running_max: Default::default(),
            next_slot: Default::default(),
            seen: Default::default(),
            refs: array_init::array_init(|_| Default::default()),
            carry_v: array_init::array_init(|_| Default::default()),
            carry_last: array_init::array_init(|_| Default::default()),
            carry_first: array_init::array_init(|_| Default::default()),
            carry_sat: array_init::array_init(|_| Default::default()),
            carry_slot: array_init::array_init(|_| Default::default()),
            carry_keep: array_init::array_init(|_| Default::default()),
            carry_refs: array_init::array_init(|_| Default::default()),
            carry_max: array_init::array_init(|_| Default::default()),
            carry_used: array_init::array_init(|_| Default::default()),
            exp_p: ExpUnit::new(model.exp()),
            exp_a: ExpUnit::new(model.exp()),
            alpha0: Default::default(),
            p0: Default::default(),
            write_valid: array_init::array_init(|_| Default::default()),
            write_last: array_init::array_init(|_| Default::default()),
            write_slot: array_init::array_init(|_| Default::default()),
            sum_slots: SlotAccumulator::new(model.term_shift()),
            lane_slots: array_init::array_init(|_| SlotAccumulator::new(model.term_shift())),
            query_sat: Default::default(),
            sticky: Default::default(),
            new_sat: Default::default(),
            issue: Default::default(),
            normalizer: Default::default(),
            held_refs: Default::default(),
            held_max: Default::default(),
            held_used: Default::default(),
            feed: Default::default(),
            collect: Default::default(),
            exp_merge: ExpUnit::new(model.exp()),
            beta: array_init::array_init(|_| Default::default()),
            feed_ref: Default::default(),
            feed_gap: Default::default(),
            lane: Default::default(),
            engine_go: Default::default(),
            engine_sum: Default::default(),
            engine_last: Default::default(),
            merge_valid: array_init::array_init(|_| Default::default()),
            merge_sum: array_init::array_init(|_| Default::default()),
            merge_last: array_init::array_init(|_| Default::default()),
            merge_lane: array_init::array_init(|_| Default::default()),
            held_groups0: Default::default(),
            held_groups1: Default::default(),
            held_groups2: Default::default(),
            held_groups3: Default::default(),
            engines: array_init::array_init(|_| Default::default()),
            reciprocal: ReciprocalUnit::new(model.reciprocal()),
            out_valid: array_init::array_init(|_| Default::default()),
            out_last: array_init::array_init(|_| Default::default()),
            out_lane: array_init::array_init(|_| Default::default()),
            out_pre_shift: Default::default(),
            out_deal: Default::default(),
            out_clipped: Default::default(),
            out_lanes: array_init::array_init(|_| Default::default()),
            out_packer: Default::default(),
            take: Default::default(),
            score_key: Default::default(),
            max_key: Default::default(),
            new_key: Default::default(),
            slot_ref: Default::default(),
            slot: Default::default(),
            refs_after: Default::default(),
            seen_after: Default::default(),
            last_lane: Constant::new(bits::<8>((D / M) as u64 - 1)),
            sign: Constant::new(bits::<16>(0x8000)),
            one: Constant::new(bits::<16>(1)),
            out_shift: Constant::new(bits::<7>(u64::from(out_shift))),
        }
    }
}

impl<const D: usize, const W: usize, const M: usize> Logic for OnlineSoftmax<D, W, M> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            valid3,
            last3,
            first3,
            sat3,
            v3,
            gap_p3,
            gap_a3,
            slot3,
            keep3,
            refs3,
            max3,
            used3,
            running_max,
            next_slot,
            seen,
            alpha0,
            p0,
            query_sat,
            sticky,
            normalizer,
            held_refs,
            held_max,
            held_used,
            feed,
            collect,
            lane,
            out_pre_shift
        );
        for i in 0..6 {
            self.carry_v[i].clock.next = self.clock.val();
            self.carry_v[i].d.next = self.carry_v[i].q.val();
            self.carry_last[i].clock.next = self.clock.val();
            self.carry_last[i].d.next = self.carry_last[i].q.val();
            self.carry_first[i].clock.next = self.clock.val();
            self.carry_first[i].d.next = self.carry_first[i].q.val();
            self.carry_sat[i].clock.next = self.clock.val();
            self.carry_sat[i].d.next = self.carry_sat[i].q.val();
            self.carry_slot[i].clock.next = self.clock.val();
            self.carry_slot[i].d.next = self.carry_slot[i].q.val();
            self.carry_keep[i].clock.next = self.clock.val();
            self.carry_keep[i].d.next = self.carry_keep[i].q.val();
            self.carry_refs[i].clock.next = self.clock.val();
            self.carry_refs[i].d.next = self.carry_refs[i].q.val();
            self.carry_max[i].clock.next = self.clock.val();
            self.carry_max[i].d.next = self.carry_max[i].q.val();
            self.carry_used[i].clock.next = self.clock.val();
            self.carry_used[i].d.next = self.carry_used[i].q.val();
        }
        // the merge engine's control, free-running
        for i in 0..5 {
            self.merge_valid[i].clock.next = self.clock.val();
            self.merge_sum[i].clock.next = self.clock.val();
            self.merge_last[i].clock.next = self.clock.val();
            self.merge_lane[i].clock.next = self.clock.val();
        }
        for i in 0..3 {
            self.write_valid[i].clock.next = self.clock.val();
            self.write_last[i].clock.next = self.clock.val();
            self.write_slot[i].clock.next = self.clock.val();
        }
        for i in 0..5 {
            self.out_valid[i].clock.next = self.clock.val();
            self.out_last[i].clock.next = self.clock.val();
            self.out_lane[i].clock.next = self.clock.val();
        }
        for j in 0..4 {
            self.refs[j].clock.next = self.clock.val();
            self.refs[j].d.next = self.refs[j].q.val();
            self.beta[j].clock.next = self.clock.val();
            self.beta[j].d.next = self.beta[j].q.val();
        }
        for i in 0..D {
            self.out_lanes[i].clock.next = self.clock.val();
            self.out_lanes[i].d.next = self.out_lanes[i].q.val();
            self.lane_slots[i].clock.next = self.clock.val();
        }
        self.sum_slots.clock.next = self.clock.val();
        self.exp_p.clock.next = self.clock.val();
        self.exp_a.clock.next = self.clock.val();
        self.exp_merge.clock.next = self.clock.val();
        self.reciprocal.clock.next = self.clock.val();
        for k in 0..M {
            self.engines[k].clock.next = self.clock.val();
        }
        // the accumulators issue the exp outputs unless a last key must
        // wait for the normalizer
        self.take.next = !(self.carry_last[5].q.val() & (self.normalizer.q.val() != Normalizer::Idle));
        self.exp_p.m_axis_exp_tready.next = self.take.val();
        self.exp_a.m_axis_exp_tready.next = self.take.val();
        self.advance.next = self.exp_p.s_axis_x_tready.val();
        // stage 3: running max over order-preserving keys; the key's slot
        // and the maximum its slot last saw
        self.score_key.next = self.score.val() ^ self.sign.val();
        self.max_key.next = self.running_max.q.val() ^ self.sign.val();
        self.new_key.next = self.max_key.val();
        if self.score_first.val() | (self.score_key.val() > self.max_key.val()) {
            self.new_key.next = self.score_key.val();
        }
        self.slot.next = self.next_slot.q.val();
        self.seen_after.next = self.seen.q.val() + 1;
        if self.seen.q.val() == 4 {
            self.seen_after.next = 4.into();
        }
        if self.score_first.val() {
            self.slot.next = 0.into();
            self.seen_after.next = 1.into();
        }
        self.slot_ref.next = self.refs[0].q.val();
        for j in 0..4 {
            self.refs_after.lanes[j].next = self.refs[j].q.val();
            if self.slot.val() == j.to_bits() {
                self.slot_ref.next = self.refs[j].q.val();
                self.refs_after.lanes[j].next = self.new_key.val();
            }
        }
        // exp inputs: s - m_new and m_slot - m_new, saturated at the most
        // negative score
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
            self.sat3.d.next = self.score_saturated.val() & self.score_valid.val();
            self.v3.d.next = self.value.val();
            self.gap_p3.d.next = self.new_key.val() - self.score_key.val();
            self.gap_a3.d.next = self.new_key.val() - self.slot_ref.val();
            self.slot3.d.next = self.slot.val();
            self.keep3.d.next = !self.score_first.val() & (self.seen.q.val() == 4);
            self.refs3.d.next = self.refs_after.word.val();
            self.max3.d.next = self.new_key.val();
            self.used3.d.next = self.seen_after.val();
            if self.score_valid.val() {
                self.running_max.d.next = self.new_key.val() ^ self.sign.val();
                self.next_slot.d.next = self.slot.val() + 1;
                self.seen.d.next = self.seen_after.val();
                for j in 0..4 {
                    if self.slot.val() == j.to_bits() {
                        self.refs[j].d.next = self.new_key.val();
                    }
                }
            }
            self.carry_v[0].d.next = self.v3.q.val();
            self.carry_last[0].d.next = self.last3.q.val();
            self.carry_first[0].d.next = self.first3.q.val();
            self.carry_sat[0].d.next = self.sat3.q.val();
            self.carry_slot[0].d.next = self.slot3.q.val();
            self.carry_keep[0].d.next = self.keep3.q.val();
            self.carry_refs[0].d.next = self.refs3.q.val();
            self.carry_max[0].d.next = self.max3.q.val();
            self.carry_used[0].d.next = self.used3.q.val();
            for i in 1..6 {
                self.carry_v[i].d.next = self.carry_v[i - 1].q.val();
                self.carry_last[i].d.next = self.carry_last[i - 1].q.val();
                self.carry_first[i].d.next = self.carry_first[i - 1].q.val();
                self.carry_sat[i].d.next = self.carry_sat[i - 1].q.val();
                self.carry_slot[i].d.next = self.carry_slot[i - 1].q.val();
                self.carry_keep[i].d.next = self.carry_keep[i - 1].q.val();
                self.carry_refs[i].d.next = self.carry_refs[i - 1].q.val();
                self.carry_max[i].d.next = self.carry_max[i - 1].q.val();
                self.carry_used[i].d.next = self.carry_used[i - 1].q.val();
            }
        }
        // issue: the slotted accumulators read the key's slot; alpha and p
        // follow a cycle later, the write three cycles after that
        self.issue.next = self.exp_p.m_axis_exp_tvalid.val() & self.take.val();
        self.alpha0.d.next = self.exp_a.m_axis_exp_tdata.val().get_bits::<16>(0);
        self.p0.d.next = self.exp_p.m_axis_exp_tdata.val().get_bits::<16>(0);
        self.write_valid[0].d.next = self.issue.val();
        self.write_last[0].d.next = self.issue.val() & self.carry_last[5].q.val();
        self.write_slot[0].d.next = self.carry_slot[5].q.val();
        for i in 1..3 {
            self.write_valid[i].d.next = self.write_valid[i - 1].q.val();
            self.write_last[i].d.next = self.write_last[i - 1].q.val();
            self.write_slot[i].d.next = self.write_slot[i - 1].q.val();
        }
        self.sum_slots.read_slot.next = self.carry_slot[5].q.val();
        self.sum_slots.keep.next = self.carry_keep[5].q.val();
        self.sum_slots.value.next = self.one.val();
        self.sum_slots.alpha.next = self.alpha0.q.val();
        self.sum_slots.p.next = self.p0.q.val();
        self.sum_slots.write.next = self.write_valid[2].q.val();
        self.sum_slots.write_slot.next = self.write_slot[2].q.val();
        self.sum_slots.capture.next = self.write_last[2].q.val();
        for i in 0..D {
            self.lane_slots[i].read_slot.next = self.carry_slot[5].q.val();
            self.lane_slots[i].keep.next = self.carry_keep[5].q.val();
            self.lane_slots[i].value.next = self.carry_v[5].q.val().get_bits::<16>(16 * i);
            self.lane_slots[i].alpha.next = self.alpha0.q.val();
            self.lane_slots[i].p.next = self.p0.q.val();
            self.lane_slots[i].write.next = self.write_valid[2].q.val();
            self.lane_slots[i].write_slot.next = self.write_slot[2].q.val();
            self.lane_slots[i].capture.next = self.write_last[2].q.val();
        }
        // saturation: a query's scores, then its output lanes; the sticky
        // status takes a query's when its last key is issued and its lanes
        // as they are written, so it holds them by the time the output is
        // offered and nothing of the next query before that output is taken
        self.new_sat.next = self.query_sat.q.val() | self.carry_sat[5].q.val();
        if self.carry_first[5].q.val() {
            self.new_sat.next = self.carry_sat[5].q.val();
        }
        self.out_clipped.next = false;
        for k in 0..M {
            if self.engines[k].clipped.val() {
                self.out_clipped.next = true;
            }
        }
        if self.out_valid[4].q.val() & self.out_clipped.val() {
            self.sticky.d.next = true;
        }
        if self.issue.val() {
            self.query_sat.d.next = self.new_sat.val();
            if self.carry_last[5].q.val() {
                self.normalizer.d.next = Normalizer::Factors;
                self.held_refs.d.next = self.carry_refs[5].q.val();
                self.held_max.d.next = self.carry_max[5].q.val();
                self.held_used.d.next = self.carry_used[5].q.val();
                self.feed.d.next = 0.into();
                self.collect.d.next = 0.into();
                if self.new_sat.val() {
                    self.sticky.d.next = true;
                }
            }
        }
        // merge factors: exp(m_slot - m) for slots 0..3, one a cycle into
        // the third exp unit; 0 for a slot the query did not use
        self.feed_ref.next = self.held_refs.q.val().get_bits::<16>(0);
        for j in 1..4 {
            if self.feed.q.val() == j.to_bits() {
                self.feed_ref.next = self.held_refs.q.val().get_bits::<16>(16 * j);
            }
        }
        self.feed_gap.next = self.held_max.q.val() - self.feed_ref.val();
        self.exp_merge.s_axis_x_tdata.next = 0 - self.feed_gap.val();
        if self.feed_gap.val() >= self.sign.val() {
            self.exp_merge.s_axis_x_tdata.next = self.sign.val();
        }
        self.exp_merge.s_axis_x_tvalid.next =
            (self.normalizer.q.val() == Normalizer::Factors) & (self.feed.q.val() != 4);
        self.exp_merge.s_axis_x_tlast.next = false;
        self.exp_merge.m_axis_exp_tready.next = true;
        if self.exp_merge.s_axis_x_tvalid.val() & self.exp_merge.s_axis_x_tready.val() {
            self.feed.d.next = self.feed.q.val() + 1;
        }
        if self.exp_merge.m_axis_exp_tvalid.val() {
            self.collect.d.next = self.collect.q.val() + 1;
            for j in 0..4 {
                if self.collect.q.val() == j.to_bits() {
                    self.beta[j].d.next = 0.into();
                    if self.held_used.q.val() > j.to_bits() {
                        self.beta[j].d.next = self.exp_merge.m_axis_exp_tdata.val().get_bits::<16>(0);
                    }
                }
            }
        }
        // merge engine: select the lane's held slots, multiply each by its
        // factor (rounded as a rescale), add the four in a two-level tree
        self.engine_sum.next = self.normalizer.q.val() == Normalizer::Sum;
        self.engine_go.next = self.engine_sum.val() | (self.normalizer.q.val() == Normalizer::Lanes);
        self.engine_last.next =
            (self.normalizer.q.val() == Normalizer::Lanes) & (self.lane.q.val() == self.last_lane.val());
        // one loop per slot: hdl_gen substitutes a loop index only at the
        // first array of a path; `lane` counts groups of M lanes
        for i in 0..D {
            self.held_groups0.lanes[i].next = self.lane_slots[i].held0.val();
        }
        for i in 0..D {
            self.held_groups1.lanes[i].next = self.lane_slots[i].held1.val();
        }
        for i in 0..D {
            self.held_groups2.lanes[i].next = self.lane_slots[i].held2.val();
        }
        for i in 0..D {
            self.held_groups3.lanes[i].next = self.lane_slots[i].held3.val();
        }
        self.held_groups0.group.next = self.lane.q.val();
        self.held_groups1.group.next = self.lane.q.val();
        self.held_groups2.group.next = self.lane.q.val();
        self.held_groups3.group.next = self.lane.q.val();
        for k in 0..M {
            self.engines[k].slot0.next = self.held_groups0.out[k].val();
        }
        for k in 0..M {
            self.engines[k].slot1.next = self.held_groups1.out[k].val();
        }
        for k in 0..M {
            self.engines[k].slot2.next = self.held_groups2.out[k].val();
        }
        for k in 0..M {
            self.engines[k].slot3.next = self.held_groups3.out[k].val();
        }
        for k in 0..M {
            self.engines[k].beta0.next = self.beta[0].q.val();
            self.engines[k].beta1.next = self.beta[1].q.val();
            self.engines[k].beta2.next = self.beta[2].q.val();
            self.engines[k].beta3.next = self.beta[3].q.val();
            self.engines[k].inverse.next = self.reciprocal.inverse.val();
            self.engines[k].pre_shift.next = self.out_pre_shift.q.val();
        }
        // the sum goes through engine 0
        if self.engine_sum.val() {
            self.engines[0].slot0.next = self.sum_slots.held0.val();
            self.engines[0].slot1.next = self.sum_slots.held1.val();
            self.engines[0].slot2.next = self.sum_slots.held2.val();
            self.engines[0].slot3.next = self.sum_slots.held3.val();
        }
        self.merge_valid[0].d.next = self.engine_go.val();
        self.merge_sum[0].d.next = self.engine_sum.val();
        self.merge_last[0].d.next = self.engine_last.val();
        self.merge_lane[0].d.next = self.lane.q.val();
        for i in 1..5 {
            self.merge_valid[i].d.next = self.merge_valid[i - 1].q.val();
            self.merge_sum[i].d.next = self.merge_sum[i - 1].q.val();
            self.merge_last[i].d.next = self.merge_last[i - 1].q.val();
            self.merge_lane[i].d.next = self.merge_lane[i - 1].q.val();
        }
        // the sum's total starts the reciprocal
        self.reciprocal.value.next = self.engines[0].total.val().get_bits::<32>(0);
        self.reciprocal.start.next = self.merge_valid[4].q.val() & self.merge_sum[4].q.val();
        // output: each engine's total times 1/sum (two stages), rounded
        // and saturated (three stages), written into its output lane:
        // out = round(total * inverse / 2^(16 + msb + fv - fo)); the shift
        // is fixed while a query's lanes go out: from a register
        self.out_pre_shift.d.next = bit_cast::<7, 5>(self.reciprocal.msb.val()) + self.out_shift.val() - 1;
        self.out_valid[0].d.next = self.merge_valid[4].q.val() & !self.merge_sum[4].q.val();
        self.out_last[0].d.next = self.merge_last[4].q.val();
        self.out_lane[0].d.next = self.merge_lane[4].q.val();
        for i in 1..5 {
            self.out_valid[i].d.next = self.out_valid[i - 1].q.val();
            self.out_last[i].d.next = self.out_last[i - 1].q.val();
            self.out_lane[i].d.next = self.out_lane[i - 1].q.val();
        }
        for k in 0..M {
            self.out_deal.values[k].next = self.engines[k].out.val();
        }
        self.out_deal.group.next = self.out_lane[4].q.val();
        for i in 0..D {
            if self.out_valid[4].q.val() & self.out_deal.hit[i].val() {
                self.out_lanes[i].d.next = self.out_deal.lanes[i].val();
            }
            self.out_packer.lanes[i].next = self.out_lanes[i].q.val();
        }
        match self.normalizer.q.val() {
            Normalizer::Idle => {}
            Normalizer::Factors => {
                if self.exp_merge.m_axis_exp_tvalid.val() & (self.collect.q.val() == 3) {
                    self.normalizer.d.next = Normalizer::Sum;
                }
            }
            Normalizer::Sum => {
                self.normalizer.d.next = Normalizer::Reciprocal;
            }
            Normalizer::Reciprocal => {
                self.lane.d.next = 0.into();
                if self.reciprocal.done.val() {
                    self.normalizer.d.next = Normalizer::Lanes;
                }
            }
            Normalizer::Lanes => {
                // lanes 0 .. d - 1 into the engine, one a cycle
                self.lane.d.next = self.lane.q.val() + 1;
                if self.engine_last.val() {
                    self.normalizer.d.next = Normalizer::Drain;
                }
            }
            Normalizer::Drain => {
                if self.out_valid[4].q.val() & self.out_last[4].q.val() {
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
