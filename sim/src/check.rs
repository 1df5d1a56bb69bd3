//! The checker: every output beat bit-exact with the integer model, every
//! handshake (input and output) in the cycle the block's handshake graph predicts, at
//! full speed every output beat in the cycle of the block's closed form,
//! every element within the manifest's error bound of the float64
//! reference. The first failure comes back as a [`Mismatch`] with
//! everything needed to replay it.

use crate::testbench::{hex_words, Trace};
use crate::workload::Workload;
use hwformer_hdl::manifest::{Direction, Manifest, Stream};
use hwformer_quant::QFormat;
use serde::Serialize;
use std::fmt;

/// What a passing run showed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Output beats compared bit for bit.
    pub beats_checked: usize,
    /// Whether every handshake's cycle was compared with the handshake graph.
    pub cycles_checked: bool,
    /// Whether every output beat's cycle was compared with the closed form
    /// (full speed only).
    pub closed_form_checked: bool,
    /// Largest |output - float64 reference| over the elements compared.
    pub max_error: f64,
    /// Output elements compared with their float64 reference (those with
    /// a NaN reference, beyond the bound's domain, are not).
    pub float_compared: usize,
    /// The manifest's bound on it.
    pub error_bound: Option<f64>,
}

/// Which property failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MismatchKind {
    /// tdata differs from the integer model.
    Data,
    /// tlast differs.
    Last,
    /// The beat came out in another cycle than the handshake graph says.
    Cycle,
    /// A beat was taken in another cycle than the handshake graph says.
    InputCycle,
    /// The beat came out in another cycle than the closed form says.
    ClosedForm,
    /// The error against float64 exceeds the manifest's bound.
    ErrorBound,
    /// The status output differs from the integer model's at this beat.
    Status,
}

/// The first failure of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    /// Block name.
    pub block: String,
    /// Output stream name.
    pub stream: String,
    /// What failed.
    pub kind: MismatchKind,
    /// Beat index on that stream.
    pub beat: usize,
    /// Cycle of its handshake.
    pub cycle: u64,
    /// Expected value (hex tdata, tlast, cycle or bound).
    pub expected: String,
    /// Actual value.
    pub actual: String,
    /// For a cycle mismatch: the handshake graph's unit that decides the
    /// handshake, and every unit's state in that cycle.
    pub unit: Option<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{} stream `{}` beat {} (cycle {}): {:?} mismatch: expected {}, got {}",
            self.block, self.stream, self.beat, self.cycle, self.kind, self.expected, self.actual
        )?;
        match &self.unit {
            Some(unit) => write!(f, "; {unit}"),
            None => Ok(()),
        }
    }
}

/// The raw value of a `format`-wide field at bit `offset` of `words`,
/// sign-extended when the format is signed.
pub fn field_raw(words: &[u32], offset: usize, format: QFormat) -> i128 {
    let bits = format.bits() as usize;
    let mut raw: u128 = 0;
    for b in 0..bits {
        let (w, i) = ((offset + b) / 32, (offset + b) % 32);
        raw |= u128::from((words.get(w).copied().unwrap_or(0) >> i) & 1) << b;
    }
    if format.is_signed() && bits < 128 && raw >> (bits - 1) & 1 == 1 {
        (raw | (!0u128 << bits)) as i128
    } else {
        raw as i128
    }
}

/// The real values of every element of one beat, fields in order.
fn beat_values(stream: &Stream, words: &[u32], into: &mut Vec<f64>) {
    into.clear();
    let mut offset = 0;
    for field in &stream.fields {
        for _ in 0..field.count {
            into.push(field.format.to_f64(field_raw(words, offset, field.format)));
            offset += field.format.bits() as usize;
        }
    }
}

/// What the cycles are compared with.
#[derive(Debug, Clone, Copy, Default)]
pub struct CycleChecks<'a> {
    /// The handshake graph's trace under the same pacing.
    pub model: Option<&'a Trace>,
    /// Compare output cycles with the closed forms (full speed only).
    pub closed_form: bool,
}

