//! Binarized attention (EcoFormer style): queries and keys hashed to
//! `bits`-bit codes by the signs of a ±1 random projection, scores from
//! XNOR and popcount, then the same online softmax and weighted sum of
//! values as [`StreamingSdpa`] (its `accumulate` and `finish`).
//!
//! ```text
//!  q ─▶ R q (adds only) ─▶ signs ─▶ c_q ─┐
//!  k ─▶ R k (adds only) ─▶ signs ─▶ c_k ─┴▶ h = popcount(c_q ^ c_k)
//!       s = table[h] = round(scale · (bits − 2h)) in the score format
//!       ─▶ online softmax over the keys, Σ p_j v_j  (StreamingSdpa)
//! ```
//!
//! `sign(0) = +1`. The projection `R` (`bits` × `d`, ±1) is exact on the
//! raw integers, so the codes are the float reference's codes: the only
//! differences from f64 are the score rounding, the exp and reciprocal
//! tables and the output rounding.

use super::binarized::RandomProjection;
use super::sdpa::{SdpaConfig, StreamingSdpa, SCALE_FRAC};
use super::{check_len, check_raw, quantize_all};
use crate::error::{QuantError, Result};
use crate::format::{shift_right_rounded_i64, Overflow, QFormat, Rounding};

/// Most code bits (one 64-bit word).
pub const BINARY_BITS_MAX: usize = 64;

/// The scale that puts binary scores on the scale of `q.k / sqrt(d)` for
/// normal inputs: a SimHash score `bits − 2h` is about `(2 / pi) · bits ·
/// cos(q, k)` near orthogonal vectors, and `q.k / sqrt(d)` about
/// `sqrt(d) · cos(q, k)`, so `scale = pi sqrt(d) / (2 bits)`, at most the
/// largest scale UQ1.14 holds (short codes at large d: e.g. d = 8, 1 bit).
pub fn default_scale(d: usize, bits: usize) -> f64 {
    let largest = f64::from(u16::MAX) / f64::from(1u32 << SCALE_FRAC);
    (std::f64::consts::PI * (d as f64).sqrt() / (2.0 * bits.max(1) as f64)).min(largest)
}

/// Bit-exact model of the binary attention block.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryAttention {
    projection: RandomProjection,
    attention: StreamingSdpa,
    scores: Vec<i64>,
    saturates: Vec<bool>,
}

impl BinaryAttention {
    /// The head of `config` (its `scale` is the binary score's scale; `d`
    /// is the projection's) hashing through `projection` (±1 weights, at
    /// most [`BINARY_BITS_MAX`] rows).
    pub fn new(config: SdpaConfig, projection: RandomProjection) -> Result<Self> {
        let bits = projection.bits();
        if bits > BINARY_BITS_MAX {
            return Err(QuantError::InvalidParameter(format!(
                "bits = {bits}: binary attention codes have at most {BINARY_BITS_MAX} bits"
            )));
        }
        check_len("projection width (d)", projection.d(), config.d)?;
        if projection.weights().iter().any(|w| w.abs() != 1) {
            return Err(QuantError::InvalidParameter(
                "binary attention needs a ±1 projection (RandomProjection::signs)".into(),
            ));
        }
        let attention = StreamingSdpa::new(config)?;
        let c = attention.config();
        let frac = SCALE_FRAC;
        let (scores, saturates) = (0..=bits as i64)
            .map(|h| {
                let scaled = shift_right_rounded_i64(
                    (bits as i64 - 2 * h) * attention.scale_raw(),
                    frac - c.score.frac().min(frac),
                    Rounding::HalfUp,
                );
                let fitted = c.score.fit(i128::from(scaled), Overflow::Saturate) as i64;
                (fitted, fitted != scaled)
            })
            .unzip();
        Ok(Self {
            projection,
            attention,
            scores,
            saturates,
        })
    }

    /// The default design for head size `d` and `bits` code bits: sdpa's
    /// formats, [`default_scale`], a ±1 projection drawn from `seed`.
    pub fn with_seed(d: usize, bits: usize, n_max: usize, seed: u64) -> Result<Self> {
        let mut config = SdpaConfig::with_d(d, n_max);
        config.scale = default_scale(d, bits.max(1));
        Self::new(config, RandomProjection::signs(d, bits, seed)?)
    }

    /// The online-softmax model behind the scores (formats, tables, scale).
    pub fn attention(&self) -> &StreamingSdpa {
        &self.attention
    }

    /// The projection.
    pub fn projection(&self) -> &RandomProjection {
        &self.projection
    }

    /// Code bits.
    pub fn bits(&self) -> usize {
        self.projection.bits()
    }

    /// The score of each Hamming distance 0..=bits, raw in the score format.
    pub fn score_table(&self) -> &[i64] {
        &self.scores
    }

    /// The code of a raw vector: bit `r` set when `(R x)_r >= 0`.
    pub fn code(&self, x: &[i64]) -> u64 {
        let d = self.projection.d();
        self.projection
            .weights()
            .chunks(d)
            .enumerate()
            .fold(0u64, |code, (r, row)| {
                let sum: i64 = row.iter().zip(x).map(|(w, v)| w * v).sum();
                code | (u64::from(sum >= 0) << r)
            })
    }

