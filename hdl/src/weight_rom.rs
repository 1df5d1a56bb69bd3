//! A ROM with a registered read and a read enable: weights and biases held
//! on chip, filled from the block's weights when the Verilog is written.
//!
//! ```text
//!  address ──▶ [ words × W bits ] ──▶ (enable) ──▶ [register] ──▶ data
//! ```
//!
//! The register read is what lets synthesis place a large table in block
//! RAM (a Xilinx BRAM has a registered output); the enable holds `data`
//! while the pipeline reading it stalls. Its Verilog is written by hand;
//! the words go to a memory file read by `$readmemh`
//! (`export::memory_verilog`).

use rust_hdl::prelude::*;

/// Widest address (words up to 2^24).
pub const ROM_ADDRESS_BITS: usize = 24;

/// `data <= words[address]` at each clock edge while `enable` is high.
#[derive(LogicBlock)]
pub struct WeightRom<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Read at the edge while high; `data` holds otherwise.
    pub enable: Signal<In, Bit>,
    /// Word to read (only its low bits, the bits the depth needs, are used).
    pub address: Signal<In, Bits<ROM_ADDRESS_BITS>>,
    /// The word read at the last enabled edge (0 before the first).
    pub data: Signal<Out, Bits<W>>,
    /// The words (a leading underscore keeps rust-hdl from treating it as a port).
    _words: Vec<Bits<W>>,
    _address_mask: usize,
    _value: Bits<W>,
}

impl<const W: usize> WeightRom<W> {
    /// A ROM of `words` (at least two: a lone word gets a zero beside
    /// it). The read is one plain memory port that synthesis can map to
    /// block RAM, with no range check beside it: the readers never ask
    /// past the last word (the model reads zero there, the Verilog leaves
    /// it undefined). The depth is not padded to a power of two, which
    /// would take up to twice the block RAM (MiniLM's FFN: 73 728 words,
    /// not 131 072).
    pub fn new(mut words: Vec<Bits<W>>) -> Self {
        assert!(words.len() <= 1 << ROM_ADDRESS_BITS, "at most 2^24 words");
        words.resize(words.len().max(2), Bits::default());
        Self {
            clock: Default::default(),
            enable: Default::default(),
            address: Default::default(),
            data: Default::default(),
            _address_mask: words.len().next_power_of_two() - 1,
            _words: words,
            _value: Bits::default(),
        }
    }

    /// A ROM of `W / lane_bits` lanes a word from `lanes` (lane 0 in the low
    /// bits; each value's two's complement, `lane_bits` wide).
    pub fn from_lanes(lanes: &[Vec<i64>], lane_bits: usize) -> Self {
        assert!(
            lane_bits <= 64 && W % lane_bits == 0,
            "whole lanes of at most 64 bits"
        );
        let mask = if lane_bits == 64 {
            u64::MAX
        } else {
            (1u64 << lane_bits) - 1
        };
        Self::new(
            lanes
                .iter()
                .map(|word| {
                    let mut bits = Bits::<W>::default();
                    for (i, &v) in word.iter().enumerate() {
                        let lane: Bits<64> = (v as u64 & mask).to_bits();
                        for b in 0..lane_bits {
                            if lane.get_bit(b) {
                                bits = bits.replace_bit(i * lane_bits + b, true);
                            }
                        }
                    }
                    bits
                })
                .collect(),
        )
    }

    /// Number of words.
    pub fn depth(&self) -> usize {
        self._words.len()
    }

    /// Address bits the ROM reads: enough for its last word.
    fn address_bits(&self) -> usize {
        self._address_mask.count_ones() as usize
    }
}

impl<const W: usize> Logic for WeightRom<W> {
    fn update(&mut self) {
        if self.clock.pos_edge() && self.enable.val() {
            let at = self.address.val().index() & self._address_mask;
            self._value = self._words.get(at).copied().unwrap_or_default();
        }
        self.data.next = self._value;
    }

    fn connect(&mut self) {
        self.data.connect();
    }

    fn hdl(&self) -> Verilog {
        let hex_digits = W.div_ceil(4);
        let words = self._words.iter().map(|word| {
            let mut hex = String::with_capacity(hex_digits);
            for digit in (0..hex_digits).rev() {
                let mut nibble = 0u32;
                for b in 0..4 {
                    let bit = 4 * digit + b;
                    if bit < W && word.get_bit(bit) {
                        nibble |= 1 << b;
                    }
                }
                hex.push(char::from_digit(nibble, 16).expect("a nibble"));
            }
            hex
        });
        let mut text = format!(
            "reg [{top}:0] words [0:{last}];\nreg [{top}:0] value;\ninitial value = {W}'d0;\n",
            top = W - 1,
            last = self._words.len() - 1,
        );
        text.push_str(&crate::export::memory_verilog("words", words));
        text.push_str(&format!(
            "always @(posedge clock) if (enable) value <= words[address[{top_bit}:0]];\n\
             always @(*) data = value;",
            top_bit = self.address_bits() - 1
        ));
        Verilog::Custom(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_at_enabled_edges_and_holds_otherwise() {
        let mut rom = WeightRom::<32>::from_lanes(&[vec![1, -1], vec![-32768, 32767], vec![5, 6]], 16);
        rom.connect_all();
        let read = |rom: &mut WeightRom<32>, address: u64, enable: bool| {
            rom.address.next = bits::<24>(address);
            rom.enable.next = enable;
            rom.clock.next = false.into();
            assert!(simulate(rom, 10));
            rom.clock.next = true.into();
            assert!(simulate(rom, 10));
            rom.data.val().to_u64()
        };
        assert_eq!(read(&mut rom, 0, true), 0xffff_0001);
        assert_eq!(read(&mut rom, 1, false), 0xffff_0001, "held without enable");
        assert_eq!(read(&mut rom, 1, true), 0x7fff_8000);
        assert_eq!(
            read(&mut rom, 3, true),
            0,
            "past the last word: zero in the model"
        );
        assert_eq!(read(&mut rom, 6, true), 0x0006_0005, "the low 2 address bits");
        assert_eq!(rom.depth(), 3, "not padded to a power of two");
        let text = rom.hdl_text();
        let (split, files) =
            crate::export::split_memories(&format!("module rom_test(clock);\n{text}\nendmodule\n"));
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "rom_test.mem");
        assert_eq!(files[0].text, "ffff0001\n7fff8000\n00060005\n");
        assert!(split.contains("$readmemh(\"rom_test.mem\", words);"), "{split}");
        assert!(split.contains("\"/rom_test.mem\"}, words);"), "{split}");
        assert!(!split.contains("//@"), "{split}");
        assert!(text.contains("value <= words[address[1:0]];"), "{text}");
    }

    trait HdlText {
        fn hdl_text(&self) -> String;
    }
    impl<const W: usize> HdlText for WeightRom<W> {
        fn hdl_text(&self) -> String {
            match self.hdl() {
                Verilog::Custom(t) => t,
                _ => String::new(),
            }
        }
    }
}
