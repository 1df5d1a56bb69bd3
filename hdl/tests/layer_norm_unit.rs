//! The layer norm block in rust-hdl's simulator: every output equals
//! `IntLayerNorm::run` bit for bit, for tokens from one LSB of spread to
//! the full range, under gaps and back-pressure.

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

fn run(model: &IntLayerNorm, tokens: &[Vec<i64>], valid_p: f64, ready_p: f64, seed: u64) -> Vec<i64> {
    let mut uut = LayerNormUnit::new(model);
    uut.connect_all();
    let mut rng = seeded(seed);
    let beats: Vec<i64> = tokens.iter().flatten().copied().collect();
    let (mut next, mut cycle, mut outputs) = (0, 0u64, Vec::new());
    while outputs.len() < beats.len() {
        assert!(cycle < 100 * (beats.len() as u64 + 50), "stuck at cycle {cycle}");
        let valid = next < beats.len() && rng.gen_bool(valid_p);
        let ready = rng.gen_bool(ready_p);
        uut.s_axis_x_tvalid.next = valid;
        uut.s_axis_x_tdata.next = bits::<16>(beats.get(next).copied().unwrap_or(0) as u16 as u64);
        uut.m_axis_y_tready.next = ready;
        uut.clock.next = false.into();
        assert!(simulate(&mut uut, 500));
        if ready && uut.m_axis_y_tvalid.val() {
            outputs.push(i64::from(uut.m_axis_y_tdata.val().to_u64() as u16 as i16));
        }
        if valid && uut.s_axis_x_tready.val() {
            next += 1;
        }
        uut.clock.next = true.into();
        assert!(simulate(&mut uut, 500));
        cycle += 1;
    }
    outputs
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
