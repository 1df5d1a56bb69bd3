//! The three back ends on small designs: every output beat bit-exact with
//! the integer model and within the manifest's bound of float64, the same
//! handshake cycles on all three under random gaps and back-pressure, and
//! the handshake graph's cycles. Plus the checker's own test:
//! a corrupted expectation is caught with its cycle.

mod common;

use common::{export, export_formats, run};
use hwformer_hdl::manifest::Manifest;
use hwformer_sim::check::{check, CycleChecks, MismatchKind};
use hwformer_sim::session::{Backend, SimOutcome};
use hwformer_sim::testbench::Pacing;
use hwformer_sim::verilator::BuildOptions;
use hwformer_sim::workload::{Workload, WorkloadSize};
use std::path::Path;

/// All three back ends pass and agree on every handshake's cycle; the
/// outcomes in the order rust-hdl, Verilator, Icarus.
fn agree(dir: &Path, manifest: &Manifest, size: WorkloadSize, pacing: Pacing) -> Vec<SimOutcome> {
    let outcomes: Vec<SimOutcome> = [Backend::RustHdl, Backend::Verilator, Backend::Icarus]
        .iter()
        .map(|&b| run(dir, manifest, b, size, pacing))
        .collect();
    for o in &outcomes[1..] {
        assert_eq!(
            o.trace,
            outcomes[0].trace,
            "{} and rust-hdl disagree",
            o.backend.name()
        );
    }
    let verdict = outcomes[0].result.as_ref().unwrap();
    assert!(verdict.beats_checked > 0);
    outcomes
}

fn three_back_ends_agree(block: &str, d: usize, size: WorkloadSize, pacing: Pacing) {
    let (dir, manifest) = export(block, d, "agree");
    agree(&dir, &manifest, size, pacing);
}

const GAPS: Pacing = Pacing {
    valid_probability: 0.6,
    ready_probability: 0.5,
    seed: 5,
};

#[test]
fn sdpa_d2_on_three_back_ends_under_gaps_and_back_pressure() {
    three_back_ends_agree(
        "sdpa",
        2,
        WorkloadSize {
            n: 9,
            queries: 4,
            seed: 1,
        },
        GAPS,
    );
}

#[test]
fn sdpa_in_other_formats_on_three_back_ends() {
    // every format different, so each shift constant moves: score shift
    // 14 + 13 + 14 - 10 = 31 (default 28), output shift 16 + msb + 11 - 15
    // (default 16 + msb)
    let (dir, manifest) = export_formats(
        "sdpa",
        4,
        "formats",
        &[("q", "Q1.14"), ("k", "Q2.13"), ("v", "Q4.11"), ("o", "Q0.15")],
    );
    assert_eq!(manifest.module, "hwformer_sdpa_d4_q14k13v11o15");
    let size = WorkloadSize {
        n: 23,
        queries: 5,
        seed: 3,
    };
    let outcomes = agree(&dir, &manifest, size, GAPS);
    let verdict = outcomes[1].result.as_ref().unwrap();
    assert_eq!(verdict.beats_checked, 5);
    // the outputs use the fine format: errors far below one default LSB
    assert!(verdict.max_error < 2f64.powi(-12), "{}", verdict.max_error);
}

#[test]
fn exp_and_softmax_with_other_input_formats_on_three_back_ends() {
    // the ends of each block's range of fraction bits (the exp unit's slices
    // of x * log2(e) move with them)
    for (block, field, format) in [
        ("exp", "x", "Q7.8"),
        ("exp", "x", "Q3.12"),
        ("softmax", "logit", "Q7.8"),
    ] {
        let (dir, manifest) = export_formats(block, 1, format, &[(field, format)]);
        assert!(
            manifest.module.ends_with(&format!("_x{}", &format[3..])),
            "{}",
            manifest.module
        );
        let size = WorkloadSize {
            n: 13,
            queries: 3,
            seed: 4,
        };
        agree(&dir, &manifest, size, GAPS);
    }
}

