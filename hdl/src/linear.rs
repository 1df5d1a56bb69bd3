//! One linear layer for one token, `y = act(W x + b)`, with `P` parallel
//! multiply-accumulate lanes: the hardware form of
//! `hwformer_quant::integer::linear::IntLinear`, weights and biases in
//! on-chip ROM.
//!
//! ```text
//!  x ─▶ [token buffer: 2 halves × d_in × 16] ─ element k ─┐
//!        (one half loads while the other's token is issued)  │  group g of P outputs, k = 0 .. d_in-1:
//!  [weight ROM: word g·d_in + k = P weights] ──┼─▶ [1] x_k, w (registered reads)
//!                                              │   [2] x_k, w again (the multipliers' input registers)
//!                                              │   [3] P products x_k · w_p (registered)
//!                                              │   [4] the products again (the DSPs' output registers)
//!  [bias ROM: word g = P biases, word G = 0] ──┴─▶ [5] term_p = product_p + (k = 0 ? b_p : 0)
//!                                                  [6] acc_p = (k = 0 ? 0 : acc_p) + term_p
//!  group done ─▶ [bank: P accumulators] ─ lane l ─▶ [sent] ─▶ round, saturate (3 stages)
//!        ─▶ activation (1 stage) ─▶ [y] ─▶ y
//! ```
//!
//! Stages 1 to 6 move together; they stall only when a group has finished
//! while the bank still holds the previous group's unsent outputs (the
//! bank takes a group in the cycle its last lane leaves). The buffer has
//! two halves: the next token loads into one while the other's is
//! issued, so loading costs nothing in steady state. Cycles per token
//! when nothing stalls: [`token_cycles`].

use crate::activation::ActivationUnit;
use crate::export::{self, ExportError, Exported};
use crate::fifo::LutRamStorage;
use crate::fixed::{PipelinedRoundShift, SignExtend};
use crate::lanes::LaneSelect;
use crate::layer_weights::{
    activation_name, layer_from_tensors, parse_activation, quantized, raw_tensors, read_weights,
    weights_file, LayerSettings,
};
use crate::manifest::{Direction, ErrorBound, Field, Manifest, Param, Stream, Weights};
use crate::weight_rom::{WeightRom, ROM_ADDRESS_BITS};
use hwformer_quant::integer::linear::{IntLinear, LinearFormats};
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Pipeline stages from an element's issue to its accumulation.
pub const LINEAR_STAGES: u64 = 6;

/// Lane counts the block is built for (P must divide d_out).
pub const LINEAR_LANE_CHOICES: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

/// Cycles per token in steady state, tokens back to back and nothing
/// stalling, for `d_in` inputs, `d_out` outputs and `P = lanes` lanes,
/// `G = d_out / P` groups: the larger of the compute, `d_in G` issues
/// (the next token loads meanwhile, `d_in <= d_in G` beats), and the
/// output, `d_out` beats.
///
/// ```text
///   T = max( d_in G,  d_out )
/// ```
/// Checked against the handshake graph over d_in 1 to 17, d_out 1 to 64
/// and every lane count (test `cycles_per_token_and_first_output_delay_are_the_graphs`).
pub fn token_cycles(d_in: u64, d_out: u64, lanes: u64) -> u64 {
    (d_in * (d_out / lanes)).max(d_out)
}

