//! Contexts: processing units with their own clock.
//!
//! A context advances its local time as far as its channels let it and
//! returns a [`Step`] saying whether it moved, finished, or on which
//! channel it waits. Units declare a [`Timing`]: a fire at cycle `f`
//! emits at `max(f + latency, output credit)`; the next fire comes no
//! earlier than `f + initiation_interval`, nor before the last emission
//! minus the latency plus one (a stalled output stalls the pipeline).

use crate::channel::{Blocked, ChannelId, Time};
use serde::Serialize;

/// Latency and initiation interval of a unit, in cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timing {
    /// Cycles from taking an input to emitting its output.
    pub latency: Time,
    /// Cycles between two fires (1 = fully pipelined).
    pub initiation_interval: Time,
}

impl Timing {
    /// A fully pipelined unit of the given latency.
    pub const fn pipelined(latency: Time) -> Self {
        Self {
            latency,
            initiation_interval: 1,
        }
    }
}

/// What a context waits on when it cannot go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// The channel.
    pub channel: ChannelId,
    /// True when the context waits for room to send (the channel is full);
    /// false when it waits for an element (the channel is empty).
    pub full: bool,
}

impl Wait {
    /// A wait on `channel` for the reason `blocked` (`Full` or `Empty`).
    pub fn on(channel: ChannelId, blocked: Blocked) -> Self {
        Self {
            channel,
            full: blocked == Blocked::Full,
        }
    }
}

/// The result of running a context as far as it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// It stopped on `Wait` after doing `progressed` work (0 = none).
    Waiting {
        /// Whether anything happened in this step.
        progressed: bool,
        /// What it waits on now.
        wait: Wait,
    },
    /// Its streams ended and it closed its outputs.
    Done,
}

/// Busy and stall cycles of one context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ContextStats {
    /// Fires (inputs taken or elements generated).
    pub fires: u64,
    /// Cycles issuing work: fires times the initiation interval.
    pub busy_cycles: u64,
    /// Cycles waiting for an input element.
    pub input_stall_cycles: u64,
    /// Cycles held back by a full output.
    pub output_stall_cycles: u64,
    /// Cycle of its last event.
    pub last_cycle: Time,
}

/// A processing unit in a dataflow program.
pub trait Context {
    /// Its name in reports.
    fn name(&self) -> &str;
    /// Runs until it must wait or its inputs end.
    fn step(&mut self) -> Step;
    /// Its counters so far.
    fn stats(&self) -> ContextStats;
    /// Asked once every context is done: what it would still wait on, if
    /// it has work left that no step could do (a unit run on demand whose
    /// receiver stopped early). None by default.
    fn left_waiting(&mut self) -> Option<Wait> {
        None
    }
}

/// The clock and counters every unit keeps: when it may fire next, and
/// why it waited.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    timing: Timing,
    /// Earliest next fire from the initiation interval alone.
    issue_ready: Time,
    /// Earliest next fire, also counting output stalls.
    next_fire: Time,
    stats: ContextStats,
}

impl Clock {
    /// A clock for a unit with `timing`.
    pub fn new(timing: Timing) -> Self {
        Self {
            timing,
            issue_ready: 0,
            next_fire: 0,
            stats: ContextStats::default(),
        }
    }

    /// The unit's timing.
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// Fires at the first cycle at or after `inputs_ready` it may; returns it.
    #[inline]
    pub fn fire(&mut self, inputs_ready: Time) -> Time {
        let t = inputs_ready.max(self.next_fire);
        self.stats.output_stall_cycles += self.next_fire - self.issue_ready;
        self.stats.input_stall_cycles += t - self.next_fire;
        let ii = self.timing.initiation_interval;
        self.stats.fires += 1;
        self.issue_ready = t + ii;
        self.next_fire = t + ii;
        self.stats.last_cycle = self.stats.last_cycle.max(t);
        t
    }

    /// The cycle an output of the fire at `fired` may leave, given the
    /// output's credit cycle; a late credit holds back the next fire.
    #[inline]
    pub fn emit(&mut self, fired: Time, credit: Time) -> Time {
        let latency = self.timing.latency;
        let t = (fired + latency).max(credit);
        self.next_fire = self.next_fire.max((t + 1).saturating_sub(latency));
        self.stats.last_cycle = self.stats.last_cycle.max(t);
        t
    }

    /// Records a receive that is not a fire (a sink or checker taking an
    /// element) at cycle `t`.
    #[inline]
    pub fn touch(&mut self, t: Time) {
        self.stats.last_cycle = self.stats.last_cycle.max(t);
    }

    /// The counters (busy cycles follow from the fires).
    pub fn stats(&self) -> ContextStats {
        ContextStats {
            busy_cycles: self.stats.fires * self.timing.initiation_interval,
            ..self.stats
        }
    }
}
