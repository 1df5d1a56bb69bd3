//! `1 / sqrt(x)` of a 64-bit value with `FRAC` fraction bits in eleven
//! cycles, one register stage per step so that no path holds more than
//! one multiply or one adder: the hardware form of
//! `hwformer_quant::tables::InvSqrt::eval`.
//!
//! ```text
//!  start:     x = value (x = 0 is taken as 1)
//!  upper:     the upper 32-bit half of x if it is not zero, else the lower
//!  lead:      msb = leading one of x (LeadingOne32 of that half)
//!  normalize: odd = (msb - FRAC) mod 2; m = x shifted so its leading one is bit 14 + odd  (UQ2.14)
//!             shift = 16 + (msb - FRAC - odd) / 2
//!  seed:      y0 = SEED[(m >> 8) - 64]                       (192 entries, UQ0.16)
//!  square:    p = y0 y0;  s = min((p + 2^15) >> 16, 0xffff)
//!  correct:   p = m s;    h = (3 2^30 - p + 2^15) >> 16     ((3 - m y0^2) / 2, Q1.15)
//!  newton:    p = y0 h;   r = (p + 2^14) >> 15;   (done) inverse = min(r, 0xffff)
//!  1/sqrt(x / 2^FRAC) = inverse 2^-shift, valid from the cycle after `done`
//! ```

use crate::fixed::LeadingOne32;
use crate::rom::rom_from_table;
use hwformer_quant::tables::InvSqrt;
use rust_hdl::prelude::*;

/// Cycles the unit is busy after `start` before `done` is read: upper,
/// lead, normalize, seed, a product and its rounding for each of square,
/// correct and Newton, and the result's clamp.
pub const INV_SQRT_BUSY_CYCLES: u64 = 11;

#[derive(Copy, Clone, Debug, PartialEq, Eq, LogicState)]
enum Step {
    Idle,
    Upper,
    Lead,
    Normalize,
    Seed,
    SquareProduct,
    Square,
    CorrectProduct,
    Correct,
    NewtonProduct,
    NewtonRound,
    Newton,
}

/// Sequential inverse square root unit.
#[derive(LogicBlock)]
pub struct InvSqrtUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Starts an inverse square root of `value` (taken when idle).
    pub start: Signal<In, Bit>,
    /// The value, `FRAC` fraction bits.
    pub value: Signal<In, Bits<64>>,
    /// High in the last cycle; `inverse` and `shift` hold the result from
    /// the next cycle until the next start.
    pub done: Signal<Out, Bit>,
    /// Mantissa of the result, UQ0.16.
    pub inverse: Signal<Out, Bits<16>>,
    /// `1/sqrt(value) = inverse * 2^-shift`.
    pub shift: Signal<Out, Bits<7>>,
    step: DFF<Step>,
    held: DFF<Bits<64>>,
    upper: DFF<Bit>,
    half32: DFF<Bits<32>>,
    msb: DFF<Bits<7>>,
    mantissa: DFF<Bits<16>>,
    shift_reg: DFF<Bits<7>>,
    seed: DFF<Bits<16>>,
    square: DFF<Bits<16>>,
    half: DFF<Bits<16>>,
    inverse_reg: DFF<Bits<16>>,
    newton_rounded: DFF<Bits<34>>,
    // the three products, each one DSP with its output register
    square_product: DFF<Bits<32>>,
    correct_product: DFF<Bits<32>>,
    newton_product: DFF<Bits<32>>,
    leading: LeadingOne32,
    shifted_down: Signal<Local, Bits<64>>,
    shifted_up: Signal<Local, Bits<64>>,
    bucket: Signal<Local, Bits<16>>,
    parity: Signal<Local, Bits<7>>,
    odd: Signal<Local, Bits<7>>,
    lead: Signal<Local, Bits<7>>,
    squared: Signal<Local, Bits<34>>,
    corrected: Signal<Local, Bits<34>>,
    newton: Signal<Local, Bits<34>>,
    finishing: Signal<Local, Bit>,
    seed_rom: ROM<Bits<16>, 8>,
    frac: Constant<Bits<7>>,
    one: Constant<Bits<34>>,
    three_2_30: Constant<Bits<34>>,
}

