//! Helpers shared by the simulation tests: export a block into a fresh
//! folder, run it on a back end and insist that it passes.
#![allow(dead_code)]

use hwformer_hdl::manifest::Manifest;
use hwformer_hdl::LayerSettings;
use hwformer_sim::session::{simulate, Backend, SimOutcome, SimRequest};
use hwformer_sim::testbench::Pacing;
use hwformer_sim::verilator::BuildOptions;
use hwformer_sim::workload::WorkloadSize;
use std::path::{Path, PathBuf};

/// Exports `block` (`d`: sdpa lanes, fifo depth) in its default formats.
pub fn export(block: &str, d: usize, test: &str) -> (PathBuf, Manifest) {
    export_formats(block, d, test, &[])
}

/// Exports `block` with input `formats` (field, format) into a fresh folder.
pub fn export_formats(block: &str, d: usize, test: &str, formats: &[(&str, &str)]) -> (PathBuf, Manifest) {
    let formats = formats
        .iter()
        .map(|&(name, f)| (name.to_string(), f.parse().unwrap()))
        .collect();
    export_with(block, d, test, formats, &LayerSettings::default())
}

/// Exports layer block `block` with `settings` into a fresh folder.
pub fn export_layer(block: &str, test: &str, settings: &LayerSettings) -> (PathBuf, Manifest) {
    export_with(block, 0, test, Default::default(), settings)
}

pub fn export_with(
    block: &str,
    d: usize,
    test: &str,
    formats: std::collections::BTreeMap<String, hwformer_quant::QFormat>,
    settings: &LayerSettings,
) -> (PathBuf, Manifest) {
    let dir = std::env::temp_dir().join(format!("hwformer-sim-{}-{block}{d}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let built =
        hwformer_hdl::build_block_with(block, d, &formats, settings).unwrap_or_else(|e| panic!("{e}"));
    let manifest = built.write(&dir).unwrap();
    (dir, manifest)
}

/// The request to run the block exported in `dir` on `backend`.
pub fn request(
    dir: &Path,
    manifest: &Manifest,
    backend: Backend,
    size: WorkloadSize,
    pacing: Pacing,
) -> SimRequest {
    SimRequest {
        dir: dir.to_path_buf(),
        manifest: manifest.clone(),
        backend,
        size,
        pacing,
        vcd: None,
        saif: None,
        build: BuildOptions::default(),
    }
}

/// Runs the block on `backend`; panics unless it passes every check.
pub fn run(
    dir: &Path,
    manifest: &Manifest,
    backend: Backend,
    size: WorkloadSize,
    pacing: Pacing,
) -> SimOutcome {
    let outcome = simulate(&request(dir, manifest, backend, size, pacing))
        .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
    passed(outcome)
}

/// Runs a workload built by the test on `backend`; panics unless it
/// passes every check.
pub fn run_workload(
    dir: &Path,
    manifest: &Manifest,
    backend: Backend,
    workload: &hwformer_sim::workload::Workload,
    pacing: Pacing,
) -> SimOutcome {
    let size = WorkloadSize {
        n: 1,
        queries: 1,
        seed: 0,
    };
    let outcome =
        hwformer_sim::session::simulate_workload(&request(dir, manifest, backend, size, pacing), workload)
            .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
    passed(outcome)
}

fn passed(outcome: SimOutcome) -> SimOutcome {
    if let Err(m) = &outcome.result {
        panic!("{}: FAIL: {m}", outcome.backend.name());
    }
    outcome
}

/// Writes a safetensors file of F32 tensors (name, shape, values): a
/// model file as PyTorch would save it.
pub fn float_file(path: &std::path::Path, tensors: &[(&str, Vec<usize>, Vec<f32>)]) {
    let mut header = Vec::new();
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let start = data.len();
        for v in values {
            data.extend(v.to_le_bytes());
        }
        header.push(format!(
            "\"{name}\":{{\"dtype\":\"F32\",\"shape\":{shape:?},\"data_offsets\":[{start},{}]}}",
            data.len()
        ));
    }
    let json = format!("{{{}}}", header.join(","));
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend(json.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}
