//! The ternary feed-forward network for one token: two BitLinear engines
//! ([`crate::ternary_linear`]) joined by the hidden stream, the hardware
//! form of `hwformer_quant::integer::ffn::TernaryFfn`.
//!
//! ```text
//!  x ─▶ [ up: d_model → d_ff, ternary, P lanes, activation ] ─▶ [ FIFO: hidden_depth ] ─▶
//!       [ down: d_ff → d_model, ternary, P lanes ] ─▶ y
//! ```
//!
//! Each engine quantizes its input token to 8-bit codes by the token's
//! absmax, as BitNet b1.58 does, so the hidden values are quantized again
//! before the second layer. The lanes only add: the multiplies are the
//! code's and the two output scales' in each engine, six in all, whatever
//! the lane count.

use crate::export::{self, ExportError, Exported};
use crate::ffn::{ffn_settings, first_output_delay_of, FfnSettings, HIDDEN_DEPTH_DEFAULT};
use crate::fifo::FifoUnit;
use crate::layer_weights::{activation_name, parse_activation, read_weights, weights_file, LayerSettings};
use crate::linear::{check_lanes, measured_error, token_manifest};
use crate::manifest::{Manifest, Param};
use crate::ternary_linear::{TernaryLinearUnit, TERNARY_ENGINE};
use hwformer_quant::integer::bit_linear::{sign_format, BitLinear, BitLinearFormats};
use hwformer_quant::integer::ffn::TernaryFfn;
use hwformer_quant::reference::Activation;
use hwformer_quant::weights::RawTensor;
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Cycles per token of one ternary engine in steady state, tokens back to
/// back and nothing stalling, `G = d_out / P` groups and `S` setup
/// cycles: the int16 engine's `W = max(R, d_out)` with `R = d_in G`
/// buffer reads, or more when the token's setup cannot hide: a buffer
/// half is free again after its token's `R` reads, so two tokens take at
/// least `R + d_in + S` cycles (the reads, the next load, its setup), and
/// the shared reciprocal takes a token at most every `S + 1` cycles.
///
/// ```text
///   T = max( W,  (R + d_in + S) / 2,  S + 1 )      S = 9
/// ```
/// Against the handshake graph over d_in 1 to 17, d_out 1 to 64 and every
/// lane count: exact for every d_in >= S where `W` and `(R + d_in + S) / 2`
/// differ by more than a cycle; where they nearly tie (both the bank's
/// drain and the setup bind) the graph takes up to one cycle more (seen:
/// d_in 11 and 12 at d_out = P = 16, half a cycle, since the issue stages
/// became seven); for d_in < S an upper bound.
/// Test `ternary_cycles_per_token_are_the_graphs`. (With the 4-cycle
/// reciprocal of before 2026-12-07 the formula had `W` for `R`, which was
/// exact there and overestimates with `S = 9`.)
pub fn engine_token_cycles(d_in: u64, d_out: u64, lanes: u64) -> f64 {
    let setup = TERNARY_ENGINE.setup_cycles;
    let reads = d_in * (d_out / lanes);
    let w = reads.max(d_out);
    (w as f64)
        .max((reads + d_in + setup) as f64 / 2.0)
        .max((setup + 1) as f64)
}

/// Cycles per token of the ternary FFN: the slower engine's.
pub fn token_cycles(d_model: u64, d_ff: u64, lanes: u64) -> f64 {
    engine_token_cycles(d_model, d_ff, lanes).max(engine_token_cycles(d_ff, d_model, lanes))
}

/// Cycles from a token's last input beat to its first output's `tvalid`
/// when nothing stalls and the block was idle.
pub fn first_output_delay(d_model: u64, d_ff: u64, lanes: u64) -> u64 {
    first_output_delay_of(&TERNARY_ENGINE, d_model, d_ff, lanes)
}

/// The ternary FFN with `P` lanes in each engine (`W2 = 2 P`).
#[derive(LogicBlock)]
pub struct TernaryFfnUnit<const P: usize, const W2: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// One input element (input format).
    pub s_axis_x_tdata: Signal<In, Bits<16>>,
    /// Input valid.
    pub s_axis_x_tvalid: Signal<In, Bit>,
    /// Input ready.
    pub s_axis_x_tready: Signal<Out, Bit>,
    /// Ignored: a token is d_model beats.
    pub s_axis_x_tlast: Signal<In, Bit>,
    /// One output element (output format).
    pub m_axis_y_tdata: Signal<Out, Bits<16>>,
    /// Output valid.
    pub m_axis_y_tvalid: Signal<Out, Bit>,
    /// Output ready.
    pub m_axis_y_tready: Signal<In, Bit>,
    /// High on a token's last output element.
    pub m_axis_y_tlast: Signal<Out, Bit>,
    up: TernaryLinearUnit<P, W2>,
    hidden: FifoUnit,
    down: TernaryLinearUnit<P, W2>,
}

