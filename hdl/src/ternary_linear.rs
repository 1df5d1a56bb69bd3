//! One BitNet b1.58 BitLinear layer for one token,
//! `y = act(scale · W x + b)` with `W` ternary: the hardware form of
//! `hwformer_quant::integer::bit_linear::BitLinear`, `P` lanes that only
//! add, subtract or skip, signs in on-chip ROM at two bits each.
//!
//! ```text
//!  x ─▶ [token buffer: 2 halves × d_in × 16] ── while loading: γ = max |x|
//!        token loaded ─▶ setup (9 cycles): Reciprocal(γ · 2^15) ─▶ inv, shift   (per half)
//!  issue element k of group g:
//!   [1] x_k, inv, shift, γ; signs word g·d_in + k (P × 2 bits, registered read)
//!   [2] x_k · inv                    (one multiply, shared by the lanes)
//!   [3] · 127                        (shift and subtract, 40 bits)
//!   [4..6] code = round(· / 2^shift) (PipelinedRoundShift; 8 bits)
//!   [7] acc_p = (k = 0 ? 0 : acc_p) ± code, or acc_p      (adders only)
//!  group done ─▶ [bank: P accumulators, γ] ─ lane l ─▶ [lane, γ] ─▶ [· γ] ─▶ [· C (two)]
//!        ─▶ round, + b_j, saturate (3 stages) ─▶ activation (1 stage) ─▶ [y] ─▶ y
//!                 ▲ bias ROM, word j (registered read; a counter of outputs)
//! ```
//!
//! The control is the int16 engine's ([`crate::linear`]): a two-half
//! buffer, stages that move together and stall only while a finished
//! group waits for the bank, and a bank whose lanes leave one a cycle.
//! Two things differ. A token can be issued only after its setup (its
//! absmax's reciprocal), [`TERNARY_ENGINE`]`.setup_cycles` after its last
//! beat; while a setup runs, the next token's last beat waits (the
//! reciprocal unit is shared). And the registers after the bank are nine,
//! moving together: the lane, the scale products (`· γ` one, `· C` two:
//! a `PipelinedProduct`), three of rounding, the activation's and `y`.
//! Multiplies: one in stage 2, two after the bank, none in the lanes.

use crate::activation::ActivationUnit;
use crate::fifo::LutRamStorage;
use crate::fixed::{PipelinedProduct, PipelinedRoundShift, SignExtend, WideProduct};
use crate::lanes::LaneSelect;
use crate::linear::EngineTiming;
use crate::reciprocal::{ReciprocalUnit, RECIPROCAL_BUSY_CYCLES};
use crate::weight_rom::{WeightRom, ROM_ADDRESS_BITS};
use hwformer_quant::integer::bit_linear::BitLinear;
use rust_hdl::prelude::*;

/// A token's setup: the reciprocal's start, its busy cycles, the capture
/// of its result.
const SETUP_CYCLES: usize = RECIPROCAL_BUSY_CYCLES as usize + 2;
const _: () = assert!(SETUP_CYCLES == 9, "the setup's last cycle is indexed [8]");

/// Issue stages that carry an element's flags (stage 7 is the
/// accumulators; the last flags are indexed [5]).
const ISSUE_FLAG_STAGES: usize = 6;
const _: () = assert!(
    ISSUE_FLAG_STAGES == 6,
    "the accumulators read stage 6, indexed [5]"
);

/// Stages that carry the signs word (from stage 2, the ROM read's).
const SIGN_STAGES: usize = ISSUE_FLAG_STAGES - 1;

/// The ternary engine's stage counts, for its handshake graph: seven issue
/// stages (the six of [`ISSUE_FLAG_STAGES`], the accumulators),
/// [`SETUP_CYCLES`] setup cycles, nine registers after the bank (the lane,
/// its scale products `· γ` and `· C` (two), three of rounding, the
/// activation's, `y`).
pub const TERNARY_ENGINE: EngineTiming = EngineTiming {
    issue_stages: ISSUE_FLAG_STAGES as u64 + 1,
    setup_cycles: SETUP_CYCLES as u64,
    output_stages: 9,
};

