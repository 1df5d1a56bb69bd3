//! A pipelined adder tree: the sum of 64 signed terms in six register
//! levels (one 40-bit adder deep each), moving when enabled: the dot
//! product's sum in sdpa's score stages.
//!
//! ```text
//!  terms[0..64] ─▶ [32 pair sums] ─▶ [16] ─▶ [8] ─▶ [4] ─▶ [2] ─▶ [sum]
//! ```
//! A block with fewer terms leaves the rest at 0; synthesis removes the
//! registers that only ever hold 0.

use rust_hdl::prelude::*;

/// Register levels from the terms to the sum.
pub const ADDER_TREE_LEVELS: u64 = 6;

/// Terms the tree adds.
pub const ADDER_TREE_TERMS: usize = 64;

/// Sum of 64 signed 40-bit terms (two's complement bits; the sum must fit
/// 40 bits), six enabled edges after the terms.
#[derive(LogicBlock)]
pub struct AdderTree {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The levels move at this edge.
    pub enable: Signal<In, Bit>,
    /// The terms.
    pub terms: [Signal<In, Bits<40>>; ADDER_TREE_TERMS],
    /// Their sum, six enabled edges later.
    pub sum: Signal<Out, Bits<40>>,
    level1: [DFF<Bits<40>>; 32],
    level2: [DFF<Bits<40>>; 16],
    level3: [DFF<Bits<40>>; 8],
    level4: [DFF<Bits<40>>; 4],
    level5: [DFF<Bits<40>>; 2],
    level6: DFF<Bits<40>>,
}

impl Default for AdderTree {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            enable: Default::default(),
            terms: std::array::from_fn(|_| Default::default()),
            sum: Default::default(),
            level1: std::array::from_fn(|_| Default::default()),
            level2: std::array::from_fn(|_| Default::default()),
            level3: std::array::from_fn(|_| Default::default()),
            level4: std::array::from_fn(|_| Default::default()),
            level5: std::array::from_fn(|_| Default::default()),
            level6: Default::default(),
        }
    }
}

impl Logic for AdderTree {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, level6);
        for i in 0..32 {
            self.level1[i].clock.next = self.clock.val();
            self.level1[i].d.next = self.level1[i].q.val();
        }
        for i in 0..16 {
            self.level2[i].clock.next = self.clock.val();
            self.level2[i].d.next = self.level2[i].q.val();
        }
        for i in 0..8 {
            self.level3[i].clock.next = self.clock.val();
            self.level3[i].d.next = self.level3[i].q.val();
        }
        for i in 0..4 {
            self.level4[i].clock.next = self.clock.val();
            self.level4[i].d.next = self.level4[i].q.val();
        }
        for i in 0..2 {
            self.level5[i].clock.next = self.clock.val();
            self.level5[i].d.next = self.level5[i].q.val();
        }
        if self.enable.val() {
            for i in 0..32 {
                self.level1[i].d.next = self.terms[2 * i].val() + self.terms[2 * i + 1].val();
            }
            for i in 0..16 {
                self.level2[i].d.next = self.level1[2 * i].q.val() + self.level1[2 * i + 1].q.val();
            }
            for i in 0..8 {
                self.level3[i].d.next = self.level2[2 * i].q.val() + self.level2[2 * i + 1].q.val();
            }
            for i in 0..4 {
                self.level4[i].d.next = self.level3[2 * i].q.val() + self.level3[2 * i + 1].q.val();
            }
            for i in 0..2 {
                self.level5[i].d.next = self.level4[2 * i].q.val() + self.level4[2 * i + 1].q.val();
            }
            self.level6.d.next = self.level5[0].q.val() + self.level5[1].q.val();
        }
        self.sum.next = self.level6.q.val();
    }
}
