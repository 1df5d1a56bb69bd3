//! The two attention graphs, built from the unit library over any
//! [`Arithmetic`].
//!
//! Streaming, O(1) memory (every channel's capacity is a constant):
//! ```text
//!  query ──▶ ┌───────┐ scores ┌────────────┐ state ┌───────────┐ out
//!  kv ─────▶ │ score │───────▶│ online max │──────▶│ normalize │────▶ check
//!            └───────┘        │ sum, acc   │       └───────────┘
//!                             └────────────┘
//! ```
//! Naive (two row barriers; `row_scores` and `row_weights` must hold a row):
//! ```text
//!  query, kv ─▶ score ─▶ bcast ─┬─ max_in ─▶ row max ── max ─┐
//!                               └── row_scores (N) ──────────┴▶ exp ─▶ bcast ─┐
//!     ┌───────────────────────────────────────────────────────────────────────┘
//!     ├─ sum_in ─▶ row sum ── sum ─┐
//!     └── row_weights (N) ─────────┴▶ divide ── probs ─▶ weighted sum ── out ─▶ check
//! ```

use super::arithmetic::Arithmetic;
use super::Latencies;
use crate::channel::{Receiver, Sender, Time};
use crate::context::Timing;
use crate::program::{Program, Result};
use crate::units::{map, Broadcast, CheckHandle, Checker, Generator, HoldJoin, StatefulMap};
use std::rc::Rc;

/// A key's index in the workload and whether it ends its query's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Row in the workload.
    pub index: u32,
    /// Last key of the query.
    pub last: bool,
}

/// The keys of every query in order, counted without division.
struct KeyStream {
    n: usize,
    queries: usize,
    next: usize,
}

impl Iterator for KeyStream {
    type Item = Key;

    #[inline]
    fn next(&mut self) -> Option<Key> {
        if self.queries == 0 {
            return None;
        }
        let index = self.next as u32;
        self.next += 1;
        let last = self.next == self.n;
        if last {
            self.next = 0;
            self.queries -= 1;
        }
        Some(Key { index, last })
    }
}

/// A value travelling with a key: a score, a weight or a probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tagged<T> {
    /// The value.
    pub value: T,
    /// The key it belongs to.
    pub key: Key,
}

/// Where the graph's output goes: a checker, given the expected outputs.
pub struct Wiring<'a> {
    /// The program being built.
    pub program: &'a mut Program,
    /// Prefix of every channel and context name ("" or "h0.").
    pub prefix: String,
    /// Capacity of every channel not named in `overrides`.
    pub capacity: usize,
    /// Capacities of single channels, by full name.
    pub overrides: &'a std::collections::BTreeMap<String, usize>,
    /// Unit and channel latencies.
    pub latencies: Latencies,
    /// Whether outputs are checked against the oracle (else only counted).
    pub check: bool,
}

impl Wiring<'_> {
    fn channel<T: 'static>(&mut self, name: &str) -> Result<(Sender<T>, Receiver<T>)> {
        let name = format!("{}{name}", self.prefix);
        let capacity = self.overrides.get(&name).copied().unwrap_or(self.capacity);
        self.program.channel(&name, capacity, self.latencies.channel)
    }

    fn name(&self, unit: &str) -> String {
        format!("{}{unit}", self.prefix)
    }
}

fn pipelined(latency: Time) -> Timing {
    Timing::pipelined(latency)
}

/// Adds the generators and the score unit, all run on demand; returns the
/// scores' receiver.
fn scores<A: Arithmetic>(
    w: &mut Wiring,
    arith: &Rc<A>,
    queries: usize,
) -> Result<Receiver<Tagged<A::Score>>> {
    let n = arith.workload().n;
    let (q_tx, q_rx) = w.channel::<usize>("query")?;
    let (kv_tx, kv_rx) = w.channel::<Key>("kv")?;
    let (s_tx, s_rx) = w.channel::<Tagged<A::Score>>("scores")?;
    w.program.add_on_demand(Generator::new(
        &w.name("query_source"),
        0..queries,
        q_tx,
        pipelined(0),
    ))?;
    let keys = KeyStream { n, queries, next: 0 };
    w.program
        .add_on_demand(Generator::new(&w.name("kv_source"), keys, kv_tx, pipelined(0)))?;
    let a = arith.clone();
    w.program.add_on_demand(HoldJoin::new(
        &w.name("score"),
        q_rx,
        kv_rx,
        s_tx,
        pipelined(w.latencies.score),
        |k: &Key| k.last,
        move |&q: &usize, key: Key| Tagged {
            value: a.score(q, key.index as usize),
            key,
        },
    ))?;
    Ok(s_rx)
}

/// Adds the checker of the output stream against `expected(query)`, or,
/// when the wiring says not to check, a sink that only counts.
fn check<A: Arithmetic>(
    w: &mut Wiring,
    arith: &Rc<A>,
    out_rx: Receiver<A::Out>,
    queries: usize,
    expected: fn(&A, usize) -> A::Out,
) -> CheckHandle {
    if !w.check {
        let handle = CheckHandle::default();
        let h = handle.clone();
        w.program
            .add(crate::units::Sink::new(&w.name("sink"), out_rx, move |_, t| {
                let mut r = h.borrow_mut();
                r.checked += 1;
                r.last_cycle = t;
            }));
        return handle;
    }
    let a = arith.clone();
    let b = arith.clone();
    let (checker, handle) = Checker::within(
        &w.name("check"),
        out_rx,
        (0..queries).map(move |q| expected(&a, q)),
        arith.tolerance(),
        move |x: &A::Out, y: &A::Out| b.distance(x, y),
    );
    w.program.add(checker);
    handle
}