/// The ternary engine with `P` lanes; `W2 = 2 P` is the sign ROM's width.
#[derive(LogicBlock)]
pub struct TernaryLinearUnit<const P: usize, const W2: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// One input element (input format).
    pub s_axis_x_tdata: Signal<In, Bits<16>>,
    /// Input valid.
    pub s_axis_x_tvalid: Signal<In, Bit>,
    /// Input ready: the buffer is loading.
    pub s_axis_x_tready: Signal<Out, Bit>,
    /// Ignored: a token is `d_in` beats.
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
    signs: WeightRom<W2>,
    // the biases: word j read as output j enters the rounding's clamp stage
    biases: WeightRom<16>,
    bias_index: DFF<Bits<ROM_ADDRESS_BITS>>,
    // whole tokens in the buffer (0 to 2), those past their setup, and the
    // half each side uses
    held: DFF<Bits<2>>,
    issuable: DFF<Bits<2>>,
    write_half: DFF<Bit>,
    read_half: DFF<Bit>,
    loaded: DFF<Bits<16>>,
    element: DFF<Bits<16>>,
    group: DFF<Bits<16>>,
    address: DFF<Bits<ROM_ADDRESS_BITS>>,
    // absmax while loading, and the setup of the token just loaded
    gamma_running: DFF<Bits<16>>,
    setup: [DFF<Bit>; SETUP_CYCLES],
    setup_half: DFF<Bit>,
    reciprocal: ReciprocalUnit,
    // each half's token scale: γ, the reciprocal's mantissa, the code shift
    gamma0: DFF<Bits<16>>,
    gamma1: DFF<Bits<16>>,
    inverse0: DFF<Bits<16>>,
    inverse1: DFF<Bits<16>>,
    shift0: DFF<Bits<7>>,
    shift1: DFF<Bits<7>>,
    // stage 1: registered reads
    // the flags of stages 1 to 6 ([k - 1] = stage k), γ from stage 1,
    // the signs from stage 2 ([k - 2])
    valid: [DFF<Bit>; ISSUE_FLAG_STAGES],
    first: [DFF<Bit>; ISSUE_FLAG_STAGES],
    last: [DFF<Bit>; ISSUE_FLAG_STAGES],
    token_last: [DFF<Bit>; ISSUE_FLAG_STAGES],
    gamma_stage: [DFF<Bits<16>>; ISSUE_FLAG_STAGES],
    signs_stage: [DFF<Bits<W2>>; SIGN_STAGES],
    x1: DFF<Bits<16>>,
    inverse_1: DFF<Bits<16>>,
    shift_1: DFF<Bits<7>>,
    // stage 2: x · inv
    product2: DFF<Bits<40>>,
    shift_2: DFF<Bits<7>>,
    // stage 3: · 127
    scaled3: DFF<Bits<40>>,
    shift_3: DFF<Bits<7>>,
    // stages 4 and 5: the code's rounding (in code_round)
    // stage 6: the code (code_round's output)
    // stage 5: accumulators
    acc: [DFF<Bits<24>>; P],
    done: DFF<Bit>,
    done_last: DFF<Bit>,
    done_gamma: DFF<Bits<16>>,
    // the bank and the output
    bank: [DFF<Bits<24>>; P],
    bank_full: DFF<Bit>,
    bank_last: DFF<Bit>,
    bank_gamma: DFF<Bits<16>>,
    lane: DFF<Bits<8>>,
    select: LaneSelect<P, 24>,
    selected: DFF<Bits<24>>,
    selected_gamma: DFF<Bits<16>>,
    selected_valid: DFF<Bit>,
    selected_last: DFF<Bit>,
    times_gamma: WideProduct<24>,
    scaled: DFF<Bits<64>>,
    scaled_valid: DFF<Bit>,
    scaled_last: DFF<Bit>,
    scaled_wide: SignExtend<40, 48>,
    times_c: PipelinedProduct,
    product_a_valid: DFF<Bit>,
    product_a_last: DFF<Bit>,
    product_c_valid: DFF<Bit>,
    product_c_last: DFF<Bit>,
    round: PipelinedRoundShift,
    out_valid: [DFF<Bit>; 4],
    out_last: [DFF<Bit>; 4],
    activation: ActivationUnit,
    y: DFF<Bits<16>>,
    y_valid: DFF<Bit>,
    y_last: DFF<Bit>,
    // the shared datapath pieces of the issue stages
    times_inverse: WideProduct<16>,
    code_round: PipelinedRoundShift,
    scaled3_wide: SignExtend<40, 64>,
    code_wide: SignExtend<8, 24>,
    // locals: one signal per lane (see hwformer_sim::verilator)
    take: Signal<Local, Bit>,
    token_loaded: Signal<Local, Bit>,
    token_issued: Signal<Local, Bit>,
    setup_busy: Signal<Local, Bit>,
    magnitude: Signal<Local, Bits<16>>,
    gamma_next: Signal<Local, Bits<16>>,
    gamma_final: Signal<Local, Bits<16>>,
    write_base: Signal<Local, Bits<16>>,
    read_base: Signal<Local, Bits<16>>,
    advance: Signal<Local, Bit>,
    issue: Signal<Local, Bit>,
    to_bank: Signal<Local, Bit>,
    send: Signal<Local, Bit>,
    y_free: Signal<Local, Bit>,
    code_negated: Signal<Local, Bits<24>>,
    last_input: Constant<Bits<16>>,
    half: Constant<Bits<16>>,
    last_group: Constant<Bits<16>>,
    last_lane: Constant<Bits<8>>,
    last_output: Constant<Bits<ROM_ADDRESS_BITS>>,
    output_scale: Constant<Bits<16>>,
    out_shift: Constant<Bits<7>>,
}

