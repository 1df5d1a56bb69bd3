//! Layer normalization of one token, one element a cycle: the hardware
//! form of `hwformer_quant::integer::layer_norm::IntLayerNorm`, gamma and
//! beta in ROM.
//!
//! ```text
//!  x ─▶ [token buffer: 3 slots × n × 16] ── while loading: S = Σ x, Q = Σ x²
//!        token loaded ─▶ setup (8 cycles): [n Q, S²] ─▶ D 2^12 + eps ─▶ InvSqrt ─▶ inv, shift (per slot)
//!  read element i of the oldest set-up token:
//!   [1] x_i, S, inv, shift; gamma_i, beta_i (registered ROM read)
//!   [2] c = n x_i - S          [3] c · inv
//!   [4] z = round(c inv / 2^(shift - fz)), saturated
//!   [5] z gamma_i + beta_i 2^fz        [y] round, saturate ─▶ y
//! ```
//!
//! Three slots: one token loads while one is set up or read and one is
//! read, so a token a `n` cycles streams through at one element a cycle
//! whatever the setup (two slots would cost half the setup a token). A
//! token can be read [`LAYER_NORM_TIMING`]`.setup_cycles` after its last
//! beat; while a setup runs, the next token's last beat waits (one
//! inverse-square-root unit). All stages move together, when `y` is free.

use crate::export::{self, ExportError, Exported};
use crate::fifo::LutRamStorage;
use crate::fixed::{PipelinedProduct, PipelinedRoundShift, ShiftRight, SignExtend, WideProduct};
use crate::inv_sqrt::{InvSqrtUnit, INV_SQRT_BUSY_CYCLES};
use crate::layer_weights::{read_weights, weights_file, LayerSettings};
use crate::linear::{check_stream_format, measured_error, token_manifest};
use crate::manifest::{Manifest, Param};
use crate::weight_rom::{WeightRom, ROM_ADDRESS_BITS};
use hwformer_quant::integer::layer_norm::{IntLayerNorm, LayerNormFormats, EPS_FRACTION_BITS};
use hwformer_quant::weights::RawTensor;
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// The layer norm's timing for its handshake graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerNormTiming {
    /// Whole tokens the buffer holds.
    pub slots: u64,
    /// Cycles after a token's last beat before it can be read: the two
    /// statistics stages, the inverse square root, the slot's register.
    pub setup_cycles: u64,
    /// Registers from a read to `y` (stages 1 to 5 and `y`).
    pub stages: u64,
}

/// Registers from a read to `y`: the read, n x, c, c inv (two), the coarse
/// shift, z (three), z gamma, the sum, y (three).
pub const OUTPUT_STAGES: usize = 14;
const _: () = assert!(OUTPUT_STAGES == 14, "the last stage is indexed [13]");

/// Registers gamma and beta pass from the ROM read (stage 2) to the
/// product z gamma (stage 10; indexed [7]).
const AFFINE_DELAY: usize = 8;

/// Registers from a token's last element to the sums it completes: the
/// element and its magnitude, its square.
const LOAD_STAGES: u64 = 2;

/// Setup stages before the inverse square root starts: |S|, the products
/// (two), S², D, D + eps, the start.
const SETUP_STAGES: usize = 7;

/// The layer norm's timing.
pub const LAYER_NORM_TIMING: LayerNormTiming = LayerNormTiming {
    slots: 3,
    setup_cycles: LOAD_STAGES + SETUP_STAGES as u64 + INV_SQRT_BUSY_CYCLES + 1,
    stages: OUTPUT_STAGES as u64,
};

/// Cycles from a token's last input beat to its first output's `tvalid`
/// when nothing stalls and the block was idle: the setup, the read, the
/// stages.
pub fn first_output_delay() -> u64 {
    LAYER_NORM_TIMING.setup_cycles + 1 + LAYER_NORM_TIMING.stages
}

/// Cycles per token in steady state, tokens back to back and nothing
/// stalling: `n`, one element a cycle, or the shared setup's `S + 1` when
/// tokens are shorter.
pub fn token_cycles(n: u64) -> u64 {
    n.max(LAYER_NORM_TIMING.setup_cycles + 1)
}

