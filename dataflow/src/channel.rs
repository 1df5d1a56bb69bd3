//! Bounded channels with latency, in simulated time.
//!
//! ```text
//!   sender ──send(t)──▶ [ capacity C, latency L ] ──receive(t' >= t + L)──▶ receiver
//!            ◀──────── credit: send k needs receive k-C at or before t - 1
//! ```
//!
//! Every element carries the cycle it was sent. A receiver may take it no
//! earlier than `sent + latency`; a sender may put element `k` in only
//! after element `k - C` left, one cycle later (a registered FIFO: a slot
//! freed by a pop is seen by the pusher the next cycle). At most one element
//! enters and one leaves per cycle. So capacity 1 gives half throughput and
//! capacity 2 full throughput, as with a skid buffer.
//!
//! Both sides run at their own pace in simulation order; the simulator's
//! buffer never holds more than `C` elements, so memory does not grow with
//! time. Peak occupancy is measured in simulated time, exactly.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

/// A cycle number.
pub type Time = u64;

/// Index of a channel in its program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub usize);

/// Why a side of a channel cannot go on in simulation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// The sender waits for the receiver to free a slot.
    Full,
    /// The receiver waits for the sender's next element.
    Empty,
    /// The sender closed the channel and every element was taken.
    Closed,
}

/// Counters of one channel, in simulated time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ChannelStats {
    /// Elements sent.
    pub elements: u64,
    /// Most elements inside at any cycle.
    pub peak_occupancy: usize,
}

/// What a unit run on demand gives when its channel asks for the next
/// element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fed<T> {
    /// The element and its send cycle.
    Element(T, Time),
    /// The stream ended: the channel closes.
    End,
    /// The unit can make no more elements and its stream did not end (a
    /// group that never ends): the channel stays empty, so its receiver
    /// waits and the run ends as a deadlock.
    Stuck,
}

/// Makes the next element of a channel fed on demand, given the credit
/// cycle of its send. See [`crate::program::Program::add_on_demand`].
pub(crate) type Feed<T> = Box<dyn FnMut(Time) -> Fed<T>>;

/// The shared state of one channel.
pub(crate) struct Core<T> {
    capacity: usize,
    latency: Time,
    /// Elements sent and not yet received, with their send cycles.
    buffer: VecDeque<(T, Time)>,
    /// Receive cycle of element `k`, at `k & ring_mask` (a power-of-two
    /// ring of at least `capacity` entries: no division per element).
    received_at: Box<[Time]>,
    ring_mask: u64,
    sent: u64,
    received: u64,
    /// Earliest cycle of the next send (one per cycle).
    next_send: Time,
    /// Earliest cycle of the next receive (one per cycle).
    next_receive: Time,
    /// Elements received at or before the send cycle last measured.
    freed: u64,
    peak: usize,
    closed: bool,
    /// Counts sends, receives and the close: the scheduler skips a context
    /// whose channel has not changed since it stopped on it.
    activity: Rc<Cell<u64>>,
    /// A sender run on demand: asked for the next element when the
    /// receiver finds the channel empty.
    feed: Option<Feed<T>>,
    /// Whether a feed was ever installed (it stays true after the end).
    fed: bool,
}

impl<T> std::fmt::Debug for Core<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("capacity", &self.capacity)
            .field("latency", &self.latency)
            .field("sent", &self.sent)
            .field("received", &self.received)
            .field("closed", &self.closed)
            .field("fed", &self.feed.is_some())
            .finish()
    }
}

impl<T> Core<T> {
    #[inline]
    fn ready_to_send(&self) -> Result<Time, Blocked> {
        if self.sent < self.capacity as u64 {
            return Ok(self.next_send);
        }
        let leaving = self.sent - self.capacity as u64;
        if leaving >= self.received {
            return Err(Blocked::Full);
        }
        Ok(self
            .next_send
            .max(self.received_at[(leaving & self.ring_mask) as usize] + 1))
    }