/// The engine with `P` lanes; `WP = 16 P` and `WB = 32 P` are the ROM word widths.
#[derive(LogicBlock)]
pub struct LinearUnit<const P: usize, const WP: usize, const WB: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// One input element (input format).
    pub s_axis_x_tdata: Signal<In, Bits<16>>,
    /// Input valid.
    pub s_axis_x_tvalid: Signal<In, Bit>,
    /// Input ready: the buffer is loading.
    pub s_axis_x_tready: Signal<Out, Bit>,
    /// Ignored: a token is `d_in` beats.
    pub s_axis_x_tlast: Signal<In, Bit>,
    /// One output element (output format).
    pub m_axis_y_tdata: Signal<Out, Bits<16>>,
    /// Output valid.
    pub m_axis_y_tvalid: Signal<Out, Bit>,
    /// Output ready.
    pub m_axis_y_tready: Signal<In, Bit>,
    /// High on a token's last output element.
    pub m_axis_y_tlast: Signal<Out, Bit>,
    buffer: LutRamStorage<16>,
    weights: WeightRom<WP>,
    biases: WeightRom<WB>,
    // whole tokens in the buffer (0 to 2), and the half each side uses
    held: DFF<Bits<2>>,
    write_half: DFF<Bit>,
    read_half: DFF<Bit>,
    loaded: DFF<Bits<16>>,
    element: DFF<Bits<16>>,
    group: DFF<Bits<16>>,
    address: DFF<Bits<ROM_ADDRESS_BITS>>,
    // stage 1: registered reads
    valid1: DFF<Bit>,
    first1: DFF<Bit>,
    last1: DFF<Bit>,
    token_last1: DFF<Bit>,
    x1: DFF<Bits<16>>,
    // stage 2: the multipliers' input registers (the weight ROM's read
    // data is not in front of a multiply)
    validb: DFF<Bit>,
    firstb: DFF<Bit>,
    lastb: DFF<Bit>,
    token_lastb: DFF<Bit>,
    xb: DFF<Bits<16>>,
    wb: DFF<Bits<WP>>,
    groupb: DFF<Bits<16>>,
    group1: DFF<Bits<16>>,
    // stage 3: products
    valid2: DFF<Bit>,
    first2: DFF<Bit>,
    last2: DFF<Bit>,
    token_last2: DFF<Bit>,
    group2: DFF<Bits<16>>,
    // stage 4: the products again, so the accumulator's adder starts at
    // a register, not behind a DSP's multiplier register
    validp: DFF<Bit>,
    firstp: DFF<Bit>,
    lastp: DFF<Bit>,
    token_lastp: DFF<Bit>,
    products_p: [DFF<Bits<32>>; P],
    products: [DFF<Bits<32>>; P],
    // stage 5: the terms, a product plus (a group's first) its bias, so
    // the accumulator's adder has no choice of operand in front of it
    validt: DFF<Bit>,
    firstt: DFF<Bit>,
    lastt: DFF<Bit>,
    token_lastt: DFF<Bit>,
    terms: [DFF<Bits<48>>; P],
    // stage 6: accumulators
    acc: [DFF<Bits<48>>; P],
    done: DFF<Bit>,
    done_last: DFF<Bit>,
    // the bank and the output
    bank: [DFF<Bits<48>>; P],
    bank_full: DFF<Bit>,
    bank_last: DFF<Bit>,
    lane: DFF<Bits<8>>,
    select: LaneSelect<P, 48>,
    widen: SignExtend<48, 64>,
    // the lane sent from the bank, then rounding (three stages) and the
    // activation (one), moving together, then y
    sent: DFF<Bits<48>>,
    sent_valid: DFF<Bit>,
    sent_last: DFF<Bit>,
    round: PipelinedRoundShift,
    activation: ActivationUnit,
    out_valid: [DFF<Bit>; 4],
    out_last: [DFF<Bit>; 4],
    y: DFF<Bits<16>>,
    y_valid: DFF<Bit>,
    y_last: DFF<Bit>,
    // locals: one signal per lane (see hwformer_sim::verilator)
    take: Signal<Local, Bit>,
    token_loaded: Signal<Local, Bit>,
    token_issued: Signal<Local, Bit>,
    write_base: Signal<Local, Bits<16>>,
    read_base: Signal<Local, Bits<16>>,
    advance: Signal<Local, Bit>,
    issue: Signal<Local, Bit>,
    to_bank: Signal<Local, Bit>,
    send: Signal<Local, Bit>,
    y_free: Signal<Local, Bit>,
    lane_products: [Signal<Local, Signed<32>>; P],
    product_lanes: [SignExtend<32, 48>; P],
    bias_lanes: [SignExtend<32, 48>; P],
    keep: Signal<Local, Bits<48>>,
    all_ones: Constant<Bits<48>>,
    zero_bias_address: Constant<Bits<16>>,
    last_input: Constant<Bits<16>>,
    half: Constant<Bits<16>>,
    last_group: Constant<Bits<16>>,
    last_lane: Constant<Bits<8>>,
    out_shift: Constant<Bits<7>>,
}

