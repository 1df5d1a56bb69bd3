//! Fixed-point formats from real activations, the way hls4ml's profiling
//! is used: run the float model on a few sentences, take each tensor's
//! largest magnitude over the real tokens, and give it the fewest integer
//! bits that hold it with [`HEADROOM`]; every tensor is 16 bits, so the
//! rest are fraction bits.
//!
//! A tensor whose range is set by a few outliers leaves its typical values
//! few significant bits: [`TensorRange::resolution_bits`] says how many
//! (log2 of RMS over LSB), and [`RESOLUTION_BITS_MIN`] is where the report
//! says 16 bits are not enough.

use super::integer::{LayerFormats, Parameter};
use super::{head_columns, masked_rows, BertModel, LayerTensors, Tensor, Tokens};
use crate::error::{QuantError, Result};
use crate::format::QFormat;
use crate::reference::EncoderWeights;
use serde::Serialize;
use std::collections::BTreeMap;

/// Factor on the observed range before the integer bits are chosen: 25 %
/// more than any calibration sentence reached.
pub const HEADROOM: f64 = 1.25;

/// Below this many significant bits for a tensor's RMS value, the report
/// flags it: one 16-bit format cannot hold both its outliers and its
/// typical values well.
pub const RESOLUTION_BITS_MIN: f64 = 8.0;

/// Every tensor is this wide.
pub const TENSOR_BITS: u32 = 16;

/// Fewest integer bits of the FFN's hidden format: GELU's input saturates
/// at -8 or below, where GELU is within 1e-14 of zero.
pub const HIDDEN_INTEGER_BITS_MIN: u32 = 3;

/// The score formats the attention heads take: 4 to 7 integer bits (Q4.11
/// to Q7.8). The exp unit would take Q3.12, but the heads saturate the
/// gap `s - m` at the score format's most negative value, which is exact
/// only where `e^x` is already 0 in UQ1.15 beyond it (`hdl::sdpa::SCORE_FRAC_MAX`).
pub const SCORE_INTEGER_BITS: std::ops::RangeInclusive<u32> = 4..=7;

/// What one tensor reached over the calibration sentences.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TensorRange {
    /// Largest magnitude.
    pub max_abs: f64,
    /// Root mean square.
    pub rms: f64,
    /// The format chosen.
    #[serde(serialize_with = "display")]
    pub format: QFormat,
}

fn display<S: serde::Serializer>(f: &QFormat, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(f)
}

impl TensorRange {
    /// Significant bits of a typical (RMS) value in the chosen format.
    pub fn resolution_bits(&self) -> f64 {
        (self.rms / self.format.lsb()).max(1.0).log2()
    }

    /// Whether the chosen format saturates a value the sentences reached
    /// (possible only where the integer bits were capped).
    pub fn saturates(&self) -> bool {
        self.max_abs > self.format.max_value()
    }
}

/// The signed 16-bit format with the fewest integer bits (at least
/// `min_int`, at most `max_int`) whose range holds `max_abs * headroom`.
pub fn format_for(max_abs: f64, headroom: f64, min_int: u32, max_int: u32) -> QFormat {
    let need = max_abs * headroom;
    let int = (min_int..=max_int)
        .find(|&k| need < f64::from(1u32 << k) - 2f64.powi(-((TENSOR_BITS - 1 - k) as i32)))
        .unwrap_or(max_int);
    QFormat::signed(TENSOR_BITS, TENSOR_BITS - 1 - int).expect("1 to 16 fraction bits")
}

/// The calibration of a model: formats per layer and what chose them.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    /// Sentences it saw.
    pub sentences: usize,
    /// Per layer, each tensor's range and format (`score` included).
    pub tensors: Vec<BTreeMap<String, TensorRange>>,
    /// Per layer, each parameter's largest magnitude and format.
    pub parameters: Vec<BTreeMap<String, TensorRange>>,
    /// The formats, one table per layer.
    #[serde(skip)]
    pub formats: Vec<LayerFormats>,
}

impl Calibration {
    /// Tensors (layer, name, range) whose typical values keep fewer than
    /// [`RESOLUTION_BITS_MIN`] bits, or that saturate.
    pub fn warnings(&self) -> Vec<(usize, String, TensorRange)> {
        self.tensors
            .iter()
            .enumerate()
            .flat_map(|(l, m)| {
                m.iter()
                    .filter(|(_, r)| r.resolution_bits() < RESOLUTION_BITS_MIN || r.saturates())
                    .map(move |(name, r)| (l, name.clone(), *r))
            })
            .collect()
    }
}

#[derive(Default, Clone, Copy)]
struct Accumulated {
    max_abs: f64,
    squares: f64,
    count: usize,
}

impl Accumulated {
    fn add(&mut self, values: impl Iterator<Item = f64>) {
        for v in values {
            self.max_abs = self.max_abs.max(v.abs());
            self.squares += v * v;
            self.count += 1;
        }
    }

    fn range(&self, format: QFormat) -> TensorRange {
        TensorRange {
            max_abs: self.max_abs,
            rms: (self.squares / self.count.max(1) as f64).sqrt(),
            format,
        }
    }
}

