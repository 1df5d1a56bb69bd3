//! Row softmax on an AXI4-Stream: the hardware form of
//! `hwformer_quant::integer::softmax::SoftmaxModel` for Q5.10 logits and
//! rows of up to 256.
//!
//! ```text
//!            ┌─────────── row buffer (256 x 16 block RAM) ───────────┐
//!  logits ──▶│ ingest: write, running max                            │
//!            └──┬─────────────────────────────────────────────────────┘
//!               │ pass 1: read, x - max (saturated) ─▶ exp unit ─▶ sum of w (UQ.23)
//!               │ reciprocal unit: leading one, 256-entry seed, Newton step (3 cycles)
//!               └ pass 2: read, x - max ─▶ exp unit ─▶ e * (1/S) rounded ─▶ probs
//! ```
//!
//! One row at a time: a row of `n` logits is taken one per cycle, and its
//! probabilities leave `n + 16` cycles after its last logit; the next row
//! is accepted once the last probability is taken (`3n + 15` cycles per
//! row without stalls, [`row_cycles`]). A row longer than 256 ends at the
//! 256th logit. Back-pressure on `probs` stalls the second pass; no beat
//! is lost or duplicated.

use crate::exp::{ExpUnit, EXP_LATENCY};
use crate::export::{self, ExportError};
use crate::manifest::{Direction, ErrorBound, Field, Manifest, Stream};
use crate::reciprocal::ReciprocalUnit;
use hwformer_quant::integer::softmax::SoftmaxModel;
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Longest row.
pub const SOFTMAX_N_MAX: usize = 256;

/// Cycles a row of `n` logits occupies the block when nothing stalls: from
/// its first logit's handshake to the cycle after its last probability's.
pub fn row_cycles(n: u64) -> u64 {
    3 * n + 2 * EXP_LATENCY + 5
}

/// Cycles from a row's last logit handshake to its first probability's
/// `tvalid`, when nothing stalls.
pub fn first_output_delay(n: u64) -> u64 {
    n + 2 * EXP_LATENCY + 6
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, LogicState)]
enum Phase {
    Ingest,
    Prime,
    Sum,
    Normalize,
    Reciprocal,
    Output,
}

/// The softmax block.
#[derive(LogicBlock)]
pub struct SoftmaxUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Logit in, signed Q5.10.
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
    phase: DFF<Phase>,
    row: RAM<Bits<16>, 8>,
    exp: ExpUnit,
    reciprocal: ReciprocalUnit,
    written: DFF<Bits<9>>,
    length: DFF<Bits<9>>,
    max: DFF<Bits<16>>,
    read_ptr: DFF<Bits<9>>,
    read_valid: DFF<Bit>,
    sum: DFF<Bits<32>>,
    out_data: DFF<Bits<16>>,
    out_valid: DFF<Bit>,
    out_last: DFF<Bit>,
    logit_key: Signal<Local, Bits<16>>,
    stored_key: Signal<Local, Bits<16>>,
    gap: Signal<Local, Bits<16>>,
    take: Signal<Local, Bit>,
    next_ptr: Signal<Local, Bits<9>>,
    scaled: Signal<Local, Bits<34>>,
    shift: Signal<Local, Bits<5>>,
    rounded: Signal<Local, Bits<34>>,
    emit: Signal<Local, Bit>,
    one: Constant<Bits<34>>,
    sign: Constant<Bits<16>>,
}

impl SoftmaxUnit {
    /// The block for the model's tables (Q5.10 logits, rows up to 256).
    pub fn new(model: &SoftmaxModel) -> Self {
        assert_eq!(model.input(), QFormat::signed(16, 10).expect("valid"));
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
            phase: Default::default(),
            row: Default::default(),
            exp: ExpUnit::new(model.exp()),
            reciprocal: ReciprocalUnit::new(model.reciprocal()),
            written: Default::default(),
            length: Default::default(),
            max: Default::default(),
            read_ptr: Default::default(),
            read_valid: Default::default(),
            sum: Default::default(),
            out_data: Default::default(),
            out_valid: Default::default(),
            out_last: Default::default(),
            logit_key: Default::default(),
            stored_key: Default::default(),
            gap: Default::default(),
            take: Default::default(),
            next_ptr: Default::default(),
            scaled: Default::default(),
            shift: Default::default(),
            rounded: Default::default(),
            emit: Default::default(),
            one: Constant::new(bits::<34>(1)),
            sign: Constant::new(bits::<16>(0x8000)),
        }
    }
}

