//! The exponential unit: `e^x` for `x <= 0` on an AXI4-Stream, the
//! hardware form of `hwformer_quant::tables::ExpNeg` for signed 16-bit
//! inputs with F = 8 to 12 fraction bits (default Q5.10).
//!
//! ```text
//!  stage 0   x (Q(15-F).F), positive values clamped to 0
//!  stage 1   t = x * log2(e) (Q1.14 constant, 16x16 -> 32, F + 14 fraction bits)   t = -n + f
//!  stage 2   n = -(t >> (F + 14)); f = t[F+13 : F-2]; HIGH[f[15:8]], LOW[f[7:0]] (two 256 x 16 ROMs)
//!  stage 3   p = HIGH * LOW (16x16 -> 32, Q2.30);  the biases 2^(14+n), 2^(6+n); the shifts 15+n, 7+n
//!  stage 4   p + 2^(14+n), p + 2^(6+n)
//!  stage 5   e = (p + 2^(14+n)) >> (15+n) (UQ1.15);  w = (p + 2^(6+n)) >> (7+n) (UQ1.23)
//! ```
//! Every stage moves when the output register is empty or being taken
//! (`advance = !m_tvalid | m_tready`), so back-pressure stalls the whole
//! pipeline and no beat is lost or duplicated. `tdata` out packs `e` in
//! bits 15:0 and `w` in bits 39:16; `tlast` travels with its beat.

use crate::export::{self, ExportError};
use crate::fixed::SignExtend;
use crate::manifest::{Direction, ErrorBound, Field, Manifest, Param, Stream};
use crate::rom::rom_from_table;
use hwformer_quant::tables::exp::LOG2E_Q14;
use hwformer_quant::tables::exp::{EXP_ERROR_BOUND, EXP_OUT_FRAC, EXP_WIDE_FRAC};
use hwformer_quant::tables::ExpNeg;
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Cycles from an input handshake to the output beat's `tvalid`.
pub const EXP_LATENCY: u64 = 6;

/// The pipelined exponential unit.
#[derive(LogicBlock)]
pub struct ExpUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Input `x`, signed 16-bit raw bits (8 to 12 fraction bits).
    pub s_axis_x_tdata: Signal<In, Bits<16>>,
    /// Input valid.
    pub s_axis_x_tvalid: Signal<In, Bit>,
    /// Input ready.
    pub s_axis_x_tready: Signal<Out, Bit>,
    /// Input last.
    pub s_axis_x_tlast: Signal<In, Bit>,
    /// Output: `e` (UQ1.15) in 15:0, `w` (UQ1.23) in 39:16.
    pub m_axis_exp_tdata: Signal<Out, Bits<40>>,
    /// Output valid.
    pub m_axis_exp_tvalid: Signal<Out, Bit>,
    /// Output ready.
    pub m_axis_exp_tready: Signal<In, Bit>,
    /// Output last.
    pub m_axis_exp_tlast: Signal<Out, Bit>,
    advance: Signal<Local, Bit>,
    x_in: Signal<Local, Signed<16>>,
    fraction: Signal<Local, Bits<16>>,
    valid: [DFF<Bit>; 6],
    last: [DFF<Bit>; 6],
    x0: DFF<Signed<16>>,
    t1: DFF<Signed<32>>,
    n2: DFF<Bits<8>>,
    high2: DFF<Bits<16>>,
    low2: DFF<Bits<16>>,
    shift_e3: DFF<Bits<8>>,
    shift_w3: DFF<Bits<8>>,
    p3: DFF<Bits<32>>,
    // the rounding biases 2^(14+n) and 2^(6+n), shifted a stage early so
    // stage 4 is one add and one shift
    bias_e3: DFF<Bits<34>>,
    bias_w3: DFF<Bits<34>>,
    round_e4: DFF<Bits<34>>,
    round_w4: DFF<Bits<34>>,
    shift_e4: DFF<Bits<8>>,
    shift_w4: DFF<Bits<8>>,
    e5: DFF<Bits<16>>,
    w5: DFF<Bits<24>>,
    high_rom: ROM<Bits<16>, 8>,
    low_rom: ROM<Bits<16>, 8>,
    log2e: Constant<Signed<16>>,
    one: Constant<Bits<34>>,
    // t sign-extended, so its integer part can be sliced for any F
    t_wide: SignExtend<32, 40>,
    fraction_at: Constant<Bits<8>>,
    integer_at: Constant<Bits<8>>,
}