impl<const P: usize, const WP: usize, const WB: usize> LinearUnit<P, WP, WB> {
    /// The engine for `model` with `P` lanes (`P` divides `d_out`; checked
    /// with errors by the exports, here a mismatch panics).
    pub fn new(model: &IntLinear) -> Self {
        assert_eq!(WP, 16 * P, "WP must be 16 P");
        assert_eq!(WB, 32 * P, "WB must be 32 P");
        let (d_in, d_out) = (model.d_in(), model.d_out());
        assert!(d_out % P == 0, "P must divide d_out");
        let groups = d_out / P;
        let (w, b) = (model.weight_raw(), model.bias_raw());
        let weight_words: Vec<Vec<i64>> = (0..groups * d_in)
            .map(|a| {
                let (g, k) = (a / d_in, a % d_in);
                (0..P).map(|p| w[(g * P + p) * d_in + k]).collect()
            })
            .collect();
        // the groups' biases, then a word of zeros: the bias of every
        // element after a group's first
        let bias_words: Vec<Vec<i64>> = (0..groups)
            .map(|g| b[g * P..(g + 1) * P].to_vec())
            .chain([vec![0; P]])
            .collect();
        Self {
            clock: Default::default(),
            s_axis_x_tdata: Default::default(),
            s_axis_x_tvalid: Default::default(),
            s_axis_x_tready: Default::default(),
            s_axis_x_tlast: Default::default(),
            m_axis_y_tdata: Default::default(),
            m_axis_y_tvalid: Default::default(),
            m_axis_y_tready: Default::default(),
            m_axis_y_tlast: Default::default(),
            buffer: LutRamStorage::new(2 * d_in),
            weights: WeightRom::from_lanes(&weight_words, 16),
            biases: WeightRom::from_lanes(&bias_words, 32),
            held: Default::default(),
            write_half: Default::default(),
            read_half: Default::default(),
            loaded: Default::default(),
            element: Default::default(),
            group: Default::default(),
            address: Default::default(),
            valid1: Default::default(),
            first1: Default::default(),
            last1: Default::default(),
            token_last1: Default::default(),
            x1: Default::default(),
            validb: Default::default(),
            firstb: Default::default(),
            lastb: Default::default(),
            token_lastb: Default::default(),
            xb: Default::default(),
            wb: Default::default(),
            groupb: Default::default(),
            group1: Default::default(),
            valid2: Default::default(),
            first2: Default::default(),
            last2: Default::default(),
            token_last2: Default::default(),
            group2: Default::default(),
            validp: Default::default(),
            firstp: Default::default(),
            lastp: Default::default(),
            token_lastp: Default::default(),
            products_p: array_init::array_init(|_| Default::default()),
            products: array_init::array_init(|_| Default::default()),
            validt: Default::default(),
            firstt: Default::default(),
            lastt: Default::default(),
            token_lastt: Default::default(),
            terms: array_init::array_init(|_| Default::default()),
            acc: array_init::array_init(|_| Default::default()),
            done: Default::default(),
            done_last: Default::default(),
            bank: array_init::array_init(|_| Default::default()),
            bank_full: Default::default(),
            bank_last: Default::default(),
            lane: Default::default(),
            select: Default::default(),
            widen: Default::default(),
            sent: Default::default(),
            sent_valid: Default::default(),
            sent_last: Default::default(),
            round: Default::default(),
            out_valid: std::array::from_fn(|_| Default::default()),
            out_last: std::array::from_fn(|_| Default::default()),
            activation: ActivationUnit::new(model.activation()),
            y: Default::default(),
            y_valid: Default::default(),
            y_last: Default::default(),
            take: Default::default(),
            token_loaded: Default::default(),
            token_issued: Default::default(),
            write_base: Default::default(),
            read_base: Default::default(),
            advance: Default::default(),
            issue: Default::default(),
            to_bank: Default::default(),
            send: Default::default(),
            y_free: Default::default(),
            lane_products: array_init::array_init(|_| Default::default()),
            product_lanes: array_init::array_init(|_| Default::default()),
            bias_lanes: array_init::array_init(|_| Default::default()),
            keep: Default::default(),
            all_ones: Constant::new(bits::<48>((1u64 << 48) - 1)),
            zero_bias_address: Constant::new(bits::<16>(groups as u64)),
            last_input: Constant::new(bits::<16>(d_in as u64 - 1)),
            half: Constant::new(bits::<16>(d_in as u64)),
            last_group: Constant::new(bits::<16>(groups as u64 - 1)),
            last_lane: Constant::new(bits::<8>(P as u64 - 1)),
            out_shift: Constant::new(bits::<7>(u64::from(model.formats().output_shift()))),
        }
    }
}