impl InvSqrtUnit {
    /// The unit with `inv_sqrt`'s seed table, for values with `frac`
    /// fraction bits (at most 32).
    pub fn new(inv_sqrt: &InvSqrt, frac: u32) -> Self {
        assert!(frac <= 32, "at most 32 fraction bits");
        Self {
            clock: Default::default(),
            start: Default::default(),
            value: Default::default(),
            done: Default::default(),
            inverse: Default::default(),
            shift: Default::default(),
            step: Default::default(),
            held: Default::default(),
            upper: Default::default(),
            half32: Default::default(),
            msb: Default::default(),
            mantissa: Default::default(),
            shift_reg: Default::default(),
            seed: Default::default(),
            square: Default::default(),
            half: Default::default(),
            inverse_reg: Default::default(),
            newton_rounded: Default::default(),
            square_product: Default::default(),
            correct_product: Default::default(),
            newton_product: Default::default(),
            leading: Default::default(),
            shifted_down: Default::default(),
            shifted_up: Default::default(),
            bucket: Default::default(),
            parity: Default::default(),
            odd: Default::default(),
            lead: Default::default(),
            squared: Default::default(),
            corrected: Default::default(),
            newton: Default::default(),
            finishing: Default::default(),
            seed_rom: rom_from_table(inv_sqrt.table()),
            frac: Constant::new(bits::<7>(u64::from(frac))),
            one: Constant::new(bits::<34>(1)),
            three_2_30: Constant::new(bits::<34>(3 << 30)),
        }
    }
}

