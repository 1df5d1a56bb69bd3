//! The units handshake graphs are built from, each with the handshake
//! behaviour of the RTL it stands for.

use super::{Cycle, LinkId, Unit, Wire};
use crate::pacing::{sink_ready, SourcePacer};
use std::collections::VecDeque;

/// A paced source: offers its beats in order with the seeded valid
/// pattern of its stream and holds each until taken.
///
/// ```text
///   pattern bit ─▶ [ offered ] ──valid/last──▶ out
/// ```
#[derive(Debug, Clone)]
pub struct Source {
    out: LinkId,
    index: usize,
    last: Vec<bool>,
    next: usize,
    pacer: SourcePacer,
}

impl Source {
    /// Source number `index` (its pacing stream) with one beat per `last`.
    pub fn new(out: LinkId, index: usize, last: Vec<bool>) -> Self {
        Self {
            out,
            index,
            last,
            next: 0,
            pacer: SourcePacer::default(),
        }
    }
}

impl Unit for Source {
    fn kind(&self) -> &'static str {
        "source"
    }
    #[inline]
    fn forward(&mut self, wires: &mut [Wire], now: &Cycle) {
        let left = self.next < self.last.len();
        let valid = self.pacer.valid(now.pacing, self.index, now.cycle, left);
        let w = &mut wires[self.out.0];
        w.valid = valid;
        w.last = left && self.last[self.next];
    }
    fn backward(&mut self, _: &mut [Wire], _: &Cycle) {}
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        if wires[self.out.0].fires() {
            self.next += 1;
            self.pacer.taken();
        }
    }
    fn quiet_edges(&self, _: &[Wire], now: &Cycle) -> u64 {
        // an offered beat stays offered; at full speed the next is offered at once
        let left = self.next < self.last.len();
        if !left || self.pacer.offered() || now.pacing.valid_probability >= 1.0 {
            u64::MAX
        } else {
            0
        }
    }
    fn inputs(&self) -> Vec<LinkId> {
        Vec::new()
    }
    fn outputs(&self) -> Vec<LinkId> {
        vec![self.out]
    }
    fn occupancy(&self) -> usize {
        0
    }
    fn state(&self) -> String {
        format!(
            "beat {} of {}, offered {}",
            self.next,
            self.last.len(),
            self.pacer.offered()
        )
    }
}

/// A paced sink: ready with the seeded ready pattern of its stream, always
/// ready once the run drains.
#[derive(Debug, Clone)]
pub struct Sink {
    input: LinkId,
    index: usize,
    taken: u64,
}

impl Sink {
    /// Sink number `index` (its pacing stream) on `input`.
    pub fn new(input: LinkId, index: usize) -> Self {
        Self {
            input,
            index,
            taken: 0,
        }
    }
}

impl Unit for Sink {
    fn kind(&self) -> &'static str {
        "sink"
    }
    fn forward(&mut self, _: &mut [Wire], _: &Cycle) {}
    #[inline]
    fn backward(&mut self, wires: &mut [Wire], now: &Cycle) {
        wires[self.input.0].ready = sink_ready(now.pacing, self.index, now.cycle, now.draining);
    }
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        self.taken += u64::from(wires[self.input.0].fires());
    }
    fn quiet_edges(&self, _: &[Wire], now: &Cycle) -> u64 {
        if now.draining || now.pacing.ready_probability >= 1.0 {
            u64::MAX
        } else {
            0
        }
    }
    fn inputs(&self) -> Vec<LinkId> {
        vec![self.input]
    }
    fn outputs(&self) -> Vec<LinkId> {
        Vec::new()
    }
    fn occupancy(&self) -> usize {
        0
    }
    fn state(&self) -> String {
        format!("{} taken", self.taken)
    }
}

/// How the stages of a [`Pipeline`] stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stalling {
    /// All stages move when the last is empty or taken; bubbles move too
    /// (one enable for the whole pipeline, as exp, sdpa and softmax are built).
    Lockstep,
    /// Each stage moves when the next is empty or moving: bubbles are
    /// squeezed out (a chain of independent register stages).
    Elastic,
}

/// A pipeline of `k` register stages (1 to 64).
///
/// ```text
///   lock-step:  in ─▶ [s0] ─▶ [s1] ─▶ … ─▶ [s(k-1)] ─▶ out
///               ready = advance = !valid(s(k-1)) | out.ready   (every stage)
///   elastic:    stage i moves when !valid(s(i)) | stage i+1 moves
/// ```
/// A beat taken at cycle `t` is offered at `t + k` when nothing stalls.
#[derive(Debug, Clone)]
pub struct Pipeline {
    input: LinkId,
    out: LinkId,
    stages: u32,
    stalling: Stalling,
    /// Bit i: stage i holds a beat.
    valid: u64,
    /// Bit i: stage i's beat is a last.
    last: u64,
    /// Per stage (elastic): it moves this cycle.
    moves: u64,
}

impl Pipeline {
    /// A pipeline of `stages` stages (clamped to 1..=64).
    pub fn new(input: LinkId, out: LinkId, stages: u32, stalling: Stalling) -> Self {
        Self {
            input,
            out,
            stages: stages.clamp(1, 64),
            stalling,
            valid: 0,
            last: 0,
            moves: 0,
        }
    }

    fn top(&self) -> u64 {
        1u64 << (self.stages - 1)
    }

    fn mask(&self) -> u64 {
        if self.stages == 64 {
            u64::MAX
        } else {
            (1u64 << self.stages) - 1
        }
    }
}

