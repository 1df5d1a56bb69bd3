//! The unit library: generator, stateful map (map, scan, reduce),
//! hold-join, broadcast, sink and checkers. All are generic over the
//! element type (f64, fixed-point raw values, vectors, tagged structs).
//!
//! Every unit follows one handshake, in [`Output`]: fire when the inputs
//! are visible and the clock allows, then hold the result until the output
//! channel has credit, and emit at `max(fire + latency, credit)`. Units
//! that make one output at a time share one loop (`run_firing`) and can
//! also run on demand ([`OnDemand`]); the others share `run_single_input`.

use crate::channel::{Blocked, Fed, Receiver, Sender, Time};
use crate::context::{Clock, Context, ContextStats, Step, Timing, Wait};
use std::cell::RefCell;
use std::fmt::Debug;
use std::rc::Rc;

/// An output port with room for one result waiting for credit.
#[derive(Debug)]
pub struct Output<T> {
    tx: Sender<T>,
    pending: Option<(T, Time)>,
}

impl<T> Output<T> {
    /// Wraps a sender.
    pub fn new(tx: Sender<T>) -> Self {
        Self { tx, pending: None }
    }

    /// Holds `value`, computed by the fire at `fired`, for sending.
    #[inline]
    pub fn put(&mut self, value: T, fired: Time) {
        debug_assert!(self.pending.is_none());
        self.pending = Some((value, fired));
    }

    /// Sends the held value if the channel has credit; else says why not.
    #[inline]
    pub fn flush(&mut self, clock: &mut Clock) -> Result<(), Wait> {
        if let Some((value, fired)) = self.pending.take() {
            if let Err((value, blocked)) = self.tx.try_send(value, |credit| clock.emit(fired, credit)) {
                self.pending = Some((value, fired));
                return Err(Wait::on(self.tx.id(), blocked));
            }
        }
        Ok(())
    }

    /// Ends the stream.
    pub fn close(&self) {
        self.tx.close();
    }
}

/// What an input says when it has nothing to give.
#[inline]
fn input_wait<T>(rx: &Receiver<T>, blocked: Blocked) -> Wait {
    Wait::on(rx.id(), blocked)
}

/// Where a single-input unit's results go: held until credit, then sent.
trait Emitter {
    /// Sends what waits for credit, or says on which channel it waits.
    fn flush(&mut self, clock: &mut Clock) -> Result<(), Wait>;
    /// Ends every output stream.
    fn close(&self);
}

impl<T> Emitter for Output<T> {
    fn flush(&mut self, clock: &mut Clock) -> Result<(), Wait> {
        Output::flush(self, clock)
    }
    fn close(&self) {
        Output::close(self)
    }
}

/// No outputs (sinks).
impl Emitter for () {
    fn flush(&mut self, _: &mut Clock) -> Result<(), Wait> {
        Ok(())
    }
    fn close(&self) {}
}

/// The loop of every single-input unit: send what waits for credit, take
/// the next input at the first cycle the clock allows, hand it to `take`;
/// until an output or the input must wait, or the input ends.
#[inline]
fn run_single_input<T, E: Emitter>(
    rx: &Receiver<T>,
    clock: &mut Clock,
    out: &mut E,
    mut take: impl FnMut(&mut E, T, Time),
) -> Step {
    let mut progressed = false;
    loop {
        if let Err(wait) = out.flush(clock) {
            return Step::Waiting { progressed, wait };
        }
        match rx.try_receive(|t| clock.fire(t)) {
            Ok((x, fired)) => {
                take(out, x, fired);
                progressed = true;
            }
            Err(Blocked::Closed) => {
                out.close();
                return Step::Done;
            }
            Err(b) => {
                return Step::Waiting {
                    progressed,
                    wait: input_wait(rx, b),
                }
            }
        }
    }
}

/// Why a unit stopped making outputs.
enum Halt {
    /// Its inputs ended.
    End,
    /// It waits on a channel.
    Wait(Wait),
}

/// A unit with one output channel that can make its next output when
/// asked. [`Program::add_on_demand`](crate::program::Program::add_on_demand)
/// lets the channel run it whenever the receiver finds the channel empty,
/// instead of the scheduler: the same send times and counters, no unit
/// switch.
pub trait OnDemand: Context {
    /// The output's element type.
    type Output;
    /// The output channel.
    fn sender(&self) -> &Sender<Self::Output>;
    /// Whether every input channel is fed on demand (so a receive never
    /// waits on an empty channel).
    fn inputs_on_demand(&self) -> bool;
    /// The next output and its send cycle, given the output channel's
    /// credit cycle; the end once the inputs ended, or stuck.
    #[doc(hidden)]
    fn next_output(&mut self, credit: Time) -> Fed<Self::Output>;
}