/// The layer norm unit.
#[derive(LogicBlock)]
pub struct LayerNormUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// One input element (input format).
    pub s_axis_x_tdata: Signal<In, Bits<16>>,
    /// Input valid.
    pub s_axis_x_tvalid: Signal<In, Bit>,
    /// Input ready.
    pub s_axis_x_tready: Signal<Out, Bit>,
    /// Ignored: a token is `n` beats.
    pub s_axis_x_tlast: Signal<In, Bit>,
    /// One output element (output format).
    pub m_axis_y_tdata: Signal<Out, Bits<16>>,
    /// Output valid.
    pub m_axis_y_tvalid: Signal<Out, Bit>,
    /// Output ready.
    pub m_axis_y_tready: Signal<In, Bit>,
    /// High on a token's last output element.
    pub m_axis_y_tlast: Signal<Out, Bit>,
    buffer: LutRamStorage<16>,
    affine: WeightRom<32>,
    // whole tokens held (0 to 3), those past their setup, the slots in use
    held: DFF<Bits<2>>,
    issuable: DFF<Bits<2>>,
    write_slot: DFF<Bits<2>>,
    read_slot: DFF<Bits<2>>,
    loaded: DFF<Bits<16>>,
    element: DFF<Bits<16>>,
    // the sums while loading, and the setup of the token just loaded
    sum: DFF<Bits<32>>,
    squares: DFF<Bits<48>>,
    token_sum: DFF<Bits<32>>,
    token_squares: DFF<Bits<48>>,
    setup_slot: DFF<Bits<2>>,
    // the sums' pipeline: [1] the element, |x|; [2] x²; then the sums
    l1_valid: DFF<Bit>,
    l1_last: DFF<Bit>,
    l1_slot: DFF<Bits<2>>,
    l1_x: DFF<Bits<16>>,
    l1_magnitude: DFF<Bits<16>>,
    l2_valid: DFF<Bit>,
    l2_last: DFF<Bit>,
    l2_slot: DFF<Bits<2>>,
    l2_x: DFF<Bits<16>>,
    l2_square: DFF<Bits<32>>,
    // the setup's stages ([0] = the cycle after the sums are captured)
    setup: [DFF<Bit>; SETUP_STAGES],
    setup_wait: DFF<Bit>,
    setup_last: DFF<Bit>,
    // the setup's datapath, free-running: |S|; n Q and S² (two products
    // of |S| by its halves); D = n Q - S²; D + eps 2^-12
    s_magnitude: DFF<Bits<32>>,
    q_times_n: PipelinedProduct,
    square_low: PipelinedProduct,
    square_high: PipelinedProduct,
    nq4: DFF<Bits<52>>,
    nq5: DFF<Bits<52>>,
    s_squared5: DFF<Bits<52>>,
    d6: DFF<Bits<52>>,
    v7: DFF<Bits<52>>,
    inv_sqrt: InvSqrtUnit,
    // each slot's token scale: S, the inverse square root's mantissa and shift
    sum0: DFF<Bits<32>>,
    sum1: DFF<Bits<32>>,
    sum2: DFF<Bits<32>>,
    inverse0: DFF<Bits<16>>,
    inverse1: DFF<Bits<16>>,
    inverse2: DFF<Bits<16>>,
    shift0: DFF<Bits<7>>,
    shift1: DFF<Bits<7>>,
    shift2: DFF<Bits<7>>,
    // the output stages: valid and last at every stage ([0] = stage 1, the
    // reads; [OUTPUT_STAGES - 1] = y)
    valid: [DFF<Bit>; OUTPUT_STAGES],
    last: [DFF<Bit>; OUTPUT_STAGES],
    // stage 1: reads
    x1: DFF<Bits<16>>,
    sum_1: DFF<Bits<32>>,
    inverse_1: DFF<Bits<16>>,
    pre_shift_1: DFF<Bits<7>>,
    // stage 2: n x (one DSP)
    times_n: WideProduct<16>,
    nx2: DFF<Bits<32>>,
    sum_2: DFF<Bits<32>>,
    inverse_2: DFF<Bits<16>>,
    pre_shift_2: DFF<Bits<7>>,
    // stage 3: c = n x - S
    centered3: DFF<Bits<32>>,
    inverse_3: DFF<Bits<16>>,
    pre_shift_3: DFF<Bits<7>>,
    // stages 4, 5: c · inv
    centered_wide: SignExtend<32, 48>,
    times_inverse: PipelinedProduct,
    pre_shift_4: DFF<Bits<7>>,
    pre_shift_5: DFF<Bits<7>>,
    // stage 6: the shift's multiple of 8 (three mux levels, not six)
    coarse_shift: ShiftRight,
    coarse6: DFF<Bits<64>>,
    fine_shift6: DFF<Bits<7>>,
    // stages 7 to 9: z = round(c inv / 2^(shift - fz)), saturated
    z_round: PipelinedRoundShift,
    // gamma and beta from stage 2 to stage 9
    gamma_beta: [DFF<Bits<32>>; AFFINE_DELAY],
    // stage 10: z gamma (one DSP), beta
    zg10: DFF<Bits<32>>,
    beta10: DFF<Bits<16>>,
    // stage 11: z gamma + beta 2^fz (a 40-bit adder)
    zg_wide: SignExtend<32, 40>,
    beta_wide: SignExtend<16, 40>,
    scaled11: DFF<Bits<40>>,
    // stages 12 to 14: y = round(scaled / 2^shift), saturated
    scaled_wide: SignExtend<40, 64>,
    y_round: PipelinedRoundShift,
    // the setup's pieces
    x_wide: SignExtend<16, 32>,
    // locals
    take: Signal<Local, Bit>,
    token_loaded: Signal<Local, Bit>,
    token_read: Signal<Local, Bit>,
    setup_busy: Signal<Local, Bit>,
    y_free: Signal<Local, Bit>,
    issue: Signal<Local, Bit>,
    sum_next: Signal<Local, Bits<32>>,
    squares_next: Signal<Local, Bits<48>>,
    square_upper: Signal<Local, Bits<40>>,
    write_base: Signal<Local, Bits<16>>,
    read_base: Signal<Local, Bits<16>>,
    zg: Signal<Local, Signed<32>>,
    z_pre_offset: Constant<Bits<7>>,
    y_pre_shift: Constant<Bits<7>>,
    last_input: Constant<Bits<16>>,
    slot1_base: Constant<Bits<16>>,
    slot2_base: Constant<Bits<16>>,
    n: Constant<Bits<16>>,
    eps_high: Constant<Bits<52>>,
    eps_low: Constant<Bits<64>>,
    normalized_frac: Constant<Bits<7>>,
}

