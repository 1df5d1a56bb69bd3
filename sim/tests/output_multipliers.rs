//! Output multipliers (`output_multipliers`, a power of two from 1 to d):
//! the heads' normalizer sends `m` lanes of an output a cycle, so short
//! queries cost `d / m + 35` cycles instead of `d + 35`. Each build is
//! bit-exact with its model and every handshake is at its graph's cycle,
//! on every back end (the lane groups' Verilog is written by hand).

mod common;

use common::{export_with, run};
use hwformer_hdl::sdpa::{min_query_cycles, output_delay};
use hwformer_hdl::LayerSettings;
use hwformer_sim::session::Backend;
use hwformer_sim::testbench::Pacing;
use hwformer_sim::workload::WorkloadSize;

fn multipliers(m: usize) -> LayerSettings {
    LayerSettings {
        output_multipliers: Some(m),
        ..Default::default()
    }
}

#[test]
fn heads_with_several_output_multipliers_are_bit_exact_and_on_their_graphs_cycles() {
    for (block, d, m) in [("sdpa", 8, 4), ("sdpa", 4, 4), ("binary_attention", 4, 2)] {
        let (dir, manifest) = export_with(block, d, &format!("m{m}"), Default::default(), &multipliers(m));
        assert_eq!(manifest.number("output_multipliers").unwrap(), m as f64);
        assert!(
            manifest.module.ends_with(&format!("_m{m}")),
            "{}",
            manifest.module
        );
        assert_eq!(manifest.latency_cycles, output_delay(d as u64, m as u64));
        let pacing = Pacing {
            valid_probability: 0.8,
            ready_probability: 0.6,
            seed: 3,
        };
        // short queries, where the normalizer sets the pace
        let size = WorkloadSize {
            n: 5,
            queries: 6,
            seed: 4,
        };
        for backend in [Backend::Verilator, Backend::Icarus] {
            let outcome = run(&dir, &manifest, backend, size, pacing);
            assert!(
                outcome.result.unwrap().cycles_checked,
                "{block} on {}",
                backend.name()
            );
        }
    }
}

#[test]
fn more_output_multipliers_make_short_queries_faster_by_the_formula() {
    let size = WorkloadSize {
        n: 4,
        queries: 8,
        seed: 5,
    };
    let cycles = |m: usize| {
        let (dir, manifest) = export_with(
            "sdpa",
            8,
            &format!("fast{m}"),
            Default::default(),
            &multipliers(m),
        );
        let outcome = run(&dir, &manifest, Backend::Verilator, size, Pacing::FULL_SPEED);
        assert!(outcome.result.unwrap().cycles_checked);
        outcome.cycles
    };
    let (one, eight) = (cycles(1), cycles(8));
    // eight queries: seven gaps of d / m + 35 cycles apart
    assert_eq!(
        one - eight,
        7 * (min_query_cycles(8, 1) - min_query_cycles(8, 8)) + (8 - 1)
    );
    assert_eq!(min_query_cycles(8, 8), 36);
}

#[test]
fn output_multipliers_that_do_not_divide_d_or_exceed_it_are_refused() {
    for (block, d, m) in [("sdpa", 8, 3), ("sdpa", 4, 8), ("binary_attention", 4, 0)] {
        let e = hwformer_hdl::build_block_with(block, d, &Default::default(), &multipliers(m)).unwrap_err();
        assert!(
            e.to_string().contains(&format!("output_multipliers = {m}")),
            "{e}"
        );
    }
    let e = hwformer_hdl::build_block_with("softmax", 0, &Default::default(), &multipliers(2)).unwrap_err();
    assert!(
        e.to_string()
            .contains("output_multipliers is a setting of sdpa and binary_attention"),
        "{e}"
    );
}
