//! The feed-forward network for one token, `y = W2 act(W1 x + b1) + b2`:
//! two linear engines ([`crate::linear`]) joined by the hidden stream, the
//! hardware form of `hwformer_quant::integer::ffn::IntFfn`.
//!
//! ```text
//!  x ─▶ [ up: d_model → d_ff, P lanes, activation ] ─▶ [ FIFO: hidden_depth ] ─▶
//!       [ down: d_ff → d_model, P lanes ] ─▶ y
//! ```
//!
//! Each engine's token buffer has two halves, so the down engine takes
//! token t + 1's hidden values while it computes token t, and a FIFO of
//! two slots ([`HIDDEN_DEPTH_DEFAULT`]) between the engines keeps full
//! throughput: cycles per token [`token_cycles`], the slower engine's.

use crate::export::{self, ExportError, Exported};
use crate::fifo::{FifoUnit, FIFO_DEPTH_MAX};
use crate::layer_weights::{
    activation_name, layer_from_tensors, parse_activation, quantized, raw_tensors, read_weights,
    weights_file, LayerSettings,
};
use crate::linear::{
    self, check_lanes, check_stream_format, measured_error, token_manifest, EngineTiming, LinearUnit,
    INT16_ENGINE,
};
use crate::manifest::{Manifest, Param};
use hwformer_quant::integer::ffn::{FfnFormats, IntFfn};
use hwformer_quant::integer::linear::LinearFormats;
use hwformer_quant::reference::Activation;
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Cycles per token in steady state when nothing stalls: the slower of
/// the two engines ([`linear::token_cycles`]).
pub fn token_cycles(d_model: u64, d_ff: u64, lanes: u64) -> u64 {
    linear::token_cycles(d_model, d_ff, lanes).max(linear::token_cycles(d_ff, d_model, lanes))
}

/// Cycles from a token's last input beat to its first output's `tvalid`
/// when nothing stalls and the block was idle ([`INT16_ENGINE`]'s, see
/// [`first_output_delay_of`]).
pub fn first_output_delay(d_model: u64, d_ff: u64, lanes: u64) -> u64 {
    first_output_delay_of(&INT16_ENGINE, d_model, d_ff, lanes)
}

/// The same for an FFN of two `engine`s: the up engine's first output,
/// then its last hidden value (`G - 1` more groups of `d_model` issues and
/// `P - 1` lanes, or `d_ff - 1` cycles when the bank is the slower), the
/// FIFO's register, and the down engine's first output.
pub fn first_output_delay_of(engine: &EngineTiming, d_model: u64, d_ff: u64, lanes: u64) -> u64 {
    let last_hidden = ((d_ff / lanes - 1) * d_model + lanes - 1).max(d_ff - 1);
    engine.first_output_delay(d_model) + last_hidden + 1 + engine.first_output_delay(d_ff)
}

/// The FFN with `P` lanes in each engine.
#[derive(LogicBlock)]
pub struct FfnUnit<const P: usize, const WP: usize, const WB: usize> {
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
    up: LinearUnit<P, WP, WB>,
    hidden: FifoUnit,
    down: LinearUnit<P, WP, WB>,
}

impl<const P: usize, const WP: usize, const WB: usize> FfnUnit<P, WP, WB> {
    /// The FFN for `model` (P divides d_model and d_ff), `hidden_depth`
    /// hidden values buffered between the engines.
    pub fn new(model: &IntFfn, hidden_depth: usize) -> Self {
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
            up: LinearUnit::new(model.up()),
            hidden: FifoUnit::new(hidden_depth),
            down: LinearUnit::new(model.down()),
        }
    }
}

