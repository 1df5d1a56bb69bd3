//! The numbers inside the SDPA graphs: f64, or the bit-exact integers of
//! `hwformer_quant::integer::sdpa::StreamingSdpa`. The graphs are written
//! once, over [`Arithmetic`].

use super::workload::Workload;
use hwformer_quant::integer::sdpa::{SdpaState, StreamingSdpa};
use hwformer_quant::tables::Scaled;
use std::fmt::Debug;
use std::rc::Rc;

/// What the attention graphs compute with.
pub trait Arithmetic: 'static {
    /// A score or row maximum.
    type Score: Copy + Debug + PartialOrd + 'static;
    /// An unnormalized weight `exp(s - m)` or a sum of them.
    type Weight: Copy + Debug + 'static;
    /// A normalized probability, or the inverse of a sum.
    type Prob: Copy + Debug + 'static;
    /// The running state of one query (streaming order).
    type State: Clone + Debug + 'static;
    /// A weighted sum of values (two-pass order).
    type Acc: Clone + Debug + 'static;
    /// One output vector.
    type Out: Clone + Debug + PartialEq + 'static;

    /// The inputs.
    fn workload(&self) -> &Workload;
    /// The scaled score of query `q` against key `k`.
    fn score(&self, q: usize, k: usize) -> Self::Score;

    /// A fresh streaming state.
    fn new_state(&self) -> Self::State;
    /// The online-softmax step with key `k`'s score.
    fn accumulate(&self, state: &mut Self::State, s: Self::Score, k: usize);
    /// Clears the state for the next query.
    fn reset(&self, state: &mut Self::State);
    /// The one division per query.
    fn finish(&self, state: &Self::State) -> Self::Out;

    /// `exp(s - max)`.
    fn weight(&self, s: Self::Score, max: Self::Score) -> Self::Weight;
    /// The zero of sums of weights.
    fn zero_weight(&self) -> Self::Weight;
    /// `a + b`.
    fn add(&self, a: Self::Weight, b: Self::Weight) -> Self::Weight;
    /// `1 / sum`.
    fn inverse(&self, sum: Self::Weight) -> Self::Prob;
    /// `weight * inverse`: the normalized probability.
    fn normalize(&self, weight: Self::Weight, inverse: Self::Prob) -> Self::Prob;
    /// A zero weighted sum.
    fn new_acc(&self) -> Self::Acc;
    /// `acc += p * v_k`.
    fn add_weighted(&self, acc: &mut Self::Acc, p: Self::Prob, k: usize);
    /// The output of a weighted sum, and a zeroed accumulator.
    fn take_output(&self, acc: &mut Self::Acc) -> Self::Out;

    /// The expected output of query `q`, streaming order (the oracle).
    fn expected_streaming(&self, q: usize) -> Self::Out;
    /// The expected output of query `q`, two-pass order (the oracle).
    fn expected_two_pass(&self, q: usize) -> Self::Out;
    /// Distance between two outputs (max abs, in real units).
    fn distance(&self, a: &Self::Out, b: &Self::Out) -> f64;
    /// The tolerance checkers accept against the expected outputs.
    fn tolerance(&self) -> f64;
}

/// f64 arithmetic on the dequantized workload.
#[derive(Debug, Clone)]
pub struct F64Arithmetic {
    workload: Rc<Workload>,
    scale: f64,
    d: usize,
}

impl F64Arithmetic {
    /// f64 attention with `scale` over `workload` (rows of `d`).
    pub fn new(workload: Rc<Workload>, scale: f64, d: usize) -> Self {
        Self { workload, scale, d }
    }

    /// Exact two-pass softmax-weighted sum: the float reference, computed
    /// key by key from the workload (no matrix is materialized).
    pub fn reference(&self, q: usize) -> Vec<f64> {
        let w = &self.workload;
        let max = (0..w.n)
            .map(|k| self.score(q, k))
            .fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        let mut out = vec![0.0; self.d];
        for k in 0..w.n {
            let p = (self.score(q, k) - max).exp();
            sum += p;
            for (o, v) in out.iter_mut().zip(w.values.real(k)) {
                *o += p * v;
            }
        }
        out.iter().map(|o| o / sum).collect()
    }
}

/// Running max, sum and accumulators in f64.
#[derive(Debug, Clone, PartialEq)]
pub struct F64State {
    max: f64,
    sum: f64,
    acc: Vec<f64>,
}

impl Arithmetic for F64Arithmetic {
    type Score = f64;
    type Weight = f64;
    type Prob = f64;
    type State = F64State;
    type Acc = Vec<f64>;
    type Out = Vec<f64>;

    fn workload(&self) -> &Workload {
        &self.workload
    }

    #[inline]
    fn score(&self, q: usize, k: usize) -> f64 {
        let dot: f64 = self
            .workload
            .queries
            .real(q)
            .iter()
            .zip(self.workload.keys.real(k))
            .map(|(a, b)| a * b)
            .sum();
        dot * self.scale
    }

    fn new_state(&self) -> F64State {
        F64State {
            max: f64::NEG_INFINITY,
            sum: 0.0,
            acc: vec![0.0; self.d],
        }
    }

    #[inline]
    fn accumulate(&self, st: &mut F64State, s: f64, k: usize) {
        if s > st.max {
            let alpha = (st.max - s).exp(); // 0 for the first key
            st.sum *= alpha;
            st.acc.iter_mut().for_each(|a| *a *= alpha);
            st.max = s;
        }
        let p = (s - st.max).exp();
        st.sum += p;
        for (a, v) in st.acc.iter_mut().zip(self.workload.values.real(k)) {
            *a += p * v;
        }
    }