/// The loop of a unit that makes one output at a time with `fire`: send
/// what waits for credit, fire, hold the result; until a channel must
/// wait or the inputs end.
#[inline]
fn run_firing<O>(
    out: &mut Output<O>,
    clock: &mut Clock,
    mut fire: impl FnMut(&mut Clock, &mut bool) -> Result<(O, Time), Halt>,
) -> Step {
    let mut progressed = false;
    loop {
        if let Err(wait) = out.flush(clock) {
            return Step::Waiting { progressed, wait };
        }
        match fire(clock, &mut progressed) {
            Ok((y, fired)) => {
                out.put(y, fired);
                progressed = true;
            }
            Err(Halt::End) => {
                out.close();
                return Step::Done;
            }
            Err(Halt::Wait(wait)) => return Step::Waiting { progressed, wait },
        }
    }
}

/// The next output of a unit run on demand: `fire`, then emit at the
/// channel's credit. A unit that waits on an input (one that is itself
/// stuck, or a group whose stream closed before its last element) is
/// stuck: it would wait forever as a context too.
#[inline]
fn fire_on_demand<O>(
    clock: &mut Clock,
    credit: Time,
    fire: impl FnOnce(&mut Clock, &mut bool) -> Result<(O, Time), Halt>,
) -> Fed<O> {
    match fire(clock, &mut false) {
        Ok((y, fired)) => Fed::Element(y, clock.emit(fired, credit)),
        Err(Halt::End) => Fed::End,
        Err(Halt::Wait(_)) => Fed::Stuck,
    }
}

/// Sends the items of an iterator, one per initiation interval, from cycle 0.
pub struct Generator<T, I> {
    name: String,
    items: I,
    out: Output<T>,
    clock: Clock,
}

impl<T, I: Iterator<Item = T>> Generator<T, I> {
    /// A generator of `items` into `tx`.
    pub fn new(name: &str, items: I, tx: Sender<T>, timing: Timing) -> Self {
        Self {
            name: name.into(),
            items,
            out: Output::new(tx),
            clock: Clock::new(timing),
        }
    }
}

/// A generator's next item, fired as early as its clock allows.
#[inline]
fn generate<T>(items: &mut impl Iterator<Item = T>, clock: &mut Clock) -> Result<(T, Time), Halt> {
    let item = items.next().ok_or(Halt::End)?;
    Ok((item, clock.fire(0)))
}

impl<T, I: Iterator<Item = T>> Context for Generator<T, I> {
    fn name(&self) -> &str {
        &self.name
    }

    fn step(&mut self) -> Step {
        let items = &mut self.items;
        run_firing(&mut self.out, &mut self.clock, |clock, _| generate(items, clock))
    }

    fn stats(&self) -> ContextStats {
        self.clock.stats()
    }
}

/// A generator run on demand sends as it would as a context: its sends
/// depend only on its clock and on the receive `capacity` elements back,
/// which has happened when the receiver finds the channel empty. In a
/// deadlock among other units it is not listed (as a context it would be,
/// waiting on its full channel: a consequence, not a cause); when its
/// receiver stops with items left, the run ends as a deadlock naming it.
impl<T, I: Iterator<Item = T>> OnDemand for Generator<T, I> {
    type Output = T;

    fn sender(&self) -> &Sender<T> {
        &self.out.tx
    }

    fn inputs_on_demand(&self) -> bool {
        true
    }

    fn next_output(&mut self, credit: Time) -> Fed<T> {
        let items = &mut self.items;
        fire_on_demand(&mut self.clock, credit, |clock, _| generate(items, clock))
    }
}

/// One input, one output, a state: `f(&mut state, input)` may emit.
/// A map ignores the state, a scan emits every time, a reduce emits at the
/// end of each group.
pub struct StatefulMap<I, O, S, F> {
    name: String,
    rx: Receiver<I>,
    out: Output<O>,
    state: S,
    f: F,
    clock: Clock,
}

impl<I, O, S, F: FnMut(&mut S, I) -> Option<O>> StatefulMap<I, O, S, F> {
    /// A unit applying `f` with `state` to every element of `rx`.
    pub fn new(name: &str, rx: Receiver<I>, tx: Sender<O>, timing: Timing, state: S, f: F) -> Self {
        Self {
            name: name.into(),
            rx,
            out: Output::new(tx),
            state,
            f,
            clock: Clock::new(timing),
        }
    }
}

