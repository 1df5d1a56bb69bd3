//! Speed of the real model's passes (all-MiniLM-L6-v2, one 10-token
//! sentence, one layer): the f64 encoder layer and the same layer through
//! the bit-exact integer models (int16, calibrated formats). Needs the
//! model: `bash scripts/install-tools.sh --minilm`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hwformer_quant::bert::calibrate::calibrate;
use hwformer_quant::bert::integer::{IntEncoder, Variant};
use hwformer_quant::bert::{BertConfig, BertModel};
use std::hint::black_box;

fn model() -> BertModel {
    let dir = hwformer_sim::verilator::default_cache_dir().join("minilm");
    let read = |name: &str| {
        std::fs::read(dir.join(name)).unwrap_or_else(|e| {
            panic!(
                "{name} in {}: {e}; run `bash scripts/install-tools.sh --minilm`",
                dir.display()
            )
        })
    };
    let config =
        BertConfig::from_json(&String::from_utf8(read("config.json")).unwrap(), "config.json").unwrap();
    BertModel::from_safetensors(&read("model.safetensors"), "model.safetensors", config, Some(1)).unwrap()
}

fn one_layer(c: &mut Criterion) {
    let model = model();
    // "Someone plays an acoustic guitar on stage." (sentence-transformers' ids)
    let ids: Vec<u32> = vec![101, 2619, 3248, 2019, 6490, 2858, 2006, 2754, 1012, 102];
    let mask = vec![true; ids.len()];
    let formats = calibrate(&model, &[(ids.clone(), mask.clone())]).unwrap().formats;
    let encoder = IntEncoder::new(model.layers(), &formats, Variant::Int16, 1).unwrap();
    let embeddings = model.embed(&ids).unwrap();
    let mut group = c.benchmark_group("minilm_layer_10_tokens");
    group.throughput(Throughput::Elements(ids.len() as u64));
    group.bench_function("float", |b| {
        b.iter(|| model.forward(black_box(&ids), &mask).unwrap())
    });
    group.bench_function("int16", |b| {
        b.iter(|| encoder.forward(black_box(&embeddings), &mask).unwrap())
    });
    group.finish();
}

criterion_group!(benches, one_layer);
criterion_main!(benches);
