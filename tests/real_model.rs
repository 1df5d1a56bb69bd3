//! all-MiniLM-L6-v2, a real model: the float encoder against
//! sentence-transformers' own embeddings, the int16 variant's accuracy
//! targets, and one real attention head bit-exact on Verilator.
//!
//! The model must be fetched first (`bash scripts/install-tools.sh
//! --minilm`, which `make test` runs); a missing model fails with that
//! command.

mod common;
use common::{hwformer, scratch};
use hwformer_quant::bert::{cosine, sentence_embedding, BertConfig, BertModel};
use std::path::PathBuf;

fn model_dir() -> PathBuf {
    let dir = hwformer_sim::verilator::default_cache_dir().join("minilm");
    assert!(
        dir.join("model.safetensors").is_file(),
        "all-MiniLM-L6-v2 is not in {}: run `bash scripts/install-tools.sh --minilm` (make test does)",
        dir.display()
    );
    dir
}

/// sentence-transformers' own output (scripts/minilm_reference.py).
fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/minilm_sentence_transformers.json"
    ))
    .expect("reference file");
    serde_json::from_str(&text).expect("reference JSON")
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

#[test]
fn the_float_encoder_reproduces_sentence_transformers() {
    let dir = model_dir();
    let config = BertConfig::from_json(
        &std::fs::read_to_string(dir.join("config.json")).unwrap(),
        "config.json",
    )
    .unwrap();
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let model = BertModel::from_safetensors(&bytes, "model.safetensors", config, None).unwrap();
    for s in reference()["sentences"].as_array().unwrap() {
        let ids: Vec<u32> = s["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap() as u32)
            .collect();
        let mask = vec![true; ids.len()];
        let layers = model.forward(&ids, &mask).unwrap();
        let last = layers.last().unwrap().get(hwformer_quant::bert::Tensor::Output);
        let ours = sentence_embedding(last.view(), &mask).unwrap();
        let theirs = floats(&s["embedding"]);
        let c = cosine(&ours, &theirs);
        assert!(c >= 0.99999, "{}: cosine {c}", s["text"]);
        // float32 in torch against f64 here: a few 1e-7 per element
        let worst = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-5, "{}: element error {worst}", s["text"]);
    }
}

