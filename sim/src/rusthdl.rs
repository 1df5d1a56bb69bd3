//! The rust-hdl back end: the blocks themselves, in rust-hdl's own
//! simulator, behind the same [`Simulator`] trait as the Verilog back ends.
//! Slow (thousands of cycles per second) but it needs no external tool,
//! and it is the design as written, before any Verilog exists.

use crate::ports::{PortMap, StreamPorts};
use crate::testbench::Simulator;
use crate::SimError;
use hwformer_hdl::binary_attention::BinaryAttentionUnit;
use hwformer_hdl::exp::ExpUnit;
use hwformer_hdl::ffn::FfnUnit;
use hwformer_hdl::fifo::FifoUnit;
use hwformer_hdl::layer_norm::LayerNormUnit;
use hwformer_hdl::linear::LinearUnit;
use hwformer_hdl::manifest::Manifest;
use hwformer_hdl::sdpa::SdpaUnit;
use hwformer_hdl::softmax::SoftmaxUnit;
use hwformer_hdl::ternary_ffn::TernaryFfnUnit;
use rust_hdl::core::vcd_probe::VCDProbe;
use rust_hdl::prelude::*;
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// `Bits<N>` from little-endian 32-bit words.
fn from_words<const N: usize>(words: &[u32]) -> Bits<N> {
    if N <= 64 {
        // the words after this port's belong to the next port
        let high = if N > 32 { u64::from(words[1]) << 32 } else { 0 };
        let value = (u64::from(words[0]) | high) & (u64::MAX >> (64 - N));
        return value.to_bits();
    }
    let mut bits = Bits::<N>::default();
    for i in 0..N / 16 {
        bits.set_bits::<16>(
            16 * i,
            u64::from(words[i / 2] >> (16 * (i % 2)) & 0xffff).to_bits(),
        );
    }
    bits
}

/// Little-endian 32-bit words from `Bits<N>`.
fn to_words<const N: usize>(bits: Bits<N>, words: &mut [u32]) {
    if N <= 64 {
        let v = bits.to_u64();
        words[0] = v as u32;
        if N > 32 {
            words[1] = (v >> 32) as u32;
        }
        return;
    }
    for i in 0..N / 16 {
        let half = bits.get_bits::<16>(16 * i).to_u64() as u32;
        let w = &mut words[i / 2];
        *w = if i % 2 == 0 { half } else { *w | half << 16 };
    }
}

/// One block's signals, driven from and sampled into the flat buffers.
trait StreamSignals: Block {
    fn set_clock(&mut self, high: bool);
    fn drive(&mut self, inputs: &[u32], ports: &PortMap);
    fn sample(&self, outputs: &mut [u32], ports: &PortMap);
}

/// Drives one input stream's signals: `$block.$prefix` names the fields.
macro_rules! drive_in {
    ($uut:ident . $stream:ident ($data:ident, $valid:ident, $last:ident, $ready:ident), $p:expr, $inputs:ident) => {{
        let p: StreamPorts = $p;
        $uut.$data.next = from_words(&$inputs[p.data..]);
        $uut.$valid.next = $inputs[p.valid] & 1 == 1;
        $uut.$last.next = $inputs[p.last] & 1 == 1;
    }};
}

/// Drives a block with one input and one output stream.
macro_rules! one_in_one_out {
    ($ty:ty, $in_data:ident, $in_valid:ident, $in_last:ident, $in_ready:ident,
     $out_data:ident, $out_valid:ident, $out_last:ident, $out_ready:ident) => {
        impl StreamSignals for $ty {
            fn set_clock(&mut self, high: bool) {
                self.clock.next = high.into();
            }
            fn drive(&mut self, inputs: &[u32], ports: &PortMap) {
                drive_in!(
                    self.s($in_data, $in_valid, $in_last, $in_ready),
                    ports.input_streams[0],
                    inputs
                );
                self.$out_ready.next = inputs[ports.output_streams[0].ready] & 1 == 1;
            }
            fn sample(&self, outputs: &mut [u32], ports: &PortMap) {
                let (i, o) = (ports.input_streams[0], ports.output_streams[0]);
                outputs[i.ready] = u32::from(self.$in_ready.val());
                to_words(self.$out_data.val(), &mut outputs[o.data..]);
                outputs[o.valid] = u32::from(self.$out_valid.val());
                outputs[o.last] = u32::from(self.$out_last.val());
            }
        }
    };
}

