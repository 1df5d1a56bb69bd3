//! The hashing pieces of binary attention, with hand-written Verilog:
//! [`SignProjection`] maps a vector of `D` signed 16-bit lanes to up to
//! 64 sign bits through a ±1 matrix (adders only) in
//! [`SIGN_PROJECTION_STAGES`] registered adder-tree levels, [`Popcount`]
//! counts the set bits of a 64-bit word (combinational).
//!
//! ```text
//!  x_0 .. x_{D-1} ─▶ row r: [±x_0 ±x_1] [±x_2 ±x_3] ...     level 1 (load)
//!                   ─▶ [pairs summed] ─▶ ... ─▶ [row sum]    levels 2..6 (advance)
//!                   ─▶ code[r] = row sum >= 0                (rows >= bits: 0)
//!  word ─▶ word[0] + word[1] + ... + word[63] ─▶ count
//! ```
//!
//! Each level is one adder (a LUT and carry chain) between registers, so
//! the projection adds no long path to a head's clock; rust-hdl's
//! `#[hdl_gen]` could only write the sums as chains, hence the Verilog by
//! hand, with a model of the same stages.

use rust_hdl::prelude::*;

/// Register levels of [`SignProjection`]: `log2 64` adder levels, so a
/// smaller `D` passes its sums on through the levels it does not need.
pub const SIGN_PROJECTION_STAGES: usize = 6;

/// `code[r] = (sum_i R[r][i] x_i >= 0)` for the rows of a ±1 matrix `R`
/// (`bits` rows of `D`, `D <= 64`) of the `x` taken at a `load` edge,
/// after it has moved through the later levels at
/// `SIGN_PROJECTION_STAGES - 1` `advance` edges; bits at and above `bits`
/// are 0. Level 1 takes `x` at every edge with `load` high, levels 2 to 6
/// take their predecessor at every edge with `advance` high. At power-up
/// every level holds zero sums (every row's code bit set). `W = 16 D`.
#[derive(LogicBlock)]
pub struct SignProjection<const D: usize, const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Level 1 takes `x` at this edge.
    pub load: Signal<In, Bit>,
    /// Levels 2 to 6 take their predecessor at this edge.
    pub advance: Signal<In, Bit>,
    /// The vector, lane 0 in the low bits.
    pub x: Signal<In, Bits<W>>,
    /// The code of the last level, row 0 in bit 0.
    pub code: Signal<Out, Bits<64>>,
    /// The rows' signs (a leading underscore keeps rust-hdl from treating it as a port).
    _plus: Vec<Vec<bool>>,
    /// The model: each level's code (its sums' signs are all it needs).
    _levels: [u64; SIGN_PROJECTION_STAGES],
}

impl<const D: usize, const W: usize> SignProjection<D, W> {
    /// The projection of `weights` (`bits` rows of `D`, row-major, each
    /// +1 or -1; at most 64 rows).
    pub fn new(weights: &[i64]) -> Self {
        assert_eq!(W, 16 * D, "W must be 16 D");
        assert!(D <= 1 << SIGN_PROJECTION_STAGES, "at most 64 lanes");
        assert!(
            weights.len() % D == 0 && weights.len() / D <= 64,
            "at most 64 rows of D weights"
        );
        assert!(weights.iter().all(|w| w.abs() == 1), "weights are +1 or -1");
        let plus: Vec<Vec<bool>> = weights
            .chunks(D)
            .map(|row| row.iter().map(|&w| w > 0).collect())
            .collect();
        let zero_code = code_of(&plus, &[0; D]);
        Self {
            clock: Default::default(),
            load: Default::default(),
            advance: Default::default(),
            x: Default::default(),
            code: Default::default(),
            _plus: plus,
            _levels: [zero_code; SIGN_PROJECTION_STAGES],
        }
    }
}

/// The code of `lanes`: bit `r` set when row `r`'s signed sum is >= 0.
fn code_of(plus: &[Vec<bool>], lanes: &[i64]) -> u64 {
    plus.iter().enumerate().fold(0, |code, (r, row)| {
        let sum: i64 = row
            .iter()
            .zip(lanes)
            .map(|(&plus, &v)| if plus { v } else { -v })
            .sum();
        code | (u64::from(sum >= 0) << r)
    })
}

impl<const D: usize, const W: usize> Logic for SignProjection<D, W> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            if self.advance.val() {
                self._levels.copy_within(0..SIGN_PROJECTION_STAGES - 1, 1);
            }
            if self.load.val() {
                let x = self.x.val();
                let lanes: [i64; D] =
                    std::array::from_fn(|i| i64::from(x.get_bits::<16>(16 * i).to_u64() as u16 as i16));
                self._levels[0] = code_of(&self._plus, &lanes);
            }
        }
        self.code.next = self._levels[SIGN_PROJECTION_STAGES - 1].to_bits();
    }

    fn connect(&mut self) {
        self.code.connect();
    }

    fn hdl(&self) -> Verilog {
        let mut text = String::new();
        // level k holds sums of up to 2^k lanes, each -x or x of a 16-bit
        // x: up to 2^k * 2^15 = 2^(15+k) in magnitude (-(-2^15) is +2^15),
        // so 17 + k bits
        let width = |level: usize| 17 + level;
        let extend = |name: &str, from: usize, to: usize| {
            if from == to {
                name.to_string()
            } else {
                format!("{{{{{}{{{name}[{}]}}}}, {name}}}", to - from, from - 1)
            }
        };
        for i in 0..D {
            text.push_str(&format!(
                "wire signed [15:0] x_{i} = x[{msb}:{lsb}];\n",
                msb = 16 * i + 15,
                lsb = 16 * i
            ));
        }
        let mut load = String::new();
        let mut advance = String::new();
        let mut code = String::from("always @(*) begin\n    code = 64'd0;\n");
        for (r, row) in self._plus.iter().enumerate() {
            let node = |level: usize, i: usize| format!("level{level}_row{r}_{i}");
            let mut nodes = D;
            for level in 1..=SIGN_PROJECTION_STAGES {
                let top = width(level) - 1;
                let count = nodes.div_ceil(2);
                for i in 0..count {
                    let name = node(level, i);
                    text.push_str(&format!("reg signed [{top}:0] {name} = {}'sd0;\n", top + 1));
                    let pair: Vec<usize> = (2 * i..(2 * i + 2).min(nodes)).collect();
                    if level == 1 {
                        let terms: String = pair
                            .iter()
                            .map(|&j| {
                                let sign = if row[j] { '+' } else { '-' };
                                format!(" {sign} {}", extend(&format!("x_{j}"), 16, top + 1))
                            })
                            .collect();
                        load.push_str(&format!("        {name} <={terms};\n"));
                    } else {
                        let terms: Vec<String> = pair
                            .iter()
                            .map(|&j| extend(&node(level - 1, j), top, top + 1))
                            .collect();
                        advance.push_str(&format!("        {name} <= {};\n", terms.join(" + ")));
                    }
                }
                nodes = count;
            }
            code.push_str(&format!(
                "    code[{r}] = ~{}[{}];\n",
                node(SIGN_PROJECTION_STAGES, 0),
                width(SIGN_PROJECTION_STAGES) - 1
            ));
        }
        text.push_str(&format!(
            "always @(posedge clock) begin\n    if (load) begin\n{load}    end\n    if (advance) begin\n{advance}    end\nend\n"
        ));
        code.push_str("end");
        text.push_str(&code);
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
