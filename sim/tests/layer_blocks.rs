//! The layer blocks (linear, ffn) on every back end: every output beat
//! bit-exact with the integer model, every handshake at the cycle of the
//! block's handshake graph under seeded gaps and back-pressure, the error
//! against float64 inside the manifest's bound; the cycles-per-token
//! formula against the graph; bad settings and weights files refused with
//! the field named.

mod common;

use common::{export_layer, float_file, run};
use hwformer_dataflow::handshake::blocks::{BlockGraph, BlockTiming};
use hwformer_dataflow::handshake::units::Stalling;
use hwformer_dataflow::handshake::RunOptions;
use hwformer_hdl::{LayerSettings, WeightsSource};
use hwformer_sim::session::Backend;
use hwformer_sim::testbench::Pacing;
use hwformer_sim::timing;
use hwformer_sim::workload::{Workload, WorkloadSize};
use std::collections::BTreeMap;

fn linear(d_in: usize, d_out: usize, lanes: usize, activation: &str) -> LayerSettings {
    LayerSettings {
        d_in: Some(d_in),
        d_out: Some(d_out),
        lanes: Some(lanes),
        activation: Some(activation.into()),
        ..Default::default()
    }
}

fn ffn(d_model: usize, d_ff: usize, lanes: usize, activation: &str) -> LayerSettings {
    LayerSettings {
        d_model: Some(d_model),
        d_ff: Some(d_ff),
        lanes: Some(lanes),
        activation: Some(activation.into()),
        ..Default::default()
    }
}

fn layer_norm(d_model: usize, eps: f64) -> LayerSettings {
    LayerSettings {
        d_model: Some(d_model),
        eps: Some(eps),
        ..Default::default()
    }
}

/// Small designs where the corners meet: one input per token, lanes
/// more than the inputs (the bank is the bottleneck), one group, many
/// groups, both activations.
fn designs() -> Vec<(&'static str, LayerSettings)> {
    vec![
        ("linear", linear(5, 8, 2, "none")),
        ("linear", linear(1, 4, 1, "relu")),
        ("linear", linear(3, 16, 8, "gelu")),
        ("linear", linear(7, 4, 4, "none")),
        ("ffn", ffn(4, 8, 2, "gelu")),
        ("ffn", ffn(8, 4, 4, "relu")),
        ("ternary_ffn", ffn(4, 8, 2, "gelu")),
        ("ternary_ffn", ffn(4, 4, 4, "relu")),
        ("ternary_ffn", ffn(1, 2, 1, "gelu")),
        ("layernorm", layer_norm(5, 1e-5)),
        ("layernorm", layer_norm(12, 0.0)),
    ]
}

const PROBABILITIES: [f64; 3] = [0.3, 0.6, 1.0];

#[test]
fn layer_blocks_on_verilator_are_bit_exact_and_make_every_handshake_when_their_graph_says() {
    for (k, (block, settings)) in designs().into_iter().enumerate() {
        let (dir, manifest) = export_layer(block, &format!("sweep{k}"), &settings);
        for valid in PROBABILITIES {
            for ready in PROBABILITIES {
                for seed in 0..2 {
                    let pacing = Pacing {
                        valid_probability: valid,
                        ready_probability: ready,
                        seed,
                    };
                    let size = WorkloadSize {
                        n: 1,
                        queries: 5,
                        seed,
                    };
                    let verdict = run(&dir, &manifest, Backend::Verilator, size, pacing)
                        .result
                        .unwrap();
                    assert!(verdict.cycles_checked, "{block} {settings:?}");
                }
            }
        }
    }
}

#[test]
fn layer_blocks_on_icarus_and_rust_hdl_agree_with_the_model_and_the_graph() {
    for (k, (block, settings)) in designs().into_iter().enumerate() {
        let (dir, manifest) = export_layer(block, &format!("slow{k}"), &settings);
        for (valid, ready) in [(0.4, 0.4), (1.0, 1.0)] {
            let pacing = Pacing {
                valid_probability: valid,
                ready_probability: ready,
                seed: 5,
            };
            let size = WorkloadSize {
                n: 1,
                queries: 3,
                seed: 1,
            };
            for backend in [Backend::Icarus, Backend::RustHdl] {
                let verdict = run(&dir, &manifest, backend, size, pacing).result.unwrap();
                assert!(verdict.cycles_checked, "{block} on {}", backend.name());
            }
        }
    }
}

