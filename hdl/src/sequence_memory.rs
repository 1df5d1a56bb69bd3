//! The attention's sequence memory of an encoder layer: it takes one
//! sequence's projected q, k and v (element streams, token-major, each
//! token `heads × HS` elements), then replays it for one time-multiplexed
//! attention head: for each token `i` and head `h`, the query `(i, h)` as
//! one beat of `HS` lanes, and the keys and values of head `h` of every
//! token, a beat each (k low, v high; tlast on a query's last key). The
//! hardware of `dataflow::handshake::units::SequenceMemory`, whose
//! handshakes it makes cycle for cycle.
//!
//! ```text
//!  q ─▶ WordPacker (HS elements) ─▶ [q store: tokens × heads words]   word i·H + h
//!  k ─▶ WordPacker ─────────────────▶ [k store]
//!  v ─▶ WordPacker ─────────────────▶ [v store]
//!        all three complete ─▶ first reads ─▶ replay:
//!        query (i, h): q word i·H + h (in order) ─────────────▶ [read register] ─▶ query
//!        key j of query (i, h): k, v words j·H + h ──────────▶ [read register] ─▶ kv
//! ```
//!
//! Each store is a RAM with a registered, enabled read (block RAM); a
//! stream's read register is refilled in the cycle its beat is taken, so
//! each stream gives a beat a cycle. The next sequence is taken once both
//! streams are replayed.

use rust_hdl::prelude::*;

/// Collects `HS` elements of 16 bits into a word (element 0 in the low
/// bits): `word` is the finished word, with the element being taken, in
/// the cycle `complete` is high. `W = 16 HS`.
#[derive(LogicBlock)]
pub struct WordPacker<const HS: usize, const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// An element is taken at this edge.
    pub take: Signal<In, Bit>,
    /// The element.
    pub element: Signal<In, Bits<16>>,
    /// The word the element taken now completes.
    pub word: Signal<Out, Bits<W>>,
    /// The element taken now is a word's last.
    pub complete: Signal<Out, Bit>,
    shift: DFF<Bits<W>>,
    lane: DFF<Bits<8>>,
    last_lane: Constant<Bits<8>>,
    top: Constant<Bits<16>>,
}

impl<const HS: usize, const W: usize> Default for WordPacker<HS, W> {
    fn default() -> Self {
        assert!(W == 16 * HS && HS <= 128, "W must be 16 HS");
        Self {
            clock: Default::default(),
            take: Default::default(),
            element: Default::default(),
            word: Default::default(),
            complete: Default::default(),
            shift: Default::default(),
            lane: Default::default(),
            last_lane: Constant::new(bits::<8>(HS as u64 - 1)),
            top: Constant::new(bits::<16>(W as u64 - 16)),
        }
    }
}

impl<const HS: usize, const W: usize> Logic for WordPacker<HS, W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, shift, lane);
        // the element enters at the top: after HS of them, element 0 is lowest
        self.word.next =
            (self.shift.q.val() >> 16) | (bit_cast::<W, 16>(self.element.val()) << self.top.val());
        self.complete.next = self.take.val() & (self.lane.q.val() == self.last_lane.val());
        if self.take.val() {
            self.shift.d.next = self.word.val();
            self.lane.d.next = self.lane.q.val() + 1;
            if self.lane.q.val() == self.last_lane.val() {
                self.lane.d.next = 0.into();
            }
        }
    }
}