impl<const P: usize, const WP: usize, const WB: usize> Logic for LinearUnit<P, WP, WB> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            held,
            write_half,
            read_half,
            loaded,
            element,
            group,
            address,
            valid1,
            first1,
            last1,
            token_last1,
            x1,
            validb,
            firstb,
            lastb,
            token_lastb,
            xb,
            wb,
            groupb,
            group1,
            valid2,
            first2,
            last2,
            token_last2,
            group2,
            validp,
            firstp,
            lastp,
            token_lastp,
            validt,
            firstt,
            lastt,
            token_lastt,
            done,
            done_last,
            bank_full,
            bank_last,
            lane,
            sent,
            sent_valid,
            sent_last,
            y,
            y_valid,
            y_last
        );
        for i in 0..P {
            self.products[i].clock.next = self.clock.val();
            self.products[i].d.next = self.products[i].q.val();
            self.products_p[i].clock.next = self.clock.val();
            self.products_p[i].d.next = self.products_p[i].q.val();
            self.terms[i].clock.next = self.clock.val();
            self.terms[i].d.next = self.terms[i].q.val();
            self.acc[i].clock.next = self.clock.val();
            self.acc[i].d.next = self.acc[i].q.val();
            self.bank[i].clock.next = self.clock.val();
            self.bank[i].d.next = self.bank[i].q.val();
        }
        self.buffer.clock.next = self.clock.val();
        self.weights.clock.next = self.clock.val();
        self.biases.clock.next = self.clock.val();
        // load: a free half of the buffer takes d_in elements
        self.s_axis_x_tready.next = !self.held.q.val().get_bit(1);
        self.take.next = self.s_axis_x_tvalid.val() & !self.held.q.val().get_bit(1);
        self.token_loaded.next = self.take.val() & (self.loaded.q.val() == self.last_input.val());
        self.write_base.next = 0.into();
        if self.write_half.q.val() {
            self.write_base.next = self.half.val();
        }
        self.buffer.write.next = self.take.val();
        self.buffer.write_address.next = self.write_base.val() + self.loaded.q.val();
        self.buffer.write_data.next = self.s_axis_x_tdata.val();
        if self.take.val() {
            self.loaded.d.next = self.loaded.q.val() + 1;
        }
        if self.token_loaded.val() {
            self.loaded.d.next = 0.into();
            self.write_half.d.next = !self.write_half.q.val();
        }
        // the bank is free, or frees as its last lane leaves; the pipeline
        // moves unless a finished group waits for it
        self.y_free.next = !self.y_valid.q.val() | self.m_axis_y_tready.val();
        self.send.next = self.bank_full.q.val() & (!self.sent_valid.q.val() | self.y_free.val());
        self.to_bank.next = self.done.q.val()
            & (!self.bank_full.q.val() | (self.send.val() & (self.lane.q.val() == self.last_lane.val())));
        self.advance.next = !self.done.q.val() | self.to_bank.val();
        self.issue.next = self.held.q.val().any() & self.advance.val();
        self.token_issued.next = self.issue.val()
            & (self.element.q.val() == self.last_input.val())
            & (self.group.q.val() == self.last_group.val());
        self.read_base.next = 0.into();
        if self.read_half.q.val() {
            self.read_base.next = self.half.val();
        }
        self.buffer.read_address.next = self.read_base.val() + self.element.q.val();
        self.weights.address.next = self.address.q.val();
        self.weights.enable.next = self.advance.val();
        self.biases.address.next = bit_cast::<ROM_ADDRESS_BITS, 16>(self.zero_bias_address.val());
        if self.first2.q.val() {
            self.biases.address.next = bit_cast::<ROM_ADDRESS_BITS, 16>(self.group2.q.val());
        }
        self.biases.enable.next = self.advance.val();
        if self.issue.val() {
            self.element.d.next = self.element.q.val() + 1;
            self.address.d.next = self.address.q.val() + 1;
            if self.element.q.val() == self.last_input.val() {
                self.element.d.next = 0.into();
                self.group.d.next = self.group.q.val() + 1;
                if self.group.q.val() == self.last_group.val() {
                    self.group.d.next = 0.into();
                    self.address.d.next = 0.into();
                }
            }
        }
        // a token in, a token out, or both
        if self.token_issued.val() {
            self.read_half.d.next = !self.read_half.q.val();
        }
        if self.token_loaded.val() & !self.token_issued.val() {
            self.held.d.next = self.held.q.val() + 1;
        }
        if self.token_issued.val() & !self.token_loaded.val() {
            self.held.d.next = self.held.q.val() - 1;
        }
        for i in 0..P {
            self.lane_products[i].next =
                signed_cast(self.xb.q.val()) * signed_cast(self.wb.q.val().get_bits::<16>(16 * i));
            self.product_lanes[i].value.next = self.products_p[i].q.val();
            self.bias_lanes[i].value.next = self.biases.data.val().get_bits::<32>(32 * i);
        }
        // a group's first term starts its accumulator: an AND in the
        // adder's LUTs, no choice after it
        self.keep.next = self.all_ones.val();
        if self.firstt.q.val() {
            self.keep.next = 0.into();
        }
        if self.advance.val() {
            self.valid1.d.next = self.issue.val();
            self.first1.d.next = self.element.q.val() == 0;
            self.last1.d.next = self.element.q.val() == self.last_input.val();
            self.token_last1.d.next = self.group.q.val() == self.last_group.val();
            self.x1.d.next = self.buffer.read_data.val();
            self.group1.d.next = self.group.q.val();
            self.validb.d.next = self.valid1.q.val();
            self.firstb.d.next = self.first1.q.val();
            self.lastb.d.next = self.last1.q.val();
            self.token_lastb.d.next = self.token_last1.q.val();
            self.xb.d.next = self.x1.q.val();
            self.wb.d.next = self.weights.data.val();
            self.groupb.d.next = self.group1.q.val();
            self.valid2.d.next = self.validb.q.val();
            self.first2.d.next = self.firstb.q.val();
            self.last2.d.next = self.lastb.q.val();
            self.token_last2.d.next = self.token_lastb.q.val();
            self.group2.d.next = self.groupb.q.val();
            self.validp.d.next = self.valid2.q.val();
            self.firstp.d.next = self.first2.q.val();
            self.lastp.d.next = self.last2.q.val();
            self.token_lastp.d.next = self.token_last2.q.val();
            for i in 0..P {
                self.products[i].d.next = unsigned_cast(self.lane_products[i].val());
                self.products_p[i].d.next = self.products[i].q.val();
            }
            self.validt.d.next = self.validp.q.val();
            self.firstt.d.next = self.firstp.q.val();
            self.lastt.d.next = self.lastp.q.val();
            self.token_lastt.d.next = self.token_lastp.q.val();
            for i in 0..P {
                self.terms[i].d.next =
                    self.product_lanes[i].extended.val() + self.bias_lanes[i].extended.val();
            }
            if self.validt.q.val() {
                for i in 0..P {
                    self.acc[i].d.next = (self.acc[i].q.val() & self.keep.val()) + self.terms[i].q.val();
                }
            }
            self.done.d.next = self.validt.q.val() & self.lastt.q.val();
            self.done_last.d.next = self.token_lastt.q.val();
        }
        // the bank takes a finished group; its lanes leave one a cycle
        for i in 0..P {
            if self.to_bank.val() {
                self.bank[i].d.next = self.acc[i].q.val();
            }
            self.select.lanes[i].next = self.bank[i].q.val();
        }
        self.select.index.next = self.lane.q.val();
        // a lane leaves the bank when `sent` is free or moving
        if self.send.val() {
            self.sent.d.next = self.select.lane.val();
            self.sent_valid.d.next = true;
            self.sent_last.d.next = self.bank_last.q.val() & (self.lane.q.val() == self.last_lane.val());
            self.lane.d.next = self.lane.q.val() + 1;
            if self.lane.q.val() == self.last_lane.val() {
                self.bank_full.d.next = false;
            }
        } else if self.y_free.val() {
            self.sent_valid.d.next = false;
        }
        // then rounded and saturated, activated, into y: moving together
        // (with their bubbles) when y is free
        for i in 0..4 {
            self.out_valid[i].clock.next = self.clock.val();
            self.out_valid[i].d.next = self.out_valid[i].q.val();
            self.out_last[i].clock.next = self.clock.val();
            self.out_last[i].d.next = self.out_last[i].q.val();
        }
        self.widen.value.next = self.sent.q.val();
        self.round.clock.next = self.clock.val();
        self.round.enable.next = self.y_free.val();
        self.round.value.next = self.widen.extended.val();
        self.round.pre_shift.next = self.out_shift.val() - 1;
        self.round.addend.next = 0.into();
        self.activation.clock.next = self.clock.val();
        self.activation.enable.next = self.y_free.val();
        self.activation.value.next = self.round.saturated.val();
        if self.y_free.val() {
            self.out_valid[0].d.next = self.sent_valid.q.val();
            self.out_last[0].d.next = self.sent_last.q.val();
            for i in 1..4 {
                self.out_valid[i].d.next = self.out_valid[i - 1].q.val();
                self.out_last[i].d.next = self.out_last[i - 1].q.val();
            }
            self.y.d.next = self.activation.out.val();
            self.y_valid.d.next = self.out_valid[3].q.val();
            self.y_last.d.next = self.out_last[3].q.val();
        }
        if self.to_bank.val() {
            self.bank_full.d.next = true;
            self.bank_last.d.next = self.done_last.q.val();
            self.lane.d.next = 0.into();
        }
        self.m_axis_y_tdata.next = self.y.q.val();
        self.m_axis_y_tvalid.next = self.y_valid.q.val();
        self.m_axis_y_tlast.next = self.y_last.q.val();
    }
}

