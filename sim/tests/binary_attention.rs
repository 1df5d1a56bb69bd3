//! The binary attention block on every back end: every output beat
//! bit-exact with `BinaryAttention`, every handshake at the cycle of its
//! handshake graph (sdpa's stages) under seeded gaps and back-pressure,
//! inputs over the formats' full ranges, the error against float64 inside
//! the manifest's bound; bad settings and projection files refused with
//! the field named.

mod common;

use common::{export_with, float_file, run};
use hwformer_hdl::{LayerSettings, WeightsSource};
use hwformer_quant::QFormat;
use hwformer_sim::session::Backend;
use hwformer_sim::testbench::Pacing;
use hwformer_sim::workload::WorkloadSize;
use std::collections::BTreeMap;

fn bits(bits: usize) -> LayerSettings {
    LayerSettings {
        bits: Some(bits),
        ..Default::default()
    }
}

fn formats(pairs: &[(&str, &str)]) -> BTreeMap<String, QFormat> {
    pairs
        .iter()
        .map(|&(n, f)| (n.to_string(), f.parse().unwrap()))
        .collect()
}

/// (d, bits, formats): one bit, one lane, every bit of the code word, other formats.
fn designs() -> Vec<(usize, usize, BTreeMap<String, QFormat>)> {
    vec![
        (1, 1, formats(&[])),
        (4, 8, formats(&[])),
        (8, 64, formats(&[])),
        (
            2,
            16,
            formats(&[("q", "Q1.14"), ("k", "Q7.8"), ("v", "Q2.13"), ("o", "Q5.10")]),
        ),
    ]
}

#[test]
fn binary_attention_on_verilator_is_bit_exact_and_makes_every_handshake_when_its_graph_says() {
    for (k, (d, b, f)) in designs().into_iter().enumerate() {
        let (dir, manifest) = export_with("binary_attention", d, &format!("v{k}"), f, &bits(b));
        for (valid, ready) in [(1.0, 1.0), (0.3, 1.0), (1.0, 0.3), (0.6, 0.6)] {
            for (n, seed) in [(1, 0), (5, 1), (40, 2)] {
                let pacing = Pacing {
                    valid_probability: valid,
                    ready_probability: ready,
                    seed,
                };
                let size = WorkloadSize { n, queries: 4, seed };
                let verdict = run(&dir, &manifest, Backend::Verilator, size, pacing)
                    .result
                    .unwrap();
                assert!(verdict.cycles_checked, "d {d} bits {b}");
            }
        }
    }
}

#[test]
fn binary_attention_on_icarus_and_rust_hdl_agrees_with_the_model_and_the_graph() {
    for (k, (d, b, f)) in designs().into_iter().enumerate() {
        let (dir, manifest) = export_with("binary_attention", d, &format!("s{k}"), f, &bits(b));
        for (valid, ready, n) in [(0.5, 0.5, 6), (1.0, 1.0, 2)] {
            let pacing = Pacing {
                valid_probability: valid,
                ready_probability: ready,
                seed: 3,
            };
            let size = WorkloadSize {
                n,
                queries: 3,
                seed: 4,
            };
            for backend in [Backend::Icarus, Backend::RustHdl] {
                let verdict = run(&dir, &manifest, backend, size, pacing).result.unwrap();
                assert!(verdict.cycles_checked, "d {d} bits {b} on {}", backend.name());
            }
        }
    }
}

fn build_error(d: usize, settings: &LayerSettings, formats: &[(&str, &str)]) -> String {
    let formats = self::formats(formats);
    match hwformer_hdl::build_block_with("binary_attention", d, &formats, settings) {
        Ok(_) => panic!("d {d} {settings:?} {formats:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_binary_attention_settings_are_refused_naming_the_field() {
    for (d, settings, says) in [
        (4, bits(0), "bits = 0"),
        (4, bits(65), "bits = 65"),
        (3, bits(8), "d = 3"),
        (
            4,
            LayerSettings {
                lanes: Some(2),
                ..bits(8)
            },
            "binary_attention has the settings d, bits, n_max, output_multipliers and weights",
        ),
    ] {
        let e = build_error(d, &settings, &[]);
        assert!(e.contains(says), "{e} should say {says}");
    }
    let e = build_error(4, &bits(8), &[("q", "UQ1.15")]);
    assert!(e.contains("formats.q"), "{e}");
    let e = build_error(4, &bits(8), &[("x", "Q3.12")]);
    assert!(e.contains("no field `x`"), "{e}");
    let e = hwformer_hdl::build_block_with("sdpa", 4, &BTreeMap::new(), &bits(8)).unwrap_err();
    assert!(
        e.to_string().contains("bits is a setting of binary_attention"),
        "{e}"
    );

    // a projection from a model file: only +1 and -1, of shape [bits, d]
    let dir = std::env::temp_dir().join(format!("hwformer-ba-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("model.safetensors");
    float_file(
        &file,
        &[
            ("good", vec![2, 2], vec![1.0, -1.0, -1.0, 1.0]),
            ("half", vec![2, 2], vec![1.0, -1.0, 0.5, 1.0]),
            ("wide", vec![2, 4], vec![1.0; 8]),
        ],
    );
    let from = |name: &str| LayerSettings {
        bits: Some(2),
        weights: WeightsSource::Safetensors {
            file: file.clone(),
            tensors: BTreeMap::from([("projection".to_string(), name.to_string())]),
        },
        ..Default::default()
    };
    let built =
        hwformer_hdl::build_block_with("binary_attention", 2, &BTreeMap::new(), &from("good")).unwrap();
    let out = dir.join("out");
    built.write(&out).unwrap();
    let model = hwformer_hdl::binary_attention::model_from_folder(&out, &built.manifest).unwrap();
    assert_eq!(model.projection().weights(), [1, -1, -1, 1]);
    let e = build_error(2, &from("half"), &[]);
    assert!(e.contains("weights.projection[1][0] = 0.5"), "{e}");
    let e = build_error(2, &from("wide"), &[]);
    assert!(e.contains("weights.projection") && e.contains("[2, 2]"), "{e}");
}
