//! Whole-domain sweeps of every generated function table: the worst case
//! each doc comment states is measured here and asserted.

use hwformer_quant::accuracy::{exp_sweep, gelu_sweep, inv_sqrt_sweep, reciprocal_sweep};
use hwformer_quant::tables::{
    exp::EXP_ERROR_BOUND, exp::EXP_OUT_FRAC, exp::EXP_WIDE_FRAC, gelu::gelu_f64, gelu::GELU_ERROR_BOUND,
    inv_sqrt::INV_SQRT_RELATIVE_ERROR, reciprocal::RECIPROCAL_RELATIVE_ERROR, ExpNeg, Gelu, InvSqrt,
    Reciprocal, MAX_TABLE_ENTRIES,
};
use hwformer_quant::QFormat;

#[test]
fn exp_error_whole_domain() {
    for frac in [8, 10, 12] {
        let worst = exp_sweep(QFormat::signed(16, frac).unwrap()).unwrap();
        assert!(worst <= EXP_ERROR_BOUND, "exp Q.{frac}: worst error {worst}");
    }
}

#[test]
fn exp_is_monotone_exact_at_zero_and_agrees_with_its_wide_output() {
    let format = QFormat::signed(16, 10).unwrap();
    let exp = ExpNeg::new(format).unwrap();
    assert_eq!(exp.eval(0), 1 << EXP_OUT_FRAC, "exp(0) must be exactly 1");
    assert_eq!(exp.eval_wide(0), 1 << EXP_WIDE_FRAC);
    assert_eq!(exp.eval(5), exp.eval(0), "positive inputs count as 0");
    let mut previous = 0;
    for x in (format.min_raw() as i64)..=0 {
        let (narrow, wide) = (exp.eval(x), exp.eval_wide(x));
        assert!(narrow >= previous, "exp not monotone at {x}");
        previous = narrow;
        // both round the same product: they differ by at most half a narrow LSB
        let gap = (f64::from(narrow) * 256.0 - f64::from(wide)).abs();
        assert!(gap <= 128.0, "x = {x}: narrow {narrow}, wide {wide}");
    }
    assert!(exp.high_table().entries.len() <= MAX_TABLE_ENTRIES);
    assert!(exp.low_table().entries.len() <= MAX_TABLE_ENTRIES);
}

#[test]
fn exp_of_the_lowest_16_bit_difference_is_zero_up_to_11_fraction_bits() {
    // Lets hardware saturate (x - max) to 16 bits without changing a result.
    for frac in 0..=11 {
        let exp = ExpNeg::new(QFormat::signed(16, frac).unwrap()).unwrap();
        assert_eq!(exp.eval(-32768), 0, "frac {frac}");
    }
}

#[test]
fn reciprocal_error_whole_domain() {
    let worst = reciprocal_sweep().unwrap();
    assert!(worst <= RECIPROCAL_RELATIVE_ERROR, "{worst}");
    let r = Reciprocal::new().unwrap();
    assert!(r.table().entries.len() <= MAX_TABLE_ENTRIES);
    // powers of two are the easy case: 1/2^k to within the mantissa LSB
    for k in 0..40 {
        let got = r.eval(1 << k).to_f64();
        assert!(
            (got * (1u64 << k) as f64 - 1.0).abs() <= 2.0 / 65536.0,
            "1/2^{k}: {got}"
        );
    }
    assert_eq!(r.eval(0), r.eval(1), "0 is taken as 1, not a panic");
}

#[test]
fn inv_sqrt_error_whole_domain() {
    for frac in [0, 1, 24, 25] {
        let worst = inv_sqrt_sweep(frac).unwrap();
        assert!(worst <= INV_SQRT_RELATIVE_ERROR, "frac {frac}: {worst}");
    }
    assert!(InvSqrt::new().unwrap().table().entries.len() <= MAX_TABLE_ENTRIES);
}

#[test]
fn gelu_error_whole_domain() {
    for frac in [10, 12] {
        let (whole, within_4) = gelu_sweep(QFormat::signed(16, frac).unwrap()).unwrap();
        assert!(whole <= GELU_ERROR_BOUND, "Q.{frac}: {whole}");
        assert!(within_4 <= 0.01, "Q.{frac}: {within_4}");
    }
    let g = Gelu::new(QFormat::signed(16, 10).unwrap()).unwrap();
    assert!(g.delta_table().entries.len() <= MAX_TABLE_ENTRIES);
    assert_eq!(
        g.eval(i64::from(i16::MIN)),
        0,
        "GELU(-32) rounds to 0, no overflow"
    );
}

#[test]
fn rounded_corrections_reproduce_eval() {
    for frac in [6, 10, 12, 15] {
        let g = Gelu::new(QFormat::signed(16, frac).unwrap()).unwrap();
        let corrections = g.rounded_corrections();
        assert_eq!(corrections.len(), 256);
        for x in i64::from(i16::MIN)..=i64::from(i16::MAX) {
            let correction = corrections.get(g.index(x)).copied().unwrap_or(0);
            assert_eq!(x.max(0) + correction, g.eval(x), "Q.{frac} at {x}");
        }
    }
}

#[test]
fn gelu_reference_matches_published_normal_cdf_values() {
    // Phi(1) = 0.8413447460685429, Phi(-3) = 0.0013498980316301
    assert!((gelu_f64(1.0) - 0.841_344_746_068_542_9).abs() < 1e-13);
    assert!((gelu_f64(-1.0) + 0.158_655_253_931_457_05).abs() < 1e-13);
    assert!((gelu_f64(-3.0) + 3.0 * 0.001_349_898_031_630_1).abs() < 1e-13);
    assert_eq!(gelu_f64(0.0), 0.0);
}

#[test]
fn table_generators_reject_formats_they_cannot_serve() {
    assert!(ExpNeg::new(QFormat::unsigned(16, 10).unwrap()).is_err());
    assert!(ExpNeg::new(QFormat::signed(24, 10).unwrap()).is_err());
    assert!(Gelu::new(QFormat::signed(16, 4).unwrap()).is_err());
}