impl LayerNormUnit {
    /// The unit for `model`.
    pub fn new(model: &IntLayerNorm) -> Self {
        let n = model.n();
        let words: Vec<Vec<i64>> = (0..n)
            .map(|i| vec![model.gamma_raw()[i], model.beta_raw()[i]])
            .collect();
        let f = model.formats();
        Self {
            clock: Default::default(),
            s_axis_x_tdata: Default::default(),
            s_axis_x_tvalid: Default::default(),
            s_axis_x_tready: Default::default(),
            s_axis_x_tlast: Default::default(),
            m_axis_y_tdata: Default::default(),
            m_axis_y_tvalid: Default::default(),
            m_axis_y_tready: Default::default(),
            m_axis_y_tlast: Default::default(),
            buffer: LutRamStorage::new(3 * n),
            affine: WeightRom::from_lanes(&words, 16),
            held: Default::default(),
            issuable: Default::default(),
            write_slot: Default::default(),
            read_slot: Default::default(),
            loaded: Default::default(),
            element: Default::default(),
            sum: Default::default(),
            squares: Default::default(),
            token_sum: Default::default(),
            token_squares: Default::default(),
            setup_slot: Default::default(),
            l1_valid: Default::default(),
            l1_last: Default::default(),
            l1_slot: Default::default(),
            l1_x: Default::default(),
            l1_magnitude: Default::default(),
            l2_valid: Default::default(),
            l2_last: Default::default(),
            l2_slot: Default::default(),
            l2_x: Default::default(),
            l2_square: Default::default(),
            setup: Default::default(),
            setup_wait: Default::default(),
            setup_last: Default::default(),
            s_magnitude: Default::default(),
            q_times_n: Default::default(),
            square_low: Default::default(),
            square_high: Default::default(),
            nq4: Default::default(),
            nq5: Default::default(),
            s_squared5: Default::default(),
            d6: Default::default(),
            v7: Default::default(),
            inv_sqrt: InvSqrtUnit::new(model.inv_sqrt(), EPS_FRACTION_BITS),
            sum0: Default::default(),
            sum1: Default::default(),
            sum2: Default::default(),
            inverse0: Default::default(),
            inverse1: Default::default(),
            inverse2: Default::default(),
            shift0: Default::default(),
            shift1: Default::default(),
            shift2: Default::default(),
            valid: Default::default(),
            last: Default::default(),
            x1: Default::default(),
            sum_1: Default::default(),
            inverse_1: Default::default(),
            pre_shift_1: Default::default(),
            times_n: Default::default(),
            nx2: Default::default(),
            sum_2: Default::default(),
            inverse_2: Default::default(),
            pre_shift_2: Default::default(),
            centered3: Default::default(),
            inverse_3: Default::default(),
            pre_shift_3: Default::default(),
            centered_wide: Default::default(),
            times_inverse: Default::default(),
            pre_shift_4: Default::default(),
            pre_shift_5: Default::default(),
            coarse_shift: Default::default(),
            coarse6: Default::default(),
            fine_shift6: Default::default(),
            z_round: Default::default(),
            gamma_beta: Default::default(),
            zg10: Default::default(),
            beta10: Default::default(),
            zg_wide: Default::default(),
            beta_wide: Default::default(),
            scaled11: Default::default(),
            scaled_wide: Default::default(),
            y_round: Default::default(),
            x_wide: Default::default(),
            take: Default::default(),
            token_loaded: Default::default(),
            token_read: Default::default(),
            setup_busy: Default::default(),
            y_free: Default::default(),
            issue: Default::default(),
            sum_next: Default::default(),
            squares_next: Default::default(),
            square_upper: Default::default(),
            write_base: Default::default(),
            read_base: Default::default(),
            zg: Default::default(),
            last_input: Constant::new(bits::<16>(n as u64 - 1)),
            slot1_base: Constant::new(bits::<16>(n as u64)),
            slot2_base: Constant::new(bits::<16>(2 * n as u64)),
            n: Constant::new(bits::<16>(n as u64)),
            eps_high: Constant::new(bits::<52>(model.eps_raw() >> 12)),
            eps_low: Constant::new(bits::<64>(model.eps_raw() & 0xfff)),
            // z = (c inv << 16) >> (shift - fz + 16): the shift stays >= 1;
            // the pipelined rounding takes it less one
            z_pre_offset: Constant::new(bits::<7>(15 - u64::from(f.normalized.frac()))),
            y_pre_shift: Constant::new(bits::<7>(u64::from(f.output_shift()) - 1)),
            normalized_frac: Constant::new(bits::<7>(u64::from(f.normalized.frac()))),
        }
    }
}

