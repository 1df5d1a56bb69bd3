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

/// `value` clamped to the signed `N`-bit range (`N` from 2 to 32);
/// `clipped` says when it was. Combinational.
#[derive(LogicBlock)]
pub struct Saturate<const N: usize> {
    /// Value (64-bit two's complement bits).
    pub value: Signal<In, Bits<64>>,
    /// The value, saturated to signed `N` bits.
    pub saturated: Signal<Out, Bits<N>>,
    /// High when `saturated` is not `value`.
    pub clipped: Signal<Out, Bit>,
    upper: Signal<Local, Bits<64>>,
    clamped: Signal<Local, Bits<N>>,
    ones: Constant<Bits<64>>,
    sign_at: Constant<Bits<8>>,
    max: Constant<Bits<N>>,
    min: Constant<Bits<N>>,
}

/// Saturation to signed 16 bits.
pub type Saturate16 = Saturate<16>;

impl<const N: usize> Default for Saturate<N> {
    fn default() -> Self {
        assert!((2..=32).contains(&N), "saturation to 2 to 32 bits");
        Self {
            value: Default::default(),
            saturated: Default::default(),
            clipped: Default::default(),
            upper: Default::default(),
            clamped: Default::default(),
            ones: Constant::new(bits::<64>(u64::MAX)),
            sign_at: Constant::new(bits::<8>(N as u64 - 1)),
            max: Constant::new(bits::<N>((1 << (N - 1)) - 1)),
            min: Constant::new(bits::<N>(1 << (N - 1))),
        }
    }
}

