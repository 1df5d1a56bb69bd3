//! Streaming scaled dot-product attention for one head, O(1) memory: the
//! hardware form of `hwformer_quant::integer::sdpa::StreamingSdpa` for any
//! signed 16-bit q, k, v and output formats (default Q3.12), Q5.10 scores,
//! a UQ1.14 scale and up to `n_max` keys per query (1 to 2^20), with a
//! sticky saturation status.
//!
//! ```text
//!  query ─▶ q register (d lanes)
//!  kv ────▶ [1] q_i k_i (d 16x16 products)  [2..7] adder tree (six levels)
//!           [8, 9] * scale (PipelinedProduct)  [10..12] rounded, saturated -> s (PipelinedRoundShift)
//!           ─▶ OnlineSoftmax: [3] running max, [4..8] exp, issue ─▶ four
//!              partial states (3 pipelined cycles each), last key ─▶
//!              normalizer: merge the states, 1/sum, a lane a cycle (d + 25 cycles) ─▶ out
//! ```
//!
//! One key per cycle; stages 1 to 12 move with the back end's
//! (`online_softmax`), which stops them only when a query's last key
//! arrives while the previous query's output is still being normalized or
//! held by back-pressure; the next query's keys keep flowing until then.
//! Every output beat carries `tlast`.

use crate::adder_tree::{AdderTree, ADDER_TREE_TERMS};
use crate::exp::EXP_LATENCY;
use crate::export::{self, ExportError};
use crate::fixed::{PipelinedProduct, PipelinedRoundShift, SignExtend};
use crate::key_stream::{KeyStream, FRONT_STAGES};
use crate::manifest::{Direction, ErrorBound, Field, Manifest, Param, Status, Stream, Weights};
pub use crate::online_softmax::normalizer_cycles;
use crate::online_softmax::{OnlineSoftmax, MAX_STAGES};
use hwformer_quant::integer::sdpa::{SdpaConfig, StreamingSdpa, SCALE_FRAC};
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Most keys per query when a configuration names no `n_max`.
pub const SDPA_N_MAX: usize = 256;

/// Most fraction bits of the score format: the exp units take the gap
/// `s - m` in the score format, saturated at its most negative value, and
/// `e^x` in UQ1.15 is 0 from `-2^15 / 2^11 = -16` on, so the saturation is
/// exact; at 12 fraction bits (`-8`) it is not, and the model and the
/// hardware would differ on queries whose scores spread over more than 8.
pub const SCORE_FRAC_MAX: u32 = 11;

/// The largest `n_max` the block is built for. Its running sum is 32 bits
/// and its accumulators 48 (`StreamingSdpa::sum_bits() <= 32`,
/// `acc_bits() <= 48`): up to 65 536 keys they take every term whole,
/// above that `n_max` sets how many bits each key's terms are rounded by
/// first (`StreamingSdpa::term_shift`, 4 at 2^20), the only hardware it
/// sets.
pub const SDPA_N_MAX_BUILT: usize = 1 << 20;
// a term shift of at most 4 keeps every sum at 2^11 or more, the least
// the reciprocal unit takes
const _: () = assert!(SDPA_N_MAX_BUILT <= hwformer_quant::integer::sdpa::SDPA_WHOLE_TERM_KEYS << 4);

