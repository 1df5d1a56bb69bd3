//! Accuracy measurements: every integer model and table against f64.
//!
//! `hwformer quant` prints [`AccuracyReport::measure`]'s table; the tests
//! call the same functions with other seeds and assert the bounds. All
//! inputs come from a seed, so every number can be reproduced.

use crate::error::Result;
use crate::format::QFormat;
use crate::integer::binarized::{binary_scores, RandomProjection};
use crate::integer::ffn::{FfnFormats, IntFfn, TernaryFfn};
use crate::integer::layer_norm::{IntLayerNorm, LayerNormFormats};
use crate::integer::sdpa::{SdpaConfig, StreamingSdpa};
use crate::integer::softmax::SoftmaxModel;
use crate::integer::{dequantize_all, quantize_all};
use crate::random::{normal_vec, seeded, SeededRng};
use crate::reference::{self, Activation, FfnWeights, Linear};
use crate::tables::exp::{EXP_ERROR_BOUND, EXP_OUT_FRAC};
use crate::tables::gelu::{gelu_f64, GELU_ERROR_BOUND};
use crate::tables::inv_sqrt::INV_SQRT_RELATIVE_ERROR;
use crate::tables::reciprocal::RECIPROCAL_RELATIVE_ERROR;
use crate::tables::{ExpNeg, Gelu, InvSqrt, Reciprocal};
use ndarray::{Array1, Array2};
use rand::Rng;
use serde::Serialize;

/// Worst absolute error of [`ExpNeg`] over every non-positive input.
pub fn exp_sweep(format: QFormat) -> Result<f64> {
    let exp = ExpNeg::new(format)?;
    let lsb = (-(EXP_OUT_FRAC as f64)).exp2();
    Ok(((format.min_raw() as i64)..=0)
        .map(|x| (f64::from(exp.eval(x)) * lsb - format.to_f64(x as i128).exp()).abs())
        .fold(0.0, f64::max))
}

/// Every 16-bit value, then every 16-bit mantissa of wider values with the
/// truncated tail all zeros and all ones (the extremes of truncation).
fn positive_domain() -> impl Iterator<Item = u64> {
    let wide = (0x8000u64..=0xffff).flat_map(|m| {
        [1u32, 20].into_iter().flat_map(move |shift| {
            [0, (1u64 << shift) - 1]
                .into_iter()
                .map(move |tail| (m << shift) | tail)
        })
    });
    (1u64..=0xffff).chain(wide)
}

/// Worst relative error of [`Reciprocal`] over [`positive_domain`].
pub fn reciprocal_sweep() -> Result<f64> {
    let r = Reciprocal::new()?;
    Ok(positive_domain()
        .map(|x| (r.eval(x).to_f64() * x as f64 - 1.0).abs())
        .fold(0.0, f64::max))
}

/// Worst relative error of [`InvSqrt`] for inputs with `frac` fractional
/// bits over [`positive_domain`].
pub fn inv_sqrt_sweep(frac: u32) -> Result<f64> {
    let s = InvSqrt::new()?;
    let scale = f64::from(frac).exp2();
    Ok(positive_domain()
        .map(|x| (s.eval(x, frac).to_f64() * (x as f64 / scale).sqrt() - 1.0).abs())
        .fold(0.0, f64::max))
}

/// Worst absolute error of [`Gelu`] over every input: (whole domain, |x| <= 4).
pub fn gelu_sweep(format: QFormat) -> Result<(f64, f64)> {
    let g = Gelu::new(format)?;
    let (mut whole, mut within_4) = (0.0f64, 0.0f64);
    for x in (format.min_raw() as i64)..=(format.max_raw() as i64) {
        let real = format.to_f64(x as i128);
        let err = (format.to_f64(g.eval(x) as i128) - gelu_f64(real)).abs();
        whole = whole.max(err);
        if real.abs() <= 4.0 {
            within_4 = within_4.max(err);
        }
    }
    Ok((whole, within_4))
}