/// Chooses every format of `model` from its float run on `sentences`
/// (token ids with their masks).
pub fn calibrate(model: &BertModel, sentences: &[Tokens]) -> Result<Calibration> {
    let runs = sentences
        .iter()
        .map(|(ids, mask)| Ok((model.forward(ids, mask)?, mask.clone())))
        .collect::<Result<Vec<_>>>()?;
    calibrate_runs(model.layers(), &runs)
}

/// Chooses every format of the layers `layers` from float runs through
/// them: each run is every layer's tensors ([`super::float_layer`]) with
/// the run's token mask.
pub fn calibrate_runs(
    layers: &[EncoderWeights],
    runs: &[(Vec<LayerTensors>, Vec<bool>)],
) -> Result<Calibration> {
    if runs.is_empty() {
        return Err(QuantError::Empty("calibration sentences".into()));
    }
    let weights = layers;
    let layers = weights.len();
    let mut seen = vec![BTreeMap::<Tensor, Accumulated>::new(); layers];
    let mut scores = vec![Accumulated::default(); layers];
    for (run, mask) in runs {
        if run.len() != layers {
            return Err(QuantError::InvalidParameter(format!(
                "a calibration run has {} layers; the model has {layers}",
                run.len()
            )));
        }
        for (l, t) in run.iter().enumerate() {
            let heads = weights[l].attention.heads;
            let head_size = t.get(Tensor::Query).ncols() / heads;
            for &name in &Tensor::ALL {
                let real = masked_rows(t.get(name).view(), mask);
                seen[l].entry(name).or_default().add(real.iter().copied());
            }
            let scale = 1.0 / (head_size as f64).sqrt();
            for h in 0..heads {
                let q = masked_rows(head_columns(t.get(Tensor::Query).view(), h, head_size), mask);
                let k = masked_rows(head_columns(t.get(Tensor::Key).view(), h, head_size), mask);
                scores[l].add(q.dot(&k.t()).iter().map(|s| s * scale));
            }
        }
    }
    let mut calibration = Calibration {
        sentences: runs.len(),
        tensors: Vec::new(),
        parameters: Vec::new(),
        formats: Vec::new(),
    };
    for l in 0..layers {
        let mut tensors = BTreeMap::new();
        let mut ranges = BTreeMap::new();
        for &name in &Tensor::ALL {
            // a layer's input is the previous layer's output: one format
            let source = if l > 0 && name == Tensor::Input {
                seen[l - 1][&Tensor::Output]
            } else {
                seen[l][&name]
            };
            let min_int = if name == Tensor::Hidden {
                HIDDEN_INTEGER_BITS_MIN
            } else {
                0
            };
            let format = format_for(source.max_abs, HEADROOM, min_int, TENSOR_BITS - 1);
            tensors.insert(name, format);
            ranges.insert(name.name().to_string(), source.range(format));
        }
        let score = format_for(
            scores[l].max_abs,
            HEADROOM,
            *SCORE_INTEGER_BITS.start(),
            *SCORE_INTEGER_BITS.end(),
        );
        ranges.insert("score".into(), scores[l].range(score));
        let mut parameters = BTreeMap::new();
        let mut parameter_ranges = BTreeMap::new();
        for &p in &Parameter::ALL {
            let mut acc = Accumulated::default();
            acc.add(p.values(&weights[l]).into_iter());
            // weights are known exactly: no headroom, only half an LSB of rounding
            let format = format_for(acc.max_abs, 1.0, 0, TENSOR_BITS - 1);
            parameters.insert(p, format);
            parameter_ranges.insert(p.name().to_string(), acc.range(format));
        }
        calibration.formats.push(LayerFormats {
            tensors,
            score,
            parameters,
        });
        calibration.tensors.push(ranges);
        calibration.parameters.push(parameter_ranges);
    }
    Ok(calibration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_follow_the_range() {
        let q = |bits, frac| QFormat::signed(bits, frac).unwrap();
        assert_eq!(format_for(0.9, 1.0, 0, 15), q(16, 15));
        assert_eq!(format_for(1.0, 1.0, 0, 15), q(16, 14));
        assert_eq!(format_for(194.0, 1.25, 0, 15), q(16, 7));
        assert_eq!(format_for(0.01, 1.25, 3, 7), q(16, 12));
        assert_eq!(format_for(300.0, 1.25, 3, 7), q(16, 8));
    }

    proptest! {
        #[test]
        fn the_chosen_format_holds_the_range_with_headroom(max_abs in 0.0f64..16000.0, headroom in 1.0f64..2.0) {
            let f = format_for(max_abs, headroom, 0, 15);
            prop_assert!(max_abs * headroom < f.max_value() + f.lsb());
            // and one integer bit fewer would not
            if f.frac() < 15 {
                let tighter = QFormat::signed(16, f.frac() + 1).unwrap();
                prop_assert!(max_abs * headroom >= tighter.max_value());
            }
        }
    }
}