impl Logic for LayerNormUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            held,
            issuable,
            write_slot,
            read_slot,
            loaded,
            element,
            sum,
            squares,
            token_sum,
            token_squares,
            setup_slot,
            l1_valid,
            l1_last,
            l1_slot,
            l1_x,
            l1_magnitude,
            l2_valid,
            l2_last,
            l2_slot,
            l2_x,
            l2_square,
            setup_wait,
            setup_last,
            s_magnitude,
            nq4,
            nq5,
            s_squared5,
            d6,
            v7,
            sum0,
            sum1,
            sum2,
            inverse0,
            inverse1,
            inverse2,
            shift0,
            shift1,
            shift2,
            x1,
            sum_1,
            inverse_1,
            pre_shift_1,
            nx2,
            sum_2,
            inverse_2,
            pre_shift_2,
            centered3,
            inverse_3,
            pre_shift_3,
            pre_shift_4,
            pre_shift_5,
            coarse6,
            fine_shift6,
            zg10,
            beta10,
            scaled11
        );
        for i in 0..OUTPUT_STAGES {
            self.valid[i].clock.next = self.clock.val();
            self.valid[i].d.next = self.valid[i].q.val();
            self.last[i].clock.next = self.clock.val();
            self.last[i].d.next = self.last[i].q.val();
        }
        for i in 0..AFFINE_DELAY {
            self.gamma_beta[i].clock.next = self.clock.val();
            self.gamma_beta[i].d.next = self.gamma_beta[i].q.val();
        }
        self.times_inverse.clock.next = self.clock.val();
        self.z_round.clock.next = self.clock.val();
        self.y_round.clock.next = self.clock.val();
        self.buffer.clock.next = self.clock.val();
        self.affine.clock.next = self.clock.val();
        self.inv_sqrt.clock.next = self.clock.val();
        // load: a free slot takes n elements; a token's last element waits
        // while the previous token's setup runs
        for i in 0..SETUP_STAGES {
            self.setup[i].clock.next = self.clock.val();
        }
        self.q_times_n.clock.next = self.clock.val();
        self.square_low.clock.next = self.clock.val();
        self.square_high.clock.next = self.clock.val();
        // load: a free slot takes n elements; a token's last element waits
        // while the previous token's last element is on its way to the sums
        // or its setup runs
        self.setup_busy.next = (self.l1_valid.q.val() & self.l1_last.q.val())
            | (self.l2_valid.q.val() & self.l2_last.q.val())
            | self.setup[0].q.val()
            | self.setup[1].q.val()
            | self.setup[2].q.val()
            | self.setup[3].q.val()
            | self.setup[4].q.val()
            | self.setup[5].q.val()
            | self.setup[6].q.val()
            | self.setup_wait.q.val()
            | self.setup_last.q.val();
        self.s_axis_x_tready.next = (self.held.q.val() != 3)
            & !(self.setup_busy.val() & (self.loaded.q.val() == self.last_input.val()));
        self.take.next = self.s_axis_x_tvalid.val()
            & (self.held.q.val() != 3)
            & !(self.setup_busy.val() & (self.loaded.q.val() == self.last_input.val()));
        self.token_loaded.next = self.take.val() & (self.loaded.q.val() == self.last_input.val());
        self.write_base.next = 0.into();
        if self.write_slot.q.val() == 1 {
            self.write_base.next = self.slot1_base.val();
        }
        if self.write_slot.q.val() == 2 {
            self.write_base.next = self.slot2_base.val();
        }
        self.buffer.write.next = self.take.val();
        self.buffer.write_address.next = self.write_base.val() + self.loaded.q.val();
        self.buffer.write_data.next = self.s_axis_x_tdata.val();
        if self.take.val() {
            self.loaded.d.next = self.loaded.q.val() + 1;
        }
        if self.token_loaded.val() {
            self.loaded.d.next = 0.into();
            self.write_slot.d.next = self.write_slot.q.val() + 1;
            if self.write_slot.q.val() == 2 {
                self.write_slot.d.next = 0.into();
            }
        }
        // the sums: [1] x and |x|, [2] x² (one DSP), then S in 32 bits and
        // Q = Σ |x|² in 48; a token's last element hands them to the setup
        self.l1_valid.d.next = self.take.val();
        self.l1_last.d.next = self.loaded.q.val() == self.last_input.val();
        self.l1_slot.d.next = self.write_slot.q.val();
        self.l1_x.d.next = self.s_axis_x_tdata.val();
        self.l1_magnitude.d.next = self.s_axis_x_tdata.val();
        if self.s_axis_x_tdata.val().get_bit(15) {
            self.l1_magnitude.d.next = 0 - self.s_axis_x_tdata.val();
        }
        self.l2_valid.d.next = self.l1_valid.q.val();
        self.l2_last.d.next = self.l1_last.q.val();
        self.l2_slot.d.next = self.l1_slot.q.val();
        self.l2_x.d.next = self.l1_x.q.val();
        self.l2_square.d.next = self.l1_magnitude.q.val() * self.l1_magnitude.q.val();
        self.x_wide.value.next = self.l2_x.q.val();
        // a token's last element clears the sums for the next token's first
        // (a reset after the adder, not a choice before it)
        self.sum_next.next = self.sum.q.val() + self.x_wide.extended.val();
        // Q <= n 2^30 <= 2^40: a 42-bit adder
        self.squares_next.next = bit_cast::<48, 42>(
            self.squares.q.val().get_bits::<42>(0) + bit_cast::<42, 32>(self.l2_square.q.val()),
        );
        if self.l2_valid.q.val() {
            self.sum.d.next = self.sum_next.val();
            self.squares.d.next = self.squares_next.val();
            if self.l2_last.q.val() {
                self.sum.d.next = 0.into();
                self.squares.d.next = 0.into();
            }
        }
        self.setup[0].d.next = self.l2_valid.q.val() & self.l2_last.q.val();
        for i in 1..SETUP_STAGES {
            self.setup[i].d.next = self.setup[i - 1].q.val();
        }
        if self.l2_valid.q.val() & self.l2_last.q.val() {
            self.setup_slot.d.next = self.l2_slot.q.val();
            self.token_sum.d.next = self.sum_next.val();
            self.token_squares.d.next = self.squares_next.val();
        }
        // setup ([0] to [6], then the inverse square root): |S|; n Q and the
        // halves' products |S| S_lo, |S| S_hi (two cycles each); S² =
        // |S| S_lo + |S| S_hi 2^16 (|S| < 2^26: 48 bits); D = n Q - S² and
        // D + eps 2^-12 in 52 bits (both below 2^51); start with D 2^12 + eps
        self.s_magnitude.d.next = self.token_sum.q.val();
        if self.token_sum.q.val().get_bit(31) {
            self.s_magnitude.d.next = 0 - self.token_sum.q.val();
        }
        self.q_times_n.enable.next = true;
        self.q_times_n.a.next = self.token_squares.q.val();
        self.q_times_n.b.next = self.n.val();
        self.square_low.enable.next = true;
        self.square_low.a.next = bit_cast::<48, 32>(self.s_magnitude.q.val());
        self.square_low.b.next = self.s_magnitude.q.val().get_bits::<16>(0);
        self.square_high.enable.next = true;
        self.square_high.a.next = bit_cast::<48, 32>(self.s_magnitude.q.val());
        self.square_high.b.next = self.s_magnitude.q.val().get_bits::<16>(16);
        self.nq4.d.next = self.q_times_n.product.val().get_bits::<52>(0);
        self.nq5.d.next = self.nq4.q.val();
        // |S| S_lo < 2^42 and |S| S_hi < 2^36: S² >> 16 in a 40-bit adder
        self.square_upper.next = self.square_low.product.val().get_bits::<40>(16)
            + self.square_high.product.val().get_bits::<40>(0);
        self.s_squared5.d.next = (bit_cast::<52, 40>(self.square_upper.val()) << 16)
            | bit_cast::<52, 16>(self.square_low.product.val().get_bits::<16>(0));
        self.d6.d.next = self.nq5.q.val() - self.s_squared5.q.val();
        self.v7.d.next = self.d6.q.val() + self.eps_high.val();
        if self.setup[0].q.val() {
            if self.setup_slot.q.val() == 0 {
                self.sum0.d.next = self.token_sum.q.val();
            }
            if self.setup_slot.q.val() == 1 {
                self.sum1.d.next = self.token_sum.q.val();
            }
            if self.setup_slot.q.val() == 2 {
                self.sum2.d.next = self.token_sum.q.val();
            }
        }
        if self.setup[6].q.val() {
            self.setup_wait.d.next = true;
        }
        if self.inv_sqrt.done.val() {
            self.setup_wait.d.next = false;
        }
        self.setup_last.d.next = self.inv_sqrt.done.val();
        self.inv_sqrt.start.next = self.setup[6].q.val();
        self.inv_sqrt.value.next = (bit_cast::<64, 52>(self.v7.q.val()) << 12) | self.eps_low.val();
        if self.setup_last.q.val() {
            if self.setup_slot.q.val() == 0 {
                self.inverse0.d.next = self.inv_sqrt.inverse.val();
                self.shift0.d.next = self.inv_sqrt.shift.val();
            }
            if self.setup_slot.q.val() == 1 {
                self.inverse1.d.next = self.inv_sqrt.inverse.val();
                self.shift1.d.next = self.inv_sqrt.shift.val();
            }
            if self.setup_slot.q.val() == 2 {
                self.inverse2.d.next = self.inv_sqrt.inverse.val();
                self.shift2.d.next = self.inv_sqrt.shift.val();
            }
        }
        // read: the oldest set-up token, one element a cycle while y is free
        self.y_free.next = !self.valid[13].q.val() | self.m_axis_y_tready.val();
        self.issue.next = self.issuable.q.val().any() & self.y_free.val();
        self.token_read.next = self.issue.val() & (self.element.q.val() == self.last_input.val());
        self.read_base.next = 0.into();
        if self.read_slot.q.val() == 1 {
            self.read_base.next = self.slot1_base.val();
        }
        if self.read_slot.q.val() == 2 {
            self.read_base.next = self.slot2_base.val();
        }
        self.buffer.read_address.next = self.read_base.val() + self.element.q.val();
        self.affine.address.next = bit_cast::<ROM_ADDRESS_BITS, 16>(self.element.q.val());
        self.affine.enable.next = self.y_free.val();
        if self.issue.val() {
            self.element.d.next = self.element.q.val() + 1;
            if self.element.q.val() == self.last_input.val() {
                self.element.d.next = 0.into();
            }
        }
        if self.token_read.val() {
            self.read_slot.d.next = self.read_slot.q.val() + 1;
            if self.read_slot.q.val() == 2 {
                self.read_slot.d.next = 0.into();
            }
        }
        if self.token_loaded.val() & !self.token_read.val() {
            self.held.d.next = self.held.q.val() + 1;
        }
        if self.token_read.val() & !self.token_loaded.val() {
            self.held.d.next = self.held.q.val() - 1;
        }
        if self.setup_last.q.val() & !self.token_read.val() {
            self.issuable.d.next = self.issuable.q.val() + 1;
        }
        if self.token_read.val() & !self.setup_last.q.val() {
            self.issuable.d.next = self.issuable.q.val() - 1;
        }
        // the datapath: every stage moves when y is free
        self.times_n.a.next = self.x1.q.val();
        self.times_n.b.next = self.n.val();
        self.centered_wide.value.next = self.centered3.q.val();
        self.times_inverse.enable.next = self.y_free.val();
        self.times_inverse.a.next = self.centered_wide.extended.val();
        self.times_inverse.b.next = self.inverse_3.q.val();
        self.coarse_shift.value.next = self.times_inverse.product.val() << 16;
        self.coarse_shift.shift.next = self.pre_shift_5.q.val() & 0x78;
        self.z_round.enable.next = self.y_free.val();
        self.z_round.value.next = self.coarse6.q.val();
        self.z_round.pre_shift.next = self.fine_shift6.q.val();
        self.z_round.addend.next = 0.into();
        self.zg.next = signed_cast(self.z_round.saturated.val())
            * signed_cast(self.gamma_beta[7].q.val().get_bits::<16>(0));
        self.zg_wide.value.next = self.zg10.q.val();
        self.beta_wide.value.next = self.beta10.q.val();
        self.scaled_wide.value.next = self.scaled11.q.val();
        self.y_round.enable.next = self.y_free.val();
        self.y_round.value.next = self.scaled_wide.extended.val();
        self.y_round.pre_shift.next = self.y_pre_shift.val();
        self.y_round.addend.next = 0.into();
        if self.y_free.val() {
            self.valid[0].d.next = self.issue.val();
            self.last[0].d.next = self.element.q.val() == self.last_input.val();
            for i in 1..OUTPUT_STAGES {
                self.valid[i].d.next = self.valid[i - 1].q.val();
                self.last[i].d.next = self.last[i - 1].q.val();
            }
            // [1] the reads: the element, its token's S, inverse and shift
            self.x1.d.next = self.buffer.read_data.val();
            self.sum_1.d.next = self.sum0.q.val();
            self.inverse_1.d.next = self.inverse0.q.val();
            self.pre_shift_1.d.next = self.shift0.q.val() + self.z_pre_offset.val();
            if self.read_slot.q.val() == 1 {
                self.sum_1.d.next = self.sum1.q.val();
                self.inverse_1.d.next = self.inverse1.q.val();
                self.pre_shift_1.d.next = self.shift1.q.val() + self.z_pre_offset.val();
            }
            if self.read_slot.q.val() == 2 {
                self.sum_1.d.next = self.sum2.q.val();
                self.inverse_1.d.next = self.inverse2.q.val();
                self.pre_shift_1.d.next = self.shift2.q.val() + self.z_pre_offset.val();
            }
            // [2] n x; gamma and beta arrive (the ROM read of stage 1)
            self.nx2.d.next = self.times_n.product.val().get_bits::<32>(0);
            self.sum_2.d.next = self.sum_1.q.val();
            self.inverse_2.d.next = self.inverse_1.q.val();
            self.pre_shift_2.d.next = self.pre_shift_1.q.val();
            self.gamma_beta[0].d.next = self.affine.data.val();
            for i in 1..AFFINE_DELAY {
                self.gamma_beta[i].d.next = self.gamma_beta[i - 1].q.val();
            }
            // [3] c = n x - S
            self.centered3.d.next = self.nx2.q.val() - self.sum_2.q.val();
            self.inverse_3.d.next = self.inverse_2.q.val();
            self.pre_shift_3.d.next = self.pre_shift_2.q.val();
            // [4], [5]: c inv in times_inverse
            self.pre_shift_4.d.next = self.pre_shift_3.q.val();
            self.pre_shift_5.d.next = self.pre_shift_4.q.val();
            // [6] the coarse shift; [7] to [9]: the rest and z in z_round
            self.coarse6.d.next = self.coarse_shift.shifted.val();
            self.fine_shift6.d.next = self.pre_shift_5.q.val() & 7;
            // [10] z gamma, beta
            self.zg10.d.next = unsigned_cast(self.zg.val());
            self.beta10.d.next = self.gamma_beta[7].q.val().get_bits::<16>(16);
            // [11] z gamma + beta 2^fz; [12] to [14]: y in y_round
            self.scaled11.d.next =
                self.zg_wide.extended.val() + (self.beta_wide.extended.val() << self.normalized_frac.val());
        }
        self.m_axis_y_tdata.next = self.y_round.saturated.val();
        self.m_axis_y_tvalid.next = self.valid[13].q.val();
        self.m_axis_y_tlast.next = self.last[13].q.val();
    }
}