/// Runs `$body` with `$unit` the head type `$ty` (`SdpaUnit` or
/// `BinaryAttentionUnit`) for `d` lanes and `m` output multipliers (`m` a
/// power of two from 1 to `d`), or evaluates `$otherwise` for any other
/// pair.
#[macro_export]
macro_rules! with_head {
    ($d:expr, $m:expr, $ty:ident, |$unit:ident| $body:expr, $otherwise:expr) => {
        match ($d, $m) {
            (1, 1) => {
                type $unit = $ty<1, 16, 32, 1>;
                $body
            }
            (2, 1) => {
                type $unit = $ty<2, 32, 64, 1>;
                $body
            }
            (2, 2) => {
                type $unit = $ty<2, 32, 64, 2>;
                $body
            }
            (4, 1) => {
                type $unit = $ty<4, 64, 128, 1>;
                $body
            }
            (4, 2) => {
                type $unit = $ty<4, 64, 128, 2>;
                $body
            }
            (4, 4) => {
                type $unit = $ty<4, 64, 128, 4>;
                $body
            }
            (8, 1) => {
                type $unit = $ty<8, 128, 256, 1>;
                $body
            }
            (8, 2) => {
                type $unit = $ty<8, 128, 256, 2>;
                $body
            }
            (8, 4) => {
                type $unit = $ty<8, 128, 256, 4>;
                $body
            }
            (8, 8) => {
                type $unit = $ty<8, 128, 256, 8>;
                $body
            }
            (16, 1) => {
                type $unit = $ty<16, 256, 512, 1>;
                $body
            }
            (16, 2) => {
                type $unit = $ty<16, 256, 512, 2>;
                $body
            }
            (16, 4) => {
                type $unit = $ty<16, 256, 512, 4>;
                $body
            }
            (16, 8) => {
                type $unit = $ty<16, 256, 512, 8>;
                $body
            }
            (16, 16) => {
                type $unit = $ty<16, 256, 512, 16>;
                $body
            }
            (32, 1) => {
                type $unit = $ty<32, 512, 1024, 1>;
                $body
            }
            (32, 2) => {
                type $unit = $ty<32, 512, 1024, 2>;
                $body
            }
            (32, 4) => {
                type $unit = $ty<32, 512, 1024, 4>;
                $body
            }
            (32, 8) => {
                type $unit = $ty<32, 512, 1024, 8>;
                $body
            }
            (32, 16) => {
                type $unit = $ty<32, 512, 1024, 16>;
                $body
            }
            (32, 32) => {
                type $unit = $ty<32, 512, 1024, 32>;
                $body
            }
            (64, 1) => {
                type $unit = $ty<64, 1024, 2048, 1>;
                $body
            }
            (64, 2) => {
                type $unit = $ty<64, 1024, 2048, 2>;
                $body
            }
            (64, 4) => {
                type $unit = $ty<64, 1024, 2048, 4>;
                $body
            }
            (64, 8) => {
                type $unit = $ty<64, 1024, 2048, 8>;
                $body
            }
            (64, 16) => {
                type $unit = $ty<64, 1024, 2048, 16>;
                $body
            }
            (64, 32) => {
                type $unit = $ty<64, 1024, 2048, 32>;
                $body
            }
            (64, 64) => {
                type $unit = $ty<64, 1024, 2048, 64>;
                $body
            }
            _ => $otherwise,
        }
    };
}

/// Stages before the exp units, moving with them: the score stages of the
/// key stream (q.k, its adder tree and scaling for sdpa; the codes and
/// their table for binary attention), the running max.
pub const SDPA_SCORE_STAGES: u64 = FRONT_STAGES as u64 + MAX_STAGES;

/// Cycles from a query's last key handshake to its output's `tvalid`,
/// when nothing stalls, for `d` lanes and `m` output multipliers: the
/// score stages, the exp units, the accumulator taking the last key (1),
/// then the normalizer: `d / m + 53`.
pub fn output_delay(d: u64, m: u64) -> u64 {
    SDPA_SCORE_STAGES + EXP_LATENCY + 1 + normalizer_cycles(d, m)
}

/// Fewest cycles between the outputs of queries back to back for `d`
/// lanes and `m` output multipliers: the normalizer works
/// [`normalizer_cycles`], holds the output one cycle and is idle one, so
/// a query of `n` keys costs [`query_cycles`]: `d / m + 35`.
pub fn min_query_cycles(d: u64, m: u64) -> u64 {
    normalizer_cycles(d, m) + 2
}

/// Cycles a query of `n` keys takes in steady state when nothing stalls:
/// `max(n, d / m + 35)`.
pub fn query_cycles(n: u64, d: u64, m: u64) -> u64 {
    n.max(min_query_cycles(d, m))
}

/// The output multipliers a head of `d` lanes may have: the powers of two
/// from 1 to `d` (each divides `d`, so every group of lanes is full).
pub fn output_multiplier_choices(d: usize) -> Vec<usize> {
    (0..=d.max(1).ilog2()).map(|e| 1 << e).collect()
}

/// `Ok` when a head of `d` lanes can have `m` output multipliers.
pub fn check_output_multipliers(d: usize, m: usize) -> Result<(), String> {
    if output_multiplier_choices(d).contains(&m) {
        Ok(())
    } else {
        Err(format!(
            "output_multipliers = {m}: a head of d = {d} takes {:?} (powers of two up to d: each \
             multiplier takes d / m lanes of every output)",
            output_multiplier_choices(d)
        ))
    }
}