/// What a softmax run measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SoftmaxStats {
    /// Rows tested.
    pub rows: usize,
    /// Worst |p_int - p_float| over all elements.
    pub max_abs: f64,
    /// Rows whose float top-2 margin exceeds one output LSB.
    pub eligible_rows: usize,
    /// Eligible rows whose integer argmax differs from the float argmax.
    pub argmax_flips: usize,
}

/// A random row: length from 1 to `n_max` (a quarter at `n_max`, a
/// quarter at most 4), logits normal with a deviation from 0.25 to 8,
/// some rows with a near-tie at the top.
pub fn random_logit_row(rng: &mut SeededRng, n_max: usize) -> Vec<f64> {
    let len = match rng.gen_range(0..4) {
        0 => n_max,
        1 => rng.gen_range(1..=4.min(n_max)),
        _ => rng.gen_range(1..=n_max),
    };
    let sigma = [0.25, 1.0, 2.0, 4.0, 8.0][rng.gen_range(0..5)];
    let mut row = normal_vec(rng, len, sigma);
    if len > 1 && rng.gen_bool(0.1) {
        // many tiny terms: one logit far above the rest (each of the rest
        // contributes less than half a UQ1.15 LSB)
        let top = rng.gen_range(0..len);
        for (i, v) in row.iter_mut().enumerate() {
            *v = if i == top { 11.0 } else { rng.gen_range(-0.2..0.0) };
        }
    } else if len > 1 && rng.gen_bool(0.25) {
        // near tie: the second largest a few LSBs below the largest
        let (top, _) = row
            .iter()
            .enumerate()
            .fold((0, f64::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
        let other = (top + 1) % len;
        row[other] = row[top] - f64::from(rng.gen_range(0..4)) / 1024.0;
    }
    row
}

/// First index of the largest value (ties go to the lowest index).
fn argmax<T: PartialOrd + Copy>(values: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Softmax model against f64 softmax of the same dequantized logits.
pub fn softmax_errors(model: &SoftmaxModel, rows: usize, seed: u64) -> Result<SoftmaxStats> {
    let mut rng = seeded(seed);
    let out_lsb = model.output().lsb();
    let mut stats = SoftmaxStats {
        rows,
        max_abs: 0.0,
        eligible_rows: 0,
        argmax_flips: 0,
    };
    for _ in 0..rows {
        let raw = quantize_all("logit", &random_logit_row(&mut rng, model.n_max()), model.input())?;
        let got = model.run(&raw)?;
        let want = reference::softmax(&dequantize_all(&raw, model.input()))?;
        for (g, w) in got.iter().zip(&want) {
            stats.max_abs = stats.max_abs.max((f64::from(*g) * out_lsb - w).abs());
        }
        let top = argmax(&want);
        let second = want
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != top)
            .map(|(_, &p)| p)
            .fold(0.0, f64::max);
        if want.len() > 1 && want[top] - second > out_lsb {
            stats.eligible_rows += 1;
            if argmax(&got) != top {
                stats.argmax_flips += 1;
            }
        }
    }
    Ok(stats)
}

/// What a streaming attention run measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SdpaStats {
    /// Worst |out_int - out_float| over all output elements.
    pub max_abs: f64,
    /// ||out_int - out_float||_2 / ||out_float||_2 over all outputs.
    pub relative_l2: f64,
    /// The model's documented bound.
    pub bound: f64,
}

/// Streaming SDPA (default formats) against f64 attention with the
/// applied scale, on standard normal q, k, v.
pub fn sdpa_errors(d: usize, keys: usize, queries: usize, seed: u64) -> Result<SdpaStats> {
    sdpa_errors_with_slots(d, keys, queries, seed, crate::integer::sdpa::SDPA_SLOTS)
}

/// [`sdpa_errors`] for a model with `slots` partial states (1: the
/// one-state recurrence, for comparison with the hardware's).
pub fn sdpa_errors_with_slots(
    d: usize,
    keys: usize,
    queries: usize,
    seed: u64,
    slots: usize,
) -> Result<SdpaStats> {
    let model = StreamingSdpa::with_slots(SdpaConfig::with_d(d, keys), slots)?;
    let c = *model.config();
    let mut rng = seeded(seed);
    let mut matrix = |rows: usize, format: QFormat| -> Result<Vec<Vec<i64>>> {
        (0..rows)
            .map(|_| quantize_all("input", &normal_vec(&mut rng, d, 1.0), format))
            .collect()
    };
    let q = matrix(queries, c.query)?;
    let k = matrix(keys, c.key)?;
    let v = matrix(keys, c.value)?;
    let to_array = |m: &[Vec<i64>], f: QFormat| {
        Array2::from_shape_fn((m.len(), d), |(i, j)| f.to_f64(i128::from(m[i][j])))
    };
    let want = reference::sdpa(
        to_array(&q, c.query).view(),
        to_array(&k, c.key).view(),
        to_array(&v, c.value).view(),
        model.applied_scale(),
    )?;
    let (mut max_abs, mut err2, mut ref2) = (0.0f64, 0.0, 0.0);
    for (i, query) in q.iter().enumerate() {
        let got = model.run_query(query, &k, &v)?;
        for (j, &g) in got.iter().enumerate() {
            let w = want[[i, j]];
            let e = c.output.to_f64(i128::from(g)) - w;
            max_abs = max_abs.max(e.abs());
            err2 += e * e;
            ref2 += w * w;
        }
    }
    Ok(SdpaStats {
        max_abs,
        relative_l2: (err2 / ref2).sqrt(),
        bound: model.error_bound(),
    })
}

/// A measured error and the bound it must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BoundedError {
    /// Worst error seen.
    pub max_abs: f64,
    /// The model's documented bound for these weights and inputs.
    pub bound: f64,
}

