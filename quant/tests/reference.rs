//! Float reference models: mathematical identities they must satisfy, and
//! named errors for bad input.

use hwformer_quant::accuracy::random_ffn;
use hwformer_quant::random::{normal_vec, seeded};
use hwformer_quant::reference::*;
use hwformer_quant::QuantError;
use ndarray::{array, s, Array1, Array2};

fn random_matrix(seed: u64, rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_vec((rows, cols), normal_vec(&mut seeded(seed), rows * cols, 1.0)).unwrap()
}

fn identity_linear(n: usize) -> Linear {
    Linear {
        weight: Array2::eye(n),
        bias: Array1::zeros(n),
    }
}

#[test]
fn softmax_is_stable_and_normalized() {
    let p = softmax(&[1000.0, 1000.0, -1000.0]).unwrap();
    assert_eq!(p, vec![0.5, 0.5, 0.0]);
    let p = softmax(&[1.0, 2.0, 3.0]).unwrap();
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    assert!((p[2] / p[1] - std::f64::consts::E).abs() < 1e-12);
    assert!(matches!(softmax(&[]), Err(QuantError::Empty(_))));
    assert!(matches!(
        softmax(&[1.0, f64::NAN]),
        Err(QuantError::NonFinite { .. })
    ));
}

#[test]
fn sdpa_identities() {
    let v = random_matrix(1, 5, 3);
    // a zero query weights all keys equally: the mean of the values
    let out = sdpa(
        Array2::zeros((1, 4)).view(),
        random_matrix(2, 5, 4).view(),
        v.view(),
        0.5,
    )
    .unwrap();
    let mean = v.mean_axis(ndarray::Axis(0)).unwrap();
    assert!((&out.row(0) - &mean).iter().all(|e| e.abs() < 1e-12));
    // a single key returns its value
    let out = sdpa(
        random_matrix(3, 2, 4).view(),
        random_matrix(4, 1, 4).view(),
        v.slice(s![0..1, ..]),
        1.0,
    )
    .unwrap();
    assert!((&out.row(1) - &v.row(0)).iter().all(|e| e.abs() < 1e-12));
}

#[test]
fn sdpa_shape_errors_are_named() {
    let err = sdpa(
        random_matrix(1, 2, 4).view(),
        random_matrix(2, 3, 5).view(),
        random_matrix(3, 3, 4).view(),
        1.0,
    );
    assert!(matches!(err, Err(QuantError::ShapeMismatch { .. })));
    let err = sdpa(
        random_matrix(1, 2, 4).view(),
        random_matrix(2, 3, 4).view(),
        random_matrix(3, 2, 4).view(),
        1.0,
    );
    assert!(matches!(err, Err(QuantError::ShapeMismatch { .. })));
    let mut q = random_matrix(1, 2, 4);
    q[[1, 1]] = f64::INFINITY;
    let err = sdpa(
        q.view(),
        random_matrix(2, 3, 4).view(),
        random_matrix(3, 3, 4).view(),
        1.0,
    );
    assert!(matches!(err, Err(QuantError::NonFinite { .. })));
}

#[test]
fn multi_head_attention_with_identity_projections_is_per_head_sdpa() {
    let x = random_matrix(7, 6, 8);
    let w = MultiHeadWeights {
        query: identity_linear(8),
        key: identity_linear(8),
        value: identity_linear(8),
        output: identity_linear(8),
        heads: 2,
    };
    let out = multi_head_attention(x.view(), &w).unwrap();
    let head1 = sdpa(
        x.slice(s![.., 4..8]),
        x.slice(s![.., 4..8]),
        x.slice(s![.., 4..8]),
        0.5,
    )
    .unwrap();
    assert!((&out.slice(s![.., 4..8]) - &head1)
        .iter()
        .all(|e| e.abs() < 1e-12));
    let bad = MultiHeadWeights { heads: 3, ..w };
    assert!(matches!(
        multi_head_attention(x.view(), &bad),
        Err(QuantError::InvalidParameter(_))
    ));
}

#[test]
fn ffn_and_layer_norm() {
    let w = FfnWeights {
        up: identity_linear(3),
        down: identity_linear(3),
        activation: Activation::Relu,
    };
    let out = ffn(array![[1.0, -2.0, 3.0]].view(), &w).unwrap();
    assert_eq!(out, array![[1.0, 0.0, 3.0]]);
    let x = random_matrix(9, 4, 16);
    let y = layer_norm(x.view(), Array1::ones(16).view(), Array1::zeros(16).view(), 0.0).unwrap();
    for row in y.rows() {
        assert!(row.mean().unwrap().abs() < 1e-12);
        assert!((row.mapv(|v| v * v).mean().unwrap() - 1.0).abs() < 1e-12);
    }
    let bad = layer_norm(x.view(), Array1::ones(15).view(), Array1::zeros(16).view(), 0.0);
    assert!(matches!(bad, Err(QuantError::ShapeMismatch { .. })));
}

#[test]
fn encoder_layer_runs_and_normalizes() {
    let mut rng = seeded(77);
    let width = 8;
    let linear = |seed| Linear {
        weight: random_matrix(seed, width, width) * 0.3,
        bias: Array1::zeros(width),
    };
    let w = EncoderWeights {
        attention: MultiHeadWeights {
            query: linear(1),
            key: linear(2),
            value: linear(3),
            output: linear(4),
            heads: 2,
        },
        ffn: random_ffn(&mut rng, width, 32, Activation::Gelu, true),
        norm1: Some((Array1::ones(width), Array1::zeros(width))),
        norm2: Some((Array1::ones(width), Array1::zeros(width))),
        eps: 1e-12,
    };
    let out = encoder_layer(random_matrix(5, 5, width).view(), &w).unwrap();
    assert_eq!(out.dim(), (5, width));
    for row in out.rows() {
        assert!(row.mean().unwrap().abs() < 1e-9, "post-norm output has zero mean");
    }
    assert!(encoder_layer(random_matrix(5, 5, width + 1).view(), &w).is_err());
}

#[test]
fn binary_scores_count_sign_agreements() {
    let q = array![[1.0, -1.0, 0.0, 2.0]];
    let k = array![[1.0, 1.0, -0.5, 3.0]];
    // signs: q = + - + +, k = + + - + : agree on 2, differ on 2
    assert_eq!(binary_scores(q.view(), k.view(), None).unwrap()[[0, 0]], 0.0);
    assert_eq!(binary_scores(q.view(), q.view(), None).unwrap()[[0, 0]], 4.0);
}
