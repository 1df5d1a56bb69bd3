//! A vector beat of `L` lanes into `L` element beats, one a cycle (an
//! attention head's output into the output projection): the hardware of
//! `dataflow::handshake::units::Serialize`.
//!
//! ```text
//!  in (L lanes) ─▶ [vector, lanes left] ─ lane 0, 1, ... ─▶ out (every beat with tlast)
//!  in.ready = nothing left, or the last lane leaving
//! ```

use crate::lanes::LaneSelect;
use rust_hdl::prelude::*;

/// The serializer of `L` lanes of 16 bits; `W = 16 L`.
#[derive(LogicBlock)]
pub struct LaneSerializer<const L: usize, const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// A vector, lane 0 lowest.
    pub in_data: Signal<In, Bits<W>>,
    /// Vector valid.
    pub in_valid: Signal<In, Bit>,
    /// Vector ready.
    pub in_ready: Signal<Out, Bit>,
    /// One element.
    pub out_data: Signal<Out, Bits<16>>,
    /// Element valid.
    pub out_valid: Signal<Out, Bit>,
    /// Element ready.
    pub out_ready: Signal<In, Bit>,
    /// High on every element.
    pub out_last: Signal<Out, Bit>,
    vector: DFF<Bits<W>>,
    left: DFF<Bits<8>>,
    lane: DFF<Bits<8>>,
    select: LaneSelect<L, 16>,
    lanes: Constant<Bits<8>>,
}

impl<const L: usize, const W: usize> Default for LaneSerializer<L, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const L: usize, const W: usize> LaneSerializer<L, W> {
    /// The serializer (`W` must be `16 L`, `L` at most 128).
    pub fn new() -> Self {
        assert!(W == 16 * L && (1..=128).contains(&L), "W = 16 L, L from 1 to 128");
        Self {
            clock: Default::default(),
            in_data: Default::default(),
            in_valid: Default::default(),
            in_ready: Default::default(),
            out_data: Default::default(),
            out_valid: Default::default(),
            out_ready: Default::default(),
            out_last: Default::default(),
            vector: Default::default(),
            left: Default::default(),
            lane: Default::default(),
            select: Default::default(),
            lanes: Constant::new(bits::<8>(L as u64)),
        }
    }
}

impl<const L: usize, const W: usize> Logic for LaneSerializer<L, W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, vector, left, lane);
        for i in 0..L {
            self.select.lanes[i].next = self.vector.q.val().get_bits::<16>(16 * i);
        }
        self.select.index.next = self.lane.q.val();
        self.in_ready.next = (self.left.q.val() == 0) | ((self.left.q.val() == 1) & self.out_ready.val());
        if self.out_ready.val() & (self.left.q.val() != 0) {
            self.left.d.next = self.left.q.val() - 1;
            self.lane.d.next = self.lane.q.val() + 1;
        }
        if self.in_valid.val() & self.in_ready.val() {
            self.vector.d.next = self.in_data.val();
            self.left.d.next = self.lanes.val();
            self.lane.d.next = 0.into();
        }
        self.out_data.next = self.select.lane.val();
        self.out_valid.next = self.left.q.val() != 0;
        self.out_last.next = self.left.q.val() != 0;
    }
}