impl Unit for Pipeline {
    fn kind(&self) -> &'static str {
        match self.stalling {
            Stalling::Lockstep => "pipeline",
            Stalling::Elastic => "elastic pipeline",
        }
    }
    #[inline]
    fn forward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let top = self.top();
        let w = &mut wires[self.out.0];
        w.valid = self.valid & top != 0;
        w.last = self.last & top != 0;
    }
    #[inline]
    fn backward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let out_ready = wires[self.out.0].ready;
        let top = self.top();
        let ready = match self.stalling {
            Stalling::Lockstep => self.valid & top == 0 || out_ready,
            Stalling::Elastic => {
                // from the last stage down: a stage moves when empty or
                // when the one after it moves
                let mut moves = 0u64;
                let mut next_moves = self.valid & top == 0 || out_ready;
                for i in (0..self.stages).rev() {
                    let bit = 1u64 << i;
                    let m = if i == self.stages - 1 {
                        next_moves
                    } else {
                        self.valid & bit == 0 || next_moves
                    };
                    if m {
                        moves |= bit;
                    }
                    next_moves = m;
                }
                self.moves = moves;
                moves & 1 != 0
            }
        };
        wires[self.input.0].ready = ready;
    }
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        let i = wires[self.input.0];
        let (take, last) = (u64::from(i.fires()), u64::from(i.fires() && i.last));
        match self.stalling {
            Stalling::Lockstep => {
                if i.ready {
                    self.valid = (self.valid << 1 | take) & self.mask();
                    self.last = (self.last << 1 | last) & self.mask();
                }
            }
            Stalling::Elastic => {
                // a moving stage takes its predecessor's beat (or the input)
                let m = self.moves;
                let from_below_v = (self.valid << 1 | take) & self.mask();
                let from_below_l = (self.last << 1 | last) & self.mask();
                self.valid = (self.valid & !m) | (from_below_v & m);
                self.last = (self.last & !m) | (from_below_l & m);
            }
        }
    }
    fn quiet_edges(&self, _: &[Wire], _: &Cycle) -> u64 {
        let top = self.top();
        if self.valid == 0 || self.valid & top != 0 {
            // empty, or its head offered and not taken: nothing moves
            return u64::MAX;
        }
        match self.stalling {
            // the beats move up a stage an edge: the first reaches the
            // head after `stages - 1 - msb` edges
            Stalling::Lockstep => u64::from(self.stages - 1 - (63 - self.valid.leading_zeros())) - 1,
            Stalling::Elastic => 0,
        }
    }
    fn skip(&mut self, edges: u64) {
        // lock-step with an empty head: the beats move up `edges` stages
        if self.valid != 0 && self.valid & self.top() == 0 {
            self.valid = (self.valid << edges) & self.mask();
            self.last = (self.last << edges) & self.mask();
        }
    }
    fn inputs(&self) -> Vec<LinkId> {
        vec![self.input]
    }
    fn outputs(&self) -> Vec<LinkId> {
        vec![self.out]
    }
    fn occupancy(&self) -> usize {
        self.valid.count_ones() as usize
    }
    fn state(&self) -> String {
        let stages: String = (0..self.stages)
            .map(|i| match (self.valid >> i & 1, self.last >> i & 1) {
                (0, _) => '.',
                (_, 0) => 'o',
                _ => 'L',
            })
            .collect();
        format!("stages [{stages}] (o beat, L last, . empty; input side first)")
    }
}

/// A registered FIFO of depth `D`: ready while fewer than `D` beats are
/// inside, valid while any is; neither looks through to the other side,
/// so a beat written at cycle `t` can leave at `t + 1`, and depth 1 gives
/// half throughput, depth 2 full (a skid buffer / register slice).
///
/// ```text
///   in ─▶ [ D slots ] ─▶ out      ready = count < D,  valid = count > 0
/// ```
#[derive(Debug, Clone)]
pub struct Fifo {
    input: LinkId,
    out: LinkId,
    depth: usize,
    lasts: VecDeque<bool>,
}

impl Fifo {
    /// A FIFO of `depth` (at least 1) beats.
    pub fn new(input: LinkId, out: LinkId, depth: usize) -> Self {
        Self {
            input,
            out,
            depth: depth.max(1),
            lasts: VecDeque::with_capacity(depth.max(1)),
        }
    }

    /// A register slice (skid buffer): a FIFO of two.
    pub fn register_slice(input: LinkId, out: LinkId) -> Self {
        Self::new(input, out, 2)
    }
}

impl Unit for Fifo {
    fn kind(&self) -> &'static str {
        "fifo"
    }
    #[inline]
    fn forward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let w = &mut wires[self.out.0];
        w.valid = !self.lasts.is_empty();
        w.last = self.lasts.front().copied().unwrap_or(false);
    }
    #[inline]
    fn backward(&mut self, wires: &mut [Wire], _: &Cycle) {
        wires[self.input.0].ready = self.lasts.len() < self.depth;
    }
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        if wires[self.out.0].fires() {
            self.lasts.pop_front();
        }
        let i = wires[self.input.0];
        if i.fires() {
            self.lasts.push_back(i.last);
        }
    }
    fn quiet_edges(&self, _: &[Wire], _: &Cycle) -> u64 {
        // its registers change only when a link fires
        u64::MAX
    }
    fn inputs(&self) -> Vec<LinkId> {
        vec![self.input]
    }
    fn outputs(&self) -> Vec<LinkId> {
        vec![self.out]
    }
    fn occupancy(&self) -> usize {
        self.lasts.len()
    }
    fn state(&self) -> String {
        format!("{} of {} slots full", self.lasts.len(), self.depth)
    }
}