/// Output cycles of `tokens` tokens through `timing` at full speed.
fn full_speed_outputs(timing: BlockTiming, d_in: usize, d_out: usize, tokens: usize) -> Vec<u64> {
    let graph = BlockGraph {
        block: "layer",
        timing,
        stalling: Stalling::Lockstep,
    };
    let lasts: Vec<bool> = (0..d_in * tokens).map(|k| k % d_in == d_in - 1).collect();
    let mut g = graph.build(&[lasts], &[d_out * tokens]).unwrap();
    let full = Pacing {
        valid_probability: 1.0,
        ready_probability: 1.0,
        seed: 0,
    };
    g.run(&full, RunOptions::default()).unwrap().output_cycles[0].clone()
}

#[test]
fn cycles_per_token_and_first_output_delay_are_the_graphs() {
    for d_in in 1..=17 {
        for d_out in [1, 2, 4, 8, 16, 32, 64] {
            for lanes in hwformer_hdl::linear::LINEAR_LANE_CHOICES {
                if d_out % lanes != 0 {
                    continue;
                }
                let out =
                    full_speed_outputs(timing::linear_timing(d_in, d_out, lanes).unwrap(), d_in, d_out, 6);
                let first = |t: usize| out[t * d_out];
                let formula = hwformer_hdl::linear::token_cycles(d_in as u64, d_out as u64, lanes as u64);
                assert_eq!(
                    first(5) - first(4),
                    formula,
                    "d_in {d_in} d_out {d_out} lanes {lanes}"
                );
                // the first token's last input is at cycle d_in - 1
                assert_eq!(
                    first(0) - (d_in as u64 - 1),
                    hwformer_hdl::linear::first_output_delay(d_in as u64),
                    "d_in {d_in} d_out {d_out} lanes {lanes}"
                );
            }
        }
    }
    for (d_model, d_ff, lanes) in [
        (4, 16, 4),
        (8, 32, 8),
        (16, 8, 2),
        (8, 8, 8),
        (16, 64, 1),
        (16, 64, 16),
        (64, 256, 8),
    ] {
        let out = full_speed_outputs(
            timing::ffn_timing(
                d_model,
                d_ff,
                lanes,
                hwformer_hdl::ffn::HIDDEN_DEPTH_DEFAULT,
                &hwformer_hdl::linear::INT16_ENGINE,
            )
            .unwrap(),
            d_model,
            d_model,
            8,
        );
        let formula = hwformer_hdl::ffn::token_cycles(d_model as u64, d_ff as u64, lanes as u64);
        assert_eq!(
            out[0] - (d_model as u64 - 1),
            hwformer_hdl::ffn::first_output_delay(d_model as u64, d_ff as u64, lanes as u64),
            "ffn {d_model} x {d_ff}, {lanes} lanes: first output"
        );
        assert_eq!(
            out[7 * d_model] - out[6 * d_model],
            formula,
            "ffn {d_model} x {d_ff}, {lanes} lanes"
        );
    }
}

/// One ternary engine's graph at full speed: the first output's cycle of
/// each of `tokens` tokens.
fn ternary_engine_outputs(d_in: usize, d_out: usize, lanes: usize, tokens: usize) -> Vec<u64> {
    let engine = hwformer_hdl::ternary_linear::TERNARY_ENGINE;
    let timing = BlockTiming::Linear {
        size: timing::matrix_size(d_in, d_out, lanes, &engine).unwrap(),
        output_stages: engine.output_stages as u32,
    };
    let out = full_speed_outputs(timing, d_in, d_out, tokens);
    (0..tokens).map(|t| out[t * d_out]).collect()
}