impl Logic for InvSqrtUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            step,
            held,
            upper,
            half32,
            msb,
            mantissa,
            shift_reg,
            seed,
            square,
            half,
            inverse_reg,
            newton_rounded,
            square_product,
            correct_product,
            newton_product
        );
        self.leading.value.next = self.half32.q.val();
        // (msb - FRAC) mod 2, and the bit the leading one moves to
        self.odd.next = 0.into();
        self.lead.next = 14.into();
        self.parity.next = self.msb.q.val() + self.frac.val();
        if self.parity.val().get_bit(0) {
            self.odd.next = 1.into();
            self.lead.next = 15.into();
        }
        self.bucket.next = self.mantissa.q.val() >> 8;
        self.seed_rom.address.next = self.bucket.val().get_bits::<8>(0) - 64;
        // a part-select needs a name in Verilog: the two shifts are signals
        self.shifted_down.next = self.held.q.val() >> (self.msb.q.val() - self.lead.val());
        self.shifted_up.next = self.held.q.val() << (self.lead.val() - self.msb.q.val());
        // the products, free-running: each step reads the one it needs
        self.square_product.d.next = self.seed.q.val() * self.seed.q.val();
        self.correct_product.d.next = self.mantissa.q.val() * self.square.q.val();
        self.newton_product.d.next = self.seed.q.val() * self.half.q.val();
        self.squared.next = (bit_cast::<34, 32>(self.square_product.q.val()) + (self.one.val() << 15)) >> 16;
        self.corrected.next = ((self.three_2_30.val() - bit_cast::<34, 32>(self.correct_product.q.val()))
            + (self.one.val() << 15))
            >> 16;
        self.newton.next = (bit_cast::<34, 32>(self.newton_product.q.val()) + (self.one.val() << 14)) >> 15;
        self.finishing.next = false;
        match self.step.q.val() {
            Step::Idle => {
                if self.start.val() {
                    self.held.d.next = self.value.val();
                    if self.value.val() == 0 {
                        self.held.d.next = 1.into();
                    }
                    self.step.d.next = Step::Upper;
                }
            }
            Step::Upper => {
                self.upper.d.next = self.held.q.val().get_bits::<32>(32) != 0;
                self.half32.d.next = self.held.q.val().get_bits::<32>(0);
                if self.held.q.val().get_bits::<32>(32) != 0 {
                    self.half32.d.next = self.held.q.val().get_bits::<32>(32);
                }
                self.step.d.next = Step::Lead;
            }
            Step::Lead => {
                self.msb.d.next = bit_cast::<7, 5>(self.leading.position.val());
                if self.upper.q.val() {
                    self.msb.d.next = bit_cast::<7, 5>(self.leading.position.val()) | 32;
                }
                self.step.d.next = Step::Normalize;
            }
            Step::Normalize => {
                if self.msb.q.val() >= self.lead.val() {
                    self.mantissa.d.next = self.shifted_down.val().get_bits::<16>(0);
                } else {
                    self.mantissa.d.next = self.shifted_up.val().get_bits::<16>(0);
                }
                // 16 + (msb - FRAC - odd) / 2, kept non-negative by the 32
                self.shift_reg.d.next = (self.msb.q.val() + 32 - self.frac.val() - self.odd.val()) >> 1;
                self.step.d.next = Step::Seed;
            }
            Step::Seed => {
                self.seed.d.next = self.seed_rom.data.val();
                self.step.d.next = Step::SquareProduct;
            }
            Step::SquareProduct => {
                self.step.d.next = Step::Square;
            }
            Step::Square => {
                self.square.d.next = self.squared.val().get_bits::<16>(0);
                if self.squared.val() > 0xffff {
                    self.square.d.next = 0xffff.into();
                }
                self.step.d.next = Step::CorrectProduct;
            }
            Step::CorrectProduct => {
                self.step.d.next = Step::Correct;
            }
            Step::Correct => {
                self.half.d.next = self.corrected.val().get_bits::<16>(0);
                self.step.d.next = Step::NewtonProduct;
            }
            Step::NewtonProduct => {
                self.step.d.next = Step::NewtonRound;
            }
            Step::NewtonRound => {
                self.newton_rounded.d.next = self.newton.val();
                self.step.d.next = Step::Newton;
            }
            Step::Newton => {
                self.finishing.next = true;
                self.inverse_reg.d.next = self.newton_rounded.q.val().get_bits::<16>(0);
                if self.newton_rounded.q.val() > 0xffff {
                    self.inverse_reg.d.next = 0xffff.into();
                }
                self.step.d.next = Step::Idle;
            }
            _ => {
                self.step.d.next = Step::Idle;
            }
        }
        // outputs are written once per evaluation (see reciprocal)
        self.done.next = self.finishing.val();
        self.inverse.next = self.inverse_reg.q.val();
        self.shift.next = self.shift_reg.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwformer_quant::random::seeded;
    use rand::Rng;

    #[test]
    fn every_result_equals_the_model() {
        let model = InvSqrt::new().unwrap();
        let mut unit = InvSqrtUnit::new(&model, 12);
        unit.connect_all();
        let mut rng = seeded(9);
        let mut values: Vec<u64> = vec![
            0,
            1,
            2,
            3,
            4095,
            4096,
            4097,
            (1 << 62) - 1,
            1 << 62,
            u64::MAX >> 2,
        ];
        values.extend((0..64).map(|k| 1u64 << k));
        values.extend((0..2000).map(|_| rng.gen::<u64>() >> rng.gen_range(0..64)));
        let tick = |unit: &mut InvSqrtUnit| {
            unit.clock.next = false.into();
            assert!(simulate(unit, 100));
            unit.clock.next = true.into();
            assert!(simulate(unit, 100));
        };
        for value in values {
            unit.value.next = value.to_bits();
            unit.start.next = true;
            tick(&mut unit);
            unit.start.next = false;
            for _ in 0..INV_SQRT_BUSY_CYCLES - 1 {
                unit.clock.next = false.into();
                assert!(simulate(&mut unit, 100));
                assert!(!unit.done.val(), "{value}: done early");
                unit.clock.next = true.into();
                assert!(simulate(&mut unit, 100));
            }
            unit.clock.next = false.into();
            assert!(simulate(&mut unit, 100));
            assert!(
                unit.done.val(),
                "{value}: done after {INV_SQRT_BUSY_CYCLES} cycles"
            );
            unit.clock.next = true.into();
            assert!(simulate(&mut unit, 100));
            let want = model.eval(value, 12);
            assert_eq!(unit.inverse.val().to_u64(), u64::from(want.mantissa), "{value}");
            assert_eq!(unit.shift.val().to_u64() as i32, want.shift, "{value}");
        }
    }
}
