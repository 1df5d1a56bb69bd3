//! Streaming scaled dot-product attention for one head, O(1) memory: the
//! hardware form of `hwformer_quant::integer::sdpa::StreamingSdpa` for any
//! signed 16-bit q, k, v and output formats (default Q3.12), Q5.10 scores,
//! a UQ1.14 scale and up to 256 keys per query.
//!
//! ```text
//!  query ─▶ q register (d lanes)
//!  kv ────▶ [1] q.k (d 16x16 products, sum)  [2] * scale, round, saturate -> s
//!           [3] running max: m_new, grew     [4..8] exp(s - m_new) and exp(m_old - m_new)
//!           [A] sum = (grew ? sum*alpha : sum) + p;  acc_i = (grew ? acc_i*alpha : acc_i) + p*v_i
//!  last key ─▶ reciprocal of sum (3 cycles) ─▶ out_i = acc_i * (1/sum), rounded, saturated,
//!              one lane a cycle through one multiplier (d + 1 cycles) ─▶ out
//! ```
//!
//! One key per cycle; stages 1 to 8 move together when the accumulator
//! takes the exp units' outputs. The accumulator waits only when a query's
//! last key arrives while the previous query's output is still being
//! normalized or held by back-pressure; the next query's keys keep flowing
//! until then. Every output beat carries `tlast`.

use crate::exp::{ExpUnit, EXP_LATENCY};
use crate::export::{self, ExportError};
use crate::fixed::{RoundShift, SignExtend, WideProduct};
use crate::lanes::{LanePacker, LaneSelect};
use crate::manifest::{Direction, ErrorBound, Field, Manifest, Param, Stream};
use crate::reciprocal::{ReciprocalUnit, RECIPROCAL_BUSY_CYCLES};
use hwformer_quant::integer::sdpa::{SdpaConfig, StreamingSdpa, SCALE_FRAC};
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Most keys per query (sets the accumulator widths).
pub const SDPA_N_MAX: usize = 256;

/// Stages before the exp units, moving with them: q.k, scale, running max.
pub const SDPA_SCORE_STAGES: u64 = 3;

/// Cycles the normalizer works on a query before it offers the output,
/// for `d` lanes: the reciprocal, then one lane a cycle through a
/// registered select (`d + 1` cycles).
pub fn normalizer_cycles(d: u64) -> u64 {
    RECIPROCAL_BUSY_CYCLES + d + 1
}

/// Cycles from a query's last key handshake to its output's `tvalid`,
/// when nothing stalls, for `d` lanes: the score stages, the exp units,
/// the accumulator taking the last key (1), then the normalizer.
pub fn output_delay(d: u64) -> u64 {
    SDPA_SCORE_STAGES + EXP_LATENCY + 1 + normalizer_cycles(d)
}

/// Fewest cycles between the outputs of queries back to back for `d`
/// lanes: the normalizer works [`normalizer_cycles`], holds the output
/// one cycle and is idle one, so a query of `n` keys costs
/// [`query_cycles`].
pub fn min_query_cycles(d: u64) -> u64 {
    normalizer_cycles(d) + 2
}

/// Cycles a query of `n` keys takes in steady state when nothing stalls.
pub fn query_cycles(n: u64, d: u64) -> u64 {
    n.max(min_query_cycles(d))
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, LogicState)]
enum Normalizer {
    Idle,
    Reciprocal,
    Load,
    Hold,
}