impl<const P: usize, const W2: usize> TernaryLinearUnit<P, W2> {
    /// The engine for `model` with `P` lanes (`P` divides `d_out`; checked
    /// with errors by the export, here a mismatch panics).
    pub fn new(model: &BitLinear) -> Self {
        assert_eq!(W2, 2 * P, "W2 must be 2 P");
        let (d_in, d_out) = (model.d_in(), model.d_out());
        assert!(d_out % P == 0, "P must divide d_out");
        let groups = d_out / P;
        let s = model.signs();
        let sign_words: Vec<Vec<i64>> = (0..groups * d_in)
            .map(|a| {
                let (g, k) = (a / d_in, a % d_in);
                (0..P).map(|p| s[(g * P + p) * d_in + k]).collect()
            })
            .collect();
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
            buffer: LutRamStorage::new(2 * d_in),
            signs: WeightRom::from_lanes(&sign_words, 2),
            biases: WeightRom::from_lanes(&model.bias().iter().map(|&b| vec![b]).collect::<Vec<_>>(), 16),
            bias_index: Default::default(),
            held: Default::default(),
            issuable: Default::default(),
            write_half: Default::default(),
            read_half: Default::default(),
            loaded: Default::default(),
            element: Default::default(),
            group: Default::default(),
            address: Default::default(),
            gamma_running: Default::default(),
            setup: std::array::from_fn(|_| Default::default()),
            setup_half: Default::default(),
            reciprocal: ReciprocalUnit::new(model.reciprocal()),
            gamma0: Default::default(),
            gamma1: Default::default(),
            inverse0: Default::default(),
            inverse1: Default::default(),
            shift0: Default::default(),
            shift1: Default::default(),
            valid: Default::default(),
            first: Default::default(),
            last: Default::default(),
            token_last: Default::default(),
            gamma_stage: Default::default(),
            signs_stage: Default::default(),
            x1: Default::default(),
            inverse_1: Default::default(),
            shift_1: Default::default(),
            product2: Default::default(),
            shift_2: Default::default(),
            scaled3: Default::default(),
            shift_3: Default::default(),
            acc: array_init::array_init(|_| Default::default()),
            done: Default::default(),
            done_last: Default::default(),
            done_gamma: Default::default(),
            bank: array_init::array_init(|_| Default::default()),
            bank_full: Default::default(),
            bank_last: Default::default(),
            bank_gamma: Default::default(),
            lane: Default::default(),
            select: Default::default(),
            selected: Default::default(),
            selected_gamma: Default::default(),
            selected_valid: Default::default(),
            selected_last: Default::default(),
            times_gamma: Default::default(),
            scaled: Default::default(),
            scaled_valid: Default::default(),
            scaled_last: Default::default(),
            scaled_wide: Default::default(),
            times_c: Default::default(),
            product_a_valid: Default::default(),
            product_a_last: Default::default(),
            product_c_valid: Default::default(),
            product_c_last: Default::default(),
            round: Default::default(),
            out_valid: std::array::from_fn(|_| Default::default()),
            out_last: std::array::from_fn(|_| Default::default()),
            activation: ActivationUnit::new(model.activation()),
            y: Default::default(),
            y_valid: Default::default(),
            y_last: Default::default(),
            times_inverse: Default::default(),
            code_round: Default::default(),
            scaled3_wide: Default::default(),
            code_wide: Default::default(),
            take: Default::default(),
            token_loaded: Default::default(),
            token_issued: Default::default(),
            setup_busy: Default::default(),
            magnitude: Default::default(),
            gamma_next: Default::default(),
            gamma_final: Default::default(),
            write_base: Default::default(),
            read_base: Default::default(),
            advance: Default::default(),
            issue: Default::default(),
            to_bank: Default::default(),
            send: Default::default(),
            y_free: Default::default(),
            code_negated: Default::default(),
            last_input: Constant::new(bits::<16>(d_in as u64 - 1)),
            half: Constant::new(bits::<16>(d_in as u64)),
            last_group: Constant::new(bits::<16>(groups as u64 - 1)),
            last_lane: Constant::new(bits::<8>(P as u64 - 1)),
            last_output: Constant::new(bits::<ROM_ADDRESS_BITS>(d_out as u64 - 1)),
            output_scale: Constant::new(bits::<16>(model.output_scale().0 as u64)),
            out_shift: Constant::new(bits::<7>(u64::from(model.output_shift()))),
        }
    }
}

