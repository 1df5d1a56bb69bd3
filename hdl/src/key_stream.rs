//! The handshakes an attention head shares whatever its scores: the query
//! stream (one query held at a time, released with its last key), the key
//! stream (one key a cycle while the back end advances) and the control
//! of the [`FRONT_STAGES`] score stages that sit between them and the
//! online-softmax back end. A head adds only its score data (q.k, its
//! adder tree and its scaling, or the codes and their table) in registers
//! moved by the same `advance`.
//!
//! ```text
//!  query ──▶ load_query (the head stores what it keeps of the query)
//!  kv ─────▶ take ─▶ [1] valid, last, first, v ─▶ ... ─▶ [12] valid, last, first, v ─▶ back end
//!                         (head: score stage 1)            (head: the score)
//! ```
//!
//! The query stream is ready while no query is held, and in the cycle its
//! held query's last key goes in, so queries back to back lose no cycle.
//! A bubble never carries tlast (it would stall the accumulator while the
//! normalizer is busy). `first` marks a query's first key: the power-up
//! state means the next key starts a query.

use rust_hdl::prelude::*;

const _: () = assert!(FRONT_STAGES == 12, "the last stage is indexed [11]");

/// Score stages between the key stream and the back end (sdpa: the
/// products, six adder-tree levels, the scale's two and the rounding's three).
pub const FRONT_STAGES: usize = 12;

/// Query and key handshakes and the score stages' control for value
/// vectors of `W` bits in key beats of `KV` bits (k low, v high).
#[derive(LogicBlock)]
pub struct KeyStream<const W: usize, const KV: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Query valid.
    pub query_valid: Signal<In, Bit>,
    /// Query ready.
    pub query_ready: Signal<Out, Bit>,
    /// Key beats: k in the low `W` bits, v above.
    pub kv_data: Signal<In, Bits<KV>>,
    /// Key valid.
    pub kv_valid: Signal<In, Bit>,
    /// Key ready.
    pub kv_ready: Signal<Out, Bit>,
    /// Last key of the query.
    pub kv_last: Signal<In, Bit>,
    /// The back end moves the score stages at this edge.
    pub advance: Signal<In, Bit>,
    /// A query is taken at this edge.
    pub load_query: Signal<Out, Bit>,
    /// A key is taken at this edge.
    pub take_key: Signal<Out, Bit>,
    /// The last score stage holds a key.
    pub score_valid: Signal<Out, Bit>,
    /// It is its query's last.
    pub score_last: Signal<Out, Bit>,
    /// It is its query's first.
    pub score_first: Signal<Out, Bit>,
    /// Its value vector.
    pub value: Signal<Out, Bits<W>>,
    loaded: DFF<Bit>,
    continuing: DFF<Bit>,
    valid: [DFF<Bit>; FRONT_STAGES],
    last: [DFF<Bit>; FRONT_STAGES],
    first: [DFF<Bit>; FRONT_STAGES],
    v: [DFF<Bits<W>>; FRONT_STAGES],
    value_offset: Constant<Bits<32>>,
}

impl<const W: usize, const KV: usize> Default for KeyStream<W, KV> {
    fn default() -> Self {
        assert_eq!(KV, 2 * W, "a key beat holds k and v of W bits each");
        Self {
            clock: Default::default(),
            query_valid: Default::default(),
            query_ready: Default::default(),
            kv_data: Default::default(),
            kv_valid: Default::default(),
            kv_ready: Default::default(),
            kv_last: Default::default(),
            advance: Default::default(),
            load_query: Default::default(),
            take_key: Default::default(),
            score_valid: Default::default(),
            score_last: Default::default(),
            score_first: Default::default(),
            value: Default::default(),
            loaded: Default::default(),
            continuing: Default::default(),
            valid: std::array::from_fn(|_| Default::default()),
            last: std::array::from_fn(|_| Default::default()),
            first: std::array::from_fn(|_| Default::default()),
            v: std::array::from_fn(|_| Default::default()),
            value_offset: Constant::new(bits::<32>(W as u64)),
        }
    }
}

impl<const W: usize, const KV: usize> Logic for KeyStream<W, KV> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, loaded, continuing);
        for i in 0..FRONT_STAGES {
            self.valid[i].clock.next = self.clock.val();
            self.valid[i].d.next = self.valid[i].q.val();
            self.last[i].clock.next = self.clock.val();
            self.last[i].d.next = self.last[i].q.val();
            self.first[i].clock.next = self.clock.val();
            self.first[i].d.next = self.first[i].q.val();
            self.v[i].clock.next = self.clock.val();
            self.v[i].d.next = self.v[i].q.val();
        }
        self.take_key.next = self.kv_valid.val() & self.loaded.q.val() & self.advance.val();
        self.kv_ready.next = self.loaded.q.val() & self.advance.val();
        self.query_ready.next = !self.loaded.q.val() | (self.take_key.val() & self.kv_last.val());
        self.load_query.next = self.query_valid.val() & self.query_ready.val();
        if self.load_query.val() {
            self.loaded.d.next = true;
        } else if self.take_key.val() & self.kv_last.val() {
            self.loaded.d.next = false;
        }
        if self.advance.val() {
            self.valid[0].d.next = self.take_key.val();
            self.last[0].d.next = self.kv_last.val() & self.take_key.val();
            self.first[0].d.next = !self.continuing.q.val();
            self.v[0].d.next = self.kv_data.val().get_bits::<W>(self.value_offset.val().index());
            for i in 1..FRONT_STAGES {
                self.valid[i].d.next = self.valid[i - 1].q.val();
                self.last[i].d.next = self.last[i - 1].q.val();
                self.first[i].d.next = self.first[i - 1].q.val();
                self.v[i].d.next = self.v[i - 1].q.val();
            }
        }
        if self.take_key.val() {
            self.continuing.d.next = !self.kv_last.val();
        }
        // the last stage ([FRONT_STAGES - 1]; indices are literals for hdl_gen)
        self.score_valid.next = self.valid[11].q.val();
        self.score_last.next = self.last[11].q.val();
        self.score_first.next = self.first[11].q.val();
        self.value.next = self.v[11].q.val();
    }
}
