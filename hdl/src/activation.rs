//! The activation after a linear layer's rounding: none, ReLU, or GELU by
//! quant's correction table (`hwformer_quant::tables::Gelu`), on signed
//! 16-bit values. Combinational.
//!
//! ```text
//!  GELU:  |y| >> (F - 6) ──▶ index (>= 256: 0) ──▶ CORRECTION ROM (signed, in Q.F)
//!         (y >= 0 ? y : 0)  +  correction ──▶ out
//! ```
//!
//! The ROM holds quant's `Gelu::rounded_corrections`: its delta table with
//! the output rounding folded in, so one 16-bit add is the whole datapath
//! after the table (no wide subtraction and rounding), and nothing can
//! overflow (ReLU >= 0, correction <= 0).

use crate::rom::rom_from_signed;
use hwformer_quant::integer::linear::IntActivation;
use rust_hdl::prelude::*;

#[derive(Copy, Clone, Debug, PartialEq, Eq, LogicState)]
enum Kind {
    Identity,
    Relu,
    Gelu,
}

/// One activation on one value.
#[derive(LogicBlock)]
pub struct ActivationUnit {
    /// The rounded output of a linear layer (two's complement).
    pub value: Signal<In, Bits<16>>,
    /// The activation of it, in the same format.
    pub out: Signal<Out, Bits<16>>,
    corrections: ROM<Bits<16>, 8>,
    magnitude: Signal<Local, Bits<16>>,
    index: Signal<Local, Bits<16>>,
    correction: Signal<Local, Bits<16>>,
    relu: Signal<Local, Bits<16>>,
    kind: Constant<Kind>,
    index_shift: Constant<Bits<5>>,
    table_size: Constant<Bits<16>>,
}

impl ActivationUnit {
    /// The unit for `activation` (none when `None`) on values with `frac`
    /// fraction bits (GELU: the table's format).
    pub fn new(activation: Option<&IntActivation>) -> Self {
        let (kind, frac, corrections) = match activation {
            None => (Kind::Identity, 6, vec![0]),
            Some(IntActivation::Relu) => (Kind::Relu, 6, vec![0]),
            Some(IntActivation::Gelu(g)) => (Kind::Gelu, g.format().frac(), g.rounded_corrections()),
        };
        Self {
            value: Default::default(),
            out: Default::default(),
            corrections: rom_from_signed("gelu_corrections", &corrections),
            magnitude: Default::default(),
            index: Default::default(),
            correction: Default::default(),
            relu: Default::default(),
            kind: Constant::new(kind),
            index_shift: Constant::new(bits::<5>(u64::from(frac - 6))),
            table_size: Constant::new(bits::<16>(256)),
        }
    }
}

impl Logic for ActivationUnit {
    #[hdl_gen]
    fn update(&mut self) {
        self.magnitude.next = self.value.val();
        if self.value.val().get_bit(15) {
            self.magnitude.next = 0 - self.value.val();
        }
        self.index.next = self.magnitude.val() >> self.index_shift.val();
        self.corrections.address.next = self.index.val().get_bits::<8>(0);
        self.correction.next = 0.into();
        if self.index.val() < self.table_size.val() {
            self.correction.next = self.corrections.data.val();
        }
        self.relu.next = self.value.val();
        if self.value.val().get_bit(15) {
            self.relu.next = 0.into();
        }
        self.out.next = self.value.val();
        match self.kind.val() {
            Kind::Identity => {}
            Kind::Relu => {
                self.out.next = self.relu.val();
            }
            Kind::Gelu => {
                self.out.next = self.relu.val() + self.correction.val();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwformer_quant::reference::Activation;
    use hwformer_quant::QFormat;

    #[test]
    fn every_input_matches_the_integer_model() {
        for (activation, frac) in [
            (Activation::Gelu, 10),
            (Activation::Gelu, 12),
            (Activation::Relu, 12),
        ] {
            let model = IntActivation::new(activation, QFormat::signed(16, frac).unwrap()).unwrap();
            let mut unit = ActivationUnit::new(Some(&model));
            unit.connect_all();
            for raw in -32768i64..32768 {
                unit.value.next = bits::<16>(raw as u16 as u64);
                assert!(simulate(&mut unit, 20));
                let got = unit.out.val().to_u64() as u16 as i16 as i64;
                assert_eq!(got, model.apply(raw), "{activation:?} Q.{frac} at {raw}");
            }
        }
    }
}