/// Checks a run against its workload and, as asked, its cycles.
// a mismatch is the rare, reported outcome: its size costs nothing
#[allow(clippy::result_large_err)]
pub fn check(
    manifest: &Manifest,
    workload: &Workload,
    trace: &Trace,
    cycles: CycleChecks,
) -> Result<Verdict, Mismatch> {
    let outputs: Vec<&Stream> = manifest
        .streams
        .iter()
        .filter(|s| s.dir == Direction::Out)
        .collect();
    let inputs: Vec<&Stream> = manifest
        .streams
        .iter()
        .filter(|s| s.dir == Direction::In)
        .collect();
    let bound = manifest.error_bound.as_ref().map(|b| b.value);
    // a workload without a closed form (rows of different lengths) has none to check
    let closed_form = cycles.closed_form && workload.full_speed_cycles.iter().all(|c| !c.is_empty());
    let mut verdict = Verdict {
        beats_checked: 0,
        cycles_checked: cycles.model.is_some(),
        closed_form_checked: closed_form,
        max_error: 0.0,
        float_compared: 0,
        error_bound: bound,
    };
    for (s, stream) in inputs.iter().enumerate() {
        let (taken, offered) = (trace.input_cycles[s].len(), workload.inputs[s].len());
        if taken != offered {
            return Err(Mismatch {
                block: manifest.block.clone(),
                stream: stream.name.clone(),
                kind: MismatchKind::InputCycle,
                beat: taken.min(offered),
                cycle: trace.cycles,
                expected: format!("all {offered} beats taken"),
                actual: format!("{taken} taken"),
                unit: None,
            });
        }
    }
    if let Some(model) = cycles.model {
        for (s, stream) in inputs.iter().enumerate() {
            let (want, got) = (&model.input_cycles[s], &trace.input_cycles[s]);
            if let Some(k) = (0..want.len().max(got.len())).find(|&k| want.get(k) != got.get(k)) {
                let show = |c: Option<&u64>| c.map_or("never".to_string(), |c| format!("cycle {c}"));
                return Err(Mismatch {
                    block: manifest.block.clone(),
                    stream: stream.name.clone(),
                    kind: MismatchKind::InputCycle,
                    beat: k,
                    cycle: got.get(k).or(want.get(k)).copied().unwrap_or(0),
                    expected: show(want.get(k)),
                    actual: show(got.get(k)),
                    unit: None,
                });
            }
        }
    }
    let mut values = Vec::new();
    for (s, stream) in outputs.iter().enumerate() {
        let (want, got) = (&workload.expected[s], &trace.outputs[s]);
        let fail = |kind, beat: usize, expected: String, actual: String| Mismatch {
            block: manifest.block.clone(),
            stream: stream.name.clone(),
            kind,
            beat,
            cycle: trace.output_cycles[s].get(beat).copied().unwrap_or(trace.cycles),
            expected,
            actual,
            unit: None,
        };
        let per_beat = workload.reference[s].len() / want.len().max(1);
        for k in 0..want.len().min(got.len()) {
            if want.beat(k) != got.beat(k) {
                let bits = stream.tdata_bits;
                return Err(fail(
                    MismatchKind::Data,
                    k,
                    hex_words(want.beat(k), bits),
                    hex_words(got.beat(k), bits),
                ));
            }
            if want.last[k] != got.last[k] {
                return Err(fail(
                    MismatchKind::Last,
                    k,
                    want.last[k].to_string(),
                    got.last[k].to_string(),
                ));
            }
            let cycle = trace.output_cycles[s][k];
            if let Some(&want) = cycles.model.and_then(|m| m.output_cycles[s].get(k)) {
                if want != cycle {
                    return Err(fail(MismatchKind::Cycle, k, want.to_string(), cycle.to_string()));
                }
            }
            if closed_form && workload.full_speed_cycles[s][k] != cycle {
                let want = workload.full_speed_cycles[s][k];
                return Err(fail(
                    MismatchKind::ClosedForm,
                    k,
                    want.to_string(),
                    cycle.to_string(),
                ));
            }
            // a NaN reference is not compared (inputs beyond the bound's domain)
            beat_values(stream, got.beat(k), &mut values);
            for (&v, &r) in values.iter().zip(&workload.reference[s][k * per_beat..]) {
                if r.is_nan() {
                    continue;
                }
                verdict.float_compared += 1;
                let e = (v - r).abs();
                verdict.max_error = verdict.max_error.max(e);
                if bound.is_some_and(|b| e > b) {
                    return Err(fail(
                        MismatchKind::ErrorBound,
                        k,
                        format!("|error| <= {}", bound.unwrap_or(0.0)),
                        format!("{e:e}"),
                    ));
                }
            }
            verdict.beats_checked += 1;
        }
        if got.len() != want.len() {
            return Err(fail(
                MismatchKind::Data,
                got.len().min(want.len()),
                format!("{} beats", want.len()),
                format!("{} beats", got.len()),
            ));
        }
        // the sticky status, sampled at each beat of the first output stream
        if s == 0 && manifest.status.is_some() {
            let want = &workload.expected_status;
            if let Some(k) =
                (0..want.len().max(trace.status.len())).find(|&k| want.get(k) != trace.status.get(k))
            {
                let show = |b: Option<&bool>| b.map_or("no beat".to_string(), |b| u8::from(*b).to_string());
                return Err(fail(
                    MismatchKind::Status,
                    k,
                    show(want.get(k)),
                    show(trace.status.get(k)),
                ));
            }
        }
    }
    Ok(verdict)
}
