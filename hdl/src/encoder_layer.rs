//! A whole post-norm encoder layer as one design: the blocks joined as
//! `dataflow::handshake::layer::LayerGraph` joins their graphs, each
//! built from the int16 layer model's own block models
//! (`quant::bert::integer::LayerParts`), so the layer is that model bit for
//! bit and makes its handshakes when the layer graph does.
//!
//! ```text
//!  x ─▶ StreamFork<4> ─┬─▶ q, k, v LinearUnits ─▶ SequenceMemoryUnit ─query, kv─▶ SdpaUnit | BinaryAttentionUnit ─▶ LaneSerializer ─▶ o LinearUnit ─┐
//!                      └─▶ residual 1 FifoUnit ──────────────────────────────────────────────────────────────▶ ResidualAdd ─┘
//!  ─▶ LayerNormUnit ─▶ StreamFork<2> ─┬─▶ FfnUnit | TernaryFfnUnit ──┐
//!                                     └─▶ residual 2 FifoUnit ─▶ ResidualAdd ─▶ LayerNormUnit ─▶ y
//! ```
//! One head unit serves every head in turn (the sequence memory replays
//! query `(i, h)` with head `h`'s keys and values); `P` lanes in every
//! linear engine, heads of `HS` lanes. The sticky `status_saturated` is
//! the head's or a residual add's (the projections, the FFN and the layer
//! norms have no status output).
//!
//! A layer without LayerNorms (the particle-physics transformer's) joins
//! each residual add straight to what follows it, as the layer graph
//! does; its two `LayerNormUnit`s are then idle (valid held low, nothing
//! read from them) and synthesis removes them. The attention may be wider
//! than `d_model` (q, k, v of `heads × HS` elements), and the FFN's
//! activation is the model's (GELU or ReLU).
//!
//! The FFN is the model's: int16 weights (`FfnUnit`) or ternary weights
//! with biases (`TernaryFfnUnit`, the layer's `ternary` variant); so is
//! the head: streaming attention (`SdpaUnit`) or binarized scores
//! (`BinaryAttentionUnit`, the `binary` variant: one ±1 projection for
//! every head, the same streams and timing as sdpa). Both of each pair
//! are in the struct, as the LayerNorms are (a rust-hdl struct has no
//! optional or generic sub-block); the other one is a small idle unit
//! (valid held low, its outputs unread) that synthesis removes.

use crate::binary_attention::BinaryAttentionUnit;
use crate::ffn::FfnUnit;
use crate::fifo::{FifoUnit, FIFO_DEPTH_MAX, FIFO_UNIT_DEPTH_MAX};
use crate::lane_serializer::LaneSerializer;
use crate::layer_norm::LayerNormUnit;
use crate::linear::LinearUnit;
use crate::residual_add::ResidualAdd;
use crate::sdpa::SdpaUnit;
use crate::sequence_memory::{SequenceMemoryUnit, SEQUENCE_WORDS_MAX};
use crate::stream_fork::StreamFork;
use crate::ternary_ffn::TernaryFfnUnit;
use hwformer_quant::bert::integer::{normalized_format, IntEncoderLayer, LayerFfn, LayerHead};
use hwformer_quant::bert::Tensor;
use hwformer_quant::integer::binary_attention::BinaryAttention;
use hwformer_quant::integer::ffn::{FfnFormats, IntFfn, TernaryFfn};
use hwformer_quant::integer::layer_norm::{IntLayerNorm, LayerNormFormats};
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;

/// The depths of the layer's FIFOs (as `LayerDepths` in the graph).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderDepths {
    /// Residual 1: the layer's input beside the attention.
    pub residual1: usize,
    /// The FFN's hidden FIFO.
    pub hidden: usize,
    /// Residual 2: the FFN's input beside it.
    pub residual2: usize,
}

/// The encoder layer: `P` lanes (`WP = 16 P`, `WB = 32 P`, `W2 = 2 P`),
/// heads of `HS` lanes (`W = 16 HS`, `KV = 32 HS`).
#[derive(LogicBlock)]
pub struct EncoderLayerUnit<
    const P: usize,
    const WP: usize,
    const WB: usize,
    const W2: usize,
    const HS: usize,
    const W: usize,
    const KV: usize,
> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// One element of a token (the layer's input format).
    pub s_axis_x_tdata: Signal<In, Bits<16>>,
    /// Input valid.
    pub s_axis_x_tvalid: Signal<In, Bit>,
    /// Input ready.
    pub s_axis_x_tready: Signal<Out, Bit>,
    /// Ignored: a token is `d_model` beats, a sequence `tokens` tokens.
    pub s_axis_x_tlast: Signal<In, Bit>,
    /// One element of an output token (the layer's output format).
    pub m_axis_y_tdata: Signal<Out, Bits<16>>,
    /// Output valid.
    pub m_axis_y_tvalid: Signal<Out, Bit>,
    /// Output ready.
    pub m_axis_y_tready: Signal<In, Bit>,
    /// The last element of a token (the second layer norm's tlast, or
    /// the residual add's without layer norms).
    pub m_axis_y_tlast: Signal<Out, Bit>,
    /// Sticky: a block saturated a value.
    pub status_saturated: Signal<Out, Bit>,
    input_fork: StreamFork<4>,
    query_projection: LinearUnit<P, WP, WB>,
    key_projection: LinearUnit<P, WP, WB>,
    value_projection: LinearUnit<P, WP, WB>,
    memory: SequenceMemoryUnit<HS, W, KV>,
    head: SdpaUnit<HS, W, KV, 1>,
    binary_head: BinaryAttentionUnit<HS, W, KV, 1>,
    binary: Constant<Bit>,
    serializer: LaneSerializer<HS, W>,
    output_projection: LinearUnit<P, WP, WB>,
    residual1: FifoUnit,
    add1: ResidualAdd,
    norm1: LayerNormUnit,
    ffn_fork: StreamFork<2>,
    ffn: FfnUnit<P, WP, WB>,
    ternary_ffn: TernaryFfnUnit<P, W2>,
    ternary: Constant<Bit>,
    residual2: FifoUnit,
    add2: ResidualAdd,
    norm2: LayerNormUnit,
    layer_norms: Constant<Bit>,
}

/// The idle LayerNorm unit of a layer without LayerNorms: `n` elements in
/// and out in `format`, gamma 1 and beta 0 (never used: its valid is low).
fn idle_norm(n: usize, format: QFormat) -> Result<IntLayerNorm, String> {
    let formats = LayerNormFormats {
        input: format,
        normalized: normalized_format(),
        affine: QFormat::signed(16, 14).map_err(|e| e.to_string())?,
        output: format,
    };
    IntLayerNorm::new(formats, &vec![1.0; n], &vec![0.0; n], 1e-12).map_err(|e| e.to_string())
}

/// The idle FFNs of a layer with the other kind: `P` elements in and
/// out, `P` hidden, from `input` to `output` (never used: valid is low).
fn idle_ffns(p: usize, input: QFormat, output: QFormat) -> Result<(IntFfn, TernaryFfn), String> {
    use hwformer_quant::reference::{Activation, FfnWeights, Linear};
    let linear = |w: f64| Linear {
        weight: ndarray::Array2::from_elem((p, p), w),
        bias: ndarray::Array1::zeros(p),
    };
    let weights = |w| FfnWeights {
        up: linear(w),
        down: linear(w),
        activation: Activation::Relu,
    };
    let formats = FfnFormats {
        input,
        weight: QFormat::signed(16, 14).map_err(|e| e.to_string())?,
        hidden: input,
        output,
    };
    Ok((
        IntFfn::new(&weights(0.0), formats).map_err(|e| e.to_string())?,
        TernaryFfn::new(&weights(1.0), formats).map_err(|e| e.to_string())?,
    ))
}

