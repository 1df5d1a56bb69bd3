//! hwformer-hdl: hardware blocks written with rust-hdl, and their Verilog
//! export.
//!
//! Each block implements an integer model of `hwformer-quant` bit for bit,
//! with AXI4-Stream ports; `export` renames modules uniquely and writes the
//! JSON manifest beside the Verilog. This crate runs no simulator other
//! than rust-hdl's own (in its tests) and knows nothing of Verilator or
//! Vivado.
//!
//! Blocks: the exponential unit (`exp`), row softmax (`softmax`),
//! streaming attention for one head (`sdpa`), a stream FIFO (`fifo`), one
//! linear layer (`linear`), the feed-forward network (`ffn`) and its
//! BitNet b1.58 form with ternary weights (`ternary_ffn`), and layer
//! normalization (`layernorm`), built
//! from the shared reciprocal and inverse-square-root units
//! (`reciprocal`, `inv_sqrt`), wide products and
//! rounding shifters (`fixed`), table ROMs (`rom`), weight ROMs
//! (`weight_rom`) and activations (`activation`). [`export_block`] writes
//! any of them; the layer blocks' weights come from `layer_weights`.
#![warn(missing_docs)]

pub mod activation;
pub mod adder_tree;
pub mod binary_attention;
pub mod encoder_layer;
pub mod exp;
pub mod export;
pub mod ffn;
pub mod fifo;
pub mod final_values;
pub mod fixed;
pub mod inv_sqrt;
pub mod key_stream;
pub mod lane_serializer;
pub mod lanes;
pub mod layer_norm;
pub mod layer_weights;
pub mod linear;
pub mod manifest;
pub mod online_softmax;
pub mod output_engine;
pub mod reciprocal;
pub mod residual_add;
pub mod rom;
pub mod sdpa;
pub mod sequence_memory;
pub mod sign_codes;
pub mod slot_accumulator;
pub mod softmax;
pub mod stream_fork;
pub mod ternary_ffn;
pub mod ternary_linear;
pub mod weight_rom;

use hwformer_quant::integer::sdpa::SdpaConfig;
use hwformer_quant::integer::softmax::SoftmaxModel;
use hwformer_quant::QFormat;
pub use layer_weights::{LayerSettings, WeightsSource};
use std::collections::BTreeMap;

/// Names of the blocks [`export_block`] knows.
pub const BLOCKS: [&str; 9] = [
    "exp",
    "softmax",
    "sdpa",
    "fifo",
    "linear",
    "ffn",
    "ternary_ffn",
    "layernorm",
    "binary_attention",
];

/// The token blocks: they hold weights (and write a weights file beside
/// their Verilog) and stream tokens in and out.
pub const LAYER_BLOCKS: [&str; 4] = ["linear", "ffn", "ternary_ffn", "layernorm"];

/// The attention heads: sdpa's streams, `d` and `n_max`.
pub const ATTENTION_BLOCKS: [&str; 2] = ["sdpa", "binary_attention"];

/// Every block that writes a weights file (binary_attention's is its
/// projection) and takes [`LayerSettings`].
pub const WEIGHT_BLOCKS: [&str; 5] = ["linear", "ffn", "ternary_ffn", "layernorm", "binary_attention"];

/// Builds block `block` (`d` lanes for sdpa, depth for fifo, ignored
/// otherwise) in its default formats: its Verilog and its manifest, in memory.
pub fn build_block(block: &str, d: usize) -> Result<export::Exported, export::ExportError> {
    build_block_with(block, d, &BTreeMap::new(), &LayerSettings::default())
}

