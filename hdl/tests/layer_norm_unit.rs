//! The layer norm block in rust-hdl's simulator: every output equals
//! `IntLayerNorm::run` bit for bit, for tokens from one LSB of spread to
//! the full range, under gaps and back-pressure.

#[macro_use]
mod common;

use hwformer_hdl::layer_norm::LayerNormUnit;
use hwformer_quant::integer::layer_norm::{IntLayerNorm, LayerNormFormats};
use hwformer_quant::integer::quantize_all;
use hwformer_quant::random::{normal_vec, seeded};
use hwformer_quant::QFormat;
use rand::Rng;
use rust_hdl::prelude::*;

fn model(n: usize, input: QFormat, eps: f64) -> IntLayerNorm {
    let mut rng = seeded(n as u64);
    let gamma: Vec<f64> = normal_vec(&mut rng, n, 0.3).iter().map(|g| 1.0 + g).collect();
    let beta = normal_vec(&mut rng, n, 0.3);
    let formats = LayerNormFormats {
        input,
        ..LayerNormFormats::default_design()
    };
    IntLayerNorm::new(formats, &gamma, &beta, eps).unwrap()
}

fn tokens(n: usize, format: QFormat) -> Vec<Vec<i64>> {
    let mut rng = seeded(3);
    let mut tokens: Vec<Vec<i64>> = [1e-3, 1e-2, 1.0, 8.0]
        .iter()
        .map(|&sigma| {
            let mean = rng.gen_range(-1.0..1.0);
            let v: Vec<f64> = normal_vec(&mut rng, n, sigma).iter().map(|x| x + mean).collect();
            quantize_all("x", &v, format).unwrap()
        })
        .collect();
    tokens.push(vec![5; n]);
    tokens.push((0..n).map(|i| if i % 2 == 0 { -32768 } else { 32767 }).collect());
    tokens.push((0..n).map(|i| 100 + (i % 2) as i64).collect());
    tokens
}

token_stream_block!(LayerNormUnit);

fn run(model: &IntLayerNorm, tokens: &[Vec<i64>], valid_p: f64, ready_p: f64, seed: u64) -> Vec<i64> {
    let mut uut = LayerNormUnit::new(model);
    uut.connect_all();
    common::run_tokens(&mut uut, tokens, tokens.len() * model.n(), valid_p, ready_p, seed)
}

#[test]
fn layer_norm_is_bit_exact_from_one_lsb_of_spread_to_the_full_range() {
    for (n, input, eps) in [
        (16, QFormat::signed(16, 12).unwrap(), 1e-5),
        (7, QFormat::signed(16, 10).unwrap(), 1e-12),
        (40, QFormat::signed(16, 10).unwrap(), 0.0),
    ] {
        let m = model(n, input, eps);
        let tokens = tokens(n, input);
        let want: Vec<i64> = tokens.iter().flat_map(|x| m.run(x).unwrap()).collect();
        for (valid, ready, seed) in [(1.0, 1.0, 0), (0.6, 0.6, 1), (1.0, 0.3, 2)] {
            let got = run(&m, &tokens, valid, ready, seed);
            assert_eq!(got, want, "n {n} {input} valid {valid} ready {ready}");
        }
    }
}

#[test]
fn layer_norm_is_bit_exact_at_the_largest_sums() {
    // n = 1024, every element at the format's ends: |S| up to 2^25 and
    // Q up to 2^40, the widths the setup's narrowed adders are cut for
    let n = hwformer_quant::integer::layer_norm::LAYER_NORM_N_MAX;
    let input = QFormat::signed(16, 12).unwrap();
    let m = model(n, input, 1e-5);
    let mut rng = seeded(9);
    let tokens = vec![
        vec![-32768; n],
        vec![32767; n],
        (0..n).map(|i| if i == 0 { 32767 } else { -32768 }).collect(),
        (0..n)
            .map(|_| if rng.gen_bool(0.9) { -32768 } else { 32767 })
            .collect::<Vec<i64>>(),
    ];
    let want: Vec<i64> = tokens.iter().flat_map(|x| m.run(x).unwrap()).collect();
    assert_eq!(run(&m, &tokens, 1.0, 1.0, 0), want);
}