/// The stage counts of a matrix-vector engine, as its handshake graph
/// (`hwformer_dataflow`'s `MatrixVector` and the pipeline after it) takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineTiming {
    /// Lock-step stages from an element's issue to its accumulation.
    pub issue_stages: u64,
    /// Cycles after a token's last beat before it can be issued.
    pub setup_cycles: u64,
    /// Registers after the bank, moving together.
    pub output_stages: u64,
}

impl EngineTiming {
    /// Cycles from a token's last input beat to its first output's
    /// `tvalid` when nothing stalls and the engine was idle: the setup,
    /// `d_in` issues of the first group, the issue stages, the bank and
    /// the registers after it.
    pub fn first_output_delay(&self, d_in: u64) -> u64 {
        d_in + self.setup_cycles + self.issue_stages + self.output_stages + 1
    }
}

/// The int16 engine: [`LINEAR_STAGES`] issue stages (reads, the
/// multipliers' inputs, products twice, terms, accumulators), no setup, six registers after the bank ([`LINEAR_OUTPUT_STAGES`]).
pub const INT16_ENGINE: EngineTiming = EngineTiming {
    issue_stages: LINEAR_STAGES,
    setup_cycles: 0,
    output_stages: LINEAR_OUTPUT_STAGES,
};

/// Cycles from a token's last input beat to its first output's `tvalid`
/// when nothing stalls ([`INT16_ENGINE`]).
pub fn first_output_delay(d_in: u64) -> u64 {
    INT16_ENGINE.first_output_delay(d_in)
}