/// The streaming attention head with `D` lanes; `W = 16 D` and `KV = 32 D`
/// are the stream widths (see [`SdpaUnit::new`]).
#[derive(LogicBlock)]
pub struct SdpaUnit<const D: usize, const W: usize, const KV: usize, const M: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Query: d elements in the query format (default Q3.12), element 0 lowest.
    pub s_axis_query_tdata: Signal<In, Bits<W>>,
    /// Query valid.
    pub s_axis_query_tvalid: Signal<In, Bit>,
    /// Query ready.
    pub s_axis_query_tready: Signal<Out, Bit>,
    /// Ignored.
    pub s_axis_query_tlast: Signal<In, Bit>,
    /// One key and its value: k in the low `W` bits, v above.
    pub s_axis_kv_tdata: Signal<In, Bits<KV>>,
    /// Key valid.
    pub s_axis_kv_tvalid: Signal<In, Bit>,
    /// Key ready.
    pub s_axis_kv_tready: Signal<Out, Bit>,
    /// Last key of the query.
    pub s_axis_kv_tlast: Signal<In, Bit>,
    /// Output: d elements in the output format (default Q3.12).
    pub m_axis_out_tdata: Signal<Out, Bits<W>>,
    /// Output valid.
    pub m_axis_out_tvalid: Signal<Out, Bit>,
    /// Output ready.
    pub m_axis_out_tready: Signal<In, Bit>,
    /// High on every output beat.
    pub m_axis_out_tlast: Signal<Out, Bit>,
    /// Sticky status: a score or an output element was saturated (see
    /// `OnlineSoftmax::saturated`); named in the manifest's `status`.
    pub status_saturated: Signal<Out, Bit>,
    keys: KeyStream<W, KV>,
    query: DFF<Bits<W>>,
    // stage 1: the products; 2..7: their sum; 8, 9: scaled; 10..12: the score
    products: [DFF<Bits<32>>; D],
    product_terms: [SignExtend<32, 40>; D],
    tree: AdderTree,
    dot: SignExtend<40, 48>,
    scale_product: PipelinedProduct,
    score_round: PipelinedRoundShift,
    softmax: OnlineSoftmax<D, W, M>,
    // one signal per lane, never a temporary shared by the lanes: Verilator
    // schedules each variable on its own (see hwformer_sim::verilator)
    lane_products: [Signal<Local, Signed<32>>; D],
    zero: Constant<Bits<40>>,
    scale: Constant<Bits<16>>,
    score_shift: Constant<Bits<7>>,
}

impl<const D: usize, const W: usize, const KV: usize, const M: usize> SdpaUnit<D, W, KV, M> {
    /// The block for `model`: `d = D`, any signed 16-bit query, key, value
    /// and output formats, the Q5.10 score format, `n_max` up to
    /// [`SDPA_N_MAX_BUILT`] (checked
    /// with errors by [`export_config`]; here a mismatch panics).
    pub fn new(model: &StreamingSdpa) -> Self {
        assert_eq!(W, 16 * D, "W must be 16 D");
        assert_eq!(KV, 32 * D, "KV must be 32 D");
        let c = model.config();
        buildable(c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.d, D, "the model's d is the block's");
        // score = round(q.k * scale / 2^(fq + fk + 14 - fs)) (see StreamingSdpa::score)
        let score_shift = c.query.frac() + c.key.frac() + SCALE_FRAC - c.score.frac();
        Self {
            clock: Default::default(),
            s_axis_query_tdata: Default::default(),
            s_axis_query_tvalid: Default::default(),
            s_axis_query_tready: Default::default(),
            s_axis_query_tlast: Default::default(),
            s_axis_kv_tdata: Default::default(),
            s_axis_kv_tvalid: Default::default(),
            s_axis_kv_tready: Default::default(),
            s_axis_kv_tlast: Default::default(),
            m_axis_out_tdata: Default::default(),
            m_axis_out_tvalid: Default::default(),
            m_axis_out_tready: Default::default(),
            m_axis_out_tlast: Default::default(),
            status_saturated: Default::default(),
            keys: Default::default(),
            query: Default::default(),
            products: array_init::array_init(|_| Default::default()),
            product_terms: array_init::array_init(|_| Default::default()),
            tree: Default::default(),
            dot: Default::default(),
            scale_product: Default::default(),
            score_round: Default::default(),
            softmax: OnlineSoftmax::new(model),
            lane_products: array_init::array_init(|_| Default::default()),
            zero: Constant::new(bits::<40>(0)),
            scale: Constant::new(bits::<16>(model.scale_raw() as u64)),
            score_shift: Constant::new(bits::<7>(u64::from(score_shift))),
        }
    }
}

