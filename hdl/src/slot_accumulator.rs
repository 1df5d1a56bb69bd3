//! One accumulator of the online softmax (the running sum, or one output
//! lane) kept as [`SLOTS`] partial states: key `j` of a query updates slot
//! `j mod SLOTS`, so a slot is read again only `SLOTS` keys later and its
//! rescale-and-add can take three pipelined cycles with one key a cycle
//! (the hardware form of `StreamingSdpa::accumulate`'s slots).
//!
//! ```text
//!  issue:  [state] = keep ? slot[read_slot] : 0     [v] = value
//!  U1,U2:  round(state * alpha / 2^15) (PipelinedRescale)   v * p ─▶ [term] ─▶ round(term / 2^e) ─▶ [term]
//!  write:  slot[write_slot] = round(state * alpha / 2^15) + term
//!          capture: held[j] = every slot as written (the query's last key)
//! ```
//! The parent registers `alpha` and `p` in the issue cycle and delays the
//! write controls by [`UPDATE_STAGES`]; everything here is free-running.
//! `e` is the model's `term_shift` (a build constant, 0 up to 65 536 keys a
//! query: then the rounding is not built).

use crate::fixed::{PipelinedRescale, ShiftRight, SignExtend, WideProduct};
use hwformer_quant::integer::sdpa::SDPA_SLOTS;
use rust_hdl::prelude::*;

/// Partial states per accumulator (the model's `SDPA_SLOTS`).
pub const SLOTS: usize = SDPA_SLOTS;
const _: () = assert!(
    SLOTS == 4,
    "the slot loops and the 2-bit slot index are written for 4 slots"
);

/// Clock edges from an item's issue (its state and value registered) to
/// the edge that writes its slot. A slot is read again at least `SLOTS`
/// edges after it was read, so `UPDATE_STAGES < SLOTS` needs no bypass.
pub const UPDATE_STAGES: u64 = 3;
const _: () = assert!(UPDATE_STAGES < SLOTS as u64);

/// One accumulator over four slots.
#[derive(LogicBlock)]
pub struct SlotAccumulator {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Issue cycle: the slot the item reads.
    pub read_slot: Signal<In, Bits<2>>,
    /// Issue cycle: the slot holds this query's earlier keys (else it is
    /// read as 0: the slot's first key).
    pub keep: Signal<In, Bit>,
    /// Issue cycle: the key's value element (signed 16 bits; 1 for the sum).
    pub value: Signal<In, Bits<16>>,
    /// Cycle after the issue: the rescale factor (UQ1.15).
    pub alpha: Signal<In, Bits<16>>,
    /// Cycle after the issue: the key's weight `exp(s - m)` (UQ1.15).
    pub p: Signal<In, Bits<16>>,
    /// Write cycle: an item's result is written at this edge.
    pub write: Signal<In, Bit>,
    /// Write cycle: its slot.
    pub write_slot: Signal<In, Bits<2>>,
    /// Write cycle: it is its query's last key; the slots are copied to
    /// `held` with it.
    pub capture: Signal<In, Bit>,
    /// Slot 0 of the last captured query.
    pub held0: Signal<Out, Bits<48>>,
    /// Slot 1 of the last captured query.
    pub held1: Signal<Out, Bits<48>>,
    /// Slot 2 of the last captured query.
    pub held2: Signal<Out, Bits<48>>,
    /// Slot 3 of the last captured query.
    pub held3: Signal<Out, Bits<48>>,
    slot: [DFF<Bits<48>>; SLOTS],
    held_slot: [DFF<Bits<48>>; SLOTS],
    state: DFF<Bits<48>>,
    v: DFF<Bits<16>>,
    rescale: PipelinedRescale,
    weighted: WideProduct<16>,
    term1: DFF<Bits<32>>,
    term2: DFF<Bits<32>>,
    term_wide: SignExtend<32, 48>,
    // round(term1 / 2^e), half-up: (term1 + 2^(e-1)) >>> e
    rounds: Constant<Bit>,
    term_half: Constant<Bits<32>>,
    term_shift: Constant<Bits<7>>,
    halfway: SignExtend<32, 64>,
    term_shifter: ShiftRight,
    read: Signal<Local, Bits<48>>,
    result: Signal<Local, Bits<48>>,
}