one_in_one_out!(
    ExpUnit,
    s_axis_x_tdata,
    s_axis_x_tvalid,
    s_axis_x_tlast,
    s_axis_x_tready,
    m_axis_exp_tdata,
    m_axis_exp_tvalid,
    m_axis_exp_tlast,
    m_axis_exp_tready
);
one_in_one_out!(
    SoftmaxUnit,
    s_axis_logits_tdata,
    s_axis_logits_tvalid,
    s_axis_logits_tlast,
    s_axis_logits_tready,
    m_axis_probs_tdata,
    m_axis_probs_tvalid,
    m_axis_probs_tlast,
    m_axis_probs_tready
);
one_in_one_out!(
    LayerNormUnit,
    s_axis_x_tdata,
    s_axis_x_tvalid,
    s_axis_x_tlast,
    s_axis_x_tready,
    m_axis_y_tdata,
    m_axis_y_tvalid,
    m_axis_y_tlast,
    m_axis_y_tready
);
one_in_one_out!(
    FifoUnit,
    s_axis_x_tdata,
    s_axis_x_tvalid,
    s_axis_x_tlast,
    s_axis_x_tready,
    m_axis_y_tdata,
    m_axis_y_tvalid,
    m_axis_y_tlast,
    m_axis_y_tready
);

/// The layer blocks: generic over their lanes, one stream each way.
macro_rules! layer_block {
    ($ty:ident) => {
        layer_block!($ty, P, WP, WB);
    };
    ($ty:ident, $($param:ident),+) => {
        impl<$(const $param: usize),+> StreamSignals for $ty<$($param),+> {
            fn set_clock(&mut self, high: bool) {
                self.clock.next = high.into();
            }
            fn drive(&mut self, inputs: &[u32], ports: &PortMap) {
                drive_in!(
                    self.s(
                        s_axis_x_tdata,
                        s_axis_x_tvalid,
                        s_axis_x_tlast,
                        s_axis_x_tready
                    ),
                    ports.input_streams[0],
                    inputs
                );
                self.m_axis_y_tready.next = inputs[ports.output_streams[0].ready] & 1 == 1;
            }
            fn sample(&self, outputs: &mut [u32], ports: &PortMap) {
                let (i, o) = (ports.input_streams[0], ports.output_streams[0]);
                outputs[i.ready] = u32::from(self.s_axis_x_tready.val());
                to_words(self.m_axis_y_tdata.val(), &mut outputs[o.data..]);
                outputs[o.valid] = u32::from(self.m_axis_y_tvalid.val());
                outputs[o.last] = u32::from(self.m_axis_y_tlast.val());
            }
        }
    };
}

layer_block!(LinearUnit);
layer_block!(FfnUnit);
layer_block!(TernaryFfnUnit, P, W2);

/// The attention heads' streams: query and kv in, out.
macro_rules! attention_head {
    ($ty:ident) => {
        impl<const D: usize, const W: usize, const KV: usize, const M: usize> StreamSignals
            for $ty<D, W, KV, M>
        {
            fn set_clock(&mut self, high: bool) {
                self.clock.next = high.into();
            }
            fn drive(&mut self, inputs: &[u32], ports: &PortMap) {
                let s = self;
                drive_in!(
                    s.q(
                        s_axis_query_tdata,
                        s_axis_query_tvalid,
                        s_axis_query_tlast,
                        s_axis_query_tready
                    ),
                    ports.input_streams[0],
                    inputs
                );
                drive_in!(
                    s.kv(
                        s_axis_kv_tdata,
                        s_axis_kv_tvalid,
                        s_axis_kv_tlast,
                        s_axis_kv_tready
                    ),
                    ports.input_streams[1],
                    inputs
                );
                s.m_axis_out_tready.next = inputs[ports.output_streams[0].ready] & 1 == 1;
            }
            fn sample(&self, outputs: &mut [u32], ports: &PortMap) {
                let (q, kv, o) = (
                    ports.input_streams[0],
                    ports.input_streams[1],
                    ports.output_streams[0],
                );
                outputs[q.ready] = u32::from(self.s_axis_query_tready.val());
                outputs[kv.ready] = u32::from(self.s_axis_kv_tready.val());
                to_words(self.m_axis_out_tdata.val(), &mut outputs[o.data..]);
                outputs[o.valid] = u32::from(self.m_axis_out_tvalid.val());
                outputs[o.last] = u32::from(self.m_axis_out_tlast.val());
                if let Some(status) = ports.status {
                    outputs[status] = u32::from(self.status_saturated.val());
                }
            }
        }
    };
}