#[test]
fn the_cli_tokenizes_as_sentence_transformers_and_masks_the_padding() {
    model_dir();
    let reference = reference();
    let sentences = reference["sentences"].as_array().unwrap();
    // one batch: the shorter sentences are padded to the longest
    let mut args = vec!["model", "run", "--json"];
    for s in sentences {
        args.extend(["--text", s["text"].as_str().unwrap()]);
    }
    let out = hwformer(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let inputs = run["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), sentences.len());
    let lengths: Vec<usize> = sentences
        .iter()
        .map(|s| s["ids"].as_array().unwrap().len())
        .collect();
    assert!(
        lengths.iter().min() < lengths.iter().max(),
        "the batch needs padding"
    );
    for (ours, theirs) in inputs.iter().zip(sentences) {
        assert_eq!(ours["token_ids"], theirs["ids"], "{}", theirs["text"]);
        let hidden = ours["hidden_states"].as_array().unwrap();
        assert_eq!(hidden.len(), 7, "embeddings and six layers");
        assert_eq!(
            hidden[6].as_array().unwrap().len(),
            theirs["ids"].as_array().unwrap().len()
        );
        assert_eq!(hidden[6][0].as_array().unwrap().len(), 384);
        let c = cosine(
            &floats(&ours["sentence_embedding"]),
            &floats(&theirs["embedding"]),
        );
        assert!(c >= 0.99999, "{}: cosine {c}", theirs["text"]);
    }
}

#[test]
fn calibrated_int16_meets_the_accuracy_targets_and_ternary_and_binary_are_reported() {
    model_dir();
    let dir = scratch("minilm-calibrate");
    let formats = dir.join("formats.toml");
    let head = dir.join("head.toml");
    let out = hwformer(&[
        "model",
        "calibrate",
        "--out",
        formats.to_str().unwrap(),
        "--head-config",
        head.to_str().unwrap(),
        "--layer",
        "2",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // layer 0's FFN output reaches about 194: Q3.12 would saturate it
    assert!(text.contains("where 16 bits are not enough"), "{text}");
    assert!(text.contains("layer 0 residual2"), "{text}");
    // the head config is a block config gen accepts
    let gen = hwformer(&[
        "gen",
        "--config",
        head.to_str().unwrap(),
        "--out",
        dir.join("rtl").to_str().unwrap(),
    ]);
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    let out = hwformer(&[
        "model",
        "compare",
        "--json",
        "--formats",
        formats.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let variants = report["variants"].as_array().unwrap();
    let names: Vec<&str> = variants.iter().map(|v| v["variant"].as_str().unwrap()).collect();
    assert_eq!(names, ["int16", "ternary", "binary"]);
    let int16 = &variants[0];
    for (l, layer) in int16["layers"].as_array().unwrap().iter().enumerate() {
        let c = layer["output"]["cosine"].as_f64().unwrap();
        assert!(c >= 0.999, "int16 layer {l} hidden-state cosine {c}");
    }
    for c in floats(&int16["embedding_cosine"]) {
        assert!(c >= 0.999, "int16 sentence embedding cosine {c}");
    }
    // ternary weights after training lose much; the report says how much
    let ternary = floats(&variants[1]["embedding_cosine"]);
    assert!(ternary.iter().all(|c| c.is_finite() && *c < 0.999), "{ternary:?}");
    // the calibrated formats hold these sentences; layer 0's FFN output
    // (about 194) in Q3.12 does not, and the report counts it
    let at_limits = |report: &serde_json::Value| -> Vec<u64> {
        report["variants"][0]["values_at_limits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };
    assert!(
        at_limits(&report).iter().all(|&n| n == 0),
        "{:?}",
        at_limits(&report)
    );
    let text = std::fs::read_to_string(&formats).unwrap();
    let ffn_line = text.lines().find(|l| l.starts_with("ffn = ")).unwrap();
    let narrow = dir.join("narrow.toml");
    std::fs::write(&narrow, text.replacen(ffn_line, "ffn = \"Q3.12\"", 1)).unwrap();
    let out = hwformer(&[
        "model",
        "compare",
        "--json",
        "--layers",
        "1",
        "--variant",
        "int16",
        "--formats",
        narrow.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let narrowed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(at_limits(&narrowed)[0] > 0, "{narrowed}");
}

#[test]
fn a_real_layers_head_norms_projection_and_ffn_are_bit_exact_on_verilator() {
    model_dir();
    let dir = scratch("minilm-layer");
    // the reduced run: one layer, one sentence
    let out = hwformer(&[
        "model",
        "layer",
        "--layers",
        "1",
        "--head",
        "3",
        "--text",
        "A chef is cooking pasta in a busy kitchen.",
        "--linear",
        "--ffn",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("PASS sdpa on verilator"), "{text}");
    assert_eq!(text.matches("PASS layernorm on verilator").count(), 2, "{text}");
    assert!(text.contains("PASS linear on verilator"), "{text}");
    assert!(text.contains("PASS ffn on verilator"), "{text}");
    // every block's output against the float model's tensor
    let cosines: Vec<f64> = text
        .split("worst token cosine ")
        .skip(1)
        .map(|t| {
            t.split_whitespace()
                .next()
                .and_then(|c| c.parse().ok())
                .expect("a cosine")
        })
        .collect();
    assert_eq!(cosines.len(), 5, "{text}");
    assert!(cosines.iter().all(|&c| c >= 0.999), "{text}");
}

#[test]
fn missing_or_corrupt_model_files_say_how_to_fetch_them() {
    let dir = scratch("minilm-missing");
    let missing = hwformer(&[
        "model",
        "run",
        "--text",
        "x",
        "--weights",
        dir.join("none.safetensors").to_str().unwrap(),
    ]);
    assert!(!missing.status.success());
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(message.contains("install-tools.sh --minilm"), "{message}");
    // a corrupt weights file beside a good config
    let config = model_dir().join("config.json");
    std::fs::copy(&config, dir.join("config.json")).unwrap();
    std::fs::write(dir.join("model.safetensors"), b"not a model").unwrap();
    let corrupt = hwformer(&[
        "model",
        "run",
        "--text",
        "x",
        "--weights",
        dir.join("model.safetensors").to_str().unwrap(),
    ]);
    assert!(!corrupt.status.success());
    let message = String::from_utf8_lossy(&corrupt.stderr);
    assert!(
        message.contains("not a safetensors file") && message.contains("--minilm"),
        "{message}"
    );
}
