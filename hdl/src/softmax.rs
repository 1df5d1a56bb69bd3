//! Row softmax on an AXI4-Stream: the hardware form of
//! `hwformer_quant::integer::softmax::SoftmaxModel` for signed 16-bit
//! logits with 8 to 10 fraction bits (default Q5.10) and rows of up to 256,
//! one logit per cycle in steady state.
//!
//! ```text
//!            ┌── ring of 1024 logits, written twice (two 1024 x 16 block RAMs) ─┐
//!  logits ──▶│ ingest: write row I at its start, running max                     │
//!            └──┬───────────────────────────────────────┬─────────────────────┘
//!               │ sum pass, row S: x - max ─▶ exp ─▶ Σ w │
//!               │   last: reciprocal (3 cycles) ─▶ 1/S of the row
//!               │                                        └ output pass, row O:
//!               │                                          x - max ─▶ exp ─▶ e * (1/S) ─▶ probs
//! ```
//!
//! The three passes work on different rows at once: while row r is being
//! output, row r+1 is summed and row r+2 taken. Each pass moves on to its
//! next row in the cycle after its last element, so rows of equal length
//! `n >= 4` flow at one logit per cycle ([`row_cycles`] is `n`); a row's
//! first probability leaves [`first_output_delay`] cycles after its last
//! logit when the output pass is free. Rows sit one after another in the
//! ring; up to eight rows and 1024 logits are held (a row descriptor keeps
//! its start, length, max and 1/sum), and the input waits when either is
//! full. A row longer than 256 ends at the
//! 256th logit. Back-pressure on `probs` stalls the output pass only; no
//! beat is lost or duplicated.

use crate::exp::{ExpUnit, EXP_LATENCY};
use crate::export::{self, ExportError};
use crate::lanes::LaneSelect;
use crate::manifest::{Direction, ErrorBound, Field, Manifest, Param, Stream};
use crate::reciprocal::{ReciprocalUnit, RECIPROCAL_BUSY_CYCLES};
use hwformer_quant::integer::softmax::SoftmaxModel;
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Longest row.
pub const SOFTMAX_N_MAX: usize = 256;

/// Rows the block holds at once (row descriptors).
pub const SOFTMAX_SLOTS: usize = 8;

/// Logits the block holds at once (the ring buffer).
pub const SOFTMAX_BUFFER: usize = 1024;

/// Register stages after the output pass's exp unit: e, 1/S and the shift;
/// the product and the rounding bias; the biased product; the output
/// register.
pub const SOFTMAX_OUTPUT_STAGES: u64 = 4;

/// Cycles between the first logits of consecutive rows of `n` logits in
/// steady state when nothing stalls: one logit per cycle, and at most one
/// row per `RECIPROCAL_BUSY_CYCLES + 2` cycles (one reciprocal at a time:
/// its start, busy cycles and the capture).
pub fn row_cycles(n: u64) -> u64 {
    n.max(RECIPROCAL_BUSY_CYCLES + 2)
}

/// Cycles from a row's last logit handshake to its first probability's
/// `tvalid`, when the sum and output passes are free: the row's count (1),
/// the first read (1), `n` reads into the exp unit, the reciprocal (its
/// start and busy cycles) and the capture of 1/sum (1), the output pass's
/// first read (1), its exp unit, the output stages.
pub fn first_output_delay(n: u64) -> u64 {
    n + 2 * EXP_LATENCY + 4 + RECIPROCAL_BUSY_CYCLES + SOFTMAX_OUTPUT_STAGES
}

