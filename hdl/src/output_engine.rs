//! One output multiplier of the attention heads' normalizer: a lane's four
//! held slots, each times its merge factor, summed (the online-softmax
//! merge), then times `1/sum`, rounded and saturated to the output format.
//! The normalizer has `M` of them (`output_multipliers`, 1 to d): `M`
//! lanes go out a cycle, so a query's lanes take `d / M` cycles.
//!
//! ```text
//!  [1] slot j (selected by the parent)   [2, 3] slot j * beta_j (PipelinedRescale, j = 0..3)
//!  [4] pair sums   [5] total ─▶ (the sum's total starts the reciprocal)
//!  [6, 7] total * (1/sum) (PipelinedProduct)   [8..10] rounded, saturated (PipelinedRoundShift) ─▶ out
//! ```
//! Free-running: the parent's valid and lane registers move beside it.

use crate::fixed::{PipelinedProduct, PipelinedRescale, PipelinedRoundShift};
use crate::slot_accumulator::SLOTS;
use rust_hdl::prelude::*;

/// Stages from the slots to the total: the selected slots, the two of
/// the products, the pair sums, the total.
pub const MERGE_STAGES: u64 = 5;
/// Stages from the total to the output: the two of the product and the
/// three of the rounding shift.
pub const OUTPUT_STAGES: u64 = 5;

/// One lane's merge and output multiply.
#[derive(LogicBlock, Default)]
pub struct OutputEngine {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The lane's slot 0 (registered here).
    pub slot0: Signal<In, Bits<48>>,
    /// Its slot 1.
    pub slot1: Signal<In, Bits<48>>,
    /// Its slot 2.
    pub slot2: Signal<In, Bits<48>>,
    /// Its slot 3.
    pub slot3: Signal<In, Bits<48>>,
    /// Merge factor of slot 0 (UQ1.15), held while the lanes go through.
    pub beta0: Signal<In, Bits<16>>,
    /// Merge factor of slot 1.
    pub beta1: Signal<In, Bits<16>>,
    /// Merge factor of slot 2.
    pub beta2: Signal<In, Bits<16>>,
    /// Merge factor of slot 3.
    pub beta3: Signal<In, Bits<16>>,
    /// The mantissa of `1/sum` (UQ0.16).
    pub inverse: Signal<In, Bits<16>>,
    /// The output's right shift less one (from a register).
    pub pre_shift: Signal<In, Bits<7>>,
    /// The merged total, [`MERGE_STAGES`] edges after the slots.
    pub total: Signal<Out, Bits<48>>,
    /// The output element, [`OUTPUT_STAGES`] edges after the total.
    pub out: Signal<Out, Bits<16>>,
    /// It was saturated.
    pub clipped: Signal<Out, Bit>,
    selected: [DFF<Bits<48>>; SLOTS],
    merge_product: [PipelinedRescale; SLOTS],
    pair: [DFF<Bits<48>>; 2],
    merged: DFF<Bits<48>>,
    output_product: PipelinedProduct,
    output_round: PipelinedRoundShift,
}

impl Logic for OutputEngine {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, merged);
        for j in 0..4 {
            self.selected[j].clock.next = self.clock.val();
            self.merge_product[j].clock.next = self.clock.val();
            self.merge_product[j].enable.next = true;
            self.merge_product[j].a.next = self.selected[j].q.val();
        }
        for i in 0..2 {
            self.pair[i].clock.next = self.clock.val();
        }
        self.selected[0].d.next = self.slot0.val();
        self.selected[1].d.next = self.slot1.val();
        self.selected[2].d.next = self.slot2.val();
        self.selected[3].d.next = self.slot3.val();
        self.merge_product[0].factor.next = self.beta0.val();
        self.merge_product[1].factor.next = self.beta1.val();
        self.merge_product[2].factor.next = self.beta2.val();
        self.merge_product[3].factor.next = self.beta3.val();
        self.pair[0].d.next = self.merge_product[0].rescaled.val() + self.merge_product[1].rescaled.val();
        self.pair[1].d.next = self.merge_product[2].rescaled.val() + self.merge_product[3].rescaled.val();
        self.merged.d.next = self.pair[0].q.val() + self.pair[1].q.val();
        self.total.next = self.merged.q.val();
        // out = round(total * inverse / 2^(16 + msb + fv - fo))
        self.output_product.clock.next = self.clock.val();
        self.output_product.enable.next = true;
        self.output_product.a.next = self.merged.q.val();
        self.output_product.b.next = self.inverse.val();
        self.output_round.clock.next = self.clock.val();
        self.output_round.enable.next = true;
        self.output_round.value.next = self.output_product.product.val();
        self.output_round.pre_shift.next = self.pre_shift.val();
        self.output_round.addend.next = 0.into();
        self.out.next = self.output_round.saturated.val();
        self.clipped.next = self.output_round.clipped.val();
    }
}