#[test]
fn softmax_on_three_back_ends_under_gaps_and_back_pressure() {
    three_back_ends_agree(
        "softmax",
        0,
        WorkloadSize {
            n: 12,
            queries: 3,
            seed: 2,
        },
        GAPS,
    );
}

#[test]
fn exp_on_three_back_ends_at_full_speed_matches_its_graph_and_closed_form() {
    // full speed: the checker also compares every cycle with the model
    three_back_ends_agree(
        "exp",
        0,
        WorkloadSize {
            n: 16,
            queries: 4,
            seed: 3,
        },
        Pacing::FULL_SPEED,
    );
}

#[test]
fn sdpa_at_full_speed_matches_the_closed_form() {
    // short queries wait for the normalizer: max(n, d + 35) cycles each
    let (dir, manifest) = export("sdpa", 4, "timing");
    for n in [1, 3, 4, 5, 20] {
        let size = WorkloadSize {
            n,
            queries: 4,
            seed: 4,
        };
        let v = run(&dir, &manifest, Backend::Verilator, size, Pacing::FULL_SPEED)
            .result
            .unwrap();
        assert!(v.cycles_checked && v.closed_form_checked, "n = {n}");
    }
}

#[test]
fn softmax_rows_of_one_length_flow_at_one_logit_per_cycle() {
    use hwformer_sim::testbench::{run as drive, Stimulus};
    let (dir, manifest) = export("softmax", 0, "timing");
    let ports = hwformer_sim::ports::PortMap::new(&manifest);
    let library = hwformer_sim::verilator::build(&dir, &manifest, &BuildOptions::default()).unwrap();
    // rows no shorter than the reciprocal's turn (nine cycles)
    for n in [9usize, 10, 64] {
        let rows: Vec<Vec<i64>> = (0..10)
            .map(|r| (0..n as i64).map(|i| (i * 301 + r * 17) % 4000 - 2000).collect())
            .collect();
        let workload = Workload::softmax_rows(
            &hwformer_quant::integer::softmax::SoftmaxModel::default_design(),
            &rows,
        )
        .unwrap();
        let expected = workload.expected_beats();
        let stimulus = Stimulus {
            inputs: &workload.inputs,
            expected: &expected,
            pacing: Pacing::FULL_SPEED,
            max_cycles: 100_000,
        };
        let mut model = hwformer_sim::verilator::VerilatedModel::load(&library, &ports, &dir).unwrap();
        let trace = drive(&mut model, &ports, &stimulus).unwrap();
        let graph = hwformer_sim::timing::block_graph(&manifest).unwrap();
        let predicted = hwformer_sim::timing::predict(&graph, &ports, &stimulus).unwrap();
        let v = check(
            &manifest,
            &workload,
            &trace,
            CycleChecks {
                model: Some(&predicted),
                closed_form: true,
            },
        )
        .unwrap_or_else(|m| panic!("n = {n}: {m}"));
        assert!(v.closed_form_checked);
        // every logit taken in consecutive cycles
        let taken = &trace.input_cycles[0];
        assert_eq!(taken.last(), Some(&(taken.len() as u64 - 1)), "n = {n}");
    }
}

