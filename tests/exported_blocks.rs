//! Every exported block through the external tools: Verilator's lint with
//! the manifest's waivers and yosys mapping it to Xilinx 7-series cells.
//! Simulation of the exported Verilog (Icarus and Verilator, bit-exact and
//! cycle-exact) lives in the sim crate's tests.

mod common;
use common::{assert_ok, hwformer, scratch, tool};
use hwformer_bitstreams::yosys::Family;
use hwformer_hdl::manifest::Manifest;
use std::path::PathBuf;

fn export_args(block: &str, test: &str, extra: &[&str]) -> (PathBuf, Manifest) {
    let dir = scratch(&format!("{block}-{test}"));
    let mut args = vec!["gen", block, "--out", dir.to_str().unwrap()];
    args.extend(extra);
    assert_ok("hwformer gen", &hwformer(&args));
    let json = std::fs::read_to_string(dir.join(format!("{block}.json"))).unwrap();
    (dir, serde_json::from_str(&json).unwrap())
}

fn lint(block: &str) {
    lint_args(block, &[]);
}

fn lint_args(block: &str, extra: &[&str]) {
    lint_in(block, "lint", extra);
}

/// Lints the export of `block` with `extra` arguments in a folder of its
/// own (`tag`), apart from other tests' exports of the same block.
fn lint_in(block: &str, tag: &str, extra: &[&str]) {
    let (dir, manifest) = export_args(block, tag, extra);
    assert!(
        manifest.module.starts_with(&format!("hwformer_{block}")),
        "{}",
        manifest.module
    );
    let mut args = vec!["--lint-only".to_string(), "-Wall".to_string()];
    args.extend(manifest.lint_waivers.keys().map(|w| format!("-Wno-{w}")));
    args.extend([
        "--top-module".to_string(),
        manifest.module.clone(),
        manifest.verilog.clone(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tool(&dir, "verilator", &args);
    assert_ok("verilator --lint-only -Wall", &out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("%Warning") && !stderr.contains("%Error"),
        "{stderr}"
    );
    let source = std::fs::read_to_string(dir.join(&manifest.verilog)).unwrap();
    for line in source.lines().filter(|l| l.trim_start().starts_with("module ")) {
        let name = line.trim_start()["module ".len()..].split('(').next().unwrap();
        assert!(
            name.starts_with(&manifest.module) && !name.contains('$'),
            "{line}"
        );
    }
}

#[test]
fn exp_lints_clean() {
    lint("exp");
}

#[test]
fn softmax_lints_clean() {
    lint("softmax");
}

fn yosys(block: &str) -> hwformer_bitstreams::yosys::Resources {
    yosys_args(block, &[]).resources
}

fn yosys_args(block: &str, extra: &[&str]) -> hwformer_bitstreams::yosys::Synthesis {
    let (dir, manifest) = export_args(block, "yosys", extra);
    hwformer_bitstreams::yosys::synthesize(&dir, &manifest.verilog, &manifest.module, Family::Xc7)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn yosys_maps_exp_to_two_dsps() {
    let r = yosys("exp");
    // x * log2(e) and HIGH * LOW
    assert_eq!(r.dsp, 2, "{r:?}");
    assert!(r.flip_flops >= 60, "{r:?}");
}

#[test]
fn yosys_maps_softmax_with_its_row_buffer_in_block_ram() {
    let r = yosys("softmax");
    assert!(r.ramb18 + r.ramb36 >= 1, "{r:?}");
    assert!(r.dsp >= 4, "{r:?}");
}

#[test]
fn fifo_lints_clean_at_a_depth_that_is_not_a_power_of_two() {
    lint_args("fifo", &["--d", "5"]);
}

#[test]
fn yosys_maps_the_fifo_storage_to_lut_ram() {
    let r = yosys_args("fifo", &["--d", "32"]).resources;
    // 32 words of tlast + 16 bits: distributed RAM, no block RAM, no DSP
    assert!(r.lutram >= 4, "{r:?}");
    assert_eq!((r.ramb18, r.ramb36, r.dsp), (0, 0, 0), "{r:?}");
}

#[test]
fn a_deep_fifo_lints_clean_and_yosys_maps_it_to_block_ram() {
    let depth = hwformer_hdl::fifo::BLOCK_RAM_FIFO_DEPTH.to_string();
    lint_in("fifo", "deep-lint", &["--d", &depth]);
    let (dir, manifest) = export_args("fifo", "deep-yosys", &["--d", "4096"]);
    let r = hwformer_bitstreams::yosys::synthesize(&dir, &manifest.verilog, &manifest.module, Family::Xc7)
        .unwrap_or_else(|e| panic!("{e}"))
        .resources;
    // 4096 words of 17 bits: block RAM (two 36 Kb), not 1 100 LUTs of LUT RAM
    assert!(r.ramb18 + r.ramb36 >= 1, "{r:?}");
    assert!(r.lutram < 16, "{r:?}");
}

#[test]
fn sdpa_lints_clean() {
    lint_args("sdpa", &["--d", "8"]);
}

#[test]
fn yosys_synthesizes_sdpa_d8() {
    let s = yosys_args("sdpa", &["--d", "8"]);
    let r = s.resources;
    // the estimate is a real path: at least the 16x16 product and a LUT
    assert!(
        s.logic_depth.lut_levels >= 1 && s.logic_depth.fmax_mhz < 500.0,
        "{:?}",
        s.logic_depth
    );
    // 8 lanes of q.k, the score scaling, the rescale and weight products,
    // the output products: far more than the softmax's handful
    assert!(r.dsp >= 40, "{r:?}");
    assert_eq!(r.ramb18 + r.ramb36, 0, "no storage grows with N: {r:?}");
}

/// A config file for a layer block in a fresh folder.
fn layer_config(test: &str, text: &str) -> PathBuf {
    let dir = scratch(&format!("config-{test}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("block.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn linear_and_ffn_lint_clean() {
    let linear = layer_config(
        "linear-lint",
        "block = \"linear\"\nd_in = 12\nd_out = 8\nlanes = 4\nactivation = \"gelu\"\n",
    );
    lint_args("linear", &["--config", linear.to_str().unwrap()]);
    let ffn = layer_config("ffn-lint", "block = \"ffn\"\nd_model = 8\nd_ff = 16\nlanes = 2\n");
    lint_args("ffn", &["--config", ffn.to_str().unwrap()]);
}

#[test]
fn ternary_ffn_lints_clean() {
    let config = layer_config(
        "ternary-lint",
        "block = \"ternary_ffn\"\nd_model = 8\nd_ff = 16\nlanes = 4\nactivation = \"gelu\"\n",
    );
    lint_args("ternary_ffn", &["--config", config.to_str().unwrap()]);
}

#[test]
fn yosys_gives_the_ternary_ffn_no_dsp_in_its_lanes() {
    // each engine's multiplies are outside the lanes: the code's (16 x 16),
    // the two output scales' (24 x 16, 40 x 16: 1 + 2 DSPs) and the
    // reciprocal's two: 6 an engine, whatever the lane count
    let dsp = |lanes: usize| {
        let config = layer_config(
            &format!("ternary-yosys-p{lanes}"),
            &format!("block = \"ternary_ffn\"\nd_model = 8\nd_ff = 16\nlanes = {lanes}\n"),
        );
        yosys_args("ternary_ffn", &["--config", config.to_str().unwrap()])
            .resources
            .dsp
    };
    assert_eq!((dsp(1), dsp(8)), (12, 12));
}

#[test]
fn layernorm_lints_clean() {
    let config = layer_config("layernorm-lint", "block = \"layernorm\"\nd_model = 24\n");
    lint_args("layernorm", &["--config", config.to_str().unwrap()]);
}

#[test]
fn yosys_synthesizes_the_layernorm_with_its_token_buffer_in_memory() {
    let config = layer_config("layernorm-yosys", "block = \"layernorm\"\nd_model = 64\n");
    let r = yosys_args("layernorm", &["--config", config.to_str().unwrap()]).resources;
    // the products n x, c inv, z gamma, n Q, S^2 and the inverse square
    // root's three: a handful of DSPs, none growing with d_model
    assert!((4..=20).contains(&r.dsp), "{r:?}");
    // three slots of 64 x 16 bits: memory, not 3072 flip-flops
    assert!(r.flip_flops < 1500, "{r:?}");
}

#[test]
fn yosys_gives_the_linear_block_one_dsp_a_lane() {
    let config = layer_config(
        "linear-yosys",
        "block = \"linear\"\nd_in = 16\nd_out = 16\nlanes = 4\n",
    );
    let r = yosys_args("linear", &["--config", config.to_str().unwrap()]).resources;
    // one 16x16 product a lane, accumulated in the DSP's own adder
    assert_eq!(r.dsp, 4, "{r:?}");
}

#[test]
fn yosys_puts_a_large_weight_rom_in_block_ram() {
    // 64 x 64 weights, one lane: 4096 words of 16 bits
    let config = layer_config(
        "linear-bram",
        "block = \"linear\"\nd_in = 64\nd_out = 64\nlanes = 1\n",
    );
    let r = yosys_args("linear", &["--config", config.to_str().unwrap()]).resources;
    assert!(r.ramb18 + r.ramb36 >= 1, "{r:?}");
    assert_eq!(r.dsp, 1, "{r:?}");
}

#[test]
fn binary_attention_lints_clean() {
    let config = layer_config("binary-lint", "block = \"binary_attention\"\nd = 4\nbits = 16\n");
    lint_args("binary_attention", &["--config", config.to_str().unwrap()]);
}

#[test]
fn sdpa_with_output_multipliers_lints_clean() {
    // the lane groups' hand-written Verilog, four engines
    let config = layer_config(
        "multipliers-lint",
        "block = \"sdpa\"\nd = 8\noutput_multipliers = 4\n",
    );
    lint_in(
        "sdpa",
        "lint-multipliers",
        &["--config", config.to_str().unwrap()],
    );
}

#[test]
fn yosys_gives_binary_attention_scores_no_multiplier() {
    // the scores are adders, XOR and a popcount into a table: every DSP is
    // in sdpa's back end, so the count is the same for 8 and 64 code bits,
    // and below sdpa's by at least the q.k products (d = 4: 36 and 40 on
    // 2026-12-07)
    let dsp = |bits: usize| {
        let config = layer_config(
            &format!("binary-yosys-b{bits}"),
            &format!("block = \"binary_attention\"\nd = 4\nbits = {bits}\n"),
        );
        yosys_args("binary_attention", &["--config", config.to_str().unwrap()])
            .resources
            .dsp
    };
    let sdpa = yosys_args("sdpa", &["--d", "4"]).resources.dsp;
    let (b8, b64) = (dsp(8), dsp(64));
    assert_eq!(b8, b64, "DSPs must not grow with the code bits");
    assert!(
        b8 + 4 <= sdpa,
        "binary {b8} DSPs, sdpa {sdpa}: the d = 4 q.k products must be gone"
    );
}

#[test]
fn yosys_synthesizes_the_small_encoder_layer_at_a_full_clock() {
    // the layer's struct of blocks is large: build it on a big stack
    let synthesis = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(|| {
            // d_model 32: 4 heads of 8, d_ff 64 (the tiny preset at twice the width)
            let design = hwformer_sim::layer::LayerDesign::new("small", 7).unwrap();
            let dir = scratch("yosys-encoder-layer");
            let manifest = design.write(&dir).unwrap();
            hwformer_bitstreams::yosys::synthesize(&dir, &manifest.verilog, &manifest.module, Family::Xc7)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .unwrap()
        .join()
        .unwrap();
    let r = &synthesis.resources;
    // the multipliers are DSPs: at least one per lane of the four linear
    // engines and the FFN's two, and the head's
    assert!(r.dsp >= 4 * 4 + 2 * 4, "{r:?}");
    // every block was pipelined to 200 MHz by this estimate; the layer keeps it
    let fmax = synthesis.logic_depth.fmax_mhz;
    assert!(
        fmax >= 200.0,
        "{fmax:.0} MHz: {:?}",
        synthesis.logic_depth.slowest_paths
    );
}
