//! The activation after a linear layer's rounding: none, ReLU, or GELU by
//! quant's correction table (`hwformer_quant::tables::Gelu`), on signed
//! 16-bit values. One register stage inside (moving when `enable` is
//! high), so `out` is the activation of the `value` taken at the last
//! enabled edge; the user registers `out` as its next stage.
//!
//! ```text
//!  GELU:  |y| >> (F - 6) ──▶ [index (>= 256: 0), relu, y] ──▶ CORRECTION ROM (signed, in Q.F)
//!         relu  +  correction ──▶ out
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
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The register stage takes `value` at this edge.
    pub enable: Signal<In, Bit>,
    /// The rounded output of a linear layer (two's complement).
    pub value: Signal<In, Bits<16>>,
    /// The activation of the value taken at the last enabled edge, in the
    /// same format.
    pub out: Signal<Out, Bits<16>>,
    taken: DFF<Bits<16>>,
    taken_relu: DFF<Bits<16>>,
    taken_index: DFF<Bits<8>>,
    in_table: DFF<Bit>,
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
            clock: Default::default(),
            enable: Default::default(),
            value: Default::default(),
            out: Default::default(),
            taken: Default::default(),
            taken_relu: Default::default(),
            taken_index: Default::default(),
            in_table: Default::default(),
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
        dff_setup!(self, clock, taken, taken_relu, taken_index, in_table);
        // before the register: the table index and the ReLU
        self.magnitude.next = self.value.val();
        if self.value.val().get_bit(15) {
            self.magnitude.next = 0 - self.value.val();
        }
        self.index.next = self.magnitude.val() >> self.index_shift.val();
        self.relu.next = self.value.val();
        if self.value.val().get_bit(15) {
            self.relu.next = 0.into();
        }
        if self.enable.val() {
            self.taken.d.next = self.value.val();
            self.taken_relu.d.next = self.relu.val();
            self.taken_index.d.next = self.index.val().get_bits::<8>(0);
            self.in_table.d.next = self.index.val() < self.table_size.val();
        }
        // after it: the table and the add
        self.corrections.address.next = self.taken_index.q.val();
        self.correction.next = 0.into();
        if self.in_table.q.val() {
            self.correction.next = self.corrections.data.val();
        }
        self.out.next = self.taken.q.val();
        match self.kind.val() {
            Kind::Identity => {}
            Kind::Relu => {
                self.out.next = self.taken_relu.q.val();
            }
            Kind::Gelu => {
                self.out.next = self.taken_relu.q.val() + self.correction.val();
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
            unit.enable.next = true;
            for raw in -32768i64..32768 {
                unit.value.next = bits::<16>(raw as u16 as u64);
                unit.clock.next = false.into();
                assert!(simulate(&mut unit, 20));
                unit.clock.next = true.into();
                assert!(simulate(&mut unit, 20));
                let got = unit.out.val().to_u64() as u16 as i16 as i64;
                assert_eq!(got, model.apply(raw), "{activation:?} Q.{frac} at {raw}");
            }
        }
    }
}