impl<const N: usize> Logic for Saturate<N> {
    #[hdl_gen]
    fn update(&mut self) {
        // in range when bits 63..N-1 are all equal
        self.upper.next = self.value.val() >> self.sign_at.val();
        self.clamped.next = self.value.val().get_bits::<N>(0);
        self.clipped.next = false;
        if (self.upper.val() != 0) & (self.upper.val() != (self.ones.val() >> self.sign_at.val())) {
            self.clipped.next = true;
            self.clamped.next = self.max.val();
            if self.value.val().get_bit(63) {
                self.clamped.next = self.min.val();
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

/// The position of the leading one of a 32-bit value (0 for 0 and for 1),
/// by a balanced tree of halves: the upper half if it is not zero, then
/// the upper half of that, ... (five levels, not a 32-deep chain).
/// Combinational.
#[derive(LogicBlock, Default)]
pub struct LeadingOne32 {
    /// The value.
    pub value: Signal<In, Bits<32>>,
    /// Its leading one's bit position.
    pub position: Signal<Out, Bits<5>>,
    top16: Signal<Local, Bit>,
    half16: Signal<Local, Bits<16>>,
    top8: Signal<Local, Bit>,
    half8: Signal<Local, Bits<8>>,
    top4: Signal<Local, Bit>,
    half4: Signal<Local, Bits<4>>,
    top2: Signal<Local, Bit>,
    half2: Signal<Local, Bits<2>>,
    found: Signal<Local, Bits<5>>,
}

impl Logic for LeadingOne32 {
    #[hdl_gen]
    fn update(&mut self) {
        self.top16.next = self.value.val().get_bits::<16>(16) != 0;
        self.half16.next = self.value.val().get_bits::<16>(0);
        if self.top16.val() {
            self.half16.next = self.value.val().get_bits::<16>(16);
        }
        self.top8.next = self.half16.val().get_bits::<8>(8) != 0;
        self.half8.next = self.half16.val().get_bits::<8>(0);
        if self.top8.val() {
            self.half8.next = self.half16.val().get_bits::<8>(8);
        }
        self.top4.next = self.half8.val().get_bits::<4>(4) != 0;
        self.half4.next = self.half8.val().get_bits::<4>(0);
        if self.top4.val() {
            self.half4.next = self.half8.val().get_bits::<4>(4);
        }
        self.top2.next = self.half4.val().get_bits::<2>(2) != 0;
        self.half2.next = self.half4.val().get_bits::<2>(0);
        if self.top2.val() {
            self.half2.next = self.half4.val().get_bits::<2>(2);
        }
        self.found.next = 0.into();
        if self.top16.val() {
            self.found.next = self.found.val() + 16;
        }
        if self.top8.val() {
            self.found.next = self.found.val() + 8;
        }
        if self.top4.val() {
            self.found.next = self.found.val() + 4;
        }
        if self.top2.val() {
            self.found.next = self.found.val() + 2;
        }
        if self.half2.val().get_bit(1) {
            self.found.next = self.found.val() + 1;
        }
        self.position.next = self.found.val();
    }
}

/// The first stage of a 48 x 16 multiply: `a[47:24] * b` (signed) and
/// `a[23:0] * b` (unsigned), each one DSP48 (at most 25 x 17 bits) with
/// its output register, moving when enabled.
#[derive(LogicBlock, Default)]
pub struct PartialProducts {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The registers take new products at this edge.
    pub enable: Signal<In, Bit>,
    /// Signed operand (two's complement bits).
    pub a: Signal<In, Bits<48>>,
    /// Unsigned operand.
    pub b: Signal<In, Bits<16>>,
    /// `a[47:24] * b`, signed, registered.
    pub high: Signal<Out, Bits<40>>,
    /// `a[23:0] * b`, unsigned, registered.
    pub low: Signal<Out, Bits<40>>,
    high_product: WideProduct<24>,
    low_product: WideProduct<25>,
    high_reg: DFF<Bits<40>>,
    low_reg: DFF<Bits<40>>,
}

impl Logic for PartialProducts {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, high_reg, low_reg);
        self.high_product.a.next = self.a.val().get_bits::<24>(24);
        self.high_product.b.next = self.b.val();
        self.low_product.a.next = bit_cast::<25, 24>(self.a.val().get_bits::<24>(0));
        self.low_product.b.next = self.b.val();
        if self.enable.val() {
            self.high_reg.d.next = self.high_product.product.val().get_bits::<40>(0);
            self.low_reg.d.next = self.low_product.product.val().get_bits::<40>(0);
        }
        self.high.next = self.high_reg.q.val();
        self.low.next = self.low_reg.q.val();
    }
}

/// `a * b` for a signed 48-bit `a` and an unsigned 16-bit `b`, exact, as
/// 64-bit two's complement, two enabled clock edges after the operands.
///
/// ```text
///  [PartialProducts: high, low] ─▶ { high + low[39:24], low[23:0] } ─▶ [product]
/// ```
/// The low 24 bits of `low` are the product's own, so the sum is one
/// 40-bit adder, not a 64-bit one.
#[derive(LogicBlock, Default)]
pub struct PipelinedProduct {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The stages move at this edge.
    pub enable: Signal<In, Bit>,
    /// Signed operand (two's complement bits).
    pub a: Signal<In, Bits<48>>,
    /// Unsigned operand.
    pub b: Signal<In, Bits<16>>,
    /// `a * b` of the operands two enabled edges ago.
    pub product: Signal<Out, Bits<64>>,
    partial: PartialProducts,
    upper: DFF<Bits<40>>,
    lower: DFF<Bits<24>>,
    upper_wide: SignExtend<40, 64>,
}

impl Logic for PipelinedProduct {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, upper, lower);
        self.partial.clock.next = self.clock.val();
        self.partial.enable.next = self.enable.val();
        self.partial.a.next = self.a.val();
        self.partial.b.next = self.b.val();
        if self.enable.val() {
            self.upper.d.next = self.partial.high.val() + (self.partial.low.val() >> 24);
            self.lower.d.next = self.partial.low.val().get_bits::<24>(0);
        }
        self.upper_wide.value.next = self.upper.q.val();
        self.product.next = (self.upper_wide.extended.val() << 24) | bit_cast::<64, 24>(self.lower.q.val());
    }
}

/// `round(a * f / 2^15)` (half-up) for a signed 48-bit `a` and an unsigned
/// UQ1.15 factor `f`: the rescale of a running sum or accumulator by an
/// exponential, two enabled edges after the operands. With
/// `a * f = high 2^24 + low`:
///
/// ```text
///  x = (low[39:14] + 1) >> 1              (= (low + 2^14) >> 15)
///  rescaled = { high + x[24:9], x[8:0] }  (= (a f + 2^14) >> 15)
/// ```
/// two short adders (26 and 40 bits) instead of one 64-bit sum.
#[derive(LogicBlock, Default)]
pub struct PipelinedRescale {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The stages move at this edge.
    pub enable: Signal<In, Bit>,
    /// Signed operand (two's complement bits, `|a| < 2^47`).
    pub a: Signal<In, Bits<48>>,
    /// The factor, UQ1.15.
    pub factor: Signal<In, Bits<16>>,
    /// `round(a * factor / 2^15)`, two enabled edges later.
    pub rescaled: Signal<Out, Bits<48>>,
    partial: PartialProducts,
    rounded_low: Signal<Local, Bits<26>>,
    result: DFF<Bits<48>>,
}

