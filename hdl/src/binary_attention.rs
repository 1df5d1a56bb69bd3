//! Binarized attention for one head (EcoFormer style): the hardware form
//! of `hwformer_quant::integer::binary_attention::BinaryAttention`. Query
//! and keys are hashed to `bits`-bit codes by the signs of a ±1 random
//! projection (adders only), a key's score is a table entry indexed by
//! the Hamming distance of the codes (XOR and popcount: no multiplier),
//! and the scores go through sdpa's online-softmax back end.
//!
//! ```text
//!  query ─▶ SignProjection [six levels] ─▶ query code[parity]   (the query itself is not kept)
//!  kv ────▶ [1..6] SignProjection(k) ─▶ [7] ^ query code[the key's parity]: differing bits
//!           [8] popcounts of the halves  [9] their sum  [10] score = table[count]
//!           (bits + 1 entries, scale · (bits − 2h))
//!           [11, 12] delay: sdpa's twelve score stages, so both heads share one timing
//!           ─▶ OnlineSoftmax: [3] running max, [4..8] exp, issue ─▶ four
//!              partial states (3 pipelined cycles each), last key ─▶
//!              normalizer: merge the states, 1/sum, a lane a cycle (d + 25 cycles) ─▶ out
//! ```
//!
//! Same streams, stage counts and handshakes as sdpa (its handshake
//! graph, with sdpa's constants), one key per cycle.
//!
//! The query's projection takes its six levels at the key stages' edges
//! (`advance`) after the query is loaded, and its code lands in one of
//! two registers by the query's parity; every key carries the parity of
//! its query. A query's code lands at the sixth `advance` edge after its
//! load, before its first key (taken at an `advance` edge after the load)
//! reaches stage 7; the next query of the same parity loads only after
//! the query between has taken a key, so its code lands after the last
//! key of this one has passed stage 7.

use crate::export::{self, ExportError, Exported};
use crate::key_stream::{KeyStream, FRONT_STAGES};

const _: () = assert!(
    FRONT_STAGES == 12 && SIGN_PROJECTION_STAGES == 6,
    "six projection levels, four score stages and a delay of two"
);
use crate::layer_weights::{read_weights, weights_file};
use crate::manifest::{Manifest, Param};
use crate::online_softmax::OnlineSoftmax;
use crate::rom::rom_from_signed;
use crate::sdpa::{self, SDPA_D_CHOICES, SDPA_N_MAX};
use crate::sign_codes::{Popcount, SignProjection, SIGN_PROJECTION_STAGES};
use crate::LayerSettings;
use hwformer_quant::integer::binarized::RandomProjection;
use hwformer_quant::integer::binary_attention::{default_scale, BinaryAttention, BINARY_BITS_MAX};
use hwformer_quant::integer::sdpa::SdpaConfig;
use hwformer_quant::weights::RawTensor;
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Code bits when a configuration names none.
pub const BITS_DEFAULT: usize = 32;

/// The binary attention head with `D` lanes; `W = 16 D` and `KV = 32 D`
/// are the stream widths.
#[derive(LogicBlock)]
pub struct BinaryAttentionUnit<const D: usize, const W: usize, const KV: usize, const M: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Query: d elements in the query format, element 0 lowest.
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
    /// Output: d elements in the output format.
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
    query_hash: SignProjection<D, W>,
    key_hash: SignProjection<D, W>,
    keys: KeyStream<W, KV>,
    // the query codes by parity, the parity of the last query loaded
    query_codes: [DFF<Bits<64>>; 2],
    parity: DFF<Bit>,
    // the query's projection levels: holding a query, and its parity
    query_level_valid: [DFF<Bit>; SIGN_PROJECTION_STAGES],
    query_level_parity: [DFF<Bit>; SIGN_PROJECTION_STAGES],
    // stages 1 to 6: the key's projection levels, and its query's parity
    key_level_parity: [DFF<Bit>; SIGN_PROJECTION_STAGES],
    // stage 7: the codes' differing bits; 8: the count of each half (a
    // 64-bit count in one stage was the layer's slowest path); 9: the
    // count; 10: the score
    differ7: DFF<Bits<64>>,
    popcount_low: Popcount,
    popcount_high: Popcount,
    half_counts8: [DFF<Bits<8>>; 2],
    count9: DFF<Bits<8>>,
    score_table: ROM<Bits<16>, 8>,
    score_clipped: ROM<Bits<16>, 8>,
    s10: DFF<Bits<16>>,
    sat10: DFF<Bit>,
    // stages 11 and 12: the score waits for the key stream's last stage
    s_delay: [DFF<Bits<16>>; 2],
    sat_delay: [DFF<Bit>; 2],
    softmax: OnlineSoftmax<D, W, M>,
}