/// Holds one beat of `hold` (a query) and passes the beats of `stream`
/// (its keys) while it does; the stream's last beat releases it, and a
/// new held beat may be taken in that same cycle. Combinational: no
/// register on the stream path.
///
/// ```text
///   hold ───▶ [ loaded ]
///   stream ─────┴── valid & loaded ──▶ out      stream.ready = loaded & out.ready
///   hold.ready = !loaded | (stream fires & stream.last)
/// ```
#[derive(Debug, Clone)]
pub struct HoldJoin {
    hold: LinkId,
    stream: LinkId,
    out: LinkId,
    loaded: bool,
}

impl HoldJoin {
    /// A hold-join of `hold` and `stream` into `out`.
    pub fn new(hold: LinkId, stream: LinkId, out: LinkId) -> Self {
        Self {
            hold,
            stream,
            out,
            loaded: false,
        }
    }
}

impl Unit for HoldJoin {
    fn kind(&self) -> &'static str {
        "hold-join"
    }
    #[inline]
    fn forward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let s = wires[self.stream.0];
        let w = &mut wires[self.out.0];
        w.valid = self.loaded && s.valid;
        w.last = s.last;
    }
    #[inline]
    fn backward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let ready = self.loaded && wires[self.out.0].ready;
        let s = &mut wires[self.stream.0];
        s.ready = ready;
        let release = s.fires() && s.last;
        wires[self.hold.0].ready = !self.loaded || release;
    }
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        let s = wires[self.stream.0];
        if wires[self.hold.0].fires() {
            self.loaded = true;
        } else if s.fires() && s.last {
            self.loaded = false;
        }
    }
    fn quiet_edges(&self, _: &[Wire], _: &Cycle) -> u64 {
        // its registers change only when a link fires
        u64::MAX
    }
    fn inputs(&self) -> Vec<LinkId> {
        vec![self.hold, self.stream]
    }
    fn outputs(&self) -> Vec<LinkId> {
        vec![self.out]
    }
    fn occupancy(&self) -> usize {
        usize::from(self.loaded)
    }
    fn state(&self) -> String {
        format!("loaded {}", self.loaded)
    }
}

/// What a [`RowReduce`]'s finisher is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finisher {
    /// Free.
    Idle,
    /// Working; cycles left.
    Busy(u32),
    /// Offering its result until taken.
    Hold,
}

/// Reduces each row of its input to one result through a shared finisher
/// (a reciprocal, a normalizer): every beat is taken the cycle it comes,
/// except a row's last beat, which waits while the finisher is busy with
/// the previous row. The finisher then works `busy` cycles and offers the
/// result until taken.
///
/// ```text
///   in ─▶ [ accumulate ] ──last──▶ [ finisher: busy × B ] ─▶ [ hold ] ─▶ out
///   in.ready = !(in.last & finisher != Idle)
/// ```
#[derive(Debug, Clone)]
pub struct RowReduce {
    input: LinkId,
    out: LinkId,
    busy: u32,
    finisher: Finisher,
}

impl RowReduce {
    /// A reduction whose finisher takes `busy` (at least 1) cycles per row.
    pub fn new(input: LinkId, out: LinkId, busy: u32) -> Self {
        Self {
            input,
            out,
            busy: busy.max(1),
            finisher: Finisher::Idle,
        }
    }
}

impl Unit for RowReduce {
    fn kind(&self) -> &'static str {
        "row reduce"
    }
    #[inline]
    fn forward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let w = &mut wires[self.out.0];
        w.valid = self.finisher == Finisher::Hold;
        w.last = true;
    }
    #[inline]
    fn backward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let i = &mut wires[self.input.0];
        i.ready = !(i.valid && i.last && self.finisher != Finisher::Idle);
    }
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        let i = wires[self.input.0];
        self.finisher = match self.finisher {
            Finisher::Idle if i.fires() && i.last => Finisher::Busy(self.busy),
            Finisher::Busy(1) => Finisher::Hold,
            Finisher::Busy(n) => Finisher::Busy(n - 1),
            Finisher::Hold if wires[self.out.0].ready => Finisher::Idle,
            other => other,
        };
    }
    fn quiet_edges(&self, _: &[Wire], _: &Cycle) -> u64 {
        match self.finisher {
            // its result is offered on the edge that ends the count
            Finisher::Busy(n) => u64::from(n - 1),
            Finisher::Idle | Finisher::Hold => u64::MAX,
        }
    }
    fn skip(&mut self, edges: u64) {
        if let Finisher::Busy(n) = self.finisher {
            self.finisher = Finisher::Busy(n - edges as u32);
        }
    }
    fn inputs(&self) -> Vec<LinkId> {
        vec![self.input]
    }
    fn outputs(&self) -> Vec<LinkId> {
        vec![self.out]
    }
    fn occupancy(&self) -> usize {
        usize::from(self.finisher != Finisher::Idle)
    }
    fn state(&self) -> String {
        format!("finisher {:?}", self.finisher)
    }
}

/// Sizes of a [`RowRing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingSize {
    /// Rows held at once (row descriptors).
    pub rows: u64,
    /// Beats held at once (the block RAM).
    pub beats: u64,
    /// Longest row: its beat ends the row without tlast.
    pub row_max: u64,
}

/// One read port of a [`RowRing`]: the row it reads, the element its
/// block RAM shows (one cycle of read latency) and whether it is valid.
#[derive(Debug, Clone, Copy, Default)]
struct ReadPort {
    row: u64,
    element: u64,
    valid: bool,
}

impl ReadPort {
    fn at_last(&self, lengths: &[u64]) -> bool {
        self.valid && self.element + 1 == lengths[(self.row % lengths.len() as u64) as usize]
    }