/// The streaming attention head with `D` lanes; `W = 16 D` and `KV = 32 D`
/// are the stream widths (see [`SdpaUnit::new`]).
#[derive(LogicBlock)]
pub struct SdpaUnit<const D: usize, const W: usize, const KV: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Query: d elements in the query format (default Q3.12), element 0 lowest.
    pub s_axis_query_tdata: Signal<In, Bits<W>>,
    /// Query valid.
    pub s_axis_query_tvalid: Signal<In, Bit>,
    /// Query ready.
    pub s_axis_query_tready: Signal<Out, Bit>,
    /// Ignored.
    pub s_axis_query_tlast: Signal<In, Bit>,
    /// One key and its value: k in the low `W` bits, v above.
    pub s_axis_kv_tdata: Signal<In, Bits<KV>>,
    /// Key valid.
    pub s_axis_kv_tvalid: Signal<In, Bit>,
    /// Key ready.
    pub s_axis_kv_tready: Signal<Out, Bit>,
    /// Last key of the query.
    pub s_axis_kv_tlast: Signal<In, Bit>,
    /// Output: d elements in the output format (default Q3.12).
    pub m_axis_out_tdata: Signal<Out, Bits<W>>,
    /// Output valid.
    pub m_axis_out_tvalid: Signal<Out, Bit>,
    /// Output ready.
    pub m_axis_out_tready: Signal<In, Bit>,
    /// High on every output beat.
    pub m_axis_out_tlast: Signal<Out, Bit>,
    query: DFF<Bits<W>>,
    loaded: DFF<Bit>,
    continuing: DFF<Bit>,
    // stage 1: dot product
    valid1: DFF<Bit>,
    last1: DFF<Bit>,
    first1: DFF<Bit>,
    v1: DFF<Bits<W>>,
    dot1: DFF<Bits<48>>,
    // stage 2: scaled score
    valid2: DFF<Bit>,
    last2: DFF<Bit>,
    first2: DFF<Bit>,
    v2: DFF<Bits<W>>,
    s2: DFF<Bits<16>>,
    // stage 3: running max
    valid3: DFF<Bit>,
    last3: DFF<Bit>,
    first3: DFF<Bit>,
    grew3: DFF<Bit>,
    v3: DFF<Bits<W>>,
    gap_p3: DFF<Bits<16>>,
    gap_a3: DFF<Bits<16>>,
    running_max: DFF<Bits<16>>,
    // beside the exp units
    carry_v: [DFF<Bits<W>>; 5],
    carry_last: [DFF<Bit>; 5],
    carry_first: [DFF<Bit>; 5],
    carry_grew: [DFF<Bit>; 5],
    exp_p: ExpUnit,
    exp_a: ExpUnit,
    // accumulator
    sum: DFF<Bits<32>>,
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
    // scoring
    score_product: WideProduct<48>,
    score_round: RoundShift,
    // locals
    advance: Signal<Local, Bit>,
    kv_take: Signal<Local, Bit>,
    take: Signal<Local, Bit>,
    dot: Signal<Local, Bits<48>>,
    // one signal per lane, never a temporary shared by the lanes: Verilator
    // schedules each variable on its own (see hwformer_sim::verilator)
    lane_products: [Signal<Local, Signed<32>>; D],
    dot_lanes: [SignExtend<32, 48>; D],
    v_lanes: [SignExtend<16, 48>; D],
    score_key: Signal<Local, Bits<16>>,
    max_key: Signal<Local, Bits<16>>,
    new_key: Signal<Local, Bits<16>>,
    p: Signal<Local, Bits<16>>,
    new_sum: Signal<Local, Bits<32>>,
    new_acc: [Signal<Local, Bits<48>>; D],
    normalizing: Signal<Local, Bit>,
    lanes: Constant<Bits<8>>,
    scale: Constant<Bits<16>>,
    sign: Constant<Bits<16>>,
    value_offset: Constant<Bits<32>>,
    score_shift: Constant<Bits<7>>,
    out_shift: Constant<Bits<7>>,
}

