//! The ternary (BitLinear) engine alone in rust-hdl's simulator: every
//! output equals `BitLinear::run` bit for bit, tokens from all-zero to
//! full-range, under gaps and back-pressure, with and without biases.

#[macro_use]
mod common;

use hwformer_hdl::ternary_linear::TernaryLinearUnit;
use hwformer_quant::accuracy::random_linear;
use hwformer_quant::integer::bit_linear::{BitLinear, BitLinearFormats};
use hwformer_quant::integer::quantize_all;
use hwformer_quant::random::{normal_vec, seeded};
use hwformer_quant::reference::Activation;
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;

fn model(d_in: usize, d_out: usize, activation: Option<Activation>, bias: bool, seed: u64) -> BitLinear {
    let formats = BitLinearFormats {
        input: QFormat::signed(16, 12).unwrap(),
        scale: QFormat::signed(16, 14).unwrap(),
        output: QFormat::signed(16, 10).unwrap(),
    };
    BitLinear::quantize(
        &random_linear(&mut seeded(seed), d_in, d_out, bias),
        formats,
        activation,
    )
    .unwrap()
}

fn tokens(d_in: usize, count: usize, seed: u64) -> Vec<Vec<i64>> {
    let mut rng = seeded(seed);
    let f = QFormat::signed(16, 12).unwrap();
    let mut tokens: Vec<Vec<i64>> = (0..count)
        .map(|k| quantize_all("x", &normal_vec(&mut rng, d_in, [0.01, 1.0, 3.0][k % 3]), f).unwrap())
        .collect();
    tokens.push(vec![0; d_in]);
    tokens.push(
        (0..d_in)
            .map(|i| if i % 2 == 0 { -32768 } else { 32767 })
            .collect(),
    );
    tokens
}

token_stream_block!(TernaryLinearUnit<P, W2>);

fn run<const P: usize, const W2: usize>(
    model: &BitLinear,
    tokens: &[Vec<i64>],
    valid_p: f64,
    ready_p: f64,
    seed: u64,
) -> Vec<i64> {
    let mut uut = TernaryLinearUnit::<P, W2>::new(model);
    uut.connect_all();
    common::run_tokens(
        &mut uut,
        tokens,
        tokens.len() * model.d_out(),
        valid_p,
        ready_p,
        seed,
    )
}

fn check<const P: usize, const W2: usize>(
    d_in: usize,
    d_out: usize,
    activation: Option<Activation>,
    bias: bool,
) {
    let m = model(d_in, d_out, activation, bias, d_in as u64 * 31 + d_out as u64);
    assert_eq!(m.bias().iter().any(|&b| b != 0), bias);
    let tokens = tokens(d_in, 6, 5);
    let want: Vec<i64> = tokens.iter().flat_map(|x| m.run(x).unwrap()).collect();
    for (valid, ready, seed) in [(1.0, 1.0, 0), (0.5, 0.7, 1), (0.9, 0.3, 2)] {
        let got = run::<P, W2>(&m, &tokens, valid, ready, seed);
        assert_eq!(got, want, "{d_in}x{d_out} P{P} valid {valid} ready {ready}");
    }
}

#[test]
fn ternary_engine_is_bit_exact() {
    check::<2, 4>(8, 4, None, false);
    check::<1, 2>(3, 2, Some(Activation::Relu), false);
    check::<4, 8>(5, 4, Some(Activation::Gelu), false);
    check::<2, 4>(8, 6, None, true);
    check::<4, 8>(5, 8, Some(Activation::Gelu), true);
}