impl<
        const P: usize,
        const WP: usize,
        const WB: usize,
        const W2: usize,
        const HS: usize,
        const W: usize,
        const KV: usize,
    > EncoderLayerUnit<P, WP, WB, W2, HS, W, KV>
{
    /// The layer of the int16 model `layer` for sequences of `tokens`
    /// tokens, with FIFOs of `depths`; an error says why the model cannot
    /// be this hardware.
    pub fn new(layer: &IntEncoderLayer, tokens: usize, depths: EncoderDepths) -> Result<Self, String> {
        let parts = layer.parts();
        let f = |t: Tensor| layer.formats().tensor(t);
        let width = parts.query.d_out();
        if width % HS != 0 {
            return Err(format!(
                "q, k and v of {width} elements are no whole number of heads of {HS}"
            ));
        }
        let heads = width / HS;
        // every size the blocks assert, checked here with an error
        for (what, linear) in [
            ("q projection", parts.query),
            ("k projection", parts.key),
            ("v projection", parts.value),
            ("output projection", parts.output),
        ] {
            crate::linear::check_lanes(P, linear.d_out(), what)?;
        }
        let d_model = parts.query.d_in();
        for (what, d_out) in [("ffn up", parts.ffn.d_ff()), ("ffn down", d_model)] {
            crate::linear::check_lanes(P, d_out, what)?;
        }
        if parts.head.config().d != HS {
            return Err(format!(
                "the head has d = {}, the layer heads of {HS}",
                parts.head.config().d
            ));
        }
        crate::sdpa::buildable(parts.head.config())?;
        // the idle head of the other kind: 8 code bits, or the binary
        // head's own online softmax
        let (head, binary_head) = match parts.head {
            LayerHead::Streaming(m) => {
                let idle =
                    BinaryAttention::with_seed(HS, 8, m.config().n_max, 1).map_err(|e| e.to_string())?;
                crate::sdpa::buildable(idle.attention().config())?;
                (SdpaUnit::new(m), BinaryAttentionUnit::new(&idle))
            }
            LayerHead::Binary(m) => (SdpaUnit::new(m.attention()), BinaryAttentionUnit::new(m)),
        };
        if tokens == 0 || tokens * heads > SEQUENCE_WORDS_MAX {
            return Err(format!(
                "{tokens} tokens of {heads} heads: the sequence memory holds 1 to {SEQUENCE_WORDS_MAX} words"
            ));
        }
        for (what, depth, max) in [
            ("residual1", depths.residual1, FIFO_UNIT_DEPTH_MAX),
            ("hidden", depths.hidden, FIFO_DEPTH_MAX),
            ("residual2", depths.residual2, FIFO_UNIT_DEPTH_MAX),
        ] {
            if !(1..=max).contains(&depth) {
                return Err(format!("depths.{what} = {depth}: this FIFO is 1 to {max} deep"));
            }
        }
        for t in [
            Tensor::Input,
            Tensor::Attention,
            Tensor::Residual1,
            Tensor::Norm1,
            Tensor::Ffn,
            Tensor::Residual2,
        ] {
            let format = f(t);
            if !format.is_signed() || format.bits() != 16 || format.frac() > 15 {
                return Err(format!(
                    "the {} format {format}: the residual adds take signed 16-bit formats with at most 15 fraction bits",
                    t.name()
                ));
            }
        }
        let (idle_int16, idle_ternary) = idle_ffns(P, f(Tensor::Norm1), f(Tensor::Ffn))?;
        let (ffn, ternary_ffn) = match parts.ffn {
            LayerFfn::Int16(m) => (
                FfnUnit::new(m, depths.hidden),
                TernaryFfnUnit::new(&idle_ternary, 1),
            ),
            LayerFfn::Ternary(m) => (
                FfnUnit::new(&idle_int16, 1),
                TernaryFfnUnit::new(m, depths.hidden),
            ),
        };
        let norm = |model: Option<&IntLayerNorm>, sum: Tensor| -> Result<LayerNormUnit, String> {
            Ok(match model {
                Some(model) => LayerNormUnit::new(model),
                None => LayerNormUnit::new(&idle_norm(d_model, f(sum))?),
            })
        };
        if parts.norm1.is_some() != parts.norm2.is_some() {
            return Err("a layer has both LayerNorms or none".into());
        }
        Ok(Self {
            clock: Default::default(),
            s_axis_x_tdata: Default::default(),
            s_axis_x_tvalid: Default::default(),
            s_axis_x_tready: Default::default(),
            s_axis_x_tlast: Default::default(),
            m_axis_y_tdata: Default::default(),
            m_axis_y_tvalid: Default::default(),
            m_axis_y_tready: Default::default(),
            m_axis_y_tlast: Default::default(),
            status_saturated: Default::default(),
            input_fork: Default::default(),
            query_projection: LinearUnit::new(parts.query),
            key_projection: LinearUnit::new(parts.key),
            value_projection: LinearUnit::new(parts.value),
            memory: SequenceMemoryUnit::new(tokens, heads),
            head,
            binary_head,
            binary: Constant::new(matches!(parts.head, LayerHead::Binary(_))),
            serializer: LaneSerializer::new(),
            output_projection: LinearUnit::new(parts.output),
            residual1: FifoUnit::new(depths.residual1),
            add1: ResidualAdd::new(f(Tensor::Attention), f(Tensor::Input), f(Tensor::Residual1)),
            norm1: norm(parts.norm1, Tensor::Residual1)?,
            ffn_fork: Default::default(),
            ffn,
            ternary_ffn,
            ternary: Constant::new(matches!(parts.ffn, LayerFfn::Ternary(_))),
            residual2: FifoUnit::new(depths.residual2),
            add2: ResidualAdd::new(f(Tensor::Ffn), f(Tensor::Norm1), f(Tensor::Residual2)),
            norm2: norm(parts.norm2, Tensor::Residual2)?,
            layer_norms: Constant::new(parts.norm1.is_some()),
        })
    }
}