impl<const P: usize, const WP: usize, const WB: usize> Logic for FfnUnit<P, WP, WB> {
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

/// What an FFN block's settings and formats say, checked, with their
/// defaults: d_model 64, d_ff 256, 8 lanes, GELU, the hidden FIFO's
/// depth, and the formats `x`, `w` (weights, or the ternary scales), `h`
/// (hidden), `y`: Q3.12, Q1.14, Q5.10, Q3.12.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FfnSettings {
    /// Model width.
    pub d_model: usize,
    /// Hidden width.
    pub d_ff: usize,
    /// Lanes of each engine.
    pub lanes: usize,
    /// The activation between the layers.
    pub activation: Activation,
    /// Slots of the hidden FIFO.
    pub hidden_depth: usize,
    /// The formats (`weight`: the first layer's, or both layers' scales
    /// of the ternary FFN).
    pub formats: FfnFormats,
    /// The second layer's weights (`w2`; the int16 ffn only, default `w`).
    pub down_weight: QFormat,
}

/// The settings of FFN block `block` (`ffn`, `ternary_ffn`), checked.
pub fn ffn_settings(
    block: &str,
    settings: &LayerSettings,
    formats: &BTreeMap<String, QFormat>,
) -> Result<FfnSettings, String> {
    let names: &[&str] = if block == "ffn" {
        &["x", "w", "w2", "h", "y"]
    } else {
        &["x", "w", "h", "y"]
    };
    for name in formats.keys() {
        if !names.contains(&name.as_str()) {
            return Err(format!(
                "formats.{name}: {block} has the formats {}",
                names.join(", ")
            ));
        }
    }
    if settings.d_in.is_some() || settings.d_out.is_some() {
        return Err(format!(
            "d_in and d_out are settings of linear; {block} has d_model and d_ff"
        ));
    }
    if settings.eps.is_some() {
        return Err(format!("eps is a setting of layernorm, not of {block}"));
    }
    let hidden_depth = hidden_depth(settings)?;
    let defaults = FfnFormats::default_design();
    let get = |name: &str, default: QFormat| formats.get(name).copied().unwrap_or(default);
    let f = FfnFormats {
        input: get("x", defaults.input),
        weight: get("w", defaults.weight),
        hidden: get("h", defaults.hidden),
        output: get("y", defaults.output),
    };
    for (name, format) in [("x", f.input), ("h", f.hidden), ("y", f.output)] {
        check_stream_format(name, format)?;
    }
    let (d_model, d_ff, lanes) = sizes(settings)?;
    let activation = parse_activation(settings.activation.as_deref().unwrap_or("gelu"))?
        .ok_or_else(|| format!("activation = \"none\": {block} has ReLU or GELU between its layers"))?;
    Ok(FfnSettings {
        d_model,
        d_ff,
        lanes,
        activation,
        hidden_depth,
        formats: f,
        down_weight: formats.get("w2").copied().unwrap_or(f.weight),
    })
}

/// The ffn block's model for `settings` and `formats` ([`ffn_settings`]).
pub fn settings_model(
    settings: &LayerSettings,
    formats: &BTreeMap<String, QFormat>,
) -> Result<IntFfn, String> {
    let s = ffn_settings("ffn", settings, formats)?;
    let f = s.formats;
    let up_formats = LinearFormats {
        input: f.input,
        weight: f.weight,
        output: f.hidden,
    };
    let down_formats = LinearFormats {
        input: f.hidden,
        weight: s.down_weight,
        output: f.output,
    };
    let up = quantized(
        &settings.weights,
        ("w1", "b1"),
        (s.d_model, s.d_ff),
        up_formats,
        Some(s.activation),
        1,
    )?;
    let down = quantized(
        &settings.weights,
        ("w2", "b2"),
        (s.d_ff, s.d_model),
        down_formats,
        None,
        2,
    )?;
    IntFfn::from_layers(up, down).map_err(|e| e.to_string())
}

/// Slots of the hidden FIFO when the settings name none. The down
/// engine's two-half token buffer takes the next hidden token while it
/// computes, so two slots keep full throughput: the FIFO search
/// (`hwformer dataflow min-depth --block ffn`) never asked for more over
/// 12 shapes (d_model 2 to 64, d_ff 4 to 256, 1 to 64 lanes) under 4
/// pacings each, measured 2026-12-02; the cycles-per-token test runs at
/// this depth.
pub const HIDDEN_DEPTH_DEFAULT: usize = 2;