impl<const P: usize, const W2: usize> TernaryFfnUnit<P, W2> {
    /// The FFN for `model` (P divides d_model and d_ff), `hidden_depth`
    /// hidden values buffered between the engines.
    pub fn new(model: &TernaryFfn, hidden_depth: usize) -> Self {
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
            up: TernaryLinearUnit::new(model.up()),
            hidden: FifoUnit::new(hidden_depth),
            down: TernaryLinearUnit::new(model.down()),
        }
    }
}

impl<const P: usize, const W2: usize> Logic for TernaryFfnUnit<P, W2> {
    #[hdl_gen]
    fn update(&mut self) {
        self.up.clock.next = self.clock.val();
        self.down.clock.next = self.clock.val();
        self.hidden.clock.next = self.clock.val();
        self.up.s_axis_x_tdata.next = self.s_axis_x_tdata.val();
        self.up.s_axis_x_tvalid.next = self.s_axis_x_tvalid.val();
        self.up.s_axis_x_tlast.next = self.s_axis_x_tlast.val();
        self.s_axis_x_tready.next = self.up.s_axis_x_tready.val();
        self.hidden.s_axis_x_tdata.next = self.up.m_axis_y_tdata.val();
        self.hidden.s_axis_x_tvalid.next = self.up.m_axis_y_tvalid.val();
        self.hidden.s_axis_x_tlast.next = self.up.m_axis_y_tlast.val();
        self.up.m_axis_y_tready.next = self.hidden.s_axis_x_tready.val();
        self.down.s_axis_x_tdata.next = self.hidden.m_axis_y_tdata.val();
        self.down.s_axis_x_tvalid.next = self.hidden.m_axis_y_tvalid.val();
        self.down.s_axis_x_tlast.next = self.hidden.m_axis_y_tlast.val();
        self.hidden.m_axis_y_tready.next = self.down.s_axis_x_tready.val();
        self.m_axis_y_tdata.next = self.down.m_axis_y_tdata.val();
        self.m_axis_y_tvalid.next = self.down.m_axis_y_tvalid.val();
        self.m_axis_y_tlast.next = self.down.m_axis_y_tlast.val();
        self.down.m_axis_y_tready.next = self.m_axis_y_tready.val();
    }
}

/// One ternary layer from the weights source: BitNet's absmean
/// ternarization of the float weight. The block holds no biases (its
/// weights file has none; the encoder layer's ternary FFN does): a seeded
/// source's are dropped, a model file's must be absent or zero.
fn ternary_layer(
    settings: &LayerSettings,
    (weight, bias): (&str, &str),
    (d_in, d_out): (usize, usize),
    formats: BitLinearFormats,
    activation: Option<Activation>,
    layer: u64,
) -> Result<BitLinear, String> {
    let mut float = settings.weights.linear(weight, bias, d_in, d_out, layer)?;
    if matches!(settings.weights, crate::WeightsSource::Seeded(_)) {
        float.bias.fill(0.0);
    } else if float.bias.iter().any(|&b| b != 0.0) {
        return Err(format!(
            "weights.{bias}: the ternary_ffn block holds no bias; it must be absent or zero"
        ));
    }
    BitLinear::quantize(&float, formats, activation).map_err(|e| format!("weights.{weight}: {e}"))
}

/// The ternary_ffn block's model for `settings` and `formats` (as
/// [`ffn_settings`]; `w` is the format of the two scales).
pub fn settings_model(
    settings: &LayerSettings,
    formats: &BTreeMap<String, QFormat>,
) -> Result<TernaryFfn, String> {
    let FfnSettings {
        d_model,
        d_ff,
        activation,
        formats: f,
        ..
    } = ffn_settings("ternary_ffn", settings, formats)?;
    let up = ternary_layer(
        settings,
        ("w1", "b1"),
        (d_model, d_ff),
        BitLinearFormats {
            input: f.input,
            scale: f.weight,
            output: f.hidden,
        },
        Some(activation),
        1,
    )?;
    let down = ternary_layer(
        settings,
        ("w2", "b2"),
        (d_ff, d_model),
        BitLinearFormats {
            input: f.hidden,
            scale: f.weight,
            output: f.output,
        },
        None,
        2,
    )?;
    TernaryFfn::from_layers(up, down).map_err(|e| e.to_string())
}

/// The raw tensors of a ternary layer: `weight` (signs `[d_out, d_in]`,
/// two-bit) and `weight_scale` (`[1]`).
fn raw_tensors(layer: &BitLinear, weight: &str) -> [RawTensor; 2] {
    [
        RawTensor {
            name: weight.into(),
            format: sign_format(),
            shape: vec![layer.d_out(), layer.d_in()],
            values: layer.signs().to_vec(),
        },
        RawTensor {
            name: format!("{weight}_scale"),
            format: layer.formats().scale,
            shape: vec![1],
            values: vec![layer.scale_raw()],
        },
    ]
}