impl<
        const P: usize,
        const WP: usize,
        const WB: usize,
        const W2: usize,
        const HS: usize,
        const W: usize,
        const KV: usize,
    > Logic for EncoderLayerUnit<P, WP, WB, W2, HS, W, KV>
{
    #[hdl_gen]
    fn update(&mut self) {
        self.input_fork.clock.next = self.clock.val();
        self.query_projection.clock.next = self.clock.val();
        self.key_projection.clock.next = self.clock.val();
        self.value_projection.clock.next = self.clock.val();
        self.memory.clock.next = self.clock.val();
        self.head.clock.next = self.clock.val();
        self.binary_head.clock.next = self.clock.val();
        self.serializer.clock.next = self.clock.val();
        self.output_projection.clock.next = self.clock.val();
        self.residual1.clock.next = self.clock.val();
        self.add1.clock.next = self.clock.val();
        self.norm1.clock.next = self.clock.val();
        self.ffn_fork.clock.next = self.clock.val();
        self.ffn.clock.next = self.clock.val();
        self.ternary_ffn.clock.next = self.clock.val();
        self.residual2.clock.next = self.clock.val();
        self.add2.clock.next = self.clock.val();
        self.norm2.clock.next = self.clock.val();
        // the input to the three projections and the first residual
        self.input_fork.in_data.next = self.s_axis_x_tdata.val();
        self.input_fork.in_valid.next = self.s_axis_x_tvalid.val();
        self.input_fork.in_last.next = self.s_axis_x_tlast.val();
        self.s_axis_x_tready.next = self.input_fork.in_ready.val();
        self.query_projection.s_axis_x_tdata.next = self.input_fork.out_data.val();
        self.query_projection.s_axis_x_tvalid.next = self.input_fork.out_valid[0].val();
        self.query_projection.s_axis_x_tlast.next = self.input_fork.out_last.val();
        self.input_fork.out_ready[0].next = self.query_projection.s_axis_x_tready.val();
        self.key_projection.s_axis_x_tdata.next = self.input_fork.out_data.val();
        self.key_projection.s_axis_x_tvalid.next = self.input_fork.out_valid[1].val();
        self.key_projection.s_axis_x_tlast.next = self.input_fork.out_last.val();
        self.input_fork.out_ready[1].next = self.key_projection.s_axis_x_tready.val();
        self.value_projection.s_axis_x_tdata.next = self.input_fork.out_data.val();
        self.value_projection.s_axis_x_tvalid.next = self.input_fork.out_valid[2].val();
        self.value_projection.s_axis_x_tlast.next = self.input_fork.out_last.val();
        self.input_fork.out_ready[2].next = self.value_projection.s_axis_x_tready.val();
        self.residual1.s_axis_x_tdata.next = self.input_fork.out_data.val();
        self.residual1.s_axis_x_tvalid.next = self.input_fork.out_valid[3].val();
        self.residual1.s_axis_x_tlast.next = self.input_fork.out_last.val();
        self.input_fork.out_ready[3].next = self.residual1.s_axis_x_tready.val();
        // the projections into the sequence memory
        self.memory.s_axis_q_tdata.next = self.query_projection.m_axis_y_tdata.val();
        self.memory.s_axis_q_tvalid.next = self.query_projection.m_axis_y_tvalid.val();
        self.memory.s_axis_q_tlast.next = self.query_projection.m_axis_y_tlast.val();
        self.query_projection.m_axis_y_tready.next = self.memory.s_axis_q_tready.val();
        self.memory.s_axis_k_tdata.next = self.key_projection.m_axis_y_tdata.val();
        self.memory.s_axis_k_tvalid.next = self.key_projection.m_axis_y_tvalid.val();
        self.memory.s_axis_k_tlast.next = self.key_projection.m_axis_y_tlast.val();
        self.key_projection.m_axis_y_tready.next = self.memory.s_axis_k_tready.val();
        self.memory.s_axis_v_tdata.next = self.value_projection.m_axis_y_tdata.val();
        self.memory.s_axis_v_tvalid.next = self.value_projection.m_axis_y_tvalid.val();
        self.memory.s_axis_v_tlast.next = self.value_projection.m_axis_y_tlast.val();
        self.value_projection.m_axis_y_tready.next = self.memory.s_axis_v_tready.val();
        // the replay into the head (the model's kind; the other idle), its
        // outputs into the output projection
        self.head.s_axis_query_tdata.next = self.memory.m_axis_query_tdata.val();
        self.head.s_axis_query_tvalid.next = self.memory.m_axis_query_tvalid.val() & !self.binary.val();
        self.head.s_axis_query_tlast.next = self.memory.m_axis_query_tlast.val();
        self.head.s_axis_kv_tdata.next = self.memory.m_axis_kv_tdata.val();
        self.head.s_axis_kv_tvalid.next = self.memory.m_axis_kv_tvalid.val() & !self.binary.val();
        self.head.s_axis_kv_tlast.next = self.memory.m_axis_kv_tlast.val();
        self.head.m_axis_out_tready.next = self.serializer.in_ready.val();
        self.binary_head.s_axis_query_tdata.next = self.memory.m_axis_query_tdata.val();
        self.binary_head.s_axis_query_tvalid.next = self.memory.m_axis_query_tvalid.val() & self.binary.val();
        self.binary_head.s_axis_query_tlast.next = self.memory.m_axis_query_tlast.val();
        self.binary_head.s_axis_kv_tdata.next = self.memory.m_axis_kv_tdata.val();
        self.binary_head.s_axis_kv_tvalid.next = self.memory.m_axis_kv_tvalid.val() & self.binary.val();
        self.binary_head.s_axis_kv_tlast.next = self.memory.m_axis_kv_tlast.val();
        self.binary_head.m_axis_out_tready.next = self.serializer.in_ready.val();
        if self.binary.val() {
            self.memory.m_axis_query_tready.next = self.binary_head.s_axis_query_tready.val();
            self.memory.m_axis_kv_tready.next = self.binary_head.s_axis_kv_tready.val();
            self.serializer.in_data.next = self.binary_head.m_axis_out_tdata.val();
            self.serializer.in_valid.next = self.binary_head.m_axis_out_tvalid.val();
        } else {
            self.memory.m_axis_query_tready.next = self.head.s_axis_query_tready.val();
            self.memory.m_axis_kv_tready.next = self.head.s_axis_kv_tready.val();
            self.serializer.in_data.next = self.head.m_axis_out_tdata.val();
            self.serializer.in_valid.next = self.head.m_axis_out_tvalid.val();
        }
        self.output_projection.s_axis_x_tdata.next = self.serializer.out_data.val();
        self.output_projection.s_axis_x_tvalid.next = self.serializer.out_valid.val();
        self.output_projection.s_axis_x_tlast.next = self.serializer.out_last.val();
        self.serializer.out_ready.next = self.output_projection.s_axis_x_tready.val();
        // the first residual add and norm
        self.add1.a_data.next = self.output_projection.m_axis_y_tdata.val();
        self.add1.a_valid.next = self.output_projection.m_axis_y_tvalid.val();
        self.add1.a_last.next = self.output_projection.m_axis_y_tlast.val();
        self.output_projection.m_axis_y_tready.next = self.add1.a_ready.val();
        self.add1.b_data.next = self.residual1.m_axis_y_tdata.val();
        self.add1.b_valid.next = self.residual1.m_axis_y_tvalid.val();
        self.residual1.m_axis_y_tready.next = self.add1.b_ready.val();
        self.norm1.s_axis_x_tdata.next = self.add1.y_data.val();
        self.norm1.s_axis_x_tvalid.next = self.add1.y_valid.val() & self.layer_norms.val();
        self.norm1.s_axis_x_tlast.next = self.add1.y_last.val();
        self.norm1.m_axis_y_tready.next = self.ffn_fork.in_ready.val();
        if self.layer_norms.val() {
            self.add1.y_ready.next = self.norm1.s_axis_x_tready.val();
            self.ffn_fork.in_data.next = self.norm1.m_axis_y_tdata.val();
            self.ffn_fork.in_valid.next = self.norm1.m_axis_y_tvalid.val();
            self.ffn_fork.in_last.next = self.norm1.m_axis_y_tlast.val();
        } else {
            self.add1.y_ready.next = self.ffn_fork.in_ready.val();
            self.ffn_fork.in_data.next = self.add1.y_data.val();
            self.ffn_fork.in_valid.next = self.add1.y_valid.val();
            self.ffn_fork.in_last.next = self.add1.y_last.val();
        }
        // the FFN (the model's kind; the other idle) and the second residual
        self.ffn.s_axis_x_tdata.next = self.ffn_fork.out_data.val();
        self.ffn.s_axis_x_tvalid.next = self.ffn_fork.out_valid[0].val() & !self.ternary.val();
        self.ffn.s_axis_x_tlast.next = self.ffn_fork.out_last.val();
        self.ffn.m_axis_y_tready.next = self.add2.a_ready.val();
        self.ternary_ffn.s_axis_x_tdata.next = self.ffn_fork.out_data.val();
        self.ternary_ffn.s_axis_x_tvalid.next = self.ffn_fork.out_valid[0].val() & self.ternary.val();
        self.ternary_ffn.s_axis_x_tlast.next = self.ffn_fork.out_last.val();
        self.ternary_ffn.m_axis_y_tready.next = self.add2.a_ready.val();
        if self.ternary.val() {
            self.ffn_fork.out_ready[0].next = self.ternary_ffn.s_axis_x_tready.val();
            self.add2.a_data.next = self.ternary_ffn.m_axis_y_tdata.val();
            self.add2.a_valid.next = self.ternary_ffn.m_axis_y_tvalid.val();
            self.add2.a_last.next = self.ternary_ffn.m_axis_y_tlast.val();
        } else {
            self.ffn_fork.out_ready[0].next = self.ffn.s_axis_x_tready.val();
            self.add2.a_data.next = self.ffn.m_axis_y_tdata.val();
            self.add2.a_valid.next = self.ffn.m_axis_y_tvalid.val();
            self.add2.a_last.next = self.ffn.m_axis_y_tlast.val();
        }
        self.residual2.s_axis_x_tdata.next = self.ffn_fork.out_data.val();
        self.residual2.s_axis_x_tvalid.next = self.ffn_fork.out_valid[1].val();
        self.residual2.s_axis_x_tlast.next = self.ffn_fork.out_last.val();
        self.ffn_fork.out_ready[1].next = self.residual2.s_axis_x_tready.val();
        self.add2.b_data.next = self.residual2.m_axis_y_tdata.val();
        self.add2.b_valid.next = self.residual2.m_axis_y_tvalid.val();
        self.residual2.m_axis_y_tready.next = self.add2.b_ready.val();
        self.norm2.s_axis_x_tdata.next = self.add2.y_data.val();
        self.norm2.s_axis_x_tvalid.next = self.add2.y_valid.val() & self.layer_norms.val();
        self.norm2.s_axis_x_tlast.next = self.add2.y_last.val();
        self.norm2.m_axis_y_tready.next = self.m_axis_y_tready.val();
        if self.layer_norms.val() {
            self.add2.y_ready.next = self.norm2.s_axis_x_tready.val();
            self.m_axis_y_tdata.next = self.norm2.m_axis_y_tdata.val();
            self.m_axis_y_tvalid.next = self.norm2.m_axis_y_tvalid.val();
            self.m_axis_y_tlast.next = self.norm2.m_axis_y_tlast.val();
        } else {
            self.add2.y_ready.next = self.m_axis_y_tready.val();
            self.m_axis_y_tdata.next = self.add2.y_data.val();
            self.m_axis_y_tvalid.next = self.add2.y_valid.val();
            self.m_axis_y_tlast.next = self.add2.y_last.val();
        }
        self.status_saturated.next = (self.head.status_saturated.val() & !self.binary.val())
            | (self.binary_head.status_saturated.val() & self.binary.val())
            | self.add1.saturated.val()
            | self.add2.saturated.val();
    }
}

