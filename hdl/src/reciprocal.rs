//! The reciprocal of a positive 32-bit value in three cycles: the hardware
//! form of `hwformer_quant::tables::Reciprocal::eval`.
//!
//! ```text
//!  start: msb = leading one of x; m = x >> (msb - 15)    (UQ1.15 mantissa)
//!  seed:  r0 = SEED[m[14:7]]; c = (2^32 - m*r0 + 2^15) >> 16
//!  newton (done): inverse = min((r0*c + 2^14) >> 15, 0xffff)
//!  1/x = inverse * 2^-(16 + msb), valid from the cycle after `done`
//! ```
//! `x` must be at least 2^15 (every sum of exponentials here is).

use crate::rom::rom_from_table;
use hwformer_quant::tables::Reciprocal;
use rust_hdl::prelude::*;

/// Cycles the unit is busy after `start` before `done` is read: seed, Newton.
pub const RECIPROCAL_BUSY_CYCLES: u64 = 2;

#[derive(Copy, Clone, Debug, PartialEq, Eq, LogicState)]
enum Step {
    Idle,
    Seed,
    Newton,
}

/// Sequential reciprocal unit.
#[derive(LogicBlock)]
pub struct ReciprocalUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Starts a reciprocal of `value` (taken when idle).
    pub start: Signal<In, Bit>,
    /// The value, at least 2^15.
    pub value: Signal<In, Bits<32>>,
    /// High in the last cycle; `inverse` and `msb` hold the result from
    /// the next cycle until the next start.
    pub done: Signal<Out, Bit>,
    /// Mantissa of the reciprocal, UQ0.16.
    pub inverse: Signal<Out, Bits<16>>,
    /// Position of the value's leading one: `1/x = inverse * 2^-(16 + msb)`.
    pub msb: Signal<Out, Bits<5>>,
    step: DFF<Step>,
    msb_reg: DFF<Bits<5>>,
    mantissa: DFF<Bits<16>>,
    seed: DFF<Bits<16>>,
    correction: DFF<Bits<16>>,
    inverse_reg: DFF<Bits<16>>,
    leading: Signal<Local, Bits<5>>,
    error: Signal<Local, Bits<34>>,
    newton: Signal<Local, Bits<34>>,
    finishing: Signal<Local, Bit>,
    seed_rom: ROM<Bits<16>, 8>,
    one: Constant<Bits<34>>,
    two_to_32: Constant<Bits<34>>,
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
            msb_reg: Default::default(),
            mantissa: Default::default(),
            seed: Default::default(),
            correction: Default::default(),
            inverse_reg: Default::default(),
            leading: Default::default(),
            error: Default::default(),
            newton: Default::default(),
            finishing: Default::default(),
            seed_rom: rom_from_table(reciprocal.table()),
            one: Constant::new(bits::<34>(1)),
            two_to_32: Constant::new(bits::<34>(1 << 32)),
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
            msb_reg,
            mantissa,
            seed,
            correction,
            inverse_reg
        );
        self.leading.next = 0.into();
        for i in 0..32 {
            if self.value.val().get_bit(i) {
                self.leading.next = i.to_bits();
            }
        }
        self.seed_rom.address.next = self.mantissa.q.val().get_bits::<8>(7);
        self.error.next =
            self.two_to_32.val() - bit_cast::<34, 32>(self.mantissa.q.val() * self.seed_rom.data.val());
        self.newton.next =
            bit_cast::<34, 32>(self.seed.q.val() * self.correction.q.val()) + (self.one.val() << 14);
        self.finishing.next = false;
        match self.step.q.val() {
            Step::Idle => {
                if self.start.val() {
                    self.msb_reg.d.next = self.leading.val();
                    self.mantissa.d.next = bit_cast::<16, 32>(self.value.val() >> (self.leading.val() - 15));
                    self.step.d.next = Step::Seed;
                }
            }
            Step::Seed => {
                self.seed.d.next = self.seed_rom.data.val();
                self.correction.d.next =
                    bit_cast::<16, 34>((self.error.val() + (self.one.val() << 15)) >> 16);
                self.step.d.next = Step::Newton;
            }
            Step::Newton => {
                self.finishing.next = true;
                self.inverse_reg.d.next = bit_cast::<16, 34>(self.newton.val() >> 15);
                if (self.newton.val() >> 15) > 0xffff {
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