impl Logic for SoftmaxUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, phase, written, length, max, read_ptr, read_valid, sum, out_data, out_valid,
            out_last
        );
        self.exp.clock.next = self.clock.val();
        self.row.read_clock.next = self.clock.val();
        self.row.write_clock.next = self.clock.val();
        self.row.write_address.next = self.written.q.val().get_bits::<8>(0);
        self.row.write_data.next = self.s_axis_logits_tdata.val();
        self.row.write_enable.next = false;
        self.row.read_address.next = self.read_ptr.q.val().get_bits::<8>(0);
        // order-preserving unsigned keys of signed values (flip the sign bit)
        self.logit_key.next = self.s_axis_logits_tdata.val() ^ self.sign.val();
        self.stored_key.next = self.row.read_data.val() ^ self.sign.val();
        // max - x >= 0; x - max saturated to 16 bits (exact: exp(-32) is 0)
        self.gap.next = self.max.q.val() - self.stored_key.val();
        self.exp.s_axis_x_tdata.next = 0 - self.gap.val();
        if self.gap.val() >= self.sign.val() {
            self.exp.s_axis_x_tdata.next = self.sign.val();
        }
        self.exp.s_axis_x_tvalid.next = false;
        self.exp.s_axis_x_tlast.next = false;
        self.exp.m_axis_exp_tready.next = false;
        self.s_axis_logits_tready.next = false;
        self.take.next = false;
        self.next_ptr.next = self.read_ptr.q.val() + 1;
        self.reciprocal.clock.next = self.clock.val();
        self.reciprocal.value.next = self.sum.q.val();
        self.reciprocal.start.next = false;
        // probability: e * (1/S) rounded, shifted by msb - 8, saturated
        self.shift.next = self.reciprocal.msb.val() - 8;
        self.scaled.next = bit_cast::<34, 32>(
            self.exp.m_axis_exp_tdata.val().get_bits::<16>(0) * self.reciprocal.inverse.val(),
        ) + (self.one.val() << (self.shift.val() - 1));
        self.rounded.next = self.scaled.val() >> self.shift.val();
        self.emit.next = false;
        match self.phase.q.val() {
            Phase::Ingest => {
                self.s_axis_logits_tready.next = true;
                if self.s_axis_logits_tvalid.val() {
                    self.row.write_enable.next = true;
                    self.written.d.next = self.written.q.val() + 1;
                    if (self.written.q.val() == 0) | (self.logit_key.val() > self.max.q.val()) {
                        self.max.d.next = self.logit_key.val();
                    }
                    if self.s_axis_logits_tlast.val() | (self.written.q.val() == 255) {
                        self.length.d.next = self.written.q.val() + 1;
                        self.sum.d.next = 0.into();
                        self.phase.d.next = Phase::Prime;
                    }
                }
            }
            Phase::Prime => {
                // the block RAM reads before it writes: address 0 is read
                // once its last write (a one-logit row) has landed
                self.read_valid.d.next = true;
                self.phase.d.next = Phase::Sum;
            }
            Phase::Sum => {
                self.exp.m_axis_exp_tready.next = true;
                if self.exp.m_axis_exp_tvalid.val() {
                    self.sum.d.next = self.sum.q.val()
                        + bit_cast::<32, 24>(self.exp.m_axis_exp_tdata.val().get_bits::<24>(16));
                    if self.exp.m_axis_exp_tlast.val() {
                        self.phase.d.next = Phase::Normalize;
                    }
                }
            }
            Phase::Normalize => {
                self.reciprocal.start.next = true;
                self.phase.d.next = Phase::Reciprocal;
            }
            Phase::Reciprocal => {
                if self.reciprocal.done.val() {
                    self.read_ptr.d.next = 0.into();
                    self.row.read_address.next = 0.into();
                    self.read_valid.d.next = true;
                    self.phase.d.next = Phase::Output;
                }
            }
            Phase::Output => {
                self.exp.m_axis_exp_tready.next = !self.out_valid.q.val() | self.m_axis_probs_tready.val();
                self.emit.next = self.exp.m_axis_exp_tvalid.val() & self.exp.m_axis_exp_tready.val();
                if !self.out_valid.q.val() | self.m_axis_probs_tready.val() {
                    self.out_valid.d.next = self.emit.val();
                    self.out_last.d.next = self.exp.m_axis_exp_tlast.val();
                    self.out_data.d.next = bit_cast::<16, 34>(self.rounded.val());
                    if self.rounded.val() > 0xffff {
                        self.out_data.d.next = 0xffff.into();
                    }
                }
                if self.out_valid.q.val() & self.out_last.q.val() & self.m_axis_probs_tready.val() {
                    self.written.d.next = 0.into();
                    self.read_ptr.d.next = 0.into();
                    self.phase.d.next = Phase::Ingest;
                }
            }
            _ => {
                self.phase.d.next = Phase::Ingest;
            }
        }
        // the row reader feeds the exp unit in both passes
        if (self.phase.q.val() == Phase::Sum) | (self.phase.q.val() == Phase::Output) {
            self.exp.s_axis_x_tvalid.next = self.read_valid.q.val();
            self.exp.s_axis_x_tlast.next = self.next_ptr.val() == self.length.q.val();
            self.take.next = self.read_valid.q.val() & self.exp.s_axis_x_tready.val();
            if self.take.val() {
                self.row.read_address.next = self.next_ptr.val().get_bits::<8>(0);
                self.read_ptr.d.next = self.next_ptr.val();
                if self.next_ptr.val() == self.length.q.val() {
                    self.read_valid.d.next = false;
                }
            }
        }
        self.m_axis_probs_tvalid.next = self.out_valid.q.val();
        self.m_axis_probs_tdata.next = self.out_data.q.val();
        self.m_axis_probs_tlast.next = self.out_last.q.val();
    }
}

