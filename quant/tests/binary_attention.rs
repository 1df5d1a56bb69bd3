//! Binary attention's integer model: its codes are the signs of the exact
//! projections, its scores the table of `scale (bits - 2h)`, its output
//! within the documented bound of its float reference for inputs over the
//! formats' full ranges, and the hashing approximates float attention
//! better as the code grows.

use hwformer_quant::accuracy::attention_vs_float;
use hwformer_quant::integer::binarized::RandomProjection;
use hwformer_quant::integer::binary_attention::{default_scale, BinaryAttention};
use hwformer_quant::integer::sdpa::SdpaConfig;
use proptest::prelude::*;
use rand::Rng;

fn vectors(rng: &mut impl Rng, rows: usize, d: usize) -> Vec<Vec<i64>> {
    (0..rows)
        .map(|_| (0..d).map(|_| rng.gen_range(-32768..=32767)).collect())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn codes_scores_and_outputs_agree_with_the_float_reference(
        d_log in 0u32..7, bits in 1usize..=64, n in 1usize..40, seed in 0u64..10_000,
    ) {
        let d = 1usize << d_log;
        let model = BinaryAttention::with_seed(d, bits, 256, seed).unwrap();
        let mut rng = hwformer_quant::random::seeded(seed);
        let q = vectors(&mut rng, 1, d).remove(0);
        let (k, v) = (vectors(&mut rng, n, d), vectors(&mut rng, n, d));
        // the code is the sign of the exact projection, sign(0) = +1
        let projected = model.projection().project(&k[0]).unwrap();
        for (r, p) in projected.iter().enumerate() {
            prop_assert_eq!(model.code(&k[0]) >> r & 1 == 1, *p >= 0);
        }
        prop_assert_eq!(model.code(&k[0]).checked_shr(bits as u32).unwrap_or(0), 0);
        // the score table: scale (bits - 2h), rounded to Q5.10
        let scale = model.attention().applied_scale();
        for (h, &s) in model.score_table().iter().enumerate() {
            let want = scale * (bits as f64 - 2.0 * h as f64);
            prop_assert!((s as f64 / 1024.0 - want).abs() <= 0.5 / 1024.0, "h {} {} {}", h, s, want);
        }
        let got = model.run_query(&q, &k, &v).unwrap();
        let want = model.float_reference(&q, &k, &v).unwrap();
        let out = model.attention().config().output;
        for (g, w) in got.iter().zip(&want) {
            let e = (out.to_f64(i128::from(*g)) - w).abs();
            prop_assert!(e <= 64.0 * out.lsb(), "error {} at d {} bits {} n {}", e, d, bits, n);
        }
    }
}

#[test]
fn a_projection_of_other_values_than_signs_is_refused() {
    let e = RandomProjection::from_signs(2, 2, vec![1, -1, 0, 1]).unwrap_err();
    assert!(e.to_string().contains("projection[1][0] = 0"), "{e}");
    let gaussian = RandomProjection::new(4, 8, 1).unwrap();
    let mut config = SdpaConfig::with_d(4, 16);
    config.scale = default_scale(4, 8);
    assert!(BinaryAttention::new(config, gaussian).is_err());
    let e = BinaryAttention::with_seed(4, 65, 16, 1).unwrap_err();
    assert!(e.to_string().contains("bits = 65"), "{e}");
}

#[test]
fn longer_codes_approximate_float_attention_better() {
    // d = 32, N = 128: the cosine similarity of binary attention's outputs
    // with float attention grows with the code, and int16 sdpa is closer
    // than any of them
    let cosine = |bits| attention_vs_float(32, 128, bits, 16, 7).unwrap().mean_cosine;
    let (b8, b64, sdpa) = (cosine(Some(8)), cosine(Some(64)), cosine(None));
    assert!(b8 < b64, "8 bits {b8}, 64 bits {b64}");
    assert!(b64 < sdpa && sdpa > 0.9999, "64 bits {b64}, sdpa {sdpa}");
}
