//! Integer models against their float references, within the documented
//! bounds, on seeds other than the ones `hwformer quant` reports; and bad
//! input gives named errors.

use hwformer_quant::accuracy::{
    binarized_errors, ffn_errors, layer_norm_errors, random_ffn, sdpa_errors, softmax_errors, FfnKind,
};
use hwformer_quant::format::{Overflow, Rounding};
use hwformer_quant::integer::sdpa::{SdpaConfig, StreamingSdpa};
use hwformer_quant::integer::softmax::SoftmaxModel;
use hwformer_quant::integer::{ffn::FfnFormats, ffn::TernaryFfn, quantize_all};
use hwformer_quant::random::{normal_vec, seeded};
use hwformer_quant::reference::Activation;
use hwformer_quant::{QFormat, QuantError};
use proptest::prelude::*;

#[test]
fn softmax_within_bound_and_no_argmax_flip() {
    let model = SoftmaxModel::default_design();
    for seed in [11, 12, 13] {
        let s = softmax_errors(&model, 1500, seed).unwrap();
        assert!(s.max_abs <= SoftmaxModel::ERROR_BOUND, "seed {seed}: {s:?}");
        assert_eq!(s.argmax_flips, 0, "seed {seed}: {s:?}");
        assert!(s.eligible_rows > 1000, "the flip check must see many rows: {s:?}");
    }
}

#[test]
fn softmax_one_large_logit_over_many_tiny_terms() {
    // each of the 255 small terms is below half a UQ1.15 LSB: a sum of
    // 16-bit exponentials would lose them all (error 0.0038)
    let model = SoftmaxModel::default_design();
    let mut row = vec![0i64; 256];
    row[7] = (11.1 * 1024.0) as i64;
    let p = model.run(&row).unwrap();
    let want_top = 1.0 / (1.0 + 255.0 * (-11.1f64).exp());
    assert!((f64::from(p[7]) / 65536.0 - want_top).abs() < 1e-4, "{}", p[7]);
}

#[test]
fn softmax_exact_cases() {
    let model = SoftmaxModel::default_design();
    // one logit: probability 1, saturated to the largest UQ0.16 value
    assert_eq!(model.run(&[123]).unwrap(), vec![65535]);
    // equal logits: exactly 1/n for powers of two
    assert_eq!(model.run(&[-5; 4]).unwrap(), vec![16384; 4]);
    assert_eq!(
        model.run(&[i64::from(i16::MIN), i64::from(i16::MAX)]).unwrap(),
        vec![0, 65535]
    );
}

#[test]
fn softmax_bad_input_is_named() {
    let model = SoftmaxModel::default_design();
    assert!(matches!(model.run(&[]), Err(QuantError::Empty(_))));
    let long = vec![0; 257];
    assert!(model.run(&long).unwrap_err().to_string().contains("n_max"));
    assert!(model.run(&[40000]).unwrap_err().to_string().contains("logit[0]"));
    assert!(SoftmaxModel::new(QFormat::signed(16, 10).unwrap(), 0).is_err());
}

#[test]
fn streaming_sdpa_within_bound_for_several_sizes() {
    for (d, n) in [(1, 1), (1, 300), (8, 17), (16, 256), (64, 128)] {
        let s = sdpa_errors(d, n, 4, 21 + d as u64).unwrap();
        assert!(s.max_abs <= s.bound, "d={d} N={n}: {s:?}");
    }
}

#[test]
fn streaming_sdpa_single_key_returns_its_value() {
    let model = StreamingSdpa::new(SdpaConfig::with_d(4, 8)).unwrap();
    let v = vec![1000, -2000, 32767, -32768];
    let out = model
        .run_query(&[5, 6, 7, 8], &[vec![1, 2, 3, 4]], std::slice::from_ref(&v))
        .unwrap();
    // weight exp(0) = 1 exactly, divided by itself: the reciprocal's 2^-16
    // error shows as at most one LSB
    for (o, want) in out.iter().zip(&v) {
        assert!((o - want).abs() <= 1, "{out:?} vs {v:?}");
    }
}