/// The exported layer: its Verilog (weights in memory files when
/// written) and a manifest with the streams `x` and `y` (one element a
/// beat, the layer's input and output formats), the sizes and depths in
/// its params and the sticky status. `stem` names the module
/// (`hwformer_<stem>`).
pub fn export<
    const P: usize,
    const WP: usize,
    const WB: usize,
    const W2: usize,
    const HS: usize,
    const W: usize,
    const KV: usize,
>(
    layer: &IntEncoderLayer,
    tokens: usize,
    depths: EncoderDepths,
    stem: &str,
) -> Result<crate::export::Exported, crate::export::ExportError> {
    use crate::manifest::{Direction, Field, Manifest, Param, Status, Stream};
    let check = crate::export::ExportError::Check;
    // the layer is one large value (minilm-layer's outgrows the main
    // thread's stack): built on a big-stack thread
    let verilog = crate::export::on_build_thread(stem, || {
        let mut uut =
            EncoderLayerUnit::<P, WP, WB, W2, HS, W, KV>::new(layer, tokens, depths).map_err(check)?;
        uut.connect_all();
        crate::export::verilog(stem, &uut)
    })?;
    let f = |t: Tensor| layer.formats().tensor(t);
    let parts = layer.parts();
    let field = |name: &str, format| Field {
        name: name.into(),
        count: 1,
        format,
    };
    let params = [
        ("d_model", parts.query.d_in()),
        ("heads", parts.query.d_out() / HS),
        ("head_size", HS),
        ("d_ff", parts.ffn.d_ff()),
        ("tokens", tokens),
        ("lanes", P),
        ("residual1_depth", depths.residual1),
        ("hidden_depth", depths.hidden),
        ("residual2_depth", depths.residual2),
        ("layer_norm", usize::from(parts.norm1.is_some())),
        ("ternary_ffn", usize::from(matches!(parts.ffn, LayerFfn::Ternary(_)))),
        ("binary_attention", usize::from(matches!(parts.head, LayerHead::Binary(_)))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Param::from(v as f64)))
    .chain([(
        "timing".to_string(),
        Param::from("the layer's handshake graph (dataflow::handshake::layer); latency_cycles is not a closed form here"),
    )])
    .collect();
    let mut waivers = crate::export::standard_waivers();
    waivers.insert(
        "UNUSEDSIGNAL".into(),
        "input tlasts the blocks ignore (tokens and sequences are counted), and counters and \
         addresses wider than the sizes need"
            .into(),
    );
    waivers.insert(
        "UNUSEDPARAM".into(),
        "rust-hdl declares an enum's states in every module that stores one, used or not".into(),
    );
    waivers.insert(
        "UNOPTFLAT".into(),
        "rust-hdl writes one always @(*) per module, so Verilator sees loops through the blocks' \
         tables and handshakes where the signals have none (the logic settles)"
            .into(),
    );
    let manifest = Manifest {
        block: "encoder_layer".into(),
        module: crate::export::module_name(stem),
        verilog: "encoder_layer.v".into(),
        clock: "clock".into(),
        reset: None,
        streams: vec![
            Stream::new("x", Direction::In, vec![field("x", f(Tensor::Input))]),
            Stream::new("y", Direction::Out, vec![field("y", f(Tensor::Output))]),
        ],
        params,
        latency_cycles: 0,
        initiation_interval: 1,
        error_bound: None,
        lint_waivers: waivers,
        weights: None,
        status: Some(Status {
            port: "status_saturated".into(),
            sticky: true,
            meaning: "the head saturated a score or an output, or a residual add a sum".into(),
        }),
        memories: Vec::new(),
    };
    Ok(crate::export::Exported::new(verilog, manifest))
}