/// A stateless map.
pub fn map<I, O>(
    name: &str,
    rx: Receiver<I>,
    tx: Sender<O>,
    timing: Timing,
    mut f: impl FnMut(I) -> O,
) -> StatefulMap<I, O, (), impl FnMut(&mut (), I) -> Option<O>> {
    StatefulMap::new(name, rx, tx, timing, (), move |_, x| Some(f(x)))
}

/// Takes inputs of a stateful map until one emits; returns the output and
/// the cycle of the fire that made it.
#[inline]
fn map_fire<I, O, S>(
    rx: &Receiver<I>,
    state: &mut S,
    f: &mut impl FnMut(&mut S, I) -> Option<O>,
    clock: &mut Clock,
    progressed: &mut bool,
) -> Result<(O, Time), Halt> {
    loop {
        match rx.try_receive(|t| clock.fire(t)) {
            Ok((x, fired)) => {
                *progressed = true;
                if let Some(y) = f(state, x) {
                    return Ok((y, fired));
                }
            }
            Err(Blocked::Closed) => return Err(Halt::End),
            Err(b) => return Err(Halt::Wait(input_wait(rx, b))),
        }
    }
}

impl<I, O, S, F: FnMut(&mut S, I) -> Option<O>> Context for StatefulMap<I, O, S, F> {
    fn name(&self) -> &str {
        &self.name
    }

    fn step(&mut self) -> Step {
        let (rx, f, state) = (&self.rx, &mut self.f, &mut self.state);
        run_firing(&mut self.out, &mut self.clock, |clock, progressed| {
            map_fire(rx, state, f, clock, progressed)
        })
    }

    fn stats(&self) -> ContextStats {
        self.clock.stats()
    }
}

impl<I, O, S, F: FnMut(&mut S, I) -> Option<O>> OnDemand for StatefulMap<I, O, S, F> {
    type Output = O;

    fn sender(&self) -> &Sender<O> {
        &self.out.tx
    }

    fn inputs_on_demand(&self) -> bool {
        self.rx.is_fed_on_demand()
    }

    fn next_output(&mut self, credit: Time) -> Fed<O> {
        let (rx, f, state) = (&self.rx, &mut self.f, &mut self.state);
        fire_on_demand(&mut self.clock, credit, |clock, progressed| {
            map_fire(rx, state, f, clock, progressed)
        })
    }
}

/// Holds one element of a "held" stream (a query, a row maximum) while it
/// consumes a group of the other stream (keys, scores), up to the element
/// for which `is_last` holds; emits `f(&held, element)` for each.
pub struct HoldJoin<H, S, O, F, L> {
    name: String,
    out: Output<O>,
    clock: Clock,
    join: Join<H, S, F, L>,
}

/// A hold-join's inputs and function, apart from its output and clock.
struct Join<H, S, F, L> {
    held_rx: Receiver<H>,
    stream_rx: Receiver<S>,
    held: Option<H>,
    f: F,
    is_last: L,
}

impl<H, S, O, F, L> HoldJoin<H, S, O, F, L>
where
    F: FnMut(&H, S) -> O,
    L: Fn(&S) -> bool,
{
    /// A join of `held_rx` with groups of `stream_rx`.
    pub fn new(
        name: &str,
        held_rx: Receiver<H>,
        stream_rx: Receiver<S>,
        tx: Sender<O>,
        timing: Timing,
        is_last: L,
        f: F,
    ) -> Self {
        Self {
            name: name.into(),
            out: Output::new(tx),
            clock: Clock::new(timing),
            join: Join {
                held_rx,
                stream_rx,
                held: None,
                f,
                is_last,
            },
        }
    }
}

