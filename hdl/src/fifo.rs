//! A registered AXI4-Stream FIFO of signed 16-bit elements: the buffer
//! between blocks whose depth the dataflow model chooses.
//!
//! ```text
//!   x ──▶ [ storage: depth × (tlast, tdata) ] ──▶ y
//!          write at wr when x fires          the word at the next rd, read at the edge
//!   x.tready = count < depth      y.tvalid = count > 0      (both from registers)
//! ```
//!
//! Neither side looks through to the other: a beat written in cycle `t`
//! can leave in `t + 1`; depth 1 passes a beat every other cycle, depth 2
//! and more one a cycle. The storage is given the read address of the
//! next cycle and shows the word there after the edge; how is its own
//! choice, by depth (the Verilog is written by hand, rust-hdl has no
//! memory with these reads):
//! - below [`BLOCK_RAM_FIFO_DEPTH`] words, it registers the address and
//!   reads combinationally: LUT RAM;
//! - deeper, it registers the word read (a block RAM's registered read),
//!   and a word written at the edge to the address being read (the FIFO
//!   says so: `bypass`, when it is empty after this cycle's pop) is taken
//!   from a register beside it, so both storages show the same word in
//!   every cycle.
//!
//! `tready` and `tvalid` come from flag registers (full, not empty, one
//! inside), not from compares of the count, so the read address and the
//! bypass are a LUT or two from the registers; each flag's next value is
//! a compare of the count (parallel with the handshakes) and a choice by
//! push and pop, never a compare after the count's adder.

use crate::export::{self, ExportError};
use crate::manifest::{Direction, ErrorBound, Field, Manifest, Param, Stream};
use hwformer_quant::QFormat;
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Deepest FIFO the block builds on its own (`hwformer gen fifo`).
pub const FIFO_DEPTH_MAX: usize = 4096;

/// Deepest FIFO the unit can be (its 16-bit count): a layer's residual
/// FIFO, which holds a whole sequence, may need it.
pub const FIFO_UNIT_DEPTH_MAX: usize = 65_535;

/// From this depth on the storage reads at the clock edge (block RAM);
/// below it, combinationally (LUT RAM: 17 bits × 512 words is 136 LUTs of
/// 64 bits, a quarter of one 36 Kb block RAM's bits).
pub const BLOCK_RAM_FIFO_DEPTH: usize = 512;

/// The storage: `depth` words of `W` bits, one write port and one read
/// port, both at the clock edge: `read_data` is, after each edge, the word
/// at the `next_read_address` it was given before it (the word written at
/// that edge included: the writer raises `bypass` when it writes there).
#[derive(LogicBlock)]
pub struct FifoStorage<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Write `write_data` at `write_address` at the edge.
    pub write: Signal<In, Bit>,
    /// Where to write.
    pub write_address: Signal<In, Bits<16>>,
    /// What to write.
    pub write_data: Signal<In, Bits<W>>,
    /// Where to read after the edge.
    pub next_read_address: Signal<In, Bits<16>>,
    /// The word written at this edge is at `next_read_address`.
    pub bypass: Signal<In, Bit>,
    /// The word at the address given before the last edge.
    pub read_data: Signal<Out, Bits<W>>,
    /// The words (a leading underscore keeps rust-hdl from treating it as a port).
    _memory: Vec<Bits<W>>,
    _read_at: usize,
    _read_word: Bits<W>,
    _written_word: Bits<W>,
    _written_ahead: bool,
}

impl<const W: usize> FifoStorage<W> {
    /// Storage of `depth` words, all zero at power-up.
    pub fn new(depth: usize) -> Self {
        Self {
            clock: Default::default(),
            write: Default::default(),
            write_address: Default::default(),
            write_data: Default::default(),
            next_read_address: Default::default(),
            bypass: Default::default(),
            read_data: Default::default(),
            _memory: vec![Bits::<W>::default(); depth.max(1)],
            _read_at: 0,
            _read_word: Bits::default(),
            _written_word: Bits::default(),
            _written_ahead: false,
        }
    }
}

