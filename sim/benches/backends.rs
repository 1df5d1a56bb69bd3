//! Simulated cycles per second of the attention block (d = 16) on each
//! back end, driving and checking included: `cargo bench -p hwformer-sim`.
//! Criterion's throughput is in elements = simulated cycles.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hwformer_sim::icarus::{self, IcarusOptions};
use hwformer_sim::ports::PortMap;
use hwformer_sim::rusthdl::rusthdl_model;
use hwformer_sim::session::cycle_limit;
use hwformer_sim::testbench::{run, Pacing, Stimulus, DRAIN_CYCLES};
use hwformer_sim::verilator::{build, BuildOptions, VerilatedModel};
use hwformer_sim::workload::{Workload, WorkloadSize};

fn backends(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("hwformer-bench-{}", std::process::id()));
    let manifest = hwformer_hdl::export_block("sdpa", 16, &dir).expect("export");
    let ports = PortMap::new(&manifest);
    let library = build(&dir, &manifest, &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("sdpa_d16");
    group.sample_size(10);
    for (name, size, pacing) in [
        (
            "verilator_full_speed",
            WorkloadSize {
                n: 256,
                queries: 64,
                seed: 1,
            },
            Pacing::FULL_SPEED,
        ),
        (
            "verilator_gaps",
            WorkloadSize {
                n: 256,
                queries: 64,
                seed: 1,
            },
            Pacing {
                valid_probability: 0.8,
                ready_probability: 0.8,
                seed: 1,
            },
        ),
        (
            "rusthdl_full_speed",
            WorkloadSize {
                n: 64,
                queries: 1,
                seed: 1,
            },
            Pacing::FULL_SPEED,
        ),
        (
            "iverilog_full_speed",
            WorkloadSize {
                n: 256,
                queries: 2,
                seed: 1,
            },
            Pacing::FULL_SPEED,
        ),
    ] {
        let workload = Workload::new(&manifest, size).expect("workload");
        let expected = workload.expected_beats();
        let stimulus = Stimulus {
            inputs: &workload.inputs,
            expected: &expected,
            pacing,
            max_cycles: cycle_limit(&manifest, &workload, pacing),
        };
        let once = |stimulus: &Stimulus| match name.split('_').next() {
            Some("verilator") => {
                let mut model = VerilatedModel::load(&library, &ports, &dir).expect("load");
                run(&mut model, &ports, stimulus).expect("run")
            }
            Some("rusthdl") => run(
                rusthdl_model(&dir, &manifest, None).expect("model").as_mut(),
                &ports,
                stimulus,
            )
            .expect("run"),
            _ => {
                icarus::run(
                    &dir,
                    &dir.join("iverilog"),
                    &manifest,
                    stimulus,
                    &IcarusOptions::default(),
                )
                .expect("run")
                .0
            }
        };
        // simulated cycles: the run and its drain
        let cycles = once(&stimulus).cycles + DRAIN_CYCLES;
        group.throughput(Throughput::Elements(cycles));
        group.bench_function(name, |b| b.iter(|| once(&stimulus)));
    }
    group.finish();
}

criterion_group!(benches, backends);
criterion_main!(benches);