impl<const D: usize, const W: usize, const KV: usize, const M: usize> BinaryAttentionUnit<D, W, KV, M> {
    /// The block for `model` (`d = D`; checked with errors by [`export`],
    /// here a mismatch panics).
    pub fn new(model: &BinaryAttention) -> Self {
        assert_eq!(W, 16 * D, "W must be 16 D");
        assert_eq!(KV, 32 * D, "KV must be 32 D");
        let attention = model.attention();
        sdpa::buildable(attention.config()).unwrap_or_else(|e| panic!("{e}"));
        let weights = model.projection().weights();
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
            query_hash: SignProjection::new(weights),
            key_hash: SignProjection::new(weights),
            keys: Default::default(),
            query_codes: array_init::array_init(|_| Default::default()),
            parity: Default::default(),
            query_level_valid: array_init::array_init(|_| Default::default()),
            query_level_parity: array_init::array_init(|_| Default::default()),
            key_level_parity: array_init::array_init(|_| Default::default()),
            differ7: Default::default(),
            popcount_low: Default::default(),
            popcount_high: Default::default(),
            half_counts8: array_init::array_init(|_| Default::default()),
            count9: Default::default(),
            score_table: rom_from_signed("binary scores", model.score_table()),
            score_clipped: rom_from_signed(
                "binary score saturation",
                &model
                    .score_saturates()
                    .iter()
                    .map(|&c| i64::from(c))
                    .collect::<Vec<_>>(),
            ),
            s10: Default::default(),
            sat10: Default::default(),
            s_delay: array_init::array_init(|_| Default::default()),
            sat_delay: array_init::array_init(|_| Default::default()),
            softmax: OnlineSoftmax::new(attention),
        }
    }
}