    /// After a taken element the next (or the next row's first, if there is
    /// one); when idle, a row becoming readable shows its first element a
    /// cycle later (the read latency).
    fn edge(&mut self, take: bool, last: bool, readable_rows: u64) {
        if take {
            if last {
                self.row += 1;
                self.element = 0;
                self.valid = readable_rows != self.row;
            } else {
                self.element += 1;
            }
        } else if !self.valid && readable_rows != self.row {
            self.valid = true;
        }
    }
}

/// A block-RAM row buffer with two read passes (softmax's ring): rows are
/// written in order (a row ends at tlast or at `row_max` beats); the first
/// pass reads a row once written, the second once a `go` beat came for it
/// (e.g. its sum is known); a row's space is freed when a last beat
/// crosses the `release` link (watched, not driven).
///
/// ```text
///   in ─▶ [ ring: R rows, B beats ] ─▶ first pass ─▶ …
///   go ─▶         (row r readable)  ─▶ second pass ─▶ …  ─▶ release (watched)
///   in.ready = rows held < R  and  beats held < B
/// ```
#[derive(Debug, Clone)]
pub struct RowRing {
    input: LinkId,
    first: LinkId,
    second: LinkId,
    go: LinkId,
    release: LinkId,
    size: RingSize,
    lengths: Vec<u64>,
    written_rows: u64,
    written_beats: u64,
    in_row: u64,
    released_rows: u64,
    released_beats: u64,
    go_rows: u64,
    first_port: ReadPort,
    second_port: ReadPort,
}

impl RowRing {
    /// A ring of `size`; `go` and `release` as in the type's doc.
    pub fn new(
        input: LinkId,
        first: LinkId,
        second: LinkId,
        go: LinkId,
        release: LinkId,
        size: RingSize,
    ) -> Self {
        Self {
            input,
            first,
            second,
            go,
            release,
            size,
            lengths: vec![0; size.rows.max(1) as usize],
            written_rows: 0,
            written_beats: 0,
            in_row: 0,
            released_rows: 0,
            released_beats: 0,
            go_rows: 0,
            first_port: ReadPort::default(),
            second_port: ReadPort::default(),
        }
    }

    fn slot(&self, row: u64) -> usize {
        (row % self.lengths.len() as u64) as usize
    }
}

impl Unit for RowRing {
    fn kind(&self) -> &'static str {
        "row ring"
    }
    #[inline]
    fn forward(&mut self, wires: &mut [Wire], _: &Cycle) {
        for (port, link) in [(self.first_port, self.first), (self.second_port, self.second)] {
            let w = &mut wires[link.0];
            w.valid = port.valid;
            w.last = port.at_last(&self.lengths);
        }
    }
    #[inline]
    fn backward(&mut self, wires: &mut [Wire], _: &Cycle) {
        wires[self.input.0].ready = self.written_rows - self.released_rows != self.size.rows
            && self.written_beats - self.released_beats != self.size.beats;
        wires[self.go.0].ready = true;
    }
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        // every pass sees the counts as they were during the cycle
        let (written, go) = (self.written_rows, self.go_rows);
        let (first_last, second_last) = (
            self.first_port.at_last(&self.lengths),
            self.second_port.at_last(&self.lengths),
        );
        let i = wires[self.input.0];
        if i.fires() {
            self.in_row += 1;
            self.written_beats += 1;
            if i.last || self.in_row == self.size.row_max {
                let slot = self.slot(self.written_rows);
                self.lengths[slot] = self.in_row;
                self.in_row = 0;
                self.written_rows += 1;
            }
        }
        self.first_port
            .edge(wires[self.first.0].fires(), first_last, written);
        self.go_rows += u64::from(wires[self.go.0].fires());
        self.second_port
            .edge(wires[self.second.0].fires(), second_last, go);
        let r = wires[self.release.0];
        if r.fires() && r.last {
            self.released_beats += self.lengths[self.slot(self.released_rows)];
            self.released_rows += 1;
        }
    }
    fn quiet_edges(&self, _: &[Wire], _: &Cycle) -> u64 {
        // an idle read port shows a readable row's first element a cycle later
        let waiting = |port: &ReadPort, readable: u64| !port.valid && readable != port.row;
        if waiting(&self.first_port, self.written_rows) || waiting(&self.second_port, self.go_rows) {
            0
        } else {
            u64::MAX
        }
    }
    fn inputs(&self) -> Vec<LinkId> {
        vec![self.input, self.go]
    }
    fn watched(&self) -> Vec<LinkId> {
        vec![self.release]
    }
    fn edge_only_inputs(&self) -> Vec<LinkId> {
        vec![self.go]
    }
    fn outputs(&self) -> Vec<LinkId> {
        vec![self.first, self.second]
    }
    fn occupancy(&self) -> usize {
        (self.written_beats - self.released_beats) as usize
    }
    fn state(&self) -> String {
        format!(
            "{} rows / {} beats held, first pass row {} element {}, second pass row {} element {}",
            self.written_rows - self.released_rows,
            self.written_beats - self.released_beats,
            self.first_port.row,
            self.first_port.element,
            self.second_port.row,
            self.second_port.element
        )
    }
}

/// Sizes and stage counts of a [`MatrixVector`] engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatrixSize {
    /// Input beats per token.
    pub d_in: u32,
    /// Groups of outputs per token (outputs / lanes).
    pub groups: u32,
    /// Outputs per group (one beat each).
    pub lanes: u32,
    /// Lock-step stages from an element's issue to its accumulation
    /// (2 to 8; the int16 engine has 3: reads, products, accumulators).
    pub issue_stages: u32,
    /// Cycles after a token's last beat before it can be issued (0, or
    /// the per-token scale's setup of the ternary engine); while they
    /// run, the next token's last beat waits.
    pub setup_cycles: u32,
}