attention_head!(SdpaUnit);
attention_head!(BinaryAttentionUnit);

/// The waveform file behind rust-hdl's VCD writer, which unwraps every
/// write: it never sees an error here; the first one is kept and reported
/// by [`Simulator::finish`], and later writes are dropped.
#[derive(Clone)]
struct WaveformFile(Rc<RefCell<(std::io::BufWriter<std::fs::File>, Option<std::io::Error>)>>);

impl Write for WaveformFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let (file, error) = &mut *self.0.borrow_mut();
        if error.is_none() {
            if let Err(e) = file.write_all(bytes) {
                *error = Some(e);
            }
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl WaveformFile {
    /// Flushes the file; the first error of the run, if any.
    fn close(&self) -> std::io::Result<()> {
        let (file, error) = &mut *self.0.borrow_mut();
        match error.take() {
            Some(e) => Err(e),
            None => file.flush(),
        }
    }
}

/// A waveform being recorded: rust-hdl's VCD writer streaming to its file,
/// closed by [`Simulator::finish`].
struct Waveform {
    probe: Option<VCDProbe<WaveformFile>>,
    file: WaveformFile,
    /// Simulated time in ps: 5 ns per half cycle, as the other back ends.
    time: u64,
    path: PathBuf,
}

impl Waveform {
    fn record(&mut self, uut: &dyn Block) {
        if let Some(mut probe) = self.probe.take() {
            // a write error is kept by the file, reported at the end
            let _ = probe.timestamp(self.time);
            // the first values are those after the first settle, as on the
            // Verilog simulators (not rust-hdl's unsettled initial ones)
            self.probe = Some(if self.time == 0 {
                write_vcd_dump(probe, uut)
            } else {
                write_vcd_change(probe, uut)
            });
        }
        self.time += 5000;
    }
}

/// A block in rust-hdl's simulator.
struct RustHdlModel<B> {
    uut: B,
    ports: PortMap,
    waveform: Option<Waveform>,
}

impl<B: StreamSignals> Simulator for RustHdlModel<B> {
    fn cycle(&mut self, inputs: &[u32], outputs: &mut [u32]) {
        self.uut.drive(inputs, &self.ports);
        self.uut.set_clock(false);
        assert!(
            simulate(&mut self.uut, 1000),
            "rust-hdl: the logic did not settle"
        );
        if let Some(w) = &mut self.waveform {
            w.record(&self.uut);
        }
        self.uut.sample(outputs, &self.ports);
        self.uut.set_clock(true);
        assert!(
            simulate(&mut self.uut, 1000),
            "rust-hdl: the logic did not settle after the edge"
        );
        if let Some(w) = &mut self.waveform {
            w.record(&self.uut);
        }
    }

    fn finish(&mut self) -> Result<(), SimError> {
        let Some(mut w) = self.waveform.take() else {
            return Ok(());
        };
        // the last half cycle ends with the clock falling, as on the other
        // back ends
        self.uut.set_clock(false);
        if !simulate(&mut self.uut, 1000) {
            return Err(SimError::Invalid("rust-hdl: the logic did not settle".into()));
        }
        w.record(&self.uut);
        w.file.close().map_err(SimError::io(&w.path))
    }
}

fn model<B: StreamSignals + 'static>(
    mut uut: B,
    manifest: &Manifest,
    vcd: Option<&Path>,
) -> Result<Box<dyn Simulator>, SimError> {
    uut.connect_all();
    let waveform = match vcd {
        None => None,
        Some(path) => {
            let created = std::fs::File::create(path).map_err(SimError::io(path))?;
            let file = WaveformFile(Rc::new(RefCell::new((std::io::BufWriter::new(created), None))));
            Some(Waveform {
                probe: Some(write_vcd_header(file.clone(), &uut)),
                file,
                time: 0,
                path: path.to_path_buf(),
            })
        }
    };
    Ok(Box::new(RustHdlModel {
        uut,
        ports: PortMap::new(manifest),
        waveform,
    }))
}