#[test]
fn streaming_sdpa_output_stays_inside_the_value_range() {
    // weights are one set of integers in numerator and denominator, so the
    // output is a weighted average of the values (up to rounding)
    let model = StreamingSdpa::new(SdpaConfig::with_d(2, 64)).unwrap();
    let mut rng = seeded(5);
    let c = *model.config();
    let draw = |rng: &mut _| quantize_all("x", &normal_vec(rng, 2, 2.0), c.key).unwrap();
    let keys: Vec<_> = (0..64).map(|_| draw(&mut rng)).collect();
    let values: Vec<_> = (0..64).map(|_| draw(&mut rng)).collect();
    for _ in 0..20 {
        let q = draw(&mut rng);
        let out = model.run_query(&q, &keys, &values).unwrap();
        for (lane, &o) in out.iter().enumerate() {
            let lo = values.iter().map(|v| v[lane]).min().unwrap();
            let hi = values.iter().map(|v| v[lane]).max().unwrap();
            assert!(
                o >= lo - 1 && o <= hi + 1,
                "lane {lane}: {o} outside [{lo}, {hi}]"
            );
        }
    }
}

#[test]
fn streaming_sdpa_bad_input_is_named() {
    let model = StreamingSdpa::new(SdpaConfig::with_d(4, 2)).unwrap();
    assert!(matches!(
        model.start(&[1, 2]),
        Err(QuantError::ShapeMismatch { .. })
    ));
    let mut state = model.start(&[1, 2, 3, 4]).unwrap();
    assert!(model.push(&mut state, &[1; 4], &[1; 3]).is_err());
    assert!(model
        .push(&mut state, &[1; 4], &[99999; 4])
        .unwrap_err()
        .to_string()
        .contains("value[0]"));
    model.push(&mut state, &[1; 4], &[1; 4]).unwrap();
    model.push(&mut state, &[1; 4], &[1; 4]).unwrap();
    assert!(model
        .push(&mut state, &[1; 4], &[1; 4])
        .unwrap_err()
        .to_string()
        .contains("n_max"));
    assert!(model.run_query(&[1; 4], &[], &[]).is_err());
    for bad in [
        SdpaConfig {
            d: 0,
            ..SdpaConfig::with_d(4, 2)
        },
        SdpaConfig {
            n_max: 0,
            ..SdpaConfig::with_d(4, 2)
        },
        SdpaConfig {
            scale: f64::NAN,
            ..SdpaConfig::with_d(4, 2)
        },
        SdpaConfig {
            scale: -1.0,
            ..SdpaConfig::with_d(4, 2)
        },
        SdpaConfig {
            scale: 1e-9,
            ..SdpaConfig::with_d(4, 2)
        },
    ] {
        assert!(StreamingSdpa::new(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn ffn_models_within_their_bounds() {
    for (seed, activation) in [(31, Activation::Relu), (32, Activation::Gelu)] {
        let f = ffn_errors(FfnKind::Int16, 32, 96, activation, 40, seed).unwrap();
        assert!(f.max_abs <= f.bound, "int16 {activation:?}: {f:?}");
        let t = ffn_errors(FfnKind::Ternary, 32, 96, activation, 40, seed).unwrap();
        assert!(t.max_abs <= t.bound, "ternary {activation:?}: {t:?}");
    }
}

#[test]
fn ternary_ffn_keeps_biases_and_weights_are_ternary() {
    let mut rng = seeded(3);
    let with_bias = random_ffn(&mut rng, 8, 16, Activation::Relu, true);
    let biased = TernaryFfn::new(&with_bias, FfnFormats::default_design()).unwrap();
    assert!(biased.up().bias().iter().any(|&b| b != 0));
    assert!(biased.down().bias().iter().any(|&b| b != 0));
    // the float reference holds the biases: the outputs stay within the bound
    let bound = biased.error_bound();
    let f = FfnFormats::default_design();
    for k in 0..20 {
        let x = quantize_all("x", &normal_vec(&mut rng, 8, 0.5 + k as f64 / 10.0), f.input).unwrap();
        let (y, want) = (biased.run(&x).unwrap(), biased.float_reference(&x).unwrap());
        for (&y, &w) in y.iter().zip(&want) {
            let e = (f.output.to_f64(i128::from(y)) - w).abs();
            assert!(e <= bound, "token {k}: error {e} > bound {bound}");
        }
    }
    let plain = random_ffn(&mut rng, 8, 16, Activation::Relu, false);
    let t = TernaryFfn::new(&plain, FfnFormats::default_design()).unwrap();
    let w = t.dequantized(Activation::Relu);
    let scale = w.up.weight.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(w.up.weight.iter().all(|&x| x == 0.0 || x.abs() == scale));
    assert!(t.run(&[0; 7]).is_err(), "wrong width is an error");
}

#[test]
fn layer_norm_within_bound() {
    for (n, seed) in [(16, 41), (64, 42), (768, 43)] {
        let l = layer_norm_errors(n, 20, seed).unwrap();
        assert!(l.max_abs <= l.bound, "n={n}: {l:?}");
    }
}

#[test]
fn binarized_scores_equal_the_float_sign_model() {
    let b = binarized_errors(48, 128, 16, 51).unwrap();
    assert_eq!(b.mismatches, 0);
    // SimHash: E|cos(pi h / b) - cos| shrinks like 1/sqrt(b); 128 bits give
    // about 0.1 on random vectors
    assert!(b.mean_angle_error < 0.15, "{b:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn softmax_never_panics_and_sums_near_one(row in prop::collection::vec(any::<i16>(), 1..64)) {
        let model = SoftmaxModel::new(QFormat::signed(16, 10).unwrap(), 64).unwrap();
        let row: Vec<i64> = row.into_iter().map(i64::from).collect();
        let p = model.run(&row).unwrap();
        let sum: f64 = p.iter().map(|&x| f64::from(x) / 65536.0).sum();
        prop_assert!((sum - 1.0).abs() <= 64.0 * 1e-4, "sum {}", sum);
    }

    #[test]
    fn sdpa_never_panics_on_any_16_bit_inputs(
        q in prop::collection::vec(any::<i16>(), 3),
        kv in prop::collection::vec((prop::collection::vec(any::<i16>(), 3), prop::collection::vec(any::<i16>(), 3)), 1..20)
    ) {
        let model = StreamingSdpa::new(SdpaConfig::with_d(3, 32)).unwrap();
        let widen = |v: &Vec<i16>| v.iter().map(|&x| i64::from(x)).collect::<Vec<_>>();
        let keys: Vec<_> = kv.iter().map(|(k, _)| widen(k)).collect();
        let values: Vec<_> = kv.iter().map(|(_, v)| widen(v)).collect();
        let out = model.run_query(&widen(&q), &keys, &values).unwrap();
        prop_assert_eq!(out.len(), 3);
    }

    /// When a query's first key holds its maximum, no slot is ever
    /// rescaled and every merge factor is exp(0) = 1, so the partial
    /// states add up exactly: any number of slots gives the one-state
    /// result, bit for bit.
    #[test]
    fn sdpa_slots_agree_when_the_first_key_is_the_maximum(
        q in prop::collection::vec(-4096i64..4096, 4),
        kv in prop::collection::vec((prop::collection::vec(-4096i64..4096, 4), prop::collection::vec(any::<i16>(), 4)), 1..40),
        slots in 2usize..=16,
    ) {
        let config = SdpaConfig::with_d(4, 64);
        let one = StreamingSdpa::with_slots(config, 1).unwrap();
        let many = StreamingSdpa::with_slots(config, slots).unwrap();
        let mut keys: Vec<Vec<i64>> = kv.iter().map(|(k, _)| k.clone()).collect();
        let values: Vec<Vec<i64>> = kv.iter().map(|(_, v)| v.iter().map(|&x| i64::from(x)).collect()).collect();
        // the highest-scoring key first (ties keep their order)
        let best = (0..keys.len()).max_by_key(|&j| (one.score(&q, &keys[j]), std::cmp::Reverse(j))).unwrap();
        keys.swap(0, best);
        prop_assert_eq!(one.run_query(&q, &keys, &values).unwrap(), many.run_query(&q, &keys, &values).unwrap());
    }

    /// The one-slot model is the textbook recurrence, written out here
    /// independently: rescale sum and accumulators when the maximum grows.
    #[test]
    fn sdpa_one_slot_is_the_textbook_recurrence(
        q in prop::collection::vec(any::<i16>(), 2),
        kv in prop::collection::vec((prop::collection::vec(any::<i16>(), 2), prop::collection::vec(any::<i16>(), 2)), 1..30),
    ) {
        let model = StreamingSdpa::with_slots(SdpaConfig::with_d(2, 32), 1).unwrap();
        let widen = |v: &Vec<i16>| v.iter().map(|&x| i64::from(x)).collect::<Vec<_>>();
        let q = widen(&q);
        let keys: Vec<_> = kv.iter().map(|(k, _)| widen(k)).collect();
        let values: Vec<_> = kv.iter().map(|(_, v)| widen(v)).collect();
        let round15 = |x: i128| ((x + (1 << 14)) >> 15) as i64;
        let (mut max, mut sum, mut acc) = (None::<i64>, 0i64, [0i64; 2]);
        for (k, v) in keys.iter().zip(&values) {
            let s = model.score(&q, k);
            if let Some(m) = max.filter(|&m| s > m) {
                let alpha = i128::from(model.exp().eval(m - s));
                sum = round15(i128::from(sum) * alpha);
                for a in acc.iter_mut() {
                    *a = round15(i128::from(*a) * alpha);
                }
            }
            let m = max.map_or(s, |m| m.max(s));
            max = Some(m);
            let p = i64::from(model.exp().eval(s - m));
            sum += p;
            for (a, x) in acc.iter_mut().zip(v) {
                *a += p * x;
            }
        }
        let inverse = model.reciprocal().eval(sum as u64);
        let out = model.config().output;
        let want: Vec<i64> = acc
            .iter()
            .map(|&a| out.fit(inverse.mul_shift(i128::from(a), out.frac() as i32 - model.config().value.frac() as i32, Rounding::HalfUp), Overflow::Saturate) as i64)
            .collect();
        prop_assert_eq!(model.run_query(&q, &keys, &values).unwrap(), want);
    }
}

#[test]
fn exp_of_zero_is_exactly_one() {
    let model = StreamingSdpa::new(SdpaConfig::with_d(1, 1)).unwrap();
    assert_eq!(model.exp().eval(0), 1 << 15);
}

/// Worst error against f64 over inputs of magnitude up to
/// `max_abs_input`: uniform random, full-magnitude, and orders that make
/// the maximum grow at every key.
fn bounded_input_worst(d: usize, n: usize, seed: u64) -> (f64, f64) {
    let model = StreamingSdpa::new(SdpaConfig::with_d(d, 256)).unwrap();
    (
        model.worst_bounded_input_error(n, seed).unwrap(),
        model.bounded_input_error(),
    )
}

#[test]
fn sdpa_bounded_input_error() {
    let mut overall: f64 = 0.0;
    for d in [1, 8, 16, 64] {
        for n in [1, 16, 256] {
            for seed in 0..6 {
                let (worst, bound) = bounded_input_worst(d, n, 100 * d as u64 + n as u64 + seed);
                assert!(worst <= bound, "d={d} n={n} seed={seed}: {worst} > {bound}");
                overall = overall.max(worst);
            }
        }
    }
    eprintln!("sdpa bounded-input worst error: {overall:.3e}");
}

#[test]
fn layer_norm_holds_its_bound_from_sigma_one_thousandth_to_eight() {
    use hwformer_quant::accuracy::layer_norm_errors_at;
    // Q5.10 holds sigma 8 (to 4 sigma); at sigma 1e-3 an element is about
    // one LSB (9.8e-4) from the mean: the exact sums still normalize it
    let q5_10 = QFormat::signed(16, 10).unwrap();
    for (n, seed) in [(16, 61), (384, 62)] {
        for (sigmas, what) in [
            (1e-3..2e-3, "sigma 1e-3"),
            (1e-3..8.0, "sigma 1e-3 to 8"),
            (6.0..8.0, "sigma 8"),
        ] {
            let l = layer_norm_errors_at(n, q5_10, sigmas, 24, seed).unwrap();
            assert!(l.max_abs <= l.bound, "n={n}, {what}: {l:?}");
        }
    }
}

#[test]
fn layer_norm_normalizes_a_one_lsb_token_exactly_as_float() {
    use hwformer_quant::integer::layer_norm::{IntLayerNorm, LayerNormFormats};
    let f = LayerNormFormats::default_design();
    let ln = IntLayerNorm::new(f, &[1.0; 8], &[0.0; 8], 0.0).unwrap();
    // elements 0 and 1 LSB apart: mean 0.5 LSB, every z is +-1 exactly
    let x = [100, 101, 100, 101, 100, 101, 100, 101];
    let y = ln.run(&x).unwrap();
    let one = 1i64 << f.output.frac();
    assert_eq!(y, vec![-one, one, -one, one, -one, one, -one, one]);
    let constant = ln.run(&[7; 8]).unwrap();
    assert!(
        constant.iter().all(|&v| v == 0),
        "no spread: z = 0 ({constant:?})"
    );
}

#[test]
fn streaming_sdpa_takes_2_to_the_20_keys_within_its_bound() {
    use hwformer_quant::integer::sdpa::{SdpaConfig, StreamingSdpa};
    use rand::Rng;
    let n = 1 << 20;
    let model = StreamingSdpa::new(SdpaConfig::with_d(4, n)).unwrap();
    // the state is the same size whatever n: each key's terms lose 4 bits,
    // so the sum is 32 bits and the accumulators 48, as at 65536 keys
    assert_eq!(model.term_shift(), 4);
    assert_eq!((model.sum_bits(), model.acc_bits()), (32, 48));
    let c = *model.config();
    let x = model.max_abs_input();
    let mut rng = hwformer_quant::random::seeded(20);
    let mut vector = |f: hwformer_quant::QFormat| {
        let real: Vec<f64> = (0..4).map(|_| rng.gen_range(-x..=x)).collect();
        hwformer_quant::integer::quantize_all("x", &real, f).unwrap()
    };
    let q = vector(c.query);
    let keys: Vec<Vec<i64>> = (0..n).map(|_| vector(c.key)).collect();
    let values: Vec<Vec<i64>> = (0..n).map(|_| vector(c.value)).collect();
    let got = model.run_query(&q, &keys, &values).unwrap();
    let want = model.float_reference(&q, &keys, &values).unwrap();
    for (g, w) in got.iter().zip(&want) {
        let e = (c.output.to_f64(i128::from(*g)) - w).abs();
        assert!(e <= model.bounded_input_error(), "error {e}");
    }
    let mut state = model.start(&q).unwrap();
    for (k, v) in keys.iter().zip(&values) {
        model.push(&mut state, k, v).unwrap();
    }
    assert!(
        model.push(&mut state, &keys[0], &values[0]).is_err(),
        "key 2^20 + 1 is refused"
    );
}

#[test]
fn a_seeded_layer_calibrated_on_seeded_tokens_follows_the_float_layer_on_unseen_ones() {
    use hwformer_quant::bert::layer_source::LayerSource;
    use hwformer_quant::bert::seeded::{LayerSize, SeededLayer};
    // the tiny preset's shape
    let size = LayerSize::bert(16, 2, 32, 8);
    let layer = SeededLayer::new(size, 7).unwrap();
    assert_eq!(layer.calibration.sentences, 8);
    let mut worst = f64::INFINITY;
    for k in 0..6 {
        let e = layer.error(&layer.evaluation_sequence(k)).unwrap();
        worst = worst.min(e.worst_token_cosine);
        // an output element is within a few output LSBs of float (post-norm values of about 1)
        assert!(e.max < 0.05, "sequence {k}: {e:?}");
    }
    assert!(worst > 0.999, "worst token cosine {worst}");
    // the same seed gives the same layer, another seed another
    let again = SeededLayer::new(size, 7).unwrap();
    assert_eq!(
        again.run_integer(&layer.evaluation_sequence(0)).unwrap(),
        layer.run_integer(&layer.evaluation_sequence(0)).unwrap()
    );
    let other = SeededLayer::new(size, 8).unwrap();
    assert_ne!(
        other.run_integer(&layer.evaluation_sequence(0)).unwrap().1,
        layer.run_integer(&layer.evaluation_sequence(0)).unwrap().1
    );
    // an empty shape is an error, not a panic
    let bad = LayerSize { head_size: 0, ..size };
    assert!(SeededLayer::new(bad, 7)
        .unwrap_err()
        .to_string()
        .contains("at least 1"));
}

#[test]
fn a_layer_without_layer_norms_with_wider_attention_and_relu_follows_its_float_layer() {
    use hwformer_quant::bert::layer_source::LayerSource;
    use hwformer_quant::bert::seeded::{LayerSize, SeededLayer};
    use hwformer_quant::bert::Tensor;
    use hwformer_quant::reference::Activation;
    // the jet-tagging preset's shape: 6 features, 2 heads of 32, FFN 6 -> 8 -> 6
    let size = LayerSize {
        d_model: 6,
        heads: 2,
        head_size: 32,
        d_ff: 8,
        tokens: 15,
        layer_norm: false,
        activation: Activation::Relu,
        variant: hwformer_quant::bert::integer::Variant::Int16,
    };
    let layer = SeededLayer::new(size, 7).unwrap();
    assert_eq!(layer.weights.attention.query.weight.dim(), (6, 64));
    assert_eq!(layer.weights.attention.output.weight.dim(), (64, 6));
    assert!(layer.weights.norm1.is_none() && layer.weights.norm2.is_none());
    let formats = layer.integer.formats();
    assert_eq!(formats.tensor(Tensor::Norm1), formats.tensor(Tensor::Residual1));
    assert_eq!(formats.tensor(Tensor::Output), formats.tensor(Tensor::Residual2));
    let parts = layer.integer.parts();
    assert!(parts.norm1.is_none() && parts.norm2.is_none());
    assert_eq!(
        (parts.query.d_out(), parts.output.d_in(), parts.head.config().d),
        (64, 64, 32)
    );
    for k in 0..4 {
        let x = layer.evaluation_sequence(k);
        let raw = layer.quantize_input(&x).unwrap();
        let int = layer.integer.run(&raw, &[true; 15]).unwrap();
        assert_eq!(
            int.get(Tensor::Norm1),
            int.get(Tensor::Residual1),
            "no norm: the sum itself"
        );
        assert_eq!(int.get(Tensor::Output), int.get(Tensor::Residual2));
        assert!(int.get(Tensor::Hidden).iter().all(|&h| h >= 0), "ReLU");
        assert!(int.get(Tensor::Hidden).iter().any(|&h| h > 0));
        let e = layer.error(&x).unwrap();
        assert!(
            e.max < 0.05 && e.worst_token_cosine > 0.999,
            "sequence {k}: {e:?}"
        );
    }
}