impl<H, S, F, L> Join<H, S, F, L> {
    /// Takes the next stream element (and a held one first, when none is
    /// held); returns `f(held, element)` and the fire's cycle.
    #[inline]
    fn fire<O>(&mut self, clock: &mut Clock) -> Result<(O, Time), Halt>
    where
        F: FnMut(&H, S) -> O,
        L: Fn(&S) -> bool,
    {
        let held_ready = if self.held.is_some() {
            0
        } else {
            match self.held_rx.ready_at() {
                Ok(t) => t,
                Err(Blocked::Closed) => return Err(Halt::End),
                Err(b) => return Err(Halt::Wait(input_wait(&self.held_rx, b))),
            }
        };
        let (x, fired) = match self.stream_rx.try_receive(|t| clock.fire(held_ready.max(t))) {
            Ok(received) => received,
            Err(Blocked::Closed) if self.held.is_none() => return Err(Halt::End),
            Err(b) => return Err(Halt::Wait(input_wait(&self.stream_rx, b))),
        };
        let last = (self.is_last)(&x);
        let held_rx = &self.held_rx;
        let held = self.held.get_or_insert_with(|| held_rx.receive(fired));
        let y = (self.f)(held, x);
        if last {
            self.held = None;
        }
        Ok((y, fired))
    }
}

impl<H, S, O, F, L> Context for HoldJoin<H, S, O, F, L>
where
    F: FnMut(&H, S) -> O,
    L: Fn(&S) -> bool,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn step(&mut self) -> Step {
        let join = &mut self.join;
        run_firing(&mut self.out, &mut self.clock, |clock, _| join.fire(clock))
    }

    fn stats(&self) -> ContextStats {
        self.clock.stats()
    }
}

impl<H, S, O, F, L> OnDemand for HoldJoin<H, S, O, F, L>
where
    F: FnMut(&H, S) -> O,
    L: Fn(&S) -> bool,
{
    type Output = O;

    fn sender(&self) -> &Sender<O> {
        &self.out.tx
    }

    fn inputs_on_demand(&self) -> bool {
        self.join.held_rx.is_fed_on_demand() && self.join.stream_rx.is_fed_on_demand()
    }

    fn next_output(&mut self, credit: Time) -> Fed<O> {
        let join = &mut self.join;
        fire_on_demand(&mut self.clock, credit, |clock, _| join.fire(clock))
    }
}

/// Copies every element to all outputs in the same cycle (waits for
/// credit on all of them).
pub struct Broadcast<T> {
    name: String,
    rx: Receiver<T>,
    out: Fanout<T>,
    clock: Clock,
}

/// Several output channels fed the same element in the same cycle.
struct Fanout<T> {
    txs: Vec<Sender<T>>,
    pending: Option<(T, Time)>,
}

impl<T: Clone> Emitter for Fanout<T> {
    fn flush(&mut self, clock: &mut Clock) -> Result<(), Wait> {
        if let Some((value, fired)) = self.pending.take() {
            let mut credit = 0;
            for tx in &self.txs {
                match tx.ready_at() {
                    Ok(c) => credit = credit.max(c),
                    Err(b) => {
                        self.pending = Some((value, fired));
                        return Err(Wait::on(tx.id(), b));
                    }
                }
            }
            let t = clock.emit(fired, credit);
            for tx in &self.txs {
                tx.send(value.clone(), t);
            }
        }
        Ok(())
    }

    fn close(&self) {
        self.txs.iter().for_each(Sender::close);
    }
}

impl<T: Clone> Broadcast<T> {
    /// A broadcast of `rx` to every sender in `txs`.
    pub fn new(name: &str, rx: Receiver<T>, txs: Vec<Sender<T>>, timing: Timing) -> Self {
        Self {
            name: name.into(),
            rx,
            out: Fanout { txs, pending: None },
            clock: Clock::new(timing),
        }
    }
}

impl<T: Clone> Context for Broadcast<T> {
    fn name(&self) -> &str {
        &self.name
    }

    fn step(&mut self) -> Step {
        run_single_input(&self.rx, &mut self.clock, &mut self.out, |out, x, fired| {
            out.pending = Some((x, fired));
        })
    }

    fn stats(&self) -> ContextStats {
        self.clock.stats()
    }
}

/// Takes every element as soon as it is visible and hands it, with its
/// cycle, to a closure.
pub struct Sink<T, F> {
    name: String,
    rx: Receiver<T>,
    f: F,
    clock: Clock,
}

impl<T, F: FnMut(T, Time)> Sink<T, F> {
    /// A sink of `rx`.
    pub fn new(name: &str, rx: Receiver<T>, f: F) -> Self {
        Self {
            name: name.into(),
            rx,
            f,
            clock: Clock::new(Timing::pipelined(0)),
        }
    }
}

impl<T, F: FnMut(T, Time)> Context for Sink<T, F> {
    fn name(&self) -> &str {
        &self.name
    }

    fn step(&mut self) -> Step {
        let f = &mut self.f;
        run_single_input(&self.rx, &mut self.clock, &mut (), |_, x, at| f(x, at))
    }