/// The largest `d_model` the block builds.
pub const LAYER_NORM_D_MAX: usize = hwformer_quant::integer::layer_norm::LAYER_NORM_N_MAX;

/// The layernorm block's model for `settings` (`d_model`, default 64;
/// `eps`, default 1e-5; gamma and beta from the weights source) and
/// `formats` (`x`, `z` normalized, `g` gamma and beta, `y`; defaults
/// Q3.12, Q5.10, Q3.12, Q3.12).
pub fn settings_model(
    settings: &LayerSettings,
    formats: &BTreeMap<String, QFormat>,
) -> Result<IntLayerNorm, String> {
    for name in formats.keys() {
        if !["x", "z", "g", "y"].contains(&name.as_str()) {
            return Err(format!(
                "formats.{name}: layernorm has the formats x, z (normalized), g (gamma and beta) and y"
            ));
        }
    }
    if settings.d_in.is_some()
        || settings.d_out.is_some()
        || settings.d_ff.is_some()
        || settings.lanes.is_some()
        || settings.activation.is_some()
        || settings.hidden_depth.is_some()
    {
        return Err("layernorm has the settings d_model and eps (d_in, d_out, d_ff, lanes, activation and hidden_depth are other blocks')".into());
    }
    let d = settings.d_model.unwrap_or(64);
    if !(2..=LAYER_NORM_D_MAX).contains(&d) {
        return Err(format!(
            "d_model = {d}: layernorm takes 2 to {LAYER_NORM_D_MAX} elements"
        ));
    }
    let eps = settings.eps.unwrap_or(1e-5);
    if !eps.is_finite() || eps < 0.0 {
        return Err(format!("eps = {eps}: must be a finite number >= 0"));
    }
    let defaults = LayerNormFormats::default_design();
    let get = |name: &str, default: QFormat| formats.get(name).copied().unwrap_or(default);
    let f = LayerNormFormats {
        input: get("x", defaults.input),
        normalized: get("z", defaults.normalized),
        affine: get("g", defaults.affine),
        output: get("y", defaults.output),
    };
    for (name, format) in [
        ("x", f.input),
        ("z", f.normalized),
        ("g", f.affine),
        ("y", f.output),
    ] {
        check_stream_format(name, format)?;
    }
    let gamma = settings.weights.vector("gamma", d, 1.0, 1)?;
    let beta = settings.weights.vector("beta", d, 0.0, 2)?;
    for (name, values) in [("gamma", &gamma), ("beta", &beta)] {
        let (low, high) = (
            f.affine.min_value() - 0.5 * f.affine.lsb(),
            f.affine.max_value() + 0.5 * f.affine.lsb(),
        );
        if let Some(i) = values.iter().position(|v| !(low..high).contains(v)) {
            return Err(format!(
                "weights.{name}[{i}] = {} is outside {} [{}, {}]",
                values[i],
                f.affine,
                f.affine.min_value(),
                f.affine.max_value()
            ));
        }
    }
    IntLayerNorm::new(f, &gamma, &beta, eps).map_err(|e| e.to_string())
}

