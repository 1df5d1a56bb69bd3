//! The attention graphs: closed-form cycle counts, O(1) memory of the
//! streaming graph, the naive graph's row FIFOs and deadlock, bit-exact
//! fixed point, f64 against the float reference, minimum depths.

use hwformer_dataflow::sdpa::arithmetic::{Arithmetic, F64Arithmetic, FixedArithmetic};
use hwformer_dataflow::sdpa::min_depth::min_depths;
use hwformer_dataflow::sdpa::workload::Workload;
use hwformer_dataflow::sdpa::{NumberFormat, SdpaReport, SdpaRun, Variant};
use hwformer_dataflow::DataflowError;
use hwformer_quant::integer::sdpa::{SdpaConfig, StreamingSdpa};
use ndarray::Array2;
use std::rc::Rc;

fn run(variant: Variant, n: usize, d: usize, queries: usize, format: NumberFormat) -> SdpaReport {
    let mut r = SdpaRun::new(variant, n, d);
    r.queries = queries;
    r.format = format;
    r.seed = (n * 31 + d) as u64;
    let report = r.simulate().unwrap();
    assert!(report.passed(), "{:?}", report.checks);
    report
}

#[test]
fn cycle_counts_match_the_closed_forms() {
    for variant in [Variant::Streaming, Variant::Naive] {
        for (n, d, q) in [
            (1, 1, 1),
            (2, 3, 2),
            (17, 8, 3),
            (64, 1, 4),
            (100, 32, 2),
            (256, 128, 1),
            // queries shorter than the normalizer's interval (d + 35), and
            // either side of it
            (4, 16, 6),
            (20, 64, 3),
            (38, 4, 3),
            (39, 4, 3),
            (40, 4, 3),
        ] {
            for format in [NumberFormat::F64, NumberFormat::Fixed] {
                let r = run(variant, n, d, q, format);
                assert_eq!(
                    r.cycles, r.closed_form_cycles,
                    "{variant:?} n={n} d={d} q={q} {format:?}"
                );
            }
        }
    }
}

#[test]
fn streaming_runs_at_one_key_per_cycle_in_steady_state() {
    let r = run(Variant::Streaming, 1024, 4, 8, NumberFormat::Fixed);
    let longer = run(Variant::Streaming, 2048, 4, 8, NumberFormat::Fixed);
    // 8 x 1024 more keys take exactly 8 x 1024 more cycles
    assert_eq!(longer.cycles - r.cycles, 8 * 1024);
    assert!(r.keys_per_cycle > 0.99, "{}", r.keys_per_cycle);
    let score = r.report.contexts.iter().find(|c| c.name == "score").unwrap();
    assert_eq!(score.stats.output_stall_cycles, 0);
}

#[test]
fn streaming_memory_does_not_grow_with_n() {
    let small = run(Variant::Streaming, 64, 2, 2, NumberFormat::F64);
    let large = run(Variant::Streaming, 4096, 2, 2, NumberFormat::F64);
    for (a, b) in small.report.channels.iter().zip(&large.report.channels) {
        assert_eq!(
            a.stats.peak_occupancy, b.stats.peak_occupancy,
            "channel {}",
            a.name
        );
        assert!(a.stats.peak_occupancy <= 2);
    }
    // one query against 2^20 keys: the same channel peaks
    let mut huge = SdpaRun::new(Variant::Streaming, 1 << 20, 1);
    huge.check = false;
    let huge = huge.simulate().unwrap();
    let one = run(Variant::Streaming, 64, 1, 1, NumberFormat::F64);
    let peaks = |r: &SdpaReport| {
        r.report
            .channels
            .iter()
            .map(|c| c.stats.peak_occupancy)
            .collect::<Vec<_>>()
    };
    assert_eq!(peaks(&huge), peaks(&one));
    assert_eq!(huge.cycles, huge.closed_form_cycles);
}

#[test]
fn naive_row_fifos_grow_with_n() {
    for n in [16, 64, 256] {
        let r = run(Variant::Naive, n, 2, 2, NumberFormat::F64);
        let (scores, weights) = r.latencies.row_fifo_depths(n);
        // a freed slot is reused one cycle later: depth = peak occupancy + 1
        assert_eq!(r.peak("row_scores") + 1, scores, "n={n}");
        assert_eq!(r.peak("row_weights") + 1, weights, "n={n}");
        assert!(r.intermediate_peak() > 2 * n);
    }
}

#[test]
fn naive_deadlocks_with_a_short_row_fifo_and_completes_with_a_long_one() {
    let mut r = SdpaRun::new(Variant::Naive, 64, 4);
    r.queries = 2;
    r.depth_overrides.insert("row_scores".into(), 63);
    match r.simulate() {
        Err(DataflowError::Deadlock(d)) => {
            let fork = d
                .waiters
                .iter()
                .find(|w| w.context == "score_fork")
                .expect("fork waits");
            assert_eq!((fork.channel.as_str(), fork.state), ("row_scores", "full"));
            assert!(d.to_string().contains("deadlock at cycle"));
        }
        other => panic!("expected a deadlock, got {other:?}"),
    }
    r.depth_overrides.insert("row_scores".into(), 64);
    let slow = r.simulate().unwrap();
    assert!(slow.passed());
    assert!(
        slow.cycles > slow.closed_form_cycles,
        "a row FIFO of exactly N costs throughput"
    );
}