/// A RAM of `words` words of `W` bits: a write port and a registered read
/// with an enable (`read_data` holds the word read at the last enabled
/// edge; a read of the address written at the same edge gives the old
/// word). All words are zero at power-up. Verilog written by hand, so
/// synthesis can map it to block RAM.
#[derive(LogicBlock)]
pub struct SequenceStore<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Write at this edge.
    pub write: Signal<In, Bit>,
    /// The word written.
    pub write_address: Signal<In, Bits<16>>,
    /// Its data.
    pub write_data: Signal<In, Bits<W>>,
    /// Read at this edge.
    pub read: Signal<In, Bit>,
    /// The word read.
    pub read_address: Signal<In, Bits<16>>,
    /// The word read at the last edge with `read` high.
    pub read_data: Signal<Out, Bits<W>>,
    /// The words (a leading underscore keeps rust-hdl from treating it as a port).
    _memory: Vec<Bits<W>>,
    _value: Bits<W>,
}

impl<const W: usize> SequenceStore<W> {
    /// A store of `words` (1 to 65536) words.
    pub fn new(words: usize) -> Self {
        assert!((1..=1 << 16).contains(&words), "1 to 65536 words");
        Self {
            clock: Default::default(),
            write: Default::default(),
            write_address: Default::default(),
            write_data: Default::default(),
            read: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            _memory: vec![Bits::<W>::default(); words],
            _value: Bits::default(),
        }
    }
}

impl<const W: usize> Logic for SequenceStore<W> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let words = self._memory.len();
            if self.read.val() {
                self._value = self._memory[self.read_address.val().index() % words];
            }
            if self.write.val() {
                self._memory[self.write_address.val().index() % words] = self.write_data.val();
            }
        }
        self.read_data.next = self._value;
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        let words = self._memory.len();
        Verilog::Custom(
            crate::export::zeroed_memory_verilog("memory", W, words)
                + &format!(
                    "reg [{top}:0] value;\n\
             initial value = {W}'d0;\n\
             always @(posedge clock) begin\n\
             \x20   if (write) memory[write_address] <= write_data;\n\
             \x20   if (read) value <= memory[read_address];\n\
             end\n\
             always @(*) read_data = value;",
                    top = W - 1,
                ),
        )
    }
}

/// The sequence memory for heads of `HS` lanes; `W = 16 HS` and
/// `KV = 32 HS` are the query and key-value beat widths.
#[derive(LogicBlock)]
pub struct SequenceMemoryUnit<const HS: usize, const W: usize, const KV: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Projected query elements.
    pub s_axis_q_tdata: Signal<In, Bits<16>>,
    /// Query element valid.
    pub s_axis_q_tvalid: Signal<In, Bit>,
    /// Query element ready.
    pub s_axis_q_tready: Signal<Out, Bit>,
    /// Ignored: a sequence is `tokens × heads × HS` elements.
    pub s_axis_q_tlast: Signal<In, Bit>,
    /// Projected key elements.
    pub s_axis_k_tdata: Signal<In, Bits<16>>,
    /// Key element valid.
    pub s_axis_k_tvalid: Signal<In, Bit>,
    /// Key element ready.
    pub s_axis_k_tready: Signal<Out, Bit>,
    /// Ignored.
    pub s_axis_k_tlast: Signal<In, Bit>,
    /// Projected value elements.
    pub s_axis_v_tdata: Signal<In, Bits<16>>,
    /// Value element valid.
    pub s_axis_v_tvalid: Signal<In, Bit>,
    /// Value element ready.
    pub s_axis_v_tready: Signal<Out, Bit>,
    /// Ignored.
    pub s_axis_v_tlast: Signal<In, Bit>,
    /// One head's query, lane 0 lowest.
    pub m_axis_query_tdata: Signal<Out, Bits<W>>,
    /// Query valid.
    pub m_axis_query_tvalid: Signal<Out, Bit>,
    /// Query ready.
    pub m_axis_query_tready: Signal<In, Bit>,
    /// High on every query.
    pub m_axis_query_tlast: Signal<Out, Bit>,
    /// A key (low `W` bits) and its value (high).
    pub m_axis_kv_tdata: Signal<Out, Bits<KV>>,
    /// Key valid.
    pub m_axis_kv_tvalid: Signal<Out, Bit>,
    /// Key ready.
    pub m_axis_kv_tready: Signal<In, Bit>,
    /// A query's last key.
    pub m_axis_kv_tlast: Signal<Out, Bit>,
    q_packer: WordPacker<HS, W>,
    k_packer: WordPacker<HS, W>,
    v_packer: WordPacker<HS, W>,
    q_store: SequenceStore<W>,
    k_store: SequenceStore<W>,
    v_store: SequenceStore<W>,
    q_words: DFF<Bits<16>>,
    k_words: DFF<Bits<16>>,
    v_words: DFF<Bits<16>>,
    // taking a sequence (low) or replaying it (high; the first cycle
    // issues the first reads, so the streams offer from the second)
    replaying: DFF<Bit>,
    query_reads: DFF<Bits<16>>,
    query_valid: DFF<Bit>,
    kv_reads: DFF<Bits<32>>,
    kv_address: DFF<Bits<16>>,
    kv_head: DFF<Bits<16>>,
    kv_key: DFF<Bits<16>>,
    kv_valid: DFF<Bit>,
    kv_last: DFF<Bit>,
    // locals
    take_q: Signal<Local, Bit>,
    take_k: Signal<Local, Bit>,
    take_v: Signal<Local, Bit>,
    // a stream has all its words after this edge (compares, no adder)
    q_full: Signal<Local, Bit>,
    k_full: Signal<Local, Bit>,
    v_full: Signal<Local, Bit>,
    query_read: Signal<Local, Bit>,
    kv_read: Signal<Local, Bit>,
    query_valid_next: Signal<Local, Bit>,
    kv_valid_next: Signal<Local, Bit>,
    words: Constant<Bits<16>>,
    keys: Constant<Bits<32>>,
    heads: Constant<Bits<16>>,
    last_head: Constant<Bits<16>>,
    last_key: Constant<Bits<16>>,
    kv_top: Constant<Bits<16>>,
    last_word: Constant<Bits<16>>,
}

