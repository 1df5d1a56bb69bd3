//! Packs `D` signed 16-bit lanes into one word, lane `i` in bits
//! `[16 i + 15 : 16 i]`. Combinational.
//!
//! ```text
//!  lanes[0]   ──┐
//!  lanes[1]   ──┤
//!    ...        ├─▶ word = { lanes[D-1], ..., lanes[1], lanes[0] }
//!  lanes[D-1] ──┘
//! ```
//!
//! Its Verilog is written by hand as one concatenation: rust-hdl can only
//! express the packing as a chain of `D` shifts of the whole word, which
//! Verilator evaluates as wide shifts every cycle (about 800 instructions
//! per cycle for sdpa d=16) where the concatenation is a few word copies.

use rust_hdl::prelude::*;

/// `word = { lanes[D-1], ..., lanes[0] }` with `W = 16 D`.
#[derive(LogicBlock)]
pub struct LanePacker<const D: usize, const W: usize> {
    /// The lanes, lane 0 in the low bits.
    pub lanes: [Signal<In, Bits<16>>; D],
    /// The packed word.
    pub word: Signal<Out, Bits<W>>,
}

impl<const D: usize, const W: usize> Default for LanePacker<D, W> {
    fn default() -> Self {
        assert_eq!(W, 16 * D, "a word of D 16-bit lanes has 16 D bits");
        Self {
            lanes: std::array::from_fn(|_| Default::default()),
            word: Default::default(),
        }
    }
}

impl<const D: usize, const W: usize> Logic for LanePacker<D, W> {
    fn update(&mut self) {
        let mut word = Bits::<W>::default();
        for (i, lane) in self.lanes.iter().enumerate() {
            word.set_bits::<16>(16 * i, lane.val());
        }
        self.word.next = word;
    }

    fn connect(&mut self) {
        self.word.connect();
    }

    fn hdl(&self) -> Verilog {
        let lanes: Vec<String> = (0..D).rev().map(|i| format!("lanes${i}")).collect();
        Verilog::Custom(format!("always @(*) word = {{{}}};", lanes.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_i_lands_in_bits_16i() {
        let mut packer = LanePacker::<5, 80>::default();
        packer.connect_all();
        for (i, value) in [0x1234u64, 0xffff, 0x8001, 0, 0x7fff].into_iter().enumerate() {
            packer.lanes[i].next = bits::<16>(value);
        }
        packer.update_all();
        packer.update();
        // 80 bits: wider than one machine word, as the packed outputs are
        assert_eq!(packer.word.next.get_bits::<48>(0), bits::<48>(0x8001_ffff_1234));
        assert_eq!(packer.word.next.get_bits::<32>(48), bits::<32>(0x7fff_0000));
    }
}