/// Most issue stages a [`MatrixVector`] models.
pub const ISSUE_STAGES_MAX: u32 = 8;

/// A matrix-vector engine (the linear block): a token buffer of two
/// halves loads a token of `d_in` beats into one half while the other's
/// token is issued, `groups × d_in` elements through a lock-step pipeline
/// of `issue_stages` stages into the accumulators; each finished group
/// moves into a bank, whose `lanes` outputs leave one a cycle through an
/// output register. The pipeline stalls only while a finished group waits
/// for the bank. A token can be issued `setup_cycles` after its last beat.
///
/// ```text
///   in ─▶ [half 0 | half 1] ─setup─▶ issue (group, element) ─▶ [1]..[k acc] ─done─▶ [bank] ─lane─▶ [y] ─▶ out
///   in.ready = held < 2 (and no setup running at a token's last beat)
///   advance = !done | bank free (or its last lane leaving)
/// ```
#[derive(Debug, Clone)]
pub struct MatrixVector {
    input: LinkId,
    out: LinkId,
    size: MatrixSize,
    /// Whole tokens in the buffer, in setup, waiting or being issued (0 to 2).
    held: u8,
    /// Tokens whose setup is over (0 to 2).
    issuable: u8,
    /// Setup cycles left for the last token loaded.
    setup_left: u32,
    loaded: u32,
    element: u32,
    group: u32,
    /// Stages 1 to k - 1: (valid, last element of its group, in the token's
    /// last group); entries past `issue_stages - 1` stay empty.
    stages: [(bool, bool, bool); ISSUE_STAGES_MAX as usize - 1],
    done: bool,
    done_last: bool,
    bank_full: bool,
    bank_last: bool,
    lane: u32,
    y_valid: bool,
    y_last: bool,
}

impl MatrixVector {
    /// An engine of `size` (each size at least 1, issue stages 2 to
    /// [`ISSUE_STAGES_MAX`]).
    pub fn new(input: LinkId, out: LinkId, size: MatrixSize) -> Self {
        Self {
            input,
            out,
            size: MatrixSize {
                d_in: size.d_in.max(1),
                groups: size.groups.max(1),
                lanes: size.lanes.max(1),
                issue_stages: size.issue_stages.clamp(2, ISSUE_STAGES_MAX),
                setup_cycles: size.setup_cycles,
            },
            held: 0,
            issuable: 0,
            setup_left: 0,
            loaded: 0,
            element: 0,
            group: 0,
            stages: [(false, false, false); ISSUE_STAGES_MAX as usize - 1],
            done: false,
            done_last: false,
            bank_full: false,
            bank_last: false,
            lane: 0,
            y_valid: false,
            y_last: false,
        }
    }
}

impl Unit for MatrixVector {
    fn kind(&self) -> &'static str {
        "matrix-vector"
    }
    #[inline]
    fn forward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let w = &mut wires[self.out.0];
        w.valid = self.y_valid;
        w.last = self.y_last;
    }
    #[inline]
    fn backward(&mut self, wires: &mut [Wire], _: &Cycle) {
        wires[self.input.0].ready =
            self.held < 2 && !(self.setup_left > 0 && self.loaded == self.size.d_in - 1);
    }
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        let s = self.size;
        let take = wires[self.input.0].fires();
        let out_ready = wires[self.out.0].ready;
        let send = self.bank_full && (!self.y_valid || out_ready);
        let to_bank = self.done && (!self.bank_full || (send && self.lane == s.lanes - 1));
        let advance = !self.done || to_bank;
        let issue = self.issuable > 0 && advance;
        // registers read below are their values before this edge
        let (done_last, bank_last, lane) = (self.done_last, self.bank_last, self.lane);
        let (mut held, mut issuable) = (self.held, self.issuable);
        if self.setup_left > 0 {
            self.setup_left -= 1;
            if self.setup_left == 0 {
                issuable += 1;
            }
        }
        if take {
            if self.loaded == s.d_in - 1 {
                self.loaded = 0;
                held += 1;
                if s.setup_cycles == 0 {
                    issuable += 1;
                } else {
                    self.setup_left = s.setup_cycles;
                }
            } else {
                self.loaded += 1;
            }
        }
        if advance {
            let last = s.issue_stages as usize - 2;
            let (v, last_element, token_last) = self.stages[last];
            self.done = v && last_element;
            self.done_last = token_last;
            self.stages.copy_within(0..last, 1);
            self.stages[0] = (issue, self.element == s.d_in - 1, self.group == s.groups - 1);
        }
        if issue {
            if self.element == s.d_in - 1 {
                self.element = 0;
                if self.group == s.groups - 1 {
                    self.group = 0;
                    held -= 1;
                    issuable -= 1;
                } else {
                    self.group += 1;
                }
            } else {
                self.element += 1;
            }
        }
        self.held = held;
        self.issuable = issuable;
        if send {
            self.y_valid = true;
            self.y_last = bank_last && lane == s.lanes - 1;
            self.lane = lane + 1;
            if lane == s.lanes - 1 {
                self.bank_full = false;
            }
        } else if out_ready {
            self.y_valid = false;
        }
        if to_bank {
            self.bank_full = true;
            self.bank_last = done_last;
            self.lane = 0;
        }
    }
    fn quiet_edges(&self, wires: &[Wire], _: &Cycle) -> u64 {
        let s = self.size;
        let stages = &self.stages[..s.issue_stages as usize - 1];
        let send = self.bank_full && (!self.y_valid || wires[self.out.0].ready);
        if self.setup_left > 0 || send {
            return 0;
        }
        if self.done {
            // a finished group waiting for a bank whose output is not
            // taken stops the issue: frozen until a handshake
            return if self.bank_full { u64::MAX } else { 0 };
        }
        if self.issuable == 0 {
            // nothing to issue: quiet once the issue stages are empty
            return if stages.iter().any(|st| st.0) { 0 } else { u64::MAX };
        }
        // issuing inside a group with every stage full and no group end
        // among them: each edge issues the next element, the stages' flags
        // stay as they are, until the group's last element is issued
        if stages.iter().all(|st| st.0 && !st.1) {
            u64::from(s.d_in - 1 - self.element)
        } else {
            0
        }
    }
    fn skip(&mut self, edges: u64) {
        // issuing (not frozen behind a full bank): one element an edge
        if self.issuable > 0 && !self.done {
            self.element += edges as u32;
        }
    }
    fn inputs(&self) -> Vec<LinkId> {
        vec![self.input]
    }
    fn outputs(&self) -> Vec<LinkId> {
        vec![self.out]
    }
    fn occupancy(&self) -> usize {
        usize::from(self.held)
            + self.stages.iter().filter(|s| s.0).count()
            + usize::from(self.done)
            + usize::from(self.bank_full)
            + usize::from(self.y_valid)
    }
    fn state(&self) -> String {
        format!(
            "{} tokens held ({} issuable, setup {} left; loaded {}, element {}, group {}), stages [{}], done {}, bank {} (lane {}), y valid {}",
            self.held,
            self.issuable,
            self.setup_left,
            self.loaded,
            self.element,
            self.group,
            self.stages[..self.size.issue_stages as usize - 1]
                .iter()
                .map(|s| if s.0 { 'o' } else { '.' })
                .collect::<String>(),
            self.done,
            if self.bank_full { "full" } else { "empty" },
            self.lane,
            self.y_valid
        )
    }
}