impl<const D: usize, const W: usize, const KV: usize> SdpaUnit<D, W, KV> {
    /// The block for `model`: `d = D`, any signed 16-bit query, key, value
    /// and output formats, the Q5.10 score format, `n_max = 256` (checked
    /// with errors by [`export_config`]; here a mismatch panics).
    pub fn new(model: &StreamingSdpa) -> Self {
        assert_eq!(W, 16 * D, "W must be 16 D");
        assert_eq!(KV, 32 * D, "KV must be 32 D");
        let c = model.config();
        buildable(c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.d, D, "the model's d is the block's");
        // score = round(q.k * scale / 2^(fq + fk + 14 - fs)); out = round(acc
        // * inverse / 2^(16 + msb + fv - fo)) (see StreamingSdpa::finish)
        let score_shift = c.query.frac() + c.key.frac() + SCALE_FRAC - c.score.frac();
        let out_shift = 16 + c.value.frac() - c.output.frac();
        Self {
            clock: Default::default(),
            s_axis_query_tdata: Default::default(),
            s_axis_query_tvalid: Default::default(),
            s_axis_query_tready: Default::default(),
            s_axis_query_tlast: Default::default(),
            s_axis_kv_tdata: Default::default(),
            s_axis_kv_tvalid: Default::default(),
            s_axis_kv_tready: Default::default(),
            s_axis_kv_tlast: Default::default(),
            m_axis_out_tdata: Default::default(),
            m_axis_out_tvalid: Default::default(),
            m_axis_out_tready: Default::default(),
            m_axis_out_tlast: Default::default(),
            query: Default::default(),
            loaded: Default::default(),
            continuing: Default::default(),
            valid1: Default::default(),
            last1: Default::default(),
            first1: Default::default(),
            v1: Default::default(),
            dot1: Default::default(),
            valid2: Default::default(),
            last2: Default::default(),
            first2: Default::default(),
            v2: Default::default(),
            s2: Default::default(),
            valid3: Default::default(),
            last3: Default::default(),
            first3: Default::default(),
            grew3: Default::default(),
            v3: Default::default(),
            gap_p3: Default::default(),
            gap_a3: Default::default(),
            running_max: Default::default(),
            carry_v: array_init::array_init(|_| Default::default()),
            carry_last: array_init::array_init(|_| Default::default()),
            carry_first: array_init::array_init(|_| Default::default()),
            carry_grew: array_init::array_init(|_| Default::default()),
            exp_p: ExpUnit::new(model.exp()),
            exp_a: ExpUnit::new(model.exp()),
            sum: Default::default(),
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
            score_product: Default::default(),
            score_round: Default::default(),
            advance: Default::default(),
            kv_take: Default::default(),
            take: Default::default(),
            dot: Default::default(),
            lane_products: array_init::array_init(|_| Default::default()),
            dot_lanes: array_init::array_init(|_| Default::default()),
            v_lanes: array_init::array_init(|_| Default::default()),
            score_key: Default::default(),
            max_key: Default::default(),
            new_key: Default::default(),
            p: Default::default(),
            new_sum: Default::default(),
            new_acc: array_init::array_init(|_| Default::default()),
            normalizing: Default::default(),
            lanes: Constant::new(bits::<8>(D as u64)),
            scale: Constant::new(bits::<16>(model.scale_raw() as u64)),
            sign: Constant::new(bits::<16>(0x8000)),
            value_offset: Constant::new(bits::<32>(W as u64)),
            score_shift: Constant::new(bits::<7>(u64::from(score_shift))),
            out_shift: Constant::new(bits::<7>(u64::from(out_shift))),
        }
    }
}

