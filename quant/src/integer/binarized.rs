//! Binarized attention scores: sign bits, XNOR and popcount.
//!
//! ```text
//!  q, k (fixed point) --[optional: random projection R (b x d)]--> sign bits
//!  score = 2 * popcount(XNOR(q_bits, k_bits)) - bits = bits - 2 * popcount(q ^ k)
//! ```
//! With the projection (SimHash, as EcoFormer hashes into b bits), the
//! score estimates the angle: `cos(pi * hamming / b) ~ cos(q, k)`.

use super::{check_len, check_raw, quantize_all};
use crate::error::{QuantError, Result};
use crate::format::QFormat;

/// Sign bits packed 64 to a word, element 0 in bit 0 of word 0; bit set
/// means the value is >= 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignBits {
    /// Packed bits.
    pub words: Vec<u64>,
    /// Number of valid bits.
    pub len: usize,
}

impl SignBits {
    /// Packs the signs of raw values (>= 0 gives 1).
    pub fn from_values<T: Copy + PartialOrd + Default>(values: &[T]) -> Self {
        let mut words = vec![0u64; values.len().div_ceil(64)];
        for (i, &v) in values.iter().enumerate() {
            if v >= T::default() {
                words[i / 64] |= 1 << (i % 64);
            }
        }
        Self {
            words,
            len: values.len(),
        }
    }

    /// `+1/-1` dot product: `len - 2 * popcount(a ^ b)`.
    pub fn dot(&self, other: &SignBits) -> Result<i64> {
        check_len("binary dot operand", other.len, self.len)?;
        let differing: u32 = self
            .words
            .iter()
            .zip(&other.words)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        Ok(self.len as i64 - 2 * i64::from(differing))
    }
}

/// A random projection to `bits` signs (SimHash), with int16 Gaussian
/// weights drawn from a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomProjection {
    d: usize,
    bits: usize,
    format: QFormat,
    weights: Vec<i64>,
}

impl RandomProjection {
    /// `bits` hyperplanes in `d` dimensions, weights ~ N(0, 1) in Q3.12.
    pub fn new(d: usize, bits: usize, seed: u64) -> Result<Self> {
        if d == 0 || bits == 0 {
            return Err(QuantError::InvalidParameter(format!(
                "random projection needs d > 0 and bits > 0, got d = {d}, bits = {bits}"
            )));
        }
        let format = QFormat::signed(16, 12)?;
        let mut rng = crate::random::seeded(seed);
        let gaussian = crate::random::normal_vec(&mut rng, d * bits, 1.0);
        let weights = quantize_all("random projection", &gaussian, format)?;
        Ok(Self {
            d,
            bits,
            format,
            weights,
        })
    }

    /// `bits` hyperplanes in `d` dimensions with weights +1 or -1 drawn
    /// from a seed (each sign equally likely), in Q2.0: the projection of
    /// EcoFormer-style hashing that needs only adders.
    pub fn signs(d: usize, bits: usize, seed: u64) -> Result<Self> {
        use rand::Rng;
        let mut rng = crate::random::seeded(seed);
        let weights = (0..d * bits)
            .map(|_| if rng.gen_bool(0.5) { 1 } else { -1 })
            .collect();
        Self::from_signs(d, bits, weights)
    }

    /// A projection of given +1/-1 weights (`bits` rows of `d`, row-major),
    /// e.g. read from a weights file; any other value is an error naming it.
    pub fn from_signs(d: usize, bits: usize, weights: Vec<i64>) -> Result<Self> {
        if d == 0 || bits == 0 {
            return Err(QuantError::InvalidParameter(format!(
                "random projection needs d > 0 and bits > 0, got d = {d}, bits = {bits}"
            )));
        }
        check_len("projection weights", weights.len(), d * bits)?;
        if let Some(i) = weights.iter().position(|w| w.abs() != 1) {
            return Err(QuantError::InvalidParameter(format!(
                "projection[{}][{}] = {}: a sign projection holds only +1 and -1",
                i / d,
                i % d,
                weights[i]
            )));
        }
        Ok(Self {
            d,
            bits,
            format: QFormat::signed(2, 0)?,
            weights,
        })
    }

    /// Input dimension.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Number of output bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Projection weights (row-major, `bits` rows of `d`), raw Q3.12.
    pub fn weights(&self) -> &[i64] {
        &self.weights
    }

    /// Weight format.
    pub fn format(&self) -> QFormat {
        self.format
    }

    /// Exact integer projections `R x` of a raw vector.
    pub fn project(&self, x: &[i64]) -> Result<Vec<i64>> {
        check_len("projected vector", x.len(), self.d)?;
        Ok(self
            .weights
            .chunks(self.d)
            .map(|row| row.iter().zip(x).map(|(w, v)| w * v).sum())
            .collect())
    }

    /// The sign bits of `R x`.
    pub fn hash(&self, x: &[i64]) -> Result<SignBits> {
        Ok(SignBits::from_values(&self.project(x)?))
    }
}

/// Binarized score matrix (queries x keys) of raw vectors in `format`,
/// optionally through a projection.
pub fn binary_scores(
    queries: &[Vec<i64>],
    keys: &[Vec<i64>],
    format: QFormat,
    projection: Option<&RandomProjection>,
) -> Result<Vec<Vec<i64>>> {
    let encode = |what: &str, x: &Vec<i64>| -> Result<SignBits> {
        check_raw(what, x, format)?;
        match projection {
            Some(p) => p.hash(x),
            None => Ok(SignBits::from_values(x)),
        }
    };
    let k_bits = keys
        .iter()
        .map(|k| encode("key", k))
        .collect::<Result<Vec<_>>>()?;
    queries
        .iter()
        .map(|q| {
            let q_bits = encode("query", q)?;
            k_bits.iter().map(|k| q_bits.dot(k)).collect()
        })
        .collect()
}