/// The exported layernorm block.
pub fn export(
    settings: &LayerSettings,
    formats: &BTreeMap<String, QFormat>,
) -> Result<Exported, ExportError> {
    let model = settings_model(settings, formats).map_err(ExportError::Check)?;
    let d = model.n();
    let stem = format!("layernorm_{d}");
    let mut uut = LayerNormUnit::new(&model);
    uut.connect_all();
    let verilog = export::verilog(&stem, &uut)?;
    let f = model.formats();
    let tensors = [
        RawTensor {
            name: "gamma".into(),
            format: f.affine,
            shape: vec![d],
            values: model.gamma_raw().to_vec(),
        },
        RawTensor {
            name: "beta".into(),
            format: f.affine,
            shape: vec![d],
            values: model.beta_raw().to_vec(),
        },
    ];
    let (bytes, entry) =
        weights_file("layernorm", &settings.weights, &tensors).map_err(ExportError::Check)?;
    let measured = measured_error(
        d,
        f.input,
        f.output,
        64,
        |x| model.run(x),
        |x| model.float_reference(x),
    )
    .map_err(ExportError::Check)?;
    let manifest = token_manifest(
        "layernorm",
        &stem,
        (f.input, f.output),
        vec![
            ("d_model", Param::from(d as f64)),
            ("eps", Param::from(model.eps())),
            ("eps_applied", Param::from(model.applied_eps())),
            (
                "normalized_format",
                Param::from(f.normalized.to_string().as_str()),
            ),
            ("slots", Param::from(LAYER_NORM_TIMING.slots as f64)),
            ("cycles_per_token", Param::from(token_cycles(d as u64) as f64)),
        ],
        first_output_delay(),
        (model.error_bound(), measured),
        entry,
    )
    .map_err(ExportError::Check)?;
    Ok(Exported {
        verilog,
        manifest,
        weights: Some(bytes),
    })
}