/// The settings' `(d_model, d_ff, lanes)` with their defaults (64, 256,
/// 8), the lanes checked against both widths.
pub fn sizes(settings: &LayerSettings) -> Result<(usize, usize, usize), String> {
    let (d_model, d_ff) = (settings.d_model.unwrap_or(64), settings.d_ff.unwrap_or(256));
    let lanes = settings.lanes.unwrap_or(8);
    check_lanes(lanes, d_ff, "d_ff")?;
    check_lanes(lanes, d_model, "d_model")?;
    Ok((d_model, d_ff, lanes))
}

/// The hidden FIFO's depth the settings ask ([`HIDDEN_DEPTH_DEFAULT`]
/// when none), checked.
pub fn hidden_depth(settings: &LayerSettings) -> Result<usize, String> {
    let depth = settings.hidden_depth.unwrap_or(HIDDEN_DEPTH_DEFAULT);
    if !(1..=FIFO_DEPTH_MAX).contains(&depth) {
        return Err(format!(
            "hidden_depth = {depth}: the hidden FIFO holds 1 to {FIFO_DEPTH_MAX} values"
        ));
    }
    Ok(depth)
}

/// The exported ffn block.
pub fn export(
    settings: &LayerSettings,
    formats: &BTreeMap<String, QFormat>,
) -> Result<Exported, ExportError> {
    let model = settings_model(settings, formats).map_err(ExportError::Check)?;
    let (_, _, lanes) = sizes(settings).map_err(ExportError::Check)?;
    let (d_model, d_ff) = (model.up().d_in(), model.up().d_out());
    let depth = hidden_depth(settings).map_err(ExportError::Check)?;
    let stem = if depth == HIDDEN_DEPTH_DEFAULT {
        format!("ffn_{d_model}x{d_ff}_p{lanes}")
    } else {
        format!("ffn_{d_model}x{d_ff}_p{lanes}_h{depth}")
    };
    let verilog = crate::with_lanes!(
        lanes,
        FfnUnit,
        |Unit| {
            let mut uut = Unit::new(&model, depth);
            uut.connect_all();
            export::verilog(&stem, &uut)?
        },
        return Err(ExportError::Check(format!("no ffn of {lanes} lanes")))
    );
    let mut tensors = raw_tensors(model.up(), "w1", "b1").to_vec();
    tensors.extend(raw_tensors(model.down(), "w2", "b2"));
    let (bytes, entry) = weights_file("ffn", &settings.weights, &tensors).map_err(ExportError::Check)?;
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
        "ffn",
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
            (
                "cycles_per_token",
                Param::from(token_cycles(d_model as u64, d_ff as u64, lanes as u64) as f64),
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

/// The integer model an ffn manifest describes, its weights read from the
/// weights file in `dir`.
pub fn model_from_folder(dir: &std::path::Path, manifest: &Manifest) -> Result<IntFfn, String> {
    let entry = manifest
        .weights
        .as_ref()
        .ok_or("the ffn manifest names no weights file")?;
    let tensors = read_weights(dir, entry)?;
    let activation = parse_activation(manifest.text("activation")?)?;
    let hidden: QFormat = manifest
        .text("hidden_format")?
        .parse()
        .map_err(|e| format!("params.hidden_format: {e}"))?;
    let up = layer_from_tensors(
        &tensors,
        ("w1", "b1"),
        manifest.field_format("x")?,
        hidden,
        activation,
    )?;
    let down = layer_from_tensors(&tensors, ("w2", "b2"), hidden, manifest.field_format("y")?, None)?;
    let lanes = manifest.count("lanes", 1, 64)?;
    check_lanes(lanes, up.d_out(), "d_ff")?;
    check_lanes(lanes, down.d_out(), "d_model")?;
    IntFfn::from_layers(up, down).map_err(|e| e.to_string())
}