/// The layer held as tensors `weight` and `weight_scale` of `tensors`.
fn layer_from_tensors(
    tensors: &BTreeMap<String, RawTensor>,
    weight: &str,
    (input, output): (QFormat, QFormat),
    activation: Option<Activation>,
) -> Result<BitLinear, String> {
    let get = |name: &str| {
        tensors
            .get(name)
            .ok_or_else(|| format!("the weights file has no tensor `{name}`"))
    };
    let (signs, scale) = (get(weight)?, get(&format!("{weight}_scale"))?);
    let [d_out, d_in] = signs.shape[..] else {
        return Err(format!(
            "tensor `{weight}` has shape {:?}, not [out, in]",
            signs.shape
        ));
    };
    if scale.values.len() != 1 {
        return Err(format!(
            "tensor `{weight}_scale` has {} values, not 1",
            scale.values.len()
        ));
    }
    BitLinear::from_raw(
        BitLinearFormats {
            input,
            scale: scale.format,
            output,
        },
        (d_in, d_out),
        signs.values.clone(),
        scale.values[0],
        activation,
    )
    .map_err(|e| format!("tensor `{weight}`: {e}"))
}

/// The exported ternary_ffn block.
pub fn export(
    settings: &LayerSettings,
    formats: &BTreeMap<String, QFormat>,
) -> Result<Exported, ExportError> {
    let model = settings_model(settings, formats).map_err(ExportError::Check)?;
    let s = ffn_settings("ternary_ffn", settings, formats).map_err(ExportError::Check)?;
    let (d_model, d_ff, lanes, depth) = (s.d_model, s.d_ff, s.lanes, s.hidden_depth);
    let stem = if depth == HIDDEN_DEPTH_DEFAULT {
        format!("ternary_ffn_{d_model}x{d_ff}_p{lanes}")
    } else {
        format!("ternary_ffn_{d_model}x{d_ff}_p{lanes}_h{depth}")
    };
    let verilog = crate::with_ternary_lanes!(
        lanes,
        TernaryFfnUnit,
        |Unit| {
            let mut uut = Unit::new(&model, depth);
            uut.connect_all();
            export::verilog(&stem, &uut)?
        },
        return Err(ExportError::Check(format!("no ternary_ffn of {lanes} lanes")))
    );
    let mut tensors = raw_tensors(model.up(), "w1").to_vec();
    tensors.extend(raw_tensors(model.down(), "w2"));
    let (bytes, entry) =
        weights_file("ternary_ffn", &settings.weights, &tensors).map_err(ExportError::Check)?;
    let (input, hidden, output) = (
        model.up().formats().input,
        model.up().formats().output,
        model.down().formats().output,
    );
    let measured = measured_error(
        d_model,
        input,
        output,
        64,
        |x| model.run(x),
        |x| model.float_reference(x),
    )
    .map_err(ExportError::Check)?;
    let manifest = token_manifest(
        "ternary_ffn",
        &stem,
        (input, output),
        vec![
            ("d_model", Param::from(d_model as f64)),
            ("d_ff", Param::from(d_ff as f64)),
            ("lanes", Param::from(lanes as f64)),
            (
                "activation",
                Param::from(activation_name(model.up().activation().map(|a| a.kind()))),
            ),
            ("hidden_format", Param::from(hidden.to_string().as_str())),
            ("hidden_depth", Param::from(depth as f64)),
            ("activation_bits", Param::from(8.0)),
            (
                "cycles_per_token",
                Param::from(token_cycles(d_model as u64, d_ff as u64, lanes as u64)),
            ),
        ],
        first_output_delay(d_model as u64, d_ff as u64, lanes as u64),
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

/// The integer model a ternary_ffn manifest describes, its weights read
/// from the weights file in `dir`.
pub fn model_from_folder(dir: &std::path::Path, manifest: &Manifest) -> Result<TernaryFfn, String> {
    let entry = manifest
        .weights
        .as_ref()
        .ok_or("the ternary_ffn manifest names no weights file")?;
    let tensors = read_weights(dir, entry)?;
    let activation = parse_activation(manifest.text("activation")?)?;
    let hidden: QFormat = manifest
        .text("hidden_format")?
        .parse()
        .map_err(|e| format!("params.hidden_format: {e}"))?;
    let up = layer_from_tensors(&tensors, "w1", (manifest.field_format("x")?, hidden), activation)?;
    let down = layer_from_tensors(&tensors, "w2", (hidden, manifest.field_format("y")?), None)?;
    let lanes = manifest.count("lanes", 1, 64)?;
    check_lanes(lanes, up.d_out(), "d_ff")?;
    check_lanes(lanes, down.d_out(), "d_model")?;
    TernaryFfn::from_layers(up, down).map_err(|e| e.to_string())
}

/// Picks the ternary engine for a lane count and hands it to `$body` as `$unit`.
#[macro_export]
macro_rules! with_ternary_lanes {
    ($lanes:expr, $ty:ident, |$unit:ident| $body:expr, $otherwise:expr) => {
        match $lanes {
            1 => {
                type $unit = $ty<1, 2>;
                $body
            }
            2 => {
                type $unit = $ty<2, 4>;
                $body
            }
            4 => {
                type $unit = $ty<4, 8>;
                $body
            }
            8 => {
                type $unit = $ty<8, 16>;
                $body
            }
            16 => {
                type $unit = $ty<16, 32>;
                $body
            }
            32 => {
                type $unit = $ty<32, 64>;
                $body
            }
            64 => {
                type $unit = $ty<64, 128>;
                $body
            }
            _ => $otherwise,
        }
    };
}
