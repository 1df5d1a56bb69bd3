//! The residual add of an encoder layer: two element streams joined beat
//! by beat, `y = a + b` exact in the finer of their formats, then rounded
//! half-up and saturated into the output format: the hardware of
//! `quant::bert::integer::residual_add`, with the handshakes of
//! `dataflow::handshake::units::Join` followed by a lock-step pipeline of
//! [`RESIDUAL_ADD_STAGES`].
//!
//! ```text
//!  a ─┐  both valid, register free or moving
//!     ├─▶ [a, b] ─▶ [sum = a << sa + b << sb] ─▶ PipelinedRoundShift: [shift] [clamp] [round, saturate] ─▶ y
//!  b ─┘
//! ```
//! The shifts align both to `frac = max(fa, fb)` fraction bits; an output
//! with as many or more fraction bits is reached by a left shift and an
//! exact "rounding" by one bit, so one pipelined rounder serves every
//! format. The sticky `saturated` goes high with an output that was
//! clipped.

use crate::fixed::{PipelinedRoundShift, SignExtend};
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;

/// Lock-step stages after the pair's register: the sum, then the
/// rounder's three.
pub const RESIDUAL_ADD_STAGES: u32 = 4;

/// Width of the aligned sum: with at most 15 fraction bits in every
/// format, each operand is shifted left by at most 16 (`fo - fa + 1` when
/// the output is finer, else `frac - fa <= 15`), so both fit 32 bits and
/// their sum 33; one bit spare.
const SUM_BITS: usize = 34;

/// The residual adder.
#[derive(LogicBlock)]
pub struct ResidualAdd {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The branch's element (format `fa`).
    pub a_data: Signal<In, Bits<16>>,
    /// Its valid.
    pub a_valid: Signal<In, Bit>,
    /// Its ready.
    pub a_ready: Signal<Out, Bit>,
    /// Its tlast (the output's).
    pub a_last: Signal<In, Bit>,
    /// The residual's element (format `fb`).
    pub b_data: Signal<In, Bits<16>>,
    /// Its valid.
    pub b_valid: Signal<In, Bit>,
    /// Its ready.
    pub b_ready: Signal<Out, Bit>,
    /// The sum (output format).
    pub y_data: Signal<Out, Bits<16>>,
    /// Its valid.
    pub y_valid: Signal<Out, Bit>,
    /// Its ready.
    pub y_ready: Signal<In, Bit>,
    /// Its tlast.
    pub y_last: Signal<Out, Bit>,
    /// Sticky: an output was saturated.
    pub saturated: Signal<Out, Bit>,
    a_wide: SignExtend<16, SUM_BITS>,
    b_wide: SignExtend<16, SUM_BITS>,
    sum_wide: SignExtend<SUM_BITS, 64>,
    a: DFF<Bits<16>>,
    b: DFF<Bits<16>>,
    full: DFF<Bit>,
    last: DFF<Bit>,
    sum: DFF<Bits<SUM_BITS>>,
    round: PipelinedRoundShift,
    valid: [DFF<Bit>; 4],
    lasts: [DFF<Bit>; 4],
    sticky: DFF<Bit>,
    advance: Signal<Local, Bit>,
    take: Signal<Local, Bit>,
    a_shift: Constant<Bits<8>>,
    b_shift: Constant<Bits<8>>,
    pre_shift: Constant<Bits<7>>,
}

const _: () = assert!(
    RESIDUAL_ADD_STAGES == 4,
    "the valid loops are written for four stages"
);

impl ResidualAdd {
    /// The adder of `a` in `fa` and `b` in `fb` into `out` (signed 16-bit
    /// formats with at most 15 fraction bits; others panic, the callers
    /// check).
    pub fn new(fa: QFormat, fb: QFormat, out: QFormat) -> Self {
        let frac = fa.frac().max(fb.frac());
        assert!(
            [fa, fb, out]
                .iter()
                .all(|f| f.is_signed() && f.bits() == 16 && f.frac() <= 15),
            "signed 16-bit formats with at most 15 fraction bits"
        );
        // the sum left by `extra`, then right by `shift` (at least 1)
        let (extra, shift) = if frac > out.frac() {
            (0, frac - out.frac())
        } else {
            (out.frac() - frac + 1, 1)
        };
        Self {
            clock: Default::default(),
            a_data: Default::default(),
            a_valid: Default::default(),
            a_ready: Default::default(),
            a_last: Default::default(),
            b_data: Default::default(),
            b_valid: Default::default(),
            b_ready: Default::default(),
            y_data: Default::default(),
            y_valid: Default::default(),
            y_ready: Default::default(),
            y_last: Default::default(),
            saturated: Default::default(),
            a_wide: Default::default(),
            b_wide: Default::default(),
            sum_wide: Default::default(),
            a: Default::default(),
            b: Default::default(),
            sum: Default::default(),
            full: Default::default(),
            last: Default::default(),
            round: Default::default(),
            valid: Default::default(),
            lasts: Default::default(),
            sticky: Default::default(),
            advance: Default::default(),
            take: Default::default(),
            a_shift: Constant::new(bits::<8>(u64::from(frac - fa.frac() + extra))),
            b_shift: Constant::new(bits::<8>(u64::from(frac - fb.frac() + extra))),
            pre_shift: Constant::new(bits::<7>(u64::from(shift - 1))),
        }
    }
}

impl Logic for ResidualAdd {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, a, b, sum, full, last, sticky);
        for i in 0..4 {
            self.valid[i].clock.next = self.clock.val();
            self.valid[i].d.next = self.valid[i].q.val();
            self.lasts[i].clock.next = self.clock.val();
            self.lasts[i].d.next = self.lasts[i].q.val();
        }
        self.round.clock.next = self.clock.val();
        // the rounder's stages move together, when the last is empty or taken
        self.advance.next = !self.valid[3].q.val() | self.y_ready.val();
        self.take.next = self.a_valid.val() & self.b_valid.val() & (!self.full.q.val() | self.advance.val());
        self.a_ready.next = self.take.val();
        self.b_ready.next = self.take.val();
        if self.full.q.val() & self.advance.val() {
            self.full.d.next = false;
        }
        if self.take.val() {
            self.a.d.next = self.a_data.val();
            self.b.d.next = self.b_data.val();
            self.full.d.next = true;
            self.last.d.next = self.a_last.val();
        }
        // the sum: both aligned to the finer format (and any extra left shift)
        self.a_wide.value.next = self.a.q.val();
        self.b_wide.value.next = self.b.q.val();
        if self.advance.val() {
            self.sum.d.next = (self.a_wide.extended.val() << self.a_shift.val())
                + (self.b_wide.extended.val() << self.b_shift.val());
        }
        self.round.enable.next = self.advance.val();
        self.sum_wide.value.next = self.sum.q.val();
        self.round.value.next = self.sum_wide.extended.val();
        self.round.pre_shift.next = self.pre_shift.val();
        self.round.addend.next = 0.into();
        if self.advance.val() {
            self.valid[0].d.next = self.full.q.val();
            self.lasts[0].d.next = self.last.q.val();
            for i in 1..4 {
                self.valid[i].d.next = self.valid[i - 1].q.val();
                self.lasts[i].d.next = self.lasts[i - 1].q.val();
            }
        }
        if self.valid[3].q.val() & self.round.clipped.val() {
            self.sticky.d.next = true;
        }
        self.y_valid.next = self.valid[3].q.val();
        self.y_data.next = self.round.saturated.val();
        self.y_last.next = self.lasts[3].q.val();
        self.saturated.next = self.sticky.q.val();
    }
}