impl<const D: usize, const W: usize, const KV: usize, const M: usize> Logic for SdpaUnit<D, W, KV, M> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, query);
        for i in 0..D {
            self.products[i].clock.next = self.clock.val();
            self.products[i].d.next = self.products[i].q.val();
        }
        self.tree.clock.next = self.clock.val();
        self.scale_product.clock.next = self.clock.val();
        self.score_round.clock.next = self.clock.val();
        self.keys.clock.next = self.clock.val();
        self.softmax.clock.next = self.clock.val();
        // the streams' handshakes; the query register holds one query
        self.keys.query_valid.next = self.s_axis_query_tvalid.val();
        self.s_axis_query_tready.next = self.keys.query_ready.val();
        self.keys.kv_data.next = self.s_axis_kv_tdata.val();
        self.keys.kv_valid.next = self.s_axis_kv_tvalid.val();
        self.keys.kv_last.next = self.s_axis_kv_tlast.val();
        self.s_axis_kv_tready.next = self.keys.kv_ready.val();
        self.keys.advance.next = self.softmax.advance.val();
        if self.keys.load_query.val() {
            self.query.d.next = self.s_axis_query_tdata.val();
        }
        // stage 1: q_i * k_i, each product registered (a DSP's own register)
        for i in 0..D {
            // the product goes to a 32-bit signed signal first: inside
            // Verilog's $unsigned() it would be self-determined, 16 bits wide
            self.lane_products[i].next = signed_cast(self.query.q.val().get_bits::<16>(16 * i))
                * signed_cast(self.s_axis_kv_tdata.val().get_bits::<16>(16 * i));
            if self.softmax.advance.val() {
                self.products[i].d.next = unsigned_cast(self.lane_products[i].val());
            }
            self.product_terms[i].value.next = self.products[i].q.val();
            self.tree.terms[i].next = self.product_terms[i].extended.val();
        }
        for i in D..ADDER_TREE_TERMS {
            self.tree.terms[i].next = self.zero.val();
        }
        // stages 2 to 7: the sum; 8 and 9: times the scale; 10 to 12:
        // rounded to the score format, saturated
        self.tree.enable.next = self.softmax.advance.val();
        self.dot.value.next = self.tree.sum.val();
        self.scale_product.enable.next = self.softmax.advance.val();
        self.scale_product.a.next = self.dot.extended.val();
        self.scale_product.b.next = self.scale.val();
        self.score_round.enable.next = self.softmax.advance.val();
        self.score_round.value.next = self.scale_product.product.val();
        self.score_round.pre_shift.next = self.score_shift.val() - 1;
        self.score_round.addend.next = 0.into();
        // the back end: running max, exp, accumulator, normalizer
        self.softmax.score_valid.next = self.keys.score_valid.val();
        self.softmax.score_last.next = self.keys.score_last.val();
        self.softmax.score_first.next = self.keys.score_first.val();
        self.softmax.score.next = self.score_round.saturated.val();
        self.softmax.score_saturated.next = self.score_round.clipped.val();
        self.softmax.value.next = self.keys.value.val();
        self.softmax.m_axis_out_tready.next = self.m_axis_out_tready.val();
        self.m_axis_out_tvalid.next = self.softmax.m_axis_out_tvalid.val();
        self.m_axis_out_tdata.next = self.softmax.m_axis_out_tdata.val();
        self.m_axis_out_tlast.next = self.softmax.m_axis_out_tlast.val();
        self.status_saturated.next = self.softmax.saturated.val();
    }
}

/// Head dimensions the block is built for.
pub const SDPA_D_CHOICES: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

/// The default score format (the exp units' input; `formats.s` sets
/// another).
pub fn score_format() -> QFormat {
    SdpaConfig::with_d(1, SDPA_N_MAX).score
}

/// The configuration key of the score format.
pub const SCORE_FIELD: &str = "s";