#[test]
fn ternary_cycles_per_token_are_the_graphs() {
    let engine = hwformer_hdl::ternary_linear::TERNARY_ENGINE;
    for d_in in 1..=17 {
        for d_out in [1, 2, 4, 8, 16, 32, 64] {
            for lanes in hwformer_hdl::linear::LINEAR_LANE_CHOICES {
                if d_out % lanes != 0 {
                    continue;
                }
                let first = ternary_engine_outputs(d_in, d_out, lanes, 8);
                let formula =
                    hwformer_hdl::ternary_ffn::engine_token_cycles(d_in as u64, d_out as u64, lanes as u64);
                // over two tokens, as the setup's wait alternates between the halves
                let measured = (first[7] - first[5]) as f64 / 2.0;
                let reads = (d_in * (d_out / lanes)) as f64;
                let near_tie = ((reads.max(d_out as f64))
                    - (reads + (d_in as u64 + engine.setup_cycles) as f64) / 2.0)
                    .abs()
                    <= 1.0;
                if d_in as u64 >= engine.setup_cycles && near_tie {
                    // the bank's drain and the setup's wait both bind: up to
                    // one cycle more than either alone
                    assert!(
                        (formula..=formula + 1.0).contains(&measured),
                        "d_in {d_in} d_out {d_out} lanes {lanes}: {first:?}"
                    );
                } else if d_in as u64 >= engine.setup_cycles {
                    assert_eq!(
                        measured, formula,
                        "d_in {d_in} d_out {d_out} lanes {lanes}: {first:?}"
                    );
                } else {
                    assert!(
                        measured <= formula,
                        "d_in {d_in} d_out {d_out} lanes {lanes}: {first:?}"
                    );
                }
                assert_eq!(
                    first[0] - (d_in as u64 - 1),
                    engine.first_output_delay(d_in as u64),
                    "d_in {d_in} d_out {d_out} lanes {lanes}"
                );
            }
        }
    }
    for (d_model, d_ff, lanes) in [(4, 16, 4), (8, 8, 8), (16, 64, 16), (64, 256, 8)] {
        let out = full_speed_outputs(
            timing::ffn_timing(
                d_model,
                d_ff,
                lanes,
                hwformer_hdl::ffn::HIDDEN_DEPTH_DEFAULT,
                &engine,
            )
            .unwrap(),
            d_model,
            d_model,
            8,
        );
        assert_eq!(
            out[0] - (d_model as u64 - 1),
            hwformer_hdl::ternary_ffn::first_output_delay(d_model as u64, d_ff as u64, lanes as u64),
            "ternary ffn {d_model} x {d_ff}, {lanes} lanes: first output"
        );
        assert_eq!(
            (out[7 * d_model] - out[5 * d_model]) as f64 / 2.0,
            hwformer_hdl::ternary_ffn::token_cycles(d_model as u64, d_ff as u64, lanes as u64),
            "ternary ffn {d_model} x {d_ff}, {lanes} lanes"
        );
    }
}

#[test]
fn layer_norm_cycles_per_token_and_first_output_delay_are_the_graphs() {
    for n in 2..=40 {
        let out = full_speed_outputs(timing::layer_norm_timing(n).unwrap(), n, n, 8);
        let first = |t: usize| out[t * n];
        assert_eq!(
            first(7) - first(6),
            hwformer_hdl::layer_norm::token_cycles(n as u64),
            "n {n}"
        );
        assert_eq!(
            first(0) - (n as u64 - 1),
            hwformer_hdl::layer_norm::first_output_delay(),
            "n {n}"
        );
        // one element a cycle within a token
        assert!((1..n).all(|i| out[6 * n + i] == out[6 * n] + i as u64), "n {n}");
    }
}

