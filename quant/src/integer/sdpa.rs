//! Streaming scaled dot-product attention with O(1) intermediate memory.
//!
//! One query is held; keys and values stream past once. The state is a
//! running maximum `m`, a running sum `l` and `d` output accumulators `o`:
//!
//! ```text
//!  k_j --dot q--> * scale --> s_j (logit format)
//!  m = max(m, s_j);  p_j = exp(s_j - m)   (UQ1.15)
//!  slot = j mod P:   alpha = exp(m_slot - m)   (m_slot: m when the slot last took a key)
//!                    l_slot = l_slot * alpha + p_j;  o_slot = o_slot * alpha + p_j * v_j
//!                    (the slot's first key: l_slot = p_j, o_slot = p_j * v_j); m_slot = m
//!  end of keys:      beta = exp(m_slot - m) per used slot
//!                    l = sum l_slot * beta;  o = sum o_slot * beta;  out = o * (1 / l)
//! ```
//!
//! The `P` partial states ([`SDPA_SLOTS`]) are the hardware's: a slot is
//! updated every `P`-th key, so the rescale-and-add loop has `P` cycles
//! to run through its pipelined multipliers, and the slots are merged
//! once per query with the online-softmax merge. With `P = 1` this is
//! the textbook one-state recurrence. Every product is exact before one
//! rounding (half-up), so hardware may build wide products from partial
//! products and match bit for bit.
//!
//! Above [`SDPA_WHOLE_TERM_KEYS`] keys a query, `p_j` and `p_j * v_j` are
//! rounded by `e = ceil(log2 n_max) - 16` bits before they are added
//! ([`StreamingSdpa::term_shift`]): `l` and `o` lose the same `e` bits, so
//! their ratio keeps its format and the sum still fits 32 bits and each
//! accumulator 48, for any `n_max`.

use super::{ceil_log2, check_len, check_raw};
use crate::error::{check_finite, QuantError, Result};
use crate::format::{shift_right_rounded, shift_right_rounded_i64, Overflow, QFormat, Rounding};
use crate::tables::{exp::EXP_OUT_FRAC, ExpNeg, Reciprocal, Scaled};
use serde::{Deserialize, Serialize};

/// Partial online-softmax states of a query in the hardware (keys `j`,
/// `j + P`, `j + 2P`, ... share slot `j`), merged at the query's end.
pub const SDPA_SLOTS: usize = 4;
/// Most partial states a model takes.
pub const SDPA_SLOTS_MAX: usize = 16;

/// Keys a query up to which the accumulators take every weight and
/// product whole (a 32-bit running sum, 48-bit accumulators). Above it,
/// each key's terms are rounded by [`StreamingSdpa::term_shift`] bits
/// first, so those widths hold any `n_max`.
pub const SDPA_WHOLE_TERM_KEYS: usize = 1 << 16;

/// Fractional bits of the scale constant (unsigned Q1.14, 16 bits).
pub const SCALE_FRAC: u32 = 14;
/// Fractional bits of the normalized probabilities of the two-pass order
/// (unsigned Q0.16).
pub const TWO_PASS_PROB_FRAC: u32 = 16;

/// Sizes and formats of a streaming attention head.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SdpaConfig {
    /// Head dimension (elements of q, k and v).
    pub d: usize,
    /// Most keys per query (sets the accumulators' least significant bit
    /// only: [`StreamingSdpa::term_shift`]).
    pub n_max: usize,
    /// Query element format.
    pub query: QFormat,
    /// Key element format.
    pub key: QFormat,
    /// Value element format.
    pub value: QFormat,
    /// Format of the scaled scores (the exponential's input).
    pub score: QFormat,
    /// Output element format.
    pub output: QFormat,
    /// Requested scale (usually `1/sqrt(d)`); the hardware applies it
    /// rounded to unsigned Q1.14, see [`StreamingSdpa::applied_scale`].
    pub scale: f64,
}

impl SdpaConfig {
    /// The default design: Q3.12 inputs and outputs, Q5.10 scores,
    /// scale `1/sqrt(d)`.
    pub fn with_d(d: usize, n_max: usize) -> Self {
        let q3_12 = QFormat::signed(16, 12).expect("valid");
        Self {
            d,
            n_max,
            query: q3_12,
            key: q3_12,
            value: q3_12,
            score: QFormat::signed(16, 10).expect("valid"),
            output: q3_12,
            scale: 1.0 / (d.max(1) as f64).sqrt(),
        }
    }
}