/// A random layer (`inputs` -> `outputs`), weights N(0, 1 / inputs), biases
/// N(0, 0.01) or zero.
pub fn random_linear(rng: &mut SeededRng, inputs: usize, outputs: usize, bias: bool) -> Linear {
    let sigma = 1.0 / (inputs as f64).sqrt();
    Linear {
        weight: Array2::from_shape_vec((inputs, outputs), normal_vec(rng, inputs * outputs, sigma))
            .expect("shape matches length"),
        bias: if bias {
            Array1::from(normal_vec(rng, outputs, 0.1))
        } else {
            Array1::zeros(outputs)
        },
    }
}

/// Random FFN weights (`model` -> `hidden` -> `model`), scaled by fan-in.
pub fn random_ffn(
    rng: &mut SeededRng,
    model: usize,
    hidden: usize,
    activation: Activation,
    bias: bool,
) -> FfnWeights {
    FfnWeights {
        up: random_linear(rng, model, hidden, bias),
        down: random_linear(rng, hidden, model, bias),
        activation,
    }
}

/// Worst error of `run` against the float FFN with `reference_weights`
/// over `tokens` random tokens.
fn ffn_max_error(
    run: impl Fn(&[i64]) -> Result<Vec<i64>>,
    reference_weights: &FfnWeights,
    formats: FfnFormats,
    tokens: usize,
    rng: &mut SeededRng,
) -> Result<f64> {
    let width = reference_weights.up.weight.nrows();
    let mut worst: f64 = 0.0;
    for _ in 0..tokens {
        let x = quantize_all("token", &normal_vec(rng, width, 1.0), formats.input)?;
        let xf = Array2::from_shape_vec((1, width), dequantize_all(&x, formats.input)).expect("shape");
        let want = reference::ffn(xf.view(), reference_weights)?;
        for (g, w) in run(&x)?.iter().zip(want.iter()) {
            worst = worst.max((formats.output.to_f64(i128::from(*g)) - w).abs());
        }
    }
    Ok(worst)
}

/// Which integer FFN to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FfnKind {
    /// [`IntFfn`]: int16 weights with biases.
    Int16,
    /// [`TernaryFfn`]: {-1, 0, +1} weights, one scale per matrix, no biases.
    Ternary,
}