    #[inline]
    fn push(&mut self, value: T, time: Time) {
        debug_assert!(self.buffer.len() < self.capacity, "send into a full channel");
        debug_assert!(time >= self.next_send, "two sends in one cycle");
        self.buffer.push_back((value, time));
        self.sent += 1;
        self.next_send = time + 1;
        self.activity.set(self.activity.get() + 1);
    }

    #[inline]
    fn ready_to_receive(&mut self) -> Result<Time, Blocked> {
        if self.buffer.is_empty() && self.feed.is_some() {
            self.pull();
        }
        match self.buffer.front() {
            Some(&(_, sent)) => Ok((sent + self.latency).max(self.next_receive)),
            None if self.closed => Err(Blocked::Closed),
            None => Err(Blocked::Empty),
        }
    }

    #[inline]
    fn pop(&mut self, time: Time) -> T {
        let (value, sent) = self.buffer.pop_front().expect("receive from an empty channel");
        let index = self.received;
        self.measure(index, sent);
        self.received_at[(index & self.ring_mask) as usize] = time;
        self.received += 1;
        self.next_receive = time + 1;
        self.activity.set(self.activity.get() + 1);
        value
    }

    /// Asks the feed for the next element. The channel is empty, so its
    /// credit is known: the element `capacity` places back has left.
    fn pull(&mut self) {
        let credit = self.ready_to_send().expect("an empty channel has credit");
        let feed = self.feed.as_mut().expect("a fed channel");
        match feed(credit) {
            Fed::Element(value, time) => self.push(value, time),
            Fed::End => {
                self.feed = None;
                self.closed = true;
                self.activity.set(self.activity.get() + 1);
            }
            Fed::Stuck => {}
        }
    }

    /// Occupancy right after element `index` (sent at `sent`) entered.
    /// Called when the element leaves, or at the end for those left inside;
    /// only receive cycles of the last `capacity` elements are needed.
    fn measure(&mut self, index: u64, sent: Time) {
        while self.freed < index.min(self.received)
            && self.received_at[(self.freed & self.ring_mask) as usize] <= sent
        {
            self.freed += 1;
        }
        self.peak = self.peak.max((index + 1 - self.freed) as usize);
    }
}

/// Creates a channel; `capacity >= 1`, `latency >= 1`.
pub(crate) fn channel<T>(
    capacity: usize,
    latency: Time,
    activity: Rc<Cell<u64>>,
) -> (Sender<T>, Receiver<T>) {
    let core = Rc::new(RefCell::new(Core {
        capacity,
        latency,
        buffer: VecDeque::with_capacity(capacity),
        received_at: vec![0; capacity.next_power_of_two()].into_boxed_slice(),
        ring_mask: capacity.next_power_of_two() as u64 - 1,
        sent: 0,
        received: 0,
        next_send: 0,
        next_receive: 0,
        freed: 0,
        peak: 0,
        closed: false,
        activity,
        feed: None,
        fed: false,
    }));
    (
        Sender {
            core: core.clone(),
            id: ChannelId(usize::MAX),
        },
        Receiver {
            core,
            id: ChannelId(usize::MAX),
        },
    )
}

/// The sending side of a channel, owned by one context.
#[derive(Debug)]
pub struct Sender<T> {
    pub(crate) core: Rc<RefCell<Core<T>>>,
    pub(crate) id: ChannelId,
}

impl<T> Sender<T> {
    /// The channel's id in its program.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// The earliest cycle the next element may be sent, or `Full` when the
    /// element it must follow out has not been received yet.
    #[inline]
    pub fn ready_at(&self) -> Result<Time, Blocked> {
        self.core.borrow().ready_to_send()
    }

    /// Sends `value` at cycle `time`, which must be at or after
    /// [`Self::ready_at`].
    #[inline]
    pub fn send(&self, value: T, time: Time) {
        self.core.borrow_mut().push(value, time);
    }