/// Most words a store holds (`tokens × heads`).
pub const SEQUENCE_WORDS_MAX: usize = 1 << 15;

impl<const HS: usize, const W: usize, const KV: usize> SequenceMemoryUnit<HS, W, KV> {
    /// The memory for sequences of `tokens` tokens of `heads` heads
    /// (`tokens × heads` at most [`SEQUENCE_WORDS_MAX`]).
    pub fn new(tokens: usize, heads: usize) -> Self {
        assert!(W == 16 * HS && KV == 32 * HS, "W = 16 HS, KV = 32 HS");
        let words = tokens * heads;
        assert!(
            tokens >= 1 && heads >= 1 && words <= SEQUENCE_WORDS_MAX,
            "1 to {SEQUENCE_WORDS_MAX} words"
        );
        Self {
            clock: Default::default(),
            s_axis_q_tdata: Default::default(),
            s_axis_q_tvalid: Default::default(),
            s_axis_q_tready: Default::default(),
            s_axis_q_tlast: Default::default(),
            s_axis_k_tdata: Default::default(),
            s_axis_k_tvalid: Default::default(),
            s_axis_k_tready: Default::default(),
            s_axis_k_tlast: Default::default(),
            s_axis_v_tdata: Default::default(),
            s_axis_v_tvalid: Default::default(),
            s_axis_v_tready: Default::default(),
            s_axis_v_tlast: Default::default(),
            m_axis_query_tdata: Default::default(),
            m_axis_query_tvalid: Default::default(),
            m_axis_query_tready: Default::default(),
            m_axis_query_tlast: Default::default(),
            m_axis_kv_tdata: Default::default(),
            m_axis_kv_tvalid: Default::default(),
            m_axis_kv_tready: Default::default(),
            m_axis_kv_tlast: Default::default(),
            q_packer: Default::default(),
            k_packer: Default::default(),
            v_packer: Default::default(),
            q_store: SequenceStore::new(words),
            k_store: SequenceStore::new(words),
            v_store: SequenceStore::new(words),
            q_words: Default::default(),
            k_words: Default::default(),
            v_words: Default::default(),
            replaying: Default::default(),
            query_reads: Default::default(),
            query_valid: Default::default(),
            kv_reads: Default::default(),
            kv_address: Default::default(),
            kv_head: Default::default(),
            kv_key: Default::default(),
            kv_valid: Default::default(),
            kv_last: Default::default(),
            take_q: Default::default(),
            take_k: Default::default(),
            take_v: Default::default(),
            q_full: Default::default(),
            k_full: Default::default(),
            v_full: Default::default(),
            query_read: Default::default(),
            kv_read: Default::default(),
            query_valid_next: Default::default(),
            kv_valid_next: Default::default(),
            words: Constant::new(bits::<16>(words as u64)),
            keys: Constant::new(bits::<32>((words * tokens) as u64)),
            heads: Constant::new(bits::<16>(heads as u64)),
            last_head: Constant::new(bits::<16>(heads as u64 - 1)),
            last_key: Constant::new(bits::<16>(tokens as u64 - 1)),
            kv_top: Constant::new(bits::<16>(W as u64)),
            last_word: Constant::new(bits::<16>(words as u64 - 1)),
        }
    }
}