/// An integer FFN against the float FFN on its own dequantized weights.
pub fn ffn_errors(
    kind: FfnKind,
    model: usize,
    hidden: usize,
    activation: Activation,
    tokens: usize,
    seed: u64,
) -> Result<BoundedError> {
    let mut rng = seeded(seed);
    let formats = FfnFormats::default_design();
    let weights = random_ffn(&mut rng, model, hidden, activation, kind == FfnKind::Int16);
    type Run = Box<dyn Fn(&[i64]) -> Result<Vec<i64>>>;
    let (run, reference_weights, bound): (Run, FfnWeights, f64) = match kind {
        FfnKind::Int16 => {
            let ffn = IntFfn::new(&weights, formats)?;
            let (w, b) = (ffn.dequantized(activation), ffn.error_bound());
            (Box::new(move |x| ffn.run(x)), w, b)
        }
        FfnKind::Ternary => {
            let ffn = TernaryFfn::new(&weights, formats)?;
            let (w, b) = (ffn.dequantized(activation), ffn.error_bound());
            (Box::new(move |x| ffn.run(x)), w, b)
        }
    };
    Ok(BoundedError {
        max_abs: ffn_max_error(run, &reference_weights, formats, tokens, &mut rng)?,
        bound,
    })
}

/// Layer norm against f64 on the same quantized gamma and beta (eps
/// 1e-5 in both), for inputs `mean + N(0, sigma)` with sigma from
/// `sigmas`, in `input` (the normalized, affine and output formats are the
/// default design's).
pub fn layer_norm_errors_at(
    n: usize,
    input: QFormat,
    sigmas: std::ops::Range<f64>,
    vectors: usize,
    seed: u64,
) -> Result<BoundedError> {
    let mut rng = seeded(seed);
    let formats = LayerNormFormats {
        input,
        ..LayerNormFormats::default_design()
    };
    let gamma: Vec<f64> = normal_vec(&mut rng, n, 0.2).iter().map(|g| 1.0 + g).collect();
    let beta = normal_vec(&mut rng, n, 0.2);
    let ln = IntLayerNorm::new(formats, &gamma, &beta, 1e-5)?;
    let mut worst: f64 = 0.0;
    for _ in 0..vectors {
        // log-uniform spread, so small sigmas are as often drawn as large
        let sigma = rng.gen_range(sigmas.start.ln()..sigmas.end.ln()).exp();
        let mean = rng.gen_range(-1.0..1.0);
        let values: Vec<f64> = normal_vec(&mut rng, n, sigma).iter().map(|v| v + mean).collect();
        let x = quantize_all("layer norm input", &values, formats.input)?;
        let want = ln.float_reference(&x)?;
        for (got, w) in ln.run(&x)?.iter().zip(want.iter()) {
            if w.abs() < formats.output.max_value() {
                worst = worst.max((formats.output.to_f64(i128::from(*got)) - w).abs());
            }
        }
    }
    Ok(BoundedError {
        max_abs: worst,
        bound: ln.error_bound(),
    })
}

/// Layer norm in the default design (Q3.12 in), sigma in [0.25, 2].
pub fn layer_norm_errors(n: usize, vectors: usize, seed: u64) -> Result<BoundedError> {
    layer_norm_errors_at(
        n,
        LayerNormFormats::default_design().input,
        0.25..2.0,
        vectors,
        seed,
    )
}

/// Binarized scores: integer XNOR/popcount against the f64 sign model
/// (must be equal), and how well a `bits`-bit hash estimates the angle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BinarizedStats {
    /// Score pairs compared.
    pub pairs: usize,
    /// Pairs where integer and float binarized scores differ.
    pub mismatches: usize,
    /// Mean |cos(pi * hamming / bits) - cos(q, k)| of the hashed scores.
    pub mean_angle_error: f64,
}

