//! Seeded random inputs: the same seed gives the same numbers on every
//! machine and every run (ChaCha8, independent of `rand`'s default RNG).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator every model test and measurement uses.
pub type SeededRng = ChaCha8Rng;

/// A generator from a seed.
pub fn seeded(seed: u64) -> SeededRng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// One sample of the standard normal distribution (Box-Muller).
pub fn standard_normal(rng: &mut SeededRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `n` samples of a normal distribution with deviation `sigma`.
pub fn normal_vec(rng: &mut SeededRng, n: usize, sigma: f64) -> Vec<f64> {
    (0..n).map(|_| sigma * standard_normal(rng)).collect()
}
