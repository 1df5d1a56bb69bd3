//! The dataflow graph is the RTL's timing oracle: with its default
//! latencies, the streaming SDPA graph predicts the cycle of every output
//! beat of the exported attention block, simulated on Verilator at full
//! speed, for queries longer and shorter than the normalizer's interval.

use hwformer_dataflow::sdpa::{NumberFormat, SdpaRun, Variant};
use hwformer_sim::session::{simulate, Backend, SimRequest};
use hwformer_sim::testbench::Pacing;
use hwformer_sim::verilator::BuildOptions;
use hwformer_sim::workload::WorkloadSize;

/// Output cycles of the RTL block for `queries` queries of `n` keys.
fn rtl_output_cycles(dir: &std::path::Path, d: usize, n: usize, queries: usize) -> Vec<u64> {
    let built = hwformer_hdl::build_block("sdpa", d).unwrap();
    built.write(dir).unwrap();
    let manifest = built.manifest;
    let request = SimRequest {
        dir: dir.to_path_buf(),
        manifest,
        backend: Backend::Verilator,
        size: WorkloadSize { n, queries, seed: 3 },
        pacing: Pacing::FULL_SPEED,
        vcd: None,
        saif: None,
        build: BuildOptions::default(),
    };
    let outcome = simulate(&request).unwrap_or_else(|e| panic!("d = {d}, n = {n}: {e}"));
    if let Err(m) = &outcome.result {
        panic!("d = {d}, n = {n}: FAIL: {m}");
    }
    outcome.trace.output_cycles[0].clone()
}

/// The cycle the dataflow graph's checker receives the last of `queries`
/// outputs (one before its cycle count), the outputs checked bit for bit.
fn dataflow_last_output(d: usize, n: usize, queries: usize) -> u64 {
    let mut run = SdpaRun::new(Variant::Streaming, n, d);
    run.latencies = Some(hwformer_sim::timing::sdpa_latencies(d).unwrap());
    run.queries = queries;
    run.format = NumberFormat::Fixed;
    let report = run.simulate().unwrap();
    assert!(
        report.checks.iter().all(|c| c.check.passed()),
        "{:?}",
        report.checks
    );
    assert_eq!(report.cycles, report.closed_form_cycles);
    report.cycles - 1
}

#[test]
fn the_streaming_graph_predicts_every_output_cycle_of_the_sdpa_block() {
    let dir = std::env::temp_dir().join(format!("hwformer-models-agree-{}", std::process::id()));
    // the normalizer takes d + 35 cycles a query: n = 3 is a short query
    // for both, 39 the boundary for d = 4 and short for d = 16, 80 long
    // (both designs are built by the sim crate's tests too: one cache entry)
    for d in [4, 16] {
        for n in [3, 39, 80] {
            let queries = 4;
            let rtl = rtl_output_cycles(&dir.join(format!("d{d}-n{n}")), d, n, queries);
            assert_eq!(rtl.len(), queries);
            let predicted: Vec<u64> = (1..=queries).map(|q| dataflow_last_output(d, n, q)).collect();
            assert_eq!(predicted, rtl, "d = {d}, n = {n}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_streaming_graphs_default_latencies_are_the_rtls_stage_counts() {
    // dataflow's standalone default (used where no RTL is built, and by its
    // own tests) must not drift from hdl's constants
    for d in hwformer_hdl::sdpa::SDPA_D_CHOICES {
        let from_rtl = hwformer_sim::timing::sdpa_latencies(d).unwrap();
        assert_eq!(hwformer_dataflow::sdpa::Latencies::for_d(d), from_rtl, "d = {d}");
    }
}