/// Binarized attention scores with and without a random projection.
pub fn binarized_errors(d: usize, bits: usize, vectors: usize, seed: u64) -> Result<BinarizedStats> {
    let mut rng = seeded(seed);
    let format = QFormat::signed(16, 12)?;
    let mut draw = |count: usize| -> Result<Vec<Vec<i64>>> {
        (0..count)
            .map(|_| quantize_all("vector", &normal_vec(&mut rng, d, 1.0), format))
            .collect()
    };
    let (q, k) = (draw(vectors)?, draw(vectors)?);
    let projection = RandomProjection::new(d, bits, seed ^ 0x9e37_79b9)?;
    let to_array = |m: &[Vec<i64>], f: QFormat| {
        Array2::from_shape_fn((m.len(), m[0].len()), |(i, j)| f.to_f64(i128::from(m[i][j])))
    };
    let (qf, kf) = (to_array(&q, format), to_array(&k, format));
    let rows = projection
        .weights()
        .chunks(d)
        .map(|r| r.to_vec())
        .collect::<Vec<_>>();
    let pf = to_array(&rows, projection.format());
    let mut mismatches = 0;
    for (proj_int, proj_float) in [(None, None), (Some(&projection), Some(pf.view()))] {
        let got = binary_scores(&q, &k, format, proj_int)?;
        let want = reference::binary_scores(qf.view(), kf.view(), proj_float)?;
        for (i, row) in got.iter().enumerate() {
            mismatches += row
                .iter()
                .enumerate()
                .filter(|&(j, &s)| s as f64 != want[[i, j]])
                .count();
        }
    }
    let hashed = binary_scores(&q, &k, format, Some(&projection))?;
    let mut angle_error = 0.0;
    for (i, row) in hashed.iter().enumerate() {
        for (j, &score) in row.iter().enumerate() {
            let hamming = (bits as f64 - score as f64) / 2.0;
            let estimate = (std::f64::consts::PI * hamming / bits as f64).cos();
            let (a, b) = (qf.row(i), kf.row(j));
            let cosine = a.dot(&b) / (a.dot(&a).sqrt() * b.dot(&b).sqrt());
            angle_error += (estimate - cosine).abs();
        }
    }
    let pairs = vectors * vectors;
    Ok(BinarizedStats {
        pairs: 2 * pairs,
        mismatches,
        mean_angle_error: angle_error / pairs as f64,
    })
}

/// An attention head's outputs against float softmax attention
/// (`softmax(q.k / sqrt(d)) v` on the same dequantized inputs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AttentionAgreement {
    /// Largest |output - float| over every element.
    pub max_abs: f64,
    /// Root mean square of the element errors.
    pub rms: f64,
    /// Mean cosine similarity of an output vector with the float one.
    pub mean_cosine: f64,
    /// Smallest such cosine similarity.
    pub min_cosine: f64,
}

/// Binary attention with `bits` code bits (None: the int16 streaming
/// sdpa) against float attention with scale `1/sqrt(d)`: `queries` queries
/// of `n` keys, q, k, v standard normal in Q3.12, seeded. This is the
/// approximation a binarized head makes, not its error against its own
/// float reference (the manifest's bound).
pub fn attention_vs_float(
    d: usize,
    n: usize,
    bits: Option<usize>,
    queries: usize,
    seed: u64,
) -> Result<AttentionAgreement> {
    use crate::integer::binary_attention::BinaryAttention;
    let sdpa = StreamingSdpa::new(SdpaConfig::with_d(d, n))?;
    let binary = match bits {
        Some(b) => Some(BinaryAttention::with_seed(d, b, n, seed ^ 0x5eed)?),
        None => None,
    };
    let c = *sdpa.config();
    let mut rng = seeded(seed);
    let mut draw = |rows: usize| -> Result<Vec<Vec<i64>>> {
        (0..rows)
            .map(|_| quantize_all("input", &normal_vec(&mut rng, d, 1.0), c.query))
            .collect()
    };
    let (q, k, v) = (draw(queries)?, draw(n)?, draw(n)?);
    let to_array =
        |m: &[Vec<i64>]| Array2::from_shape_fn((m.len(), d), |(i, j)| c.query.to_f64(i128::from(m[i][j])));
    let want = reference::sdpa(
        to_array(&q).view(),
        to_array(&k).view(),
        to_array(&v).view(),
        1.0 / (d as f64).sqrt(),
    )?;
    let (mut max_abs, mut sum2, mut cosines) = (0.0f64, 0.0, Vec::with_capacity(queries));
    for (i, query) in q.iter().enumerate() {
        let got = match &binary {
            Some(b) => b.run_query(query, &k, &v)?,
            None => sdpa.run_query(query, &k, &v)?,
        };
        let got: Vec<f64> = got.iter().map(|&g| c.output.to_f64(i128::from(g))).collect();
        let (mut dot, mut gg, mut ww) = (0.0, 0.0, 0.0);
        for (j, &g) in got.iter().enumerate() {
            let w = want[[i, j]];
            max_abs = max_abs.max((g - w).abs());
            sum2 += (g - w) * (g - w);
            dot += g * w;
            gg += g * g;
            ww += w * w;
        }
        cosines.push(dot / (gg.sqrt() * ww.sqrt()).max(f64::MIN_POSITIVE));
    }
    Ok(AttentionAgreement {
        max_abs,
        rms: (sum2 / (queries * d) as f64).sqrt(),
        mean_cosine: cosines.iter().sum::<f64>() / queries as f64,
        min_cosine: cosines.iter().copied().fold(f64::INFINITY, f64::min),
    })
}

