//! A program: channels and contexts, built, then run to the end or to a
//! deadlock.

use crate::channel::{self, ChannelId, ChannelStats, Receiver, Sender, Time};
use crate::context::{Context, ContextStats, Step, Wait};
use crate::units::OnDemand;
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Errors in building or running a program.
#[derive(Debug, Clone, PartialEq)]
pub enum DataflowError {
    /// A parameter outside its range (named in the message).
    InvalidParameter(String),
    /// The run stopped with every unfinished context waiting.
    Deadlock(Box<Deadlock>),
    /// An error from the number models.
    Quant(hwformer_quant::QuantError),
}

impl std::fmt::Display for DataflowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataflowError::InvalidParameter(m) => write!(f, "invalid parameter: {m}"),
            DataflowError::Deadlock(d) => write!(f, "{d}"),
            DataflowError::Quant(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DataflowError {}

impl From<hwformer_quant::QuantError> for DataflowError {
    fn from(e: hwformer_quant::QuantError) -> Self {
        DataflowError::Quant(e)
    }
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, DataflowError>;

/// One channel in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelReport {
    /// Its name.
    pub name: String,
    /// Capacity in elements.
    pub capacity: usize,
    /// Cycles from send to earliest receive.
    pub latency: Time,
    /// Counters.
    #[serde(flatten)]
    pub stats: ChannelStats,
}

/// One context in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextReport {
    /// Its name.
    pub name: String,
    /// Counters.
    #[serde(flatten)]
    pub stats: ContextStats,
}

/// What a finished run measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Cycles from 0 to one past the last event.
    pub cycles: Time,
    /// Every channel, in creation order.
    pub channels: Vec<ChannelReport>,
    /// Every context, in the order added.
    pub contexts: Vec<ContextReport>,
}

impl RunReport {
    /// The channel called `name`.
    pub fn channel(&self, name: &str) -> Option<&ChannelReport> {
        self.channels.iter().find(|c| c.name == name)
    }
}

/// A context that could not go on, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiter {
    /// The context.
    pub context: String,
    /// The channel it waits on.
    pub channel: String,
    /// "full" (waits to send) or "empty" (waits to receive).
    pub state: &'static str,
    /// The context's local cycle when it stopped.
    pub cycle: Time,
}

/// A deadlock: every unfinished context waits on a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadlock {
    /// The latest local cycle any context reached.
    pub cycle: Time,
    /// Who waits on what.
    pub waiters: Vec<Waiter>,
    /// Counters up to the deadlock.
    pub report: RunReport,
}

impl std::fmt::Display for Deadlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "deadlock at cycle {}:", self.cycle)?;
        for w in &self.waiters {
            let verb = if w.state == "full" {
                "send into full"
            } else {
                "receive from empty"
            };
            writeln!(
                f,
                "  {} (cycle {}) waits to {verb} channel {}",
                w.context, w.cycle, w.channel
            )?;
        }
        Ok(())
    }
}

/// The scheduler's view of a unit run on demand: done from the start,
/// counters read from the unit.
struct RunOnDemand {
    name: String,
    unit: Rc<RefCell<dyn Context>>,
    channel: ChannelId,
    left_over: Box<dyn Fn() -> bool>,
}

impl Context for RunOnDemand {
    fn name(&self) -> &str {
        &self.name
    }

    fn step(&mut self) -> Step {
        Step::Done // its channel runs it
    }

    fn stats(&self) -> ContextStats {
        self.unit.borrow().stats()
    }

    /// As a context it would still wait to send what its receiver never
    /// took: the run ends as a deadlock naming it.
    fn left_waiting(&mut self) -> Option<Wait> {
        (self.left_over)().then_some(Wait {
            channel: self.channel,
            full: true,
        })
    }
}

struct ChannelEntry {
    name: String,
    activity: Rc<Cell<u64>>,
    capacity: usize,
    latency: Time,
    stats: Box<dyn Fn() -> ChannelStats>,
}

/// A dataflow program under construction.
#[derive(Default)]
pub struct Program {
    channels: Vec<ChannelEntry>,
    contexts: Vec<Box<dyn Context>>,
}

