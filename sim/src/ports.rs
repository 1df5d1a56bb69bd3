//! The port list of an exported block, from its manifest, and the flat
//! word buffers every back end exchanges with the testbench.
//!
//! Each port takes `ceil(bits / 32)` little-endian 32-bit words (the
//! layout of Verilator's wide signals); input ports come first in one
//! buffer, output ports in another, both in manifest order.

use hwformer_hdl::manifest::{Direction, Manifest};

/// One port of the block (the clock excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Verilog name.
    pub name: String,
    /// Width in bits.
    pub bits: usize,
    /// First word in its buffer.
    pub offset: usize,
}

impl Port {
    /// Words it takes.
    pub fn words(&self) -> usize {
        self.bits.div_ceil(32)
    }
}

/// Where one AXI4-Stream's four signals sit in the buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamPorts {
    /// tdata (in the input buffer for an input stream, else the output).
    pub data: usize,
    /// tvalid (same side as tdata).
    pub valid: usize,
    /// tlast (same side as tdata).
    pub last: usize,
    /// tready (the other side).
    pub ready: usize,
    /// tdata width.
    pub bits: usize,
}

/// All ports of a block, split by direction, with word offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMap {
    /// Clock port name.
    pub clock: String,
    /// Input ports (driven by the testbench).
    pub inputs: Vec<Port>,
    /// Output ports (read by the testbench).
    pub outputs: Vec<Port>,
    /// Input streams, in manifest order.
    pub input_streams: Vec<StreamPorts>,
    /// Output streams, in manifest order.
    pub output_streams: Vec<StreamPorts>,
    /// Active level and word offset of the reset input, if any.
    pub reset: Option<(bool, usize)>,
    /// Word offset of the status output (in the output buffer), if any.
    pub status: Option<usize>,
}

impl PortMap {
    /// The ports a manifest declares.
    pub fn new(manifest: &Manifest) -> Self {
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        let add = |list: &mut Vec<Port>, name: String, bits: usize| {
            let offset = list.last().map_or(0, |p: &Port| p.offset + p.words());
            list.push(Port { name, bits, offset });
            offset
        };
        let reset = manifest
            .reset
            .as_ref()
            .map(|r| (r.active_high, add(&mut inputs, r.port.clone(), 1)));
        let (mut input_streams, mut output_streams) = (Vec::new(), Vec::new());
        for s in &manifest.streams {
            let p = &s.port_prefix;
            let (near, far) = match s.dir {
                Direction::In => (&mut inputs, &mut outputs),
                Direction::Out => (&mut outputs, &mut inputs),
            };
            let data = add(near, format!("{p}_tdata"), s.tdata_bits);
            let valid = add(near, format!("{p}_tvalid"), 1);
            let ready = add(far, format!("{p}_tready"), 1);
            let last = add(near, format!("{p}_tlast"), 1);
            let ports = StreamPorts {
                data,
                valid,
                last,
                ready,
                bits: s.tdata_bits,
            };
            match s.dir {
                Direction::In => input_streams.push(ports),
                Direction::Out => output_streams.push(ports),
            }
        }
        let status = manifest
            .status
            .as_ref()
            .map(|st| add(&mut outputs, st.port.clone(), 1));
        Self {
            clock: manifest.clock.clone(),
            inputs,
            outputs,
            input_streams,
            output_streams,
            reset,
            status,
        }
    }

    /// Words of the input buffer.
    pub fn input_words(&self) -> usize {
        self.inputs.last().map_or(0, |p| p.offset + p.words())
    }

    /// Words of the output buffer.
    pub fn output_words(&self) -> usize {
        self.outputs.last().map_or(0, |p| p.offset + p.words())
    }
}
