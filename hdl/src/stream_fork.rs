//! A fork of an element stream into `N` branches (an encoder layer's input
//! to its projections and residual; a sublayer's input to its FFN and
//! residual): the hardware of `dataflow::handshake::units::Fork`.
//!
//! ```text
//!  in ─▶ [data, last] ──┬─▶ out (shared data, last)
//!                       ├─ [full 0] ─▶ out_valid[0]
//!                       └─ [full N-1] ─▶ out_valid[N-1]
//!  in.ready = every branch empty or taking its beat
//! ```
//! A beat is taken only when every branch's register is free or being
//! emptied, so all branches hold the same beat: one data register serves
//! them, each branch has its own valid.

use rust_hdl::prelude::*;

/// The fork into `N` branches of 16-bit elements with tlast.
#[derive(LogicBlock)]
pub struct StreamFork<const N: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Element in.
    pub in_data: Signal<In, Bits<16>>,
    /// Input valid.
    pub in_valid: Signal<In, Bit>,
    /// Input ready.
    pub in_ready: Signal<Out, Bit>,
    /// Input last.
    pub in_last: Signal<In, Bit>,
    /// The element every branch offers.
    pub out_data: Signal<Out, Bits<16>>,
    /// Its tlast.
    pub out_last: Signal<Out, Bit>,
    /// Per branch: it offers the element.
    pub out_valid: [Signal<Out, Bit>; N],
    /// Per branch: it takes it.
    pub out_ready: [Signal<In, Bit>; N],
    data: DFF<Bits<16>>,
    last: DFF<Bit>,
    full: [DFF<Bit>; N],
    free: Signal<Local, Bit>,
}

impl<const N: usize> Default for StreamFork<N> {
    fn default() -> Self {
        assert!(N >= 1, "at least one branch");
        Self {
            clock: Default::default(),
            in_data: Default::default(),
            in_valid: Default::default(),
            in_ready: Default::default(),
            in_last: Default::default(),
            out_data: Default::default(),
            out_last: Default::default(),
            out_valid: std::array::from_fn(|_| Default::default()),
            out_ready: std::array::from_fn(|_| Default::default()),
            data: Default::default(),
            last: Default::default(),
            full: std::array::from_fn(|_| Default::default()),
            free: Default::default(),
        }
    }
}

impl<const N: usize> Logic for StreamFork<N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, data, last);
        for i in 0..N {
            self.full[i].clock.next = self.clock.val();
            self.full[i].d.next = self.full[i].q.val();
        }
        self.free.next = true;
        for i in 0..N {
            if self.full[i].q.val() & !self.out_ready[i].val() {
                self.free.next = false;
            }
        }
        self.in_ready.next = self.free.val();
        for i in 0..N {
            if self.full[i].q.val() & self.out_ready[i].val() {
                self.full[i].d.next = false;
            }
            if self.in_valid.val() & self.free.val() {
                self.full[i].d.next = true;
            }
            self.out_valid[i].next = self.full[i].q.val();
        }
        if self.in_valid.val() & self.free.val() {
            self.data.d.next = self.in_data.val();
            self.last.d.next = self.in_last.val();
        }
        self.out_data.next = self.data.q.val();
        self.out_last.next = self.last.q.val();
    }
}