/// The softmax block.
#[derive(LogicBlock)]
pub struct SoftmaxUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Logit in, signed 16-bit (8 to 10 fraction bits; default Q5.10).
    pub s_axis_logits_tdata: Signal<In, Bits<16>>,
    /// Logit valid.
    pub s_axis_logits_tvalid: Signal<In, Bit>,
    /// Logit ready.
    pub s_axis_logits_tready: Signal<Out, Bit>,
    /// Last logit of a row.
    pub s_axis_logits_tlast: Signal<In, Bit>,
    /// Probability out, unsigned Q0.16.
    pub m_axis_probs_tdata: Signal<Out, Bits<16>>,
    /// Probability valid.
    pub m_axis_probs_tvalid: Signal<Out, Bit>,
    /// Probability ready.
    pub m_axis_probs_tready: Signal<In, Bit>,
    /// Last probability of a row.
    pub m_axis_probs_tlast: Signal<Out, Bit>,
    sum_ram: RAM<Bits<16>, 10>,
    out_ram: RAM<Bits<16>, 10>,
    exp_sum: ExpUnit,
    exp_out: ExpUnit,
    reciprocal: ReciprocalUnit,
    // rows counted modulo 16; the low three bits are the descriptor
    ingested: DFF<Bits<4>>,
    summed: DFF<Bits<4>>,
    accumulated: DFF<Bits<4>>,
    normalized: DFF<Bits<4>>,
    output_read: DFF<Bits<4>>,
    released: DFF<Bits<4>>,
    // per row descriptor: start in the ring, length, max (as an
    // order-preserving key), 1/sum
    start: [DFF<Bits<10>>; 8],
    length: [DFF<Bits<9>>; 8],
    max: [DFF<Bits<16>>; 8],
    inverse: [DFF<Bits<16>>; 8],
    msb: [DFF<Bits<5>>; 8],
    // logits written and released, modulo 2048
    write_pos: DFF<Bits<11>>,
    release_pos: DFF<Bits<11>>,
    row_start: DFF<Bits<10>>,
    // ingest
    written: DFF<Bits<9>>,
    running_max: DFF<Bits<16>>,
    // sum pass: the RAM output holds element sum_ptr of slot `summed`
    sum_ptr: DFF<Bits<9>>,
    sum_valid: DFF<Bit>,
    sum: DFF<Bits<32>>,
    reciprocal_busy: DFF<Bit>,
    reciprocal_slot: DFF<Bits<3>>,
    capture: DFF<Bit>,
    // output pass
    out_ptr: DFF<Bits<9>>,
    out_valid_read: DFF<Bit>,
    out_data: DFF<Bits<16>>,
    out_valid: DFF<Bit>,
    out_last: DFF<Bit>,
    // the output stages before out_*: [a] e, 1/S and the shift of its row;
    // [b] the product and the rounding bias; [c] the biased product
    a_valid: DFF<Bit>,
    a_last: DFF<Bit>,
    a_e: DFF<Bits<16>>,
    a_inverse: DFF<Bits<16>>,
    a_shift: DFF<Bits<5>>,
    b_valid: DFF<Bit>,
    b_last: DFF<Bit>,
    b_product: DFF<Bits<32>>,
    b_shift: DFF<Bits<5>>,
    b_bias: DFF<Bits<34>>,
    c_valid: DFF<Bit>,
    c_last: DFF<Bit>,
    c_biased: DFF<Bits<34>>,
    c_shift: DFF<Bits<5>>,
    out_advance: Signal<Local, Bit>,
    logit_key: Signal<Local, Bits<16>>,
    new_max: Signal<Local, Bits<16>>,
    ingest_slot: Signal<Local, Bits<3>>,
    sum_slot: Signal<Local, Bits<3>>,
    out_slot: Signal<Local, Bits<3>>,
    emit_slot: Signal<Local, Bits<3>>,
    sum_start: Signal<Local, Bits<10>>,
    sum_next_start: Signal<Local, Bits<10>>,
    out_start: Signal<Local, Bits<10>>,
    out_next_start: Signal<Local, Bits<10>>,
    emit_length: Signal<Local, Bits<9>>,
    next_write_pos: Signal<Local, Bits<11>>,
    summed_next: Signal<Local, Bits<4>>,
    output_read_next: Signal<Local, Bits<4>>,
    sum_slot_next: Signal<Local, Bits<3>>,
    out_slot_next: Signal<Local, Bits<3>>,
    sum_length: Signal<Local, Bits<9>>,
    sum_max: Signal<Local, Bits<16>>,
    sum_next_max: Signal<Local, Bits<16>>,
    // the max of the row the sum pass reads, registered when the pass
    // turns to it (the row is complete by then)
    sum_row_max: DFF<Bits<16>>,
    out_length: Signal<Local, Bits<9>>,
    out_max: Signal<Local, Bits<16>>,
    out_next_max: Signal<Local, Bits<16>>,
    // the max of the row the output pass reads, registered as for the sum
    out_row_max: DFF<Bits<16>>,
    emit_inverse: Signal<Local, Bits<16>>,
    emit_msb: Signal<Local, Bits<5>>,
    // the emitting row's scale, through balanced multiplexers (a chain of
    // eight `if`s was the critical path, in front of the product)
    emit_inverse_select: LaneSelect<8, 16>,
    emit_msb_select: LaneSelect<8, 5>,
    // x - max in 17 bits (order-preserving keys): one subtraction; below
    // -2^15 the exp input saturates (its bits 16:15 are 10)
    sum_diff: Signal<Local, Bits<17>>,
    out_diff: Signal<Local, Bits<17>>,
    sum_next: Signal<Local, Bits<9>>,
    out_next: Signal<Local, Bits<9>>,
    sum_take: Signal<Local, Bit>,
    out_take: Signal<Local, Bit>,
    accumulate: Signal<Local, Bit>,
    new_sum: Signal<Local, Bits<32>>,
    rounded: Signal<Local, Bits<34>>,
    emit: Signal<Local, Bit>,
    one: Constant<Bits<34>>,
    sign: Constant<Bits<16>>,
    slots: Constant<Bits<4>>,
    buffer: Constant<Bits<11>>,
}

