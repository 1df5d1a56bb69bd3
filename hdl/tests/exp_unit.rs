//! The exponential unit in rust-hdl's simulator: every output beat equals
//! `ExpNeg::eval` / `eval_wide` bit for bit, under random input gaps and
//! output back-pressure, with the documented latency.

mod common;
use common::drive;
use hwformer_hdl::exp::{ExpUnit, EXP_LATENCY};
use hwformer_quant::tables::ExpNeg;
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;

fn unit() -> (ExpUnit, ExpNeg) {
    let exp = ExpNeg::new(QFormat::signed(16, 10).unwrap()).unwrap();
    let mut uut = ExpUnit::new(&exp);
    uut.connect_all();
    (uut, exp)
}

#[test]
fn every_input_matches_the_integer_model_under_gaps_and_back_pressure() {
    let (mut uut, exp) = unit();
    // every non-positive input, and a few positive ones (clamped to 0)
    let mut xs: Vec<i16> = (i16::MIN..=0).collect();
    xs.extend([1, 5, 1000, i16::MAX]);
    let inputs: Vec<(u64, bool)> = xs
        .iter()
        .enumerate()
        .map(|(i, &x)| (u64::from(x as u16), i % 7 == 6))
        .collect();
    let (_, beats) = drive(&mut uut, &inputs, inputs.len(), 0.8, 0.7, 3);
    for (i, (&x, beat)) in xs.iter().zip(&beats).enumerate() {
        assert_eq!(
            beat.data & 0xffff,
            u64::from(exp.eval(i64::from(x))),
            "beat {i}: x = {x}"
        );
        assert_eq!(
            beat.data >> 16,
            u64::from(exp.eval_wide(i64::from(x))),
            "beat {i}: x = {x} (wide)"
        );
        assert_eq!(beat.last, i % 7 == 6, "beat {i}: tlast");
    }
}

#[test]
fn full_throughput_and_the_documented_latency_without_stalls() {
    let (mut uut, _) = unit();
    let inputs: Vec<(u64, bool)> = (0..200u64)
        .map(|i| (u64::from((-((i * 97 % 30000) as i16)) as u16), false))
        .collect();
    let (taken, beats) = drive(&mut uut, &inputs, inputs.len(), 1.0, 1.0, 4);
    for (k, (&t, beat)) in taken.iter().zip(&beats).enumerate() {
        assert_eq!(t, k as u64, "one input per cycle");
        assert_eq!(beat.cycle - t, EXP_LATENCY, "beat {k}");
    }
}
