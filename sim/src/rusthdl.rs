//! The rust-hdl back end: the blocks themselves, in rust-hdl's own
//! simulator, behind the same [`Simulator`] trait as the Verilog back ends.
//! Slow (thousands of cycles per second) but it needs no external tool,
//! and it is the design as written, before any Verilog exists.

use crate::ports::{PortMap, StreamPorts};
use crate::testbench::Simulator;
use crate::SimError;
use hwformer_hdl::exp::ExpUnit;
use hwformer_hdl::manifest::Manifest;
use hwformer_hdl::sdpa::SdpaUnit;
use hwformer_hdl::softmax::SoftmaxUnit;
use rust_hdl::prelude::*;

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

impl<const D: usize, const W: usize, const KV: usize> StreamSignals for SdpaUnit<D, W, KV> {
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
    }
}

/// A block in rust-hdl's simulator.
struct RustHdlModel<B> {
    uut: B,
    ports: PortMap,
}

impl<B: StreamSignals> Simulator for RustHdlModel<B> {
    fn cycle(&mut self, inputs: &[u32], outputs: &mut [u32]) {
        self.uut.drive(inputs, &self.ports);
        self.uut.set_clock(false);
        assert!(
            simulate(&mut self.uut, 1000),
            "rust-hdl: the logic did not settle"
        );
        self.uut.sample(outputs, &self.ports);
        self.uut.set_clock(true);
        assert!(
            simulate(&mut self.uut, 1000),
            "rust-hdl: the logic did not settle after the edge"
        );
    }
}

fn model<B: StreamSignals + 'static>(mut uut: B, manifest: &Manifest) -> Box<dyn Simulator> {
    uut.connect_all();
    Box::new(RustHdlModel {
        uut,
        ports: PortMap::new(manifest),
    })
}

/// The rust-hdl model of the block a manifest describes.
pub fn rusthdl_model(manifest: &Manifest) -> Result<Box<dyn Simulator>, SimError> {
    let invalid = |e: String| SimError::Invalid(e);
    match manifest.block.as_str() {
        "exp" => {
            let exp = hwformer_hdl::exp::model_from_manifest(manifest).map_err(invalid)?;
            Ok(model(ExpUnit::new(&exp), manifest))
        }
        "softmax" => {
            let softmax = hwformer_hdl::softmax::model_from_manifest(manifest).map_err(invalid)?;
            Ok(model(SoftmaxUnit::new(&softmax), manifest))
        }
        "sdpa" => {
            let sdpa = hwformer_hdl::sdpa::model_from_manifest(manifest).map_err(invalid)?;
            let d = sdpa.config().d;
            macro_rules! pick {
                ($($d:literal),*) => {
                    match d {
                        $($d => Ok(model(SdpaUnit::<$d, { 16 * $d }, { 32 * $d }>::new(&sdpa), manifest)),)*
                        _ => Err(invalid(format!("no rust-hdl sdpa for d = {d}"))),
                    }
                };
            }
            pick!(1, 2, 4, 8, 16, 32, 64)
        }
        other => Err(invalid(format!("no rust-hdl model of block `{other}`"))),
    }
}