#[test]
fn bad_layer_norm_settings_are_refused_naming_the_field() {
    for (settings, says) in [
        (layer_norm(1, 1e-5), "d_model = 1"),
        (layer_norm(2000, 1e-5), "d_model = 2000"),
        (layer_norm(8, -1.0), "eps = -1"),
        (
            LayerSettings {
                lanes: Some(2),
                ..layer_norm(8, 1e-5)
            },
            "layernorm has the settings d_model and eps",
        ),
    ] {
        let e = build_error("layernorm", &settings, &[]);
        assert!(e.contains(says), "{e} should say {says}");
    }
    let e = build_error("layernorm", &layer_norm(8, 1e-5), &[("w", "Q1.14")]);
    assert!(e.contains("formats.w"), "{e}");
    let e = build_error("layernorm", &layer_norm(8, 1e-5), &[("z", "Q1.6")]);
    assert!(e.contains("formats.z"), "{e}");
    // sqrt(n - 1) normalized values must fit the normalized format
    let e = build_error("layernorm", &layer_norm(64, 1e-5), &[("z", "Q2.13")]);
    assert!(e.contains("sqrt(n - 1)"), "{e}");
    let e = build_error(
        "ffn",
        &LayerSettings {
            eps: Some(1e-5),
            ..ffn(8, 8, 1, "gelu")
        },
        &[],
    );
    assert!(e.contains("eps is a setting of layernorm"), "{e}");

    let dir = std::env::temp_dir().join(format!("hwformer-ln-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("model.safetensors");
    float_file(
        &file,
        &[
            ("ln.weight", vec![4], vec![1.0, 0.5, 2.0, 1.5]),
            ("ln.bias", vec![4], vec![0.0, 0.25, -0.5, 0.125]),
            ("big.weight", vec![4], vec![1.0, 9.0, 1.0, 1.0]),
        ],
    );
    let from = |gamma: &str| LayerSettings {
        weights: WeightsSource::Safetensors {
            file: file.clone(),
            tensors: BTreeMap::from([
                ("gamma".to_string(), gamma.to_string()),
                ("beta".to_string(), "ln.bias".to_string()),
            ]),
        },
        ..layer_norm(4, 1e-12)
    };
    let built = hwformer_hdl::build_block_with("layernorm", 0, &BTreeMap::new(), &from("ln.weight")).unwrap();
    let out = dir.join("out");
    built.write(&out).unwrap();
    let model = hwformer_hdl::layer_norm::model_from_folder(&out, &built.manifest).unwrap();
    assert_eq!(model.gamma_raw(), [4096, 2048, 8192, 6144], "gamma in Q3.12");
    assert_eq!(model.beta_raw(), [0, 1024, -2048, 512], "beta in Q3.12");
    let e = build_error("layernorm", &from("big.weight"), &[]);
    assert!(e.contains("weights.gamma[1] = 9") && e.contains("Q3.12"), "{e}");
    let e = build_error("layernorm", &from("ln.bias2"), &[]);
    assert!(e.contains("no tensor `ln.bias2`"), "{e}");
}

#[test]
fn a_graph_with_the_wrong_lanes_differs_from_the_rtl() {
    let (dir, manifest) = export_layer("linear", "mutant", &linear(4, 8, 4, "none"));
    let size = WorkloadSize {
        n: 1,
        queries: 4,
        seed: 3,
    };
    let pacing = Pacing {
        valid_probability: 0.7,
        ready_probability: 0.7,
        seed: 3,
    };
    let outcome = run(&dir, &manifest, Backend::Verilator, size, pacing);
    let workload = Workload::from_folder(&dir, &manifest, size).unwrap();
    let expected = workload.expected_beats();
    let stimulus = hwformer_sim::testbench::Stimulus {
        inputs: &workload.inputs,
        expected: &expected,
        pacing,
        max_cycles: 100_000,
    };
    let ports = hwformer_sim::ports::PortMap::new(&manifest);
    let wrong = BlockGraph {
        block: "linear",
        timing: timing::linear_timing(4, 8, 2).unwrap(),
        stalling: Stalling::Lockstep,
    };
    let predicted = timing::predict(&wrong, &ports, &stimulus).unwrap();
    let checks = hwformer_sim::check::CycleChecks {
        model: Some(&predicted),
        closed_form: false,
    };
    let m = hwformer_sim::check::check(&manifest, &workload, &outcome.trace, checks)
        .expect_err("two lanes are not four");
    assert!(matches!(
        m.kind,
        hwformer_sim::check::MismatchKind::Cycle | hwformer_sim::check::MismatchKind::InputCycle
    ));
}

fn build_error(block: &str, settings: &LayerSettings, formats: &[(&str, &str)]) -> String {
    let formats: BTreeMap<String, hwformer_quant::QFormat> = formats
        .iter()
        .map(|&(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect();
    hwformer_hdl::build_block_with(block, 0, &formats, settings)
        .map(|_| ())
        .expect_err("a bad setting must be refused")
        .to_string()
}

/// A float32 safetensors file of `tensors` (name, shape, values), written
/// by hand from the format's description (8-byte header length, JSON
/// header, little-endian data).
#[test]
fn bad_settings_and_weights_are_refused_naming_the_field() {
    for (settings, says) in [
        (linear(8, 8, 0, "none"), "lanes = 0"),
        (linear(8, 12, 8, "none"), "lanes = 8 does not divide d_out = 12"),
        (linear(8, 8, 3, "none"), "lanes = 3"),
        (linear(0, 8, 1, "none"), "d_in must be 1 to 4096"),
        (linear(8, 8, 1, "swish"), "activation = \"swish\""),
    ] {
        let e = build_error("linear", &settings, &[]);
        assert!(e.contains(says), "{e} should say {says}");
    }
    let e = build_error("ffn", &ffn(8, 8, 1, "none"), &[]);
    assert!(e.contains("ReLU or GELU"), "{e}");
    let e = build_error("linear", &linear(8, 8, 1, "none"), &[("x", "Q7.0")]);
    assert!(e.contains("formats.x"), "{e}");
    let e = build_error("sdpa", &linear(8, 8, 1, "none"), &[]);
    assert!(
        e.contains("sdpa has the settings d, n_max, output_multipliers and formats"),
        "{e}"
    );

    let dir = std::env::temp_dir().join(format!("hwformer-layer-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("model.safetensors");
    let w: Vec<f32> = (0..12).map(|i| (i as f32 - 6.0) / 8.0).collect();
    float_file(
        &file,
        &[
            ("dense.weight", vec![4, 3], w.clone()),
            ("dense.bias", vec![4], vec![0.5, -0.25, 0.0, 0.125]),
            ("big.weight", vec![4, 3], w.iter().map(|v| v * 8.0).collect()),
        ],
    );
    let from = |weight: &str, d_in: usize, d_out: usize| LayerSettings {
        weights: WeightsSource::Safetensors {
            file: file.clone(),
            tensors: BTreeMap::from([
                ("w".to_string(), weight.to_string()),
                ("b".to_string(), "dense.bias".to_string()),
            ]),
        },
        ..linear(d_in, d_out, 1, "none")
    };
    // the right shape builds, and the weights file holds the quantized numbers
    let built =
        hwformer_hdl::build_block_with("linear", 0, &BTreeMap::new(), &from("dense.weight", 3, 4)).unwrap();
    let out = dir.join("out");
    built.write(&out).unwrap();
    let model = hwformer_hdl::linear::model_from_folder(&out, &built.manifest).unwrap();
    assert_eq!(
        model.weight_raw()[0],
        -6 * (1 << 14) / 8,
        "w[0][0] = -0.75 in Q1.14"
    );
    assert_eq!(model.bias_raw()[0], 1 << 25, "b[0] = 0.5 with 26 fraction bits");
    let e = build_error("linear", &from("dense.weight", 4, 3), &[]);
    assert!(e.contains("weights.w") && e.contains("[3, 4]"), "{e}");
    let e = build_error("linear", &from("big.weight", 3, 4), &[]);
    assert!(e.contains("weight[0][0] = -6") && e.contains("Q1.14"), "{e}");
    let e = build_error("linear", &from("missing.weight", 3, 4), &[]);
    assert!(e.contains("no tensor `missing.weight`"), "{e}");

    // a weights file beside the manifest of the wrong shape or dtype
    let entry = built.manifest.weights.clone().unwrap();
    let mut wrong = entry.clone();
    wrong.tensors[0].shape = vec![3, 4];
    let e = hwformer_hdl::layer_weights::read_weights(&out, &wrong).unwrap_err();
    assert!(e.contains("shape [4, 3]"), "{e}");
    let mut wrong = entry;
    wrong.tensors[0].format = "Q1.6".parse().unwrap();
    wrong.tensors[0].dtype = "I8".into();
    let e = hwformer_hdl::layer_weights::read_weights(&out, &wrong).unwrap_err();
    assert!(e.contains("I16") && e.contains("I8"), "{e}");
}

#[test]
fn bad_ternary_settings_and_weights_are_refused_naming_the_field() {
    for (settings, says) in [
        (ffn(8, 8, 3, "gelu"), "lanes = 3"),
        (ffn(8, 12, 8, "gelu"), "lanes = 8 does not divide d_ff = 12"),
        (ffn(8, 8, 1, "none"), "ternary_ffn has ReLU or GELU"),
    ] {
        let e = build_error("ternary_ffn", &settings, &[]);
        assert!(e.contains(says), "{e} should say {says}");
    }
    let e = build_error("ternary_ffn", &ffn(8, 8, 1, "gelu"), &[("s", "Q1.14")]);
    assert!(e.contains("formats.s"), "{e}");

    let dir = std::env::temp_dir().join(format!("hwformer-ternary-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("model.safetensors");
    let w: Vec<f32> = (0..8).map(|i| (i as f32 - 4.0) / 8.0).collect();
    float_file(
        &file,
        &[
            ("up.weight", vec![4, 2], w.clone()),
            ("up.bias", vec![4], vec![0.5, 0.0, 0.0, 0.0]),
            ("down.weight", vec![2, 4], w),
        ],
    );
    let source = |bias: bool| {
        let mut tensors = BTreeMap::from([
            ("w1".to_string(), "up.weight".to_string()),
            ("w2".to_string(), "down.weight".to_string()),
        ]);
        if bias {
            tensors.insert("b1".into(), "up.bias".into());
        }
        LayerSettings {
            weights: WeightsSource::Safetensors {
                file: file.clone(),
                tensors,
            },
            ..ffn(2, 4, 2, "relu")
        }
    };
    let e = build_error("ternary_ffn", &source(true), &[]);
    assert!(e.contains("weights.b1") && e.contains("no bias"), "{e}");
    let built = hwformer_hdl::build_block_with("ternary_ffn", 0, &BTreeMap::new(), &source(false)).unwrap();
    let out = dir.join("out");
    built.write(&out).unwrap();
    let model = hwformer_hdl::ternary_ffn::model_from_folder(&out, &built.manifest).unwrap();
    // absmean of (i - 4) / 8 over i < 8 is 0.25: signs round(w / 0.25)
    assert_eq!(
        model.up().signs()[..4],
        [-1, -1, -1, -1],
        "up.weight[0] = [-0.5, -0.375]"
    );
    assert_eq!(model.up().scale_raw(), 1 << 12, "scale 0.25 in Q1.14");
    // a sign the engine cannot hold, written into the weights file
    let entry = built.manifest.weights.clone().unwrap();
    let mut tensors = hwformer_hdl::layer_weights::read_weights(&out, &entry).unwrap();
    tensors.get_mut("w1").unwrap().values[1] = -2;
    let bytes = hwformer_quant::weights::write_raw(&tensors.into_values().collect::<Vec<_>>()).unwrap();
    std::fs::write(out.join(&entry.file), bytes).unwrap();
    let e = hwformer_hdl::ternary_ffn::model_from_folder(&out, &built.manifest).unwrap_err();
    assert!(e.contains("w1") && e.contains("signs[0][1] = -2"), "{e}");
}

#[test]
fn the_hidden_fifo_depth_the_search_finds_keeps_full_throughput_on_verilator_and_one_less_does_not() {
    let (d_model, d_ff, lanes, tokens) = (8, 32, 4, 6);
    let pacing = Pacing {
        valid_probability: 0.8,
        ready_probability: 0.8,
        seed: 5,
    };
    let search = timing::ffn_depth_search("ffn", (d_model, d_ff, lanes), tokens, &pacing, d_ff).unwrap();
    let found = &search.fifos[0];
    assert!(
        found.full_throughput_depth > 1 && found.full_throughput_depth < d_ff,
        "a depth between one value and one hidden token: {search:?}"
    );
    let slower = found.cycles_one_less.expect("one slot less does not deadlock");
    assert!(slower > search.full_throughput_cycles, "{search:?}");
    let size = WorkloadSize {
        n: 1,
        queries: tokens,
        seed: 5,
    };
    for (depth, graph_cycles) in [
        (d_ff, search.full_throughput_cycles),
        (found.full_throughput_depth, search.full_throughput_cycles),
        (found.full_throughput_depth - 1, slower),
    ] {
        let settings = LayerSettings {
            hidden_depth: Some(depth),
            ..ffn(d_model, d_ff, lanes, "gelu")
        };
        let (dir, manifest) = export_layer("ffn", &format!("depth{depth}"), &settings);
        assert_eq!(manifest.number("hidden_depth").unwrap(), depth as f64);
        let outcome = run(&dir, &manifest, Backend::Verilator, size, pacing);
        if let Err(m) = &outcome.result {
            panic!("hidden depth {depth}: {m}");
        }
        assert_eq!(outcome.cycles, graph_cycles, "hidden depth {depth}");
    }
    let e = build_error(
        "ffn",
        &LayerSettings {
            hidden_depth: Some(0),
            ..ffn(8, 8, 1, "relu")
        },
        &[],
    );
    assert!(e.contains("hidden_depth = 0"), "{e}");
    let e = build_error(
        "linear",
        &LayerSettings {
            hidden_depth: Some(4),
            ..linear(8, 8, 1, "none")
        },
        &[],
    );
    assert!(e.contains("hidden_depth"), "{e}");
}

#[test]
fn the_ffn_holds_each_layers_weights_in_their_own_format() {
    // a real model's two FFN matrices need different formats (MiniLM's
    // second layer reaches 2.7 where its first stays under 1)
    let q = |f: &str| -> hwformer_quant::QFormat { f.parse().unwrap() };
    let formats = BTreeMap::from([("w".to_string(), q("Q2.13")), ("w2".to_string(), q("Q3.12"))]);
    let (dir, manifest) = common::export_with("ffn", 0, "w2", formats, &ffn(4, 8, 2, "gelu"));
    let model = hwformer_hdl::ffn::model_from_folder(&dir, &manifest).unwrap();
    assert_eq!(model.up().formats().weight, q("Q2.13"));
    assert_eq!(model.down().formats().weight, q("Q3.12"));
    let pacing = Pacing {
        valid_probability: 0.6,
        ready_probability: 0.6,
        seed: 3,
    };
    let size = WorkloadSize {
        n: 1,
        queries: 4,
        seed: 3,
    };
    assert!(
        run(&dir, &manifest, Backend::Verilator, size, pacing)
            .result
            .unwrap()
            .cycles_checked
    );
    // the ternary FFN has one scale format for both layers
    let e = build_error("ternary_ffn", &ffn(4, 8, 2, "gelu"), &[("w2", "Q3.12")]);
    assert!(e.contains("ternary_ffn has the formats x, w, h, y"), "{e}");
}

#[test]
fn weights_are_read_at_run_time_so_other_weights_reuse_the_built_model_and_a_missing_file_is_named() {
    let seeded = |seed| LayerSettings {
        weights: WeightsSource::Seeded(seed),
        ..linear(8, 8, 2, "relu")
    };
    let (first, first_manifest) = export_layer("linear", "memory-a", &seeded(3));
    let (second, second_manifest) = export_layer("linear", "memory-b", &seeded(4));
    assert_eq!(first_manifest.memories.len(), 2, "{:?}", first_manifest.memories);
    // the Verilog holds no weights: one build serves both
    assert_eq!(
        std::fs::read(first.join(&first_manifest.verilog)).unwrap(),
        std::fs::read(second.join(&second_manifest.verilog)).unwrap()
    );
    for memory in &first_manifest.memories {
        assert_ne!(
            std::fs::read(first.join(memory)).unwrap(),
            std::fs::read(second.join(memory)).unwrap(),
            "{memory}"
        );
    }
    let options = hwformer_sim::verilator::BuildOptions::default();
    assert_eq!(
        hwformer_sim::verilator::build(&first, &first_manifest, &options).unwrap(),
        hwformer_sim::verilator::build(&second, &second_manifest, &options).unwrap()
    );
    // and each runs bit-exact with its own weights, on both Verilog simulators
    for (dir, manifest) in [(&first, &first_manifest), (&second, &second_manifest)] {
        for backend in [Backend::Verilator, Backend::Icarus] {
            let size = WorkloadSize {
                n: 1,
                queries: 3,
                seed: 1,
            };
            let verdict = run(dir, manifest, backend, size, Pacing::FULL_SPEED)
                .result
                .unwrap();
            assert!(verdict.cycles_checked);
        }
    }
    // a missing memory file is an error that names it, not a run on zeros
    std::fs::remove_file(second.join(&second_manifest.memories[0])).unwrap();
    let request = common::request(
        &second,
        &second_manifest,
        Backend::Verilator,
        WorkloadSize {
            n: 1,
            queries: 3,
            seed: 1,
        },
        Pacing::FULL_SPEED,
    );
    let e = hwformer_sim::session::simulate(&request).unwrap_err().to_string();
    assert!(
        e.contains(&second_manifest.memories[0]) && e.contains("missing"),
        "{e}"
    );
}
