//! The exponential unit in rust-hdl's simulator: every output beat equals
//! `ExpNeg::eval` / `eval_wide` bit for bit, under random input gaps and
//! output back-pressure, with the documented latency.

use hwformer_hdl::exp::{ExpUnit, EXP_LATENCY};
use hwformer_quant::random::seeded;
use hwformer_quant::tables::ExpNeg;
use hwformer_quant::QFormat;
use rand::Rng;
use rust_hdl::prelude::*;

/// One clock cycle: settle with the clock low (inputs set by the caller),
/// then the rising edge.
fn cycle(uut: &mut ExpUnit) {
    uut.clock.next = false.into();
    assert!(simulate(uut, 100), "combinational logic did not settle");
    uut.clock.next = true.into();
    assert!(simulate(uut, 100), "logic did not settle after the edge");
}

/// Drives `inputs` through the unit; returns (e, w, last, in_cycle, out_cycle) per beat.
fn run(
    inputs: &[i16],
    valid_probability: f64,
    ready_probability: f64,
    seed: u64,
) -> Vec<(u32, u32, bool, u64, u64)> {
    let exp = ExpNeg::new(QFormat::signed(16, 10).unwrap()).unwrap();
    let mut uut = ExpUnit::new(&exp);
    uut.connect_all();
    let mut rng = seeded(seed);
    let mut next = 0;
    let mut in_cycles = Vec::new();
    let mut out = Vec::new();
    let mut cycle_no = 0u64;
    while out.len() < inputs.len() {
        assert!(
            cycle_no < 40 * inputs.len() as u64 + 100,
            "the unit stopped producing beats"
        );
        let valid = next < inputs.len() && rng.gen_bool(valid_probability);
        let ready = rng.gen_bool(ready_probability);
        uut.s_axis_x_tvalid.next = valid;
        uut.s_axis_x_tdata.next = bits::<16>(if next < inputs.len() {
            inputs[next] as u16 as u64
        } else {
            0
        });
        uut.s_axis_x_tlast.next = next % 7 == 6;
        uut.m_axis_exp_tready.next = ready;
        uut.clock.next = false.into();
        assert!(simulate(&mut uut, 100));
        let accepted = valid && uut.s_axis_x_tready.val();
        if uut.m_axis_exp_tvalid.val() && ready {
            let data = uut.m_axis_exp_tdata.val().to_u64();
            let k = out.len();
            out.push((
                (data & 0xffff) as u32,
                (data >> 16) as u32,
                uut.m_axis_exp_tlast.val(),
                in_cycles[k],
                cycle_no,
            ));
        }
        if accepted {
            in_cycles.push(cycle_no);
            next += 1;
        }
        cycle(&mut uut);
        cycle_no += 1;
    }
    out
}

#[test]
fn every_input_matches_the_integer_model_under_gaps_and_back_pressure() {
    let exp = ExpNeg::new(QFormat::signed(16, 10).unwrap()).unwrap();
    // every non-positive input, a few positive ones (clamped), in order
    let mut inputs: Vec<i16> = (i16::MIN..=0).step_by(1).collect();
    inputs.extend([1, 5, 1000, i16::MAX]);
    let got = run(&inputs, 0.8, 0.7, 3);
    assert_eq!(got.len(), inputs.len());
    for (i, (&x, &(e, w, last, _, _))) in inputs.iter().zip(&got).enumerate() {
        assert_eq!(e, exp.eval(i64::from(x)), "beat {i}: x = {x}");
        assert_eq!(w, exp.eval_wide(i64::from(x)), "beat {i}: x = {x} (wide)");
        assert_eq!(last, i % 7 == 6, "beat {i}: tlast");
    }
}

#[test]
fn full_throughput_and_the_documented_latency_without_stalls() {
    let inputs: Vec<i16> = (0..200).map(|i| -(i * 97 % 30000) as i16).collect();
    let got = run(&inputs, 1.0, 1.0, 4);
    for (k, &(_, _, _, in_cycle, out_cycle)) in got.iter().enumerate() {
        assert_eq!(in_cycle, k as u64, "one input per cycle");
        assert_eq!(out_cycle - in_cycle, EXP_LATENCY, "beat {k}");
    }
}