impl Program {
    /// An empty program.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a channel of `capacity >= 1` elements and `latency >= 1` cycles.
    pub fn channel<T: 'static>(
        &mut self,
        name: &str,
        capacity: usize,
        latency: Time,
    ) -> Result<(Sender<T>, Receiver<T>)> {
        if capacity == 0 {
            return Err(DataflowError::InvalidParameter(format!(
                "channel {name}: capacity must be at least 1"
            )));
        }
        if latency == 0 {
            return Err(DataflowError::InvalidParameter(format!(
                "channel {name}: latency must be at least 1 cycle"
            )));
        }
        let id = ChannelId(self.channels.len());
        let activity = Rc::new(Cell::new(0));
        let (mut tx, mut rx) = channel::channel::<T>(capacity, latency, activity.clone());
        tx.id = id;
        rx.id = id;
        let core = tx.core.clone();
        self.channels.push(ChannelEntry {
            name: name.to_string(),
            activity,
            capacity,
            latency,
            stats: Box::new(move || channel::stats(&core)),
        });
        Ok((tx, rx))
    }

    /// Adds a context.
    pub fn add(&mut self, context: impl Context + 'static) {
        self.contexts.push(Box::new(context));
    }

    /// Adds a unit that its output channel runs whenever the receiver
    /// finds the channel empty, instead of the scheduler. Every send and
    /// counter is the one it would have as a context: its next send
    /// depends on its clock, its inputs (fed the same way) and the receive
    /// `capacity` elements back, which has happened once the channel is
    /// empty. A chain of such units runs as nested calls, with no unit
    /// switch. Its inputs must be fed on demand already (a generator, or
    /// another unit added this way), else an error.
    ///
    /// Differences from [`Self::add`], in deadlocks only: a unit run on
    /// demand is not listed among the waiters (as a context it would wait
    /// on its full channel: a consequence, not a cause; a unit stuck on a
    /// group that never ends leaves its receiver waiting instead), the
    /// counters up to the deadlock may be lower (it made only what was
    /// asked for), and when its receiver stops with outputs still to come,
    /// the run ends as a deadlock naming it, even where they would have
    /// fit in its channel. Its output channel must be new: not sent on,
    /// closed or fed before (else an error).
    pub fn add_on_demand<U>(&mut self, unit: U) -> Result<()>
    where
        U: OnDemand + 'static,
        U::Output: 'static,
    {
        if !unit.inputs_on_demand() {
            return Err(DataflowError::InvalidParameter(format!(
                "unit {}: to run on demand, every input must be fed on demand (a generator or \
                 another unit added with add_on_demand, added before it)",
                unit.name()
            )));
        }
        let name = unit.name().to_string();
        let channel = unit.sender().id();
        let unit = Rc::new(RefCell::new(unit));
        let fed = unit.clone();
        let left_over = unit
            .borrow()
            .sender()
            .feed_on_demand(Box::new(move |credit| fed.borrow_mut().next_output(credit)))
            .map_err(|why| {
                DataflowError::InvalidParameter(format!(
                    "unit {name}: cannot run on demand: its output channel {why}"
                ))
            })?;
        self.contexts.push(Box::new(RunOnDemand {
            name,
            unit,
            channel,
            left_over,
        }));
        Ok(())
    }

    /// Runs every context until all are done, or none can go on.
    pub fn run(mut self) -> Result<RunReport> {
        let mut active: Vec<usize> = (0..self.contexts.len()).collect();
        // what each context waits on: that channel's activity counter, and
        // its count then (a context is skipped until the count moves)
        let mut waits: Vec<Option<(Wait, u64)>> = vec![None; self.contexts.len()];
        let activity: Vec<Rc<Cell<u64>>> = self.channels.iter().map(|c| c.activity.clone()).collect();
        while !active.is_empty() {
            let mut progressed = false;
            let mut k = 0;
            while k < active.len() {
                let i = active[k];
                if let Some((wait, seen)) = waits[i] {
                    if activity[wait.channel.0].get() == seen {
                        k += 1;
                        continue; // nothing it waits on has moved
                    }
                }
                match self.contexts[i].step() {
                    Step::Done => {
                        progressed = true;
                        active.remove(k);
                        continue;
                    }
                    Step::Waiting { progressed: p, wait } => {
                        progressed |= p;
                        waits[i] = Some((wait, activity[wait.channel.0].get()));
                    }
                }
                k += 1;
            }
            if !progressed && !active.is_empty() {
                let waiting = active
                    .iter()
                    .filter_map(|&i| waits[i].map(|(w, _)| (i, w)))
                    .collect();
                return Err(self.deadlock(waiting));
            }
        }
        // every context is done; one may still have work nobody took.
        // Downstream first: a unit run on demand is added after those that
        // feed it, and its check may take what they still hold.
        let mut left: Vec<(usize, Wait)> = (0..self.contexts.len())
            .rev()
            .filter_map(|i| self.contexts[i].left_waiting().map(|w| (i, w)))
            .collect();
        left.reverse();
        if !left.is_empty() {
            return Err(self.deadlock(left));
        }
        Ok(self.report())
    }

    /// The deadlock of contexts `waiting`, each on its channel.
    fn deadlock(&self, waiting: Vec<(usize, Wait)>) -> DataflowError {
        let report = self.report();
        let waiters = waiting
            .into_iter()
            .map(|(i, w)| Waiter {
                context: self.contexts[i].name().to_string(),
                channel: self.channels[w.channel.0].name.clone(),
                state: if w.full { "full" } else { "empty" },
                cycle: self.contexts[i].stats().last_cycle,
            })
            .collect();
        DataflowError::Deadlock(Box::new(Deadlock {
            cycle: report.cycles.saturating_sub(1),
            waiters,
            report,
        }))
    }

    fn report(&self) -> RunReport {
        let contexts: Vec<ContextReport> = self
            .contexts
            .iter()
            .map(|c| ContextReport {
                name: c.name().to_string(),
                stats: c.stats(),
            })
            .collect();
        let cycles = contexts.iter().map(|c| c.stats.last_cycle + 1).max().unwrap_or(0);
        RunReport {
            cycles,
            channels: self
                .channels
                .iter()
                .map(|c| ChannelReport {
                    name: c.name.clone(),
                    capacity: c.capacity,
                    latency: c.latency,
                    stats: (c.stats)(),
                })
                .collect(),
            contexts,
        }
    }
}