/// One line of the accuracy table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// The model or table measured.
    pub subject: String,
    /// What was measured against f64, e.g. "max abs error".
    pub metric: String,
    /// The measured value.
    pub measured: f64,
    /// The target or documented bound it must not exceed, if any.
    pub limit: Option<f64>,
    /// Inputs and formats used.
    pub conditions: String,
}

impl Measurement {
    /// Whether the measurement is within its limit (true when it has none).
    pub fn passes(&self) -> bool {
        self.limit.is_none_or(|l| self.measured <= l)
    }
}

/// The table `hwformer quant` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccuracyReport {
    /// Seed of every random input.
    pub seed: u64,
    /// One line per measurement.
    pub measurements: Vec<Measurement>,
}

impl AccuracyReport {
    /// Runs every measurement (about a second in release builds).
    pub fn measure(seed: u64) -> Result<Self> {
        let mut m = Vec::new();
        let mut add = |subject: &str, metric: &str, measured: f64, limit: Option<f64>, conditions: String| {
            m.push(Measurement {
                subject: subject.into(),
                metric: metric.into(),
                measured,
                limit,
                conditions,
            })
        };
        let q5_10 = QFormat::signed(16, 10)?;
        let softmax = SoftmaxModel::default_design();
        let rows = 4000;
        let s = softmax_errors(&softmax, rows, seed)?;
        let cond = format!(
            "Q5.10 logits, {rows} rows of 1..256, UQ0.16 out, 2x256-entry exp + 256-entry reciprocal tables"
        );
        add(
            "softmax",
            "max abs error",
            s.max_abs,
            Some(SoftmaxModel::ERROR_BOUND),
            cond,
        );
        add(
            "softmax",
            "argmax flips (margin > 1 LSB)",
            s.argmax_flips as f64,
            Some(0.0),
            format!(
                "{} of {rows} rows had a top-2 margin above 2^-16",
                s.eligible_rows
            ),
        );
        add(
            "exp table",
            "max abs error",
            exp_sweep(q5_10)?,
            Some(EXP_ERROR_BOUND),
            "every x <= 0 in Q5.10, UQ1.15 out".into(),
        );
        add(
            "reciprocal",
            "max relative error",
            reciprocal_sweep()?,
            Some(RECIPROCAL_RELATIVE_ERROR),
            "every 16-bit input and 16-bit mantissa".into(),
        );
        add(
            "inverse sqrt",
            "max relative error",
            inv_sqrt_sweep(0)?.max(inv_sqrt_sweep(1)?),
            Some(INV_SQRT_RELATIVE_ERROR),
            "every 16-bit input and mantissa, both exponent parities".into(),
        );
        let (whole, within_4) = gelu_sweep(q5_10)?;
        add(
            "GELU",
            "max abs error on [-4, 4]",
            within_4,
            Some(0.01),
            "every Q5.10 input in [-4, 4]".into(),
        );
        add(
            "GELU",
            "max abs error, whole domain",
            whole,
            Some(GELU_ERROR_BOUND),
            "every Q5.10 input".into(),
        );
        let (d, n, queries) = (64, 1024, 16);
        let a = sdpa_errors(d, n, queries, seed)?;
        let cond = format!("d={d}, N={n}, {queries} queries, N(0,1) q/k/v in Q3.12, Q5.10 scores, Q3.12 out");
        add(
            "streaming SDPA",
            "max abs error",
            a.max_abs,
            Some(a.bound),
            cond.clone(),
        );
        add(
            "streaming SDPA",
            "relative L2 error",
            a.relative_l2,
            None,
            cond.clone(),
        );
        // the same inputs through the one-state recurrence: the hardware's
        // four partial states must not be worse
        let one = sdpa_errors_with_slots(d, n, queries, seed, 1)?;
        let cond = format!("{cond}; one partial state instead of the hardware's four");
        add(
            "streaming SDPA, one state",
            "max abs error",
            one.max_abs,
            Some(one.bound),
            cond.clone(),
        );
        add(
            "streaming SDPA, one state",
            "relative L2 error",
            one.relative_l2,
            None,
            cond,
        );
        let f = ffn_errors(FfnKind::Int16, 64, 256, Activation::Gelu, 64, seed)?;
        add(
            "FFN int16",
            "max abs error",
            f.max_abs,
            Some(f.bound),
            "64->256->64, GELU, Q3.12 in/out, Q1.14 weights, 64 tokens".into(),
        );
        let t = ffn_errors(FfnKind::Ternary, 64, 256, Activation::Relu, 64, seed)?;
        add(
            "FFN ternary",
            "max abs error",
            t.max_abs,
            Some(t.bound),
            "64->256->64, ReLU, BitNet b1.58: absmean {-1,0,1} weights, absmax 8-bit activations per token, 64 tokens; bound over every Q3.12 input".into(),
        );
        let l = layer_norm_errors(256, 64, seed)?;
        add(
            "layer norm",
            "max abs error",
            l.max_abs,
            Some(l.bound),
            "n=256, Q3.12 in/out, 64 vectors, sigma in [0.25, 2]".into(),
        );
        let b = binarized_errors(64, 256, 32, seed)?;
        add(
            "binarized scores",
            "integer/float mismatches",
            b.mismatches as f64,
            Some(0.0),
            format!(
                "{} pairs, d=64, plain signs and a 256-bit random projection",
                b.pairs
            ),
        );
        add(
            "binarized scores",
            "mean abs(cos estimate - cos)",
            b.mean_angle_error,
            None,
            "256-bit SimHash of N(0,1) vectors, d=64".into(),
        );
        {
            use crate::integer::binary_attention::BinaryAttention;
            let model = BinaryAttention::with_seed(16, 32, 256, seed)?;
            let worst = [1, 16, 256]
                .iter()
                .map(|&n| model.worst_error(n, seed))
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .fold(0.0, f64::max);
            add(
                "binary attention",
                "max abs error vs its float reference",
                worst,
                Some(64.0 * model.attention().config().output.lsb()),
                "d=16, 32-bit codes, 1/16/256 keys, q/k/v over the full Q3.12 range, Q3.12 out; same codes and scores in f64".into(),
            );
            for bits in [8, 64] {
                let a = attention_vs_float(32, 128, Some(bits), 64, seed)?;
                add(
                    "binary attention",
                    "mean cosine vs float attention",
                    a.mean_cosine,
                    None,
                    format!("{bits}-bit codes, d=32, N=128, 64 queries, N(0,1) q/k/v; random (not learned) projection"),
                );
            }
        }
        Ok(Self {
            seed,
            measurements: m,
        })
    }

    /// Whether every measurement is within its limit.
    pub fn passes(&self) -> bool {
        self.measurements.iter().all(Measurement::passes)
    }

    /// A Markdown table of the measurements.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from(
            "| subject | metric | measured | limit | ok | conditions |\n|---|---|---|---|---|---|\n",
        );
        for m in &self.measurements {
            let limit = m.limit.map_or("-".to_string(), |l| format!("{l:.3e}"));
            let ok = if m.passes() { "yes" } else { "NO" };
            out += &format!(
                "| {} | {} | {:.3e} | {} | {} | {} |\n",
                m.subject, m.metric, m.measured, limit, ok, m.conditions
            );
        }
        out
    }
}