impl Logic for PipelinedRescale {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, result);
        self.partial.clock.next = self.clock.val();
        self.partial.enable.next = self.enable.val();
        self.partial.a.next = self.a.val();
        self.partial.b.next = self.factor.val();
        self.rounded_low.next = (self.partial.low.val().get_bits::<26>(14) + 1) >> 1;
        if self.enable.val() {
            self.result.d.next = (bit_cast::<48, 40>(
                self.partial.high.val() + bit_cast::<40, 16>(self.rounded_low.val().get_bits::<16>(9)),
            ) << 9)
                | bit_cast::<48, 9>(self.rounded_low.val().get_bits::<9>(0));
        }
        self.rescaled.next = self.result.q.val();
    }
}

/// `round(x / 2^shift)` (half-up, arithmetic) saturated to signed 16 bits,
/// in three enabled stages, for `shift` from 1 to 63 (given as
/// `pre_shift = shift - 1`, best from a register: it drives a 64-bit
/// shifter): the result and the `clipped` flag equal [`RoundShift`]'s.
/// With `q = x >> (shift - 1)`,
/// `round(x / 2^shift) + b = (q + 1 + 2b) >> 1` for an integer addend `b`
/// (16 bits; 0 for none); `q` is first clamped to 18 bits, which changes
/// neither the saturated result nor `clipped` (a clamped `q` gives
/// `|round + b| >= 2^16 - 2^15`):
///
/// ```text
///  [1] x >>> (shift - 1)                               (a shift, no adder)
///  [2] q = clamp(that, -2^17, 2^17 - 1)
///  [3] y = saturate16((q + 1 + 2b) >>> 1)              (a 20-bit adder)
/// ```
#[derive(LogicBlock, Default)]
pub struct PipelinedRoundShift {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The stages move at this edge.
    pub enable: Signal<In, Bit>,
    /// Value (64-bit two's complement bits).
    pub value: Signal<In, Bits<64>>,
    /// The right shift less one, 0 to 62 (held while values are in flight).
    pub pre_shift: Signal<In, Bits<7>>,
    /// Added to the rounded value before it saturates: read at stage 3,
    /// two enabled edges after its `value` (0 for none).
    pub addend: Signal<In, Bits<16>>,
    /// The rounded, saturated value, three enabled edges later.
    pub saturated: Signal<Out, Bits<16>>,
    /// High when it was clipped.
    pub clipped: Signal<Out, Bit>,
    shifter: ShiftRight,
    shifted: DFF<Bits<64>>,
    clamp: Saturate<18>,
    clamped: DFF<Bits<18>>,
    q_wide: SignExtend<18, 20>,
    addend_wide: SignExtend<16, 20>,
    halved: Signal<Local, Bits<20>>,
    halved_wide: SignExtend<19, 64>,
    saturate: Saturate16,
    y: DFF<Bits<16>>,
    y_clipped: DFF<Bit>,
}

impl Logic for PipelinedRoundShift {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, shifted, clamped, y, y_clipped);
        self.shifter.value.next = self.value.val();
        self.shifter.shift.next = self.pre_shift.val();
        self.clamp.value.next = self.shifted.q.val();
        // (q + 1 + 2b) >>> 1 in 20 bits (no overflow: |q| <= 2^17,
        // |2b| <= 2^16); its bits 19:1 are the 19-bit result
        self.q_wide.value.next = self.clamped.q.val();
        self.addend_wide.value.next = self.addend.val();
        // one adder: 2b has a zero low bit, so 2b + 1 is 2b | 1
        self.halved.next = self.q_wide.extended.val() + ((self.addend_wide.extended.val() << 1) | 1);
        self.halved_wide.value.next = self.halved.val().get_bits::<19>(1);
        self.saturate.value.next = self.halved_wide.extended.val();
        if self.enable.val() {
            self.shifted.d.next = self.shifter.shifted.val();
            self.clamped.d.next = self.clamp.saturated.val();
            self.y.d.next = self.saturate.saturated.val();
            self.y_clipped.d.next = self.saturate.clipped.val();
        }
        self.saturated.next = self.y.q.val();
        self.clipped.next = self.y_clipped.q.val();
    }
}