impl<const HS: usize, const W: usize, const KV: usize> Logic for SequenceMemoryUnit<HS, W, KV> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            q_words,
            k_words,
            v_words,
            replaying,
            query_reads,
            query_valid,
            kv_reads,
            kv_address,
            kv_head,
            kv_key,
            kv_valid,
            kv_last
        );
        self.q_packer.clock.next = self.clock.val();
        self.k_packer.clock.next = self.clock.val();
        self.v_packer.clock.next = self.clock.val();
        self.q_store.clock.next = self.clock.val();
        self.k_store.clock.next = self.clock.val();
        self.v_store.clock.next = self.clock.val();
        // taking a sequence: each stream until it has its words
        self.s_axis_q_tready.next = !self.replaying.q.val() & (self.q_words.q.val() != self.words.val());
        self.s_axis_k_tready.next = !self.replaying.q.val() & (self.k_words.q.val() != self.words.val());
        self.s_axis_v_tready.next = !self.replaying.q.val() & (self.v_words.q.val() != self.words.val());
        self.take_q.next = self.s_axis_q_tvalid.val() & self.s_axis_q_tready.val();
        self.take_k.next = self.s_axis_k_tvalid.val() & self.s_axis_k_tready.val();
        self.take_v.next = self.s_axis_v_tvalid.val() & self.s_axis_v_tready.val();
        self.q_packer.take.next = self.take_q.val();
        self.q_packer.element.next = self.s_axis_q_tdata.val();
        self.k_packer.take.next = self.take_k.val();
        self.k_packer.element.next = self.s_axis_k_tdata.val();
        self.v_packer.take.next = self.take_v.val();
        self.v_packer.element.next = self.s_axis_v_tdata.val();
        self.q_store.write.next = self.q_packer.complete.val();
        self.q_store.write_address.next = self.q_words.q.val();
        self.q_store.write_data.next = self.q_packer.word.val();
        self.k_store.write.next = self.k_packer.complete.val();
        self.k_store.write_address.next = self.k_words.q.val();
        self.k_store.write_data.next = self.k_packer.word.val();
        self.v_store.write.next = self.v_packer.complete.val();
        self.v_store.write_address.next = self.v_words.q.val();
        self.v_store.write_data.next = self.v_packer.word.val();
        if self.q_packer.complete.val() {
            self.q_words.d.next = self.q_words.q.val() + 1;
        }
        if self.k_packer.complete.val() {
            self.k_words.d.next = self.k_words.q.val() + 1;
        }
        if self.v_packer.complete.val() {
            self.v_words.d.next = self.v_words.q.val() + 1;
        }
        self.q_full.next = (self.q_words.q.val() == self.words.val())
            | (self.q_packer.complete.val() & (self.q_words.q.val() == self.last_word.val()));
        self.k_full.next = (self.k_words.q.val() == self.words.val())
            | (self.k_packer.complete.val() & (self.k_words.q.val() == self.last_word.val()));
        self.v_full.next = (self.v_words.q.val() == self.words.val())
            | (self.v_packer.complete.val() & (self.v_words.q.val() == self.last_word.val()));
        // replaying: a stream's read register refills when empty or taken
        self.query_read.next = self.replaying.q.val()
            & (self.query_reads.q.val() != self.words.val())
            & (!self.query_valid.q.val() | self.m_axis_query_tready.val());
        self.kv_read.next = self.replaying.q.val()
            & (self.kv_reads.q.val() != self.keys.val())
            & (!self.kv_valid.q.val() | self.m_axis_kv_tready.val());
        self.q_store.read.next = self.query_read.val();
        self.q_store.read_address.next = self.query_reads.q.val();
        self.k_store.read.next = self.kv_read.val();
        self.k_store.read_address.next = self.kv_address.q.val();
        self.v_store.read.next = self.kv_read.val();
        self.v_store.read_address.next = self.kv_address.q.val();
        self.query_valid_next.next = self.query_valid.q.val() & !self.m_axis_query_tready.val();
        if self.query_read.val() {
            self.query_valid_next.next = true;
            self.query_reads.d.next = self.query_reads.q.val() + 1;
        }
        self.query_valid.d.next = self.query_valid_next.val();
        self.kv_valid_next.next = self.kv_valid.q.val() & !self.m_axis_kv_tready.val();
        if self.kv_read.val() {
            // key j of head h: word j H + h; after a query's last key, the next head
            self.kv_valid_next.next = true;
            self.kv_reads.d.next = self.kv_reads.q.val() + 1;
            self.kv_last.d.next = self.kv_key.q.val() == self.last_key.val();
            self.kv_key.d.next = self.kv_key.q.val() + 1;
            self.kv_address.d.next = self.kv_address.q.val() + self.heads.val();
            if self.kv_key.q.val() == self.last_key.val() {
                self.kv_key.d.next = 0.into();
                self.kv_head.d.next = self.kv_head.q.val() + 1;
                self.kv_address.d.next = self.kv_head.q.val() + 1;
                if self.kv_head.q.val() == self.last_head.val() {
                    self.kv_head.d.next = 0.into();
                    self.kv_address.d.next = 0.into();
                }
            }
        }
        self.kv_valid.d.next = self.kv_valid_next.val();
        // the phases
        if !self.replaying.q.val() & self.q_full.val() & self.k_full.val() & self.v_full.val() {
            self.replaying.d.next = true;
        }
        if self.replaying.q.val()
            & (self.query_reads.q.val() == self.words.val())
            & (self.kv_reads.q.val() == self.keys.val())
            & !self.query_valid_next.val()
            & !self.kv_valid_next.val()
        {
            self.replaying.d.next = false;
            self.q_words.d.next = 0.into();
            self.k_words.d.next = 0.into();
            self.v_words.d.next = 0.into();
            self.query_reads.d.next = 0.into();
            self.kv_reads.d.next = 0.into();
        }
        self.m_axis_query_tvalid.next = self.query_valid.q.val();
        self.m_axis_query_tdata.next = self.q_store.read_data.val();
        self.m_axis_query_tlast.next = true;
        self.m_axis_kv_tvalid.next = self.kv_valid.q.val();
        self.m_axis_kv_tdata.next = (bit_cast::<KV, W>(self.v_store.read_data.val()) << self.kv_top.val())
            | bit_cast::<KV, W>(self.k_store.read_data.val());
        self.m_axis_kv_tlast.next = self.kv_last.q.val();
    }
}