#[test]
fn a_corrupted_expectation_is_caught_with_its_cycle() {
    let (dir, manifest) = export("sdpa", 2, "corrupt");
    let size = WorkloadSize {
        n: 6,
        queries: 3,
        seed: 9,
    };
    let outcome = run(&dir, &manifest, Backend::Verilator, size, GAPS);
    let mut workload = Workload::new(&manifest, size).unwrap();
    // one bit of query 1's output
    let stride = workload.expected[0].words_per_beat;
    workload.expected[0].data[stride] ^= 1 << 3;
    let m = check(&manifest, &workload, &outcome.trace, CycleChecks::default()).unwrap_err();
    assert_eq!(
        (m.kind, m.beat, m.stream.as_str()),
        (MismatchKind::Data, 1, "out")
    );
    assert_eq!(m.cycle, outcome.trace.output_cycles[0][1]);
    assert_ne!(m.expected, m.actual);
    // and a wrong closed form is caught too
    let full = run(&dir, &manifest, Backend::Verilator, size, Pacing::FULL_SPEED);
    workload = Workload::new(&manifest, size).unwrap();
    workload.full_speed_cycles[0][2] += 1;
    let m = check(
        &manifest,
        &workload,
        &full.trace,
        CycleChecks {
            model: None,
            closed_form: true,
        },
    )
    .unwrap_err();
    assert_eq!((m.kind, m.beat), (MismatchKind::ClosedForm, 2));
    // and a handshake one cycle off the graph's
    workload = Workload::new(&manifest, size).unwrap();
    let mut model = outcome.trace.clone();
    model.input_cycles[1][4] += 1;
    let m = check(
        &manifest,
        &workload,
        &outcome.trace,
        CycleChecks {
            model: Some(&model),
            closed_form: false,
        },
    )
    .unwrap_err();
    assert_eq!(
        (m.kind, m.beat, m.stream.as_str()),
        (MismatchKind::InputCycle, 4, "kv")
    );
    assert_eq!(m.cycle, outcome.trace.input_cycles[1][4]);
}

