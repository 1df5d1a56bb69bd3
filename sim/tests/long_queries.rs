//! Attention heads at real lengths: `n_max` is a build parameter (1 to
//! 65536 in the RTL: it sets no hardware, the 32-bit sum and 48-bit
//! accumulators are built for the largest), and queries of 4096 and 65536
//! keys run bit-exact on Verilator at one key per cycle, every handshake
//! at its graph's cycle.

mod common;

use common::{export_with, run, run_workload};
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

#[test]
fn full_range_inputs_saturate_like_the_model_and_raise_the_status_on_every_back_end() {
    let (dir, manifest) = export_with("sdpa", 2, "full-range", Default::default(), &Default::default());
    let status = manifest.status.as_ref().expect("sdpa names its status output");
    assert!(status.sticky && status.port == "status_saturated");
    // 16 keys of elements up to +-8 in Q3.12: q.k / sqrt(2) reaches 90, far
    // beyond Q5.10's 32: the scores saturate
    let size = WorkloadSize {
        n: 16,
        queries: 6,
        seed: 9,
    };
    let workload = hwformer_sim::workload::Workload::sdpa_full_range(&manifest, size).unwrap();
    assert!(
        workload.expected_status.iter().any(|&s| s),
        "the workload must saturate: {:?}",
        workload.expected_status
    );
    let pacing = Pacing {
        valid_probability: 0.7,
        ready_probability: 0.6,
        seed: 2,
    };
    for backend in [Backend::Verilator, Backend::Icarus, Backend::RustHdl] {
        run_workload(&dir, &manifest, backend, &workload, pacing);
    }
    // the status is checked: a workload that expects none is caught
    let mut quiet = workload.clone();
    quiet.expected_status.iter_mut().for_each(|s| *s = false);
    let request = common::request(&dir, &manifest, Backend::Verilator, size, pacing);
    let m = hwformer_sim::session::simulate_workload(&request, &quiet)
        .unwrap()
        .result
        .unwrap_err();
    assert_eq!(m.kind, hwformer_sim::check::MismatchKind::Status, "{m}");
    // inside max_abs_input nothing saturates and the status stays low
    let bounded = hwformer_sim::workload::Workload::from_folder(&dir, &manifest, size).unwrap();
    assert!(bounded.expected_status.iter().all(|&s| !s));
    run_workload(&dir, &manifest, Backend::Verilator, &bounded, pacing);
}

#[test]
fn a_binary_head_whose_outputs_saturate_raises_its_status() {
    // values in Q3.12 (up to 8) into outputs of Q1.14 (up to 2): weighted
    // means beyond 2 saturate
    let formats = [("v", "Q3.12"), ("o", "Q1.14")]
        .iter()
        .map(|&(n, f)| (n.to_string(), f.parse().unwrap()))
        .collect();
    let settings = LayerSettings {
        bits: Some(8),
        ..Default::default()
    };
    let (dir, manifest) = export_with("binary_attention", 2, "saturating", formats, &settings);
    let size = WorkloadSize {
        n: 3,
        queries: 12,
        seed: 4,
    };
    let workload = hwformer_sim::workload::Workload::from_folder(&dir, &manifest, size).unwrap();
    assert!(workload.expected_status.iter().any(|&s| s));
    assert!(!workload.expected_status[0] || workload.expected_status.iter().all(|&s| s));
    for backend in [Backend::Verilator, Backend::Icarus, Backend::RustHdl] {
        run_workload(&dir, &manifest, backend, &workload, FULL_SPEED);
    }
}

#[test]
fn a_running_sum_of_exactly_2_to_the_31_is_held() {
    // a zero query scores every key 0: each weight is exp(0) = 1.0 (2^15 in
    // UQ1.15), so 65536 keys sum to 2^31, the top of the 32-bit sum the
    // reciprocal takes, and it sees its largest leading one
    use hwformer_sim::testbench::Beats;
    let (dir, manifest) = export_with("sdpa", 2, "sum-top", Default::default(), &n_max(SDPA_N_MAX_BUILT));
    let model = hwformer_hdl::sdpa::model_from_manifest(&manifest).unwrap();
    let n = SDPA_N_MAX_BUILT;
    let q = vec![0i64; 2];
    let mut rng = hwformer_quant::random::seeded(31);
    let keys: Vec<Vec<i64>> = (0..n)
        .map(|_| vec![rand::Rng::gen_range(&mut rng, -4096..4096); 2])
        .collect();
    let values: Vec<Vec<i64>> = (0..n)
        .map(|_| {
            (0..2)
                .map(|_| rand::Rng::gen_range(&mut rng, -32768..32768))
                .collect()
        })
        .collect();
    let mut state = model.start(&q).unwrap();
    for (k, v) in keys.iter().zip(&values) {
        model.push(&mut state, k, v).unwrap();
    }
    // four slots of 2^29 each, merged with factors of exactly 1.0
    assert_eq!(state.sum, vec![1 << 29; 4]);
    let (out, saturated) = model.finish_with_status(&state);
    let (mut q_beats, mut kv_beats, mut out_beats) = (Beats::new(32), Beats::new(64), Beats::new(32));
    q_beats.push_lanes16(&q, false);
    for (j, (k, v)) in keys.iter().zip(&values).enumerate() {
        let lanes: Vec<i64> = k.iter().chain(v).copied().collect();
        kv_beats.push_lanes16(&lanes, j + 1 == n);
    }
    out_beats.push_lanes16(&out, true);
    let workload = hwformer_sim::workload::Workload {
        inputs: vec![q_beats, kv_beats],
        expected: vec![out_beats],
        reference: vec![model.float_reference(&q, &keys, &values).unwrap()],
        full_speed_cycles: vec![Vec::new()],
        expected_status: vec![saturated],
    };
    run_workload(&dir, &manifest, Backend::Verilator, &workload, FULL_SPEED);
}