/// `x * factor / 2^15` (factor UQ1.15), rounded half-up: the rescale of a
/// running sum or accumulator.
#[inline]
fn rescale(x: i64, factor: u32) -> i64 {
    shift_right_rounded(i128::from(x) * i128::from(factor), EXP_OUT_FRAC, Rounding::HalfUp) as i64
}

/// Bit-exact model of the streaming attention block.
///
/// Error bound: the block's error against f64 attention on the same
/// dequantized inputs (and the applied scale) is measured, not derived:
/// see docs/ACCURACY.md; tests assert it stays below
/// [`StreamingSdpa::error_bound`] on random normal inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamingSdpa {
    config: SdpaConfig,
    slots: usize,
    term_shift: u32,
    scale_raw: i64,
    exp: ExpNeg,
    reciprocal: Reciprocal,
}

/// The running state for one query: the only memory that lives across keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpaState {
    query: Vec<i64>,
    /// Running maximum score; `None` before the first key.
    pub max: Option<i64>,
    /// Per slot: the running maximum when the slot last took a key.
    pub slot_max: Vec<i64>,
    /// Per slot: the sum of exponentials, UQ.(15 - term shift), relative
    /// to `slot_max`.
    pub sum: Vec<u64>,
    /// Per slot (slot-major, `d` each): output accumulators,
    /// frac = 15 + value frac - term shift.
    pub acc: Vec<i64>,
    /// Keys seen so far.
    pub keys: usize,
    /// A score of this query was saturated to the score format.
    pub saturated: bool,
}

impl StreamingSdpa {
    /// Validates the configuration and builds the tables, with the
    /// hardware's [`SDPA_SLOTS`] partial states.
    pub fn new(config: SdpaConfig) -> Result<Self> {
        Self::with_slots(config, SDPA_SLOTS)
    }

