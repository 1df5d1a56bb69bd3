//! Attention heads at real lengths: `n_max` is a build parameter (1 to
//! 2^20 in the RTL: it sets only how many bits each key's terms are
//! rounded by before the 32-bit sum and 48-bit accumulators take them,
//! none up to 65536), and queries of 4096, 65536 and 2^20 keys run
//! bit-exact on Verilator at one key per cycle, every handshake at its
//! graph's cycle.

mod common;

use common::{export_with, run, run_workload};
use hwformer_hdl::sdpa::SDPA_N_MAX_BUILT;
use hwformer_hdl::LayerSettings;
use hwformer_quant::integer::sdpa::{StreamingSdpa, SDPA_WHOLE_TERM_KEYS};
use hwformer_sim::session::Backend;
use hwformer_sim::testbench::Pacing;
use hwformer_sim::workload::WorkloadSize;

fn n_max(n: usize) -> LayerSettings {
    LayerSettings {
        n_max: Some(n),
        ..Default::default()
    }
}

#[test]
fn sdpa_takes_65536_keys_a_query_at_one_key_per_cycle_on_verilator() {
    let n = SDPA_WHOLE_TERM_KEYS;
    let (dir, manifest) = export_with("sdpa", 4, "n65536", Default::default(), &n_max(n));
    assert_eq!(manifest.number("n_max").unwrap(), 65536.0);
    // the largest n_max whose terms are taken whole
    assert_eq!(manifest.number("term_shift").unwrap(), 0.0);
    assert_eq!(manifest.module, "hwformer_sdpa_d4_n65536");
    let size = WorkloadSize {
        n,
        queries: 2,
        seed: 3,
    };
    let outcome = run(&dir, &manifest, Backend::Verilator, size, Pacing::FULL_SPEED);
    // at full speed every output beat's cycle is also the closed form's:
    // one key per cycle, the second output n cycles after the first
    assert!(outcome.result.unwrap().cycles_checked);
    assert!(outcome.cycles >= 2 * n as u64 && outcome.cycles < 2 * n as u64 + 200);
}

/// The outputs of `model` on an sdpa workload of `d` lanes, query after
/// query (its kv beats end each query with tlast).
fn model_outputs(
    model: &StreamingSdpa,
    workload: &hwformer_sim::workload::Workload,
    d: usize,
) -> Vec<Vec<i64>> {
    let (queries, kv) = (&workload.inputs[0], &workload.inputs[1]);
    let mut outputs = Vec::new();
    let mut state = model.start(&queries.lanes16(0, d)).unwrap();
    for j in 0..kv.len() {
        let lanes = kv.lanes16(j, 2 * d);
        // the model's i64 state holds any number of keys, the hardware's not
        model.push_unchecked(&mut state, &lanes[..d], &lanes[d..]);
        if kv.last[j] {
            outputs.push(model.finish(&state));
            if outputs.len() < queries.len() {
                state = model.start(&queries.lanes16(outputs.len(), d)).unwrap();
            }
        }
    }
    outputs
}

#[test]
fn sdpa_built_for_2_to_the_20_keys_rounds_each_keys_terms_like_its_model_on_verilator() {
    let n = SDPA_N_MAX_BUILT;
    assert_eq!(n, 1 << 20);
    let (dir, manifest) = export_with("sdpa", 2, "n1m", Default::default(), &n_max(n));
    assert_eq!(manifest.number("term_shift").unwrap(), 4.0);
    let model = hwformer_hdl::sdpa::model_from_manifest(&manifest).unwrap();
    assert_eq!((model.sum_bits(), model.acc_bits()), (32, 48));
    // short queries of full-range values: rounding a key's weight by 4 bits
    // moves their outputs by LSBs, so a head that took the terms whole (or
    // rounded them otherwise) would fail here
    let short = WorkloadSize {
        n: 3,
        queries: 48,
        seed: 21,
    };
    let workload = hwformer_sim::workload::Workload::sdpa_full_range(&manifest, short).unwrap();
    let mut whole = *model.config();
    whole.n_max = SDPA_WHOLE_TERM_KEYS;
    let whole = StreamingSdpa::new(whole).unwrap();
    assert_eq!(whole.term_shift(), 0);
    let rounded: Vec<Vec<i64>> = (0..short.queries)
        .map(|k| workload.expected[0].lanes16(k, 2))
        .collect();
    assert_eq!(model_outputs(&model, &workload, 2), rounded);
    let differ = model_outputs(&whole, &workload, 2)
        .iter()
        .zip(&rounded)
        .filter(|(w, r)| w != r)
        .count();
    assert!(
        differ >= 8,
        "only {differ} of 48 outputs tell rounded terms from whole ones"
    );
    let pacing = Pacing {
        valid_probability: 0.7,
        ready_probability: 0.6,
        seed: 9,
    };
    run_workload(&dir, &manifest, Backend::Verilator, &workload, pacing);
    // and one query of 2^20 keys at one key a cycle
    let long = WorkloadSize {
        n,
        queries: 1,
        seed: 20,
    };
    let outcome = run(&dir, &manifest, Backend::Verilator, long, Pacing::FULL_SPEED);
    assert!(outcome.result.unwrap().cycles_checked);
    assert!(outcome.cycles >= n as u64 && outcome.cycles < n as u64 + 200);
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
        ("binary_attention", SDPA_N_MAX_BUILT + 1),
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
        run_workload(&dir, &manifest, backend, &workload, Pacing::FULL_SPEED);
    }
}

#[test]
fn a_running_sum_of_exactly_2_to_the_31_is_held() {
    // a zero query scores every key 0: each weight is exp(0) = 1.0 (2^15 in
    // UQ1.15, rounded by the term shift of 4 bits to 2^11), so 2^20 keys
    // sum to 2^31, the top of the 32-bit sum the reciprocal takes, and it
    // sees its largest leading one
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
    run_workload(&dir, &manifest, Backend::Verilator, &workload, Pacing::FULL_SPEED);
}
