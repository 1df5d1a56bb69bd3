//! Lanes in and out of one word, combinational, with hand-written Verilog:
//! [`LanePacker`] packs `D` signed 16-bit lanes into one word, lane `i` in
//! bits `[16 i + 15 : 16 i]`; [`LaneSelect`] picks one of `D` lanes by index.
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

/// `lane = lanes[index]` (lane 0 for an index of `D` or more), `N` bits
/// wide. Its Verilog is one `case` on the index, which synthesis maps to a
/// balanced multiplexer; rust-hdl could only write it as `D` chained `if`s,
/// a priority chain `D` deep (about 20 LUT levels at 64 lanes).
///
/// ```text
///  lanes[0] .. lanes[D-1] ──▶ [ D:1 mux ] ──▶ lane
///  index ───────────────────────┘
/// ```
#[derive(LogicBlock)]
pub struct LaneSelect<const D: usize, const N: usize> {
    /// The lanes.
    pub lanes: [Signal<In, Bits<N>>; D],
    /// Which lane.
    pub index: Signal<In, Bits<8>>,
    /// The selected lane.
    pub lane: Signal<Out, Bits<N>>,
}

impl<const D: usize, const N: usize> Default for LaneSelect<D, N> {
    fn default() -> Self {
        assert!((1..=256).contains(&D), "an 8-bit index selects 1 to 256 lanes");
        Self {
            lanes: std::array::from_fn(|_| Default::default()),
            index: Default::default(),
            lane: Default::default(),
        }
    }
}

impl<const D: usize, const N: usize> Logic for LaneSelect<D, N> {
    fn update(&mut self) {
        let index = self.index.val().to_u64() as usize;
        self.lane.next = self.lanes[if index < D { index } else { 0 }].val();
    }

    fn connect(&mut self) {
        self.lane.connect();
    }

    fn hdl(&self) -> Verilog {
        let mut case = String::from("always @(*) begin\n    case (index)\n");
        for i in 1..D {
            case.push_str(&format!("        8'd{i}: lane = lanes${i};\n"));
        }
        case.push_str("        default: lane = lanes$0;\n    endcase\nend");
        Verilog::Custom(case)
    }
}

/// `out[k] = lanes[M group + k]` for `k` in `0..M` (group 0 for a group of
/// `D / M` or more), `N` bits wide: the lanes an output engine of `M`
/// takes a cycle. Its Verilog is one `case` on the group per output, a
/// `D / M`-input multiplexer each; [`LaneSelect`] is the case `M = 1`.
///
/// ```text
///  lanes[0] .. lanes[D-1] ──▶ [ M muxes of D/M:1 ] ──▶ out[0] .. out[M-1]
///  group ───────────────────────┘
/// ```
#[derive(LogicBlock)]
pub struct LaneGroups<const D: usize, const M: usize, const N: usize> {
    /// The lanes.
    pub lanes: [Signal<In, Bits<N>>; D],
    /// Which group of `M` consecutive lanes.
    pub group: Signal<In, Bits<8>>,
    /// The group's lanes.
    pub out: [Signal<Out, Bits<N>>; M],
}

impl<const D: usize, const M: usize, const N: usize> Default for LaneGroups<D, M, N> {
    fn default() -> Self {
        assert!(
            M >= 1 && D % M == 0 && D / M <= 256,
            "groups of M lanes divide the D lanes, at most 256 groups"
        );
        Self {
            lanes: std::array::from_fn(|_| Default::default()),
            group: Default::default(),
            out: std::array::from_fn(|_| Default::default()),
        }
    }
}

impl<const D: usize, const M: usize, const N: usize> Logic for LaneGroups<D, M, N> {
    fn update(&mut self) {
        let group = self.group.val().to_u64() as usize;
        let group = if group < D / M { group } else { 0 };
        for k in 0..M {
            self.out[k].next = self.lanes[M * group + k].val();
        }
    }

    fn connect(&mut self) {
        for out in &mut self.out {
            out.connect();
        }
    }

    fn hdl(&self) -> Verilog {
        let mut code = String::from("always @(*) begin\n");
        for k in 0..M {
            code.push_str("    case (group)\n");
            for g in 1..D / M {
                code.push_str(&format!("        8'd{g}: out${k} = lanes${};\n", M * g + k));
            }
            code.push_str(&format!("        default: out${k} = lanes${k};\n    endcase\n"));
        }
        code.push_str("end");
        Verilog::Custom(code)
    }
}

/// The inverse of [`LaneGroups`]: `lanes[i] = values[i mod M]`, and
/// `hit[i]` is high for the lanes of `group` (`i / M == group`). A parent
/// writes lane `i` from `lanes[i]` when `hit[i]`: no loop index is needed
/// beyond the lane's own.
#[derive(LogicBlock)]
pub struct LaneDeal<const D: usize, const M: usize, const N: usize> {
    /// One value per output engine.
    pub values: [Signal<In, Bits<N>>; M],
    /// The group of lanes they belong to.
    pub group: Signal<In, Bits<8>>,
    /// Each lane's engine value.
    pub lanes: [Signal<Out, Bits<N>>; D],
    /// The lane is in `group`.
    pub hit: [Signal<Out, Bit>; D],
}

impl<const D: usize, const M: usize, const N: usize> Default for LaneDeal<D, M, N> {
    fn default() -> Self {
        assert!(
            M >= 1 && D % M == 0 && D / M <= 256,
            "groups of M lanes divide the D lanes, at most 256 groups"
        );
        Self {
            values: std::array::from_fn(|_| Default::default()),
            group: Default::default(),
            lanes: std::array::from_fn(|_| Default::default()),
            hit: std::array::from_fn(|_| Default::default()),
        }
    }
}

impl<const D: usize, const M: usize, const N: usize> Logic for LaneDeal<D, M, N> {
    fn update(&mut self) {
        let group = self.group.val().to_u64() as usize;
        for i in 0..D {
            self.lanes[i].next = self.values[i % M].val();
            self.hit[i].next = i / M == group;
        }
    }

    fn connect(&mut self) {
        for i in 0..D {
            self.lanes[i].connect();
            self.hit[i].connect();
        }
    }

    fn hdl(&self) -> Verilog {
        let mut code = String::from("always @(*) begin\n");
        for i in 0..D {
            code.push_str(&format!(
                "    lanes${i} = values${};\n    hit${i} = group == 8'd{};\n",
                i % M,
                i / M
            ));
        }
        code.push_str("end");
        Verilog::Custom(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_takes_lane_index_and_lane_0_out_of_range() {
        let mut select = LaneSelect::<3, 48>::default();
        select.connect_all();
        for (i, value) in [5u64, 1 << 47, 0xffff_ffff_ffff].into_iter().enumerate() {
            select.lanes[i].next = bits::<48>(value);
        }
        for (index, want) in [
            (0u64, 5u64),
            (1, 1 << 47),
            (2, 0xffff_ffff_ffff),
            (3, 5),
            (255, 5),
        ] {
            select.index.next = bits::<8>(index);
            assert!(simulate(&mut select, 10));
            assert_eq!(select.lane.val(), bits::<48>(want), "index {index}");
        }
    }

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
