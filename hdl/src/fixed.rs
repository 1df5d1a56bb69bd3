//! Fixed-point pieces for datapaths wider than rust-hdl's 16x16 multiply:
//! a signed x unsigned product, the one round-half-up arithmetic shift with
//! saturation to 16 bits, and sign extension.
//!
//! ```text
//!  SignExtend:    N-bit two's complement -> M bits, the sign bit copied up
//!  WideProduct:   a (A-bit two's complement) * b (16-bit unsigned), 64 bits
//!                 Verilog:  $signed(a) * $signed({1'b0, b})
//!                 model:    a[15:0]*b + (a[31:16]*b << 16) + ...
//!                           - (a < 0 ? b << A : 0)               (mod 2^64)
//!  ShiftRight:    y = x >>> k   (arithmetic)
//!  Saturate16:    y clamped to [-2^15, 2^15 - 1]
//!  RoundShift:    y = (x + 2^(k-1)) >>> k   (half-up, k >= 1), and saturated
//!  PipelinedProduct: a * b + bias in two clocked stages (48 x 16 bits)
//! ```
//! Both work on raw two's complement bits (`Bits`), so no signed cast is
//! involved (rust-hdl's `signed_bit_cast` overflows the stack on the most
//! negative value).

use rust_hdl::prelude::*;

/// `a * b` for a signed `A`-bit `a` (16 to 48 bits) and an unsigned
/// 16-bit `b`, exact, as 64-bit two's complement. Combinational.
///
/// The simulation model composes the product from 16x16 partial products
/// (rust-hdl multiplies at most 16x16 bits); the Verilog is one signed
/// multiply, written by hand. Both are exact, so they agree bit for bit
/// (every back end's test compares them through the blocks). The one
/// multiply is also the better hardware: yosys maps it onto the DSPs' own
/// adders, where the partial-product sum cost fabric adders (about a third
/// of sdpa's LUTs, the same DSPs: docs/BLOCKS.md), and Verilator evaluates
/// one 64-bit multiply instead of three and their sum. `A` is the width
/// the product needs: a DSP48 multiplies 25 x 18 bits, so `A <= 24` is one
/// DSP and each further 17 bits of `a` another.
#[derive(LogicBlock)]
pub struct WideProduct<const A: usize> {
    /// Signed operand (two's complement bits).
    pub a: Signal<In, Bits<A>>,
    /// Unsigned operand.
    pub b: Signal<In, Bits<16>>,
    /// The product (two's complement bits).
    pub product: Signal<Out, Bits<64>>,
}

impl<const A: usize> Default for WideProduct<A> {
    fn default() -> Self {
        assert!(
            (16..=48).contains(&A),
            "a wide product's signed operand has 16 to 48 bits"
        );
        Self {
            a: Default::default(),
            b: Default::default(),
            product: Default::default(),
        }
    }
}

impl<const A: usize> Logic for WideProduct<A> {
    fn update(&mut self) {
        let (a, b) = (bit_cast::<64, A>(self.a.val()), self.b.val());
        let mut partial = Bits::<64>::default();
        for chunk in 0..A.div_ceil(16) {
            partial = partial + (bit_cast::<64, 32>(a.get_bits::<16>(16 * chunk) * b) << (16 * chunk as u64));
        }
        let correction = if a.get_bit(A - 1) {
            bit_cast::<64, 16>(b) << (A as u64)
        } else {
            Bits::<64>::default()
        };
        self.product.next = partial - correction;
    }

    fn connect(&mut self) {
        self.product.connect();
    }

    fn hdl(&self) -> Verilog {
        // both operands signed, so both are sign-extended to the 64-bit
        // result before multiplying; {1'b0, b} keeps b non-negative
        Verilog::Custom("always @(*) product = $signed(a) * $signed({1'b0, b});".into())
    }
}

/// `value` (N-bit two's complement) widened to M bits, its sign bit copied
/// into the new high bits. Combinational.
///
/// A sub-block rather than an expression so that a block can widen one
/// value per lane in an unrolled loop: rust-hdl's `bit_cast` evaluates its
/// argument when the Verilog is written, where the loop index does not
/// exist, and a shared temporary reused by every lane would break
/// Verilator's per-variable scheduling (see `hwformer_sim::verilator`).
#[derive(LogicBlock)]
pub struct SignExtend<const N: usize, const M: usize> {
    /// The value (two's complement bits).
    pub value: Signal<In, Bits<N>>,
    /// The same value in M bits.
    pub extended: Signal<Out, Bits<M>>,
    fill_if_negative: Signal<Local, Bits<M>>,
    sign_bit: Constant<Bits<8>>,
    fill: Constant<Bits<M>>,
}

