//! The inputs of an attention run: queries, keys and values drawn from a
//! seed, quantized to the model's formats (the f64 graphs use the same
//! numbers, dequantized). Keys and values come from pools of at most
//! [`POOL_ROWS`] rows, so a run over 2^20 keys needs no more memory than
//! one over 4096.

use hwformer_quant::integer::quantize_all;
use hwformer_quant::integer::sdpa::SdpaConfig;
use hwformer_quant::random::{normal_vec, seeded};
use hwformer_quant::QFormat;

/// Most distinct key (and value) rows; key `j` is row `j % POOL_ROWS`.
pub const POOL_ROWS: usize = 4096;

/// A matrix of raw values and the same values dequantized.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    d: usize,
    rows: usize,
    raw: Vec<i64>,
    real: Vec<f64>,
}

impl Rows {
    fn draw(
        rng: &mut hwformer_quant::random::SeededRng,
        rows: usize,
        d: usize,
        format: QFormat,
    ) -> hwformer_quant::Result<Self> {
        let raw = quantize_all("workload", &normal_vec(rng, rows * d, 1.0), format)?;
        let real = raw.iter().map(|&r| format.to_f64(i128::from(r))).collect();
        Ok(Self { d, rows, raw, real })
    }

    /// Row `i` wrapped into the pool: no division when `i` is inside or
    /// the pool's size is a power of two ([`POOL_ROWS`] is), since a
    /// division per element costs more than the rest of a channel hop.
    #[inline]
    fn wrap(&self, i: usize) -> usize {
        if i < self.rows {
            i
        } else if self.rows.is_power_of_two() {
            i & (self.rows - 1)
        } else {
            i % self.rows
        }
    }

    /// Raw row `i` (taken modulo the number of rows).
    #[inline]
    pub fn raw(&self, i: usize) -> &[i64] {
        let i = self.wrap(i);
        &self.raw[i * self.d..(i + 1) * self.d]
    }

    /// Dequantized row `i` (taken modulo the number of rows).
    #[inline]
    pub fn real(&self, i: usize) -> &[f64] {
        let i = self.wrap(i);
        &self.real[i * self.d..(i + 1) * self.d]
    }
}

/// Queries, keys and values of one head.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Keys per query.
    pub n: usize,
    /// Queries.
    pub queries: Rows,
    /// Keys.
    pub keys: Rows,
    /// Values.
    pub values: Rows,
}

impl Workload {
    /// Standard normal inputs from `seed`, in `config`'s formats.
    pub fn new(config: &SdpaConfig, n: usize, queries: usize, seed: u64) -> hwformer_quant::Result<Self> {
        let mut rng = seeded(seed);
        let pool = n.min(POOL_ROWS);
        Ok(Self {
            n,
            queries: Rows::draw(&mut rng, queries, config.d, config.query)?,
            keys: Rows::draw(&mut rng, pool, config.d, config.key)?,
            values: Rows::draw(&mut rng, pool, config.d, config.value)?,
        })
    }
}