/// Registers after the bank: the lane sent, three of rounding and
/// saturation, the activation's, then `y`; in the handshake graph a
/// five-stage pipeline after the matrix-vector unit, whose own output
/// register is `sent`.
pub const LINEAR_OUTPUT_STAGES: u64 = 6;

/// The lane count `lanes` checked for a layer of `d_out` outputs.
pub fn check_lanes(lanes: usize, d_out: usize, what: &str) -> Result<(), String> {
    if !LINEAR_LANE_CHOICES.contains(&lanes) {
        return Err(format!(
            "lanes = {lanes}: the block is built for lanes in {LINEAR_LANE_CHOICES:?}"
        ));
    }
    if d_out % lanes != 0 {
        return Err(format!("lanes = {lanes} does not divide {what} = {d_out}"));
    }
    Ok(())
}

/// Errors of a block against float64, in real units of its output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasuredError {
    /// The largest absolute error.
    pub max: f64,
    /// The root mean square error over every output element.
    pub rms: f64,
}

/// The error of `run` against `reference` over `tokens` seeded tokens of
/// `d` inputs in `input` (normal, sigma 1, saturated), in real units of
/// `output`.
pub fn measured_error(
    d: usize,
    input: hwformer_quant::QFormat,
    output: hwformer_quant::QFormat,
    tokens: usize,
    run: impl Fn(&[i64]) -> hwformer_quant::Result<Vec<i64>>,
    reference: impl Fn(&[i64]) -> hwformer_quant::Result<Vec<f64>>,
) -> Result<MeasuredError, String> {
    let mut rng = hwformer_quant::random::seeded(0x5eed);
    let (mut worst, mut squares, mut count) = (0f64, 0f64, 0usize);
    for _ in 0..tokens {
        let x = hwformer_quant::integer::quantize_all(
            "x",
            &hwformer_quant::random::normal_vec(&mut rng, d, 1.0),
            input,
        )
        .map_err(|e| e.to_string())?;
        let (y, want) = (
            run(&x).map_err(|e| e.to_string())?,
            reference(&x).map_err(|e| e.to_string())?,
        );
        for (&y, &w) in y.iter().zip(&want) {
            let error = (output.to_f64(i128::from(y)) - w).abs();
            worst = worst.max(error);
            squares += error * error;
            count += 1;
        }
    }
    Ok(MeasuredError {
        max: worst,
        rms: (squares / count.max(1) as f64).sqrt(),
    })
}