impl<const W: usize> Logic for FifoStorage<W> {
    fn update(&mut self) {
        // each variant as its Verilog does it, so a wrong bypass shows here too
        let depth = self._memory.len();
        let block_ram = depth >= BLOCK_RAM_FIFO_DEPTH;
        if self.clock.pos_edge() {
            let next = self.next_read_address.val().index() % depth;
            if block_ram {
                self._read_word = self._memory[next];
                self._written_word = self.write_data.val();
                self._written_ahead = self.bypass.val();
            }
            if self.write.val() {
                let at = self.write_address.val().index() % depth;
                self._memory[at] = self.write_data.val();
            }
            self._read_at = next;
        }
        self.read_data.next = match (block_ram, self._written_ahead) {
            (false, _) => self._memory[self._read_at],
            (true, true) => self._written_word,
            (true, false) => self._read_word,
        };
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        let depth = self._memory.len();
        let memory = written_memory::<W>(depth);
        let read = if depth < BLOCK_RAM_FIFO_DEPTH {
            "reg [15:0] read_at;\n\
             initial read_at = 16'd0;\n\
             wire unused_bypass = bypass; // the combinational read shows the written word anyway\n\
             always @(posedge clock) read_at <= next_read_address;\n\
             always @(*) read_data = memory[read_at];"
                .to_string()
        } else {
            format!(
                "reg [{top}:0] read_word;\n\
                 reg [{top}:0] written_word;\n\
                 reg written_ahead;\n\
                 initial begin read_word = {W}'d0; written_word = {W}'d0; written_ahead = 1'b0; end\n\
                 always @(posedge clock) begin\n\
                 \x20   read_word <= memory[next_read_address];\n\
                 \x20   written_word <= write_data;\n\
                 \x20   written_ahead <= bypass;\n\
                 end\n\
                 always @(*) read_data = written_ahead ? written_word : read_word;",
                top = W - 1,
            )
        };
        Verilog::Custom(memory + &read)
    }
}

/// Storage with a combinational read, for a reader that chooses the
/// address in the cycle it uses the word (the layer norm's token buffer):
/// a register array Vivado maps to LUT RAM.
#[derive(LogicBlock)]
pub struct LutRamStorage<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Write `write_data` at `write_address` at the edge.
    pub write: Signal<In, Bit>,
    /// Where to write.
    pub write_address: Signal<In, Bits<16>>,
    /// What to write.
    pub write_data: Signal<In, Bits<W>>,
    /// Where to read.
    pub read_address: Signal<In, Bits<16>>,
    /// The word at `read_address`.
    pub read_data: Signal<Out, Bits<W>>,
    /// The words (a leading underscore keeps rust-hdl from treating it as a port).
    _memory: Vec<Bits<W>>,
}

impl<const W: usize> LutRamStorage<W> {
    /// Storage of `depth` words, all zero at power-up.
    pub fn new(depth: usize) -> Self {
        Self {
            clock: Default::default(),
            write: Default::default(),
            write_address: Default::default(),
            write_data: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            _memory: vec![Bits::<W>::default(); depth.max(1)],
        }
    }
}

impl<const W: usize> Logic for LutRamStorage<W> {
    fn update(&mut self) {
        let depth = self._memory.len();
        if self.clock.pos_edge() && self.write.val() {
            let at = self.write_address.val().index() % depth;
            self._memory[at] = self.write_data.val();
        }
        self.read_data.next = self._memory[self.read_address.val().index() % depth];
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(
            written_memory::<W>(self._memory.len()) + "always @(*) read_data = memory[read_address];",
        )
    }
}

/// The Verilog of a zeroed array of `depth` words written at the edge.
fn written_memory<const W: usize>(depth: usize) -> String {
    export::zeroed_memory_verilog("memory", W, depth)
        + "always @(posedge clock) if (write) memory[write_address] <= write_data;\n"
}

/// The FIFO block.
#[derive(LogicBlock)]
pub struct FifoUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Element in.
    pub s_axis_x_tdata: Signal<In, Bits<16>>,
    /// Input valid.
    pub s_axis_x_tvalid: Signal<In, Bit>,
    /// Input ready: fewer than `depth` beats inside.
    pub s_axis_x_tready: Signal<Out, Bit>,
    /// Input last.
    pub s_axis_x_tlast: Signal<In, Bit>,
    /// Element out.
    pub m_axis_y_tdata: Signal<Out, Bits<16>>,
    /// Output valid: a beat inside.
    pub m_axis_y_tvalid: Signal<Out, Bit>,
    /// Output ready.
    pub m_axis_y_tready: Signal<In, Bit>,
    /// Output last.
    pub m_axis_y_tlast: Signal<Out, Bit>,
    storage: FifoStorage<17>,
    count: DFF<Bits<16>>,
    nonempty: DFF<Bit>,
    full: DFF<Bit>,
    single: DFF<Bit>,

    read_at: DFF<Bits<16>>,
    write_at: DFF<Bits<16>>,
    push: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    read_next: Signal<Local, Bits<16>>,
    last_word: Signal<Local, Bits<17>>,
    last_bit: Constant<Bits<17>>,
    last_slot: Constant<Bits<16>>,
}

impl FifoUnit {
    /// A FIFO of `depth` beats (1 to [`FIFO_UNIT_DEPTH_MAX`]; the block
    /// alone, 1 to [`FIFO_DEPTH_MAX`], checked by [`export`]).
    pub fn new(depth: usize) -> Self {
        let depth = depth.clamp(1, FIFO_UNIT_DEPTH_MAX);
        Self {
            clock: Default::default(),
            s_axis_x_tdata: Default::default(),
            s_axis_x_tvalid: Default::default(),
            s_axis_x_tready: Default::default(),
            s_axis_x_tlast: Default::default(),
            m_axis_y_tdata: Default::default(),
            m_axis_y_tvalid: Default::default(),
            m_axis_y_tready: Default::default(),
            m_axis_y_tlast: Default::default(),
            storage: FifoStorage::new(depth),
            count: Default::default(),
            nonempty: Default::default(),
            full: Default::default(),
            single: Default::default(),
            read_at: Default::default(),
            write_at: Default::default(),
            push: Default::default(),
            pop: Default::default(),
            read_next: Default::default(),
            last_word: Default::default(),
            last_bit: Constant::new(bits::<17>(1 << 16)),
            last_slot: Constant::new(bits::<16>(depth as u64 - 1)),
        }
    }
}