    /// [`Self::new`] with `slots` partial states (1 to [`SDPA_SLOTS_MAX`];
    /// 1 is the one-state recurrence). The exported block is built for
    /// [`SDPA_SLOTS`] only.
    pub fn with_slots(config: SdpaConfig, slots: usize) -> Result<Self> {
        if !(1..=SDPA_SLOTS_MAX).contains(&slots) {
            return Err(QuantError::InvalidParameter(format!(
                "sdpa slots must be in 1..={SDPA_SLOTS_MAX}, got {slots}"
            )));
        }
        if config.d == 0 || config.d > 1024 {
            return Err(QuantError::InvalidParameter(format!(
                "sdpa d must be in 1..=1024, got {}",
                config.d
            )));
        }
        if config.n_max == 0 || config.n_max > 1 << 24 {
            return Err(QuantError::InvalidParameter(format!(
                "sdpa n_max must be in 1..=16777216, got {}",
                config.n_max
            )));
        }
        for (name, f) in [
            ("query", config.query),
            ("key", config.key),
            ("value", config.value),
            ("output", config.output),
        ] {
            if !f.is_signed() || f.bits() > 16 {
                return Err(QuantError::InvalidParameter(format!(
                    "sdpa {name} format must be signed and at most 16 bits, got {f}"
                )));
            }
        }
        check_finite("sdpa scale", &[config.scale])?;
        let scale_format = QFormat::unsigned(16, SCALE_FRAC)?;
        if config.scale <= 0.0 || config.scale > scale_format.max_value() {
            return Err(QuantError::InvalidParameter(format!(
                "sdpa scale must be in (0, {}], got {}",
                scale_format.max_value(),
                config.scale
            )));
        }
        let scale_raw = scale_format.quantize(config.scale, Rounding::NearestEven, Overflow::Saturate)?;
        if scale_raw == 0 {
            return Err(QuantError::InvalidParameter(format!(
                "sdpa scale {} rounds to 0 in UQ1.14",
                config.scale
            )));
        }
        Ok(Self {
            config,
            slots,
            term_shift: ceil_log2(config.n_max).saturating_sub(ceil_log2(SDPA_WHOLE_TERM_KEYS)),
            scale_raw: scale_raw as i64,
            exp: ExpNeg::new(config.score)?,
            reciprocal: Reciprocal::new()?,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SdpaConfig {
        &self.config
    }

    /// Partial online-softmax states per query.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The scale the hardware applies (the requested one rounded to UQ1.14).
    pub fn applied_scale(&self) -> f64 {
        self.scale_raw as f64 / f64::from(1u32 << SCALE_FRAC)
    }

    /// The raw UQ1.14 scale constant.
    pub fn scale_raw(&self) -> i64 {
        self.scale_raw
    }

    /// The exponential tables.
    pub fn exp(&self) -> &ExpNeg {
        &self.exp
    }

    /// The reciprocal table.
    pub fn reciprocal(&self) -> &Reciprocal {
        &self.reciprocal
    }

    /// Bits each key's terms (`p` to the sum, `p * v` to the
    /// accumulators) are rounded by (half-up) before they are added: 0 up
    /// to [`SDPA_WHOLE_TERM_KEYS`] keys, else `ceil(log2 n_max) - 16`.
    pub fn term_shift(&self) -> u32 {
        self.term_shift
    }

    /// Width of the running sum: UQ(1 + log2 n_max).(15 - term shift), at
    /// most 32 bits.
    pub fn sum_bits(&self) -> u32 {
        EXP_OUT_FRAC + 1 + ceil_log2(self.config.n_max) - self.term_shift()
    }

    /// Width of each output accumulator (signed), at most 48 bits.
    pub fn acc_bits(&self) -> u32 {
        EXP_OUT_FRAC + 1 + self.config.value.bits() + ceil_log2(self.config.n_max) - self.term_shift()
    }

    /// Documented error bound against f64 for inputs drawn from a standard
    /// normal distribution (in range of the formats): 8 output LSBs.
    pub fn error_bound(&self) -> f64 {
        8.0 * self.config.output.lsb()
    }

    /// The input magnitude up to which scores cannot reach half the score
    /// format's range (`d * X^2 * scale <= max / 2`) and every input and the
    /// output fit their formats, rounded down to 1/8: the domain of
    /// [`Self::bounded_input_error`].
    pub fn max_abs_input(&self) -> f64 {
        let limit = self.config.score.max_value() / 2.0;
        let x = (limit / (self.config.d as f64 * self.applied_scale())).sqrt();
        // every input representable, and the output (a weighted mean of
        // values) inside its own range
        let x = x
            .min(self.config.query.max_value())
            .min(self.config.key.max_value())
            .min(self.config.value.max_value())
            .min(self.config.output.max_value());
        (x * 8.0).floor() / 8.0
    }

    /// Error bound against f64 for any inputs of magnitude at most
    /// [`Self::max_abs_input`] and up to `n_max` keys: 64 output LSBs.
    /// Empirical, with margin: the largest error measured over random and
    /// adversarial inputs (test `sdpa_bounded_input_error`, docs/ACCURACY.md)
    /// is well below it; it is not derived.
    pub fn bounded_input_error(&self) -> f64 {
        64.0 * self.config.output.lsb()
    }

    /// Starts a query (raw elements in the query format).
    pub fn start(&self, query: &[i64]) -> Result<SdpaState> {
        check_len("sdpa query", query.len(), self.config.d)?;
        check_raw("query", query, self.config.query)?;
        let mut state = self.accumulator();
        state.query = query.to_vec();
        Ok(state)
    }

    /// The scaled score of one key, in the score format.
    #[inline]
    pub fn score(&self, query: &[i64], key: &[i64]) -> i64 {
        self.score_saturating(query, key).0
    }

    /// The scaled score of one key and whether it was saturated to the
    /// score format (the block's status reports it).
    #[inline]
    pub fn score_saturating(&self, query: &[i64], key: &[i64]) -> (i64, bool) {
        // |dot| <= d * 2^30 <= 2^40 and scale < 2^16: the product fits an i64
        let dot: i64 = query.iter().zip(key).map(|(q, k)| q * k).sum();
        let frac = self.config.query.frac() + self.config.key.frac() + SCALE_FRAC;
        let scaled = shift_right_rounded_i64(
            dot * self.scale_raw,
            frac - self.config.score.frac().min(frac),
            Rounding::HalfUp,
        );
        let fitted = self.config.score.fit(i128::from(scaled), Overflow::Saturate) as i64;
        (fitted, fitted != scaled)
    }

    /// Consumes one (key, value) pair. Inputs are checked; the hot path
    /// allocates nothing.
    pub fn push(&self, state: &mut SdpaState, key: &[i64], value: &[i64]) -> Result<()> {
        check_len("sdpa key", key.len(), self.config.d)?;
        check_len("sdpa value", value.len(), self.config.d)?;
        check_raw("key", key, self.config.key)?;
        check_raw("value", value, self.config.value)?;
        if state.keys >= self.config.n_max {
            return Err(QuantError::InvalidParameter(format!(
                "more than n_max = {} keys for one query",
                self.config.n_max
            )));
        }
        self.push_unchecked(state, key, value);
        Ok(())
    }

    /// [`Self::push`] without input checks, for simulators whose inputs
    /// were checked once up front.
    #[inline]
    pub fn push_unchecked(&self, state: &mut SdpaState, key: &[i64], value: &[i64]) {
        let (s, saturated) = self.score_saturating(&state.query, key);
        state.saturated |= saturated;
        self.accumulate(state, s, value);
    }

    /// A state that holds no query, for pipelines whose score stage holds
    /// it and feeds [`Self::accumulate`] with scores.
    pub fn accumulator(&self) -> SdpaState {
        SdpaState {
            query: Vec::new(),
            max: None,
            slot_max: vec![0; self.slots],
            sum: vec![0; self.slots],
            acc: vec![0; self.slots * self.config.d],
            keys: 0,
            saturated: false,
        }
    }

    /// Clears a state for the next query, keeping its buffers.
    pub fn reset(&self, state: &mut SdpaState) {
        state.max = None;
        state.slot_max.fill(0);
        state.sum.fill(0);
        state.acc.fill(0);
        state.keys = 0;
        state.saturated = false;
    }

    /// The online-softmax step for one key whose score is already known:
    /// the key's slot is rescaled to the new running maximum (unless this
    /// is the slot's first key) and takes `exp(s - m)` and
    /// `exp(s - m) * v`. `value` must have `d` elements.
    #[inline]
    pub fn accumulate(&self, state: &mut SdpaState, s: i64, value: &[i64]) {
        let max = state.max.map_or(s, |m| m.max(s));
        state.max = Some(max);
        let slot = state.keys % self.slots;
        let d = self.config.d;
        let acc = &mut state.acc[slot * d..(slot + 1) * d];
        let p = i64::from(self.exp.eval(s - max));
        let e = self.term_shift;
        let term = |x: i64| shift_right_rounded_i64(x, e, Rounding::HalfUp);
        if state.keys < self.slots {
            state.sum[slot] = term(p) as u64;
            for (a, v) in acc.iter_mut().zip(value) {
                *a = term(p * v);
            }
        } else {
            // exp(0) is exactly 1.0, so a slot whose maximum did not move
            // is left as it is (the hardware multiplies it by 1.0)
            if state.slot_max[slot] < max {
                let alpha = self.exp.eval(state.slot_max[slot] - max);
                state.sum[slot] = rescale(state.sum[slot] as i64, alpha) as u64;
                for a in acc.iter_mut() {
                    *a = rescale(*a, alpha);
                }
            }
            state.sum[slot] += term(p) as u64;
            for (a, v) in acc.iter_mut().zip(value) {
                *a += term(p * v);
            }
        }
        state.slot_max[slot] = max;
        state.keys += 1;
    }

    /// The merge factors of a state's slots: `exp(m_slot - m)` (UQ1.15)
    /// for the slots that took a key, 0 for the others.
    fn merge_factors(&self, state: &SdpaState) -> [u32; SDPA_SLOTS_MAX] {
        let mut beta = [0; SDPA_SLOTS_MAX];
        if let Some(max) = state.max {
            for (b, &m) in beta
                .iter_mut()
                .zip(&state.slot_max)
                .take(state.keys.min(self.slots))
            {
                *b = self.exp.eval(m - max);
            }
        }
        beta
    }

    /// The merged running sum and output accumulator `lane` of a state:
    /// each slot rescaled to the query's maximum (rounded), then summed.
    fn merged(&self, state: &SdpaState, beta: &[u32; SDPA_SLOTS_MAX], lane: Option<usize>) -> i64 {
        let d = self.config.d;
        (0..self.slots)
            .map(|j| {
                let x = match lane {
                    None => state.sum[j] as i64,
                    Some(k) => state.acc[j * d + k],
                };
                rescale(x, beta[j])
            })
            .sum()
    }

    /// Ends the query: raw outputs in the output format (zeros if no key
    /// was seen).
    pub fn finish(&self, state: &SdpaState) -> Vec<i64> {
        let mut out = vec![0; self.config.d];
        self.finish_into(state, &mut out);
        out
    }

    /// [`Self::finish`] into a caller's buffer of length `d`; true when the
    /// query saturated anything: a score, or an output element.
    pub fn finish_into(&self, state: &SdpaState, out: &mut [i64]) -> bool {
        let beta = self.merge_factors(state);
        let sum = self.merged(state, &beta, None);
        if sum == 0 {
            out.fill(0);
            return state.saturated;
        }
        let inverse = self.reciprocal.eval(sum as u64);
        let out_format = self.config.output;
        let mut saturated = state.saturated;
        for (k, o) in out.iter_mut().enumerate() {
            let a = self.merged(state, &beta, Some(k));
            // out = (a / 2^(15 + fv)) / (sum / 2^15), in the output format
            let shift = out_format.frac() as i32 - self.config.value.frac() as i32;
            let raw = inverse.mul_shift(i128::from(a), shift, Rounding::HalfUp);
            *o = out_format.fit(raw, Overflow::Saturate) as i64;
            saturated |= i128::from(*o) != raw;
        }
        saturated
    }

    /// [`Self::finish`] and whether the query saturated anything (what the
    /// block's sticky status reports).
    pub fn finish_with_status(&self, state: &SdpaState) -> (Vec<i64>, bool) {
        let mut out = vec![0; self.config.d];
        let saturated = self.finish_into(state, &mut out);
        (out, saturated)
    }

    /// Two-pass order (the naive dataflow graph): the weight of a key once
    /// the row maximum `max` is known, `exp(s - max)` in UQ1.15.
    #[inline]
    pub fn row_weight(&self, s: i64, max: i64) -> u32 {
        self.exp.eval(s - max)
    }

    /// Two-pass order: the normalized probability `e / sum` of a weight,
    /// UQ0.16 (saturated at 65535), given `1/sum` from [`Self::reciprocal`].
    #[inline]
    pub fn normalized_weight(&self, weight: u32, inverse_sum: Scaled) -> i64 {
        inverse_sum
            .mul_shift(i128::from(weight), TWO_PASS_PROB_FRAC as i32, Rounding::HalfUp)
            .clamp(0, 0xffff) as i64
    }

    /// Two-pass order: the output lane from `sum_j p_j * v_j` (frac
    /// `16 + value frac`), rounded half-up and saturated.
    #[inline]
    pub fn two_pass_output(&self, weighted: i64) -> i64 {
        let from = TWO_PASS_PROB_FRAC + self.config.value.frac();
        let out = self.config.output;
        out.fit(
            shift_right_rounded(
                i128::from(weighted),
                from.saturating_sub(out.frac()),
                Rounding::HalfUp,
            ) << out.frac().saturating_sub(from),
            Overflow::Saturate,
        ) as i64
    }

    /// The two-pass algorithm on one query, the oracle of the naive graph:
    /// scores, row max, weights `e_j`, their sum, `p_j = e_j / sum` in
    /// UQ0.16, then `sum_j p_j v_j`. Bounded like the streaming order.
    pub fn run_query_two_pass(
        &self,
        query: &[i64],
        keys: &[Vec<i64>],
        values: &[Vec<i64>],
    ) -> Result<Vec<i64>> {
        if keys.is_empty() {
            return Err(QuantError::Empty("sdpa keys".into()));
        }
        check_len("sdpa values", values.len(), keys.len())?;
        check_len("sdpa query", query.len(), self.config.d)?;
        check_raw("query", query, self.config.query)?;
        for (k, v) in keys.iter().zip(values) {
            check_len("sdpa key", k.len(), self.config.d)?;
            check_len("sdpa value", v.len(), self.config.d)?;
            check_raw("key", k, self.config.key)?;
            check_raw("value", v, self.config.value)?;
        }
        Ok(self.two_pass_unchecked(query, keys.len(), |j| &keys[j], |j| &values[j]))
    }

    /// [`Self::run_query_two_pass`] over `n` keys given by index, without
    /// input checks and without storing the row (the scores are computed
    /// once per pass).
    pub fn two_pass_unchecked<'a>(
        &self,
        query: &[i64],
        n: usize,
        key: impl Fn(usize) -> &'a [i64],
        value: impl Fn(usize) -> &'a [i64],
    ) -> Vec<i64> {
        let max = (0..n).map(|j| self.score(query, key(j))).max().unwrap_or(0);
        let weight = |j: usize| self.row_weight(self.score(query, key(j)), max);
        let inverse = self.reciprocal.eval((0..n).map(|j| u64::from(weight(j))).sum());
        let mut acc = vec![0i64; self.config.d];
        for j in 0..n {
            let p = self.normalized_weight(weight(j), inverse);
            for (a, x) in acc.iter_mut().zip(value(j)) {
                *a += p * x;
            }
        }
        acc.into_iter().map(|a| self.two_pass_output(a)).collect()
    }

    /// The largest error against f64 attention (on the same dequantized
    /// inputs and the applied scale) over a battery of queries in the
    /// bounded domain, `n` keys each: elements uniform in
    /// `[-X, X]` (X = [`Self::max_abs_input`]), elements all `+-X`, and
    /// uniform keys sorted by score rising (every key a new maximum: a
    /// rescale per key) and falling. Seeded; this is the measurement behind
    /// [`Self::bounded_input_error`].
    pub fn worst_bounded_input_error(&self, n: usize, seed: u64) -> Result<f64> {
        use rand::Rng;
        let c = self.config;
        let d = c.d;
        let x = self.max_abs_input();
        let mut rng = crate::random::seeded(seed);
        let mut worst: f64 = 0.0;
        for pattern in 0..4 {
            let mut draw = |format: QFormat| -> Result<Vec<i64>> {
                let real: Vec<f64> = (0..d)
                    .map(|_| match pattern {
                        1 if rng.gen_bool(0.5) => x,
                        1 => -x,
                        _ => rng.gen_range(-x..=x),
                    })
                    .collect();
                super::quantize_all("sdpa input", &real, format)
            };
            let q = draw(c.query)?;
            let mut keys = Vec::with_capacity(n);
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                keys.push(draw(c.key)?);
                values.push(draw(c.value)?);
            }
            if pattern >= 2 {
                let score = |k: &Vec<i64>| -> i64 { k.iter().zip(&q).map(|(a, b)| a * b).sum() };
                keys.sort_by_key(score);
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

    /// The f64 attention of one query over its keys and values, on the
    /// dequantized raw inputs (each in its own format) and the applied
    /// scale: what the block's outputs are compared with.
    pub fn float_reference(&self, query: &[i64], keys: &[Vec<i64>], values: &[Vec<i64>]) -> Result<Vec<f64>> {
        let c = self.config;
        let real = |m: &[Vec<i64>], f: QFormat| {
            ndarray::Array2::from_shape_fn((m.len(), c.d), |(i, j)| f.to_f64(i128::from(m[i][j])))
        };
        let q = ndarray::Array2::from_shape_fn((1, c.d), |(_, j)| c.query.to_f64(i128::from(query[j])));
        let want = crate::reference::sdpa(
            q.view(),
            real(keys, c.key).view(),
            real(values, c.value).view(),
            self.applied_scale(),
        )?;
        Ok(want.row(0).to_vec())
    }

    /// Attention of one query over all its keys and values (rows of `d`).
    pub fn run_query(&self, query: &[i64], keys: &[Vec<i64>], values: &[Vec<i64>]) -> Result<Vec<i64>> {
        Ok(self.run_query_with_status(query, keys, values)?.0)
    }

    /// [`Self::run_query`] and whether the query saturated anything.
    pub fn run_query_with_status(
        &self,
        query: &[i64],
        keys: &[Vec<i64>],
        values: &[Vec<i64>],
    ) -> Result<(Vec<i64>, bool)> {
        if keys.is_empty() {
            return Err(QuantError::Empty("sdpa keys".into()));
        }
        check_len("sdpa values", values.len(), keys.len())?;
        let mut state = self.start(query)?;
        for (k, v) in keys.iter().zip(values) {
            self.push(&mut state, k, v)?;
        }
        Ok(self.finish_with_status(&state))
    }
}