impl<const N: usize, const M: usize> Default for SignExtend<N, M> {
    fn default() -> Self {
        assert!(
            1 <= N && N < M && M <= 64,
            "sign extension from N to M bits needs 1 <= N < M <= 64"
        );
        let high_ones = (u64::MAX >> (64 - M)) & !((1u64 << N) - 1);
        Self {
            value: Default::default(),
            extended: Default::default(),
            fill_if_negative: Default::default(),
            sign_bit: Constant::new(bits::<8>(N as u64 - 1)),
            fill: Constant::new(bits::<M>(high_ones)),
        }
    }
}

impl<const N: usize, const M: usize> Logic for SignExtend<N, M> {
    #[hdl_gen]
    fn update(&mut self) {
        self.fill_if_negative.next = 0.into();
        if self.value.val().get_bit(self.sign_bit.val().index()) {
            self.fill_if_negative.next = self.fill.val();
        }
        self.extended.next = bit_cast::<M, N>(self.value.val()) | self.fill_if_negative.val();
    }
}

/// `value >> shift`, arithmetic (the sign bit copied in from the left).
/// Combinational; `shift` from 0 to 63.
#[derive(LogicBlock)]
pub struct ShiftRight {
    /// Value (64-bit two's complement bits).
    pub value: Signal<In, Bits<64>>,
    /// Right shift.
    pub shift: Signal<In, Bits<7>>,
    /// The shifted value.
    pub shifted: Signal<Out, Bits<64>>,
    fill: Signal<Local, Bits<64>>,
    ones: Constant<Bits<64>>,
}

impl Default for ShiftRight {
    fn default() -> Self {
        Self {
            value: Default::default(),
            shift: Default::default(),
            shifted: Default::default(),
            fill: Default::default(),
            ones: Constant::new(bits::<64>(u64::MAX)),
        }
    }
}

impl Logic for ShiftRight {
    #[hdl_gen]
    fn update(&mut self) {
        self.fill.next = 0.into();
        if self.value.val().get_bit(63) {
            self.fill.next = !(self.ones.val() >> self.shift.val());
        }
        self.shifted.next = (self.value.val() >> self.shift.val()) | self.fill.val();
    }
}

/// `value` clamped to the signed 16-bit range; `clipped` says when it was.
/// Combinational.
#[derive(LogicBlock)]
pub struct Saturate16 {
    /// Value (64-bit two's complement bits).
    pub value: Signal<In, Bits<64>>,
    /// The value, saturated to signed 16 bits.
    pub saturated: Signal<Out, Bits<16>>,
    /// High when `saturated` is not `value`.
    pub clipped: Signal<Out, Bit>,
    upper: Signal<Local, Bits<64>>,
    clamped: Signal<Local, Bits<16>>,
    ones: Constant<Bits<64>>,
}

impl Default for Saturate16 {
    fn default() -> Self {
        Self {
            value: Default::default(),
            saturated: Default::default(),
            clipped: Default::default(),
            upper: Default::default(),
            clamped: Default::default(),
            ones: Constant::new(bits::<64>(u64::MAX)),
        }
    }
}

impl Logic for Saturate16 {
    #[hdl_gen]
    fn update(&mut self) {
        // in range when bits 63..15 are all equal
        self.upper.next = self.value.val() >> 15;
        self.clamped.next = self.value.val().get_bits::<16>(0);
        self.clipped.next = false;
        if (self.upper.val() != 0) & (self.upper.val() != (self.ones.val() >> 15)) {
            self.clipped.next = true;
            self.clamped.next = 0x7fff.into();
            if self.value.val().get_bit(63) {
                self.clamped.next = 0x8000.into();
            }
        }
        // outputs are written once per evaluation (see WideProduct)
        self.saturated.next = self.clamped.val();
    }
}