/// Sizes and timing of a [`TokenPass`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPassSize {
    /// Beats per token (in and out).
    pub n: u32,
    /// Whole tokens the buffer holds.
    pub slots: u8,
    /// Cycles after a token's last beat before it can be read.
    pub setup_cycles: u32,
}

/// A token buffer read once per token (the layer norm): `slots` whole
/// tokens; a token loads into a free slot, takes `setup_cycles` after its
/// last beat (its statistics; while a setup runs the next token's last
/// beat waits), then leaves one beat a cycle in order, its slot freed by
/// its last beat.
///
/// ```text
///   in ─▶ [slot 0 | slot 1 | ... ] ─setup─▶ read element i ─▶ out
///   in.ready = held < slots (and no setup running at a token's last beat)
///   out.valid = a token past its setup
/// ```
#[derive(Debug, Clone)]
pub struct TokenPass {
    input: LinkId,
    out: LinkId,
    size: TokenPassSize,
    held: u8,
    issuable: u8,
    setup_left: u32,
    loaded: u32,
    element: u32,
}

impl TokenPass {
    /// A buffer of `size` (n and slots at least 1).
    pub fn new(input: LinkId, out: LinkId, size: TokenPassSize) -> Self {
        Self {
            input,
            out,
            size: TokenPassSize {
                n: size.n.max(1),
                slots: size.slots.max(1),
                setup_cycles: size.setup_cycles,
            },
            held: 0,
            issuable: 0,
            setup_left: 0,
            loaded: 0,
            element: 0,
        }
    }
}

impl Unit for TokenPass {
    fn kind(&self) -> &'static str {
        "token-pass"
    }
    #[inline]
    fn forward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let w = &mut wires[self.out.0];
        w.valid = self.issuable > 0;
        w.last = self.element == self.size.n - 1;
    }
    #[inline]
    fn backward(&mut self, wires: &mut [Wire], _: &Cycle) {
        wires[self.input.0].ready =
            self.held < self.size.slots && !(self.setup_left > 0 && self.loaded == self.size.n - 1);
    }
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        let s = self.size;
        if self.setup_left > 0 {
            self.setup_left -= 1;
            if self.setup_left == 0 {
                self.issuable += 1;
            }
        }
        if wires[self.input.0].fires() {
            if self.loaded == s.n - 1 {
                self.loaded = 0;
                self.held += 1;
                if s.setup_cycles == 0 {
                    self.issuable += 1;
                } else {
                    self.setup_left = s.setup_cycles;
                }
            } else {
                self.loaded += 1;
            }
        }
        if wires[self.out.0].fires() {
            if self.element == s.n - 1 {
                self.element = 0;
                self.held -= 1;
                self.issuable -= 1;
            } else {
                self.element += 1;
            }
        }
    }
    fn quiet_edges(&self, _: &[Wire], _: &Cycle) -> u64 {
        if self.setup_left > 0 {
            0
        } else {
            u64::MAX
        }
    }
    fn inputs(&self) -> Vec<LinkId> {
        vec![self.input]
    }
    fn outputs(&self) -> Vec<LinkId> {
        vec![self.out]
    }
    fn occupancy(&self) -> usize {
        usize::from(self.held)
    }
    fn state(&self) -> String {
        format!(
            "{} tokens held ({} readable, setup {} left; loaded {}, element {})",
            self.held, self.issuable, self.setup_left, self.loaded, self.element
        )
    }
}