impl SoftmaxUnit {
    /// The block for the model's logit format and tables (rows up to 256;
    /// another logit format than [`logit_format_supported`] allows panics).
    pub fn new(model: &SoftmaxModel) -> Self {
        logit_format_supported(model.input()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(model.n_max(), SOFTMAX_N_MAX);
        Self {
            clock: Default::default(),
            s_axis_logits_tdata: Default::default(),
            s_axis_logits_tvalid: Default::default(),
            s_axis_logits_tready: Default::default(),
            s_axis_logits_tlast: Default::default(),
            m_axis_probs_tdata: Default::default(),
            m_axis_probs_tvalid: Default::default(),
            m_axis_probs_tready: Default::default(),
            m_axis_probs_tlast: Default::default(),
            sum_ram: Default::default(),
            out_ram: Default::default(),
            exp_sum: ExpUnit::new(model.exp()),
            exp_out: ExpUnit::new(model.exp()),
            reciprocal: ReciprocalUnit::new(model.reciprocal()),
            ingested: Default::default(),
            summed: Default::default(),
            accumulated: Default::default(),
            normalized: Default::default(),
            output_read: Default::default(),
            released: Default::default(),
            start: array_init::array_init(|_| Default::default()),
            length: array_init::array_init(|_| Default::default()),
            max: array_init::array_init(|_| Default::default()),
            inverse: array_init::array_init(|_| Default::default()),
            msb: array_init::array_init(|_| Default::default()),
            write_pos: Default::default(),
            release_pos: Default::default(),
            row_start: Default::default(),
            written: Default::default(),
            running_max: Default::default(),
            sum_ptr: Default::default(),
            sum_valid: Default::default(),
            sum: Default::default(),
            reciprocal_busy: Default::default(),
            reciprocal_slot: Default::default(),
            capture: Default::default(),
            out_ptr: Default::default(),
            out_valid_read: Default::default(),
            out_data: Default::default(),
            out_valid: Default::default(),
            out_last: Default::default(),
            a_valid: Default::default(),
            a_last: Default::default(),
            a_e: Default::default(),
            a_inverse: Default::default(),
            a_shift: Default::default(),
            b_valid: Default::default(),
            b_last: Default::default(),
            b_product: Default::default(),
            b_shift: Default::default(),
            b_bias: Default::default(),
            c_valid: Default::default(),
            c_last: Default::default(),
            c_biased: Default::default(),
            c_shift: Default::default(),
            out_advance: Default::default(),
            logit_key: Default::default(),
            new_max: Default::default(),
            ingest_slot: Default::default(),
            sum_slot: Default::default(),
            out_slot: Default::default(),
            emit_slot: Default::default(),
            sum_start: Default::default(),
            sum_next_start: Default::default(),
            out_start: Default::default(),
            out_next_start: Default::default(),
            emit_length: Default::default(),
            next_write_pos: Default::default(),
            summed_next: Default::default(),
            output_read_next: Default::default(),
            sum_slot_next: Default::default(),
            out_slot_next: Default::default(),
            sum_length: Default::default(),
            sum_max: Default::default(),
            sum_next_max: Default::default(),
            sum_row_max: Default::default(),
            out_length: Default::default(),
            out_max: Default::default(),
            out_next_max: Default::default(),
            out_row_max: Default::default(),
            emit_inverse: Default::default(),
            emit_msb: Default::default(),
            emit_inverse_select: Default::default(),
            emit_msb_select: Default::default(),
            sum_diff: Default::default(),
            out_diff: Default::default(),
            sum_next: Default::default(),
            out_next: Default::default(),
            sum_take: Default::default(),
            out_take: Default::default(),
            accumulate: Default::default(),
            new_sum: Default::default(),
            rounded: Default::default(),
            emit: Default::default(),
            one: Constant::new(bits::<34>(1)),
            sign: Constant::new(bits::<16>(0x8000)),
            slots: Constant::new(bits::<4>(SOFTMAX_SLOTS as u64)),
            buffer: Constant::new(bits::<11>(SOFTMAX_BUFFER as u64)),
        }
    }
}

impl Logic for SoftmaxUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            ingested,
            summed,
            accumulated,
            normalized,
            output_read,
            released,
            write_pos,
            release_pos,
            row_start,
            written,
            running_max,
            sum_ptr,
            sum_valid,
            sum,
            reciprocal_busy,
            reciprocal_slot,
            capture,
            out_ptr,
            out_valid_read,
            out_data,
            out_valid,
            out_last,
            sum_row_max,
            out_row_max,
            a_valid,
            a_last,
            a_e,
            a_inverse,
            a_shift,
            b_valid,
            b_last,
            b_product,
            b_shift,
            b_bias,
            c_valid,
            c_last,
            c_biased,
            c_shift
        );
        for i in 0..8 {
            self.start[i].clock.next = self.clock.val();
            self.start[i].d.next = self.start[i].q.val();
            self.length[i].clock.next = self.clock.val();
            self.length[i].d.next = self.length[i].q.val();
            self.max[i].clock.next = self.clock.val();
            self.max[i].d.next = self.max[i].q.val();
            self.inverse[i].clock.next = self.clock.val();
            self.inverse[i].d.next = self.inverse[i].q.val();
            self.msb[i].clock.next = self.clock.val();
            self.msb[i].d.next = self.msb[i].q.val();
        }
        self.exp_sum.clock.next = self.clock.val();
        self.exp_out.clock.next = self.clock.val();
        self.reciprocal.clock.next = self.clock.val();
        self.sum_ram.read_clock.next = self.clock.val();
        self.sum_ram.write_clock.next = self.clock.val();
        self.out_ram.read_clock.next = self.clock.val();
        self.out_ram.write_clock.next = self.clock.val();
        self.ingest_slot.next = self.ingested.q.val().get_bits::<3>(0);
        self.sum_slot.next = self.summed.q.val().get_bits::<3>(0);
        self.out_slot.next = self.output_read.q.val().get_bits::<3>(0);
        self.emit_slot.next = self.released.q.val().get_bits::<3>(0);
        // sums that wrap get their own (sized) signals: in Verilog a sum
        // compared in place is 32 bits wide and would not wrap
        self.summed_next.next = self.summed.q.val() + 1;
        self.output_read_next.next = self.output_read.q.val() + 1;
        self.sum_slot_next.next = self.sum_slot.val() + 1;
        self.out_slot_next.next = self.out_slot.val() + 1;
        // the descriptors each pass reads
        self.sum_start.next = 0.into();
        self.sum_next_start.next = 0.into();
        self.out_start.next = 0.into();
        self.out_next_start.next = 0.into();
        self.emit_length.next = 0.into();
        self.sum_length.next = 0.into();
        self.sum_max.next = 0.into();
        self.sum_next_max.next = 0.into();
        self.out_length.next = 0.into();
        self.out_max.next = 0.into();
        self.out_next_max.next = 0.into();
        for i in 0..8 {
            if self.sum_slot.val() == i.to_bits() {
                self.sum_start.next = self.start[i].q.val();
                self.sum_length.next = self.length[i].q.val();
                self.sum_max.next = self.max[i].q.val();
            }
            if self.sum_slot_next.val() == i.to_bits() {
                self.sum_next_start.next = self.start[i].q.val();
                self.sum_next_max.next = self.max[i].q.val();
            }
            if self.out_slot.val() == i.to_bits() {
                self.out_start.next = self.start[i].q.val();
                self.out_length.next = self.length[i].q.val();
                self.out_max.next = self.max[i].q.val();
            }
            if self.out_slot_next.val() == i.to_bits() {
                self.out_next_start.next = self.start[i].q.val();
                self.out_next_max.next = self.max[i].q.val();
            }
            if self.emit_slot.val() == i.to_bits() {
                self.emit_length.next = self.length[i].q.val();
            }
            self.emit_inverse_select.lanes[i].next = self.inverse[i].q.val();
            self.emit_msb_select.lanes[i].next = self.msb[i].q.val();
        }
        self.emit_inverse_select.index.next = bit_cast::<8, 3>(self.emit_slot.val());
        self.emit_msb_select.index.next = bit_cast::<8, 3>(self.emit_slot.val());
        self.emit_inverse.next = self.emit_inverse_select.lane.val();
        self.emit_msb.next = self.emit_msb_select.lane.val();

        // ingest: both buffers take the logit; a row's logits and its
        // descriptor are free once its last probability has entered the
        // output register
        self.logit_key.next = self.s_axis_logits_tdata.val() ^ self.sign.val();
        self.new_max.next = self.running_max.q.val();
        if (self.written.q.val() == 0) | (self.logit_key.val() > self.running_max.q.val()) {
            self.new_max.next = self.logit_key.val();
        }
        self.s_axis_logits_tready.next = ((self.ingested.q.val() - self.released.q.val())
            != self.slots.val())
            & ((self.write_pos.q.val() - self.release_pos.q.val()) != self.buffer.val());
        // (Verilog cannot slice an expression: the sum gets a name)
        self.next_write_pos.next = self.write_pos.q.val() + 1;
        self.sum_ram.write_address.next = self.write_pos.q.val().get_bits::<10>(0);
        self.out_ram.write_address.next = self.write_pos.q.val().get_bits::<10>(0);
        self.sum_ram.write_data.next = self.s_axis_logits_tdata.val();
        self.out_ram.write_data.next = self.s_axis_logits_tdata.val();
        self.sum_ram.write_enable.next = false;
        self.out_ram.write_enable.next = false;
        if self.s_axis_logits_tvalid.val() & self.s_axis_logits_tready.val() {
            self.sum_ram.write_enable.next = true;
            self.out_ram.write_enable.next = true;
            self.written.d.next = self.written.q.val() + 1;
            self.write_pos.d.next = self.next_write_pos.val();
            self.running_max.d.next = self.new_max.val();
            if self.s_axis_logits_tlast.val() | (self.written.q.val() == 255) {
                for i in 0..8 {
                    if self.ingest_slot.val() == i.to_bits() {
                        self.start[i].d.next = self.row_start.q.val();
                        self.length[i].d.next = self.written.q.val() + 1;
                        self.max[i].d.next = self.new_max.val();
                    }
                }
                self.row_start.d.next = self.next_write_pos.val().get_bits::<10>(0);
                self.written.d.next = 0.into();
                self.ingested.d.next = self.ingested.q.val() + 1;
            }
        }

        // sum pass: reads slot `summed`, feeds exp_sum
        self.sum_next.next = self.sum_ptr.q.val() + 1;
        self.sum_ram.read_address.next = self.sum_start.val() + bit_cast::<10, 9>(self.sum_ptr.q.val());
        self.sum_diff.next = bit_cast::<17, 16>(self.sum_ram.read_data.val() ^ self.sign.val())
            - bit_cast::<17, 16>(self.sum_row_max.q.val());
        self.exp_sum.s_axis_x_tdata.next = self.sum_diff.val().get_bits::<16>(0);
        if self.sum_diff.val().get_bit(16) & !self.sum_diff.val().get_bit(15) {
            self.exp_sum.s_axis_x_tdata.next = self.sign.val();
        }
        self.exp_sum.s_axis_x_tvalid.next = self.sum_valid.q.val();
        self.exp_sum.s_axis_x_tlast.next =
            self.sum_valid.q.val() & (self.sum_next.val() == self.sum_length.val());
        self.sum_take.next = self.sum_valid.q.val() & self.exp_sum.s_axis_x_tready.val();
        if self.sum_take.val() {
            if self.sum_next.val() == self.sum_length.val() {
                // the next row's first element, if it is complete
                self.summed.d.next = self.summed_next.val();
                self.sum_ptr.d.next = 0.into();
                self.sum_ram.read_address.next = self.sum_next_start.val();
                self.sum_valid.d.next = self.ingested.q.val() != self.summed_next.val();
                self.sum_row_max.d.next = self.sum_next_max.val();
            } else {
                self.sum_ptr.d.next = self.sum_next.val();
                self.sum_ram.read_address.next =
                    self.sum_start.val() + bit_cast::<10, 9>(self.sum_next.val());
            }
        } else if !self.sum_valid.q.val() & (self.ingested.q.val() != self.summed.q.val()) {
            // element 0 of a complete row is being read
            self.sum_valid.d.next = true;
            self.sum_row_max.d.next = self.sum_max.val();
        }

        // accumulator: a row's last weight waits while the reciprocal of
        // the row before is still being computed
        self.accumulate.next = !(self.exp_sum.m_axis_exp_tlast.val() & self.reciprocal_busy.q.val());
        self.exp_sum.m_axis_exp_tready.next = self.accumulate.val();
        self.new_sum.next =
            self.sum.q.val() + bit_cast::<32, 24>(self.exp_sum.m_axis_exp_tdata.val().get_bits::<24>(16));
        self.reciprocal.value.next = self.new_sum.val();
        self.reciprocal.start.next = false;
        if self.exp_sum.m_axis_exp_tvalid.val() & self.accumulate.val() {
            self.sum.d.next = self.new_sum.val();
            if self.exp_sum.m_axis_exp_tlast.val() {
                self.reciprocal.start.next = true;
                self.reciprocal_busy.d.next = true;
                self.reciprocal_slot.d.next = self.accumulated.q.val().get_bits::<3>(0);
                self.accumulated.d.next = self.accumulated.q.val() + 1;
                self.sum.d.next = 0.into();
            }
        }
        // 1/sum is valid the cycle after `done`: keep it with its slot
        self.capture.d.next = self.reciprocal_busy.q.val() & self.reciprocal.done.val();
        if self.capture.q.val() {
            for i in 0..8 {
                if self.reciprocal_slot.q.val() == i.to_bits() {
                    self.inverse[i].d.next = self.reciprocal.inverse.val();
                    self.msb[i].d.next = self.reciprocal.msb.val();
                }
            }
            self.normalized.d.next = self.normalized.q.val() + 1;
            self.reciprocal_busy.d.next = false;
        }

        // output pass: reads slot `output_read`, feeds exp_out
        self.out_next.next = self.out_ptr.q.val() + 1;
        self.out_ram.read_address.next = self.out_start.val() + bit_cast::<10, 9>(self.out_ptr.q.val());
        self.out_diff.next = bit_cast::<17, 16>(self.out_ram.read_data.val() ^ self.sign.val())
            - bit_cast::<17, 16>(self.out_row_max.q.val());
        self.exp_out.s_axis_x_tdata.next = self.out_diff.val().get_bits::<16>(0);
        if self.out_diff.val().get_bit(16) & !self.out_diff.val().get_bit(15) {
            self.exp_out.s_axis_x_tdata.next = self.sign.val();
        }
        self.exp_out.s_axis_x_tvalid.next = self.out_valid_read.q.val();
        self.exp_out.s_axis_x_tlast.next =
            self.out_valid_read.q.val() & (self.out_next.val() == self.out_length.val());
        self.out_take.next = self.out_valid_read.q.val() & self.exp_out.s_axis_x_tready.val();
        if self.out_take.val() {
            if self.out_next.val() == self.out_length.val() {
                self.output_read.d.next = self.output_read_next.val();
                self.out_ptr.d.next = 0.into();
                self.out_ram.read_address.next = self.out_next_start.val();
                self.out_valid_read.d.next = self.normalized.q.val() != self.output_read_next.val();
                self.out_row_max.d.next = self.out_next_max.val();
            } else {
                self.out_ptr.d.next = self.out_next.val();
                self.out_ram.read_address.next =
                    self.out_start.val() + bit_cast::<10, 9>(self.out_next.val());
            }
        } else if !self.out_valid_read.q.val() & (self.normalized.q.val() != self.output_read.q.val()) {
            self.out_valid_read.d.next = true;
            self.out_row_max.d.next = self.out_max.val();
        }

        // probability: e * (1/S) rounded, shifted by msb - 8, saturated,
        // through four lock-step stages (the exp output's row is the
        // oldest one not yet released): [a] e, 1/S, the shift; [b] the
        // product, the bias 2^(shift - 1); [c] the biased product; [out]
        // shifted, saturated
        self.out_advance.next = !self.out_valid.q.val() | self.m_axis_probs_tready.val();
        self.exp_out.m_axis_exp_tready.next = self.out_advance.val();
        self.emit.next = self.exp_out.m_axis_exp_tvalid.val() & self.out_advance.val();
        self.rounded.next = self.c_biased.q.val() >> self.c_shift.q.val();
        if self.out_advance.val() {
            self.a_valid.d.next = self.emit.val();
            self.a_last.d.next = self.exp_out.m_axis_exp_tlast.val();
            self.a_e.d.next = self.exp_out.m_axis_exp_tdata.val().get_bits::<16>(0);
            self.a_inverse.d.next = self.emit_inverse.val();
            self.a_shift.d.next = self.emit_msb.val() - 8;
            self.b_valid.d.next = self.a_valid.q.val();
            self.b_last.d.next = self.a_last.q.val();
            self.b_product.d.next = self.a_e.q.val() * self.a_inverse.q.val();
            self.b_shift.d.next = self.a_shift.q.val();
            self.b_bias.d.next = self.one.val() << (self.a_shift.q.val() - 1);
            self.c_valid.d.next = self.b_valid.q.val();
            self.c_last.d.next = self.b_last.q.val();
            self.c_biased.d.next = bit_cast::<34, 32>(self.b_product.q.val()) + self.b_bias.q.val();
            self.c_shift.d.next = self.b_shift.q.val();
            self.out_valid.d.next = self.c_valid.q.val();
            self.out_last.d.next = self.c_last.q.val();
            self.out_data.d.next = bit_cast::<16, 34>(self.rounded.val());
            if self.rounded.val() > 0xffff {
                self.out_data.d.next = 0xffff.into();
            }
        }
        if self.emit.val() & self.exp_out.m_axis_exp_tlast.val() {
            self.released.d.next = self.released.q.val() + 1;
            self.release_pos.d.next = self.release_pos.q.val() + bit_cast::<11, 9>(self.emit_length.val());
        }
        self.m_axis_probs_tvalid.next = self.out_valid.q.val();
        self.m_axis_probs_tdata.next = self.out_data.q.val();
        self.m_axis_probs_tlast.next = self.out_last.q.val();
    }
}