/// The streaming graph for `queries` queries of one head.
pub fn streaming<A: Arithmetic>(w: &mut Wiring, arith: Rc<A>, queries: usize) -> Result<CheckHandle> {
    let s_rx = scores(w, &arith, queries)?;
    let (st_tx, st_rx) = w.channel::<A::State>("state")?;
    let (out_tx, out_rx) = w.channel::<A::Out>("out")?;
    let a = arith.clone();
    w.program.add_on_demand(StatefulMap::new(
        &w.name("online_softmax"),
        s_rx,
        st_tx,
        pipelined(w.latencies.update),
        arith.new_state(),
        move |state: &mut A::State, s: Tagged<A::Score>| {
            a.accumulate(state, s.value, s.key.index as usize);
            s.key.last.then(|| {
                let done = state.clone();
                a.reset(state);
                done
            })
        },
    ))?;
    let a = arith.clone();
    w.program.add_on_demand(map(
        &w.name("normalize"),
        st_rx,
        out_tx,
        Timing {
            latency: w.latencies.normalize,
            initiation_interval: w.latencies.normalize_interval,
        },
        move |state: A::State| a.finish(&state),
    ))?;
    Ok(check(w, &arith, out_rx, queries, A::expected_streaming))
}

/// A reduce over each row: folds with `f` from `zero`, emits at the last key.
fn row_reduce<T: Copy + 'static, R: Copy + 'static>(
    name: &str,
    rx: Receiver<Tagged<T>>,
    tx: Sender<R>,
    latency: Time,
    zero: R,
    f: impl Fn(R, T) -> R + 'static,
) -> impl crate::context::Context {
    StatefulMap::new(
        name,
        rx,
        tx,
        pipelined(latency),
        zero,
        move |acc: &mut R, x: Tagged<T>| {
            *acc = f(*acc, x.value);
            x.key.last.then(|| std::mem::replace(acc, zero))
        },
    )
}

/// The naive graph for `queries` queries of one head.
pub fn naive<A: Arithmetic>(w: &mut Wiring, arith: Rc<A>, queries: usize) -> Result<CheckHandle> {
    let s_rx = scores(w, &arith, queries)?;
    let l = w.latencies;
    // row max, with the scores waiting for it
    let (max_in_tx, max_in_rx) = w.channel::<Tagged<A::Score>>("max_in")?;
    let (row_tx, row_rx) = w.channel::<Tagged<A::Score>>("row_scores")?;
    let (max_tx, max_rx) = w.channel::<A::Score>("max")?;
    w.program.add(Broadcast::new(
        &w.name("score_fork"),
        s_rx,
        vec![max_in_tx, row_tx],
        pipelined(0),
    ));
    w.program.add(StatefulMap::new(
        &w.name("row_max"),
        max_in_rx,
        max_tx,
        pipelined(l.row_max),
        None::<A::Score>,
        move |m: &mut Option<A::Score>, s: Tagged<A::Score>| {
            let new = match *m {
                Some(old) if old >= s.value => old,
                _ => s.value,
            };
            *m = if s.key.last { None } else { Some(new) };
            s.key.last.then_some(new)
        },
    ));
    // weights exp(s - max), with the weights waiting for their sum
    let (weights_tx, weights_rx) = w.channel::<Tagged<A::Weight>>("weights")?;
    let a = arith.clone();
    w.program.add(HoldJoin::new(
        &w.name("exp"),
        max_rx,
        row_rx,
        weights_tx,
        pipelined(l.exp),
        |s: &Tagged<A::Score>| s.key.last,
        move |&m: &A::Score, s: Tagged<A::Score>| Tagged {
            value: a.weight(s.value, m),
            key: s.key,
        },
    ));
    let (sum_in_tx, sum_in_rx) = w.channel::<Tagged<A::Weight>>("sum_in")?;
    let (row_w_tx, row_w_rx) = w.channel::<Tagged<A::Weight>>("row_weights")?;
    let (sum_tx, sum_rx) = w.channel::<A::Weight>("sum")?;
    w.program.add(Broadcast::new(
        &w.name("weight_fork"),
        weights_rx,
        vec![sum_in_tx, row_w_tx],
        pipelined(0),
    ));
    let a = arith.clone();
    w.program.add(row_reduce(
        &w.name("row_sum"),
        sum_in_rx,
        sum_tx,
        l.row_sum,
        arith.zero_weight(),
        move |x, y| a.add(x, y),
    ));
    // divide by the sum, then the weighted sum of values
    let (inv_tx, inv_rx) = w.channel::<A::Prob>("inverse")?;
    let a = arith.clone();
    w.program.add(map(
        &w.name("reciprocal"),
        sum_rx,
        inv_tx,
        pipelined(l.reciprocal),
        move |s| a.inverse(s),
    ));
    let (p_tx, p_rx) = w.channel::<Tagged<A::Prob>>("probs")?;
    let a = arith.clone();
    w.program.add(HoldJoin::new(
        &w.name("divide"),
        inv_rx,
        row_w_rx,
        p_tx,
        pipelined(l.divide),
        |x: &Tagged<A::Weight>| x.key.last,
        move |&inv: &A::Prob, x: Tagged<A::Weight>| Tagged {
            value: a.normalize(x.value, inv),
            key: x.key,
        },
    ));
    let (out_tx, out_rx) = w.channel::<A::Out>("out")?;
    let a = arith.clone();
    w.program.add(StatefulMap::new(
        &w.name("weighted_sum"),
        p_rx,
        out_tx,
        pipelined(l.weighted_sum),
        arith.new_acc(),
        move |acc: &mut A::Acc, p: Tagged<A::Prob>| {
            a.add_weighted(acc, p.value, p.key.index as usize);
            p.key.last.then(|| a.take_output(acc))
        },
    ));
    Ok(check(w, &arith, out_rx, queries, A::expected_two_pass))
}