/// Sends every beat of its input to each of its outputs through a
/// one-beat register per output: the input is taken when every register
/// is free or leaving, so each output's valid comes from its register
/// (AXI4-Stream's rule) and the branches move together at one beat a
/// cycle while all take.
///
/// ```text
///   in ─┬─▶ [ reg 0 ] ─▶ out 0        in.ready = every (reg_i empty | out_i.ready)
///       └─▶ [ reg k ] ─▶ out k
/// ```
#[derive(Debug, Clone)]
pub struct Fork {
    input: LinkId,
    outs: Vec<LinkId>,
    /// Per output: its register holds a beat, and that beat's tlast.
    held: Vec<(bool, bool)>,
}

impl Fork {
    /// A fork of `input` into `outs` (at least one).
    pub fn new(input: LinkId, outs: Vec<LinkId>) -> Self {
        let held = vec![(false, false); outs.len()];
        Self { input, outs, held }
    }
}

impl Unit for Fork {
    fn kind(&self) -> &'static str {
        "fork"
    }
    #[inline]
    fn forward(&mut self, wires: &mut [Wire], _: &Cycle) {
        for (out, &(valid, last)) in self.outs.iter().zip(&self.held) {
            let w = &mut wires[out.0];
            w.valid = valid;
            w.last = last;
        }
    }
    #[inline]
    fn backward(&mut self, wires: &mut [Wire], _: &Cycle) {
        wires[self.input.0].ready = self
            .outs
            .iter()
            .zip(&self.held)
            .all(|(out, &(valid, _))| !valid || wires[out.0].ready);
    }
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        let i = wires[self.input.0];
        for (out, held) in self.outs.iter().zip(self.held.iter_mut()) {
            if wires[out.0].fires() {
                held.0 = false;
            }
            if i.fires() {
                *held = (true, i.last);
            }
        }
    }
    fn quiet_edges(&self, _: &[Wire], _: &Cycle) -> u64 {
        // its registers change only when a link fires
        u64::MAX
    }
    fn inputs(&self) -> Vec<LinkId> {
        vec![self.input]
    }
    fn outputs(&self) -> Vec<LinkId> {
        self.outs.clone()
    }
    fn occupancy(&self) -> usize {
        self.held.iter().filter(|h| h.0).count()
    }
    fn state(&self) -> String {
        let regs: String = self.held.iter().map(|h| if h.0 { 'o' } else { '.' }).collect();
        format!("registers [{regs}] (o full, . empty)")
    }
}

/// Joins two streams beat by beat (a residual add) into a one-beat
/// output register: a pair is taken when both are valid and the register
/// is free or leaving; the output's tlast is the first input's.
///
/// ```text
///   a ─┐
///      ├─ both valid ─▶ [ reg ] ─▶ out      a.ready = b.ready = a.valid & b.valid & (reg empty | out.ready)
///   b ─┘
/// ```
#[derive(Debug, Clone)]
pub struct Join {
    a: LinkId,
    b: LinkId,
    out: LinkId,
    held: (bool, bool),
}

impl Join {
    /// A join of `a` and `b` into `out`.
    pub fn new(a: LinkId, b: LinkId, out: LinkId) -> Self {
        Self {
            a,
            b,
            out,
            held: (false, false),
        }
    }
}

impl Unit for Join {
    fn kind(&self) -> &'static str {
        "join"
    }
    #[inline]
    fn forward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let w = &mut wires[self.out.0];
        w.valid = self.held.0;
        w.last = self.held.1;
    }
    #[inline]
    fn backward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let free = !self.held.0 || wires[self.out.0].ready;
        let both = wires[self.a.0].valid && wires[self.b.0].valid;
        wires[self.a.0].ready = free && both;
        wires[self.b.0].ready = free && both;
    }
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        if wires[self.out.0].fires() {
            self.held.0 = false;
        }
        let a = wires[self.a.0];
        if a.fires() {
            self.held = (true, a.last);
        }
    }
    fn quiet_edges(&self, _: &[Wire], _: &Cycle) -> u64 {
        // its registers change only when a link fires
        u64::MAX
    }
    fn inputs(&self) -> Vec<LinkId> {
        vec![self.a, self.b]
    }
    fn outputs(&self) -> Vec<LinkId> {
        vec![self.out]
    }
    fn occupancy(&self) -> usize {
        usize::from(self.held.0)
    }
    fn state(&self) -> String {
        format!("register full {}", self.held.0)
    }
}

/// Splits each input beat (a vector of `lanes` elements) into `lanes`
/// beats, one a cycle, from a register: the next vector is taken as the
/// last element of the one before leaves. Every element beat carries
/// tlast (an element stream's consumer counts its tokens itself).
///
/// ```text
///   in ─▶ [ vector, lanes left ] ─ one a cycle ─▶ out      in.ready = left == 0 | (left == 1 & out.ready)
/// ```
#[derive(Debug, Clone)]
pub struct Serialize {
    input: LinkId,
    out: LinkId,
    lanes: u32,
    left: u32,
}

impl Serialize {
    /// A serializer of vectors of `lanes` (at least 1) elements.
    pub fn new(input: LinkId, out: LinkId, lanes: u32) -> Self {
        Self {
            input,
            out,
            lanes: lanes.max(1),
            left: 0,
        }
    }
}