/// `Ok` when the block can be built for `config`: any signed 16-bit query,
/// key, value and output formats; a score format the exp unit takes with
/// at most [`SCORE_FRAC_MAX`] fraction bits (Q7.8 to Q4.11);
/// `n_max` from 1 to [`SDPA_N_MAX_BUILT`] (`d` is checked by
/// [`export_config`]). Keys are counted by `tlast`, not by a counter;
/// `n_max` sets only the accumulators' rounding of each key's terms
/// above 65 536 keys (`StreamingSdpa::term_shift`).
pub fn buildable(config: &SdpaConfig) -> Result<(), String> {
    for (name, format) in stream_formats(config) {
        if !format.is_signed() || format.bits() != 16 || format.frac() > 15 {
            return Err(format!(
                "formats.{name} = {format}: sdpa is built for signed 16-bit formats with at most 15 fraction bits (Q0.15 to Q15.0)"
            ));
        }
    }
    crate::exp::exp_input_supported(config.score).map_err(|e| format!("formats.{SCORE_FIELD}: {e}"))?;
    if config.score.frac() > SCORE_FRAC_MAX {
        return Err(format!(
            "formats.{SCORE_FIELD} = {}: the heads are built for scores with 8 to {SCORE_FRAC_MAX} fraction bits \
             (Q7.8 to Q4.11): they saturate s - m at -2^15 LSBs, which matches the model only where e^x is \
             already 0 in UQ1.15 (-2^15 / 2^F <= -11.1)",
            config.score
        ));
    }
    if !(1..=SDPA_N_MAX_BUILT).contains(&config.n_max) {
        return Err(format!(
            "n_max = {}: the attention heads are built for 1 to {SDPA_N_MAX_BUILT} keys a query",
            config.n_max
        ));
    }
    Ok(())
}

/// The attention model a manifest of this block describes: `d`, `n_max`
/// and the applied scale from its params, the formats of its fields `q`,
/// `k`, `v` and `o`, the built score format; checked by [`buildable`].
pub fn model_from_manifest(manifest: &Manifest) -> Result<StreamingSdpa, String> {
    StreamingSdpa::new(head_config_from_manifest(manifest)?).map_err(|e| e.to_string())
}

/// The configuration an attention head's manifest (`sdpa`,
/// `binary_attention`) describes: `d`, `n_max` and the applied scale from
/// its params, the formats of its fields `q`, `k`, `v` and `o`, the built
/// score format; checked by [`buildable`].
pub fn head_config_from_manifest(manifest: &Manifest) -> Result<SdpaConfig, String> {
    let d = manifest.count("d", 1, 64)?;
    if !SDPA_D_CHOICES.contains(&d) {
        return Err(format!(
            "{} is built for d in {SDPA_D_CHOICES:?}, not {d}",
            manifest.block
        ));
    }
    let mut config = SdpaConfig::with_d(d, manifest.count("n_max", 1, SDPA_N_MAX_BUILT)?);
    config.scale = manifest.number("scale")?;
    for name in FORMAT_FIELDS {
        set_format(&mut config, name, manifest.field_format(name)?)?;
    }
    // manifests written before the score format was a setting have none
    if manifest.params.contains_key("score_format") {
        config.score = manifest
            .text("score_format")?
            .parse()
            .map_err(|e| format!("params.score_format: {e}"))?;
    }
    buildable(&config)?;
    Ok(config)
}

/// The output multipliers a head's manifest names (`output_multipliers`;
/// 1 in manifests written before it was a setting), checked for its `d`.
pub fn output_multipliers_from_manifest(manifest: &Manifest) -> Result<usize, String> {
    let d = manifest.count("d", 1, 64)?;
    let m = if manifest.params.contains_key(MULTIPLIERS_PARAM) {
        manifest.count(MULTIPLIERS_PARAM, 1, 64)?
    } else {
        1
    };
    check_output_multipliers(d, m)?;
    Ok(m)
}

/// The manifest param (and configuration key) of the output multipliers.
pub const MULTIPLIERS_PARAM: &str = "output_multipliers";

/// The stream fields whose formats a configuration may set.
pub const FORMAT_FIELDS: [&str; 4] = ["q", "k", "v", "o"];