impl SlotAccumulator {
    /// An accumulator whose terms are rounded by `term_shift` bits
    /// (`StreamingSdpa::term_shift`, 0 to 16) before they are added.
    pub fn new(term_shift: u32) -> Self {
        assert!(term_shift <= 16, "a term is rounded by at most 16 bits");
        let half = if term_shift == 0 {
            0
        } else {
            1u64 << (term_shift - 1)
        };
        Self {
            clock: Default::default(),
            read_slot: Default::default(),
            keep: Default::default(),
            value: Default::default(),
            alpha: Default::default(),
            p: Default::default(),
            write: Default::default(),
            write_slot: Default::default(),
            capture: Default::default(),
            held0: Default::default(),
            held1: Default::default(),
            held2: Default::default(),
            held3: Default::default(),
            slot: std::array::from_fn(|_| Default::default()),
            held_slot: std::array::from_fn(|_| Default::default()),
            state: Default::default(),
            v: Default::default(),
            rescale: Default::default(),
            weighted: Default::default(),
            term1: Default::default(),
            term2: Default::default(),
            term_wide: Default::default(),
            rounds: Constant::new(term_shift > 0),
            term_half: Constant::new(bits::<32>(half)),
            term_shift: Constant::new(bits::<7>(u64::from(term_shift))),
            halfway: Default::default(),
            term_shifter: Default::default(),
            read: Default::default(),
            result: Default::default(),
        }
    }
}

impl Logic for SlotAccumulator {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, v, term1, term2);
        for j in 0..4 {
            self.slot[j].clock.next = self.clock.val();
            self.slot[j].d.next = self.slot[j].q.val();
            self.held_slot[j].clock.next = self.clock.val();
            self.held_slot[j].d.next = self.held_slot[j].q.val();
        }
        self.rescale.clock.next = self.clock.val();
        // issue
        self.read.next = 0.into();
        for j in 0..4 {
            if self.keep.val() & (self.read_slot.val() == j.to_bits()) {
                self.read.next = self.slot[j].q.val();
            }
        }
        self.state.d.next = self.read.val();
        self.v.d.next = self.value.val();
        // U1, U2
        self.rescale.enable.next = true;
        self.rescale.a.next = self.state.q.val();
        self.rescale.factor.next = self.alpha.val();
        self.weighted.a.next = self.v.q.val();
        self.weighted.b.next = self.p.val();
        self.term1.d.next = self.weighted.product.val().get_bits::<32>(0);
        self.term2.d.next = self.term1.q.val();
        self.halfway.value.next = self.term1.q.val() + self.term_half.val();
        self.term_shifter.value.next = self.halfway.extended.val();
        self.term_shifter.shift.next = self.term_shift.val();
        if self.rounds.val() {
            self.term2.d.next = self.term_shifter.shifted.val().get_bits::<32>(0);
        }
        // write
        self.term_wide.value.next = self.term2.q.val();
        self.result.next = self.rescale.rescaled.val() + self.term_wide.extended.val();
        for j in 0..4 {
            if self.write.val() & (self.write_slot.val() == j.to_bits()) {
                self.slot[j].d.next = self.result.val();
            }
            if self.capture.val() {
                self.held_slot[j].d.next = self.slot[j].q.val();
                if self.write_slot.val() == j.to_bits() {
                    self.held_slot[j].d.next = self.result.val();
                }
            }
        }
        // one port per slot: a parent's loop over lanes reaches a port
        // array only at its first index
        self.held0.next = self.held_slot[0].q.val();
        self.held1.next = self.held_slot[1].q.val();
        self.held2.next = self.held_slot[2].q.val();
        self.held3.next = self.held_slot[3].q.val();
    }
}
