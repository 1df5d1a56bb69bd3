//! The hashing pieces of binary attention, combinational, with
//! hand-written Verilog: [`SignProjection`] maps a vector of `D` signed
//! 16-bit lanes to up to 64 sign bits through a ±1 matrix (adders only),
//! [`Popcount`] counts the set bits of a 64-bit word.
//!
//! ```text
//!  x_0 .. x_{D-1} ─▶ row r: ±x_0 ±x_1 ... ±x_{D-1} >= 0 ? ─▶ code[r]   (rows >= bits: 0)
//!  word ─▶ word[0] + word[1] + ... + word[63] ─▶ count
//! ```
//!
//! Their Verilog is one sum per row and one sum of bits, which synthesis
//! builds as balanced adder trees; rust-hdl's `#[hdl_gen]` could only
//! write them as chains.

use rust_hdl::prelude::*;

/// Sum widths: `|sum| <= 64 * 2^15 = 2^21`, so 24 bits hold any row.
const SUM_BITS: usize = 24;

/// `code[r] = (sum_i R[r][i] x_i >= 0)` for the rows of a ±1 matrix `R`
/// (`bits` rows of `D`); bits at and above `bits` are 0. `W = 16 D`.
#[derive(LogicBlock)]
pub struct SignProjection<const D: usize, const W: usize> {
    /// The vector, lane 0 in the low bits.
    pub x: Signal<In, Bits<W>>,
    /// The code, row 0 in bit 0.
    pub code: Signal<Out, Bits<64>>,
    /// The rows' signs (a leading underscore keeps rust-hdl from treating it as a port).
    _plus: Vec<Vec<bool>>,
}

impl<const D: usize, const W: usize> SignProjection<D, W> {
    /// The projection of `weights` (`bits` rows of `D`, row-major, each
    /// +1 or -1; at most 64 rows).
    pub fn new(weights: &[i64]) -> Self {
        assert_eq!(W, 16 * D, "W must be 16 D");
        assert!(
            weights.len() % D == 0 && weights.len() / D <= 64,
            "at most 64 rows of D weights"
        );
        assert!(weights.iter().all(|w| w.abs() == 1), "weights are +1 or -1");
        Self {
            x: Default::default(),
            code: Default::default(),
            _plus: weights
                .chunks(D)
                .map(|row| row.iter().map(|&w| w > 0).collect())
                .collect(),
        }
    }
}

impl<const D: usize, const W: usize> Logic for SignProjection<D, W> {
    fn update(&mut self) {
        let x = self.x.val();
        let lanes: Vec<i64> = (0..D)
            .map(|i| i64::from(x.get_bits::<16>(16 * i).to_u64() as u16 as i16))
            .collect();
        let mut code = Bits::<64>::default();
        for (r, row) in self._plus.iter().enumerate() {
            let sum: i64 = row
                .iter()
                .zip(&lanes)
                .map(|(&plus, &v)| if plus { v } else { -v })
                .sum();
            if sum >= 0 {
                code = code.replace_bit(r, true);
            }
        }
        self.code.next = code;
    }

    fn connect(&mut self) {
        self.code.connect();
    }

    fn hdl(&self) -> Verilog {
        let mut text = String::new();
        for i in 0..D {
            text.push_str(&format!(
                "wire signed [{top}:0] x_{i} = {{{{{pad}{{x[{msb}]}}}}, x[{msb}:{lsb}]}};\n",
                top = SUM_BITS - 1,
                pad = SUM_BITS - 16,
                msb = 16 * i + 15,
                lsb = 16 * i
            ));
        }
        text.push_str("always @(*) begin\n    code = 64'd0;\n");
        for (r, row) in self._plus.iter().enumerate() {
            let terms: String = row
                .iter()
                .enumerate()
                .map(|(i, &plus)| format!(" {} x_{i}", if plus { '+' } else { '-' }))
                .collect();
            text.push_str(&format!("    code[{r}] = ({terms}) >= {SUM_BITS}'sd0;\n"));
        }
        text.push_str("end");
        Verilog::Custom(text)
    }
}

/// `count` = the number of set bits of `word`.
#[derive(LogicBlock, Default)]
pub struct Popcount {
    /// The word.
    pub word: Signal<In, Bits<64>>,
    /// Its set bits, 0 to 64.
    pub count: Signal<Out, Bits<8>>,
}

impl Logic for Popcount {
    fn update(&mut self) {
        self.count.next = bits::<8>(u64::from(self.word.val().to_u64().count_ones()));
    }

    fn connect(&mut self) {
        self.count.connect();
    }

    fn hdl(&self) -> Verilog {
        let terms: Vec<String> = (0..64).map(|i| format!("{{7'd0, word[{i}]}}")).collect();
        Verilog::Custom(format!("always @(*) count = {};", terms.join(" + ")))
    }
}