impl<const D: usize, const W: usize, const KV: usize, const M: usize> Logic
    for BinaryAttentionUnit<D, W, KV, M>
{
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, parity, differ7, count9, s10, sat10);
        for i in 0..2 {
            self.half_counts8[i].clock.next = self.clock.val();
            self.half_counts8[i].d.next = self.half_counts8[i].q.val();
        }
        for i in 0..2 {
            self.query_codes[i].clock.next = self.clock.val();
            self.query_codes[i].d.next = self.query_codes[i].q.val();
        }
        for i in 0..6 {
            self.query_level_valid[i].clock.next = self.clock.val();
            self.query_level_valid[i].d.next = self.query_level_valid[i].q.val();
            self.query_level_parity[i].clock.next = self.clock.val();
            self.query_level_parity[i].d.next = self.query_level_parity[i].q.val();
            self.key_level_parity[i].clock.next = self.clock.val();
            self.key_level_parity[i].d.next = self.key_level_parity[i].q.val();
        }
        for i in 0..2 {
            self.s_delay[i].clock.next = self.clock.val();
            self.s_delay[i].d.next = self.s_delay[i].q.val();
            self.sat_delay[i].clock.next = self.clock.val();
            self.sat_delay[i].d.next = self.sat_delay[i].q.val();
        }
        self.keys.clock.next = self.clock.val();
        self.softmax.clock.next = self.clock.val();
        self.query_hash.clock.next = self.clock.val();
        self.key_hash.clock.next = self.clock.val();
        // the streams' handshakes; the query's code is all that is kept of it
        self.keys.query_valid.next = self.s_axis_query_tvalid.val();
        self.s_axis_query_tready.next = self.keys.query_ready.val();
        self.keys.kv_data.next = self.s_axis_kv_tdata.val();
        self.keys.kv_valid.next = self.s_axis_kv_tvalid.val();
        self.keys.kv_last.next = self.s_axis_kv_tlast.val();
        self.s_axis_kv_tready.next = self.keys.kv_ready.val();
        self.keys.advance.next = self.softmax.advance.val();
        // the query's levels: loaded with it, moved with the key stages
        self.query_hash.x.next = self.s_axis_query_tdata.val();
        self.query_hash.load.next = self.keys.load_query.val();
        self.query_hash.advance.next = self.softmax.advance.val();
        if self.softmax.advance.val() {
            if self.query_level_valid[5].q.val() {
                if self.query_level_parity[5].q.val() {
                    self.query_codes[1].d.next = self.query_hash.code.val();
                } else {
                    self.query_codes[0].d.next = self.query_hash.code.val();
                }
            }
            self.query_level_valid[0].d.next = false;
            for i in 1..6 {
                self.query_level_valid[i].d.next = self.query_level_valid[i - 1].q.val();
                self.query_level_parity[i].d.next = self.query_level_parity[i - 1].q.val();
            }
        }
        if self.keys.load_query.val() {
            self.parity.d.next = !self.parity.q.val();
            self.query_level_valid[0].d.next = true;
            self.query_level_parity[0].d.next = !self.parity.q.val();
        }
        // stages 1 to 6: the key's levels, with its query's parity
        self.key_hash.x.next = self.s_axis_kv_tdata.val().get_bits::<W>(0);
        self.key_hash.load.next = self.softmax.advance.val();
        self.key_hash.advance.next = self.softmax.advance.val();
        // stage 8: the differing bits counted in halves; 9: the count; 10:
        // its score
        self.popcount_low.word.next = bit_cast::<64, 32>(self.differ7.q.val().get_bits::<32>(0));
        self.popcount_high.word.next = bit_cast::<64, 32>(self.differ7.q.val().get_bits::<32>(32));
        self.score_table.address.next = self.count9.q.val();
        self.score_clipped.address.next = self.count9.q.val();
        if self.softmax.advance.val() {
            self.key_level_parity[0].d.next = self.parity.q.val();
            for i in 1..6 {
                self.key_level_parity[i].d.next = self.key_level_parity[i - 1].q.val();
            }
            // stage 7: the key's code against its query's
            if self.key_level_parity[5].q.val() {
                self.differ7.d.next = self.key_hash.code.val() ^ self.query_codes[1].q.val();
            } else {
                self.differ7.d.next = self.key_hash.code.val() ^ self.query_codes[0].q.val();
            }
            self.half_counts8[0].d.next = self.popcount_low.count.val();
            self.half_counts8[1].d.next = self.popcount_high.count.val();
            self.count9.d.next = self.half_counts8[0].q.val() + self.half_counts8[1].q.val();
            self.s10.d.next = self.score_table.data.val();
            self.sat10.d.next = self.score_clipped.data.val().get_bit(0);
            self.s_delay[0].d.next = self.s10.q.val();
            self.sat_delay[0].d.next = self.sat10.q.val();
            self.s_delay[1].d.next = self.s_delay[0].q.val();
            self.sat_delay[1].d.next = self.sat_delay[0].q.val();
        }
        // the back end: running max, exp, accumulator, normalizer
        self.softmax.score_valid.next = self.keys.score_valid.val();
        self.softmax.score_last.next = self.keys.score_last.val();
        self.softmax.score_first.next = self.keys.score_first.val();
        self.softmax.score.next = self.s_delay[1].q.val();
        self.softmax.score_saturated.next = self.sat_delay[1].q.val();
        self.softmax.value.next = self.keys.value.val();
        self.softmax.m_axis_out_tready.next = self.m_axis_out_tready.val();
        self.m_axis_out_tvalid.next = self.softmax.m_axis_out_tvalid.val();
        self.m_axis_out_tdata.next = self.softmax.m_axis_out_tdata.val();
        self.m_axis_out_tlast.next = self.softmax.m_axis_out_tlast.val();
        self.status_saturated.next = self.softmax.saturated.val();
    }
}

