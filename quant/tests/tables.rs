//! Whole-domain sweeps of every generated function table: the worst case
//! each doc comment states is measured here and asserted.

use hwformer_quant::tables::{
    exp::EXP_ERROR_BOUND, exp::EXP_OUT_FRAC, gelu::gelu_f64, gelu::GELU_ERROR_BOUND,
    inv_sqrt::INV_SQRT_RELATIVE_ERROR, reciprocal::RECIPROCAL_RELATIVE_ERROR, ExpNeg, Gelu, InvSqrt,
    Reciprocal, MAX_TABLE_ENTRIES,
};
use hwformer_quant::QFormat;

#[test]
fn exp_error_whole_domain() {
    for frac in [8, 10, 12] {
        let format = QFormat::signed(16, frac).unwrap();
        let exp = ExpNeg::new(format).unwrap();
        let lsb = (-(EXP_OUT_FRAC as f64)).exp2();
        let mut worst: f64 = 0.0;
        let mut previous = 0;
        for x in (format.min_raw() as i64)..=0 {
            let got = exp.eval(x);
            assert!(got >= previous, "exp not monotone at {x}");
            previous = got;
            let want = format.to_f64(x as i128).exp();
            worst = worst.max((f64::from(got) * lsb - want).abs());
        }
        eprintln!(
            "exp Q.{frac}: worst abs error {worst:.3e} ({:.2} LSB)",
            worst / lsb
        );
        assert!(worst <= EXP_ERROR_BOUND, "exp worst error {worst}");
        assert_eq!(exp.eval(0), 1 << EXP_OUT_FRAC, "exp(0) must be exactly 1");
        assert!(exp.high_table().entries.len() <= MAX_TABLE_ENTRIES);
    }
}

#[test]
fn exp_of_the_lowest_16_bit_difference_is_zero_up_to_11_fraction_bits() {
    // Lets hardware saturate (x - max) to 16 bits without changing a result.
    for frac in 0..=11 {
        let exp = ExpNeg::new(QFormat::signed(16, frac).unwrap()).unwrap();
        assert_eq!(exp.eval(-32768), 0, "frac {frac}");
    }
}

fn relative_worst(eval: impl Fn(u64) -> f64, want: impl Fn(u64) -> f64) -> f64 {
    let mut worst: f64 = 0.0;
    // every 16-bit input
    for x in 1u64..=0xffff {
        worst = worst.max((eval(x) / want(x) - 1.0).abs());
    }
    // every 16-bit mantissa of wider inputs, with the dropped tail all
    // zeros and all ones (the extremes of truncation), at shifts 1 and 20
    for m in 0x8000u64..=0xffff {
        for shift in [1, 20] {
            for tail in [0, (1u64 << shift) - 1] {
                let x = (m << shift) | tail;
                worst = worst.max((eval(x) / want(x) - 1.0).abs());
            }
        }
    }
    worst
}

#[test]
fn reciprocal_error_whole_domain() {
    let r = Reciprocal::new().unwrap();
    let worst = relative_worst(|x| r.eval(x).to_f64(), |x| 1.0 / x as f64);
    eprintln!("reciprocal: worst relative error {worst:.3e}");
    assert!(worst <= RECIPROCAL_RELATIVE_ERROR, "{worst}");
    assert!(r.table().entries.len() <= MAX_TABLE_ENTRIES);
}

#[test]
fn inv_sqrt_error_whole_domain() {
    let s = InvSqrt::new().unwrap();
    for frac in [0, 1, 24, 25] {
        let scale = (frac as f64).exp2();
        let worst = relative_worst(|x| s.eval(x, frac).to_f64(), |x| 1.0 / (x as f64 / scale).sqrt());
        eprintln!("inv_sqrt frac {frac}: worst relative error {worst:.3e}");
        assert!(worst <= INV_SQRT_RELATIVE_ERROR, "frac {frac}: {worst}");
    }
    assert!(s.table().entries.len() <= MAX_TABLE_ENTRIES);
}

#[test]
fn gelu_error_whole_domain() {
    for frac in [10, 12] {
        let format = QFormat::signed(16, frac).unwrap();
        let g = Gelu::new(format).unwrap();
        let (mut worst, mut worst_in_4) = (0.0f64, 0.0f64);
        for x in (format.min_raw() as i64)..=(format.max_raw() as i64) {
            let real = format.to_f64(x as i128);
            let err = (format.to_f64(g.eval(x) as i128) - gelu_f64(real)).abs();
            worst = worst.max(err);
            if real.abs() <= 4.0 {
                worst_in_4 = worst_in_4.max(err);
            }
        }
        eprintln!("gelu Q.{frac}: worst abs error {worst:.3e} (on [-4,4]: {worst_in_4:.3e})");
        assert!(worst <= GELU_ERROR_BOUND, "{worst}");
        assert!(worst_in_4 <= 0.01);
    }
}

#[test]
fn gelu_reference_matches_known_values() {
    // Phi(1) = 0.8413447460685429 (tables of the normal distribution)
    assert!((gelu_f64(1.0) - 0.841_344_746_068_542_9).abs() < 1e-13);
    assert!((gelu_f64(-1.0) + 0.158_655_253_931_457_05).abs() < 1e-13);
    // Phi(-3) = 0.0013498980316301
    assert!((gelu_f64(-3.0) + 3.0 * 0.001_349_898_031_630_1).abs() < 1e-13);
    assert_eq!(gelu_f64(0.0), 0.0);
}