/// The input format of the default design, Q5.10.
pub fn default_input() -> QFormat {
    QFormat::signed(16, 10).expect("Q5.10 is a valid format")
}

/// The exponential model a manifest of the exp block describes (its field
/// `x`'s format, checked against [`exp_input_supported`]).
pub fn model_from_manifest(manifest: &Manifest) -> Result<ExpNeg, String> {
    let input = manifest.field_format("x")?;
    exp_input_supported(input)?;
    ExpNeg::new(input).map_err(|e| e.to_string())
}

/// `Ok` when the unit can be built for inputs in `format`: signed, 16 bits,
/// 8 to 12 fraction bits (the range `EXP_ERROR_BOUND` is swept over; the
/// integer part `n` of `x * log2(e)` then fits 8 bits).
pub fn exp_input_supported(format: QFormat) -> Result<(), String> {
    if format.is_signed() && format.bits() == 16 && (8..=12).contains(&format.frac()) {
        Ok(())
    } else {
        Err(format!(
            "{format}: the exp unit is built for signed 16-bit inputs with 8 to 12 fraction bits (Q7.8 to Q3.12)"
        ))
    }
}

impl ExpUnit {
    /// The unit for `exp`'s input format (see [`exp_input_supported`];
    /// another format panics), with its tables.
    pub fn new(exp: &ExpNeg) -> Self {
        exp_input_supported(exp.input()).unwrap_or_else(|e| panic!("{e}"));
        let frac = u64::from(exp.input().frac());
        Self {
            clock: Default::default(),
            s_axis_x_tdata: Default::default(),
            s_axis_x_tvalid: Default::default(),
            s_axis_x_tready: Default::default(),
            s_axis_x_tlast: Default::default(),
            m_axis_exp_tdata: Default::default(),
            m_axis_exp_tvalid: Default::default(),
            m_axis_exp_tready: Default::default(),
            m_axis_exp_tlast: Default::default(),
            advance: Default::default(),
            x_in: Default::default(),
            fraction: Default::default(),
            valid: array_init::array_init(|_| Default::default()),
            last: array_init::array_init(|_| Default::default()),
            x0: Default::default(),
            t1: Default::default(),
            n2: Default::default(),
            high2: Default::default(),
            low2: Default::default(),
            shift_e3: Default::default(),
            shift_w3: Default::default(),
            p3: Default::default(),
            bias_e3: Default::default(),
            bias_w3: Default::default(),
            round_e4: Default::default(),
            round_w4: Default::default(),
            shift_e4: Default::default(),
            shift_w4: Default::default(),
            e5: Default::default(),
            w5: Default::default(),
            high_rom: rom_from_table(exp.high_table()),
            low_rom: rom_from_table(exp.low_table()),
            log2e: Constant::new(signed::<16>(LOG2E_Q14)),
            one: Constant::new(bits::<34>(1)),
            t_wide: Default::default(),
            fraction_at: Constant::new(bits::<8>(frac - 2)),
            integer_at: Constant::new(bits::<8>(frac + 14)),
        }
    }
}