#[test]
fn minimum_depths_match_the_formulas() {
    for n in [16, 64] {
        let mut r = SdpaRun::new(Variant::Naive, n, 4);
        r.queries = 3;
        let report = min_depths(&r).unwrap();
        let (scores, weights) = r.latencies().row_fifo_depths(n);
        let depth = |name: &str| report.channels.iter().find(|c| c.name == name).unwrap().clone();
        assert_eq!(depth("row_scores").full_throughput_depth, scores);
        assert_eq!(depth("row_weights").full_throughput_depth, weights);
        assert_eq!(depth("row_scores").deadlock_free_depth, n);
        assert_eq!(depth("row_weights").deadlock_free_depth, n);
        assert!(depth("max").cycles_at_depth_1.is_some());
        assert_eq!(report.joint_cycles, report.full_throughput_cycles);
    }
    let mut r = SdpaRun::new(Variant::Streaming, 256, 8);
    r.queries = 2;
    let report = min_depths(&r).unwrap();
    assert!(report
        .channels
        .iter()
        .all(|c| c.full_throughput_depth <= 2 && c.deadlock_free_depth == 1));
    assert_eq!(report.joint_cycles, report.full_throughput_cycles);
}

#[test]
fn fixed_point_oracle_is_the_quant_model_on_materialized_rows() {
    // the checker's oracle (index-based) against quant's own entry points
    let config = SdpaConfig::with_d(8, 100);
    let model = Rc::new(StreamingSdpa::new(config).unwrap());
    let w = Rc::new(Workload::new(&config, 100, 3, 9).unwrap());
    let fixed = FixedArithmetic::new(w.clone(), model.clone());
    let keys: Vec<Vec<i64>> = (0..100).map(|k| w.keys.raw(k).to_vec()).collect();
    let values: Vec<Vec<i64>> = (0..100).map(|k| w.values.raw(k).to_vec()).collect();
    for q in 0..3 {
        let query = w.queries.raw(q);
        assert_eq!(
            fixed.expected_streaming(q),
            model.run_query(query, &keys, &values).unwrap()
        );
        assert_eq!(
            fixed.expected_two_pass(q),
            model.run_query_two_pass(query, &keys, &values).unwrap()
        );
    }
}

#[test]
fn f64_oracle_is_the_float_reference() {
    let config = SdpaConfig::with_d(5, 40);
    let w = Rc::new(Workload::new(&config, 40, 4, 3).unwrap());
    let float = F64Arithmetic::new(w.clone(), 0.3, 5);
    let matrix = |rows: usize, f: &dyn Fn(usize) -> Vec<f64>| {
        Array2::from_shape_vec((rows, 5), (0..rows).flat_map(f).collect()).unwrap()
    };
    let q = matrix(4, &|i| w.queries.real(i).to_vec());
    let k = matrix(40, &|i| w.keys.real(i).to_vec());
    let v = matrix(40, &|i| w.values.real(i).to_vec());
    let want = hwformer_quant::reference::sdpa(q.view(), k.view(), v.view(), 0.3).unwrap();
    for i in 0..4 {
        let got = float.reference(i);
        for (g, e) in got.iter().zip(want.row(i)) {
            assert!((g - e).abs() < 1e-12);
        }
    }
}

#[test]
fn fixed_point_error_against_f64_is_within_the_model_bound() {
    let bound = StreamingSdpa::new(SdpaConfig::with_d(16, 512))
        .unwrap()
        .error_bound();
    for variant in [Variant::Streaming, Variant::Naive] {
        let r = run(variant, 512, 16, 4, NumberFormat::Fixed);
        let error = r.checks[0].max_error_vs_float;
        assert!(error > 0.0 && error <= bound, "{variant:?}: {error} vs {bound}");
    }
}

#[test]
fn several_heads_run_side_by_side() {
    let mut r = SdpaRun::new(Variant::Streaming, 50, 4);
    r.heads = 3;
    r.queries = 2;
    r.format = NumberFormat::Fixed;
    let report = r.simulate().unwrap();
    assert_eq!(report.checks.len(), 3);
    assert!(report.passed());
    assert!(report.report.channel("h2.scores").is_some());
    assert_eq!(report.cycles, report.closed_form_cycles);
}

#[test]
fn bad_runs_are_refused_with_a_message() {
    let base = SdpaRun::new(Variant::Streaming, 8, 4);
    for (run, needle) in [
        (SdpaRun { n: 0, ..base.clone() }, "n must"),
        (SdpaRun { d: 0, ..base.clone() }, "d must"),
        (
            SdpaRun {
                d: 129,
                ..base.clone()
            },
            "d must",
        ),
        (
            SdpaRun {
                heads: 0,
                ..base.clone()
            },
            "heads",
        ),
        (
            SdpaRun {
                queries: 0,
                ..base.clone()
            },
            "queries",
        ),
        (
            SdpaRun {
                fifo_depth: Some(0),
                ..base.clone()
            },
            "depth",
        ),
    ] {
        let err = run.simulate().unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// The closed forms for any size, queries shorter or longer than the
    /// streaming normalizer's interval among them.
    #[test]
    fn cycle_counts_match_the_closed_forms_for_any_size(
        n in 1usize..48, d in 1usize..40, queries in 1usize..6, naive: bool,
    ) {
        let variant = if naive { Variant::Naive } else { Variant::Streaming };
        let r = run(variant, n, d, queries, NumberFormat::F64);
        proptest::prop_assert_eq!(r.cycles, r.closed_form_cycles);
    }
}