    /// The score of a key against a query, from their codes.
    #[inline]
    pub fn score(&self, query_code: u64, key_code: u64) -> i64 {
        self.scores[(query_code ^ key_code).count_ones() as usize]
    }

    fn check(&self, query: &[i64], keys: &[Vec<i64>], values: &[Vec<i64>]) -> Result<()> {
        let c = self.attention.config();
        if keys.is_empty() {
            return Err(QuantError::Empty("binary attention keys".into()));
        }
        if keys.len() > c.n_max {
            return Err(QuantError::InvalidParameter(format!(
                "{} keys: more than n_max = {}",
                keys.len(),
                c.n_max
            )));
        }
        check_len("binary attention values", values.len(), keys.len())?;
        check_len("binary attention query", query.len(), c.d)?;
        check_raw("query", query, c.query)?;
        for (k, v) in keys.iter().zip(values) {
            check_len("binary attention key", k.len(), c.d)?;
            check_len("binary attention value", v.len(), c.d)?;
            check_raw("key", k, c.key)?;
            check_raw("value", v, c.value)?;
        }
        Ok(())
    }

    /// Attention of one query over its keys and values (raw rows of `d`).
    pub fn run_query(&self, query: &[i64], keys: &[Vec<i64>], values: &[Vec<i64>]) -> Result<Vec<i64>> {
        Ok(self.run_query_with_status(query, keys, values)?.0)
    }

    /// [`Self::run_query`] and whether the query saturated anything (a
    /// score the table clips, an output element).
    pub fn run_query_with_status(
        &self,
        query: &[i64],
        keys: &[Vec<i64>],
        values: &[Vec<i64>],
    ) -> Result<(Vec<i64>, bool)> {
        self.check(query, keys, values)?;
        let query_code = self.code(query);
        let mut state = self.attention.accumulator();
        for (k, v) in keys.iter().zip(values) {
            let h = (query_code ^ self.code(k)).count_ones() as usize;
            state.saturated |= self.saturates[h];
            self.attention.accumulate(&mut state, self.scores[h], v);
        }
        Ok(self.attention.finish_with_status(&state))
    }

    /// Whether the score of each Hamming distance 0..=bits is saturated.
    pub fn score_saturates(&self) -> &[bool] {
        &self.saturates
    }

    /// The f64 attention the block is measured against: the exact codes,
    /// scores `scale · (bits − 2 h)` with the applied scale, softmax over
    /// the keys and the weighted sum of the dequantized values.
    pub fn float_reference(&self, query: &[i64], keys: &[Vec<i64>], values: &[Vec<i64>]) -> Result<Vec<f64>> {
        self.check(query, keys, values)?;
        let c = self.attention.config();
        let bits = self.bits();
        // +-1 code vectors: their dot product is bits - 2 h
        let codes: Vec<u64> = keys.iter().map(|k| self.code(k)).collect();
        let sign = |code: u64, r: usize| if code >> r & 1 == 1 { 1.0 } else { -1.0 };
        let query_code = self.code(query);
        let q = ndarray::Array2::from_shape_fn((1, bits), |(_, r)| sign(query_code, r));
        let k = ndarray::Array2::from_shape_fn((keys.len(), bits), |(j, r)| sign(codes[j], r));
        let v = ndarray::Array2::from_shape_fn((values.len(), c.d), |(j, i)| {
            c.value.to_f64(i128::from(values[j][i]))
        });
        let out = crate::reference::sdpa(q.view(), k.view(), v.view(), self.attention.applied_scale())?;
        Ok(out.row(0).to_vec())
    }

    /// The largest error against [`Self::float_reference`] over a battery
    /// of `n`-key queries drawn over the formats' full ranges: uniform
    /// elements, values all at `±max`, and keys ordered by score rising (a
    /// rescale every key) and falling. Seeded.
    pub fn worst_error(&self, n: usize, seed: u64) -> Result<f64> {
        use rand::Rng;
        let c = *self.attention.config();
        let mut rng = crate::random::seeded(seed);
        let mut worst: f64 = 0.0;
        for pattern in 0..4 {
            let mut draw = |format: QFormat, extreme: bool| -> Result<Vec<i64>> {
                let x = format.max_value();
                let real: Vec<f64> = (0..c.d)
                    .map(|_| match (extreme, rng.gen_bool(0.5)) {
                        (true, true) => x,
                        (true, false) => -x,
                        _ => rng.gen_range(-x..=x),
                    })
                    .collect();
                quantize_all("binary attention input", &real, format)
            };
            let q = draw(c.query, false)?;
            let mut keys = Vec::with_capacity(n);
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                keys.push(draw(c.key, false)?);
                values.push(draw(c.value, pattern == 1)?);
            }
            if pattern >= 2 {
                let query_code = self.code(&q);
                keys.sort_by_cached_key(|k| self.score(query_code, self.code(k)));
                if pattern == 3 {
                    keys.reverse();
                }
            }
            let got = self.run_query(&q, &keys, &values)?;
            let want = self.float_reference(&q, &keys, &values)?;
            for (g, w) in got.iter().zip(&want) {
                worst = worst.max((c.output.to_f64(i128::from(*g)) - w).abs());
            }
        }
        Ok(worst)
    }
}