/// The manifest of a token block (`x` in, `y` out, one element a beat).
pub(crate) fn token_manifest(
    block: &str,
    stem: &str,
    (input, output): (hwformer_quant::QFormat, hwformer_quant::QFormat),
    params: Vec<(&str, Param)>,
    latency_cycles: u64,
    (bound, measured): (f64, MeasuredError),
    weights: Weights,
) -> Result<Manifest, String> {
    let MeasuredError { max: measured, rms } = measured;
    if measured > bound {
        return Err(format!(
            "{block}: the measured error {measured:.3e} exceeds the documented bound {bound:.3e} \
             (an output saturates: choose wider formats or smaller weights)"
        ));
    }
    let field = |name: &str, format| Field {
        name: name.into(),
        count: 1,
        format,
    };
    let mut params: BTreeMap<String, Param> = params.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    params.insert("error_measured_max".into(), Param::from(measured));
    params.insert("error_measured_rms".into(), Param::from(rms));
    Ok(Manifest {
        block: block.into(),
        module: export::module_name(stem),
        verilog: format!("{block}.v"),
        clock: "clock".into(),
        reset: None,
        streams: vec![
            Stream::new("x", Direction::In, vec![field("x", input)]),
            Stream::new("y", Direction::Out, vec![field("y", output)]),
        ],
        params,
        latency_cycles,
        initiation_interval: 1,
        error_bound: Some(ErrorBound {
            metric: "max_abs".into(),
            versus: "float64".into(),
            value: bound,
        }),
        lint_waivers: {
            let mut waivers = export::standard_waivers();
            waivers.insert(
                "UNUSEDSIGNAL".into(),
                "x.tlast is ignored (a token is d_in beats), and counters and addresses are wider than the sizes need"
                    .into(),
            );
            waivers.insert(
                "UNUSEDPARAM".into(),
                "rust-hdl declares an enum's states in every module that stores one, used or not".into(),
            );
            waivers.insert(
                "UNOPTFLAT".into(),
                "rust-hdl writes one always @(*) per module, so Verilator sees a loop through the \
                 activation's table ROM where the signals have none (the logic settles)"
                    .into(),
            );
            waivers
        },
        weights: Some(weights),
        status: None,
        memories: Vec::new(),
    })
}

/// The linear block's settings, with defaults: 64 x 64, 8 lanes, no
/// activation, Q3.12 in and out, Q1.14 weights.
pub fn settings_model(
    settings: &LayerSettings,
    formats: &BTreeMap<String, QFormat>,
) -> Result<IntLinear, String> {
    for name in formats.keys() {
        if !["x", "w", "y"].contains(&name.as_str()) {
            return Err(format!("formats.{name}: linear has the formats x, w and y"));
        }
    }
    if settings.eps.is_some() {
        return Err("eps is a setting of layernorm, not of linear".into());
    }
    if settings.d_model.is_some() || settings.d_ff.is_some() || settings.hidden_depth.is_some() {
        return Err("d_model, d_ff and hidden_depth are settings of ffn; linear has d_in and d_out".into());
    }
    let defaults = LinearFormats::default_design();
    let f = LinearFormats {
        input: formats.get("x").copied().unwrap_or(defaults.input),
        weight: formats.get("w").copied().unwrap_or(defaults.weight),
        output: formats.get("y").copied().unwrap_or(defaults.output),
    };
    check_stream_format("x", f.input)?;
    check_stream_format("y", f.output)?;
    let (d_in, d_out) = (settings.d_in.unwrap_or(64), settings.d_out.unwrap_or(64));
    let lanes = settings.lanes.unwrap_or(8);
    check_lanes(lanes, d_out, "d_out")?;
    let activation = parse_activation(settings.activation.as_deref().unwrap_or("none"))?;
    quantized(&settings.weights, ("w", "b"), (d_in, d_out), f, activation, 0)
}