impl Logic for FifoUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, count, nonempty, full, single, read_at, write_at);
        self.storage.clock.next = self.clock.val();
        self.s_axis_x_tready.next = !self.full.q.val();
        self.m_axis_y_tvalid.next = self.nonempty.q.val();
        self.push.next = self.s_axis_x_tvalid.val() & !self.full.q.val();
        self.pop.next = self.m_axis_y_tready.val() & self.nonempty.q.val();
        self.storage.write.next = self.push.val();
        // the word written now is the next one read when none is left after the pop
        self.storage.bypass.next =
            self.push.val() & (!self.nonempty.q.val() | (self.single.q.val() & self.pop.val()));
        self.storage.write_address.next = self.write_at.q.val();
        if self.s_axis_x_tlast.val() {
            self.last_word.next = self.last_bit.val();
        } else {
            self.last_word.next = 0.into();
        }
        self.storage.write_data.next = bit_cast::<17, 16>(self.s_axis_x_tdata.val()) | self.last_word.val();
        self.m_axis_y_tdata.next = self.storage.read_data.val().get_bits::<16>(0);
        self.m_axis_y_tlast.next = self.storage.read_data.val().get_bit(16);
        if self.push.val() {
            self.write_at.d.next = self.write_at.q.val() + 1;
            if self.write_at.q.val() == self.last_slot.val() {
                self.write_at.d.next = 0.into();
            }
        }
        self.read_next.next = self.read_at.q.val();
        if self.pop.val() {
            self.read_next.next = self.read_at.q.val() + 1;
            if self.read_at.q.val() == self.last_slot.val() {
                self.read_next.next = 0.into();
            }
        }
        self.read_at.d.next = self.read_next.val();
        self.storage.next_read_address.next = self.read_next.val();
        if self.push.val() & !self.pop.val() {
            self.count.d.next = self.count.q.val() + 1;
            self.nonempty.d.next = true;
            self.full.d.next = self.count.q.val() == self.last_slot.val();
            self.single.d.next = !self.nonempty.q.val();
        }
        if self.pop.val() & !self.push.val() {
            self.count.d.next = self.count.q.val() - 1;
            self.nonempty.d.next = !self.single.q.val();
            self.full.d.next = false;
            self.single.d.next = self.count.q.val() == 2;
        }
    }
}

/// The element format (raw signed 16-bit: a FIFO does not interpret it).
pub fn element_format() -> QFormat {
    QFormat::signed(16, 0).expect("valid")
}

/// The depth a FIFO manifest states (`params.depth`).
pub fn depth_from_manifest(manifest: &Manifest) -> Result<usize, String> {
    manifest.count("depth", 1, FIFO_DEPTH_MAX)
}

/// The exported FIFO of `depth` beats.
pub fn export(depth: usize) -> Result<(String, Manifest), ExportError> {
    if !(1..=FIFO_DEPTH_MAX).contains(&depth) {
        return Err(ExportError::Check(format!(
            "fifo depth must be from 1 to {FIFO_DEPTH_MAX}, not {depth}"
        )));
    }
    let mut uut = FifoUnit::new(depth);
    uut.connect_all();
    let stem = format!("fifo_d{depth}");
    let verilog = export::verilog(&stem, &uut)?;
    let field = |name: &str| Field {
        name: name.into(),
        count: 1,
        format: element_format(),
    };
    let manifest = Manifest {
        block: "fifo".into(),
        module: export::module_name(&stem),
        verilog: "fifo.v".into(),
        clock: "clock".into(),
        reset: None,
        streams: vec![
            Stream::new("x", Direction::In, vec![field("x")]),
            Stream::new("y", Direction::Out, vec![field("y")]),
        ],
        params: BTreeMap::from([("depth".to_string(), Param::from(depth as f64))]),
        latency_cycles: 1,
        initiation_interval: if depth == 1 { 2 } else { 1 },
        error_bound: Some(ErrorBound {
            metric: "max_abs".into(),
            versus: "float64".into(),
            value: 0.0,
        }),
        weights: None,
        status: None,
        memories: Vec::new(),
        lint_waivers: {
            let mut waivers = export::standard_waivers();
            waivers.insert(
                "UNUSEDSIGNAL".into(),
                "the storage's 16-bit addresses use only the bits the depth needs; synthesis removes the rest"
                    .into(),
            );
            waivers
        },
    };
    Ok((verilog, manifest))
}