/// The formats of the stream fields, in [`FORMAT_FIELDS`] order.
pub fn stream_formats(config: &SdpaConfig) -> [(&'static str, QFormat); 4] {
    let [q, k, v, o] = FORMAT_FIELDS;
    [
        (q, config.query),
        (k, config.key),
        (v, config.value),
        (o, config.output),
    ]
}

/// Sets the format of field `name` (one of [`FORMAT_FIELDS`]) in `config`.
pub fn set_format(config: &mut SdpaConfig, name: &str, format: QFormat) -> Result<(), String> {
    let slot = match name {
        "q" => &mut config.query,
        "k" => &mut config.key,
        "v" => &mut config.value,
        "o" => &mut config.output,
        SCORE_FIELD => &mut config.score,
        _ => {
            return Err(format!(
                "sdpa has no field `{name}` (its fields: {}, and {SCORE_FIELD} for the scores)",
                FORMAT_FIELDS.join(", ")
            ))
        }
    };
    *slot = format;
    Ok(())
}

/// The exported attention block for head dimension `d` (one of
/// [`SDPA_D_CHOICES`]) in the default formats: its Verilog and its
/// manifest. The module is `hwformer_sdpa_d<d>` (other formats add their
/// fraction bits: `hwformer_sdpa_d<d>_q<fq>k<fk>v<fv>o<fo>`), so heads of
/// several sizes and formats can share a project.
pub fn export(d: usize) -> Result<(String, Manifest), ExportError> {
    export_config(SdpaConfig::with_d(d, SDPA_N_MAX))
}

/// Error bound in the manifest: 64 output LSBs, or four times the worst
/// error measured over [`StreamingSdpa::worst_bounded_input_error`]'s
/// battery (1, 16 and `n_max` keys, four seeds) when that is larger, as it
/// is for outputs with many fraction bits, where the internal formats
/// (Q5.10 scores, UQ1.15 weights) dominate. Returns (bound, worst measured).
fn error_bound(model: &StreamingSdpa) -> Result<(f64, f64), ExportError> {
    measured_bound(model, |n, seed| model.worst_bounded_input_error(n, seed))
}

/// An attention head's manifest bound: the larger of `model`'s documented
/// bound (64 output LSBs) and four times the worst error `worst(n, seed)`
/// measures over 1, 16 and `n_max` keys and four seeds. Returns (bound,
/// worst measured).
pub(crate) fn measured_bound(
    model: &StreamingSdpa,
    worst: impl Fn(usize, u64) -> hwformer_quant::Result<f64>,
) -> Result<(f64, f64), ExportError> {
    let mut measured: f64 = 0.0;
    for n in [1, 16, model.config().n_max] {
        for seed in 0..4 {
            measured = measured.max(worst(n, seed).map_err(|e| ExportError::Check(e.to_string()))?);
        }
    }
    Ok((model.bounded_input_error().max(4.0 * measured), measured))
}

/// The module stem of a head built for `n_max` keys and `m` output
/// multipliers: `stem`, with `_s<score frac>`, `_n<n_max>` and `_m<m>`
/// where they are not the defaults (Q5.10, [`SDPA_N_MAX`], 1).
pub(crate) fn head_stem(mut stem: String, config: &SdpaConfig, m: usize) -> String {
    if config.score != score_format() {
        stem.push_str(&format!("_s{}", config.score.frac()));
    }
    if config.n_max != SDPA_N_MAX {
        stem.push_str(&format!("_n{}", config.n_max));
    }
    if m != 1 {
        stem.push_str(&format!("_m{m}"));
    }
    stem
}

/// The attention block for `config` (see [`buildable`]) with one output
/// multiplier.
pub fn export_config(config: SdpaConfig) -> Result<(String, Manifest), ExportError> {
    export_head(config, 1)
}

/// The attention block for `config` (see [`buildable`]) with `m` output
/// multipliers (see [`check_output_multipliers`]).
pub fn export_head(config: SdpaConfig, m: usize) -> Result<(String, Manifest), ExportError> {
    export::on_build_thread("sdpa", || export_head_on_this_thread(config, m))
}

fn export_head_on_this_thread(config: SdpaConfig, m: usize) -> Result<(String, Manifest), ExportError> {
    buildable(&config).map_err(ExportError::Check)?;
    check_output_multipliers(config.d, m).map_err(ExportError::Check)?;
    let d = config.d;
    let model = StreamingSdpa::new(config).map_err(|e| ExportError::Check(e.to_string()))?;
    // heads in other formats get their own module names, so any mix of
    // heads can share a project
    let c = model.config();
    let stem = if stream_formats(c) == stream_formats(&SdpaConfig::with_d(d, SDPA_N_MAX)) {
        format!("sdpa_d{d}")
    } else {
        let fractions: String = stream_formats(c)
            .iter()
            .map(|(name, f)| format!("{name}{}", f.frac()))
            .collect();
        format!("sdpa_d{d}_{fractions}")
    };
    let stem = head_stem(stem, c, m);
    let verilog = crate::with_head!(
        d,
        m,
        SdpaUnit,
        |Unit| {
            let mut uut = Unit::new(&model);
            uut.connect_all();
            export::verilog(&stem, &uut)?
        },
        return Err(ExportError::Check(format!(
            "sdpa is built for d in {SDPA_D_CHOICES:?}, not {d}"
        )))
    );
    let (bound, measured_worst) = error_bound(&model)?;
    let manifest = head_manifest(
        "sdpa",
        &stem,
        &model,
        vec![
            ("max_abs_input", Param::from(model.max_abs_input())),
            ("bound_measured_worst", Param::from(measured_worst)),
        ],
        bound,
        None,
        m,
    );
    Ok((verilog, manifest))
}

/// The manifest of an attention head (`sdpa`, `binary_attention`): the
/// streams `query`, `kv` and `out` in `model`'s formats, params `d`,
/// `n_max`, `output_multipliers` (`m`), `cycles_per_query`, `scale` (the
/// applied one) and `extra`, the latency of [`output_delay`], one key a
/// cycle, the bound, and the weights entry.
pub(crate) fn head_manifest(
    block: &str,
    stem: &str,
    model: &StreamingSdpa,
    extra: Vec<(&str, Param)>,
    bound: f64,
    weights: Option<Weights>,
    m: usize,
) -> Manifest {
    let c = model.config();
    let (d, multipliers) = (c.d as u64, m as u64);
    let lanes = |name: &str, format| Field {
        name: name.into(),
        count: c.d,
        format,
    };
    let mut waivers = export::standard_waivers();
    waivers.insert(
        "UNUSEDPARAM".into(),
        "rust-hdl declares an enum's states in every module that stores one, used or not".into(),
    );
    waivers.insert(
        "UNOPTFLAT".into(),
        "rust-hdl writes one always @(*) per module, so Verilator sees loops through the exp and \
         arithmetic sub-blocks where the signals have none (the logic settles)"
            .into(),
    );
    waivers.insert(
        "UNUSEDSIGNAL".into(),
        "the shared exp unit, rounding shifter and key stream have outputs or bits this block does \
         not use (the wide exponential, the saturated value, the key half of a kv beat), and the \
         query's tlast is ignored by contract; synthesis removes them"
            .into(),
    );
    let mut params = BTreeMap::from([
        ("d".to_string(), Param::from(c.d as f64)),
        ("n_max".to_string(), Param::from(c.n_max as f64)),
        (
            "term_shift".to_string(),
            Param::from(f64::from(model.term_shift())),
        ),
        (MULTIPLIERS_PARAM.to_string(), Param::from(m as f64)),
        (
            "cycles_per_query".to_string(),
            Param::from(
                format!(
                    "max(n, d / output_multipliers + 35) = max(n, {}) for n keys, when nothing stalls",
                    min_query_cycles(d, multipliers)
                )
                .as_str(),
            ),
        ),
        ("scale".to_string(), Param::from(model.applied_scale())),
        (
            "score_format".to_string(),
            Param::from(c.score.to_string().as_str()),
        ),
    ]);
    params.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
    Manifest {
        block: block.into(),
        module: export::module_name(stem),
        verilog: format!("{block}.v"),
        clock: "clock".into(),
        reset: None,
        streams: vec![
            Stream::new("query", Direction::In, vec![lanes("q", c.query)]),
            Stream::new("kv", Direction::In, vec![lanes("k", c.key), lanes("v", c.value)]),
            Stream::new("out", Direction::Out, vec![lanes("o", c.output)]),
        ],
        params,
        latency_cycles: output_delay(d, multipliers),
        initiation_interval: 1,
        error_bound: Some(ErrorBound {
            metric: "max_abs".into(),
            versus: "float64".into(),
            value: bound,
        }),
        weights,
        lint_waivers: waivers,
        status: Some(Status {
            port: "status_saturated".into(),
            sticky: true,
            meaning: "a score left the score format, or an output element the output format, and was \
                      saturated; it is high by the time that query's output is offered, and never \
                      before the previous query's output is taken; keys beyond n_max are not \
                      detected"
                .into(),
        }),
        memories: Vec::new(),
    }
}