/// The exported softmax block: its Verilog and its manifest.
pub fn export() -> Result<(String, Manifest), ExportError> {
    let model = SoftmaxModel::default_design();
    let mut uut = SoftmaxUnit::new(&model);
    uut.connect_all();
    let verilog = export::verilog("softmax", &uut)?;
    let field = |name: &str, format| Field {
        name: name.into(),
        count: 1,
        format,
    };
    let manifest = Manifest {
        block: "softmax".into(),
        module: export::module_name("softmax"),
        verilog: "softmax.v".into(),
        clock: "clock".into(),
        reset: None,
        streams: vec![
            Stream::new("logits", Direction::In, vec![field("logit", model.input())]),
            Stream::new("probs", Direction::Out, vec![field("prob", model.output())]),
        ],
        // latency_cycles is for a one-logit row; a row of n logits: its first
        // probability n + output_delay_base cycles after its last logit, and
        // row_period_base + 3n cycles per row (rows do not overlap)
        params: BTreeMap::from([
            ("n_max".to_string(), SOFTMAX_N_MAX as f64),
            ("output_delay_base".to_string(), (first_output_delay(0)) as f64),
            ("row_period_base".to_string(), row_cycles(0) as f64),
            ("rows_overlap".to_string(), 0.0),
        ]),
        latency_cycles: first_output_delay(1),
        initiation_interval: 1,
        error_bound: Some(ErrorBound {
            metric: "max_abs".into(),
            versus: "float64".into(),
            value: SoftmaxModel::ERROR_BOUND,
        }),
        lint_waivers: {
            let mut w = export::standard_waivers();
            w.insert(
                "UNUSEDPARAM".into(),
                "rust-hdl declares an enum's states in every module that stores one, used or not".into(),
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