/// The softmax model a manifest of this block describes (its field
/// `logit`'s format, checked against [`logit_format_supported`]).
pub fn model_from_manifest(manifest: &Manifest) -> Result<SoftmaxModel, String> {
    let input = manifest.field_format("logit")?;
    logit_format_supported(input)?;
    SoftmaxModel::new(input, SOFTMAX_N_MAX).map_err(|e| e.to_string())
}

/// `Ok` for the logit formats the block is built for: signed 16-bit with
/// 8 to 10 fraction bits (Q7.8 to Q5.10). The exp unit takes up to 12, but
/// the block saturates `x - max` at -2^15 LSBs, which matches the model
/// only where e^x is 0 in UQ1.23 from there on (-2^15 / 2^F <= -17).
pub fn logit_format_supported(format: QFormat) -> Result<(), String> {
    crate::exp::exp_input_supported(format)?;
    if format.frac() > 10 {
        return Err(format!(
            "{format}: softmax is built for logits with 8 to 10 fraction bits (Q7.8 to Q5.10): it saturates \
             x - max at -2^15 LSBs, where e^x must already be 0"
        ));
    }
    Ok(())
}

/// The exported softmax block for logits in `input` (see
/// [`logit_format_supported`]).
pub fn export_with(input: QFormat) -> Result<(String, Manifest), ExportError> {
    logit_format_supported(input).map_err(ExportError::Check)?;
    let model = SoftmaxModel::new(input, SOFTMAX_N_MAX).map_err(|e| ExportError::Check(e.to_string()))?;
    let mut uut = SoftmaxUnit::new(&model);
    uut.connect_all();
    let stem = export::format_stem("softmax", input, SoftmaxModel::default_design().input());
    let verilog = export::verilog(&stem, &uut)?;
    let field = |name: &str, format| Field {
        name: name.into(),
        count: 1,
        format,
    };
    let manifest = Manifest {
        block: "softmax".into(),
        module: export::module_name(&stem),
        verilog: "softmax.v".into(),
        clock: "clock".into(),
        reset: None,
        streams: vec![
            Stream::new("logits", Direction::In, vec![field("logit", model.input())]),
            Stream::new("probs", Direction::Out, vec![field("prob", model.output())]),
        ],
        // latency_cycles is for a one-logit row; a row of n logits: its first
        // probability n + output_delay_base cycles after its last logit (the
        // output pass free), rows overlap: one logit per cycle for n >= 4
        params: BTreeMap::from([
            ("n_max".to_string(), Param::from(SOFTMAX_N_MAX as f64)),
            (
                "output_delay_base".to_string(),
                Param::from((first_output_delay(0)) as f64),
            ),
            ("rows_in_flight".to_string(), Param::from(SOFTMAX_SLOTS as f64)),
            ("rows_overlap".to_string(), Param::from(1.0)),
        ]),
        latency_cycles: first_output_delay(1),
        initiation_interval: 1,
        error_bound: Some(ErrorBound {
            metric: "max_abs".into(),
            versus: "float64".into(),
            value: SoftmaxModel::ERROR_BOUND,
        }),
        weights: None,
        status: None,
        memories: Vec::new(),
        lint_waivers: {
            let mut w = export::standard_waivers();
            w.insert(
                "UNUSEDPARAM".into(),
                "rust-hdl declares an enum's states in every module that stores one, used or not".into(),
            );
            w.insert(
                "UNUSEDSIGNAL".into(),
                "each pass uses one of the shared exp unit's two outputs (the sum pass the wide \
                 exponential, the output pass the 16-bit one); synthesis removes the other"
                    .into(),
            );
            w.insert(
                "UNOPTFLAT".into(),
                "rust-hdl writes one always @(*) per module, so Verilator sees a loop between the exp \
                 unit's ready and its inputs where the signals have none (the logic settles)"
                    .into(),
            );
            w
        },
    };
    Ok((verilog, manifest))
}