/// `x / 2^shift` rounded half-up (arithmetic): `(x + 2^(shift-1)) >> shift`,
/// and that value saturated to a signed 16-bit range (`clipped` says when
/// it was). Combinational; `shift` from 1 to 62.
#[derive(LogicBlock)]
pub struct RoundShift {
    /// Value (64-bit two's complement bits).
    pub value: Signal<In, Bits<64>>,
    /// Right shift, at least 1.
    pub shift: Signal<In, Bits<7>>,
    /// The rounded, shifted value (64-bit two's complement bits).
    pub shifted: Signal<Out, Bits<64>>,
    /// The same, saturated to signed 16 bits.
    pub saturated: Signal<Out, Bits<16>>,
    /// High when `saturated` is not `shifted` (the value was clipped).
    pub clipped: Signal<Out, Bit>,
    shifter: ShiftRight,
    saturate: Saturate16,
    one: Constant<Bits<64>>,
}

impl Default for RoundShift {
    fn default() -> Self {
        Self {
            value: Default::default(),
            shift: Default::default(),
            shifted: Default::default(),
            saturated: Default::default(),
            clipped: Default::default(),
            shifter: Default::default(),
            saturate: Default::default(),
            one: Constant::new(bits::<64>(1)),
        }
    }
}

impl Logic for RoundShift {
    #[hdl_gen]
    fn update(&mut self) {
        self.shifter.value.next = self.value.val() + (self.one.val() << (self.shift.val() - 1));
        self.shifter.shift.next = self.shift.val();
        self.saturate.value.next = self.shifter.shifted.val();
        self.shifted.next = self.shifter.shifted.val();
        self.saturated.next = self.saturate.saturated.val();
        self.clipped.next = self.saturate.clipped.val();
    }
}

/// `a * b + bias` for a signed 48-bit `a` and an unsigned 16-bit `b`,
/// exact, as 64-bit two's complement, two enabled clock edges after `a`,
/// `b` and `bias` are presented (both stages move when `enable` is high).
///
/// ```text
///  a[47:24] (signed) * b ──▶ [hi] ─┐
///  a[23:0] (unsigned) * b ──▶ [lo] ─┴─▶ (hi << 24) + lo + bias ──▶ [product]
/// ```
/// Each partial product is one DSP48 (at most 25 x 17 bits) with its
/// output register, so no path crosses two DSPs; the sum of the two is one
/// fabric adder. The multiply behind a rescale by an exponential
/// (`bias = 2^14`, then bits 62:15) and behind the normalizer's output.
#[derive(LogicBlock)]
pub struct PipelinedProduct {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The stages move at this edge.
    pub enable: Signal<In, Bit>,
    /// Signed operand (two's complement bits).
    pub a: Signal<In, Bits<48>>,
    /// Unsigned operand.
    pub b: Signal<In, Bits<16>>,
    /// Added to the product (a rounding bias).
    pub bias: Signal<In, Bits<64>>,
    /// `a * b + bias` of the operands two edges ago.
    pub product: Signal<Out, Bits<64>>,
    high_product: WideProduct<24>,
    low_product: WideProduct<25>,
    high: DFF<Bits<40>>,
    low: DFF<Bits<40>>,
    bias1: DFF<Bits<64>>,
    high_wide: SignExtend<40, 64>,
    sum: DFF<Bits<64>>,
}

impl Default for PipelinedProduct {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            enable: Default::default(),
            a: Default::default(),
            b: Default::default(),
            bias: Default::default(),
            product: Default::default(),
            high_product: Default::default(),
            low_product: Default::default(),
            high: Default::default(),
            low: Default::default(),
            bias1: Default::default(),
            high_wide: Default::default(),
            sum: Default::default(),
        }
    }
}

impl Logic for PipelinedProduct {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, high, low, bias1, sum);
        self.high_product.a.next = self.a.val().get_bits::<24>(24);
        self.high_product.b.next = self.b.val();
        self.low_product.a.next = bit_cast::<25, 24>(self.a.val().get_bits::<24>(0));
        self.low_product.b.next = self.b.val();
        self.high_wide.value.next = self.high.q.val();
        if self.enable.val() {
            self.high.d.next = self.high_product.product.val().get_bits::<40>(0);
            self.low.d.next = self.low_product.product.val().get_bits::<40>(0);
            self.bias1.d.next = self.bias.val();
            self.sum.d.next = (self.high_wide.extended.val() << 24)
                + bit_cast::<64, 40>(self.low.q.val())
                + self.bias1.q.val();
        }
        self.product.next = self.sum.q.val();
    }
}