/// A stream element's format: signed, 16 bits.
pub(crate) fn check_stream_format(name: &str, f: QFormat) -> Result<(), String> {
    if f.is_signed() && f.bits() == 16 {
        Ok(())
    } else {
        Err(format!(
            "formats.{name} = {f}: the block streams signed 16-bit elements"
        ))
    }
}

/// Picks the engine for a lane count and hands it to `$body` as `$unit`.
#[macro_export]
macro_rules! with_lanes {
    ($lanes:expr, $ty:ident, |$unit:ident| $body:expr, $otherwise:expr) => {
        match $lanes {
            1 => {
                type $unit = $ty<1, 16, 32>;
                $body
            }
            2 => {
                type $unit = $ty<2, 32, 64>;
                $body
            }
            4 => {
                type $unit = $ty<4, 64, 128>;
                $body
            }
            8 => {
                type $unit = $ty<8, 128, 256>;
                $body
            }
            16 => {
                type $unit = $ty<16, 256, 512>;
                $body
            }
            32 => {
                type $unit = $ty<32, 512, 1024>;
                $body
            }
            64 => {
                type $unit = $ty<64, 1024, 2048>;
                $body
            }
            _ => $otherwise,
        }
    };
}

/// The exported linear block for `settings` and `formats` (`x`, `w`, `y`).
pub fn export(
    settings: &LayerSettings,
    formats: &BTreeMap<String, QFormat>,
) -> Result<Exported, ExportError> {
    let model = settings_model(settings, formats).map_err(ExportError::Check)?;
    let lanes = settings.lanes.unwrap_or(8);
    let (d_in, d_out) = (model.d_in(), model.d_out());
    let stem = format!("linear_{d_in}x{d_out}_p{lanes}");
    let verilog = with_lanes!(
        lanes,
        LinearUnit,
        |Unit| {
            let mut uut = Unit::new(&model);
            uut.connect_all();
            export::verilog(&stem, &uut)?
        },
        return Err(ExportError::Check(format!("no linear engine of {lanes} lanes")))
    );
    let tensors = raw_tensors(&model, "w", "b");
    let (bytes, entry) = weights_file("linear", &settings.weights, &tensors).map_err(ExportError::Check)?;
    let f = model.formats();
    let measured = measured_error(
        d_in,
        f.input,
        f.output,
        64,
        |x| model.run(x),
        |x| model.float_reference(x),
    )
    .map_err(ExportError::Check)?;
    let activation = activation_name(model.activation().map(|a| a.kind()));
    let manifest = token_manifest(
        "linear",
        &stem,
        (f.input, f.output),
        vec![
            ("d_in", Param::from(d_in as f64)),
            ("d_out", Param::from(d_out as f64)),
            ("lanes", Param::from(lanes as f64)),
            ("activation", Param::from(activation)),
            (
                "cycles_per_token",
                Param::from(token_cycles(d_in as u64, d_out as u64, lanes as u64) as f64),
            ),
        ],
        first_output_delay(d_in as u64),
        (model.error_bound(), measured),
        entry,
    )
    .map_err(ExportError::Check)?;
    Ok(Exported {
        verilog,
        manifest,
        weights: Some(bytes),
    })
}

/// The integer model a linear manifest describes, its weights read from
/// the weights file in `dir`.
pub fn model_from_folder(dir: &std::path::Path, manifest: &Manifest) -> Result<IntLinear, String> {
    let entry = manifest
        .weights
        .as_ref()
        .ok_or("the linear manifest names no weights file")?;
    let tensors = read_weights(dir, entry)?;
    let activation = parse_activation(manifest.text("activation")?)?;
    let model = layer_from_tensors(
        &tensors,
        ("w", "b"),
        manifest.field_format("x")?,
        manifest.field_format("y")?,
        activation,
    )?;
    check_lanes(manifest.count("lanes", 1, 64)?, model.d_out(), "d_out")?;
    if (model.d_in(), model.d_out())
        != (
            manifest.count("d_in", 1, 4096)?,
            manifest.count("d_out", 1, 4096)?,
        )
    {
        return Err("the linear manifest's d_in and d_out are not its weights' shape".into());
    }
    Ok(model)
}
