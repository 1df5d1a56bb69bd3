//! BitNet b1.58's BitLinear on integers: codes in range for every absmax,
//! errors within the documented bound (also over the full input range),
//! and bad parameters rejected by name.

use hwformer_quant::accuracy::random_linear;
use hwformer_quant::integer::bit_linear::{activation_codes, BitLinear, BitLinearFormats, CODE_MAX};
use hwformer_quant::integer::quantize_all;
use hwformer_quant::random::{normal_vec, seeded};
use hwformer_quant::reference::{Activation, Linear};
use hwformer_quant::QFormat;
use proptest::prelude::*;

fn formats() -> BitLinearFormats {
    BitLinearFormats {
        input: QFormat::signed(16, 12).unwrap(),
        scale: QFormat::signed(16, 14).unwrap(),
        output: QFormat::signed(16, 10).unwrap(),
    }
}

fn layer(seed: u64, d_in: usize, d_out: usize, activation: Option<Activation>) -> BitLinear {
    let mut rng = seeded(seed);
    BitLinear::quantize(
        &random_linear(&mut rng, d_in, d_out, false),
        formats(),
        activation,
    )
    .unwrap()
}

#[test]
fn codes_stay_within_127_for_every_gamma() {
    let l = layer(1, 4, 4, None);
    for gamma in 1..=32768i64 {
        let x = [gamma.min(32767), -gamma, gamma / 2, -(gamma / 3)];
        let x = [x[0], x[1].max(-32768), x[2], x[3]];
        let (g, multiplier, shift) = l.token_scale(&x);
        assert_eq!(g, gamma);
        let codes = activation_codes(&x, multiplier, shift);
        for (&v, &c) in x.iter().zip(&codes) {
            assert!(c.abs() <= CODE_MAX, "gamma {gamma}: x {v} gave code {c}");
            let exact = 127.0 * v as f64 / gamma as f64;
            assert!(
                (c as f64 - exact).abs() <= 0.51,
                "gamma {gamma}: x {v}: code {c}, 127x/γ = {exact}"
            );
        }
        assert_eq!(codes[1], -CODE_MAX, "the absmax element maps to -127");
    }
}

#[test]
fn a_zero_token_gives_zero_codes_and_outputs() {
    let l = layer(2, 8, 8, Some(Activation::Relu));
    let (gamma, _, _) = l.token_scale(&[0; 8]);
    assert_eq!(gamma, 1, "an all-zero token takes gamma 1");
    assert!(l.run(&[0; 8]).unwrap().iter().all(|&y| y == 0));
}

fn check_bound(l: &BitLinear, x: &[i64]) -> Result<(), TestCaseError> {
    let f = l.formats();
    let y = l.run(x).unwrap();
    let want = l.float_reference(x).unwrap();
    let input_max = -f.input.min_value();
    let bound = l.error_bound(input_max);
    for (&y, &w) in y.iter().zip(&want) {
        if w.abs() >= f.output.max_value() {
            continue; // saturates: outside the bound's premise
        }
        let error = (f.output.to_f64(i128::from(y)) - w).abs();
        prop_assert!(error <= bound, "error {error} > bound {bound}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn bitlinear_within_its_bound(seed in 0u64..1000, sigma in 0.01f64..7.0, act in 0usize..3) {
        let activation = [None, Some(Activation::Relu), Some(Activation::Gelu)][act];
        let l = layer(seed, 24, 16, activation);
        let mut rng = seeded(seed + 7);
        let x = quantize_all("x", &normal_vec(&mut rng, 24, sigma), l.formats().input).unwrap();
        check_bound(&l, &x)?;
    }

    #[test]
    fn bitlinear_within_its_bound_on_full_range_inputs(seed in 0u64..1000, raw in proptest::collection::vec(-32768i64..=32767, 24)) {
        let l = layer(seed, 24, 16, Some(Activation::Gelu));
        check_bound(&l, &raw)?;
    }
}

#[test]
fn bad_layers_are_errors_naming_the_field() {
    let ok = |signs: Vec<i64>, scale| BitLinear::from_raw(formats(), (2, 2), signs, scale, None);
    assert!(ok(vec![1, 0, -1, 1], 300).is_ok());
    let e = ok(vec![1, 2, -1, 1], 300).unwrap_err().to_string();
    assert!(e.contains("signs[0][1] = 2"), "{e}");
    let e = ok(vec![1, 0, -1, 1], 0).unwrap_err().to_string();
    assert!(e.contains("scale"), "{e}");
    let e = ok(vec![1, 0, -1], 300).unwrap_err().to_string();
    assert!(e.contains("signs"), "{e}");
    let e = ok(vec![1, 0, -1, 1], 40000).unwrap_err().to_string();
    assert!(e.contains("scale"), "{e}");
    let l = ok(vec![1, 0, -1, 1], 300).unwrap();
    let e = l.clone().with_bias(vec![1, 2, 3]).unwrap_err().to_string();
    assert!(e.contains("bias"), "{e}");
    let e = l.with_bias(vec![0, 40000]).unwrap_err().to_string();
    assert!(e.contains("bias"), "{e}");
}

/// The layer of `layer(seed, ..)` with the biases of a float layer.
fn biased(seed: u64, d_in: usize, d_out: usize, activation: Option<Activation>) -> BitLinear {
    let mut rng = seeded(seed);
    let float: Linear = random_linear(&mut rng, d_in, d_out, true);
    BitLinear::quantize(&float, formats(), activation).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// The bias joins the rounded product before the one saturation: an
    /// output that saturates neither way is the unbiased output plus the
    /// bias, exactly; one that does is the sum clipped.
    #[test]
    fn a_bias_adds_to_the_rounded_output_before_saturation(seed in 0u64..1000, sigma in 0.01f64..40.0) {
        let with = biased(seed, 24, 16, None);
        let bias = with.bias().to_vec();
        prop_assert!(bias.iter().any(|&b| b != 0), "the float layer has biases");
        let without = with.clone().with_bias(vec![0; 16]).unwrap();
        let mut rng = seeded(seed + 3);
        let x = quantize_all("x", &normal_vec(&mut rng, 24, sigma), formats().input).unwrap();
        let (y, y0) = (with.run(&x).unwrap(), without.run(&x).unwrap());
        let (lo, hi) = (-32768i64, 32767i64);
        for j in 0..16 {
            if y0[j] > lo && y0[j] < hi {
                prop_assert_eq!(y[j], (y0[j] + bias[j]).clamp(lo, hi), "output {}", j);
            }
        }
    }

    #[test]
    fn a_biased_bitlinear_within_its_bound(seed in 0u64..1000, sigma in 0.01f64..7.0, act in 0usize..3) {
        let activation = [None, Some(Activation::Relu), Some(Activation::Gelu)][act];
        let l = biased(seed, 24, 16, activation);
        let mut rng = seeded(seed + 7);
        let x = quantize_all("x", &normal_vec(&mut rng, 24, sigma), l.formats().input).unwrap();
        check_bound(&l, &x)?;
    }
}