/// Builds block `block` (`d` lanes for sdpa) with the formats asked for
/// its input fields: `x` (exp, signed 16-bit with 8 to 12 fraction bits),
/// `logit` (softmax, 8 to 10); `q`, `k`, `v`, `o` (sdpa), any signed 16-bit
/// format. Other fields keep their built formats (the caller compares the
/// manifest with what it asked); a field sdpa does not have is an error.
/// The layer blocks (`linear`, `ffn`) take their sizes, lanes, activation
/// and weights from `layer`, and any signed 16-bit formats for their
/// fields (`x`, `w`, `y`, and the ffn's hidden `h`); `d` is not theirs.
///
/// Runs on a thread of its own with a 256 MiB stack: rust-hdl builds a
/// block as one value, and the wide heads outgrow a default thread's stack.
pub fn build_block_with(
    block: &str,
    d: usize,
    formats: &BTreeMap<String, QFormat>,
    layer: &LayerSettings,
) -> Result<export::Exported, export::ExportError> {
    export::on_build_thread(block, || build_on_this_thread(block, d, formats, layer))
}

fn build_on_this_thread(
    block: &str,
    d: usize,
    formats: &BTreeMap<String, QFormat>,
    layer: &LayerSettings,
) -> Result<export::Exported, export::ExportError> {
    if block != "binary_attention" && layer.bits.is_some() {
        return Err(export::ExportError::Check(format!(
            "bits is a setting of binary_attention, not of {block}"
        )));
    }
    for (name, given) in [
        ("n_max", layer.n_max.is_some()),
        (sdpa::MULTIPLIERS_PARAM, layer.output_multipliers.is_some()),
    ] {
        if given && !ATTENTION_BLOCKS.contains(&block) {
            return Err(export::ExportError::Check(format!(
                "{name} is a setting of sdpa and binary_attention, not of {block}"
            )));
        }
    }
    let sdpa_settings = LayerSettings {
        n_max: layer.n_max,
        output_multipliers: layer.output_multipliers,
        ..Default::default()
    };
    if block == "sdpa" && *layer != sdpa_settings {
        return Err(export::ExportError::Check(
            "sdpa has the settings d, n_max, output_multipliers and formats".into(),
        ));
    }
    if !WEIGHT_BLOCKS.contains(&block) && block != "sdpa" && *layer != LayerSettings::default() {
        return Err(export::ExportError::Check(format!(
            "{block} has no layer settings (d_in, d_out, d_model, d_ff, lanes, activation, hidden_depth, eps, bits, weights)"
        )));
    }
    let plain = |built: Result<(String, manifest::Manifest), export::ExportError>| {
        built.map(|(verilog, manifest)| export::Exported::new(verilog, manifest))
    };
    match block {
        "linear" => linear::export(layer, formats),
        "ffn" => ffn::export(layer, formats),
        "ternary_ffn" => ternary_ffn::export(layer, formats),
        "layernorm" => layer_norm::export(layer, formats),
        "binary_attention" => binary_attention::export(d, layer, formats),
        other => plain(build_plain_block(other, d, layer, formats)),
    }
}

fn build_plain_block(
    block: &str,
    d: usize,
    layer: &LayerSettings,
    formats: &BTreeMap<String, QFormat>,
) -> Result<(String, manifest::Manifest), export::ExportError> {
    match block {
        "exp" => exp::export_with(formats.get("x").copied().unwrap_or_else(exp::default_input)),
        "softmax" => softmax::export_with(
            formats
                .get("logit")
                .copied()
                .unwrap_or_else(|| SoftmaxModel::default_design().input()),
        ),
        "sdpa" => {
            let mut config = SdpaConfig::with_d(d, layer.n_max.unwrap_or(sdpa::SDPA_N_MAX));
            for (name, &format) in formats {
                sdpa::set_format(&mut config, name, format)
                    .map_err(|e| export::ExportError::Check(format!("formats.{name}: {e}")))?;
            }
            sdpa::export_head(config, layer.output_multipliers.unwrap_or(1))
        }
        "fifo" => fifo::export(d),
        other => Err(export::ExportError::Check(format!(
            "no block `{other}` (known: {})",
            BLOCKS.join(", ")
        ))),
    }
}

/// Exports block `block` (`d` lanes for sdpa, ignored otherwise) into
/// `dir` as `<block>.v` and `<block>.json`; returns its manifest as
/// written.
pub fn export_block(
    block: &str,
    d: usize,
    dir: &std::path::Path,
) -> Result<manifest::Manifest, export::ExportError> {
    build_block(block, d)?.write(dir)
}