    fn reset(&self, st: &mut F64State) {
        st.max = f64::NEG_INFINITY;
        st.sum = 0.0;
        st.acc.fill(0.0);
    }

    fn finish(&self, st: &F64State) -> Vec<f64> {
        st.acc.iter().map(|a| a / st.sum).collect()
    }

    #[inline]
    fn weight(&self, s: f64, max: f64) -> f64 {
        (s - max).exp()
    }

    fn zero_weight(&self) -> f64 {
        0.0
    }

    #[inline]
    fn add(&self, a: f64, b: f64) -> f64 {
        a + b
    }

    fn inverse(&self, sum: f64) -> f64 {
        1.0 / sum
    }

    #[inline]
    fn normalize(&self, weight: f64, inverse: f64) -> f64 {
        weight * inverse
    }

    fn new_acc(&self) -> Vec<f64> {
        vec![0.0; self.d]
    }

    #[inline]
    fn add_weighted(&self, acc: &mut Vec<f64>, p: f64, k: usize) {
        for (a, v) in acc.iter_mut().zip(self.workload.values.real(k)) {
            *a += p * v;
        }
    }

    fn take_output(&self, acc: &mut Vec<f64>) -> Vec<f64> {
        std::mem::replace(acc, vec![0.0; self.d])
    }

    fn expected_streaming(&self, q: usize) -> Vec<f64> {
        self.reference(q)
    }

    fn expected_two_pass(&self, q: usize) -> Vec<f64> {
        self.reference(q)
    }

    fn distance(&self, a: &Vec<f64>, b: &Vec<f64>) -> f64 {
        max_abs_difference(a.iter().copied(), b.iter().copied())
    }

    /// Reordering the sums changes only the last bits: 1e-9 absolute.
    fn tolerance(&self) -> f64 {
        1e-9
    }
}

fn max_abs_difference(a: impl Iterator<Item = f64>, b: impl Iterator<Item = f64>) -> f64 {
    a.zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Bit-exact integer arithmetic of `StreamingSdpa`.
#[derive(Debug, Clone)]
pub struct FixedArithmetic {
    workload: Rc<Workload>,
    model: Rc<StreamingSdpa>,
}

impl FixedArithmetic {
    /// The integer model `model` over `workload`.
    pub fn new(workload: Rc<Workload>, model: Rc<StreamingSdpa>) -> Self {
        Self { workload, model }
    }
}

impl Arithmetic for FixedArithmetic {
    type Score = i64;
    type Weight = u64;
    type Prob = Scaled;
    type State = SdpaState;
    type Acc = Vec<i64>;
    type Out = Vec<i64>;

    fn workload(&self) -> &Workload {
        &self.workload
    }

    #[inline]
    fn score(&self, q: usize, k: usize) -> i64 {
        self.model
            .score(self.workload.queries.raw(q), self.workload.keys.raw(k))
    }

    fn new_state(&self) -> SdpaState {
        self.model.accumulator()
    }

    #[inline]
    fn accumulate(&self, st: &mut SdpaState, s: i64, k: usize) {
        self.model.accumulate(st, s, self.workload.values.raw(k));
    }

    fn reset(&self, st: &mut SdpaState) {
        self.model.reset(st);
    }

    fn finish(&self, st: &SdpaState) -> Vec<i64> {
        self.model.finish(st)
    }

    #[inline]
    fn weight(&self, s: i64, max: i64) -> u64 {
        u64::from(self.model.row_weight(s, max))
    }

    fn zero_weight(&self) -> u64 {
        0
    }

    #[inline]
    fn add(&self, a: u64, b: u64) -> u64 {
        a + b
    }

    fn inverse(&self, sum: u64) -> Scaled {
        self.model.reciprocal().eval(sum)
    }

    /// The probability as a `Scaled` with shift 0 (its mantissa is the
    /// UQ0.16 raw value), so weights and probabilities share one type.
    #[inline]
    fn normalize(&self, weight: u64, inverse: Scaled) -> Scaled {
        Scaled {
            mantissa: self.model.normalized_weight(weight as u32, inverse) as u32,
            shift: 0,
        }
    }

    fn new_acc(&self) -> Vec<i64> {
        vec![0; self.model.config().d]
    }

    #[inline]
    fn add_weighted(&self, acc: &mut Vec<i64>, p: Scaled, k: usize) {
        let p = i64::from(p.mantissa);
        for (a, v) in acc.iter_mut().zip(self.workload.values.raw(k)) {
            *a += p * v;
        }
    }

    fn take_output(&self, acc: &mut Vec<i64>) -> Vec<i64> {
        let out = acc.iter().map(|&a| self.model.two_pass_output(a)).collect();
        acc.fill(0);
        out
    }

    fn expected_streaming(&self, q: usize) -> Vec<i64> {
        let mut state = self.model.accumulator();
        let query = self.workload.queries.raw(q);
        for k in 0..self.workload.n {
            let s = self.model.score(query, self.workload.keys.raw(k));
            self.model.accumulate(&mut state, s, self.workload.values.raw(k));
        }
        self.model.finish(&state)
    }

    fn expected_two_pass(&self, q: usize) -> Vec<i64> {
        let w = &self.workload;
        self.model
            .two_pass_unchecked(w.queries.raw(q), w.n, |k| w.keys.raw(k), |k| w.values.raw(k))
    }

    fn distance(&self, a: &Vec<i64>, b: &Vec<i64>) -> f64 {
        let f = self.model.config().output;
        max_abs_difference(
            a.iter().map(|&x| f.to_f64(i128::from(x))),
            b.iter().map(|&x| f.to_f64(i128::from(x))),
        )
    }

    /// Bit-exact: no tolerance.
    fn tolerance(&self) -> f64 {
        0.0
    }
}