#[test]
fn exp_every_non_positive_input_on_icarus_and_verilator() {
    use hwformer_quant::tables::ExpNeg;
    use hwformer_quant::QFormat;
    use hwformer_sim::testbench::{Beats, Stimulus};
    let (dir, manifest) = export("exp", 0, "exhaustive");
    let exp = ExpNeg::new(QFormat::signed(16, 10).unwrap()).unwrap();
    let mut xs: Vec<i16> = (i16::MIN..=0).collect();
    xs.extend([1, 77, i16::MAX]);
    let mut input = Beats::new(16);
    for (k, &x) in xs.iter().enumerate() {
        input.push(&[u32::from(x as u16)], k % 7 == 6);
    }
    let inputs = [input];
    let expected = [xs.len()];
    let pacing = Pacing {
        valid_probability: 0.7,
        ready_probability: 0.6,
        seed: 17,
    };
    let stimulus = Stimulus {
        inputs: &inputs,
        expected: &expected,
        pacing,
        max_cycles: 10 * xs.len() as u64,
    };
    let icarus = hwformer_sim::icarus::run(
        &dir,
        &dir.join("iverilog"),
        &manifest,
        &stimulus,
        &Default::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .0;
    let ports = hwformer_sim::ports::PortMap::new(&manifest);
    let library = hwformer_sim::verilator::build(&dir, &manifest, &BuildOptions::default()).unwrap();
    let mut model = hwformer_sim::verilator::VerilatedModel::load(&library, &ports, &dir).unwrap();
    let verilated = hwformer_sim::testbench::run(&mut model, &ports, &stimulus).unwrap();
    assert_eq!(icarus, verilated, "Icarus and Verilator disagree");
    let bound = manifest.error_bound.unwrap().value;
    for (k, &x) in xs.iter().enumerate() {
        let w = icarus.outputs[0].beat(k);
        let (e, wide) = (w[0] & 0xffff, (w[0] >> 16) | (w[1] << 16));
        assert_eq!(e, exp.eval(i64::from(x)), "beat {k}, x = {x}");
        assert_eq!(wide, exp.eval_wide(i64::from(x)), "beat {k}, x = {x} (wide)");
        assert_eq!(icarus.outputs[0].last[k], k % 7 == 6, "beat {k} tlast");
        let real = (f64::from(x.min(0)) / 1024.0).exp();
        assert!(
            (f64::from(e) / 32768.0 - real).abs() <= bound,
            "beat {k}: above the manifest's bound"
        );
    }
}

#[test]
fn every_handshake_matches_the_handshake_graph_in_corner_cases() {
    // one- and two-key queries keep the normalizer busy while the next
    // query's last key arrives; heavy back-pressure holds the output
    let (dir, manifest) = export("sdpa", 2, "corners");
    for seed in 0..6 {
        for (n, ready) in [(1, 0.3), (2, 0.2), (3, 1.0), (7, 0.5)] {
            let pacing = Pacing {
                valid_probability: 0.9,
                ready_probability: ready,
                seed,
            };
            let o = run(
                &dir,
                &manifest,
                Backend::Verilator,
                WorkloadSize { n, queries: 12, seed },
                pacing,
            );
            assert!(o.result.unwrap().cycles_checked);
        }
    }
    // softmax rows from 1 to 40 logits, and the exp unit, under both
    for block in ["softmax", "exp"] {
        let (dir, manifest) = export(block, 0, "corners");
        for seed in 0..4 {
            let pacing = Pacing {
                valid_probability: 0.5,
                ready_probability: 0.3,
                seed,
            };
            run(
                &dir,
                &manifest,
                Backend::Verilator,
                WorkloadSize {
                    n: 40,
                    queries: 8,
                    seed,
                },
                pacing,
            );
        }
    }
}

#[test]
fn softmax_wraps_its_ring_descriptors_and_counters_on_verilator_and_icarus() {
    // 40 rows of up to 64 logits: more than 1024 logits, 8 descriptors and
    // 16 rows, so every pointer and counter wraps (a sum compared in place
    // is 32 bits wide in Verilog and does not wrap: rust-hdl alone missed it)
    let (dir, manifest) = export("softmax", 0, "wrap");
    let size = WorkloadSize {
        n: 64,
        queries: 40,
        seed: 12,
    };
    let v = run(&dir, &manifest, Backend::Verilator, size, GAPS);
    let i = run(&dir, &manifest, Backend::Icarus, size, GAPS);
    assert_eq!(v.trace, i.trace, "Verilator and Icarus disagree");
    assert!(v.trace.input_cycles[0].len() > 1024);
}

#[test]
fn a_beat_too_many_is_caught_in_the_drain() {
    use hwformer_sim::testbench::{run as drive, Stimulus};
    // expect one probability fewer than the block sends
    let (dir, manifest) = export("softmax", 0, "drain");
    let mut workload = Workload::new(
        &manifest,
        WorkloadSize {
            n: 8,
            queries: 2,
            seed: 3,
        },
    )
    .unwrap();
    let beats = workload.expected[0].len();
    workload.expected[0].data.pop();
    workload.expected[0].last.pop();
    workload.reference[0].pop();
    let expected = workload.expected_beats();
    let stimulus = Stimulus {
        inputs: &workload.inputs,
        expected: &expected,
        pacing: GAPS,
        max_cycles: 10_000,
    };
    for backend in [Backend::Verilator, Backend::Icarus] {
        let trace = match backend {
            Backend::Verilator => {
                let ports = hwformer_sim::ports::PortMap::new(&manifest);
                let library =
                    hwformer_sim::verilator::build(&dir, &manifest, &BuildOptions::default()).unwrap();
                let mut model =
                    hwformer_sim::verilator::VerilatedModel::load(&library, &ports, &dir).unwrap();
                drive(&mut model, &ports, &stimulus).unwrap()
            }
            _ => {
                hwformer_sim::icarus::run(
                    &dir,
                    &dir.join("iverilog"),
                    &manifest,
                    &stimulus,
                    &Default::default(),
                )
                .unwrap()
                .0
            }
        };
        assert_eq!(
            trace.outputs[0].len(),
            beats,
            "{}: the last beat arrives in the drain",
            backend.name()
        );
        let m = check(&manifest, &workload, &trace, CycleChecks::default()).unwrap_err();
        assert_eq!(
            (m.kind, m.beat),
            (MismatchKind::Data, beats - 1),
            "{}: {m}",
            backend.name()
        );
    }
}
