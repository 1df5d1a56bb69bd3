//! The reciprocal of a positive 32-bit value in eight cycles, one register
//! stage per step so that no path holds more than one multiply or one
//! adder: the hardware form of `hwformer_quant::tables::Reciprocal::eval`.
//!
//! ```text
//!  start:   x = value
//!  lead:    msb = leading one of x (a balanced tree of 16/8/4/2/1-bit halves)
//!  shift:   m = (x << 4) >> (msb - 11)              (UQ1.15 mantissa)
//!  seed:    r0 = SEED[m[14:7]]
//!  product: e = m * r0
//!  correct: c = (2^32 + 2^15 - e) >> 16             (2 - m r0, rounded)
//!  newton:  n = r0 * c
//!  finish (done): inverse = min((n + 2^14) >> 15, 0xffff)
//!  1/x = inverse * 2^-(16 + msb), valid from the cycle after `done`
//! ```
//! `x` must be at least 2^11 (a sum of exponentials always is: its largest
//! weight is 1.0, 2^15 in UQ1.15 and 2^11 in the rounded terms of a head
//! built for 2^20 keys). A 36-bit shifter: one over 48 bits for any `x >= 1`
//! cost sdpa a LUT level (204 MHz instead of 211 by the xc7 estimate).

use crate::fixed::LeadingOne32;
use crate::rom::rom_from_table;
use hwformer_quant::tables::Reciprocal;
use rust_hdl::prelude::*;

/// Cycles the unit is busy after `start` before `done` is read: lead,
/// shift, seed, product, correct, newton, finish.
pub const RECIPROCAL_BUSY_CYCLES: u64 = 7;

#[derive(Copy, Clone, Debug, PartialEq, Eq, LogicState)]
enum Step {
    Idle,
    Lead,
    Shift,
    Seed,
    Product,
    Correct,
    Newton,
    Finish,
}

/// Sequential reciprocal unit.
#[derive(LogicBlock)]
pub struct ReciprocalUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Starts a reciprocal of `value` (taken when idle).
    pub start: Signal<In, Bit>,
    /// The value, at least 2^11.
    pub value: Signal<In, Bits<32>>,
    /// High in the last cycle; `inverse` and `msb` hold the result from
    /// the next cycle until the next start.
    pub done: Signal<Out, Bit>,
    /// Mantissa of the reciprocal, UQ0.16.
    pub inverse: Signal<Out, Bits<16>>,
    /// Position of the value's leading one: `1/x = inverse * 2^-(16 + msb)`.
    pub msb: Signal<Out, Bits<5>>,
    step: DFF<Step>,
    x: DFF<Bits<32>>,
    msb_reg: DFF<Bits<5>>,
    aligned: Signal<Local, Bits<36>>,
    mantissa: DFF<Bits<16>>,
    seed: DFF<Bits<16>>,
    error_product: DFF<Bits<32>>,
    correction: DFF<Bits<16>>,
    newton_product: DFF<Bits<32>>,
    inverse_reg: DFF<Bits<16>>,
    leading: LeadingOne32,
    corrected: Signal<Local, Bits<34>>,
    rounded: Signal<Local, Bits<34>>,
    finishing: Signal<Local, Bit>,
    seed_rom: ROM<Bits<16>, 8>,
    two_to_32_and_half: Constant<Bits<34>>,
    half: Constant<Bits<34>>,
}

impl ReciprocalUnit {
    /// The unit with `reciprocal`'s seed table.
    pub fn new(reciprocal: &Reciprocal) -> Self {
        Self {
            clock: Default::default(),
            start: Default::default(),
            value: Default::default(),
            done: Default::default(),
            inverse: Default::default(),
            msb: Default::default(),
            step: Default::default(),
            x: Default::default(),
            msb_reg: Default::default(),
            aligned: Default::default(),
            mantissa: Default::default(),
            seed: Default::default(),
            error_product: Default::default(),
            correction: Default::default(),
            newton_product: Default::default(),
            inverse_reg: Default::default(),
            leading: Default::default(),
            corrected: Default::default(),
            rounded: Default::default(),
            finishing: Default::default(),
            seed_rom: rom_from_table(reciprocal.table()),
            two_to_32_and_half: Constant::new(bits::<34>((1 << 32) + (1 << 15))),
            half: Constant::new(bits::<34>(1 << 14)),
        }
    }
}

impl Logic for ReciprocalUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            step,
            x,
            msb_reg,
            mantissa,
            seed,
            error_product,
            correction,
            newton_product,
            inverse_reg
        );
        self.leading.value.next = self.x.q.val();
        self.seed_rom.address.next = self.mantissa.q.val().get_bits::<8>(7);
        self.corrected.next = self.two_to_32_and_half.val() - bit_cast::<34, 32>(self.error_product.q.val());
        self.rounded.next = bit_cast::<34, 32>(self.newton_product.q.val()) + self.half.val();
        self.finishing.next = false;
        self.aligned.next = bit_cast::<36, 32>(self.x.q.val()) << 4;
        match self.step.q.val() {
            Step::Idle => {
                if self.start.val() {
                    self.x.d.next = self.value.val();
                    self.step.d.next = Step::Lead;
                }
            }
            Step::Lead => {
                self.msb_reg.d.next = self.leading.position.val();
                self.step.d.next = Step::Shift;
            }
            Step::Shift => {
                self.mantissa.d.next = bit_cast::<16, 36>(self.aligned.val() >> (self.msb_reg.q.val() - 11));
                self.step.d.next = Step::Seed;
            }
            Step::Seed => {
                self.seed.d.next = self.seed_rom.data.val();
                self.step.d.next = Step::Product;
            }
            Step::Product => {
                self.error_product.d.next = self.mantissa.q.val() * self.seed.q.val();
                self.step.d.next = Step::Correct;
            }
            Step::Correct => {
                self.correction.d.next = bit_cast::<16, 34>(self.corrected.val() >> 16);
                self.step.d.next = Step::Newton;
            }
            Step::Newton => {
                self.newton_product.d.next = self.seed.q.val() * self.correction.q.val();
                self.step.d.next = Step::Finish;
            }
            Step::Finish => {
                self.finishing.next = true;
                self.inverse_reg.d.next = bit_cast::<16, 34>(self.rounded.val() >> 15);
                if (self.rounded.val() >> 15) > 0xffff {
                    self.inverse_reg.d.next = 0xffff.into();
                }
                self.step.d.next = Step::Idle;
            }
            _ => {
                self.step.d.next = Step::Idle;
            }
        }
        // outputs are written once per evaluation: a glitch on an output
        // can keep an event-driven simulator looping between two blocks
        self.done.next = self.finishing.val();
        self.inverse.next = self.inverse_reg.q.val();
        self.msb.next = self.msb_reg.q.val();
    }
}