    fn stats(&self) -> ContextStats {
        self.clock.stats()
    }
}

/// The first disagreement a checker saw.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mismatch {
    /// Index of the element in its stream.
    pub index: u64,
    /// Cycle it arrived (or the last cycle, for a missing element).
    pub cycle: Time,
    /// Expected value (Debug form), or "end of stream".
    pub expected: String,
    /// Actual value (Debug form), or "end of stream".
    pub actual: String,
}

/// What a checker found.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct CheckReport {
    /// Elements compared.
    pub checked: u64,
    /// Elements that differed (or were missing or extra).
    pub mismatches: u64,
    /// Largest distance seen between expected and actual.
    pub max_distance: f64,
    /// The first disagreement.
    pub first: Option<Mismatch>,
    /// Cycle of the last element.
    pub last_cycle: Time,
}

impl CheckReport {
    /// Whether every element matched and none was missing or extra.
    pub fn passed(&self) -> bool {
        self.mismatches == 0
    }
}

/// Shared handle to a checker's findings, readable after the run.
pub type CheckHandle = Rc<RefCell<CheckReport>>;

/// Compares a stream with expected values: exactly, or within a tolerance
/// of a distance function.
pub struct Checker<T, E, D> {
    name: String,
    rx: Receiver<T>,
    expected: E,
    distance: D,
    tolerance: f64,
    report: CheckHandle,
    clock: Clock,
}

impl<T: PartialEq + Debug, E: Iterator<Item = T>> Checker<T, E, fn(&T, &T) -> f64> {
    /// A checker that requires equality (bit-exact for integers).
    pub fn exact(name: &str, rx: Receiver<T>, expected: E) -> (Self, CheckHandle) {
        fn equal<T: PartialEq>(a: &T, b: &T) -> f64 {
            if a == b {
                0.0
            } else {
                f64::INFINITY
            }
        }
        Self::within(name, rx, expected, 0.0, equal::<T>)
    }
}

impl<T: Debug, E: Iterator<Item = T>, D: Fn(&T, &T) -> f64> Checker<T, E, D> {
    /// A checker that accepts `distance(expected, actual) <= tolerance`.
    pub fn within(
        name: &str,
        rx: Receiver<T>,
        expected: E,
        tolerance: f64,
        distance: D,
    ) -> (Self, CheckHandle) {
        let report = CheckHandle::default();
        (
            Self {
                name: name.into(),
                rx,
                expected,
                distance,
                tolerance,
                report: report.clone(),
                clock: Clock::new(Timing::pipelined(0)),
            },
            report,
        )
    }

    fn record(&self, index: u64, cycle: Time, expected: String, actual: String) {
        let mut r = self.report.borrow_mut();
        r.mismatches += 1;
        if r.first.is_none() {
            r.first = Some(Mismatch {
                index,
                cycle,
                expected,
                actual,
            });
        }
    }
}

impl<T: Debug, E: Iterator<Item = T>, D: Fn(&T, &T) -> f64> Context for Checker<T, E, D> {
    fn name(&self) -> &str {
        &self.name
    }

    fn step(&mut self) -> Step {
        let mut progressed = false;
        loop {
            match self.rx.try_receive(|t| self.clock.fire(t)) {
                Ok((actual, at)) => {
                    let index = self.report.borrow().checked;
                    match self.expected.next() {
                        Some(expected) => {
                            let d = (self.distance)(&expected, &actual);
                            {
                                let mut r = self.report.borrow_mut();
                                r.max_distance = r.max_distance.max(d);
                            }
                            if d.is_nan() || d > self.tolerance {
                                self.record(index, at, format!("{expected:?}"), format!("{actual:?}"));
                            }
                        }
                        None => self.record(index, at, "end of stream".into(), format!("{actual:?}")),
                    }
                    let mut r = self.report.borrow_mut();
                    r.checked += 1;
                    r.last_cycle = at;
                    progressed = true;
                }
                Err(Blocked::Closed) => {
                    let index = self.report.borrow().checked;
                    if let Some(expected) = self.expected.next() {
                        let cycle = self.clock.stats().last_cycle;
                        self.record(index, cycle, format!("{expected:?}"), "end of stream".into());
                    }
                    return Step::Done;
                }
                Err(b) => {
                    return Step::Waiting {
                        progressed,
                        wait: input_wait(&self.rx, b),
                    }
                }
            }
        }
    }

    fn stats(&self) -> ContextStats {
        self.clock.stats()
    }
}