impl<const D: usize, const W: usize, const KV: usize> Logic for SdpaUnit<D, W, KV> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            query,
            loaded,
            continuing,
            valid1,
            last1,
            first1,
            v1,
            dot1,
            valid2,
            last2,
            first2,
            v2,
            s2,
            valid3,
            last3,
            first3,
            grew3,
            v3,
            gap_p3,
            gap_a3,
            running_max,
            sum,
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
        // query register: free once its last key has gone in
        self.kv_take.next = self.s_axis_kv_tvalid.val() & self.loaded.q.val() & self.advance.val();
        self.s_axis_kv_tready.next = self.loaded.q.val() & self.advance.val();
        self.s_axis_query_tready.next =
            !self.loaded.q.val() | (self.kv_take.val() & self.s_axis_kv_tlast.val());
        if self.s_axis_query_tvalid.val() & self.s_axis_query_tready.val() {
            self.query.d.next = self.s_axis_query_tdata.val();
            self.loaded.d.next = true;
        } else if self.kv_take.val() & self.s_axis_kv_tlast.val() {
            self.loaded.d.next = false;
        }
        // stage 1: q . k
        self.dot.next = 0.into();
        for i in 0..D {
            // the product goes to a 32-bit signed signal first: inside
            // Verilog's $unsigned() it would be self-determined, 16 bits wide
            self.lane_products[i].next = signed_cast(self.query.q.val().get_bits::<16>(16 * i))
                * signed_cast(self.s_axis_kv_tdata.val().get_bits::<16>(16 * i));
            self.dot_lanes[i].value.next = unsigned_cast(self.lane_products[i].val());
            self.dot.next = self.dot.val() + self.dot_lanes[i].extended.val();
        }
        // stage 2: scale, round, saturate
        self.score_product.a.next = self.dot1.q.val();
        self.score_product.b.next = self.scale.val();
        self.score_round.value.next = self.score_product.product.val();
        self.score_round.shift.next = self.score_shift.val();
        // stage 3: running max over order-preserving keys
        self.score_key.next = self.s2.q.val() ^ self.sign.val();
        self.max_key.next = self.running_max.q.val() ^ self.sign.val();
        self.new_key.next = self.max_key.val();
        if self.first2.q.val() | (self.score_key.val() > self.max_key.val()) {
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
            self.valid1.d.next = self.kv_take.val();
            // a bubble never carries tlast (it would stall the accumulator
            // while the normalizer is busy)
            self.last1.d.next = self.s_axis_kv_tlast.val() & self.kv_take.val();
            self.first1.d.next = !self.continuing.q.val();
            self.v1.d.next = self
                .s_axis_kv_tdata
                .val()
                .get_bits::<W>(self.value_offset.val().index());
            self.dot1.d.next = self.dot.val();
            self.valid2.d.next = self.valid1.q.val();
            self.last2.d.next = self.last1.q.val();
            self.first2.d.next = self.first1.q.val();
            self.v2.d.next = self.v1.q.val();
            self.s2.d.next = self.score_round.saturated.val();
            self.valid3.d.next = self.valid2.q.val();
            self.last3.d.next = self.last2.q.val();
            self.first3.d.next = self.first2.q.val();
            self.grew3.d.next = !self.first2.q.val() & (self.score_key.val() > self.max_key.val());
            self.v3.d.next = self.v2.q.val();
            self.gap_p3.d.next = self.new_key.val() - self.score_key.val();
            self.gap_a3.d.next = self.new_key.val() - self.max_key.val();
            if self.valid2.q.val() {
                self.running_max.d.next = self.new_key.val() ^ self.sign.val();
            }
            self.carry_v[0].d.next = self.v3.q.val();
            self.carry_last[0].d.next = self.last3.q.val();
            self.carry_first[0].d.next = self.first3.q.val();
            self.carry_grew[0].d.next = self.grew3.q.val();
            for i in 1..5 {
                self.carry_v[i].d.next = self.carry_v[i - 1].q.val();
                self.carry_last[i].d.next = self.carry_last[i - 1].q.val();
                self.carry_first[i].d.next = self.carry_first[i - 1].q.val();
                self.carry_grew[i].d.next = self.carry_grew[i - 1].q.val();
            }
        }
        // power-up state (false) means the next key starts a query
        if self.kv_take.val() {
            self.continuing.d.next = !self.s_axis_kv_tlast.val();
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
        if self.exp_p.m_axis_exp_tvalid.val() & self.take.val() {
            if self.carry_last[4].q.val() {
                self.reciprocal.start.next = true;
                self.normalizer.d.next = Normalizer::Reciprocal;
            } else {
                self.sum.d.next = self.new_sum.val();
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
    }
}

/// Head dimensions the block is built for.
pub const SDPA_D_CHOICES: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

/// The score format the block's exp units are built for.
pub fn score_format() -> QFormat {
    SdpaConfig::with_d(1, SDPA_N_MAX).score
}

/// `Ok` when the block can be built for `config`: any signed 16-bit query,
/// key, value and output formats; the score format of [`score_format`];
/// `n_max` = [`SDPA_N_MAX`] (`d` is checked by [`export_config`]).
pub fn buildable(config: &SdpaConfig) -> Result<(), String> {
    for (name, format) in stream_formats(config) {
        if !format.is_signed() || format.bits() != 16 || format.frac() > 15 {
            return Err(format!(
                "formats.{name} = {format}: sdpa is built for signed 16-bit formats with at most 15 fraction bits (Q0.15 to Q15.0)"
            ));
        }
    }
    if config.score != score_format() {
        return Err(format!(
            "score format {}: sdpa's exp units are built for {}",
            config.score,
            score_format()
        ));
    }
    if config.n_max != SDPA_N_MAX {
        return Err(format!(
            "n_max = {}: sdpa is built for n_max = {SDPA_N_MAX} (other sizes are not built yet)",
            config.n_max
        ));
    }
    Ok(())
}

/// The attention model a manifest of this block describes: `d`, `n_max`
/// and the applied scale from its params, the formats of its fields `q`,
/// `k`, `v` and `o`, the built score format; checked by [`buildable`].
pub fn model_from_manifest(manifest: &Manifest) -> Result<StreamingSdpa, String> {
    let param = |name: &str| manifest.number(name);
    let d = param("d")? as usize;
    if !SDPA_D_CHOICES.contains(&d) {
        return Err(format!("sdpa is built for d in {SDPA_D_CHOICES:?}, not {d}"));
    }
    let mut config = SdpaConfig::with_d(d, param("n_max")? as usize);
    config.scale = param("scale")?;
    for name in FORMAT_FIELDS {
        set_format(&mut config, name, manifest.field_format(name)?)?;
    }
    buildable(&config)?;
    StreamingSdpa::new(config).map_err(|e| e.to_string())
}

/// The stream fields whose formats a configuration may set.
pub const FORMAT_FIELDS: [&str; 4] = ["q", "k", "v", "o"];

/// The formats of the stream fields, in [`FORMAT_FIELDS`] order.
pub fn stream_formats(config: &SdpaConfig) -> [(&'static str, QFormat); 4] {
    let [q, k, v, o] = FORMAT_FIELDS;
    [
        (q, config.query),
        (k, config.key),
        (v, config.value),
        (o, config.output),
    ]
}

/// Sets the format of field `name` (one of [`FORMAT_FIELDS`]) in `config`.
pub fn set_format(config: &mut SdpaConfig, name: &str, format: QFormat) -> Result<(), String> {
    let slot = match name {
        "q" => &mut config.query,
        "k" => &mut config.key,
        "v" => &mut config.value,
        "o" => &mut config.output,
        _ => {
            return Err(format!(
                "sdpa has no field `{name}` (its fields: {})",
                FORMAT_FIELDS.join(", ")
            ))
        }
    };
    *slot = format;
    Ok(())
}

/// The exported attention block for head dimension `d` (one of
/// [`SDPA_D_CHOICES`]) in the default formats: its Verilog and its
/// manifest. The module is `hwformer_sdpa_d<d>` (other formats add their
/// fraction bits: `hwformer_sdpa_d<d>_q<fq>k<fk>v<fv>o<fo>`), so heads of
/// several sizes and formats can share a project.
pub fn export(d: usize) -> Result<(String, Manifest), ExportError> {
    export_config(SdpaConfig::with_d(d, SDPA_N_MAX))
}

/// Error bound in the manifest: 64 output LSBs, or four times the worst
/// error measured over [`StreamingSdpa::worst_bounded_input_error`]'s
/// battery (1, 16 and `n_max` keys, four seeds) when that is larger, as it
/// is for outputs with many fraction bits, where the internal formats
/// (Q5.10 scores, UQ1.15 weights) dominate. Returns (bound, worst measured).
fn error_bound(model: &StreamingSdpa) -> Result<(f64, f64), ExportError> {
    let mut worst: f64 = 0.0;
    for n in [1, 16, model.config().n_max] {
        for seed in 0..4 {
            let e = model
                .worst_bounded_input_error(n, seed)
                .map_err(|e| ExportError::Check(e.to_string()))?;
            worst = worst.max(e);
        }
    }
    Ok((model.bounded_input_error().max(4.0 * worst), worst))
}

/// The attention block for `config` (see [`buildable`]).
pub fn export_config(config: SdpaConfig) -> Result<(String, Manifest), ExportError> {
    buildable(&config).map_err(ExportError::Check)?;
    let d = config.d;
    let model = StreamingSdpa::new(config).map_err(|e| ExportError::Check(e.to_string()))?;
    // heads in other formats get their own module names, so any mix of
    // heads can share a project
    let c = model.config();
    let stem = if stream_formats(c) == stream_formats(&SdpaConfig::with_d(d, SDPA_N_MAX)) {
        format!("sdpa_d{d}")
    } else {
        let fractions: String = stream_formats(c)
            .iter()
            .map(|(name, f)| format!("{name}{}", f.frac()))
            .collect();
        format!("sdpa_d{d}_{fractions}")
    };
    macro_rules! build {
        ($($d:literal),*) => {
            match d {
                $($d => {
                    let mut uut = SdpaUnit::<$d, { 16 * $d }, { 32 * $d }>::new(&model);
                    uut.connect_all();
                    export::verilog(&stem, &uut)?
                })*
                _ => {
                    return Err(ExportError::Check(format!(
                        "sdpa is built for d in {SDPA_D_CHOICES:?}, not {d}"
                    )))
                }
            }
        };
    }
    let verilog = build!(1, 2, 4, 8, 16, 32, 64);
    let (bound, measured_worst) = error_bound(&model)?;
    let lanes = |name: &str, format| Field {
        name: name.into(),
        count: d,
        format,
    };
    let mut waivers = export::standard_waivers();
    waivers.insert(
        "UNUSEDPARAM".into(),
        "rust-hdl declares an enum's states in every module that stores one, used or not".into(),
    );
    waivers.insert(
        "UNOPTFLAT".into(),
        "rust-hdl writes one always @(*) per module, so Verilator sees loops through the exp and \
         arithmetic sub-blocks where the signals have none (the logic settles)"
            .into(),
    );
    waivers.insert(
        "UNUSEDSIGNAL".into(),
        "the shared exp unit and rounding shifter have outputs this block does not use (the wide \
         exponential, the saturated value), and the query's tlast is ignored by contract; synthesis \
         removes them"
            .into(),
    );
    let manifest = Manifest {
        block: "sdpa".into(),
        module: export::module_name(&stem),
        verilog: "sdpa.v".into(),
        clock: "clock".into(),
        reset: None,
        streams: vec![
            Stream::new("query", Direction::In, vec![lanes("q", c.query)]),
            Stream::new("kv", Direction::In, vec![lanes("k", c.key), lanes("v", c.value)]),
            Stream::new("out", Direction::Out, vec![lanes("o", c.output)]),
        ],
        params: BTreeMap::from([
            ("d".to_string(), Param::from(d as f64)),
            ("n_max".to_string(), Param::from(SDPA_N_MAX as f64)),
            ("scale".to_string(), Param::from(model.applied_scale())),
            ("max_abs_input".to_string(), Param::from(model.max_abs_input())),
            ("bound_measured_worst".to_string(), Param::from(measured_worst)),
        ]),
        latency_cycles: output_delay(d as u64),
        initiation_interval: 1,
        error_bound: Some(ErrorBound {
            metric: "max_abs".into(),
            versus: "float64".into(),
            value: bound,
        }),
        weights: None,
        lint_waivers: waivers,
    };
    Ok((verilog, manifest))
}