/// The model for head size `d`, the formats asked (sdpa's fields `q`, `k`,
/// `v`, `o`) and the settings (`bits`, the projection's weights source).
pub fn settings_model(
    d: usize,
    settings: &LayerSettings,
    formats: &BTreeMap<String, QFormat>,
) -> Result<BinaryAttention, String> {
    let foreign = LayerSettings {
        bits: settings.bits,
        n_max: settings.n_max,
        output_multipliers: settings.output_multipliers,
        weights: settings.weights.clone(),
        ..Default::default()
    };
    if *settings != foreign {
        return Err(
            "binary_attention has the settings d, bits, n_max, output_multipliers and weights".into(),
        );
    }
    if !SDPA_D_CHOICES.contains(&d) {
        return Err(format!(
            "d = {d}: binary_attention is built for d in {SDPA_D_CHOICES:?}"
        ));
    }
    let bits = settings.bits.unwrap_or(BITS_DEFAULT);
    if !(1..=BINARY_BITS_MAX).contains(&bits) {
        return Err(format!(
            "bits = {bits}: binary_attention codes have 1 to {BINARY_BITS_MAX} bits"
        ));
    }
    let mut config = SdpaConfig::with_d(d, settings.n_max.unwrap_or(SDPA_N_MAX));
    config.scale = default_scale(d, bits);
    for (name, &format) in formats {
        sdpa::set_format(&mut config, name, format).map_err(|e| format!("formats.{name}: {e}"))?;
    }
    sdpa::buildable(&config)?;
    let weights = settings.weights.signs("projection", bits, d)?;
    let projection = RandomProjection::from_signs(d, bits, weights).map_err(|e| e.to_string())?;
    BinaryAttention::new(config, projection).map_err(|e| e.to_string())
}

/// The exported binary attention block for head size `d`.
pub fn export(
    d: usize,
    settings: &LayerSettings,
    formats: &BTreeMap<String, QFormat>,
) -> Result<Exported, ExportError> {
    let model = settings_model(d, settings, formats).map_err(ExportError::Check)?;
    let m = settings.output_multipliers.unwrap_or(1);
    sdpa::check_output_multipliers(d, m).map_err(ExportError::Check)?;
    let bits = model.bits();
    let stem = sdpa::head_stem(
        format!("binary_attention_d{d}_b{bits}"),
        model.attention().config(),
        m,
    );
    let verilog = crate::with_head!(
        d,
        m,
        BinaryAttentionUnit,
        |Unit| {
            let mut uut = Unit::new(&model);
            uut.connect_all();
            export::verilog(&stem, &uut)?
        },
        unreachable!("d and m are checked above")
    );
    let (bound, worst) = sdpa::measured_bound(model.attention(), |n, seed| model.worst_error(n, seed))?;
    let projection = RawTensor {
        name: "projection".into(),
        format: model.projection().format(),
        shape: vec![bits, d],
        values: model.projection().weights().to_vec(),
    };
    let (bytes, entry) =
        weights_file("binary_attention", &settings.weights, &[projection]).map_err(ExportError::Check)?;
    let manifest = sdpa::head_manifest(
        "binary_attention",
        &stem,
        model.attention(),
        vec![
            ("bits", Param::from(bits as f64)),
            ("bound_measured_worst", Param::from(worst)),
        ],
        bound,
        Some(entry),
        m,
    );
    Ok(Exported {
        verilog,
        manifest,
        weights: Some(bytes),
    })
}

/// The integer model a binary_attention manifest describes, its
/// projection read from the weights file in `dir`.
pub fn model_from_folder(dir: &std::path::Path, manifest: &Manifest) -> Result<BinaryAttention, String> {
    let config = sdpa::head_config_from_manifest(manifest)?;
    let (d, bits) = (config.d, manifest.count("bits", 1, BINARY_BITS_MAX)?);
    let entry = manifest
        .weights
        .as_ref()
        .ok_or("the binary_attention manifest names no weights file")?;
    let tensors = read_weights(dir, entry)?;
    let projection = tensors
        .get("projection")
        .ok_or("the weights file has no tensor `projection`")?;
    if projection.shape != [bits, d] {
        return Err(format!(
            "tensor `projection` has shape {:?}; the manifest's bits and d say [{bits}, {d}]",
            projection.shape
        ));
    }
    let projection =
        RandomProjection::from_signs(d, bits, projection.values.clone()).map_err(|e| e.to_string())?;
    BinaryAttention::new(config, projection).map_err(|e| e.to_string())
}