impl Unit for Serialize {
    fn kind(&self) -> &'static str {
        "serialize"
    }
    #[inline]
    fn forward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let w = &mut wires[self.out.0];
        w.valid = self.left > 0;
        w.last = self.left > 0;
    }
    #[inline]
    fn backward(&mut self, wires: &mut [Wire], _: &Cycle) {
        wires[self.input.0].ready = self.left == 0 || (self.left == 1 && wires[self.out.0].ready);
    }
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        if wires[self.out.0].fires() {
            self.left -= 1;
        }
        if wires[self.input.0].fires() {
            self.left = self.lanes;
        }
    }
    fn quiet_edges(&self, _: &[Wire], _: &Cycle) -> u64 {
        // its registers change only when a link fires
        u64::MAX
    }
    fn inputs(&self) -> Vec<LinkId> {
        vec![self.input]
    }
    fn outputs(&self) -> Vec<LinkId> {
        vec![self.out]
    }
    fn occupancy(&self) -> usize {
        usize::from(self.left > 0)
    }
    fn state(&self) -> String {
        format!("{} of {} elements left", self.left, self.lanes)
    }
}

/// The sizes of a [`SequenceMemory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceSize {
    /// Tokens a sequence.
    pub tokens: u32,
    /// Elements a token on each of the q, k, v streams (`heads × head_size`).
    pub width: u32,
    /// Heads: each query token is asked once per head.
    pub heads: u32,
}

/// The attention's sequence memory: it takes one sequence's projected
/// q, k and v (element streams of `tokens × width` beats each, every
/// stream ready until it has its sequence), then replays it for the
/// attention head: for each token `i` and head `h`, the query `(i, h)` on
/// `query` and the `tokens` keys and values of head `h` on `kv` (tlast on
/// a query's last key), each stream one beat a cycle from a registered
/// read: the first reads are issued the cycle after the last write, so
/// both streams offer from the cycle after that. The next sequence is
/// taken when the replay is over.
///
/// ```text
///   q, k, v ─▶ write: [ q | k | v ] × tokens ──(all three complete)──▶ first reads ─▶ replay
///   replay:  query (i, h) for i < tokens, h < heads ─▶ query
///            keys and values of head h, tokens of them a query ─▶ kv
/// ```
#[derive(Debug, Clone)]
pub struct SequenceMemory {
    inputs: [LinkId; 3],
    query: LinkId,
    kv: LinkId,
    size: SequenceSize,
    /// Beats written per input stream in this sequence.
    written: [u64; 3],
    /// The cycle of the first reads (after the last write).
    starting: bool,
    replaying: bool,
    queries_left: u64,
    keys_left: u64,
}

impl SequenceMemory {
    /// A memory of `size` (each size at least 1) taking `q`, `k`, `v`.
    pub fn new(q: LinkId, k: LinkId, v: LinkId, query: LinkId, kv: LinkId, size: SequenceSize) -> Self {
        Self {
            inputs: [q, k, v],
            query,
            kv,
            size: SequenceSize {
                tokens: size.tokens.max(1),
                width: size.width.max(1),
                heads: size.heads.max(1),
            },
            written: [0; 3],
            starting: false,
            replaying: false,
            queries_left: 0,
            keys_left: 0,
        }
    }

    fn beats(&self) -> u64 {
        u64::from(self.size.tokens) * u64::from(self.size.width)
    }
}

impl Unit for SequenceMemory {
    fn kind(&self) -> &'static str {
        "sequence memory"
    }
    #[inline]
    fn forward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let tokens = u64::from(self.size.tokens);
        wires[self.query.0].valid = self.replaying && self.queries_left > 0;
        wires[self.query.0].last = true;
        let w = &mut wires[self.kv.0];
        w.valid = self.replaying && self.keys_left > 0;
        w.last = self.keys_left % tokens == 1 || tokens == 1;
    }
    #[inline]
    fn backward(&mut self, wires: &mut [Wire], _: &Cycle) {
        let beats = self.beats();
        for (input, &written) in self.inputs.iter().zip(&self.written) {
            wires[input.0].ready = !self.replaying && !self.starting && written < beats;
        }
    }
    #[inline]
    fn edge(&mut self, wires: &[Wire], _: &Cycle) {
        let (tokens, heads) = (u64::from(self.size.tokens), u64::from(self.size.heads));
        if self.starting {
            self.starting = false;
            self.replaying = true;
            return;
        }
        if self.replaying {
            if wires[self.query.0].fires() {
                self.queries_left -= 1;
            }
            if wires[self.kv.0].fires() {
                self.keys_left -= 1;
            }
            if self.queries_left == 0 && self.keys_left == 0 {
                self.replaying = false;
                self.written = [0; 3];
            }
            return;
        }
        for (input, written) in self.inputs.iter().zip(self.written.iter_mut()) {
            if wires[input.0].fires() {
                *written += 1;
            }
        }
        let beats = self.beats();
        if self.written.iter().all(|&w| w == beats) {
            self.starting = true;
            self.queries_left = tokens * heads;
            self.keys_left = tokens * heads * tokens;
        }
    }
    fn quiet_edges(&self, _: &[Wire], _: &Cycle) -> u64 {
        // the first reads' cycle ends on its own; otherwise only handshakes move it
        if self.starting {
            0
        } else {
            u64::MAX
        }
    }
    fn inputs(&self) -> Vec<LinkId> {
        self.inputs.to_vec()
    }
    fn outputs(&self) -> Vec<LinkId> {
        vec![self.query, self.kv]
    }
    fn occupancy(&self) -> usize {
        if self.replaying || self.starting {
            self.beats() as usize * 3
        } else {
            self.written.iter().sum::<u64>() as usize
        }
    }
    fn state(&self) -> String {
        if self.starting {
            "issuing the first reads".to_string()
        } else if self.replaying {
            format!(
                "replaying: {} queries and {} keys left",
                self.queries_left, self.keys_left
            )
        } else {
            format!(
                "writing: q {}, k {}, v {} of {} beats",
                self.written[0],
                self.written[1],
                self.written[2],
                self.beats()
            )
        }
    }
}