/// The rust-hdl model of the block a manifest describes; with `vcd`, it
/// records every signal's changes and writes them there at
/// [`Simulator::finish`] (enumerated states are text in rust-hdl's VCD).
pub fn rusthdl_model(
    dir: &Path,
    manifest: &Manifest,
    vcd: Option<&Path>,
) -> Result<Box<dyn Simulator>, SimError> {
    let invalid = |e: String| SimError::Invalid(e);
    match manifest.block.as_str() {
        "exp" => {
            let exp = hwformer_hdl::exp::model_from_manifest(manifest).map_err(invalid)?;
            model(ExpUnit::new(&exp), manifest, vcd)
        }
        "softmax" => {
            let softmax = hwformer_hdl::softmax::model_from_manifest(manifest).map_err(invalid)?;
            model(SoftmaxUnit::new(&softmax), manifest, vcd)
        }
        "fifo" => {
            let depth = hwformer_hdl::fifo::depth_from_manifest(manifest).map_err(invalid)?;
            model(FifoUnit::new(depth), manifest, vcd)
        }
        "sdpa" => {
            let sdpa = hwformer_hdl::sdpa::model_from_manifest(manifest).map_err(invalid)?;
            let d = sdpa.config().d;
            let m = hwformer_hdl::sdpa::output_multipliers_from_manifest(manifest).map_err(invalid)?;
            hwformer_hdl::with_head!(
                d,
                m,
                SdpaUnit,
                |Unit| model(Unit::new(&sdpa), manifest, vcd),
                Err(invalid(format!("no rust-hdl sdpa for d = {d}, m = {m}")))
            )
        }
        "binary_attention" => {
            let attention =
                hwformer_hdl::binary_attention::model_from_folder(dir, manifest).map_err(invalid)?;
            let d = attention.attention().config().d;
            let m = hwformer_hdl::sdpa::output_multipliers_from_manifest(manifest).map_err(invalid)?;
            hwformer_hdl::with_head!(
                d,
                m,
                BinaryAttentionUnit,
                |Unit| model(Unit::new(&attention), manifest, vcd),
                Err(invalid(format!(
                    "no rust-hdl binary_attention for d = {d}, m = {m}"
                )))
            )
        }
        "linear" => {
            let linear = hwformer_hdl::linear::model_from_folder(dir, manifest).map_err(invalid)?;
            let lanes = manifest.count("lanes", 1, 64).map_err(invalid)?;
            hwformer_hdl::with_lanes!(
                lanes,
                LinearUnit,
                |Unit| model(Unit::new(&linear), manifest, vcd),
                Err(invalid(format!("no rust-hdl linear of {lanes} lanes")))
            )
        }
        "ffn" => {
            let ffn = hwformer_hdl::ffn::model_from_folder(dir, manifest).map_err(invalid)?;
            let lanes = manifest.count("lanes", 1, 64).map_err(invalid)?;
            let depth = manifest
                .count("hidden_depth", 1, hwformer_hdl::fifo::FIFO_DEPTH_MAX)
                .map_err(invalid)?;
            hwformer_hdl::with_lanes!(
                lanes,
                FfnUnit,
                |Unit| model(Unit::new(&ffn, depth), manifest, vcd),
                Err(invalid(format!("no rust-hdl ffn of {lanes} lanes")))
            )
        }
        "ternary_ffn" => {
            let ffn = hwformer_hdl::ternary_ffn::model_from_folder(dir, manifest).map_err(invalid)?;
            let lanes = manifest.count("lanes", 1, 64).map_err(invalid)?;
            let depth = manifest
                .count("hidden_depth", 1, hwformer_hdl::fifo::FIFO_DEPTH_MAX)
                .map_err(invalid)?;
            hwformer_hdl::with_ternary_lanes!(
                lanes,
                TernaryFfnUnit,
                |Unit| model(Unit::new(&ffn, depth), manifest, vcd),
                Err(invalid(format!("no rust-hdl ternary_ffn of {lanes} lanes")))
            )
        }
        "layernorm" => {
            let ln = hwformer_hdl::layer_norm::model_from_folder(dir, manifest).map_err(invalid)?;
            model(LayerNormUnit::new(&ln), manifest, vcd)
        }
        other => Err(invalid(format!("no rust-hdl model of block `{other}`"))),
    }
}