/// The integer model a layernorm manifest describes, gamma and beta read
/// from the weights file in `dir`.
pub fn model_from_folder(dir: &std::path::Path, manifest: &Manifest) -> Result<IntLayerNorm, String> {
    let entry = manifest
        .weights
        .as_ref()
        .ok_or("the layernorm manifest names no weights file")?;
    let tensors = read_weights(dir, entry)?;
    let get = |name: &str| {
        tensors
            .get(name)
            .ok_or_else(|| format!("the weights file has no tensor `{name}`"))
    };
    let (gamma, beta) = (get("gamma")?, get("beta")?);
    if gamma.format != beta.format {
        return Err(format!(
            "tensors `gamma` ({}) and `beta` ({}) must share a format",
            gamma.format, beta.format
        ));
    }
    let normalized: QFormat = manifest
        .text("normalized_format")?
        .parse()
        .map_err(|e| format!("params.normalized_format: {e}"))?;
    let formats = LayerNormFormats {
        input: manifest.field_format("x")?,
        normalized,
        affine: gamma.format,
        output: manifest.field_format("y")?,
    };
    let model = IntLayerNorm::from_raw(
        formats,
        gamma.values.clone(),
        beta.values.clone(),
        manifest.number("eps")?,
    )
    .map_err(|e| e.to_string())?;
    if model.n() != manifest.count("d_model", 2, LAYER_NORM_D_MAX)? {
        return Err("the layernorm manifest's d_model is not its weights' length".into());
    }
    Ok(model)
}