    /// Sends `value` at the cycle `at(credit)` returns (at or after the
    /// credit cycle), or gives it back with the reason it cannot go yet.
    #[inline]
    pub fn try_send(&self, value: T, at: impl FnOnce(Time) -> Time) -> Result<(), (T, Blocked)> {
        let mut c = self.core.borrow_mut();
        match c.ready_to_send() {
            Ok(credit) => {
                let time = at(credit);
                c.push(value, time);
                Ok(())
            }
            Err(blocked) => Err((value, blocked)),
        }
    }

    /// Hands the sending to `feed`, run whenever the receiver finds the
    /// channel empty; nothing else may send on it. Refused (with the reason)
    /// when the channel was already sent on, closed or fed. The returned
    /// check, for the end of a run, says whether an element is left that no
    /// receive took (in the channel or still in the feed).
    pub(crate) fn feed_on_demand(&self, feed: Feed<T>) -> Result<Box<dyn Fn() -> bool>, &'static str>
    where
        T: 'static,
    {
        {
            let mut c = self.core.borrow_mut();
            if c.fed {
                return Err("it is fed on demand already");
            }
            if c.sent > 0 || c.closed {
                return Err("it was sent on or closed already");
            }
            c.feed = Some(feed);
            c.fed = true;
        }
        let core = self.core.clone();
        Ok(Box::new(move || {
            let mut c = core.borrow_mut();
            if c.buffer.is_empty() && c.feed.is_some() {
                c.pull();
            }
            !c.buffer.is_empty()
        }))
    }

    /// Marks the end of the stream: the receiver sees `Closed` once empty.
    pub fn close(&self) {
        let mut c = self.core.borrow_mut();
        c.closed = true;
        c.activity.set(c.activity.get() + 1);
    }
}

/// The receiving side of a channel, owned by one context.
#[derive(Debug)]
pub struct Receiver<T> {
    pub(crate) core: Rc<RefCell<Core<T>>>,
    pub(crate) id: ChannelId,
}

impl<T> Receiver<T> {
    /// The channel's id in its program.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// The earliest cycle the next element may be received, `Empty` when
    /// none was sent yet, `Closed` at the end of the stream.
    #[inline]
    pub fn ready_at(&self) -> Result<Time, Blocked> {
        self.core.borrow_mut().ready_to_receive()
    }

    /// Whether the channel is fed on demand (or was, and has ended).
    pub(crate) fn is_fed_on_demand(&self) -> bool {
        self.core.borrow().fed
    }

    /// Takes the next element at cycle `time`, at or after [`Self::ready_at`].
    #[inline]
    pub fn receive(&self, time: Time) -> T {
        self.core.borrow_mut().pop(time)
    }

    /// Takes the next element at the cycle `at(ready)` returns (at or after
    /// the cycle it becomes visible), with that cycle.
    #[inline]
    pub fn try_receive(&self, at: impl FnOnce(Time) -> Time) -> Result<(T, Time), Blocked> {
        let mut c = self.core.borrow_mut();
        let ready = c.ready_to_receive()?;
        let time = at(ready);
        Ok((c.pop(time), time))
    }
}

/// Reads the statistics of a channel, counting elements still inside.
pub(crate) fn stats<T>(core: &Rc<RefCell<Core<T>>>) -> ChannelStats {
    let mut c = core.borrow_mut();
    // elements never received: they stay inside to the end
    let pending: Vec<Time> = c.buffer.iter().map(|&(_, sent)| sent).collect();
    let first = c.received;
    let mut peak = c.peak;
    let saved = c.freed;
    for (i, sent) in pending.into_iter().enumerate() {
        c.measure(first + i as u64, sent);
        peak = peak.max(c.peak);
    }
    c.freed = saved;
    ChannelStats {
        elements: c.sent,
        peak_occupancy: peak,
    }
}
