//! A cycle driver for blocks with one input and one output AXI4-Stream,
//! in rust-hdl's simulator: seeded random input gaps and output
//! back-pressure, every handshake stamped with its cycle.

#![allow(dead_code)]

use hwformer_hdl::exp::ExpUnit;
use hwformer_hdl::softmax::SoftmaxUnit;
use hwformer_quant::random::seeded;
use rand::Rng;
use rust_hdl::prelude::*;

/// Access to a block's two streams.
pub trait StreamBlock: Block {
    /// Sets the clock level.
    fn set_clock(&mut self, high: bool);
    /// Drives the input stream.
    fn drive(&mut self, valid: bool, data: u64, last: bool);
    /// The input's tready.
    fn ready(&self) -> bool;
    /// Drives the output's tready.
    fn accept(&mut self, ready: bool);
    /// The output beat on offer, if tvalid.
    fn offered(&self) -> Option<(u64, bool)>;
}

/// A beat that left the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Beat {
    /// tdata.
    pub data: u64,
    /// tlast.
    pub last: bool,
    /// Cycle of its handshake.
    pub cycle: u64,
}

/// Runs `inputs` (data, last) through `uut` until `expected_outputs` beats
/// left it; returns the input handshake cycles and the output beats.
pub fn drive<B: StreamBlock>(
    uut: &mut B,
    inputs: &[(u64, bool)],
    expected_outputs: usize,
    valid_probability: f64,
    ready_probability: f64,
    seed: u64,
) -> (Vec<u64>, Vec<Beat>) {
    let mut rng = seeded(seed);
    let (mut next, mut cycle) = (0, 0u64);
    let (mut taken, mut beats) = (Vec::new(), Vec::new());
    let limit = 50 * (inputs.len() + expected_outputs) as u64 + 1000;
    while beats.len() < expected_outputs {
        assert!(
            cycle < limit,
            "stuck: {} of {} inputs taken, {} outputs",
            next,
            inputs.len(),
            beats.len()
        );
        let valid = next < inputs.len() && rng.gen_bool(valid_probability);
        let ready = rng.gen_bool(ready_probability);
        let (data, last) = inputs.get(next).copied().unwrap_or((0, false));
        uut.drive(valid, data, last);
        uut.accept(ready);
        uut.set_clock(false);
        assert!(simulate(uut, 200), "logic did not settle at cycle {cycle}");
        if ready {
            if let Some((data, last)) = uut.offered() {
                beats.push(Beat { data, last, cycle });
            }
        }
        if valid && uut.ready() {
            taken.push(cycle);
            next += 1;
        }
        uut.set_clock(true);
        assert!(
            simulate(uut, 200),
            "logic did not settle after the edge of cycle {cycle}"
        );
        cycle += 1;
    }
    (taken, beats)
}

/// Runs `tokens` (raw 16-bit elements, tlast on each token's last) through
/// a token block and returns its `outputs` output elements, sign-extended.
pub fn run_tokens<B: StreamBlock>(
    uut: &mut B,
    tokens: &[Vec<i64>],
    outputs: usize,
    valid_probability: f64,
    ready_probability: f64,
    seed: u64,
) -> Vec<i64> {
    let inputs: Vec<(u64, bool)> = tokens
        .iter()
        .flat_map(|t| {
            t.iter()
                .enumerate()
                .map(move |(i, &x)| (u64::from(x as u16), i + 1 == t.len()))
        })
        .collect();
    let (_, beats) = drive(uut, &inputs, outputs, valid_probability, ready_probability, seed);
    beats.iter().map(|b| i64::from(b.data as u16 as i16)).collect()
}

/// [`StreamBlock`] for a block (with its const parameters) from its
/// input stream's valid, data, last and ready and its output stream's
/// ready, valid, data and last.
#[macro_export]
macro_rules! stream_block {
    ($ty:ident $(<$($param:ident),*>)?: $iv:ident, $id:ident, $il:ident, $ir:ident;
     $or:ident, $ov:ident, $od:ident, $ol:ident) => {
        impl$(<$(const $param: usize),*>)? $crate::common::StreamBlock for $ty$(<$($param),*>)? {
            fn set_clock(&mut self, high: bool) {
                self.clock.next = high.into();
            }
            fn drive(&mut self, valid: bool, data: u64, last: bool) {
                self.$iv.next = valid;
                self.$id.next = data.to_bits();
                self.$il.next = last;
            }
            fn ready(&self) -> bool {
                self.$ir.val()
            }
            fn accept(&mut self, ready: bool) {
                self.$or.next = ready;
            }
            fn offered(&self) -> Option<(u64, bool)> {
                self.$ov.val().then(|| (self.$od.val().to_u64(), self.$ol.val()))
            }
        }
    };
}

/// [`StreamBlock`] for a token block's `x` and `y` streams.
#[macro_export]
macro_rules! token_stream_block {
    ($ty:ident $(<$($param:ident),*>)?) => {
        $crate::stream_block!($ty$(<$($param),*>)?: s_axis_x_tvalid, s_axis_x_tdata, s_axis_x_tlast, s_axis_x_tready;
            m_axis_y_tready, m_axis_y_tvalid, m_axis_y_tdata, m_axis_y_tlast);
    };
}

stream_block!(ExpUnit: s_axis_x_tvalid, s_axis_x_tdata, s_axis_x_tlast, s_axis_x_tready;
    m_axis_exp_tready, m_axis_exp_tvalid, m_axis_exp_tdata, m_axis_exp_tlast);
stream_block!(SoftmaxUnit: s_axis_logits_tvalid, s_axis_logits_tdata, s_axis_logits_tlast, s_axis_logits_tready;
    m_axis_probs_tready, m_axis_probs_tvalid, m_axis_probs_tdata, m_axis_probs_tlast);