impl<const P: usize, const W2: usize> Logic for TernaryLinearUnit<P, W2> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            held,
            issuable,
            write_half,
            read_half,
            loaded,
            element,
            group,
            address,
            bias_index,
            gamma_running,
            setup_half,
            gamma0,
            gamma1,
            inverse0,
            inverse1,
            shift0,
            shift1,
            x1,
            inverse_1,
            shift_1,
            product2,
            shift_2,
            scaled3,
            shift_3,
            done,
            done_last,
            done_gamma,
            bank_full,
            bank_last,
            bank_gamma,
            lane,
            selected,
            selected_gamma,
            selected_valid,
            selected_last,
            scaled,
            scaled_valid,
            scaled_last,
            product_a_valid,
            product_a_last,
            product_c_valid,
            product_c_last,
            y,
            y_valid,
            y_last
        );
        for k in 0..ISSUE_FLAG_STAGES {
            self.valid[k].clock.next = self.clock.val();
            self.valid[k].d.next = self.valid[k].q.val();
            self.first[k].clock.next = self.clock.val();
            self.first[k].d.next = self.first[k].q.val();
            self.last[k].clock.next = self.clock.val();
            self.last[k].d.next = self.last[k].q.val();
            self.token_last[k].clock.next = self.clock.val();
            self.token_last[k].d.next = self.token_last[k].q.val();
            self.gamma_stage[k].clock.next = self.clock.val();
            self.gamma_stage[k].d.next = self.gamma_stage[k].q.val();
        }
        for k in 0..SIGN_STAGES {
            self.signs_stage[k].clock.next = self.clock.val();
            self.signs_stage[k].d.next = self.signs_stage[k].q.val();
        }
        for i in 0..P {
            self.acc[i].clock.next = self.clock.val();
            self.acc[i].d.next = self.acc[i].q.val();
            self.bank[i].clock.next = self.clock.val();
            self.bank[i].d.next = self.bank[i].q.val();
        }
        self.buffer.clock.next = self.clock.val();
        self.signs.clock.next = self.clock.val();
        self.reciprocal.clock.next = self.clock.val();
        // load: a free half of the buffer takes d_in elements; a token's
        // last element waits while the previous token's setup runs
        self.setup_busy.next = false;
        for i in 0..SETUP_CYCLES {
            self.setup[i].clock.next = self.clock.val();
            if self.setup[i].q.val() {
                self.setup_busy.next = true;
            }
        }
        self.s_axis_x_tready.next = !self.held.q.val().get_bit(1)
            & !(self.setup_busy.val() & (self.loaded.q.val() == self.last_input.val()));
        self.take.next = self.s_axis_x_tvalid.val()
            & !self.held.q.val().get_bit(1)
            & !(self.setup_busy.val() & (self.loaded.q.val() == self.last_input.val()));
        self.token_loaded.next = self.take.val() & (self.loaded.q.val() == self.last_input.val());
        self.write_base.next = 0.into();
        if self.write_half.q.val() {
            self.write_base.next = self.half.val();
        }
        self.buffer.write.next = self.take.val();
        self.buffer.write_address.next = self.write_base.val() + self.loaded.q.val();
        self.buffer.write_data.next = self.s_axis_x_tdata.val();
        // absmax: |x| in 16 unsigned bits (|-2^15| = 2^15 fits)
        self.magnitude.next = self.s_axis_x_tdata.val();
        if self.s_axis_x_tdata.val().get_bit(15) {
            self.magnitude.next = 0 - self.s_axis_x_tdata.val();
        }
        self.gamma_next.next = self.magnitude.val();
        if (self.loaded.q.val() != 0) & (self.gamma_running.q.val() > self.magnitude.val()) {
            self.gamma_next.next = self.gamma_running.q.val();
        }
        if self.take.val() {
            self.loaded.d.next = self.loaded.q.val() + 1;
            self.gamma_running.d.next = self.gamma_next.val();
        }
        if self.token_loaded.val() {
            self.loaded.d.next = 0.into();
            self.write_half.d.next = !self.write_half.q.val();
            self.setup_half.d.next = self.write_half.q.val();
        }
        // setup: start the reciprocal of max(γ, 1) · 2^15, keep γ; wait
        // while it is busy; then keep the mantissa and the code shift
        self.setup[0].d.next = self.token_loaded.val();
        for i in 1..SETUP_CYCLES {
            self.setup[i].d.next = self.setup[i - 1].q.val();
        }
        self.gamma_final.next = self.gamma_running.q.val();
        if self.gamma_running.q.val() == 0 {
            self.gamma_final.next = 1.into();
        }
        self.reciprocal.start.next = self.setup[0].q.val();
        self.reciprocal.value.next = bit_cast::<32, 16>(self.gamma_final.val()) << 15;
        if self.setup[0].q.val() {
            if self.setup_half.q.val() {
                self.gamma1.d.next = self.gamma_final.val();
            } else {
                self.gamma0.d.next = self.gamma_final.val();
            }
        }
        if self.setup[8].q.val() {
            if self.setup_half.q.val() {
                self.inverse1.d.next = self.reciprocal.inverse.val();
                self.shift1.d.next = bit_cast::<7, 5>(self.reciprocal.msb.val()) + 1;
            } else {
                self.inverse0.d.next = self.reciprocal.inverse.val();
                self.shift0.d.next = bit_cast::<7, 5>(self.reciprocal.msb.val()) + 1;
            }
        }
        // the bank is free, or frees as its last lane leaves; the pipeline
        // moves unless a finished group waits for it
        self.y_free.next = !self.y_valid.q.val() | self.m_axis_y_tready.val();
        self.send.next = self.bank_full.q.val() & (!self.selected_valid.q.val() | self.y_free.val());
        self.to_bank.next = self.done.q.val()
            & (!self.bank_full.q.val() | (self.send.val() & (self.lane.q.val() == self.last_lane.val())));
        self.advance.next = !self.done.q.val() | self.to_bank.val();
        self.issue.next = self.issuable.q.val().any() & self.advance.val();
        self.token_issued.next = self.issue.val()
            & (self.element.q.val() == self.last_input.val())
            & (self.group.q.val() == self.last_group.val());
        self.read_base.next = 0.into();
        if self.read_half.q.val() {
            self.read_base.next = self.half.val();
        }
        self.buffer.read_address.next = self.read_base.val() + self.element.q.val();
        self.signs.address.next = self.address.q.val();
        self.signs.enable.next = self.advance.val();
        if self.issue.val() {
            self.element.d.next = self.element.q.val() + 1;
            self.address.d.next = self.address.q.val() + 1;
            if self.element.q.val() == self.last_input.val() {
                self.element.d.next = 0.into();
                self.group.d.next = self.group.q.val() + 1;
                if self.group.q.val() == self.last_group.val() {
                    self.group.d.next = 0.into();
                    self.address.d.next = 0.into();
                }
            }
        }
        // tokens in, past their setup, and out
        if self.token_issued.val() {
            self.read_half.d.next = !self.read_half.q.val();
        }
        if self.token_loaded.val() & !self.token_issued.val() {
            self.held.d.next = self.held.q.val() + 1;
        }
        if self.token_issued.val() & !self.token_loaded.val() {
            self.held.d.next = self.held.q.val() - 1;
        }
        if self.setup[8].q.val() & !self.token_issued.val() {
            self.issuable.d.next = self.issuable.q.val() + 1;
        }
        if self.token_issued.val() & !self.setup[8].q.val() {
            self.issuable.d.next = self.issuable.q.val() - 1;
        }
        // the shared datapath: x · inv, · 127, rounded to the code
        self.times_inverse.a.next = self.x1.q.val();
        self.times_inverse.b.next = self.inverse_1.q.val();
        // the code: round(x inv 127 / 2^shift) in three stages (it never
        // leaves [-127, 127], so its low 8 bits are the code)
        self.code_round.clock.next = self.clock.val();
        self.code_round.enable.next = self.advance.val();
        self.scaled3_wide.value.next = self.scaled3.q.val();
        self.code_round.value.next = self.scaled3_wide.extended.val();
        self.code_round.pre_shift.next = self.shift_3.q.val();
        self.code_round.addend.next = 0.into();
        self.code_wide.value.next = self.code_round.saturated.val().get_bits::<8>(0);
        self.code_negated.next = 0 - self.code_wide.extended.val();
        if self.advance.val() {
            self.valid[0].d.next = self.issue.val();
            self.first[0].d.next = self.element.q.val() == 0;
            self.last[0].d.next = self.element.q.val() == self.last_input.val();
            self.token_last[0].d.next = self.group.q.val() == self.last_group.val();
            self.x1.d.next = self.buffer.read_data.val();
            if self.read_half.q.val() {
                self.inverse_1.d.next = self.inverse1.q.val();
                self.shift_1.d.next = self.shift1.q.val() - 1;
                self.gamma_stage[0].d.next = self.gamma1.q.val();
            } else {
                self.inverse_1.d.next = self.inverse0.q.val();
                self.shift_1.d.next = self.shift0.q.val() - 1;
                self.gamma_stage[0].d.next = self.gamma0.q.val();
            }
            // |x inv| < 2^31 and |x inv 127| < 2^38: 40 bits hold them
            self.product2.d.next = self.times_inverse.product.val().get_bits::<40>(0);
            self.shift_2.d.next = self.shift_1.q.val();
            self.signs_stage[0].d.next = self.signs.data.val();
            // stages 2 to 6 carry the flags, γ and the signs on
            for k in 1..ISSUE_FLAG_STAGES {
                self.valid[k].d.next = self.valid[k - 1].q.val();
                self.first[k].d.next = self.first[k - 1].q.val();
                self.last[k].d.next = self.last[k - 1].q.val();
                self.token_last[k].d.next = self.token_last[k - 1].q.val();
                self.gamma_stage[k].d.next = self.gamma_stage[k - 1].q.val();
            }
            for k in 1..SIGN_STAGES {
                self.signs_stage[k].d.next = self.signs_stage[k - 1].q.val();
            }
            self.scaled3.d.next = (self.product2.q.val() << 7) - self.product2.q.val();
            self.shift_3.d.next = self.shift_2.q.val();
            if self.valid[5].q.val() {
                for i in 0..P {
                    if self.first[5].q.val() {
                        self.acc[i].d.next = 0.into();
                    }
                    // sign 01: add, 11: subtract, 00: skip
                    if self.signs_stage[4].q.val().get_bit(2 * i) {
                        if self.signs_stage[4].q.val().get_bit(2 * i + 1) {
                            if self.first[5].q.val() {
                                self.acc[i].d.next = self.code_negated.val();
                            } else {
                                self.acc[i].d.next = self.acc[i].q.val() + self.code_negated.val();
                            }
                        } else if self.first[5].q.val() {
                            self.acc[i].d.next = self.code_wide.extended.val();
                        } else {
                            self.acc[i].d.next = self.acc[i].q.val() + self.code_wide.extended.val();
                        }
                    }
                }
            }
            self.done.d.next = self.valid[5].q.val() & self.last[5].q.val();
            self.done_last.d.next = self.token_last[5].q.val();
            self.done_gamma.d.next = self.gamma_stage[5].q.val();
        }
        // the bank takes a finished group; its lanes leave one a cycle
        for i in 0..P {
            if self.to_bank.val() {
                self.bank[i].d.next = self.acc[i].q.val();
            }
            self.select.lanes[i].next = self.bank[i].q.val();
        }
        self.select.index.next = self.lane.q.val();
        self.times_gamma.a.next = self.selected.q.val();
        self.times_gamma.b.next = self.selected_gamma.q.val();
        // a lane leaves the bank, with its token's γ, when `selected` is
        // free or moving
        if self.send.val() {
            self.selected.d.next = self.select.lane.val();
            self.selected_gamma.d.next = self.bank_gamma.q.val();
            self.selected_valid.d.next = true;
            self.selected_last.d.next = self.bank_last.q.val() & (self.lane.q.val() == self.last_lane.val());
            self.lane.d.next = self.lane.q.val() + 1;
            if self.lane.q.val() == self.last_lane.val() {
                self.bank_full.d.next = false;
            }
        } else if self.y_free.val() {
            self.selected_valid.d.next = false;
        }
        // then · γ, · C, rounded and saturated, and the activation: moving together
        self.times_c.clock.next = self.clock.val();
        self.times_c.enable.next = self.y_free.val();
        self.scaled_wide.value.next = self.scaled.q.val().get_bits::<40>(0);
        self.times_c.a.next = self.scaled_wide.extended.val();
        self.times_c.b.next = self.output_scale.val();
        for i in 0..4 {
            self.out_valid[i].clock.next = self.clock.val();
            self.out_valid[i].d.next = self.out_valid[i].q.val();
            self.out_last[i].clock.next = self.clock.val();
            self.out_last[i].d.next = self.out_last[i].q.val();
        }
        self.round.clock.next = self.clock.val();
        self.round.enable.next = self.y_free.val();
        self.round.value.next = self.times_c.product.val();
        self.round.pre_shift.next = self.out_shift.val() - 1;
        // output j's bias, read as j moves into the clamp stage (it is in
        // the shift stage with out_valid[0])
        self.biases.clock.next = self.clock.val();
        self.biases.enable.next = self.y_free.val();
        self.biases.address.next = self.bias_index.q.val();
        self.round.addend.next = self.biases.data.val();
        if self.y_free.val() & self.out_valid[0].q.val() {
            self.bias_index.d.next = self.bias_index.q.val() + 1;
            if self.bias_index.q.val() == self.last_output.val() {
                self.bias_index.d.next = 0.into();
            }
        }
        self.activation.clock.next = self.clock.val();
        self.activation.enable.next = self.y_free.val();
        self.activation.value.next = self.round.saturated.val();
        if self.y_free.val() {
            self.scaled.d.next = self.times_gamma.product.val();
            self.scaled_valid.d.next = self.selected_valid.q.val();
            self.scaled_last.d.next = self.selected_last.q.val();
            self.product_a_valid.d.next = self.scaled_valid.q.val();
            self.product_a_last.d.next = self.scaled_last.q.val();
            self.product_c_valid.d.next = self.product_a_valid.q.val();
            self.product_c_last.d.next = self.product_a_last.q.val();
            self.out_valid[0].d.next = self.product_c_valid.q.val();
            self.out_last[0].d.next = self.product_c_last.q.val();
            for i in 1..4 {
                self.out_valid[i].d.next = self.out_valid[i - 1].q.val();
                self.out_last[i].d.next = self.out_last[i - 1].q.val();
            }
            self.y.d.next = self.activation.out.val();
            self.y_valid.d.next = self.out_valid[3].q.val();
            self.y_last.d.next = self.out_last[3].q.val();
        }
        if self.to_bank.val() {
            self.bank_full.d.next = true;
            self.bank_last.d.next = self.done_last.q.val();
            self.bank_gamma.d.next = self.done_gamma.q.val();
            self.lane.d.next = 0.into();
        }
        self.m_axis_y_tdata.next = self.y.q.val();
        self.m_axis_y_tvalid.next = self.y_valid.q.val();
        self.m_axis_y_tlast.next = self.y_last.q.val();
    }
}
