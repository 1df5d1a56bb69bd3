//! The activation after a linear layer's rounding: none, ReLU, or GELU by
//! quant's correction table (`hwformer_quant::tables::Gelu`), on signed
//! 16-bit values. Combinational.
//!
//! ```text
//!  GELU:  |y| >> (F - 6) ──▶ index (>= 256: delta = 0) ──▶ DELTA ROM ──▶ delta (UQ0.16)
//!         (y >= 0 ? y : 0) << (16 - F)  -  delta ──round half-up >> (16 - F)──▶ out
//! ```

use crate::fixed::{RoundShift, SignExtend};
use crate::rom::rom_from_table;
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
    delta_table: ROM<Bits<16>, 8>,
    magnitude: Signal<Local, Bits<16>>,
    index: Signal<Local, Bits<16>>,
    delta: Signal<Local, Bits<32>>,
    relu: Signal<Local, Bits<16>>,
    widened: Signal<Local, Bits<32>>,
    extend: SignExtend<32, 64>,
    round: RoundShift,
    kind: Constant<Kind>,
    index_shift: Constant<Bits<5>>,
    relu_shift: Constant<Bits<7>>,
    table_size: Constant<Bits<16>>,
}

impl ActivationUnit {
    /// The unit for `activation` (none when `None`) on values with `frac`
    /// fraction bits (GELU: the table's format).
    pub fn new(activation: Option<&IntActivation>) -> Self {
        let (kind, frac, table) = match activation {
            None => (Kind::Identity, 6, None),
            Some(IntActivation::Relu) => (Kind::Relu, 6, None),
            Some(IntActivation::Gelu(g)) => (Kind::Gelu, g.format().frac(), Some(g.delta_table())),
        };
        let delta_table = match table {
            Some(t) => rom_from_table(t),
            None => ROM::new(std::iter::once((bits::<8>(0), bits::<16>(0))).collect()),
        };
        Self {
            value: Default::default(),
            out: Default::default(),
            delta_table,
            magnitude: Default::default(),
            index: Default::default(),
            delta: Default::default(),
            relu: Default::default(),
            widened: Default::default(),
            extend: Default::default(),
            round: Default::default(),
            kind: Constant::new(kind),
            index_shift: Constant::new(bits::<5>(u64::from(frac - 6))),
            relu_shift: Constant::new(bits::<7>(u64::from(16 - frac))),
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
        self.delta_table.address.next = self.index.val().get_bits::<8>(0);
        self.delta.next = 0.into();
        if self.index.val() < self.table_size.val() {
            self.delta.next = bit_cast::<32, 16>(self.delta_table.data.val());
        }
        self.relu.next = self.value.val();
        if self.value.val().get_bit(15) {
            self.relu.next = 0.into();
        }
        self.widened.next = (bit_cast::<32, 16>(self.relu.val()) << self.relu_shift.val()) - self.delta.val();
        self.extend.value.next = self.widened.val();
        self.round.value.next = self.extend.extended.val();
        self.round.shift.next = self.relu_shift.val();
        self.out.next = self.value.val();
        match self.kind.val() {
            Kind::Identity => {}
            Kind::Relu => {
                self.out.next = self.relu.val();
            }
            Kind::Gelu => {
                self.out.next = self.round.saturated.val();
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
            for raw in (-32768i64..32768).step_by(7).chain([-32768, -1, 0, 1, 32767]) {
                unit.value.next = bits::<16>(raw as u16 as u64);
                assert!(simulate(&mut unit, 20));
                let got = unit.out.val().to_u64() as u16 as i16 as i64;
                assert_eq!(got, model.apply(raw), "{activation:?} Q.{frac} at {raw}");
            }
        }
    }
}
