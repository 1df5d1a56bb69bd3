//! Attention heads at real lengths: `n_max` is a build parameter (1 to
//! 65536 in the RTL: it sets no hardware, the 32-bit sum and 48-bit
//! accumulators are built for the largest), and queries of 4096 and 65536
//! keys run bit-exact on Verilator at one key per cycle, every handshake
//! at its graph's cycle.

mod common;

use common::{export_with, run};
use hwformer_hdl::sdpa::SDPA_N_MAX_BUILT;
use hwformer_hdl::LayerSettings;
use hwformer_sim::session::Backend;
use hwformer_sim::testbench::Pacing;
use hwformer_sim::workload::WorkloadSize;

fn n_max(n: usize) -> LayerSettings {
    LayerSettings {
        n_max: Some(n),
        ..Default::default()
    }
}

const FULL_SPEED: Pacing = Pacing {
    valid_probability: 1.0,
    ready_probability: 1.0,
    seed: 0,
};

#[test]
fn sdpa_takes_65536_keys_a_query_at_one_key_per_cycle_on_verilator() {
    let (dir, manifest) = export_with("sdpa", 4, "n65536", Default::default(), &n_max(SDPA_N_MAX_BUILT));
    assert_eq!(manifest.number("n_max").unwrap(), 65536.0);
    assert_eq!(manifest.module, "hwformer_sdpa_d4_n65536");
    let size = WorkloadSize {
        n: SDPA_N_MAX_BUILT,
        queries: 2,
        seed: 3,
    };
    let outcome = run(&dir, &manifest, Backend::Verilator, size, FULL_SPEED);
    // at full speed every output beat's cycle is also the closed form's:
    // one key per cycle, the second output n cycles after the first
    assert!(outcome.result.unwrap().cycles_checked);
    assert!(
        outcome.cycles >= 2 * SDPA_N_MAX_BUILT as u64 && outcome.cycles < 2 * SDPA_N_MAX_BUILT as u64 + 200
    );
}

#[test]
fn heads_built_for_4096_keys_pass_under_gaps_and_back_pressure() {
    for block in ["sdpa", "binary_attention"] {
        let (dir, manifest) = export_with(block, 8, "n4096", Default::default(), &n_max(4096));
        let pacing = Pacing {
            valid_probability: 0.8,
            ready_probability: 0.7,
            seed: 5,
        };
        let size = WorkloadSize {
            n: 4096,
            queries: 2,
            seed: 6,
        };
        assert!(
            run(&dir, &manifest, Backend::Verilator, size, pacing)
                .result
                .unwrap()
                .cycles_checked,
            "{block}"
        );
        // more keys than the build's n_max is refused, not run
        let e =
            hwformer_sim::workload::Workload::from_folder(&dir, &manifest, WorkloadSize { n: 4097, ..size })
                .unwrap_err();
        assert!(e.to_string().contains("n_max = 4096"), "{e}");
    }
}

#[test]
fn n_max_outside_what_the_widths_hold_is_refused() {
    for (block, n) in [
        ("sdpa", 0),
        ("sdpa", SDPA_N_MAX_BUILT + 1),
        ("binary_attention", 1 << 20),
    ] {
        let e = hwformer_hdl::build_block_with(block, 4, &Default::default(), &n_max(n)).unwrap_err();
        assert!(e.to_string().contains(&format!("n_max = {n}")), "{e}");
    }
    let e = hwformer_hdl::build_block_with("softmax", 0, &Default::default(), &n_max(64)).unwrap_err();
    assert!(
        e.to_string()
            .contains("n_max is a setting of sdpa and binary_attention"),
        "{e}"
    );
}