impl Logic for ExpUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, x0, t1, n2, high2, low2, shift_e3, shift_w3, p3, bias_e3, bias_w3, round_e4,
            round_w4, shift_e4, shift_w4, e5, w5
        );
        for i in 0..6 {
            self.valid[i].clock.next = self.clock.val();
            self.valid[i].d.next = self.valid[i].q.val();
            self.last[i].clock.next = self.clock.val();
            self.last[i].d.next = self.last[i].q.val();
        }
        self.advance.next = !self.valid[5].q.val() | self.m_axis_exp_tready.val();
        self.s_axis_x_tready.next = self.advance.val();
        // stage 0: clamp positive inputs to 0
        self.x_in.next = signed_cast(self.s_axis_x_tdata.val());
        // stage 2 inputs: the top 16 fraction bits of t (F + 14 of them)
        // address the tables
        self.fraction.next = unsigned_cast(self.t1.q.val().get_bits::<16>(self.fraction_at.val().index()));
        self.t_wide.value.next = unsigned_cast(self.t1.q.val());
        self.high_rom.address.next = self.fraction.val().get_bits::<8>(8);
        self.low_rom.address.next = self.fraction.val().get_bits::<8>(0);
        if self.advance.val() {
            self.valid[0].d.next = self.s_axis_x_tvalid.val();
            self.last[0].d.next = self.s_axis_x_tlast.val();
            for i in 1..6 {
                self.valid[i].d.next = self.valid[i - 1].q.val();
                self.last[i].d.next = self.last[i - 1].q.val();
            }
            self.x0.d.next = self.x_in.val();
            if !self.x_in.val().get_bit(15) {
                self.x0.d.next = 0.into();
            }
            self.t1.d.next = self.x0.q.val() * self.log2e.val();
            // n = -(t >> (F + 14)), t <= 0; n < 256 for F >= 8
            self.n2.d.next = 0 - self
                .t_wide
                .extended
                .val()
                .get_bits::<8>(self.integer_at.val().index());
            self.high2.d.next = self.high_rom.data.val();
            self.low2.d.next = self.low_rom.data.val();
            self.shift_e3.d.next = self.n2.q.val() + 15;
            self.shift_w3.d.next = self.n2.q.val() + 7;
            self.bias_e3.d.next = self.one.val() << (self.n2.q.val() + 14);
            self.bias_w3.d.next = self.one.val() << (self.n2.q.val() + 6);
            self.p3.d.next = self.high2.q.val() * self.low2.q.val();
            // stage 4: half an output LSB added; stage 5: the shift
            self.round_e4.d.next = bit_cast::<34, 32>(self.p3.q.val()) + self.bias_e3.q.val();
            self.round_w4.d.next = bit_cast::<34, 32>(self.p3.q.val()) + self.bias_w3.q.val();
            self.shift_e4.d.next = self.shift_e3.q.val();
            self.shift_w4.d.next = self.shift_w3.q.val();
            self.e5.d.next = bit_cast::<16, 34>(self.round_e4.q.val() >> self.shift_e4.q.val());
            self.w5.d.next = bit_cast::<24, 34>(self.round_w4.q.val() >> self.shift_w4.q.val());
        }
        self.m_axis_exp_tvalid.next = self.valid[5].q.val();
        self.m_axis_exp_tlast.next = self.last[5].q.val();
        self.m_axis_exp_tdata.next =
            (bit_cast::<40, 24>(self.w5.q.val()) << 16) | bit_cast::<40, 16>(self.e5.q.val());
    }
}

/// The exported exponential unit for inputs in `input` (see
/// [`exp_input_supported`]).
pub fn export_with(input: QFormat) -> Result<(String, Manifest), ExportError> {
    exp_input_supported(input).map_err(ExportError::Check)?;
    let exp = ExpNeg::new(input).map_err(|e| ExportError::Check(e.to_string()))?;
    let mut uut = ExpUnit::new(&exp);
    uut.connect_all();
    let stem = export::format_stem("exp", input, default_input());
    let verilog = export::verilog(&stem, &uut)?;
    let field = |name: &str, bits, frac| Field {
        name: name.into(),
        count: 1,
        format: QFormat::unsigned(bits, frac).expect("valid"),
    };
    let manifest = Manifest {
        block: "exp".into(),
        module: export::module_name(&stem),
        verilog: "exp.v".into(),
        clock: "clock".into(),
        reset: None,
        streams: vec![
            Stream::new(
                "x",
                Direction::In,
                vec![Field {
                    name: "x".into(),
                    count: 1,
                    format: input,
                }],
            ),
            Stream::new(
                "exp",
                Direction::Out,
                vec![field("e", 16, EXP_OUT_FRAC), field("w", 24, EXP_WIDE_FRAC)],
            ),
        ],
        params: BTreeMap::from([
            ("input_frac".to_string(), Param::from(f64::from(input.frac()))),
            ("table_entries".to_string(), Param::from(256.0)),
        ]),
        latency_cycles: EXP_LATENCY,
        initiation_interval: 1,
        error_bound: Some(ErrorBound {
            metric: "max_abs".into(),
            versus: "float64".into(),
            value: EXP_ERROR_BOUND,
        }),
        weights: None,
        status: None,
        memories: Vec::new(),
        lint_waivers: {
            let mut waivers = export::standard_waivers();
            waivers.insert(
                "UNUSEDSIGNAL".into(),
                "only 8 bits of the sign-extended x * log2(e) are the integer part n (which 8 depends on \
                 the input format); synthesis removes the rest"
                    .into(),
            );
            waivers
        },
    };
    Ok((verilog, manifest))
}
